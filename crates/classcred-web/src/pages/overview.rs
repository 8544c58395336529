//! `GET /dashboard` (staff): the class at a glance from the queries that exist today (member
//! counts, points given, this week's top students). Charts join it in wave 2.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use classcred_engine::Points;
use classcred_service::Period;
use classcred_store::{MemberKind, Role};

use super::leaderboard::{standings, Standing};
use super::{render, Chrome};
use crate::extract::Staff;
use crate::{WebError, WebState};

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    chrome: Chrome,
    students: usize,
    staff: usize,
    points_earned: String,
    top_week: Vec<Standing>,
}

pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
) -> Result<Response, WebError> {
    let mut tx = state.store.begin().await?;
    let balances = tx.for_community(&viewer.community_id).balances().await?;
    tx.commit().await?;
    let humans = || balances.iter().filter(|b| b.kind == MemberKind::Human);
    let students = humans().filter(|b| b.role == Role::Student).count();
    let staff = humans().filter(|b| b.role != Role::Student).count();
    let earned: i64 = humans()
        .filter(|b| b.role == Role::Student)
        .map(|b| b.earned_milli)
        .sum();
    let mut top_week = standings(&state, &viewer.community_id, Period::Week).await?;
    top_week.truncate(5);
    render(&Overview {
        chrome: Chrome::for_viewer(&viewer, "Overview", "/dashboard"),
        students,
        staff,
        points_earned: Points::from_thousandths(earned).to_string(),
        top_week,
    })
}
