//! Erasure: crypto-shredding of one member or a whole community, re-applied after a restore.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What an erasure did: table → rows erased or scrubbed (no personal data).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureCounts {
    pub tables: BTreeMap<String, u64>,
}

impl ErasureCounts {
    pub(crate) fn add(&mut self, table: &str, n: u64) {
        if n > 0 {
            *self.tables.entry(table.to_string()).or_default() += n;
        }
    }

    pub(crate) fn merge(&mut self, other: &ErasureCounts) {
        for (t, n) in &other.tables {
            self.add(t, *n);
        }
    }
}

use std::path::Path;

use sqlx::Row;

use crate::audit::AuditRecord;
use crate::{CommunityId, MemberRowId, Result, Store, StoreError, Tx};

/// What replaces a scrubbed adjustment reason: replay needs a non-empty one.
const SCRUBBED_REASON: &str = "(removed)";

/// Rows deleted per statement when purging a community.
const PURGE_BATCH: i64 = 500;

/// Remove free text and profile fields from one inbox payload (a JSON event): the engine
/// never reads them and `ledger replay` needs only ids, counts and times; the message table
/// keeps the text under its author's key. Returns `None` when nothing changed (or the payload
/// is not a JSON object).
pub fn scrub_payload(payload: &[u8]) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let obj = v.as_object_mut()?;
    let mut changed = false;
    if let Some(t) = obj.get_mut("text") {
        if t.as_str().is_some_and(|s| !s.is_empty()) {
            *t = serde_json::Value::String(String::new());
            changed = true;
        }
    }
    if let Some(d) = obj.get_mut("display_name") {
        if !d.is_null() {
            *d = serde_json::Value::Null;
            changed = true;
        }
    }
    if let Some(r) = obj.get_mut("reason") {
        if r.as_str().is_some_and(|s| s != SCRUBBED_REASON) {
            *r = serde_json::Value::String(SCRUBBED_REASON.into());
            changed = true;
        }
    }
    changed.then(|| serde_json::to_vec(&v).ok()).flatten()
}

/// Replace every JSON string equal to `from` by `to` (a member's platform id by its erased
/// pseudonym, so that replay still maps the events to the same member row).
fn replace_strings(v: &mut serde_json::Value, from: &str, to: &str) -> bool {
    match v {
        serde_json::Value::String(s) if s == from => {
            *s = to.to_string();
            true
        }
        serde_json::Value::Array(a) => a
            .iter_mut()
            .fold(false, |acc, x| replace_strings(x, from, to) | acc),
        serde_json::Value::Object(o) => o
            .values_mut()
            .fold(false, |acc, x| replace_strings(x, from, to) | acc),
        _ => false,
    }
}

/// The pseudonym that replaces an erased member's platform user id.
pub fn erased_platform_id(member: &MemberRowId) -> String {
    format!("erased:{member}")
}

impl Tx<'_> {
    /// Open, transform and re-seal inbox payloads of a community (`processed_before`: only
    /// rows processed before that time; `None`: every row). Returns rows changed.
    async fn rewrite_inbox(
        &mut self,
        community_id: &CommunityId,
        processed_before: Option<i64>,
        f: &(dyn Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync),
    ) -> Result<u64> {
        let rows = sqlx::query(
            "SELECT id, payload_enc FROM inbox WHERE community_id = $1 \
             AND ($2 IS NULL OR (processed_at IS NOT NULL AND processed_at < $2)) ORDER BY id",
        )
        .bind(community_id)
        .bind(processed_before)
        .fetch_all(&mut *self.tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let dek = self.data_key(community_id).await?;
        let mut changed = 0;
        for r in rows {
            let id: String = r.try_get("id")?;
            let sealed: Vec<u8> = r.try_get("payload_enc")?;
            let at = classcred_crypto::FieldRef {
                community_id: community_id.as_str(),
                table: "inbox",
                column: "payload_enc",
                row_id: &id,
            };
            let plain = dek.open(at, &sealed).map_err(|source| StoreError::Crypto {
                table: "inbox",
                column: "payload_enc",
                row_id: id.clone(),
                source,
            })?;
            if let Some(new) = f(&plain) {
                sqlx::query("UPDATE inbox SET payload_enc = $1 WHERE id = $2")
                    .bind(dek.seal(at, &new))
                    .bind(&id)
                    .execute(&mut *self.tx)
                    .await?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// Scrub one inbox row's payload once processed (see [`scrub_payload`]).
    pub(crate) async fn scrub_inbox_row(
        &mut self,
        community_id: &CommunityId,
        id: &str,
    ) -> Result<()> {
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT payload_enc FROM inbox WHERE id = $1 AND community_id = $2")
                .bind(id)
                .bind(community_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        let Some((sealed,)) = row else {
            return Ok(());
        };
        let dek = self.data_key(community_id).await?;
        let at = classcred_crypto::FieldRef {
            community_id: community_id.as_str(),
            table: "inbox",
            column: "payload_enc",
            row_id: id,
        };
        let plain = dek.open(at, &sealed).map_err(|source| StoreError::Crypto {
            table: "inbox",
            column: "payload_enc",
            row_id: id.to_string(),
            source,
        })?;
        if let Some(new) = scrub_payload(&plain) {
            sqlx::query("UPDATE inbox SET payload_enc = $1 WHERE id = $2")
                .bind(dek.seal(at, &new))
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    async fn exec_count(&mut self, sql: &str, a: &str, b: Option<&str>) -> Result<u64> {
        let q = sqlx::query(sql).bind(a);
        let q = match b {
            Some(b) => q.bind(b),
            None => q,
        };
        Ok(q.execute(&mut *self.tx).await?.rows_affected())
    }

    /// The member erasure, inside this transaction (see [`Store::erase_member`]).
    async fn erase_member_in(
        &mut self,
        community_id: &CommunityId,
        member: &MemberRowId,
        actor: &str,
    ) -> Result<ErasureCounts> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT platform_user_id FROM member WHERE community_id = $1 AND id = $2",
        )
        .bind(community_id)
        .bind(member)
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some((platform_id,)) = row else {
            return Err(StoreError::NotFound {
                what: "member",
                id: member.to_string(),
            });
        };
        let pseudonym = erased_platform_id(member);
        let mut counts = ErasureCounts::default();
        // Inbox payloads: the member's platform id becomes the pseudonym (replay still maps
        // their events to this row) and every payload naming them loses its free text.
        if platform_id != pseudonym {
            let (from, to) = (platform_id.clone(), pseudonym.clone());
            let n = self
                .rewrite_inbox(community_id, None, &move |plain| {
                    let mut v: serde_json::Value = serde_json::from_slice(plain).ok()?;
                    if !replace_strings(&mut v, &from, &to) {
                        return None;
                    }
                    let bytes = serde_json::to_vec(&v).ok()?;
                    Some(scrub_payload(&bytes).unwrap_or(bytes))
                })
                .await?;
            counts.add("inbox", n);
        }
        self.destroy_member_key(community_id, member.as_str())
            .await?;
        counts.add("classcred_keys.data_key", 1);
        let now = self.now_ms();
        let n = sqlx::query(
            "UPDATE member SET name_enc = NULL, display_name_enc = NULL, email_enc = NULL, \
             email_bidx = NULL, avatar_url_enc = NULL, timezone_enc = NULL, \
             platform_user_id = $3, erased_at = COALESCE(erased_at, $4), updated_at = $4 \
             WHERE community_id = $1 AND id = $2 AND (erased_at IS NULL OR platform_user_id <> $3 \
             OR name_enc IS NOT NULL OR display_name_enc IS NOT NULL OR email_enc IS NOT NULL \
             OR email_bidx IS NOT NULL OR avatar_url_enc IS NOT NULL OR timezone_enc IS NOT NULL)",
        )
        .bind(community_id)
        .bind(member)
        .bind(&pseudonym)
        .bind(now)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        counts.add("member", n);
        let c = community_id.as_str();
        let m = Some(member.as_str());
        let n = self
            .exec_count(
                "UPDATE message SET text_enc = NULL WHERE community_id = $1 \
                 AND author_member_id = $2 AND text_enc IS NOT NULL",
                c,
                m,
            )
            .await?;
        counts.add("message", n);
        let n = self
            .exec_count(
                "UPDATE ledger_entry SET note_enc = NULL WHERE community_id = $1 \
                 AND member_id = $2 AND note_enc IS NOT NULL",
                c,
                m,
            )
            .await?;
        counts.add("ledger_entry", n);
        // Store purchases stay (like the ledger entries they explain); their reason is
        // shredded with the member key and cleared here too.
        let n = self
            .exec_count(
                "UPDATE store_purchase SET reason_enc = NULL WHERE community_id = $1 \
                 AND member_id = $2 AND reason_enc IS NOT NULL",
                c,
                m,
            )
            .await?;
        counts.add("store_purchase", n);
        // Poll votes in polls that are not anonymous, and debate participation (anonymous
        // votes name nobody: they stay as counts).
        for table in ["poll_vote", "poll_debater"] {
            let n = self
                .exec_count(
                    &format!("DELETE FROM {table} WHERE community_id = $1 AND member_id = $2"),
                    c,
                    m,
                )
                .await?;
            counts.add(table, n);
        }
        let n = self
            .exec_count(
                "DELETE FROM web_session WHERE community_id = $1 AND member_id = $2",
                c,
                m,
            )
            .await?;
        counts.add("web_session", n);
        let n = self
            .exec_count(
                "DELETE FROM sign_in_record WHERE community_id = $1 AND member_id = $2",
                c,
                m,
            )
            .await?;
        counts.add("sign_in_record", n);
        let n = self
            .exec_count(
                "DELETE FROM feed_item WHERE community_id = $1 AND member_id = $2",
                c,
                m,
            )
            .await?;
        counts.add("feed_item", n);
        // Exports about the member or for them to download, and every whole-community export
        // (it holds the member's data too). The export purge then deletes their files: a file
        // whose job row is gone is removed.
        let n = self
            .exec_count(
                "DELETE FROM export_job WHERE community_id = $1 \
                 AND (member_id = $2 OR recipient_member_id = $2 OR kind = 'community')",
                c,
                m,
            )
            .await?;
        counts.add("export_job", n);
        let n = self
            .exec_count(
                "DELETE FROM platform_non_member WHERE community_id = $1 AND platform_user_id = $2",
                c,
                Some(&platform_id),
            )
            .await?;
        counts.add("platform_non_member", n);
        self.audit(&AuditRecord {
            community_id: Some(community_id.clone()),
            actor: actor.to_string(),
            action: "member.erase".into(),
            subject: Some(format!("member:{member}")),
            details: serde_json::to_value(&counts)?,
        })
        .await?;
        Ok(counts)
    }
}

/// Tables purged by a community erasure, children before parents (foreign keys), with the
/// column that names the community. The community row itself, `community_key` (metadata) and
/// the audit chain stay. Tables added later that hold community data must be added here.
const COMMUNITY_TABLES: &[&str] = &[
    "web_session",
    "feed_item",
    "member_badge",
    "engine_reaction",
    "engine_message",
    "member_period_points",
    "member_points",
    "points_period_zone",
    "award_pair",
    "ledger_entry",
    "message",
    "inbox",
    "installation",
    "platform_non_member",
    "api_token",
    "export_job",
    "privacy_request",
    "retention_policy",
    "sign_in_record",
    // Privacy governance (issue 12): per-community rows naming Admins.
    "policy_ack",
    "breach_notice",
    // Scheduled announcements (issue 11).
    "announcement",
    // The class store (issue 11): purchases name members, so they go before them.
    "store_purchase",
    "store_item",
    // Questions and answers (migration 0021).
    "answer",
    "question",
    // Polls and debates (migration 0024): children first.
    "poll_debater",
    "poll_vote",
    "poll_option",
    "poll",
    // Custom reward rules (migration 0025): no member data.
    "reward_rule_version",
    "reward_rule",
    // Firsts and announcement posts (migration 0026): first responses name members.
    "first_response",
    "announcement_post",
    "member",
];

impl Store {
    /// Destroy the member's key, scrub/delete what only they own, pseudonymise the member row
    /// (platform_user_id → "erased:<member row id>", erased_at set); ledger entries stay.
    /// Idempotent. Other members and communities untouched; `ledger replay` still matches.
    pub async fn erase_member(
        &self,
        community: &CommunityId,
        member: &MemberRowId,
    ) -> Result<ErasureCounts> {
        let mut tx = self.begin().await?;
        let counts = tx.erase_member_in(community, member, "system").await?;
        tx.commit().await?;
        tracing::info!(community_id = %community, member_id = %member, "member erased");
        Ok(counts)
    }

    /// Destroy the community key (and with it every member key), then purge its rows in
    /// batches, calling progress(done, total); leaves the community row as a tombstone
    /// (state "erased", name removed). Idempotent / resumable.
    pub async fn erase_community(
        &self,
        community: &CommunityId,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<ErasureCounts> {
        // First and alone: once this commits nothing of the community can be read, in this
        // database or any data backup, even if the purge below is interrupted.
        let mut tx = self.begin().await?;
        tx.community(community).await?;
        tx.destroy_data_key(community).await?;
        tx.commit().await?;
        let mut counts = ErasureCounts::default();
        let mut total: u64 = 0;
        for table in COMMUNITY_TABLES {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM {table} WHERE community_id = $1"
            ))
            .bind(community)
            .fetch_one(self.pool())
            .await?;
            total += u64::try_from(n).unwrap_or(0);
        }
        let mut done: u64 = 0;
        progress(done, total);
        for table in COMMUNITY_TABLES {
            // Tables with an `id` column go in batches; the others (composite keys) at once.
            let has_id = !matches!(
                *table,
                "member_badge"
                    | "engine_reaction"
                    | "engine_message"
                    | "platform_non_member"
                    | "web_session"
                    | "retention_policy"
                    | "member_points"
                    | "member_period_points"
                    | "points_period_zone"
                    | "award_pair"
                    | "question"
                    | "answer"
                    | "reward_rule_version"
                    | "first_response"
                    | "announcement_post"
            );
            loop {
                let sql = if has_id {
                    format!(
                        "DELETE FROM {table} WHERE id IN \
                         (SELECT id FROM {table} WHERE community_id = $1 LIMIT {PURGE_BATCH})"
                    )
                } else {
                    format!("DELETE FROM {table} WHERE community_id = $1")
                };
                let mut tx = self.begin().await?;
                let n = sqlx::query(&sql)
                    .bind(community)
                    .execute(&mut *tx.tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                counts.add(table, n);
                done += n;
                progress(done.min(total), total);
                if n == 0 || !has_id {
                    break;
                }
            }
        }
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM job WHERE community_id = $1 AND state <> 'running'")
            .bind(community)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        counts.add("job", n);
        sqlx::query(
            "UPDATE community SET state = 'erased', name = 'erased community', settings = '{}', \
             initial_settings = '{}', platform_team_id = NULL, \
             disabled_at = COALESCE(disabled_at, $2) WHERE id = $1",
        )
        .bind(community)
        .bind(self.now_ms())
        .execute(&mut *tx.tx)
        .await?;
        counts.add("community", 1);
        tx.audit(&AuditRecord {
            community_id: Some(community.clone()),
            actor: "system".into(),
            action: "community.erase".into(),
            subject: Some(format!("community:{community}")),
            details: serde_json::to_value(&counts)?,
        })
        .await?;
        tx.commit().await?;
        tracing::info!(community_id = %community, "community erased");
        Ok(counts)
    }

    /// After restoring an older data backup: re-apply every erasure recorded in the key store
    /// (each destroyed key is a tombstone row there). Communities first, then members of
    /// communities that still exist.
    pub async fn reapply_erasures(&self) -> Result<ErasureCounts> {
        let mut counts = ErasureCounts::default();
        let communities: Vec<CommunityId> = sqlx::query_scalar(
            "SELECT d.owner_id FROM classcred_keys.data_key d JOIN community c ON c.id = d.owner_id \
             WHERE d.kind = 'community' AND d.wrapped IS NULL ORDER BY d.owner_id",
        )
        .fetch_all(self.pool())
        .await?;
        for c in &communities {
            let has_rows: i64 = sqlx::query_scalar(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM member WHERE community_id = $1",
            )
            .bind(c)
            .fetch_one(self.pool())
            .await?;
            let state: String = sqlx::query_scalar("SELECT state FROM community WHERE id = $1")
                .bind(c)
                .fetch_one(self.pool())
                .await?;
            if has_rows > 0 || state != "erased" {
                counts.merge(&self.erase_community(c, &mut |_, _| {}).await?);
            }
        }
        let members: Vec<(String, CommunityId)> = sqlx::query_as(
            "SELECT d.owner_id, d.community_id FROM classcred_keys.data_key d \
             JOIN member m ON m.id = d.owner_id AND m.community_id = d.community_id \
             JOIN classcred_keys.data_key ck ON ck.owner_id = d.community_id \
               AND ck.kind = 'community' AND ck.wrapped IS NOT NULL \
             WHERE d.kind = 'member' AND d.wrapped IS NULL \
               AND (m.erased_at IS NULL OR m.platform_user_id <> 'erased:' || m.id \
                 OR m.name_enc IS NOT NULL OR m.email_enc IS NOT NULL) \
             ORDER BY d.owner_id",
        )
        .fetch_all(self.pool())
        .await?;
        for (m, c) in members {
            let mut tx = self.begin().await?;
            let member = MemberRowId::from_db(m);
            counts.merge(&tx.erase_member_in(&c, &member, "system").await?);
            tx.commit().await?;
        }
        Ok(counts)
    }

    /// Scrub free text out of processed inbox payloads processed before `before_ms`
    /// (retention). Returns the rows changed.
    pub async fn scrub_processed_inbox(
        &self,
        community: &CommunityId,
        before_ms: i64,
    ) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = tx
            .rewrite_inbox(community, Some(before_ms), &scrub_payload)
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// SQLite: a consistent copy of the data only (no keys: the key store is another file),
    /// written to `out` (must not exist), mode 0600. PostgreSQL: `Unsupported` — use
    /// `pg_dump --exclude-schema=classcred_keys`.
    pub async fn backup_data(&self, out: &Path) -> Result<()> {
        self.vacuum_into("main", out, "pg_dump --exclude-schema=classcred_keys")
            .await
    }

    /// SQLite: a consistent copy of the key store, written to `out` (must not exist), mode
    /// 0600. PostgreSQL: `Unsupported` — use `pg_dump --schema=classcred_keys`.
    pub async fn backup_keys(&self, out: &Path) -> Result<()> {
        self.vacuum_into("classcred_keys", out, "pg_dump --schema=classcred_keys")
            .await
    }

    async fn vacuum_into(&self, schema: &str, out: &Path, pg_hint: &str) -> Result<()> {
        if self.backend_name() != "sqlite" {
            return Err(StoreError::Unsupported(format!(
                "backups of a PostgreSQL database are made with its own tools: {pg_hint}"
            )));
        }
        if out.exists() {
            return Err(StoreError::Config(format!(
                "{} already exists: choose a new file",
                out.display()
            )));
        }
        // Created empty and private first: VACUUM INTO writes into an empty file.
        crate::backend::create_private_file(out, "backup file")?;
        let path = out.to_string_lossy().into_owned();
        let done = sqlx::query(&format!("VACUUM {schema} INTO $1"))
            .bind(&path)
            .execute(self.pool())
            .await;
        if let Err(e) = done {
            let _ = std::fs::remove_file(out);
            return Err(e.into());
        }
        Ok(())
    }
}
