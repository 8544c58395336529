//! What a request says besides its token: query strings (parsed by [`ApiQuery`] so that a bad
//! one is a JSON 400, not axum's plain-text rejection), the page size and cursor
//! ([`PageQuery`] → [`Page`]), and a member id in the path ([`MemberIdPath`]).

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use classcred_store::MemberRowId;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 500;

/// A query string deserialised into `T`; any problem is a 400 with a JSON body.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(raw)
            .map(ApiQuery)
            .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))
    }
}

/// `?limit=&cursor=` of a paginated list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Most items in the page (1 to 500; default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Where to continue: the `next_cursor` of the previous page, as given.
    pub cursor: Option<String>,
}

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub cursor: Option<String>,
}

impl Page {
    pub fn parse(q: PageQuery) -> Result<Self, ApiError> {
        let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        Ok(Self {
            limit,
            cursor: q.cursor,
        })
    }

    pub fn limit_usize(&self) -> usize {
        usize::try_from(self.limit).unwrap_or(usize::MAX)
    }

    /// This page's share of `rows`, which continue from the cursor and may hold more than the
    /// limit (a query asks for one row more to learn whether another page follows), and the
    /// cursor of the next page, made from the last row kept (`None` on the last page).
    pub fn cut<T>(
        &self,
        mut rows: Vec<T>,
        cursor_of: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        let more = rows.len() > self.limit_usize();
        rows.truncate(self.limit_usize());
        let next = if more {
            rows.last().map(cursor_of)
        } else {
            None
        };
        (rows, next)
    }

    /// The cursor as a member id (lists ordered by member id); 400 when it is not one.
    pub fn member_cursor(&self) -> Result<Option<MemberRowId>, ApiError> {
        self.cursor
            .as_deref()
            .map(|c| MemberRowId::parse(c).map_err(|_| bad_cursor()))
            .transpose()
    }

    /// The cursor as a `(time, id)` key (lists ordered newest first); 400 when it is not one.
    pub fn time_cursor(&self) -> Result<Option<(i64, String)>, ApiError> {
        self.cursor.as_deref().map(decode_time_cursor).transpose()
    }
}

pub fn bad_cursor() -> ApiError {
    ApiError::BadRequest("cursor is not one this API gave out".into())
}

/// An opaque cursor for a `(time, id)` key.
pub fn encode_time_cursor(at: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{at}:{id}"))
}

fn decode_time_cursor(cursor: &str) -> Result<(i64, String), ApiError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad_cursor())?;
    let text = String::from_utf8(bytes).map_err(|_| bad_cursor())?;
    let (at, id) = text.split_once(':').ok_or_else(bad_cursor)?;
    let at = at.parse::<i64>().map_err(|_| bad_cursor())?;
    // Store ids are UUIDs; nothing else can continue a page.
    MemberRowId::parse(id).map_err(|_| bad_cursor())?;
    Ok((at, id.to_string()))
}

/// The `{member_id}` of a path. A value that is not a member id cannot name a member of the
/// token's community: 404, like an id of another community.
#[derive(Debug)]
pub struct MemberIdPath(pub MemberRowId);

impl<S: Send + Sync> FromRequestParts<S> for MemberIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::BadRequest("invalid path".into()))?;
        MemberRowId::parse(&raw)
            .map(MemberIdPath)
            .map_err(|_| ApiError::NotFound("member"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded() {
        let page = |limit| {
            Page::parse(PageQuery {
                limit,
                cursor: None,
            })
        };
        assert_eq!(page(None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(page(Some(1)).unwrap().limit, 1);
        assert_eq!(page(Some(500)).unwrap().limit, 500);
        assert!(page(Some(0)).is_err());
        assert!(page(Some(501)).is_err());
    }

    #[test]
    fn time_cursors_round_trip_and_refuse_garbage() {
        let id = "0190b2c4-5d6e-7f80-9a0b-1c2d3e4f5a6b";
        let c = encode_time_cursor(1_700_000_000_000, id);
        let page = Page {
            limit: 10,
            cursor: Some(c),
        };
        assert_eq!(
            page.time_cursor().unwrap(),
            Some((1_700_000_000_000, id.to_string()))
        );
        for bad in ["", "x", "!!", &URL_SAFE_NO_PAD.encode("12:nope")] {
            let page = Page {
                limit: 10,
                cursor: Some(bad.to_string()),
            };
            assert!(page.time_cursor().is_err(), "{bad:?}");
        }
    }
}
