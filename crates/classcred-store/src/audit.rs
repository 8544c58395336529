//! Append-only, hash-chained audit log.
//!
//! Entry `n` stores `hash_n = SHA-256(hash_{n-1} ‖ "\n" ‖ canonical(entry_n))` where the
//! canonical content is a JSON array of its fields in a fixed order. `audit_head` holds the last
//! sequence number and hash, updated in the same transaction as each append, so that removing
//! entries from the end is detected too. Subjects and actors are pseudonymous ids, never names.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Result, Store, Tx};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What to record.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub community_id: Option<String>,
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
    pub community_id: Option<String>,
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
    fn hash(&self, prev_hash: &str) -> String {
        let canonical = serde_json::to_string(&(
            self.seq,
            self.community_id,
            self.actor,
            self.action,
            self.subject,
            self.at,
            self.details,
        ))
        .expect("tuple of plain values serialises");
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        h.update(canonical.as_bytes());
        hex::encode(h.finalize())
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
        // Taking the head with an UPDATE locks it (PostgreSQL) / the database (SQLite) until
        // commit, so sequence numbers and links never fork.
        let head =
            sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
                .fetch_one(&mut *self.tx)
                .await?;
        let seq: i64 = head.try_get("seq")?;
        let prev: String = head.try_get("hash")?;
        let at = self.now_ms();
        let details = serde_json::to_string(&rec.details)?;
        let hash = Canonical {
            seq,
            community_id: rec.community_id.as_deref(),
            actor: &rec.actor,
            action: &rec.action,
            subject: rec.subject.as_deref(),
            at,
            details: &details,
        }
        .hash(&prev);
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
        Ok(seq)
    }
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
    pub async fn audit_entries(&self, community_id: Option<&str>) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, community_id, actor, action, subject, at, details, prev_hash, hash FROM audit_entry \
             WHERE ($1 IS NULL OR community_id = $1) ORDER BY seq",
        )
        .bind(community_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
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
            })
            .collect()
    }

    /// Check the whole chain; the error names the first bad entry.
    pub async fn verify_audit(&self) -> Result<Result<ChainOk, ChainError>> {
        let entries = self.audit_entries(None).await?;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        Ok(verify_chain(&entries, head_seq, &head_hash))
    }
}

/// Verify entries (ordered by `seq`) against the head.
pub fn verify_chain(
    entries: &[AuditEntry],
    head_seq: i64,
    head_hash: &str,
) -> Result<ChainOk, ChainError> {
    let mut prev_hash = GENESIS.to_string();
    let mut expected = 1;
    for e in entries {
        if e.seq != expected {
            return Err(ChainError::Missing {
                expected,
                found: e.seq,
            });
        }
        if e.prev_hash != prev_hash {
            return Err(ChainError::BrokenLink {
                seq: e.seq,
                prev: e.seq - 1,
            });
        }
        let recomputed = Canonical {
            seq: e.seq,
            community_id: e.community_id.as_deref(),
            actor: &e.actor,
            action: &e.action,
            subject: e.subject.as_deref(),
            at: e.at,
            details: &e.details,
        }
        .hash(&prev_hash);
        if recomputed != e.hash {
            return Err(ChainError::Altered { seq: e.seq });
        }
        prev_hash = e.hash.clone();
        expected += 1;
    }
    let last = expected - 1;
    if last < head_seq {
        return Err(ChainError::Truncated {
            last,
            head: head_seq,
        });
    }
    if last > head_seq || prev_hash != head_hash {
        return Err(ChainError::HeadMismatch { seq: last });
    }
    Ok(ChainOk {
        entries: last,
        head_hash: prev_hash,
    })
}
