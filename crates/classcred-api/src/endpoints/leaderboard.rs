//! `GET /api/v1/leaderboard?period=week|month|course`: students ranked by points earned in
//! the period, paginated by position (the cursor is the last member id of the page).

use axum::extract::State;
use axum::Json;
use classcred_service::{leaderboard, Period};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::ApiCommunity;
use crate::error::{ApiError, ErrorBody};
use crate::query::{bad_cursor, ApiQuery, Page, PageQuery};
use crate::ApiState;

/// Which leaderboard: the current ISO week, calendar month, or the whole course.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PeriodName {
    #[default]
    Week,
    Month,
    Course,
}

impl From<PeriodName> for Period {
    fn from(p: PeriodName) -> Self {
        match p {
            PeriodName::Week => Period::Week,
            PeriodName::Month => Period::Month,
            PeriodName::Course => Period::Course,
        }
    }
}

/// `?period=&limit=&cursor=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeaderboardQuery {
    /// Default `week`.
    pub period: Option<PeriodName>,
    /// Most rows in the page (1 to 500; default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Where to continue: the `next_cursor` of the previous page, as given.
    pub cursor: Option<String>,
}

/// One student's standing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StandingItem {
    /// Competition rank, 1-based (ties share a rank).
    pub rank: u32,
    pub member_id: String,
    /// Points earned in the period, in thousandths of a point.
    pub points_milli: i64,
}

/// One page of the leaderboard, best first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeaderboardPage {
    pub period: PeriodName,
    pub items: Vec<StandingItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The students-only leaderboard of the period containing now.
#[utoipa::path(
    get, path = "/api/v1/leaderboard", tag = "points",
    params(LeaderboardQuery),
    responses(
        (status = 200, description = "A page of the leaderboard", body = LeaderboardPage),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<ApiState>,
    auth: ApiCommunity,
    ApiQuery(q): ApiQuery<LeaderboardQuery>,
) -> Result<Json<LeaderboardPage>, ApiError> {
    let period = q.period.unwrap_or_default();
    let page = Page::parse(PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let after = page.member_cursor()?;
    let board = leaderboard(&state.store, &auth.community_id, period.into()).await?;
    let start = match after {
        None => 0,
        Some(last) => {
            board
                .rows
                .iter()
                .position(|s| s.member.as_str() == last.as_str())
                .ok_or_else(bad_cursor)?
                + 1
        }
    };
    let rest = board.rows.get(start..).unwrap_or_default();
    let items: Vec<StandingItem> = rest
        .iter()
        .take(page.limit_usize() + 1)
        .map(|s| StandingItem {
            rank: s.rank,
            member_id: s.member.as_str().to_string(),
            points_milli: s.points.thousandths(),
        })
        .collect();
    let (items, next_cursor) = page.cut(items, |s| s.member_id.clone());
    Ok(Json(LeaderboardPage {
        period,
        items,
        next_cursor,
    }))
}
