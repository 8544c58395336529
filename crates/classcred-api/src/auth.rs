//! Bearer-token authentication: [`ApiCommunity`] is the community the request's token
//! belongs to. Handlers take it as an argument, so none can run without a valid token and
//! none can name another community: every read is scoped to `ApiCommunity::community_id`.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use classcred_store::CommunityId;

use crate::error::ApiError;
use crate::token::ApiToken;
use crate::ApiState;

/// The community named by a valid, unrevoked API token.
#[derive(Debug, Clone)]
pub struct ApiCommunity {
    pub community_id: CommunityId,
    pub token_id: String,
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer(parts: &Parts) -> Option<ApiToken> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    ApiToken::parse(token.trim())
}

impl FromRequestParts<ApiState> for ApiCommunity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let mut tx = state.store.begin().await?;
        let record = tx.api_token_by_hash(&token.hash()).await?;
        let Some(record) = record.filter(|r| !r.is_revoked()) else {
            tx.rollback().await?;
            return Err(ApiError::Unauthorized);
        };
        tx.touch_api_token(&record.id).await?;
        tx.commit().await?;
        tracing::debug!(community.id = %record.community_id, api_token.id = %record.id, "api token accepted");
        Ok(ApiCommunity {
            community_id: record.community_id,
            token_id: record.id,
        })
    }
}
