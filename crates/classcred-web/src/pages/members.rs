//! `GET /dashboard/members` (staff): every member of the class with role, points, level and
//! last activity (read model `dashboard::members`); names link to their profiles. An Admin
//! changes a human member's role with the small form of each row
//! (`POST /dashboard/members/{member_id}/role`, through `changes::change_role`): a refusal (the
//! last Admin) is shown next to that row's field; success redirects back with a confirmation.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use classcred_service::changes::{change_role, ChangeError};
use classcred_service::dashboard;
use classcred_store::{MemberKind, MemberRowId, Role};
use serde::Deserialize;

use super::{render, role_label, Chrome};
use crate::extract::{member_id_from_path, Admin, CsrfForm, Staff, Viewer};
use crate::{WebError, WebState};

/// One row of the members table.
pub struct MemberRow {
    pub id: String,
    pub name: String,
    pub role: &'static str,
    /// `admin`, `instructor` or `student`: the selected option of the role form.
    pub role_value: &'static str,
    /// Humans only: bots and apps keep their role.
    pub can_change_role: bool,
    pub earned: String,
    pub level: String,
    pub last_activity: String,
    /// The refusal shown next to this row's role field.
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "members.html")]
struct Members {
    chrome: Chrome,
    rows: Vec<MemberRow>,
    /// The viewer may change roles (Admin).
    admin: bool,
    csrf: String,
    /// "Role of X is now Y." after a change.
    confirmation: Option<String>,
}

fn role_value(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Instructor => "instructor",
        Role::Student => "student",
    }
}

async fn rows(state: &WebState, viewer: &Viewer) -> Result<Vec<MemberRow>, WebError> {
    let members = dashboard::members(&state.store, &viewer.community_id).await?;
    Ok(members
        .into_iter()
        .filter(|m| m.kind == MemberKind::Human)
        .map(|m| MemberRow {
            id: m.member_id.to_string(),
            name: m.name,
            role: role_label(m.role),
            role_value: role_value(m.role),
            can_change_role: m.kind == MemberKind::Human,
            earned: m.earned.to_string(),
            level: m.level_name,
            last_activity: m
                .last_activity_at
                .map_or_else(|| "never".to_owned(), |t| t.format("%Y-%m-%d").to_string()),
            error: None,
        })
        .collect())
}

fn page_of(viewer: &Viewer, rows: Vec<MemberRow>, confirmation: Option<String>) -> Members {
    Members {
        chrome: Chrome::for_viewer(viewer, "Members", "/dashboard/members"),
        rows,
        admin: viewer.role == Role::Admin,
        csrf: viewer.csrf.clone(),
        confirmation,
    }
}

#[derive(Deserialize)]
pub struct MembersQuery {
    /// The member whose role was just changed.
    changed: Option<String>,
}

pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
    Query(query): Query<MembersQuery>,
) -> Result<Response, WebError> {
    let rows = rows(&state, &viewer).await?;
    let confirmation = query
        .changed
        .and_then(|id| rows.iter().find(|r| r.id == id))
        .map(|r| format!("Role changed: {} is now {}.", r.name, r.role));
    render(&page_of(&viewer, rows, confirmation))
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: Option<String>,
}

/// `POST /dashboard/members/{member_id}/role` (Admin).
pub async fn change(
    State(state): State<WebState>,
    Path(member_id): Path<String>,
    CsrfForm {
        who: Admin(viewer),
        form,
    }: CsrfForm<Admin, RoleForm>,
) -> Result<Response, WebError> {
    let member: MemberRowId = member_id_from_path(&member_id)?;
    let refusal = match form.role.as_deref() {
        Some("instructor") => Ok(Role::Instructor),
        Some("student") => Ok(Role::Student),
        _ => Err("Choose Instructor or Student.".to_owned()),
    };
    let result = match refusal {
        Ok(role) => change_role(
            &state.store,
            &viewer.community_id,
            &viewer.member_id,
            &member,
            role,
            chrono::DateTime::from_timestamp_millis(state.store.now_ms()).unwrap_or_default(),
        )
        .await
        .map_err(|e| match e {
            ChangeError::LastAdmin => Ok(
                "This is the class's last Admin. Make another member an Admin first (classcred admin), then change this role."
                    .to_owned(),
            ),
            ChangeError::Invalid { message, .. } => Ok(message),
            ChangeError::NotFound => Err(WebError::NotFound),
            ChangeError::Forbidden => Err(WebError::Forbidden),
            ChangeError::Service(s) => Err(s.into()),
        }),
        Err(message) => Err(Ok(message)),
    };
    match result {
        Ok(_) => {
            tracing::info!(community_id = %viewer.community_id, member_id = %member, "role changed");
            Ok(Redirect::to(&format!("/dashboard/members?changed={member}")).into_response())
        }
        Err(Err(e)) => Err(e),
        Err(Ok(message)) => {
            let mut rows = rows(&state, &viewer).await?;
            let Some(row) = rows.iter_mut().find(|r| r.id == member.to_string()) else {
                return Err(WebError::NotFound);
            };
            row.error = Some(message);
            let mut response = render(&page_of(&viewer, rows, None))?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}
