//! `GET /api/v1/feed`: the community's feed (level-ups, badges, announcements), newest first,
//! paginated by `(occurred_at, id)`.

use axum::extract::State;
use axum::Json;
use classcred_store::recognition::FeedRow;
use serde::Serialize;
use utoipa::ToSchema;

use super::rfc3339;
use crate::auth::ApiCommunity;
use crate::error::{ApiError, ErrorBody};
use crate::query::{encode_time_cursor, ApiQuery, Page, PageQuery};
use crate::ApiState;

/// One feed item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedItem {
    /// The member it is about; absent for community-wide items.
    pub member_id: Option<String>,
    /// What happened, e.g. `level_up` or `badge_awarded`.
    pub kind: String,
    /// The item as the engine recorded it (ids and numbers; `type` repeats `kind`).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    #[schema(format = DateTime)]
    pub occurred_at: String,
}

impl FeedItem {
    pub fn from_row(row: FeedRow) -> Result<Self, ApiError> {
        // The error names only where the JSON broke, never the stored text.
        let payload = serde_json::from_str(&row.payload).map_err(|e| {
            ApiError::Internal(format!("feed payload is not JSON ({:?})", e.classify()))
        })?;
        Ok(FeedItem {
            member_id: row.member_id.map(|m| m.to_string()),
            kind: row.kind,
            payload,
            occurred_at: rfc3339(row.occurred_at),
        })
    }
}

/// One page of the feed, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedPage {
    pub items: Vec<FeedItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The community's feed.
#[utoipa::path(
    get, path = "/api/v1/feed", tag = "feed",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the feed, newest first", body = FeedPage),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    auth: ApiCommunity,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<FeedPage>, ApiError> {
    let page = Page::parse(q)?;
    let before = page.time_cursor()?;
    let mut tx = state.store.begin().await?;
    let rows = tx
        .for_community(&auth.community_id)
        .feed_page(
            before.as_ref().map(|(at, id)| (*at, id.as_str())),
            i64::from(page.limit) + 1,
        )
        .await?;
    tx.commit().await?;
    let (rows, next_cursor) = page.cut(rows, |r| encode_time_cursor(r.row.occurred_at, &r.id));
    let items = rows
        .into_iter()
        .map(|r| FeedItem::from_row(r.row))
        .collect::<Result<_, _>>()?;
    Ok(Json(FeedPage { items, next_cursor }))
}
