// STAND-IN: replaced by helper KEYS at merge
//! Erasure primitives (contract signatures). This minimal version exists only so that the
//! erasure requests, jobs, receipts and CLI can be built and tested before the key store lands:
//! member erasure clears the member's sealed fields and pseudonymises the row; community
//! erasure destroys the community key and leaves a tombstone. It has no separate key store, so
//! `reapply_erasures` has nothing to re-apply from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{CommunityId, MemberRowId, Result, Store, StoreError};

/// Table → rows erased or scrubbed (no personal data).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureCounts {
    pub tables: BTreeMap<String, u64>,
}

impl ErasureCounts {
    fn add(&mut self, table: &str, n: u64) {
        *self.tables.entry(table.to_string()).or_default() += n;
    }
}

impl Store {
    /// Destroy the member's key, scrub/delete what only they own, pseudonymise the member row.
    /// Idempotent.
    pub async fn erase_member(
        &self,
        community: &CommunityId,
        member: &MemberRowId,
    ) -> Result<ErasureCounts> {
        let mut tx = self.begin().await?;
        let mut counts = ErasureCounts::default();
        let pseudonym = format!("erased:{}", member.as_str());
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE member SET platform_user_id = $3, name_enc = NULL, display_name_enc = NULL, \
             email_enc = NULL, email_bidx = NULL, avatar_url_enc = NULL, timezone_enc = NULL, \
             updated_at = $4 WHERE community_id = $1 AND id = $2",
        )
        .bind(community)
        .bind(member)
        .bind(&pseudonym)
        .bind(now)
        .execute(&mut *tx.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "member",
                id: member.to_string(),
            });
        }
        counts.add("member", done.rows_affected());
        let done = sqlx::query(
            "UPDATE message SET text_enc = NULL WHERE community_id = $1 AND author_member_id = $2 \
             AND text_enc IS NOT NULL",
        )
        .bind(community)
        .bind(member)
        .execute(&mut *tx.tx)
        .await?;
        counts.add("message", done.rows_affected());
        let done = sqlx::query(
            "UPDATE ledger_entry SET note_enc = NULL WHERE community_id = $1 AND member_id = $2 \
             AND note_enc IS NOT NULL",
        )
        .bind(community)
        .bind(member)
        .execute(&mut *tx.tx)
        .await?;
        counts.add("ledger_entry", done.rows_affected());
        tx.commit().await?;
        Ok(counts)
    }

    /// Destroy the community key, then leave the community row as a tombstone (state
    /// "erased", name removed). Idempotent.
    pub async fn erase_community(
        &self,
        community: &CommunityId,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<ErasureCounts> {
        let mut tx = self.begin().await?;
        let mut counts = ErasureCounts::default();
        tx.destroy_data_key(community).await?;
        counts.add("community_key", 1);
        let done = sqlx::query("UPDATE community SET state = 'erased', name = '' WHERE id = $1")
            .bind(community)
            .execute(&mut *tx.tx)
            .await?;
        counts.add("community", done.rows_affected());
        tx.commit().await?;
        progress(1, 1);
        Ok(counts)
    }

    /// After restoring an older data backup: re-apply every erasure recorded in the key store.
    /// The stand-in has no separate key store, so nothing is recorded outside the data.
    pub async fn reapply_erasures(&self) -> Result<ErasureCounts> {
        Ok(ErasureCounts::default())
    }

    /// SQLite: consistent copy of the data only (`VACUUM INTO`). PostgreSQL: use pg_dump.
    pub async fn backup_data(&self, out: &std::path::Path) -> Result<()> {
        if self.backend_name() != "sqlite" {
            return Err(StoreError::Config(
                "backup_data is for SQLite; on PostgreSQL use pg_dump --exclude-schema=classcred_keys"
                    .into(),
            ));
        }
        let path = out
            .to_str()
            .ok_or_else(|| StoreError::Invalid("backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM main INTO $1")
            .bind(path)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The stand-in keeps keys in the data, so there is no separate key store to copy.
    pub async fn backup_keys(&self, out: &std::path::Path) -> Result<()> {
        let _ = out;
        Err(StoreError::Config(
            "no separate key store in this build".into(),
        ))
    }

    /// Scrub free text out of processed inbox payloads processed before `before_ms`.
    pub async fn scrub_processed_inbox(
        &self,
        community: &CommunityId,
        before_ms: i64,
    ) -> Result<u64> {
        let _ = (community, before_ms);
        Ok(0)
    }
}
