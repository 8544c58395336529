//! Append-only, hash-chained audit log, keyed so that only the master key's holder can extend
//! or rewrite it.
//!
//! Entry `n` stores `hash_n = HMAC-SHA256(audit key, hash_{n-1} ‖ canonical(entry_n))` (parts
//! length-prefixed), where the audit key is derived from the master key under its own label and
//! the canonical content is a JSON array of the entry's fields in a fixed order. `audit_head`
//! holds the last sequence number and hash, updated in the same transaction as each append.
//!
//! What the database alone cannot prove: an attacker with write access but no master key can
//! still delete entries from the end and set `audit_head` to the last remaining one (every
//! stored hash stays valid). So the head is also published outside the database: a log line
//! `audit head SEQ:HASH` every [`HEAD_LOG_EVERY`] entries (and on every keying event), and
//! `classcred audit verify --expect-head SEQ:HASH` fails when the chain does not contain it.
//!
//! Chains written before the key existed (version 1, unkeyed SHA-256) are verified and re-linked
//! under the key by [`Store::migrate`]; a master-key rotation re-links the chain under the new
//! key in the rotation's transaction, after verifying it under the old one. Subjects and actors
//! are pseudonymous ids, never names.

use classcred_crypto::{AuditKey, MasterKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{CommunityId, Result, Store, StoreError, Tx};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The head is logged (published outside the database) every this many entries.
pub const HEAD_LOG_EVERY: i64 = 100;

/// `audit_head.chain_version` of a keyed chain.
pub const KEYED_CHAIN: i64 = 2;
/// The migration that introduced keyed chains. Only the `migrate` run that applies it keys an
/// existing (unkeyed) chain.
pub const KEYED_CHAIN_MIGRATION: i64 = 3;

/// Log target of the published heads; ship these lines somewhere the database's users cannot
/// rewrite.
pub const HEAD_LOG_TARGET: &str = "classcred::audit_head";

fn publish_head(seq: i64, hash: &str, why: &'static str) {
    tracing::info!(target: HEAD_LOG_TARGET, head = %format!("{seq}:{hash}"), why, "audit head");
}

/// What to record.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub community_id: Option<CommunityId>,
    /// `member:<id>`, `operator:cli`, `system`, …
    pub actor: String,
    /// e.g. `member.read`, `community_key.destroy`, `ledger.adjust`.
    pub action: String,
    /// Whose data: `member:<id>` or another id; never a name.
    pub subject: Option<String>,
    /// Ids and counts only.
    pub details: serde_json::Value,
}

/// A stored entry.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub community_id: Option<CommunityId>,
    pub actor: String,
    pub action: String,
    pub subject: Option<String>,
    pub at: i64,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The fields an entry's hash covers, in their canonical order.
struct Canonical<'a> {
    seq: i64,
    community_id: Option<&'a str>,
    actor: &'a str,
    action: &'a str,
    subject: Option<&'a str>,
    at: i64,
    details: &'a str,
}

impl Canonical<'_> {
    fn bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&(
            self.seq,
            self.community_id,
            self.actor,
            self.action,
            self.subject,
            self.at,
            self.details,
        ))
    }

    /// The keyed link (chain version 2).
    fn hash(&self, key: &AuditKey, prev_hash: &str) -> Result<String, serde_json::Error> {
        Ok(key.chain_hash(prev_hash, &self.bytes()?))
    }

    /// The unkeyed link of chain version 1, only to verify a chain before keying it.
    fn legacy_hash(&self, prev_hash: &str) -> Result<String, serde_json::Error> {
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        h.update(self.bytes()?);
        Ok(hex::encode(h.finalize()))
    }

    fn of(e: &'_ AuditEntry) -> Canonical<'_> {
        Canonical {
            seq: e.seq,
            community_id: e.community_id.as_ref().map(CommunityId::as_str),
            actor: &e.actor,
            action: &e.action,
            subject: e.subject.as_deref(),
            at: e.at,
            details: &e.details,
        }
    }
}

/// Why a chain failed verification, naming the first bad entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("audit entry {expected} is missing (found entry {found} in its place): entries were deleted or renumbered")]
    Missing { expected: i64, found: i64 },
    #[error("audit entry {seq} does not link to entry {prev}: entries were reordered or replaced")]
    BrokenLink { seq: i64, prev: i64 },
    #[error("audit entry {seq} was altered: its content no longer matches its hash")]
    Altered { seq: i64 },
    #[error("the audit chain ends at entry {last} but {head} entries were written: entries after {last} were removed")]
    Truncated { last: i64, head: i64 },
    #[error("the audit head does not match entry {seq}: the head or the last entry was altered")]
    HeadMismatch { seq: i64 },
    #[error("the audit chain does not contain the published head {seq}:{hash}: entries were removed or rewritten (or the head was published under a master key since rotated)")]
    HeadNotInChain { seq: i64, hash: String },
    #[error("the audit chain is not keyed (chain version {version}) although this database was upgraded to keyed chains: audit_head and the links were rewritten without the master key (or the upgrade was interrupted between migration 0003 and keying); compare with a head published earlier and restore from a backup")]
    NotKeyed { version: i64 },
}

/// A head published outside the database: `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedHead {
    pub seq: i64,
    pub hash: String,
}

impl std::str::FromStr for PublishedHead {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (seq, hash) = s
            .trim()
            .split_once(':')
            .ok_or_else(|| "expected SEQ:HASH, e.g. 1200:3fa4…".to_string())?;
        let seq: i64 = seq
            .parse()
            .map_err(|_| format!("{seq:?} is not a sequence number"))?;
        if seq < 1 || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("expected SEQ:HASH with SEQ ≥ 1 and HASH 64 hex characters".into());
        }
        Ok(Self {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

impl std::fmt::Display for PublishedHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// Result of a successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainOk {
    pub entries: i64,
    pub head_hash: String,
}

impl Tx<'_> {
    /// Append an entry in this transaction. Concurrent appenders serialise on the head row.
    pub async fn audit(&mut self, rec: &AuditRecord) -> Result<i64> {
        let key = self.store.inner.master.audit_key();
        self.append_audit(rec, &key).await
    }

    /// Append an entry linked under `key` (the store's audit key, or the new one during a
    /// rotation).
    pub(crate) async fn append_audit(&mut self, rec: &AuditRecord, key: &AuditKey) -> Result<i64> {
        // Taking the head with an UPDATE locks it (PostgreSQL) / the database (SQLite) until
        // commit, so sequence numbers and links never fork.
        let head = sqlx::query(
            "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash, chain_version",
        )
        .fetch_one(&mut *self.tx)
        .await?;
        let seq: i64 = head.try_get("seq")?;
        let prev: String = head.try_get("hash")?;
        let version: i64 = head.try_get("chain_version")?;
        if version != KEYED_CHAIN {
            return Err(StoreError::Invalid(format!(
                "the audit chain is not keyed (version {version}) although the database was upgraded to keyed chains; run `classcred audit verify`"
            )));
        }
        let at = self.now_ms();
        let details = serde_json::to_string(&rec.details)?;
        let hash = Canonical {
            seq,
            community_id: rec.community_id.as_ref().map(CommunityId::as_str),
            actor: &rec.actor,
            action: &rec.action,
            subject: rec.subject.as_deref(),
            at,
            details: &details,
        }
        .hash(key, &prev)?;
        sqlx::query(
            "INSERT INTO audit_entry (seq, community_id, actor, action, subject, at, details, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(seq)
        .bind(&rec.community_id)
        .bind(&rec.actor)
        .bind(&rec.action)
        .bind(&rec.subject)
        .bind(at)
        .bind(&details)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
            .bind(&hash)
            .execute(&mut *self.tx)
            .await?;
        if seq % HEAD_LOG_EVERY == 0 {
            // Logged by `commit`, so a rolled-back entry is never published.
            self.heads_to_publish.push((seq, hash));
        }
        Ok(seq)
    }

    /// Publish the heads of entries appended in this (now committed) transaction.
    pub(crate) fn publish_heads(heads: Vec<(i64, String)>) {
        for (seq, hash) in heads {
            publish_head(seq, &hash, "periodic");
        }
    }

    /// All entries, oldest first, in this transaction.
    async fn all_entries(&mut self) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, community_id, actor, action, subject, at, details, prev_hash, hash \
             FROM audit_entry ORDER BY seq",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(entry_of_row).collect()
    }

    async fn head(&mut self) -> Result<(i64, String, i64)> {
        let head = sqlx::query("SELECT seq, hash, chain_version FROM audit_head WHERE id = 1")
            .fetch_one(&mut *self.tx)
            .await?;
        Ok((
            head.try_get("seq")?,
            head.try_get("hash")?,
            head.try_get("chain_version")?,
        ))
    }

    /// Re-link every entry under `key` (the entries were verified by the caller) and make the
    /// head point at the new last hash. Returns the new head.
    async fn relink(&mut self, entries: &[AuditEntry], key: &AuditKey) -> Result<String> {
        let mut prev = GENESIS.to_string();
        for e in entries {
            let hash = Canonical::of(e).hash(key, &prev)?;
            sqlx::query("UPDATE audit_entry SET prev_hash = $2, hash = $3 WHERE seq = $1")
                .bind(e.seq)
                .bind(&prev)
                .bind(&hash)
                .execute(&mut *self.tx)
                .await?;
            prev = hash;
        }
        sqlx::query("UPDATE audit_head SET hash = $1, chain_version = $2 WHERE id = 1")
            .bind(&prev)
            .bind(KEYED_CHAIN)
            .execute(&mut *self.tx)
            .await?;
        Ok(prev)
    }

    /// Key a version-1 (unkeyed) chain: verify it as it was written, then re-link it under the
    /// master key's audit key. A chain that does not verify is not keyed (that would launder
    /// the tampering): the error names the first bad entry. Returns whether anything changed.
    pub(crate) async fn key_audit_chain(&mut self) -> Result<bool> {
        let (head_seq, head_hash, version) = self.head().await?;
        if version == KEYED_CHAIN {
            return Ok(false);
        }
        let entries = self.all_entries().await?;
        verify_links(&entries, head_seq, &head_hash, |c, prev| {
            c.legacy_hash(prev)
        })?
        .map_err(|e| {
            StoreError::Invalid(format!(
                "the existing (unkeyed) audit chain does not verify, so it was not keyed: {e}"
            ))
        })?;
        let key = self.store.inner.master.audit_key();
        let new_head = self.relink(&entries, &key).await?;
        let legacy = format!("{head_seq}:{head_hash}");
        publish_head(head_seq, &new_head, "chain keyed");
        tracing::info!(target: HEAD_LOG_TARGET, legacy_head = %legacy, "unkeyed audit chain verified and keyed");
        self.audit(&AuditRecord {
            community_id: None,
            actor: "system".into(),
            action: "audit.chain_keyed".into(),
            subject: None,
            details: serde_json::json!({ "legacy_head": legacy, "entries": head_seq }),
        })
        .await?;
        Ok(true)
    }

    /// Re-link the chain from the `old` master key's audit key to the `new` one (rotation).
    /// The chain must verify under the old key first.
    pub(crate) async fn rekey_audit_chain(
        &mut self,
        old: &MasterKey,
        new: &MasterKey,
    ) -> Result<()> {
        let (head_seq, head_hash, version) = self.head().await?;
        if version != KEYED_CHAIN {
            return Err(StoreError::Invalid(
                ChainError::NotKeyed { version }.to_string(),
            ));
        }
        let entries = self.all_entries().await?;
        let old_key = old.audit_key();
        verify_links(&entries, head_seq, &head_hash, |c, prev| c.hash(&old_key, prev))?
            .map_err(|e| {
                StoreError::Invalid(format!(
                    "the audit chain does not verify under the current master key, so the key was not rotated: {e}"
                ))
            })?;
        let new_key = new.audit_key();
        let new_head = self.relink(&entries, &new_key).await?;
        tracing::info!(
            target: HEAD_LOG_TARGET,
            old_head = %format!("{head_seq}:{head_hash}"),
            new_head = %format!("{head_seq}:{new_head}"),
            "audit chain re-keyed for the new master key; heads published before this line are checked with the old key"
        );
        self.append_audit(
            &AuditRecord {
                community_id: None,
                actor: "operator:cli".into(),
                action: "master_key.rotate".into(),
                subject: None,
                details: serde_json::json!({
                    "old_master_key_id": old.id(),
                    "new_master_key_id": new.id(),
                    "old_head": format!("{head_seq}:{head_hash}"),
                    "new_head": format!("{head_seq}:{new_head}"),
                }),
            },
            &new_key,
        )
        .await?;
        Ok(())
    }
}

fn entry_of_row(r: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        community_id: r.try_get("community_id")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        subject: r.try_get("subject")?,
        at: r.try_get("at")?,
        details: r.try_get("details")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

impl Store {
    /// Append one entry in its own transaction.
    pub async fn audit(&self, rec: &AuditRecord) -> Result<i64> {
        let mut tx = self.begin().await?;
        let seq = tx.audit(rec).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Entries of one community, oldest first.
    pub async fn audit_entries(
        &self,
        community_id: Option<&CommunityId>,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, community_id, actor, action, subject, at, details, prev_hash, hash FROM audit_entry \
             WHERE ($1 IS NULL OR community_id = $1) ORDER BY seq",
        )
        .bind(community_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(entry_of_row).collect()
    }

    /// Check the whole chain under this store's master key; the error names the first bad
    /// entry.
    pub async fn verify_audit(&self) -> Result<Result<ChainOk, ChainError>> {
        self.verify_audit_expecting(None).await
    }

    /// As [`Store::verify_audit`], and also require that the chain contains `expected`, a head
    /// published earlier (outside the database).
    pub async fn verify_audit_expecting(
        &self,
        expected: Option<&PublishedHead>,
    ) -> Result<Result<ChainOk, ChainError>> {
        let mut tx = self.begin().await?;
        let (head_seq, head_hash, version) = tx.head().await?;
        let entries = tx.all_entries().await?;
        tx.commit().await?;
        if version != KEYED_CHAIN {
            return Ok(Err(ChainError::NotKeyed { version }));
        }
        let key = self.inner.master.audit_key();
        let ok = match verify_chain(&entries, head_seq, &head_hash, &key)? {
            Ok(ok) => ok,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(head) = expected {
            let found = entries
                .iter()
                .any(|e| e.seq == head.seq && e.hash == head.hash);
            if !found {
                return Ok(Err(ChainError::HeadNotInChain {
                    seq: head.seq,
                    hash: head.hash.clone(),
                }));
            }
        }
        Ok(Ok(ok))
    }
}

/// Verify keyed entries (ordered by `seq`) against the head.
pub fn verify_chain(
    entries: &[AuditEntry],
    head_seq: i64,
    head_hash: &str,
    key: &AuditKey,
) -> Result<Result<ChainOk, ChainError>> {
    verify_links(entries, head_seq, head_hash, |c, prev| c.hash(key, prev))
}

fn verify_links(
    entries: &[AuditEntry],
    head_seq: i64,
    head_hash: &str,
    link: impl Fn(&Canonical<'_>, &str) -> Result<String, serde_json::Error>,
) -> Result<Result<ChainOk, ChainError>> {
    let mut prev_hash = GENESIS.to_string();
    let mut expected = 1;
    for e in entries {
        if e.seq != expected {
            return Ok(Err(ChainError::Missing {
                expected,
                found: e.seq,
            }));
        }
        if e.prev_hash != prev_hash {
            return Ok(Err(ChainError::BrokenLink {
                seq: e.seq,
                prev: e.seq - 1,
            }));
        }
        if link(&Canonical::of(e), &prev_hash)? != e.hash {
            return Ok(Err(ChainError::Altered { seq: e.seq }));
        }
        prev_hash = e.hash.clone();
        expected += 1;
    }
    let last = expected - 1;
    if last < head_seq {
        return Ok(Err(ChainError::Truncated {
            last,
            head: head_seq,
        }));
    }
    if last > head_seq || prev_hash != head_hash {
        return Ok(Err(ChainError::HeadMismatch { seq: last }));
    }
    Ok(Ok(ChainOk {
        entries: last,
        head_hash: prev_hash,
    }))
}
