//! `classcred erase …`, `classcred receipt verify`, `classcred backup`, `classcred restore`,
//! and the receipt-signing key (`classcred-signing.key`, beside the master key file).
//!
//! Erasure starts as a request (grace period, then the `erasure.run` job of `classcred serve`);
//! operators can run it at once with `--now --yes`. Every erasure ends with a signed receipt.
//! Backups of the data never carry the key store: a restored older backup has erasures
//! re-applied from the key store's tombstones (`Store::reapply_erasures`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;
use classcred_service::erasure::{
    cancel_erasure, erase_now, list_erasures, request_erasure, run_due_erasures, ErasureOrigin,
    ErasureTarget, ERASURE_JOB,
};
use classcred_service::receipt::{verify, ReceiptPublicKey, ReceiptSigner, SIGNING_KEY_FILE_NAME};
use classcred_store::{CommunityId, Role, Store};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum EraseCommand {
    /// Request the erasure of one member (by platform user id): pending for the grace period,
    /// then carried out by `classcred serve`; `--now --yes` erases at once and prints the receipt.
    Member {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        /// Platform user id of the member to erase.
        #[arg(long, value_name = "USER")]
        member: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Request the erasure of a whole community (every member, message and ledger entry; a
    /// tombstone stays). `--now --yes` erases at once, with progress.
    Community {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        #[command(flatten)]
        run: RunArgs,
    },
    /// A community's erasure requests: target, origin, dates, state.
    List {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
    },
    /// Cancel a pending request during its grace period, on behalf of an Admin.
    Cancel {
        /// The request id (`erase list`).
        id: String,
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        /// Platform user id of the Admin cancelling it (audited).
        #[arg(long, value_name = "USER")]
        by: String,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Erase at once instead of requesting (operators); needs --yes.
    #[arg(long)]
    now: bool,
    /// Confirm an immediate, irreversible erasure.
    #[arg(long)]
    yes: bool,
    /// Write the receipt to this file (default: print it).
    #[arg(long, value_name = "FILE", requires = "now")]
    receipt: Option<PathBuf>,
    /// Grace period in days for a request (default 7; at most 30).
    #[arg(long, value_name = "DAYS", conflicts_with = "now")]
    grace_days: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Check an erasure receipt: exit 0 and "valid" when it is intact and signed by this
    /// server's key (or the key given), non-zero otherwise.
    Verify {
        file: PathBuf,
        /// The signer's public key file (`classcred keys public` output); default: this
        /// installation's signing key.
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
    },
}

/// Where the receipt-signing key lives: beside the master key file.
pub fn signing_key_path(cfg: &Config) -> PathBuf {
    cfg.master_key_file.with_file_name(SIGNING_KEY_FILE_NAME)
}

/// Create the signing key if there is none (by `keys init`); `None` when it already exists.
pub fn create_signing_key(cfg: &Config) -> anyhow::Result<Option<ReceiptSigner>> {
    let path = signing_key_path(cfg);
    if path.exists() {
        return Ok(None);
    }
    Ok(Some(ReceiptSigner::create(&path)?))
}

/// The receipt-signing key; created on first use (with a log line) on an installation made
/// before receipts existed.
pub fn load_or_create_signer(cfg: &Config) -> anyhow::Result<ReceiptSigner> {
    signer_at(&signing_key_path(cfg))
}

fn signer_at(path: &Path) -> anyhow::Result<ReceiptSigner> {
    if path.exists() {
        return Ok(ReceiptSigner::load(path)?);
    }
    let signer = ReceiptSigner::create(path)?;
    tracing::warn!(
        key_id = %signer.key_id(),
        path = %path.display(),
        "created the erasure-receipt signing key (mode 600); back it up with the master key"
    );
    Ok(signer)
}

/// `classcred keys public`: the receipt-signing public key, for `receipt verify --public-key`.
pub fn print_public_key(cfg: &Config) -> anyhow::Result<ExitCode> {
    let signer = load_or_create_signer(cfg)?;
    let pk = signer.public_key();
    output::print(&format!("{}\n", pk.encode()))?;
    eprintln!("receipt-signing key {}", pk.key_id());
    Ok(ExitCode::SUCCESS)
}

fn days(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Run a `classcred erase …` command.
pub async fn run(cfg: &Config, store: &Store, command: EraseCommand) -> anyhow::Result<ExitCode> {
    match command {
        EraseCommand::Member {
            community,
            member,
            run,
        } => {
            let mut tx = store.begin().await?;
            let m = tx
                .for_community(&community)
                .member_by_platform_id(&member)
                .await
                .with_context(|| format!("community {community}"))?;
            tx.commit().await?;
            let Some(m) = m else {
                bail!("community {community} has no member with platform user id {member}");
            };
            erase(cfg, store, &community, ErasureTarget::Member(m.id), run).await
        }
        EraseCommand::Community { community, run } => {
            erase(cfg, store, &community, ErasureTarget::Community, run).await
        }
        EraseCommand::List { community } => {
            let now = store.now_ms();
            let list = list_erasures(store, &community).await?;
            let mut out = format!(
                "{:<36}  {:<9}  {:<36}  {:<15}  {:<20}  {:<20}  {:<20}  {}\n",
                "id", "target", "member", "origin", "requested", "grace until", "due", "state"
            );
            for r in &list {
                let state = if r.overdue(now) {
                    format!("{} (OVERDUE)", r.state.as_str())
                } else {
                    r.state.as_str().to_string()
                };
                out.push_str(&format!(
                    "{:<36}  {:<9}  {:<36}  {:<15}  {:<20}  {:<20}  {:<20}  {}\n",
                    r.id,
                    r.target.kind(),
                    r.target.member().map(|m| m.as_str()).unwrap_or("-"),
                    r.origin.as_str(),
                    days(r.requested_at),
                    days(r.grace_until),
                    days(r.due_at),
                    state
                ));
            }
            output::print(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        EraseCommand::Cancel { id, community, by } => {
            let mut tx = store.begin().await?;
            let admin = tx
                .for_community(&community)
                .member_by_platform_id(&by)
                .await
                .with_context(|| format!("community {community}"))?;
            tx.commit().await?;
            let admin = match admin {
                Some(a) if a.role == Role::Admin => a,
                Some(_) => bail!("{by} is not an Admin of community {community}"),
                None => bail!("community {community} has no member with platform user id {by}"),
            };
            cancel_erasure(store, &community, &id, &admin.id).await?;
            println!("erasure request {id} cancelled");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn erase(
    cfg: &Config,
    store: &Store,
    community: &CommunityId,
    target: ErasureTarget,
    run: RunArgs,
) -> anyhow::Result<ExitCode> {
    if run.now {
        if !run.yes {
            eprintln!(
                "--now erases at once and cannot be undone: add --yes to confirm \
                 (without --now, a request is made that an Admin can cancel during its grace period)"
            );
            return Ok(ExitCode::from(2));
        }
        let signer = load_or_create_signer(cfg)?;
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template("erasing {bar:40} {pos}/{len} batches") {
            bar.set_style(style);
        }
        let bar2 = bar.clone();
        let receipt = erase_now(
            store,
            &signer,
            community,
            target,
            &mut move |done, total| {
                bar2.set_length(total);
                bar2.set_position(done);
            },
        )
        .await?;
        bar.finish_and_clear();
        // Archives built before the erasure hold what was erased: delete them now (the
        // server's purge job would too, but an operator erasing at once expects it at once).
        let dir = cfg.export_dir();
        if dir.is_dir() {
            classcred_service::export::run_purge(store, &dir).await?;
        }
        let text = receipt.to_file_text();
        match &run.receipt {
            Some(path) => {
                std::fs::write(path, &text)
                    .with_context(|| format!("write receipt {}", path.display()))?;
                println!(
                    "erased (request {}); receipt written to {}",
                    receipt.request_id,
                    path.display()
                );
            }
            None => output::print(&text)?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    let grace = match run.grace_days {
        Some(d) if d > 30 => {
            bail!("--grace-days must be at most 30 (an erasure is due in 30 days)")
        }
        Some(d) => Some(Duration::from_secs(d * 24 * 3600)),
        None => None,
    };
    let req = request_erasure(
        store,
        community,
        target,
        ErasureOrigin::Operator,
        None,
        grace,
    )
    .await?;
    println!(
        "erasure request {} made: cancellable until {}, carried out by `classcred serve` after that, due {}",
        req.id,
        days(req.grace_until),
        days(req.due_at)
    );
    Ok(ExitCode::SUCCESS)
}

/// `classcred receipt verify FILE [--public-key FILE]`.
pub fn verify_receipt(cfg: &Config, command: ReceiptCommand) -> anyhow::Result<ExitCode> {
    let ReceiptCommand::Verify { file, public_key } = command;
    let key = match public_key {
        Some(p) => {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("read public key {}", p.display()))?;
            ReceiptPublicKey::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
        }
        None => {
            let path = signing_key_path(cfg);
            if !path.exists() {
                bail!(
                    "no signing key at {}: pass --public-key FILE (the signer's `classcred keys public`)",
                    path.display()
                );
            }
            ReceiptSigner::load(&path)?.public_key()
        }
    };
    let bytes = std::fs::read(&file).with_context(|| format!("read {}", file.display()))?;
    match verify(&bytes, &key) {
        Ok(r) => {
            let target = match &r.target.member_id {
                Some(m) => format!("member {m} of community {}", r.community_id),
                None => format!("community {}", r.community_id),
            };
            println!(
                "valid: erasure receipt of request {} ({target}), signed by {}",
                r.request_id, r.signing_key_id
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("INVALID receipt {}: {e}", file.display());
            Ok(ExitCode::from(1))
        }
    }
}

/// The SQLite data file of a `sqlite:` URL.
fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .context("not a sqlite: URL")?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        bail!("the database is not a file");
    }
    Ok(PathBuf::from(path))
}

/// `classcred backup --out FILE`.
pub async fn backup(cfg: &Config, store: &Store, out: &Path) -> anyhow::Result<ExitCode> {
    if store.backend_name() != "sqlite" {
        eprintln!(
            "on PostgreSQL, back up the data with pg_dump, leaving out the key store:\n  \
             pg_dump --exclude-schema=classcred_keys --format=custom --file=FILE DATABASE_URL\n\
             and the key store separately with `classcred keys backup --out FILE` (see README: Backups)"
        );
        return Ok(ExitCode::from(2));
    }
    if out.exists() {
        bail!("{} exists; refusing to overwrite it", out.display());
    }
    store
        .backup_data(out)
        .await
        .with_context(|| format!("back up to {}", out.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o600))?;
    }
    let size = std::fs::metadata(out)?.len();
    println!(
        "data backup written to {} ({size} bytes). It does not contain the key store (the data \
         keys): back that up separately with `classcred keys backup --out FILE` and keep those \
         copies at most 30 days, so that erased data cannot come back from old backups.",
        out.display()
    );
    let _ = cfg;
    Ok(ExitCode::SUCCESS)
}

/// `classcred restore --from FILE` (SQLite) or `classcred restore --reapply-erasures`.
pub async fn restore(
    cfg: &Config,
    from: Option<&Path>,
    reapply_only: bool,
) -> anyhow::Result<ExitCode> {
    let url = cfg.database_url.expose().to_string();
    match (from, reapply_only) {
        (None, false) => bail!("say what to do: --from FILE (SQLite) or --reapply-erasures"),
        (Some(_), true) => bail!("--from already re-applies erasures; pass one of them"),
        (None, true) => {
            let store = crate::open_existing_store(cfg).await?;
            let counts = store.reapply_erasures().await?;
            store.close().await;
            print_reapplied(&counts);
            Ok(ExitCode::SUCCESS)
        }
        (Some(file), false) => {
            if !url.starts_with("sqlite:") {
                bail!(
                    "on PostgreSQL, restore the dump with pg_restore (see README: Backups), then run \
                     `classcred restore --reapply-erasures`"
                );
            }
            let data = sqlite_path(&url)?;
            let mut header = [0u8; 16];
            {
                use std::io::Read;
                let mut f = std::fs::File::open(file)
                    .with_context(|| format!("open {}", file.display()))?;
                f.read_exact(&mut header)
                    .with_context(|| format!("{} is not a SQLite database", file.display()))?;
            }
            if &header != b"SQLite format 3\0" {
                bail!("{} is not a SQLite database", file.display());
            }
            {
                let store = crate::open_existing_store(cfg).await?;
                let live = store.live_server_leases().await?;
                store.close().await;
                if live > 0 {
                    bail!(
                        "{live} `classcred serve` process(es) are running on this database: stop \
                         every server before restoring"
                    );
                }
            }
            // Copy beside the data file, then rename over it (atomic on one file system).
            let tmp = data.with_extension("restore-tmp");
            std::fs::copy(file, &tmp).with_context(|| format!("copy to {}", tmp.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
            }
            std::fs::File::open(&tmp)?.sync_all()?;
            for suffix in ["-wal", "-shm"] {
                let mut s = data.as_os_str().to_owned();
                s.push(suffix);
                let p = PathBuf::from(s);
                if p.exists() {
                    std::fs::remove_file(&p)
                        .with_context(|| format!("remove stale {}", p.display()))?;
                }
            }
            std::fs::rename(&tmp, &data)
                .with_context(|| format!("move {} over {}", tmp.display(), data.display()))?;
            println!("restored {} from {}", data.display(), file.display());
            let store = crate::open_store(cfg, crate::load_master_key(cfg)?).await?;
            store.migrate().await?;
            let counts = store.reapply_erasures().await?;
            store.close().await;
            print_reapplied(&counts);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_reapplied(counts: &classcred_store::ErasureCounts) {
    if counts.tables.is_empty() {
        println!("erasures re-applied: none needed");
    } else {
        let parts: Vec<String> = counts
            .tables
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        println!("erasures re-applied: {}", parts.join(", "));
    }
}

/// Register the `erasure.run` job: carry out every request past its grace period. The
/// signing key is read when the job runs (created then, with a log line, if missing).
pub fn register_job(handlers: &mut classcred_server::worker::Handlers, signing_key: PathBuf) {
    handlers.register(ERASURE_JOB, move |store, _job| {
        let signing_key = signing_key.clone();
        async move {
            let signer = signer_at(&signing_key)?;
            let receipts = run_due_erasures(&store, &signer).await?;
            for r in &receipts {
                tracing::info!(request_id = %r.request_id, community_id = %r.community_id, "erasure receipt signed");
            }
            Ok(())
        }
    });
}

/// The scheduler's part: enqueue one `erasure.run` (coalesced) when a request is past its
/// grace period. `true` when one was enqueued.
pub async fn schedule(store: &Store) -> anyhow::Result<bool> {
    let now = store.now_ms();
    let mut tx = store.begin().await?;
    if tx.next_due_erasure_request(now).await?.is_none() {
        tx.commit().await?;
        return Ok(false);
    }
    let mut job = classcred_store::jobs::NewJob::new(ERASURE_JOB, serde_json::json!({}));
    job.coalesce_key = Some(ERASURE_JOB.to_string());
    let id = tx.enqueue(&job).await?;
    tx.commit().await?;
    Ok(id.is_some())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use classcred_crypto::MasterKey;
    use classcred_server::worker::{Handlers, Worker, WorkerConfig};
    use classcred_server::Metrics;
    use classcred_service::erasure::{erasure_request, ErasureState};
    use classcred_store::testing::TestDb;
    use classcred_store::{ManualClock, MemberKind, NewCommunity, NewMember};

    use super::*;

    /// The scheduler enqueues `erasure.run` only once a request is past its grace period; the
    /// worker's handler then erases, signs the receipt with the key file and stores it; a
    /// request past its due date shows in the `/metrics` gauge.
    #[tokio::test]
    async fn the_scheduled_job_runs_erasures_after_grace_and_overdue_ones_show_in_metrics() {
        for db in TestDb::all().await {
            let b = db.backend();
            let clock = Arc::new(ManualClock::new(
                chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap(),
            ));
            let store = db.store_with(MasterKey::generate(), clock.clone()).await;
            let mut tx = store.begin().await.unwrap();
            let inst = tx.create_institution("U").await.unwrap();
            let c = tx
                .create_community(NewCommunity {
                    institution_id: inst.id,
                    name: "Course".into(),
                    platform: "slack".into(),
                    platform_team_id: Some("T1".into()),
                    settings_json: "{}".into(),
                })
                .await
                .unwrap()
                .id;
            let mut ids = Vec::new();
            for uid in ["UA", "UB"] {
                ids.push(
                    tx.for_community(&c)
                        .upsert_member(&NewMember {
                            platform_user_id: uid.into(),
                            role: Role::Student,
                            kind: MemberKind::Human,
                            profile: Default::default(),
                        })
                        .await
                        .unwrap(),
                );
            }
            tx.commit().await.unwrap();

            let dir = tempfile::tempdir().unwrap();
            let key_path = dir.path().join(SIGNING_KEY_FILE_NAME);
            let mut handlers = Handlers::new();
            register_job(&mut handlers, key_path.clone());
            let worker = Worker::new(
                store.clone(),
                handlers,
                Arc::new(Metrics::new()),
                WorkerConfig::default(),
            );

            let req = request_erasure(
                &store,
                &c,
                ErasureTarget::Member(ids[0].clone()),
                ErasureOrigin::Admin,
                None,
                None,
            )
            .await
            .unwrap();
            assert!(
                !schedule(&store).await.unwrap(),
                "{b}: nothing due in grace"
            );
            while worker.run_once().await.unwrap() {}
            let r = erasure_request(&store, &c, &req.id).await.unwrap().unwrap();
            assert_eq!(r.state, ErasureState::Pending, "{b}");

            clock.advance(chrono::Duration::days(7) + chrono::Duration::seconds(1));
            assert!(schedule(&store).await.unwrap(), "{b}: due after grace");
            while worker.run_once().await.unwrap() {}
            let r = erasure_request(&store, &c, &req.id).await.unwrap().unwrap();
            assert_eq!(r.state, ErasureState::Done, "{b}");
            let signer = ReceiptSigner::load(&key_path).unwrap();
            verify(r.receipt.unwrap().as_bytes(), &signer.public_key()).unwrap();
            assert!(!schedule(&store).await.unwrap(), "{b}: nothing left");

            // A request no job carried out is overdue 30 days after it was made.
            let stuck = request_erasure(
                &store,
                &c,
                ErasureTarget::Member(ids[1].clone()),
                ErasureOrigin::Admin,
                None,
                None,
            )
            .await
            .unwrap();
            let metrics = Metrics::new();
            let counts = store.job_counts().await.unwrap();
            assert_eq!(counts.erasure_overdue, 0, "{b}");
            assert!(metrics
                .render(&counts)
                .contains("classcred_erasure_requests_overdue 0"));
            clock.advance(chrono::Duration::days(31));
            let counts = store.job_counts().await.unwrap();
            assert_eq!(counts.erasure_overdue, 1, "{b}: {}", stuck.id);
            let text = metrics.render(&counts);
            assert!(
                text.contains("classcred_erasure_requests_overdue 1"),
                "{b}: {text}"
            );
        }
    }
}
