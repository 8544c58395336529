//! `GET /dashboard/exports` (staff) explains the two grade files; `GET
//! /dashboard/exports/points.csv` and `GET /dashboard/exports/canvas.csv` download them, built by
//! `classcred_service::dashboard::grades_csv`. A download is audited (it carries every
//! student's points), with ids and the format only.
//!
//! Full exports (Admin): `POST /dashboard/exports` (CSRF) starts one
//! (`classcred_service::export::start_export`, job `export.build`); `GET
//! /dashboard/exports/{id}` shows its progress (refreshing itself every 2 s while it builds, no
//! script) and, once built, the signed link `GET /dashboard/exports/{id}/download?sig=…`. Both
//! answer only the export's recipient (anyone else: 404, as for an unknown id); the link is
//! refused (403) with a wrong signature or after its expiry.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use classcred_service::dashboard::{self, GradeFormat, CANVAS_HEADER};
use classcred_service::export;
use classcred_store::audit::AuditRecord;

use super::{render, Chrome};
use crate::extract::{Admin, CsrfForm, MaybeViewer, Staff};
use crate::{WebError, WebState};

/// The audit action of a grade export from the dashboard.
pub const EXPORT_ACTION: &str = "grades.export";

#[derive(Template)]
#[template(path = "exports.html")]
struct ExportsPage {
    chrome: Chrome,
    canvas_header: String,
    /// The full-export section (Admins only).
    full: Option<FullSection>,
}

struct FullSection {
    csrf: String,
    recent: Vec<JobLine>,
}

struct JobLine {
    href: String,
    kind: String,
    state: String,
    created: String,
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
) -> Result<Response, WebError> {
    let full = if viewer.role == classcred_store::Role::Admin {
        let recent =
            export::list_exports(&state.store, &viewer.community_id, Some(&viewer.member_id))
                .await
                .map_err(internal)?
                .into_iter()
                .map(|j| JobLine {
                    href: format!("/dashboard/exports/{}", j.id),
                    kind: j.kind,
                    state: j.state,
                    created: when(j.created_at),
                })
                .collect();
        Some(FullSection {
            csrf: viewer.csrf.clone(),
            recent,
        })
    } else {
        None
    };
    render(&ExportsPage {
        chrome: Chrome::for_viewer(&viewer, "Exports", "/dashboard/exports"),
        canvas_header: CANVAS_HEADER.join(", "),
        full,
    })
}

fn internal(e: export::ExportError) -> WebError {
    WebError::Internal(Box::new(e))
}

#[derive(serde::Deserialize)]
pub struct StartInput {}

/// `POST /dashboard/exports`: an Admin starts a full export of the community, for themselves.
pub async fn start(
    State(state): State<WebState>,
    CsrfForm {
        who: Admin(viewer),
        form: StartInput {},
    }: CsrfForm<Admin, StartInput>,
) -> Result<Response, WebError> {
    let job = export::start_export(
        &state.store,
        &viewer.community_id,
        export::ExportSubject::Community,
        &viewer.member_id,
    )
    .await
    .map_err(internal)?;
    tracing::info!(community_id = %viewer.community_id, export_id = %job.id, "full export started");
    Ok(Redirect::to(&format!("/dashboard/exports/{}", job.id)).into_response())
}

#[derive(Template)]
#[template(path = "export_job.html")]
struct JobPage {
    chrome: Chrome,
    kind: String,
    state: String,
    done: i64,
    total: i64,
    running: bool,
    created: String,
    expires: String,
    download: Option<String>,
    size: Option<i64>,
    sha256: Option<String>,
}

/// The export `id` of the viewer's community, if the viewer is its recipient.
async fn own_export(
    state: &WebState,
    viewer: &crate::Viewer,
    id: &str,
) -> Result<export::ExportJob, WebError> {
    if uuid_like(id).is_none() {
        return Err(WebError::NotFound);
    }
    let job = export::export_job(&state.store, &viewer.community_id, id)
        .await
        .map_err(internal)?
        .ok_or(WebError::NotFound)?;
    if job.recipient_member_id != viewer.member_id {
        return Err(WebError::NotFound);
    }
    Ok(job)
}

fn uuid_like(id: &str) -> Option<()> {
    (id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')).then_some(())
}

/// `GET /dashboard/exports/{id}`: progress, then the download link.
pub async fn job_page(
    State(state): State<WebState>,
    Path(id): Path<String>,
    MaybeViewer(viewer): MaybeViewer,
) -> Result<Response, WebError> {
    let viewer = viewer.ok_or(WebError::SignedOut)?;
    let job = own_export(&state, &viewer, &id).await?;
    let now = state.store.now_ms();
    let ready = job.state == "done" && job.expires_at > now;
    let running = job.state == "queued" || job.state == "running";
    let chrome = Chrome::for_viewer(&viewer, "Full export", "/dashboard/exports");
    render(&JobPage {
        chrome,
        kind: job.kind.clone(),
        state: if job.state == "done" && !ready {
            "expired".into()
        } else {
            job.state.clone()
        },
        done: job.progress_done,
        total: job.progress_total,
        running,
        created: when(job.created_at),
        expires: when(job.expires_at),
        download: ready.then(|| export::download_url(&state.store, &job)),
        size: job.size,
        sha256: job.sha256.clone(),
    })
}

#[derive(serde::Deserialize)]
pub struct DownloadQuery {
    #[serde(default)]
    sig: String,
}

/// `GET /dashboard/exports/{id}/download?sig=…`: the archive, for its recipient only.
pub async fn download_full(
    State(state): State<WebState>,
    Path(id): Path<String>,
    Query(q): Query<DownloadQuery>,
    MaybeViewer(viewer): MaybeViewer,
) -> Result<Response, WebError> {
    let viewer = viewer.ok_or(WebError::SignedOut)?;
    if uuid_like(&id).is_none() || q.sig.len() > 128 {
        return Err(WebError::NotFound);
    }
    let decision = export::authorize_download(
        &state.store,
        &state.export_dir,
        &viewer.community_id,
        &viewer.member_id,
        &id,
        &q.sig,
    )
    .await
    .map_err(internal)?;
    let (job, path) = match decision {
        Ok(ok) => ok,
        Err(export::DownloadRefusal::NotFound | export::DownloadRefusal::NotRecipient) => {
            return Err(WebError::NotFound)
        }
        Err(
            export::DownloadRefusal::BadSignature
            | export::DownloadRefusal::Expired
            | export::DownloadRefusal::NotReady,
        ) => return Err(WebError::Forbidden),
    };
    let body = tokio::fs::read(&path)
        .await
        .map_err(|e| WebError::Internal(Box::new(e)))?;
    tracing::info!(community_id = %viewer.community_id, export_id = %job.id, "full export downloaded");
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"classcred-export-{}.zip\"", job.id),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
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
