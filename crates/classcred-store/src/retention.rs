//! Retention schedules (issue 9): the stored policy of each community, and the queries and
//! purges the daily expiry job needs that are not erasures — counting what a rule would take
//! (the preview), and removing message and feedback text older than a cut, in batches.
//!
//! Erasing members and communities, and scrubbing processed inbox payloads, are erasure/key
//! operations ([`crate::Store`]'s erasure API); the retention service only decides *which*.

use serde::Serialize;
use sqlx::Row;

use crate::{CommunityId, CommunityTx, MemberRowId, Result, Store};

/// The values of a community's retention schedule, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionValues {
    /// Processed inbox payloads are scrubbed this many days after they were processed.
    pub inbox_days: i64,
    /// Message and feedback text is removed this many days after the course end date.
    pub text_days_after_course_end: i64,
    /// A member without any activity for this many days is erased.
    pub inactive_member_days: i64,
    /// A disabled community is erased this many days after it was disabled.
    pub disabled_community_days: i64,
}

impl Default for RetentionValues {
    /// The defaults (also the column defaults of migration 0012).
    fn default() -> Self {
        Self {
            inbox_days: 30,
            text_days_after_course_end: 180,
            inactive_member_days: 365,
            disabled_community_days: 30,
        }
    }
}

/// A stored schedule: its values and who last changed it, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredRetentionPolicy {
    pub values: RetentionValues,
    pub updated_at: i64,
    /// `member:<row id>` or `operator`.
    pub updated_by: String,
}

/// A sealed free-text column the text rule of the retention schedule removes: every column
/// the registry declares encrypted with retention "course end + retention schedule"
/// (test `every_course_end_text_column_is_purged`). `time` is the row's own time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextColumn {
    pub table: &'static str,
    pub column: &'static str,
    pub time: &'static str,
}

/// What the text rule removes, in this order.
pub const TEXT_COLUMNS: [TextColumn; 3] = [
    TextColumn {
        table: "message",
        column: "text_enc",
        time: "posted_at",
    },
    TextColumn {
        table: "ledger_entry",
        column: "note_enc",
        time: "occurred_at",
    },
    TextColumn {
        table: "store_purchase",
        column: "reason_enc",
        time: "requested_at",
    },
];

/// Rows holding text older than a cut: messages with text; ledger entries with a note and
/// purchases with a refusal or rejection reason (both counted as `notes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TextCounts {
    pub messages: u64,
    pub notes: u64,
}

impl TextCounts {
    fn add(&mut self, table: &str, n: u64) {
        if table == "message" {
            self.messages += n;
        } else {
            self.notes += n;
        }
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl CommunityTx<'_, '_> {
    /// The community's stored schedule; `None` when it uses the defaults.
    pub async fn retention_policy(&mut self) -> Result<Option<StoredRetentionPolicy>> {
        let community_id = self.community_id.clone();
        let row = sqlx::query(
            "SELECT inbox_days, text_days_after_course_end, inactive_member_days, \
             disabled_community_days, updated_at, updated_by FROM retention_policy WHERE community_id = $1",
        )
        .bind(&community_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(|r| {
            Ok(StoredRetentionPolicy {
                values: RetentionValues {
                    inbox_days: r.try_get("inbox_days")?,
                    text_days_after_course_end: r.try_get("text_days_after_course_end")?,
                    inactive_member_days: r.try_get("inactive_member_days")?,
                    disabled_community_days: r.try_get("disabled_community_days")?,
                },
                updated_at: r.try_get("updated_at")?,
                updated_by: r.try_get("updated_by")?,
            })
        })
        .transpose()
    }

    /// Store the community's schedule (validated by the caller), replacing any earlier one.
    pub async fn set_retention_policy(&mut self, values: &RetentionValues, by: &str) -> Result<()> {
        let community_id = self.community_id.clone();
        let now = self.now_ms();
        sqlx::query(
            "INSERT INTO retention_policy (community_id, inbox_days, text_days_after_course_end, \
             inactive_member_days, disabled_community_days, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (community_id) DO UPDATE SET inbox_days = excluded.inbox_days, \
             text_days_after_course_end = excluded.text_days_after_course_end, \
             inactive_member_days = excluded.inactive_member_days, \
             disabled_community_days = excluded.disabled_community_days, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(&community_id)
        .bind(values.inbox_days)
        .bind(values.text_days_after_course_end)
        .bind(values.inactive_member_days)
        .bind(values.disabled_community_days)
        .bind(now)
        .bind(by)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Inbox rows processed before `before_ms` (what the inbox rule hands to the scrub).
    pub async fn count_processed_inbox_before(&mut self, before_ms: i64) -> Result<u64> {
        let community_id = self.community_id.clone();
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM inbox WHERE community_id = $1 AND processed_at IS NOT NULL \
             AND processed_at < $2",
        )
        .bind(&community_id)
        .bind(before_ms)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(count(n))
    }

    /// When the oldest inbox row processed at or after `since_ms` was processed: the next
    /// payload the inbox rule will take (preview's "next").
    pub async fn oldest_processed_inbox_since(&mut self, since_ms: i64) -> Result<Option<i64>> {
        let community_id = self.community_id.clone();
        let t: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(processed_at) FROM inbox WHERE community_id = $1 AND processed_at >= $2",
        )
        .bind(&community_id)
        .bind(since_ms)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(t)
    }

    /// Rows written before `before_ms` that still hold text, per [`TEXT_COLUMNS`].
    pub async fn count_text_before(&mut self, before_ms: i64) -> Result<TextCounts> {
        let community_id = self.community_id.clone();
        let mut counts = TextCounts::default();
        for c in TEXT_COLUMNS {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {} WHERE community_id = $1 AND {} IS NOT NULL AND {} < $2",
                c.table, c.column, c.time
            ))
            .bind(&community_id)
            .bind(before_ms)
            .fetch_one(&mut *self.tx)
            .await?;
            counts.add(c.table, count(n));
        }
        Ok(counts)
    }

    /// Human members (not already erased) with no activity at or after `since_ms`: they joined
    /// before it, and since then wrote no message, gave or received nothing in the ledger (fire
    /// by message or reaction, adjustments, awards) and did not sign in to the dashboard.
    pub async fn inactive_members(&mut self, since_ms: i64) -> Result<Vec<MemberRowId>> {
        let community_id = self.community_id.clone();
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT m.id FROM member m WHERE m.community_id = $1 AND m.kind = 'human' \
             AND m.platform_user_id NOT LIKE 'erased:%' AND m.joined_at < $2 \
             AND NOT EXISTS (SELECT 1 FROM message x WHERE x.community_id = $1 \
                 AND x.author_member_id = m.id AND x.posted_at >= $2) \
             AND NOT EXISTS (SELECT 1 FROM ledger_entry l WHERE l.community_id = $1 \
                 AND (l.member_id = m.id OR l.giver_member_id = m.id) AND l.occurred_at >= $2) \
             AND NOT EXISTS (SELECT 1 FROM web_session s WHERE s.community_id = $1 \
                 AND s.member_id = m.id AND s.created_at >= $2) \
             ORDER BY m.id",
        )
        .bind(&community_id)
        .bind(since_ms)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(ids.into_iter().map(MemberRowId::from_db).collect())
    }
}

impl Store {
    /// Remove the text of the community's messages posted, and ledger notes written, before
    /// `before_ms`, `batch` rows per transaction (the rows stay: ids, times, amounts). Returns
    /// how many rows lost their text.
    pub async fn purge_text_before(
        &self,
        community: &CommunityId,
        before_ms: i64,
        batch: u32,
    ) -> Result<TextCounts> {
        let batch = i64::from(batch.max(1));
        let mut done = TextCounts::default();
        for c in TEXT_COLUMNS {
            let sql = format!(
                "UPDATE {table} SET {column} = NULL WHERE id IN (SELECT id FROM {table} \
                 WHERE community_id = $1 AND {column} IS NOT NULL AND {time} < $2 LIMIT $3)",
                table = c.table,
                column = c.column,
                time = c.time,
            );
            loop {
                let mut tx = self.begin().await?;
                let n = sqlx::query(&sql)
                    .bind(community)
                    .bind(before_ms)
                    .bind(batch)
                    .execute(&mut *tx.tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                done.add(c.table, n);
                if n == 0 {
                    break;
                }
            }
        }
        Ok(done)
    }
}
