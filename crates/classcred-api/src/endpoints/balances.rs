//! `GET /api/v1/balances`: earned and spendable points per member, paginated by member id.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::{KindName, RoleName};
use crate::auth::ApiCommunity;
use crate::error::{ApiError, ErrorBody};
use crate::query::{ApiQuery, Page, PageQuery};
use crate::ApiState;

/// One member's points.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BalanceItem {
    pub member_id: String,
    pub platform_user_id: String,
    pub role: RoleName,
    pub kind: KindName,
    /// Lifetime earned points, in thousandths of a point.
    pub earned_milli: i64,
    /// Earned minus spent, in thousandths of a point.
    pub spendable_milli: i64,
    pub level: i64,
}

/// One page of balances, ordered by member id.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BalancePage {
    pub items: Vec<BalanceItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Every member's points.
#[utoipa::path(
    get, path = "/api/v1/balances", tag = "points",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of balances", body = BalancePage),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    auth: ApiCommunity,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<BalancePage>, ApiError> {
    let page = Page::parse(q)?;
    let after = page.member_cursor()?;
    let mut tx = state.store.begin().await?;
    let mut balances = tx.for_community(&auth.community_id).balances().await?;
    tx.commit().await?;
    balances.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    let rest: Vec<_> = balances
        .into_iter()
        .filter(|b| after.as_ref().is_none_or(|a| b.member_id > *a))
        .collect();
    let items: Vec<BalanceItem> = rest
        .into_iter()
        .take(page.limit_usize() + 1)
        .map(|b| BalanceItem {
            member_id: b.member_id.to_string(),
            platform_user_id: b.platform_user_id,
            role: b.role.into(),
            kind: b.kind.into(),
            earned_milli: b.earned_milli,
            spendable_milli: b.spendable_milli,
            level: b.level,
        })
        .collect();
    let (items, next_cursor) = page.cut(items, |b| b.member_id.clone());
    Ok(Json(BalancePage { items, next_cursor }))
}
