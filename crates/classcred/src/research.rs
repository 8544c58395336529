//! `classcred research-export --community ID --out DIR [--k K]`: a de-identified research
//! release of one community (`classcred_service::research`), written only after the validator
//! passed it, with progress on stderr; audited as the operator.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use classcred_service::research::{self, ResearchError, Stage};
use classcred_store::{CommunityId, Store};

#[derive(Debug, Clone, clap::Args)]
pub struct ResearchExportArgs {
    #[arg(long, value_name = "ID")]
    pub community: CommunityId,
    /// The directory to write (created, mode 700; it must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// k of the record-level table's k-anonymity (at least 5).
    #[arg(long, default_value_t = research::DEFAULT_K)]
    pub k: usize,
}

pub async fn run(store: &Store, args: ResearchExportArgs) -> anyhow::Result<ExitCode> {
    let ResearchExportArgs { community, out, k } = args;
    if out.exists()
        && std::fs::read_dir(&out)
            .with_context(|| format!("{} is not a directory", out.display()))?
            .next()
            .is_some()
    {
        anyhow::bail!(
            "{} exists and is not empty: choose another --out",
            out.display()
        );
    }
    let mut progress = |s: Stage| match s {
        Stage::Reading => eprintln!("[1/4] reading members and fire of community {community}"),
        Stage::Read {
            members,
            fire_pairs,
        } => eprintln!("      {members} members, {fire_pairs} weekly giver-recipient pairs"),
        Stage::Building => eprintln!("[2/4] pseudonymising (fresh key), coarsening, suppressing"),
        Stage::Validating => eprintln!("[3/4] validating"),
        Stage::Passed => eprintln!("      passed"),
    };
    let release = match research::build_release(store, &community, k, &mut progress).await {
        Ok(r) => r,
        Err(ResearchError::Refused(violations)) => {
            eprintln!("release REFUSED by the validator; nothing written:");
            for v in violations {
                eprintln!("  {v}");
            }
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("research release of {community}")))
        }
    };
    eprintln!("[4/4] writing {}", out.display());
    let files = research::write_dir(&release, &out)
        .with_context(|| format!("writing {}", out.display()))?;
    research::audit_release(store, &community, "operator:cli", "cli", &release).await?;
    for (name, bytes) in &files {
        eprintln!("      {name} ({bytes} bytes)");
    }
    for (table, rows, suppressed) in release.counts() {
        eprintln!("      {table}: {rows} rows released, {suppressed} suppressed");
    }
    eprintln!("wrote {} ({} files)", out.display(), files.len());
    Ok(ExitCode::SUCCESS)
}
