//! `GET /dashboard/leaderboard?period=week|month|course` (staff): the students' standings.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use classcred_service::Period;
use serde::Deserialize;

use super::{display_name, render, Chrome};
use crate::extract::Staff;
use crate::{WebError, WebState};

#[derive(Deserialize)]
pub struct LeaderboardQuery {
    period: Option<String>,
}

/// One standing.
pub struct Standing {
    pub rank: u32,
    pub name: String,
    pub points: String,
}

/// A period tab: `(query value, label, selected)`.
pub struct PeriodTab {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "leaderboard.html")]
struct LeaderboardPage {
    chrome: Chrome,
    tabs: Vec<PeriodTab>,
    period_label: &'static str,
    rows: Vec<Standing>,
}

const PERIODS: [(&str, &str, Period); 3] = [
    ("week", "This week", Period::Week),
    ("month", "This month", Period::Month),
    ("course", "Whole course", Period::Course),
];

/// The standings of `period`, with names, best first.
pub(crate) async fn standings(
    state: &WebState,
    community_id: &classcred_store::CommunityId,
    period: Period,
) -> Result<Vec<Standing>, WebError> {
    let board = classcred_service::leaderboard(&state.store, community_id, period).await?;
    let mut tx = state.store.begin().await?;
    let names: HashMap<String, String> = tx
        .for_community(community_id)
        .list_members()
        .await?
        .iter()
        .map(|m| (m.id.as_str().to_owned(), display_name(m)))
        .collect();
    tx.commit().await?;
    Ok(board
        .rows
        .iter()
        .map(|s| Standing {
            rank: s.rank,
            name: names
                .get(s.member.as_str())
                .cloned()
                .unwrap_or_else(|| "(unknown member)".to_owned()),
            points: s.points.to_string(),
        })
        .collect())
}

pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
    Query(query): Query<LeaderboardQuery>,
) -> Result<Response, WebError> {
    let wanted = query.period.as_deref().unwrap_or("course");
    let Some(&(value, label, period)) = PERIODS.iter().find(|(v, _, _)| *v == wanted) else {
        return Err(WebError::BadRequest(
            "The period must be week, month or course.",
        ));
    };
    let rows = standings(&state, &viewer.community_id, period).await?;
    render(&LeaderboardPage {
        chrome: Chrome::for_viewer(&viewer, "Leaderboard", "/dashboard/leaderboard"),
        tabs: PERIODS
            .iter()
            .map(|&(v, l, _)| PeriodTab {
                value: v,
                label: l,
                selected: v == value,
            })
            .collect(),
        period_label: label,
        rows,
    })
}
