//! `GET /dashboard/research` (Admin): what a de-identified research release holds and how it
//! is made; `POST /dashboard/research` (Admin, CSRF, optional `k`) builds one
//! (`classcred_service::research::build_release`, a fresh pseudonym key, the validator as the
//! gate) and answers it as a zip download, never stored on the server. A release the validator
//! refuses is not offered: the page shows the broken rules (table and column, never a value).
//! Each release is audited with the tables' row counts only.

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use classcred_service::research::{self, schema, ResearchError};

use super::{render, Chrome};
use crate::extract::{Admin, CsrfForm};
use crate::{WebError, WebState};

#[derive(Template)]
#[template(path = "research.html")]
struct ResearchPage {
    chrome: Chrome,
    csrf: String,
    k: usize,
    min_k: usize,
    min_cell: usize,
    tables: Vec<TableLine>,
    error: Option<String>,
    violations: Vec<String>,
}

struct TableLine {
    file: String,
    about: &'static str,
    columns: String,
}

fn page_of(viewer: &crate::Viewer, k: usize) -> ResearchPage {
    ResearchPage {
        chrome: Chrome::for_viewer(viewer, "Research release", "/dashboard/research"),
        csrf: viewer.csrf.clone(),
        k,
        min_k: research::MIN_K,
        min_cell: research::MIN_CELL,
        tables: schema::TABLES
            .iter()
            .map(|t| TableLine {
                file: t.file_name(),
                about: t.about,
                columns: t
                    .columns
                    .iter()
                    .map(|c| c.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        error: None,
        violations: Vec::new(),
    }
}

pub async fn page(Admin(viewer): Admin) -> Result<Response, WebError> {
    render(&page_of(&viewer, research::DEFAULT_K))
}

#[derive(serde::Deserialize)]
pub struct BuildInput {
    #[serde(default)]
    k: String,
}

/// `POST /dashboard/research`: build a release and download it as a zip.
pub async fn build(
    State(state): State<WebState>,
    CsrfForm {
        who: Admin(viewer),
        form,
    }: CsrfForm<Admin, BuildInput>,
) -> Result<Response, WebError> {
    let k = if form.k.trim().is_empty() {
        research::DEFAULT_K
    } else {
        match form.k.trim().parse::<usize>() {
            Ok(k) if (research::MIN_K..=1000).contains(&k) => k,
            _ => {
                let mut p = page_of(&viewer, research::DEFAULT_K);
                p.error = Some(format!(
                    "k must be a whole number from {} to 1000.",
                    research::MIN_K
                ));
                return Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, render(&p)?));
            }
        }
    };
    let release = match research::build_release(&state.store, &viewer.community_id, k, &mut |_| {})
        .await
    {
        Ok(r) => r,
        Err(ResearchError::Refused(violations)) => {
            tracing::warn!(community_id = %viewer.community_id, violations = violations.len(), "research release refused by the validator");
            let mut p = page_of(&viewer, k);
            p.error = Some("The validator refused this release; nothing was made.".into());
            p.violations = violations.iter().map(ToString::to_string).collect();
            return Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, render(&p)?));
        }
        Err(e) => return Err(WebError::Internal(Box::new(e))),
    };
    let zip = research::write_zip(&release, std::io::Cursor::new(Vec::new()))
        .map_err(|e| WebError::Internal(Box::new(e)))?
        .into_inner();
    research::audit_release(
        &state.store,
        &viewer.community_id,
        &format!("member:{}", viewer.member_id),
        "dashboard",
        &release,
    )
    .await
    .map_err(|e| WebError::Internal(Box::new(e)))?;
    tracing::info!(community_id = %viewer.community_id, k, "research release downloaded");
    let week = {
        use chrono::Datelike;
        let w = state.store.clock().now().iso_week();
        format!("{}-W{:02}", w.year(), w.week())
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"classcred-research-{week}.zip\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        zip,
    )
        .into_response())
}

fn with_status(status: StatusCode, mut r: Response) -> Response {
    *r.status_mut() = status;
    r
}
