//! `GET /api/v1/settings`: the community's recognition rules (the engine's validated
//! settings, in this API's own shape).

use axum::extract::State;
use axum::Json;
use classcred_engine::badges::badge_name;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::ApiCommunity;
use crate::error::{ApiError, ErrorBody};
use crate::ApiState;

/// A gift-tax bracket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaxBracketItem {
    /// The 1-based weekly fire number (same giver → same recipient) where it starts.
    pub from: u32,
    /// Percent of each fire's point taken as tax.
    pub rate_percent: u8,
}

/// Gift tax settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GiftTaxSettings {
    pub enabled: bool,
    /// Whether fire given by Admins and Instructors is taxed too.
    pub applies_to_instructors: bool,
    pub brackets: Vec<TaxBracketItem>,
}

/// A level and the earned points it needs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LevelItem {
    pub name: String,
    /// Earned points needed, in thousandths of a point.
    pub threshold_milli: i64,
}

/// A badge the community has switched on or off.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BadgeSetting {
    pub id: String,
    pub name: String,
    pub enabled: bool,
}

/// A badge made by the community's Admin, awarded by hand.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomBadgeItem {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// The community's recognition rules.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SettingsResponse {
    /// IANA timezone name; decides quota days and weeks.
    pub timezone: String,
    /// First local date on which fire counts.
    #[schema(format = Date)]
    pub course_start: Option<String>,
    /// Last local date on which fire counts.
    #[schema(format = Date)]
    pub course_end: Option<String>,
    /// Most fire a limited member may give per day.
    pub daily_quota: u32,
    /// Whether Admins and Instructors have the daily quota too.
    pub limit_instructors: bool,
    /// Whether a fire reaction gives the message's author a fire.
    pub reactions_enabled: bool,
    pub gift_tax: GiftTaxSettings,
    pub levels: Vec<LevelItem>,
    /// Badges switched on or off explicitly (a badge not listed is on).
    pub badges: Vec<BadgeSetting>,
    pub custom_badges: Vec<CustomBadgeItem>,
}

/// The community's settings.
#[utoipa::path(
    get, path = "/api/v1/settings", tag = "settings",
    responses(
        (status = 200, description = "The settings", body = SettingsResponse),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<ApiState>,
    auth: ApiCommunity,
) -> Result<Json<SettingsResponse>, ApiError> {
    let mut tx = state.store.begin().await?;
    let s = classcred_service::settings(&mut tx, &auth.community_id).await?;
    tx.commit().await?;
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    Ok(Json(SettingsResponse {
        timezone: s.timezone.name().to_string(),
        course_start: date(s.course_start),
        course_end: date(s.course_end),
        daily_quota: s.daily_quota,
        limit_instructors: s.limit_instructors,
        reactions_enabled: s.reactions_enabled,
        gift_tax: GiftTaxSettings {
            enabled: s.gift_tax.enabled,
            applies_to_instructors: s.gift_tax.applies_to_instructors,
            brackets: s
                .gift_tax
                .brackets
                .iter()
                .map(|b| TaxBracketItem {
                    from: b.from,
                    rate_percent: b.rate_percent,
                })
                .collect(),
        },
        levels: s
            .levels
            .iter()
            .map(|l| LevelItem {
                name: l.name.clone(),
                threshold_milli: l.threshold.thousandths(),
            })
            .collect(),
        badges: s
            .badges
            .iter()
            .map(|(id, enabled)| BadgeSetting {
                id: id.as_str().to_string(),
                name: badge_name(&s, id),
                enabled: *enabled,
            })
            .collect(),
        custom_badges: s
            .custom_badges
            .iter()
            .map(|b| CustomBadgeItem {
                id: b.id.as_str().to_string(),
                name: b.name.clone(),
                description: b.description.clone(),
            })
            .collect(),
    }))
}
