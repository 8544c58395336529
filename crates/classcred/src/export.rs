//! `classcred export …`: grade exports to stdout, the same CSV the dashboard's exports page
//! serves (`classcred_service::dashboard::grades_csv`); full exports of a community or of one
//! member into a zip archive (`classcred_service::export`), with a progress bar.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use classcred_service::dashboard::{grades_csv, GradeFormat};
use classcred_service::export::{write_archive, ExportSubject};
use classcred_store::audit::AuditRecord;
use classcred_store::{CommunityId, Store};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Points per student as CSV on stdout: `csv` (every person, with role, balances and
    /// level) or `canvas` (a Canvas gradebook import: Student, ID, SIS User ID, SIS Login ID,
    /// Section, ClassCred participation).
    Grades {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        #[arg(long, value_enum)]
        format: GradesFormat,
    },
    /// Everything the community holds (every exported table, personal fields decrypted) as a
    /// zip: NDJSON, CSV, a readable index.html and a manifest with SHA-256 hashes.
    Community {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        /// The archive to write (0600); an existing file is refused without --force.
        #[arg(long, value_name = "FILE.zip")]
        out: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// The rows about or written by one member (their access request), as a zip.
    Member {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        /// The member's platform user id (Slack `U…`).
        #[arg(long, value_name = "PUID")]
        member: String,
        #[arg(long, value_name = "FILE.zip")]
        out: PathBuf,
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GradesFormat {
    Csv,
    Canvas,
}

/// Run a `classcred export …` command.
pub async fn run(cfg: &Config, store: &Store, command: ExportCommand) -> anyhow::Result<ExitCode> {
    let _ = cfg;
    match command {
        ExportCommand::Community {
            community,
            out,
            force,
        } => full(store, &community, ExportSubject::Community, &out, force).await,
        ExportCommand::Member {
            community,
            member,
            out,
            force,
        } => {
            let mut tx = store.begin().await?;
            tx.community(&community)
                .await
                .with_context(|| format!("community {community}"))?;
            let id = tx
                .for_community(&community)
                .member_id_by_platform(&member)
                .await?;
            tx.commit().await?;
            let Some(id) = id else {
                anyhow::bail!("community {community} has no member with that platform user id");
            };
            full(store, &community, ExportSubject::Member(id), &out, force).await
        }
        ExportCommand::Grades { community, format } => {
            let mut tx = store.begin().await?;
            tx.community(&community)
                .await
                .with_context(|| format!("community {community}"))?;
            tx.commit().await?;
            let format = match format {
                GradesFormat::Csv => GradeFormat::Points,
                GradesFormat::Canvas => GradeFormat::Canvas,
            };
            let csv = grades_csv(store, &community, format)
                .await
                .with_context(|| format!("community {community}"))?;
            let mut out = std::io::stdout().lock();
            out.write_all(csv.as_bytes())?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn full(
    store: &Store,
    community: &CommunityId,
    subject: ExportSubject,
    out: &Path,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let mut tx = store.begin().await?;
    tx.community(community)
        .await
        .with_context(|| format!("community {community}"))?;
    tx.commit().await?;
    if out.exists() {
        if !force {
            anyhow::bail!(
                "{} exists: choose another --out, or pass --force to replace it",
                out.display()
            );
        }
        std::fs::remove_file(out).with_context(|| format!("cannot replace {}", out.display()))?;
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("exporting {bar:40} {pos}/{len} rows ({eta})") {
        bar.set_style(style);
    }
    let written = write_archive(store, community, &subject, out, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await;
    bar.finish_and_clear();
    let manifest = match written {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(out);
            return Err(anyhow::Error::new(e).context(format!("export of community {community}")));
        }
    };
    let rows: u64 = manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with("tables/"))
        .map(|f| f.rows)
        .sum();
    store
        .audit(&AuditRecord {
            community_id: Some(community.clone()),
            actor: "operator:cli".into(),
            action: classcred_service::export::AUDIT_BUILD.into(),
            subject: match &subject {
                ExportSubject::Member(m) => Some(format!("member:{m}")),
                ExportSubject::Community => None,
            },
            details: serde_json::json!({ "rows": rows, "via": "cli", "subject": manifest.subject }),
        })
        .await?;
    eprintln!(
        "wrote {} ({} tables, {rows} rows)",
        out.display(),
        manifest
            .files
            .iter()
            .filter(|f| f.path.starts_with("tables/"))
            .count()
    );
    Ok(ExitCode::SUCCESS)
}

/// Register the job handlers of dashboard exports: [`classcred_service::export::BUILD_JOB`]
/// and [`classcred_service::export::PURGE_JOB`], both over the export directory `dir`.
pub fn register(h: &mut classcred_server::worker::Handlers, dir: PathBuf) {
    let build_dir = dir.clone();
    h.register(classcred_service::export::BUILD_JOB, move |store, job| {
        let dir = build_dir.clone();
        async move {
            let community = job.payload_community_id()?;
            let id = job
                .payload
                .get("export_id")
                .and_then(|v| v.as_str())
                .ok_or_else(|| anyhow::anyhow!("export.build job {} has no export_id", job.id))?
                .to_owned();
            classcred_service::export::run_build(&store, &dir, &community, &id).await?;
            Ok(())
        }
    });
    h.register(classcred_service::export::PURGE_JOB, move |store, _job| {
        let dir = dir.clone();
        async move {
            let n = classcred_service::export::run_purge(&store, &dir).await?;
            if n > 0 {
                tracing::info!(purged = n, "expired exports purged");
            }
            Ok(())
        }
    });
}
