//! `GET /dashboard/exports` (staff) explains the two grade files; `GET
//! /dashboard/exports/points.csv` and `GET /dashboard/exports/canvas.csv` download them, built by
//! `classcred_service::dashboard::grades_csv`. A download is audited (it carries every
//! student's points), with ids and the format only.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use classcred_service::dashboard::{self, GradeFormat, CANVAS_HEADER};
use classcred_store::audit::AuditRecord;

use super::{render, Chrome};
use crate::extract::Staff;
use crate::{WebError, WebState};

/// The audit action of a grade export from the dashboard.
pub const EXPORT_ACTION: &str = "grades.export";

#[derive(Template)]
#[template(path = "exports.html")]
struct ExportsPage {
    chrome: Chrome,
    canvas_header: String,
}

pub async fn page(Staff(viewer): Staff) -> Result<Response, WebError> {
    render(&ExportsPage {
        chrome: Chrome::for_viewer(&viewer, "Exports", "/dashboard/exports"),
        canvas_header: CANVAS_HEADER.join(", "),
    })
}

pub async fn points_csv(
    State(state): State<WebState>,
    Staff(viewer): Staff,
) -> Result<Response, WebError> {
    download(&state, &viewer, GradeFormat::Points, "points").await
}

pub async fn canvas_csv(
    State(state): State<WebState>,
    Staff(viewer): Staff,
) -> Result<Response, WebError> {
    download(&state, &viewer, GradeFormat::Canvas, "canvas").await
}

async fn download(
    state: &WebState,
    viewer: &crate::Viewer,
    format: GradeFormat,
    name: &'static str,
) -> Result<Response, WebError> {
    let csv = dashboard::grades_csv(&state.store, &viewer.community_id, format).await?;
    state
        .store
        .audit(&AuditRecord {
            community_id: Some(viewer.community_id.clone()),
            actor: format!("member:{}", viewer.member_id),
            action: EXPORT_ACTION.to_owned(),
            subject: None,
            details: serde_json::json!({ "format": name, "via": "dashboard" }),
        })
        .await?;
    let today = state.store.clock().now().format("%Y-%m-%d");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"classcred-{name}-{today}.csv\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        csv,
    )
        .into_response())
}
