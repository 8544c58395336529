//! Full exports: every exported table of a community (or the rows about one member) as an
//! archive ([`archive`]), built by the job [`BUILD_JOB`] into the export directory, downloaded
//! through a signed link that only its recipient's session can use, and purged by
//! [`PURGE_JOB`] once it expires ([`EXPORT_TTL_MS`] after it was asked for).
//!
//! The download link `/dashboard/exports/{id}/download?sig=…` carries an HMAC (key
//! [`classcred_store::Store::export_link_key`], derived from the master key) over the export id,
//! the recipient member id and the expiry: it is useless to anyone else, after the expiry, and
//! for any other export. Builds and downloads are audited with ids and counts only.

pub mod archive;

use std::path::{Path, PathBuf};

use classcred_store::audit::AuditRecord;
use classcred_store::jobs::NewJob;
use classcred_store::{CommunityId, MemberRowId, Store, StoreError};

pub use archive::{write_archive, Manifest, ManifestFile};
pub use classcred_store::export::{ExportJobRecord as ExportJob, ExportJobUpdate, ExportSubject};

/// The job that builds an export's archive (payload: `community_id`, `export_id`).
pub const BUILD_JOB: &str = "export.build";
/// The job that deletes expired archives (no payload; covers every community).
pub const PURGE_JOB: &str = "export.purge";
/// How long an archive and its link live: 24 hours.
pub const EXPORT_TTL_MS: i64 = 24 * 3_600_000;
/// Audit action of a built export.
pub const AUDIT_BUILD: &str = "export.build";
/// Audit action of a downloaded export.
pub const AUDIT_DOWNLOAD: &str = "export.download";
/// Audit action of an export asked for.
pub const AUDIT_START: &str = "export.start";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    #[error("archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("serialisation: {0}")]
    Json(#[from] serde_json::Error),
    #[error("export {0} not found")]
    NotFound(String),
    #[error("member {0} is not a member of this community")]
    NoSuchMember(String),
    #[error("{0}")]
    Invalid(String),
}

/// Ask for an export of `subject` that `recipient` (and only they) may download: records the
/// export and enqueues its [`BUILD_JOB`] in one transaction.
pub async fn start_export(
    store: &Store,
    community: &CommunityId,
    subject: ExportSubject,
    recipient: &MemberRowId,
) -> Result<ExportJob, ExportError> {
    let mut tx = store.begin().await?;
    let mut ctx = tx.for_community(community);
    for m in [
        Some(recipient),
        match &subject {
            ExportSubject::Member(m) => Some(m),
            ExportSubject::Community => None,
        },
    ]
    .into_iter()
    .flatten()
    {
        match ctx.member(m).await {
            Ok(_) => {}
            Err(StoreError::NotFound { .. }) => {
                return Err(ExportError::NoSuchMember(m.to_string()))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let expires_at = store.now_ms() + EXPORT_TTL_MS;
    let job = ctx
        .insert_export_job(
            &subject,
            recipient,
            Some(&format!("member:{recipient}")),
            expires_at,
        )
        .await?;
    let mut build = NewJob::new(
        BUILD_JOB,
        serde_json::json!({ "community_id": community.as_str(), "export_id": job.id }),
    );
    build.community_id = Some(community.clone());
    build.dedupe_key = Some(format!("{BUILD_JOB}:{}", job.id));
    build.max_attempts = 3;
    tx.enqueue(&build).await?;
    tx.audit(&AuditRecord {
        community_id: Some(community.clone()),
        actor: format!("member:{recipient}"),
        action: AUDIT_START.into(),
        subject: match &subject {
            ExportSubject::Member(m) => Some(format!("member:{m}")),
            ExportSubject::Community => None,
        },
        details: serde_json::json!({ "export_id": job.id, "kind": job.kind }),
    })
    .await?;
    tx.commit().await?;
    Ok(job)
}

/// One export of the community (`None`: unknown here).
pub async fn export_job(
    store: &Store,
    community: &CommunityId,
    id: &str,
) -> Result<Option<ExportJob>, ExportError> {
    let mut tx = store.begin().await?;
    let job = tx.for_community(community).export_job(id).await?;
    tx.commit().await?;
    Ok(job)
}

/// The community's recent exports (newest first); with `recipient`, only theirs.
pub async fn list_exports(
    store: &Store,
    community: &CommunityId,
    recipient: Option<&MemberRowId>,
) -> Result<Vec<ExportJob>, ExportError> {
    let mut tx = store.begin().await?;
    let jobs = tx
        .for_community(community)
        .list_export_jobs(recipient, 20)
        .await?;
    tx.commit().await?;
    Ok(jobs)
}

/// A member's own exports that are ready to download, each with its signed link ("my data").
pub async fn my_ready_exports(
    store: &Store,
    community: &CommunityId,
    member: &MemberRowId,
) -> Result<Vec<(ExportJob, String)>, ExportError> {
    let now = store.now_ms();
    Ok(list_exports(store, community, Some(member))
        .await?
        .into_iter()
        .filter(|j| j.state == "done" && j.expires_at > now)
        .map(|j| {
            let url = download_url(store, &j);
            (j, url)
        })
        .collect())
}

fn link_parts<'a>(job: &'a ExportJob, expires: &'a str) -> [&'a [u8]; 5] {
    [
        b"classcred/export-download/v1",
        job.community_id.as_str().as_bytes(),
        job.id.as_bytes(),
        job.recipient_member_id.as_str().as_bytes(),
        expires.as_bytes(),
    ]
}

/// The signature of an export's download link (binds export, recipient and expiry).
pub fn link_signature(store: &Store, job: &ExportJob) -> String {
    let expires = job.expires_at.to_string();
    hex::encode(store.export_link_key().tag(&link_parts(job, &expires)))
}

/// The path and query of an export's download link.
pub fn download_url(store: &Store, job: &ExportJob) -> String {
    format!(
        "/dashboard/exports/{}/download?sig={}",
        job.id,
        link_signature(store, job)
    )
}

/// Why a download is refused (the web layer answers 404 or 403 without saying which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadRefusal {
    NotFound,
    NotRecipient,
    BadSignature,
    Expired,
    NotReady,
}

/// Check a download of export `id` by `member` with signature `sig`; on success the archive's
/// path. Audits the download.
pub async fn authorize_download(
    store: &Store,
    dir: &Path,
    community: &CommunityId,
    member: &MemberRowId,
    id: &str,
    sig: &str,
) -> Result<Result<(ExportJob, PathBuf), DownloadRefusal>, ExportError> {
    let Some(job) = export_job(store, community, id).await? else {
        return Ok(Err(DownloadRefusal::NotFound));
    };
    if &job.recipient_member_id != member {
        return Ok(Err(DownloadRefusal::NotRecipient));
    }
    let expires = job.expires_at.to_string();
    let ok = hex::decode(sig).is_ok_and(|tag| {
        store
            .export_link_key()
            .verify(&link_parts(&job, &expires), &tag)
    });
    if !ok {
        return Ok(Err(DownloadRefusal::BadSignature));
    }
    if store.now_ms() >= job.expires_at || job.state == "expired" {
        return Ok(Err(DownloadRefusal::Expired));
    }
    let Some(file) = job.file_name.clone().filter(|_| job.state == "done") else {
        return Ok(Err(DownloadRefusal::NotReady));
    };
    let path = dir.join(file);
    if !path.is_file() {
        return Ok(Err(DownloadRefusal::NotReady));
    }
    store
        .audit(&AuditRecord {
            community_id: Some(community.clone()),
            actor: format!("member:{member}"),
            action: AUDIT_DOWNLOAD.into(),
            subject: job.member_id.as_ref().map(|m| format!("member:{m}")),
            details: serde_json::json!({ "export_id": job.id, "kind": job.kind }),
        })
        .await?;
    Ok(Ok((job, path)))
}

/// Create the export directory (0700) if it is missing.
pub fn ensure_export_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// The job [`BUILD_JOB`]: build export `export_id` of `community` into `dir`.
pub async fn run_build(
    store: &Store,
    dir: &Path,
    community: &CommunityId,
    export_id: &str,
) -> Result<(), ExportError> {
    let Some(job) = export_job(store, community, export_id).await? else {
        return Err(ExportError::NotFound(export_id.to_owned()));
    };
    if job.state == "done" || job.state == "expired" {
        return Ok(());
    }
    ensure_export_dir(dir)?;
    let file_name = format!("classcred-export-{}.zip", job.id);
    let path = dir.join(&file_name);
    let part = dir.join(format!("{file_name}.part"));
    let _ = std::fs::remove_file(&part);
    set_state(store, &job, "running", 0, 0).await?;
    let mut last = (0u64, 0u64);
    let mut progress = |done: u64, total: u64| last = (done, total);
    let built = archive::write_archive_recording(
        store,
        community,
        &job.subject(),
        &part,
        &mut progress,
        Some(&job),
    )
    .await;
    match built {
        Ok(manifest) => {
            std::fs::rename(&part, &path)?;
            let (sha, size) = archive::file_sha256(&path)?;
            let rows: u64 = manifest
                .files
                .iter()
                .filter(|f| f.path.starts_with("tables/"))
                .map(|f| f.rows)
                .sum();
            let mut tx = store.begin().await?;
            tx.for_community(community)
                .update_export_job(&ExportJobUpdate {
                    id: job.id.clone(),
                    state: "done".into(),
                    progress_done: i64::try_from(rows).unwrap_or(i64::MAX),
                    progress_total: i64::try_from(rows.max(last.1)).unwrap_or(i64::MAX),
                    file_name: Some(file_name),
                    sha256: Some(sha),
                    size: Some(i64::try_from(size).unwrap_or(i64::MAX)),
                    finished_at: Some(store.now_ms()),
                    purged_at: None,
                })
                .await?;
            tx.audit(&AuditRecord {
                community_id: Some(community.clone()),
                actor: "system".into(),
                action: AUDIT_BUILD.into(),
                subject: job.member_id.as_ref().map(|m| format!("member:{m}")),
                details: serde_json::json!({
                    "export_id": job.id, "kind": job.kind, "rows": rows, "bytes": size
                }),
            })
            .await?;
            tx.commit().await?;
            tracing::info!(community_id = %community, export_id = %job.id, rows, bytes = size, "export built");
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            set_state(store, &job, "failed", last.0, last.1).await?;
            Err(e)
        }
    }
}

pub(crate) async fn set_state(
    store: &Store,
    job: &ExportJob,
    state: &str,
    done: u64,
    total: u64,
) -> Result<(), ExportError> {
    let mut tx = store.begin().await?;
    tx.for_community(&job.community_id)
        .update_export_job(&ExportJobUpdate {
            id: job.id.clone(),
            state: state.into(),
            progress_done: i64::try_from(done).unwrap_or(i64::MAX),
            progress_total: i64::try_from(total).unwrap_or(i64::MAX),
            ..ExportJobUpdate::default()
        })
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Enqueue the purge job (the scheduler does, every tick; queued at most once).
pub async fn enqueue_purge(store: &Store) -> Result<(), StoreError> {
    let mut job = NewJob::new(PURGE_JOB, serde_json::json!({}));
    job.coalesce_key = Some(PURGE_JOB.into());
    store.enqueue(&job).await?;
    Ok(())
}

/// The job [`PURGE_JOB`]: delete every expired archive and mark its export expired. Returns
/// how many exports were purged.
pub async fn run_purge(store: &Store, dir: &Path) -> Result<u64, ExportError> {
    let now = store.now_ms();
    let mut tx = store.begin().await?;
    let due = tx.expired_export_jobs(now).await?;
    tx.commit().await?;
    let mut n = 0;
    for job in due {
        for name in job
            .file_name
            .iter()
            .cloned()
            .chain([format!("classcred-export-{}.zip.part", job.id)])
        {
            match std::fs::remove_file(dir.join(&name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut tx = store.begin().await?;
        tx.for_community(&job.community_id)
            .update_export_job(&ExportJobUpdate {
                id: job.id.clone(),
                state: "expired".into(),
                progress_done: job.progress_done,
                progress_total: job.progress_total,
                purged_at: Some(now),
                ..ExportJobUpdate::default()
            })
            .await?;
        tx.commit().await?;
        tracing::info!(community_id = %job.community_id, export_id = %job.id, "export purged");
        n += 1;
    }
    n += sweep_orphans(store, dir).await?;
    Ok(n)
}

/// Delete archives whose export job row no longer exists: the member or community they hold
/// was erased (erasure deletes the rows; only this job knows the directory).
async fn sweep_orphans(store: &Store, dir: &Path) -> Result<u64, ExportError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut n = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_prefix("classcred-export-").and_then(|r| {
            r.strip_suffix(".zip")
                .or_else(|| r.strip_suffix(".zip.part"))
        }) else {
            continue;
        };
        let mut tx = store.begin().await?;
        let exists = tx.export_job_exists(id).await?;
        tx.commit().await?;
        if !exists {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => n += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            tracing::info!(export_id = %id, "archive of an erased export removed");
        }
    }
    Ok(n)
}
