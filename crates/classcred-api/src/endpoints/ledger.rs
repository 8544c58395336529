//! `GET /api/v1/ledger`: the points ledger, newest first, paginated by `(created_at, id)`.

use axum::extract::State;
use axum::Json;
use classcred_store::LedgerEntry;
use serde::Serialize;
use utoipa::ToSchema;

use super::rfc3339;
use crate::auth::ApiCommunity;
use crate::error::{ApiError, ErrorBody};
use crate::query::{encode_time_cursor, ApiQuery, Page, PageQuery};
use crate::ApiState;

/// One ledger entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerItem {
    pub id: String,
    /// Whose points changed.
    pub member_id: String,
    /// `award`, `tax`, `reversal`, `purchase`, `refund`, `adjustment`, …
    pub kind: String,
    /// Change in thousandths of a point (negative for taxes, reversals, purchases).
    pub amount_milli: i64,
    /// Who gave the fire, for awards.
    pub giver_member_id: Option<String>,
    /// The giver's role when the fire was given.
    pub giver_role: Option<String>,
    /// The platform message or event this entry follows from.
    pub source_ref: Option<String>,
    /// +1 for an awarded fire unit, −1 for a reversed one.
    pub fire_units: i64,
    /// Feedback written with the fire, or the reason of an adjustment.
    pub note: Option<String>,
    #[schema(format = DateTime)]
    pub occurred_at: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<LedgerEntry> for LedgerItem {
    fn from(e: LedgerEntry) -> Self {
        LedgerItem {
            id: e.id,
            member_id: e.entry.member_id,
            kind: e.entry.kind,
            amount_milli: e.entry.amount_milli,
            giver_member_id: e.entry.giver_member_id,
            giver_role: e.entry.giver_role,
            source_ref: e.entry.source_ref,
            fire_units: e.entry.fire_units,
            note: e.entry.note,
            occurred_at: rfc3339(e.entry.occurred_at),
            created_at: rfc3339(e.created_at),
        }
    }
}

/// One page of the ledger, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerPage {
    pub items: Vec<LedgerItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The community's ledger.
#[utoipa::path(
    get, path = "/api/v1/ledger", tag = "ledger",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the ledger, newest first", body = LedgerPage),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    auth: ApiCommunity,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<LedgerPage>, ApiError> {
    let page = Page::parse(q)?;
    let before = page.time_cursor()?;
    let mut tx = state.store.begin().await?;
    let entries = tx
        .for_community(&auth.community_id)
        .ledger_page(
            before.as_ref().map(|(at, id)| (*at, id.as_str())),
            i64::from(page.limit) + 1,
        )
        .await?;
    tx.commit().await?;
    let (entries, next_cursor) = page.cut(entries, |e| encode_time_cursor(e.created_at, &e.id));
    Ok(Json(LedgerPage {
        items: entries.into_iter().map(LedgerItem::from).collect(),
        next_cursor,
    }))
}
