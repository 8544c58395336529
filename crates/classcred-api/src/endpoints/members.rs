//! `GET /api/v1/members` (paginated by member id) and `GET /api/v1/members/{member_id}`
//! (audited as `member.read` by the token).

use axum::extract::State;
use axum::Json;
use classcred_service::member_summary;
use classcred_store::audit::AuditRecord;
use serde::Serialize;
use utoipa::ToSchema;

use super::{rfc3339, KindName, RoleName};
use crate::auth::ApiCommunity;
use crate::endpoints::feed::FeedItem;
use crate::error::{ApiError, ErrorBody};
use crate::query::{ApiQuery, MemberIdPath, Page, PageQuery};
use crate::ApiState;

/// A member of the community.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberItem {
    pub id: String,
    /// The chat platform's id of the member (e.g. Slack `U…`).
    pub platform_user_id: String,
    pub role: RoleName,
    pub kind: KindName,
    /// Display name, else full name, when the platform gave one.
    pub name: Option<String>,
    /// Highest level reached (0 = first).
    pub level: i64,
    /// When the member joined (RFC 3339).
    #[schema(format = DateTime)]
    pub joined_at: String,
}

/// One page of members, ordered by id.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<MemberItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A badge a member holds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BadgeItem {
    pub id: String,
    pub name: String,
}

/// One member with balances, level, badges, quota and recent feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberDetail {
    #[serde(flatten)]
    pub member: MemberItem,
    /// Lifetime earned points, in thousandths of a point.
    pub earned_milli: i64,
    /// Earned minus spent, in thousandths of a point.
    pub spendable_milli: i64,
    /// Name of the member's current level.
    pub level_name: String,
    pub badges: Vec<BadgeItem>,
    /// Fire the member may still give today; absent when they give without limit.
    pub quota_left_today: Option<u32>,
    /// The member's latest feed items, newest first.
    pub recent: Vec<FeedItem>,
}

fn item(m: classcred_store::Member) -> MemberItem {
    MemberItem {
        id: m.id.to_string(),
        platform_user_id: m.platform_user_id,
        role: m.role.into(),
        kind: m.kind.into(),
        name: m.profile.shown_name().map(str::to_owned),
        level: m.level,
        joined_at: rfc3339(m.joined_at),
    }
}

/// The community's members.
#[utoipa::path(
    get, path = "/api/v1/members", tag = "members",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of members", body = MemberPage),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    auth: ApiCommunity,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<MemberPage>, ApiError> {
    let page = Page::parse(q)?;
    let after = page.member_cursor()?;
    let mut tx = state.store.begin().await?;
    let mut members = tx.for_community(&auth.community_id).list_members().await?;
    tx.commit().await?;
    members.sort_by(|a, b| a.id.cmp(&b.id));
    let rest: Vec<_> = members
        .into_iter()
        .filter(|m| after.as_ref().is_none_or(|a| m.id > *a))
        .collect();
    let items: Vec<MemberItem> = rest
        .into_iter()
        .take(page.limit_usize() + 1)
        .map(item)
        .collect();
    let (items, next_cursor) = page.cut(items, |m| m.id.clone());
    Ok(Json(MemberPage { items, next_cursor }))
}

/// One member of the community.
#[utoipa::path(
    get, path = "/api/v1/members/{member_id}", tag = "members",
    params(("member_id" = String, Path, description = "The member's id")),
    responses(
        (status = 200, description = "The member", body = MemberDetail),
        (status = 400, description = "Bad path", body = ErrorBody),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
        (status = 404, description = "No such member in the token's community", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<ApiState>,
    auth: ApiCommunity,
    MemberIdPath(member_id): MemberIdPath,
) -> Result<Json<MemberDetail>, ApiError> {
    let mut tx = state.store.begin().await?;
    let member = tx
        .for_community(&auth.community_id)
        .member(&member_id)
        .await?;
    // One member's data (name, feedback in the feed) read by an integration: who read whose.
    tx.audit(&AuditRecord {
        community_id: Some(auth.community_id.clone()),
        actor: format!("api_token:{}", auth.token_id),
        action: "member.read".into(),
        subject: Some(format!("member:{member_id}")),
        details: serde_json::json!({ "via": "api" }),
    })
    .await?;
    tx.commit().await?;
    let summary = member_summary(&state.store, &auth.community_id, &member.platform_user_id)
        .await?
        .ok_or(ApiError::NotFound("member"))?;
    Ok(Json(MemberDetail {
        member: item(member),
        earned_milli: summary.earned.thousandths(),
        spendable_milli: summary.spendable.thousandths(),
        level_name: summary.level_name,
        badges: summary
            .badges
            .into_iter()
            .map(|(id, name)| BadgeItem { id, name })
            .collect(),
        quota_left_today: summary.quota_left_today,
        recent: summary
            .recent
            .into_iter()
            .map(FeedItem::from_row)
            .collect::<Result<_, _>>()?,
    }))
}
