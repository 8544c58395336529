//! `GET /api/v1/rules`: the community's custom reward rules (current versions), oldest first,
//! each with its plain-language sentence and what it awarded so far. Rules hold ids and
//! numbers only (no free text).

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::ApiCommunity;
use crate::error::{ApiError, ErrorBody};
use crate::ApiState;

/// One rule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleItem {
    /// The rule's id.
    pub rule_id: String,
    /// Its current version (1 when created; each change is the next).
    pub version: u32,
    /// Whether it awards now.
    pub enabled: bool,
    /// `posted`, `answered`, `answer_accepted`, `voted_in_poll`, `debated_in`, `bought`,
    /// `received_fire` or `responded_to_announcement`.
    pub trigger: String,
    /// The condition, when there is one: `{"type": "channel", "channel": …}`,
    /// `{"type": "item", "item": …}` or `{"type": "givers", "n": …}`.
    #[schema(value_type = Option<Object>)]
    pub condition: Option<serde_json::Value>,
    /// `{"type": "points", "points": "1"}` or `{"type": "badge", "badge": …}`.
    #[schema(value_type = Object)]
    pub award: serde_json::Value,
    /// At most `n` awards per `per` (`day`, `week`, `course`), when capped.
    #[schema(value_type = Option<Object>)]
    pub cap: Option<serde_json::Value>,
    /// The rule in plain language.
    pub sentence: String,
    /// Points it awarded so far (decimal string) and to how many members.
    pub awarded_points: String,
    pub awarded_members: u32,
}

/// The rules, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleList {
    pub items: Vec<RuleItem>,
}

/// The community's custom reward rules.
#[utoipa::path(
    get, path = "/api/v1/rules", tag = "rules",
    responses(
        (status = 200, description = "Rules, oldest first", body = RuleList),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    auth: ApiCommunity,
) -> Result<Json<RuleList>, ApiError> {
    let views = classcred_service::rules::rules(&state.store, &auth.community_id).await?;
    let items = views
        .into_iter()
        .map(|v| {
            Ok(RuleItem {
                rule_id: v.rule.rule_id.clone(),
                version: v.rule.version,
                enabled: v.rule.enabled,
                trigger: v.rule.trigger.as_str().to_owned(),
                condition: v
                    .rule
                    .condition
                    .as_ref()
                    .map(serde_json::to_value)
                    .transpose()?,
                award: serde_json::to_value(&v.rule.award)?,
                cap: v.rule.cap.as_ref().map(serde_json::to_value).transpose()?,
                sentence: v.sentence,
                awarded_points: v.awarded.to_string(),
                awarded_members: v.awarded_members,
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()
        .map_err(|e| ApiError::from(classcred_service::ServiceError::from(e)))?;
    Ok(Json(RuleList { items }))
}
