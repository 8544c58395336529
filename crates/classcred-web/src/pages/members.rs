//! `GET /dashboard/members` (staff): every member of the class with role, points and level.
//! (Changing a role is a form added here in wave 2.)

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use classcred_engine::Points;
use classcred_store::MemberKind;

use super::{display_name, render, role_label, Chrome};
use crate::extract::Staff;
use crate::{WebError, WebState};

/// One row of the members table.
pub struct MemberRow {
    pub name: String,
    pub role: &'static str,
    pub earned: String,
    pub level: String,
}

#[derive(Template)]
#[template(path = "members.html")]
struct Members {
    chrome: Chrome,
    rows: Vec<MemberRow>,
}

/// The human members of the viewer's class, by name.
pub(crate) async fn member_rows(
    state: &WebState,
    community_id: &classcred_store::CommunityId,
) -> Result<Vec<MemberRow>, WebError> {
    let mut tx = state.store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let settings = classcred_service::settings(&mut scoped, community_id).await?;
    let members = scoped.list_members().await?;
    let balances = scoped.balances().await?;
    tx.commit().await?;
    let mut rows: Vec<MemberRow> = members
        .iter()
        .filter(|m| m.kind == MemberKind::Human)
        .map(|m| {
            let earned = balances
                .iter()
                .find(|b| b.member_id == m.id)
                .map_or(0, |b| b.earned_milli);
            let level = usize::try_from(m.level)
                .ok()
                .and_then(|i| settings.levels.get(i))
                .map(|l| l.name.clone())
                .unwrap_or_default();
            MemberRow {
                name: display_name(m),
                role: role_label(m.role),
                earned: Points::from_thousandths(earned).to_string(),
                level,
            }
        })
        .collect();
    rows.sort_by_key(|r| r.name.to_lowercase());
    Ok(rows)
}

pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
) -> Result<Response, WebError> {
    let rows = member_rows(&state, &viewer.community_id).await?;
    render(&Members {
        chrome: Chrome::for_viewer(&viewer, "Members", "/dashboard/members"),
        rows,
    })
}
