//! De-identified research releases of one community.
//!
//! [`build_release`] reads members (role, level) and net fire between them per week through the
//! store's research reader (no sealed column is opened, no name or platform id is selected),
//! makes a fresh random [`release::PseudonymKey`] for this release only, builds the tables
//! declared in [`schema`] ([`release::build`]: ISO weeks, people counts below
//! [`MIN_CELL`] suppressed, the record table generalised and suppressed to k-anonymity), drops
//! the key, and runs the [`validator`] on the result. Only a [`Release`] that passed can be
//! written ([`write_dir`], [`write_zip`]); its files are the tables as CSV and a `README.txt`
//! saying what was done. [`audit_release`] records who made it, the community, the tables and
//! their row counts.

pub mod release;
pub mod schema;
pub mod validator;

use std::collections::BTreeMap;
use std::io::{Seek, Write};
use std::path::Path;

use classcred_store::audit::AuditRecord;
use classcred_store::registry::export::registry_version;
use classcred_store::{CommunityId, Store, StoreError};

pub use validator::{Limits, Rule, Violation};

/// The smallest people count of a released aggregate cell.
pub const MIN_CELL: usize = 10;
/// The default k of record tables.
pub const DEFAULT_K: usize = 5;
/// The smallest k accepted.
pub const MIN_K: usize = 5;
/// Audit action of a release.
pub const AUDIT_RELEASE: &str = "research.release";

/// One table of a release: its name, header and rows of text values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseTable {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResearchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    #[error("archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("the release was refused by the validator: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Refused(Vec<Violation>),
    #[error("{0}")]
    Invalid(String),
}

/// A release that passed the validator.
#[derive(Debug)]
pub struct Release {
    tables: Vec<ReleaseTable>,
    notes: BTreeMap<&'static str, release::TableNote>,
    limits: Limits,
    generated: chrono::DateTime<chrono::Utc>,
    registry_version: String,
    members_read: usize,
}

/// Progress of [`build_release`], for the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Reading,
    Read { members: usize, fire_pairs: usize },
    Building,
    Validating,
    Passed,
}

impl Release {
    pub fn tables(&self) -> &[ReleaseTable] {
        &self.tables
    }
    pub fn limits(&self) -> Limits {
        self.limits
    }
    /// `(table, rows, suppressed rows)`.
    pub fn counts(&self) -> Vec<(&'static str, usize, usize)> {
        self.notes
            .iter()
            .map(|(t, n)| (*t, n.rows, n.suppressed_rows))
            .collect()
    }

    /// The release's files, `(name, content)`: each table as CSV, then `README.txt`. The
    /// validator runs again here: nothing is written that it refuses.
    pub fn files(&self) -> Result<Vec<(String, Vec<u8>)>, ResearchError> {
        validator::validate(&self.tables, &self.limits).map_err(ResearchError::Refused)?;
        let mut out = Vec::new();
        for t in &self.tables {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(&t.columns)?;
            for r in &t.rows {
                w.write_record(r)?;
            }
            let bytes = w
                .into_inner()
                .map_err(|e| ResearchError::Io(e.into_error()))?;
            out.push((format!("{}.csv", t.name), bytes));
        }
        out.push(("README.txt".into(), self.readme().into_bytes()));
        Ok(out)
    }

    /// What was done to the release, for its readers.
    pub fn readme(&self) -> String {
        use std::fmt::Write as _;
        let week = {
            use chrono::Datelike;
            let w = self.generated.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        };
        let mut s = String::new();
        let _ = writeln!(s, "ClassCred de-identified research release");
        let _ = writeln!(s, "========================================");
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Generated: {} (ISO week {week}). Privacy registry version: {}.",
            self.generated.format("%Y-%m-%d"),
            self.registry_version
        );
        let _ = writeln!(
            s,
            "Members read: {} (human members only; bots, the app and erased members are never read).",
            self.members_read
        );
        let _ = writeln!(s);
        let _ = writeln!(s, "What was done");
        let _ = writeln!(s, "-------------");
        let _ = writeln!(s, "- Pseudonymisation: each member appears under HMAC-SHA256 of an internal row id with a random 32-byte key made for this release alone. The key was never stored, logged or written and was discarded after the build: nobody, ClassCred included, can recompute a pseudonym, and two releases of the same class share no pseudonym, so they cannot be joined.");
        let _ = writeln!(s, "- Nothing identifying was read or released: no names, display names, emails, avatars, time zones, messages, feedback or any other free text, no platform ids (user, channel, message, workspace) and no internal ids. The only stored columns read are: {}.", schema::read_sources().map(|(t, c)| format!("{t}.{c}")).collect::<Vec<_>>().join(", "));
        let _ = writeln!(
            s,
            "- Times were coarsened to the ISO week (YYYY-Www); nothing finer is released."
        );
        let _ = writeln!(s, "- Aggregate tables: every cell counting fewer than {} distinct people was suppressed (its whole row left out).", self.limits.min_cell);
        let _ = writeln!(s, "- Record table (members): k-anonymous with k = {} on all its columns but the pseudonym (role, level band and activity bands are quasi-identifiers): values were generalised into bands (and roles into staff/student) along a fixed ladder, to the first step that leaves at most {}% of the rows in groups smaller than k; those rows were then suppressed.", self.limits.k, release::SUPPRESSION_BUDGET_PERCENT);
        let _ = writeln!(s, "- Every release is checked by a validator before it is written: declared tables and columns only, sources allowed by the privacy registry, cell sizes, k-anonymity, pseudonym shape, no free text, no identifier-shaped value, no time finer than a week.");
        let _ = writeln!(s, "- Limits: suppression is per table; no complementary suppression across tables is done, and counts of different tables are not guaranteed to be consistent with each other once cells are suppressed.");
        let _ = writeln!(s);
        let _ = writeln!(s, "Tables");
        let _ = writeln!(s, "------");
        for t in &self.tables {
            let Some(spec) = schema::table_spec(&t.name) else {
                continue;
            };
            let note = self.notes.get(spec.name).cloned().unwrap_or_default();
            let kind = match spec.kind {
                schema::TableKind::Aggregate => "aggregate",
                schema::TableKind::Record => "record-level",
            };
            let _ = writeln!(s);
            let _ = writeln!(s, "{} ({kind}): {}.", spec.file_name(), spec.about);
            let _ = writeln!(
                s,
                "  rows released: {}; rows suppressed: {}",
                note.rows, note.suppressed_rows
            );
            if let Some(g) = note.generalisation {
                let _ = writeln!(s, "  generalisation used: {g}");
            }
            for c in spec.columns {
                let _ = writeln!(s, "  - {}: {}", c.name, c.meaning);
            }
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "Bands: fine 0, 1-2, 3-5, 6-10, 11-20, 21-50, 51+; medium 0, 1-10, 11-50, 51+; coarse 0, 1-5, 6+; * means generalised away. Roles: admin, instructor, student; staff = admin or instructor; * = any.");
        s
    }
}

/// Read the community's data, build a release with a fresh pseudonym key and validate it.
/// A refused release is an error naming each broken rule (never a value).
pub async fn build_release(
    store: &Store,
    community: &CommunityId,
    k: usize,
    progress: &mut (dyn FnMut(Stage) + Send),
) -> Result<Release, ResearchError> {
    if k < MIN_K {
        return Err(ResearchError::Invalid(format!(
            "k must be at least {MIN_K}"
        )));
    }
    progress(Stage::Reading);
    let mut tx = store.begin().await?;
    tx.community(community).await?;
    let mut ctx = tx.for_community(community);
    let members = ctx.research_members().await?;
    let fires = ctx.research_fires().await?;
    tx.commit().await?;
    progress(Stage::Read {
        members: members.len(),
        fire_pairs: fires.len(),
    });
    progress(Stage::Building);
    let limits = Limits {
        k,
        min_cell: MIN_CELL,
    };
    let built = {
        let key = release::PseudonymKey::fresh();
        release::build(&members, &fires, &key, k, MIN_CELL)
        // The key is dropped (and zeroed) here.
    };
    progress(Stage::Validating);
    validator::validate(&built.tables, &limits).map_err(ResearchError::Refused)?;
    progress(Stage::Passed);
    Ok(Release {
        tables: built.tables,
        notes: built.notes,
        limits,
        generated: store.clock().now(),
        registry_version: registry_version(),
        members_read: members.len(),
    })
}

/// Write a release into `dir` (created 0700; it must not exist or be empty). Returns the
/// files written with their sizes.
pub fn write_dir(release: &Release, dir: &Path) -> Result<Vec<(String, u64)>, ResearchError> {
    let files = release.files()?;
    if dir.exists() {
        if std::fs::read_dir(dir)?.next().is_some() {
            return Err(ResearchError::Invalid(format!(
                "{} exists and is not empty",
                dir.display()
            )));
        }
    } else {
        crate::export::ensure_export_dir(dir)?;
    }
    let mut out = Vec::new();
    for (name, bytes) in files {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut f = o.open(dir.join(&name))?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        out.push((name, bytes.len() as u64));
    }
    Ok(out)
}

/// Write a release as a zip (deflate) into `w`.
pub fn write_zip<W: Write + Seek>(release: &Release, w: W) -> Result<W, ResearchError> {
    let files = release.files()?;
    let mut zip = zip::ZipWriter::new(w);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        zip.start_file(name, opts)?;
        zip.write_all(&bytes)?;
    }
    Ok(zip.finish()?)
}

/// Record a release in the audit chain: who, the community, k, and each table's released and
/// suppressed row counts (no personal data).
pub async fn audit_release(
    store: &Store,
    community: &CommunityId,
    actor: &str,
    via: &str,
    release: &Release,
) -> Result<(), ResearchError> {
    let tables: serde_json::Map<String, serde_json::Value> = release
        .counts()
        .into_iter()
        .map(|(t, rows, suppressed)| {
            (
                t.to_owned(),
                serde_json::json!({ "rows": rows, "suppressed_rows": suppressed }),
            )
        })
        .collect();
    store
        .audit(&AuditRecord {
            community_id: Some(community.clone()),
            actor: actor.to_owned(),
            action: AUDIT_RELEASE.into(),
            subject: None,
            details: serde_json::json!({
                "via": via,
                "k": release.limits.k,
                "min_cell": release.limits.min_cell,
                "registry_version": release.registry_version,
                "tables": tables,
            }),
        })
        .await?;
    Ok(())
}
