//! `classcred export …`: grade exports to stdout, the same CSV the dashboard's exports page
//! serves (`classcred_service::dashboard::grades_csv`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use classcred_service::dashboard::{grades_csv, GradeFormat};
use classcred_store::{CommunityId, Store};

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
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GradesFormat {
    Csv,
    Canvas,
}

/// Run a `classcred export …` command.
pub async fn run(store: &Store, command: ExportCommand) -> anyhow::Result<ExitCode> {
    match command {
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
