//! `classcred research-export --community ID --out DIR [--k K]`: a de-identified research
//! release of one community (`classcred_service::research`), written only after the validator
//! passed it, with progress on stderr; audited as the operator. `classcred research-validate
//! DIR [--k K]`: the same validator over a release directory read back from its CSV files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use classcred_service::research::validator::{self, Limits};
use classcred_service::research::{self, ReleaseTable, ResearchError, Stage};
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

#[derive(Debug, Clone, clap::Args)]
pub struct ResearchValidateArgs {
    /// A release directory as `research-export` writes it (its `*.csv` files are checked).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// k of the record-level table's k-anonymity (at least 5), as the release was made with.
    #[arg(long, default_value_t = research::DEFAULT_K)]
    pub k: usize,
}

/// Read every `*.csv` of `dir` as a release table (its name is the file's stem).
fn read_release(dir: &std::path::Path) -> anyhow::Result<Vec<ReleaseTable>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        anyhow::bail!(
            "{} holds no .csv table: is it a research release?",
            dir.display()
        );
    }
    let mut tables = Vec::new();
    for path in paths {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(&path)
            .with_context(|| format!("read {}", path.display()))?;
        let columns = r
            .headers()
            .with_context(|| format!("{}: no header", path.display()))?
            .iter()
            .map(str::to_owned)
            .collect();
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.with_context(|| format!("{}: not CSV", path.display()))?;
            rows.push(rec.iter().map(str::to_owned).collect());
        }
        tables.push(ReleaseTable {
            name,
            columns,
            rows,
        });
    }
    Ok(tables)
}

pub fn validate_dir(args: ResearchValidateArgs) -> anyhow::Result<ExitCode> {
    if args.k < research::MIN_K {
        anyhow::bail!("--k must be at least {}", research::MIN_K);
    }
    let tables = read_release(&args.dir)?;
    let limits = Limits {
        k: args.k,
        min_cell: research::MIN_CELL,
    };
    match validator::validate(&tables, &limits) {
        Ok(()) => {
            let rows: usize = tables.iter().map(|t| t.rows.len()).sum();
            println!(
                "passed: {} tables, {rows} rows, every rule holds (k = {}, cells of at least {} people)",
                tables.len(),
                limits.k,
                limits.min_cell
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(violations) => {
            println!("REFUSED: {} rule(s) broken", violations.len());
            for v in violations {
                println!("  {v}");
            }
            Ok(ExitCode::from(1))
        }
    }
}
