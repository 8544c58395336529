//! `classcred keys init | rotate`, and the start-up check that the configured master key is
//! the one the database expects.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use classcred_crypto::MasterKey;
use classcred_store::{SchemaState, Store, StoreError};

use crate::config::Config;

/// Write a key file readable by its owner only, durably.
fn write_key_file(path: &Path, key: &MasterKey) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create key file {}", path.display()))?;
    let encoded = key.encode();
    f.write_all(encoded.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok(())
}

fn pending_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".new");
    PathBuf::from(s)
}

pub fn init(cfg: &Config) -> anyhow::Result<ExitCode> {
    let path = &cfg.master_key_file;
    if path.exists() {
        bail!(
            "{} already exists; refusing to overwrite a master key (that would make the data unreadable). \
             To replace it, use `classcred keys rotate`",
            path.display()
        );
    }
    let key = MasterKey::generate();
    write_key_file(path, &key)?;
    println!(
        "master key {} written to {} (mode 600). Back it up separately from the database: \
         without it, no personal data can be read.",
        key.id(),
        path.display()
    );
    if let Some(signer) = crate::erase::create_signing_key(cfg)? {
        println!(
            "erasure-receipt signing key {} written to {} (mode 600); `classcred keys public` prints its public key",
            signer.key_id(),
            crate::erase::signing_key_path(cfg).display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `demo` on a fresh machine creates the default key file if there is no key at all.
pub fn load_or_create_for_demo(cfg: &Config) -> anyhow::Result<MasterKey> {
    if cfg.master_key.is_none() && !cfg.master_key_file.exists() {
        let key = MasterKey::generate();
        write_key_file(&cfg.master_key_file, &key)?;
        eprintln!(
            "created master key {} in {} (back it up to keep the demo data readable)",
            key.id(),
            cfg.master_key_file.display()
        );
        return Ok(key);
    }
    crate::load_master_key(cfg)
}

pub async fn rotate(cfg: &Config, out: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let old = crate::load_master_key(cfg)?;
    let from_env = cfg.master_key.is_some();
    let target = match (&out, from_env) {
        (Some(p), _) => p.clone(),
        (None, false) => cfg.master_key_file.clone(),
        (None, true) => bail!(
            "the master key comes from CLASSCRED_MASTER_KEY: pass --out FILE to say where the new key goes"
        ),
    };
    let store = crate::open_store(cfg, old).await?;
    store.migrate().await?;
    let new = MasterKey::generate();
    // 1. The new key is on disk before the database depends on it.
    let pending = pending_path(&target);
    if pending.exists() {
        bail!(
            "{} exists: an earlier rotation did not finish. If the database already uses it \
             (`classcred` says so at start), move it over {}; otherwise delete it and retry",
            pending.display(),
            target.display()
        );
    }
    write_key_file(&pending, &new)?;
    // 2. Re-wrap every data key in one transaction.
    let report = match store.rotate_master_key(&new).await {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&pending);
            return Err(e).context("rotation failed; nothing was changed");
        }
    };
    // The rotation recorded itself in the audit chain (re-keyed in the same transaction).
    store.close().await;
    // 3. The new key replaces the old file.
    std::fs::rename(&pending, &target)
        .with_context(|| format!("move {} to {}", pending.display(), target.display()))?;
    println!(
        "master key rotated: {} → {}; {} data keys re-wrapped ({} destroyed keys skipped). \
         The new key is in {}; the old key no longer opens this database. Restart every \
         `classcred serve` with the new key.",
        report.old_master_key_id,
        report.new_master_key_id,
        report.rewrapped,
        report.destroyed_skipped,
        target.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Fail early, and helpfully, when the configured key is not the one the database uses, or
/// when the live data keys are wrapped by several master keys. Only a database with no schema
/// yet is not checked; any database error fails the check.
pub async fn check_key_matches(cfg: &Config, store: &Store) -> anyhow::Result<()> {
    if store.schema_state().await? == SchemaState::Fresh {
        return Ok(());
    }
    let key_id = store.master_key_id();
    let ids = store.stored_master_key_ids().await?;
    match store.check_master_key().await {
        Ok(()) => return Ok(()),
        Err(e @ StoreError::MixedMasterKeys { .. }) => return Err(e.into()),
        Err(StoreError::WrongMasterKey { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let pending = pending_path(&cfg.master_key_file);
    let pending_key = std::fs::read_to_string(&pending)
        .ok()
        .map(zeroize::Zeroizing::new)
        .and_then(|t| MasterKey::parse(&t).ok());
    let hint = match pending_key {
        Some(k) if ids.contains(&k.id()) => format!(
            " A key rotation was interrupted after the database switched to the key in {}: move it over {}.",
            pending.display(),
            cfg.master_key_file.display()
        ),
        _ => format!(
            " Point master_key_file (now {}) or CLASSCRED_MASTER_KEY at the key file this database was created or last rotated with: its id is printed by `classcred keys init` and at every rotation.",
            cfg.master_key_file.display()
        ),
    };
    bail!(
        "the configured master key ({key_id}) is not the one this database's data keys are wrapped with ({}).{hint}",
        ids.join(", ")
    )
}

/// `classcred keys backup --out FILE`: a consistent copy of the key store alone.
pub async fn backup(store: &Store, out: &Path) -> anyhow::Result<ExitCode> {
    match store.backup_keys(out).await {
        Ok(()) => {
            println!(
                "key store copied to {} (mode 600). Keep it apart from data backups and delete \
                 it after 30 days at most: an erasure is final only once no key backup from \
                 before it remains.",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(StoreError::Unsupported(why)) => {
            bail!("{why}")
        }
        Err(e) => Err(e).context("key store backup failed"),
    }
}
