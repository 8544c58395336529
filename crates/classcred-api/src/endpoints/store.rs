//! `GET /api/v1/store/items` and `GET /api/v1/store/purchases`: the class store's items (with
//! units sold and left) and purchases (newest first, or the approval queue oldest first).

use axum::extract::State;
use axum::Json;
use classcred_service::store::{items as store_items, purchases as store_purchases};
use classcred_store::class_store::PurchaseFilter;
use classcred_store::MemberRowId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rfc3339;
use crate::auth::ApiCommunity;
use crate::error::{ApiError, ErrorBody};
use crate::query::{ApiQuery, MAX_LIMIT};
use crate::ApiState;

/// One store item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoreItemResponse {
    pub item_id: String,
    /// The number students buy it by (`/cred buy 3`).
    pub number: u32,
    pub name: String,
    pub description: String,
    /// Price in thousandths of a point.
    pub price_milli: i64,
    /// Most units ever sold; absent: unlimited.
    pub stock: Option<u32>,
    /// Pending and approved purchases.
    pub sold: u32,
    /// Units left; absent: unlimited.
    pub left: Option<u32>,
    /// Most units one student may hold; absent: no limit.
    pub per_student_limit: Option<u32>,
    #[schema(format = DateTime)]
    pub available_from: Option<String>,
    #[schema(format = DateTime)]
    pub available_until: Option<String>,
    pub needs_approval: bool,
    pub enabled: bool,
    pub archived: bool,
}

/// Every item of the store, by number.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoreItemList {
    pub items: Vec<StoreItemResponse>,
}

/// Where a purchase stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PurchaseStatusName {
    Pending,
    Approved,
    Rejected,
    Cancelled,
    Refused,
}

/// One purchase.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PurchaseResponse {
    pub purchase_id: String,
    pub member_id: String,
    pub item_id: String,
    /// Price reserved, in thousandths of a point.
    pub price_milli: i64,
    /// `pending`, `approved`, `rejected`, `cancelled` or `refused`.
    pub status: String,
    #[schema(format = DateTime)]
    pub requested_at: String,
    /// Who decided (or the buyer, for a cancellation).
    pub decided_by: Option<String>,
    #[schema(format = DateTime)]
    pub decided_at: Option<String>,
}

/// Purchases.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PurchaseList {
    pub purchases: Vec<PurchaseResponse>,
}

/// `?status=&member_id=&limit=` of the purchase list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PurchaseQuery {
    /// Only purchases in this state; `pending` lists the approval queue oldest first.
    #[param(inline)]
    pub status: Option<PurchaseStatusName>,
    /// Only this member's purchases.
    pub member_id: Option<String>,
    /// Most purchases (1 to 500; default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// The store's items.
#[utoipa::path(
    get, path = "/api/v1/store/items", tag = "store",
    responses(
        (status = 200, description = "Every item, by number", body = StoreItemList),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn items(
    State(state): State<ApiState>,
    auth: ApiCommunity,
) -> Result<Json<StoreItemList>, ApiError> {
    let views = store_items(&state.store, &auth.community_id).await?;
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| rfc3339(t.timestamp_millis()));
    Ok(Json(StoreItemList {
        items: views
            .into_iter()
            .map(|v| StoreItemResponse {
                item_id: v.item.item_id,
                number: v.item.number,
                name: v.item.name,
                description: v.item.description,
                price_milli: v.item.price.thousandths(),
                stock: v.item.stock,
                sold: v.sold,
                left: v.left,
                per_student_limit: v.item.per_student_limit,
                available_from: time(v.item.available_from),
                available_until: time(v.item.available_until),
                needs_approval: v.item.needs_approval,
                enabled: v.item.enabled,
                archived: v.item.archived,
            })
            .collect(),
    }))
}

/// The store's purchases.
#[utoipa::path(
    get, path = "/api/v1/store/purchases", tag = "store",
    params(PurchaseQuery),
    responses(
        (status = 200, description = "Purchases, newest first (the pending ones oldest first)", body = PurchaseList),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn purchases(
    State(state): State<ApiState>,
    auth: ApiCommunity,
    ApiQuery(q): ApiQuery<PurchaseQuery>,
) -> Result<Json<PurchaseList>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let member = match q.member_id.as_deref() {
        Some(m) => Some(
            MemberRowId::parse(m)
                .map_err(|_| ApiError::BadRequest("member_id is not a member id".into()))?,
        ),
        None => None,
    };
    let status = q.status.map(|s| match s {
        PurchaseStatusName::Pending => "pending",
        PurchaseStatusName::Approved => "approved",
        PurchaseStatusName::Rejected => "rejected",
        PurchaseStatusName::Cancelled => "cancelled",
        PurchaseStatusName::Refused => "refused",
    });
    let statuses: Vec<&str> = status.into_iter().collect();
    let rows = store_purchases(
        &state.store,
        &auth.community_id,
        &PurchaseFilter {
            statuses: &statuses,
            member: member.as_ref(),
            oldest_first: status == Some("pending"),
            limit: i64::from(limit),
        },
    )
    .await?;
    let time = |t: chrono::DateTime<chrono::Utc>| rfc3339(t.timestamp_millis());
    Ok(Json(PurchaseList {
        purchases: rows
            .into_iter()
            .map(|p| {
                let p = p.purchase;
                PurchaseResponse {
                    purchase_id: p.purchase_id,
                    member_id: p.member.to_string(),
                    item_id: p.item_id,
                    price_milli: p.price.thousandths(),
                    status: p.status.as_str().to_string(),
                    requested_at: time(p.requested_at),
                    decided_by: p.decided_by.map(|m| m.to_string()),
                    decided_at: p.decided_at.map(time),
                }
            })
            .collect(),
    }))
}
