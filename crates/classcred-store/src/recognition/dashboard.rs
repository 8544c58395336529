//! Aggregates for the dashboard's read models, each one grouped query over a community's
//! ledger, messages, inbox or jobs (never one query per member): fire between members, fires
//! per day, activity per member in a window, one member's fire with its feedback text, and
//! counts of what is waiting.

use std::collections::BTreeMap;

use super::*;
use crate::open_opt;

/// Net fire from one member to another (reversals subtracted; only positive totals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FireEdge {
    pub giver: MemberRowId,
    pub receiver: MemberRowId,
    pub units: i64,
}

/// What one member did in a window: messages posted, net fire given and received, and when
/// each last happened (ms).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemberActivity {
    pub messages: i64,
    pub fire_given: i64,
    pub fire_received: i64,
    pub last_message_at: Option<i64>,
    pub last_fire_given_at: Option<i64>,
    pub last_fire_received_at: Option<i64>,
}

impl MemberActivity {
    /// The latest of the three times.
    pub fn last_active_at(&self) -> Option<i64> {
        [
            self.last_message_at,
            self.last_fire_given_at,
            self.last_fire_received_at,
        ]
        .into_iter()
        .flatten()
        .max()
    }
}

/// Fire that stands between two members from one platform message, with the feedback: the
/// text of the giver's message when the fire was given in a message (a fire reaction has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FireExchange {
    pub giver: MemberRowId,
    pub receiver: MemberRowId,
    pub units: i64,
    /// When it was first given (ms).
    pub occurred_at: i64,
    pub platform_message_id: Option<String>,
    /// Decrypted text of the giver's message; `None` for a reaction or a deleted message.
    pub feedback: Option<String>,
}

/// What waits in a community: unprocessed inbox rows, of which parked ones, and live jobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PendingCounts {
    pub inbox_pending: i64,
    pub inbox_parked: i64,
    pub jobs_pending: i64,
}

impl CommunityTx<'_, '_> {
    /// Net fire per (giver, receiver) with a positive total, from `since_ms` on (`None`: all).
    pub async fn fire_edges(&mut self, since_ms: Option<i64>) -> Result<Vec<FireEdge>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT giver_member_id, member_id, CAST(SUM(fire_units) AS BIGINT) AS units \
             FROM ledger_entry WHERE community_id = $1 AND giver_member_id IS NOT NULL \
             AND fire_units <> 0 AND ($2 IS NULL OR occurred_at >= $2) \
             GROUP BY giver_member_id, member_id HAVING SUM(fire_units) > 0 \
             ORDER BY giver_member_id, member_id",
        )
        .bind(community_id)
        .bind(since_ms)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FireEdge {
                    giver: r.try_get("giver_member_id")?,
                    receiver: r.try_get("member_id")?,
                    units: r.try_get("units")?,
                })
            })
            .collect()
    }

    /// Net fire per quota day (`YYYY-MM-DD` in the community timezone) between two days,
    /// inclusive; days without fire are absent.
    pub async fn fires_per_day(
        &mut self,
        from_day: &str,
        to_day: &str,
    ) -> Result<Vec<(String, i64)>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT quota_day, CAST(SUM(fire_units) AS BIGINT) AS units FROM ledger_entry \
             WHERE community_id = $1 AND fire_units <> 0 AND quota_day IS NOT NULL \
             AND quota_day >= $2 AND quota_day <= $3 GROUP BY quota_day ORDER BY quota_day",
        )
        .bind(community_id)
        .bind(from_day)
        .bind(to_day)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("quota_day")?, r.try_get("units")?)))
            .collect()
    }

    /// Activity per member between two instants (ms; `None` = unbounded, end exclusive).
    /// Members with no activity in the window are absent.
    pub async fn member_activity(
        &mut self,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<BTreeMap<MemberRowId, MemberActivity>> {
        let community_id = &self.community_id.clone();
        let mut out: BTreeMap<MemberRowId, MemberActivity> = BTreeMap::new();
        let messages = sqlx::query(
            "SELECT author_member_id AS member, CAST(COUNT(*) AS BIGINT) AS n, MAX(posted_at) AS last_at \
             FROM message WHERE community_id = $1 AND author_member_id IS NOT NULL \
             AND ($2 IS NULL OR posted_at >= $2) AND ($3 IS NULL OR posted_at < $3) \
             GROUP BY author_member_id",
        )
        .bind(community_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&mut *self.tx)
        .await?;
        for r in &messages {
            let a = out.entry(r.try_get("member")?).or_default();
            a.messages = r.try_get("n")?;
            a.last_message_at = r.try_get("last_at")?;
        }
        for (column, given) in [("giver_member_id", true), ("member_id", false)] {
            let rows = sqlx::query(&format!(
                "SELECT {column} AS member, CAST(SUM(fire_units) AS BIGINT) AS n, MAX(occurred_at) AS last_at \
                 FROM ledger_entry WHERE community_id = $1 AND giver_member_id IS NOT NULL \
                 AND fire_units <> 0 AND ($2 IS NULL OR occurred_at >= $2) \
                 AND ($3 IS NULL OR occurred_at < $3) GROUP BY {column}"
            ))
            .bind(community_id)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(&mut *self.tx)
            .await?;
            for r in &rows {
                let a = out.entry(r.try_get("member")?).or_default();
                if given {
                    a.fire_given = r.try_get("n")?;
                    a.last_fire_given_at = r.try_get("last_at")?;
                } else {
                    a.fire_received = r.try_get("n")?;
                    a.last_fire_received_at = r.try_get("last_at")?;
                }
            }
        }
        Ok(out)
    }

    /// Fire a member gave or received that still stands, per message and counterpart, newest
    /// first, with the feedback text decrypted.
    pub async fn fire_exchanges(&mut self, member_id: &MemberRowId) -> Result<Vec<FireExchange>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT l.giver_member_id, l.member_id, l.source_ref, \
             CAST(SUM(l.fire_units) AS BIGINT) AS units, MIN(l.occurred_at) AS first_at, \
             msg.id AS message_id, msg.text_enc \
             FROM ledger_entry l LEFT JOIN message msg ON msg.community_id = l.community_id \
               AND msg.platform_message_id = l.source_ref AND msg.author_member_id = l.giver_member_id \
               AND msg.deleted_at IS NULL \
             WHERE l.community_id = $1 AND l.giver_member_id IS NOT NULL AND l.fire_units <> 0 \
               AND (l.member_id = $2 OR l.giver_member_id = $2) \
             GROUP BY l.giver_member_id, l.member_id, l.source_ref, msg.id, msg.text_enc \
             HAVING SUM(l.fire_units) > 0 \
             ORDER BY first_at DESC, l.source_ref, l.giver_member_id, l.member_id",
        )
        .bind(community_id)
        .bind(member_id)
        .fetch_all(&mut *self.tx)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let message_id: Option<String> = r.try_get("message_id")?;
            // The message is the giver's (joined on author = giver): sealed with their key.
            let feedback = match &message_id {
                Some(id) => {
                    let giver: String = r.try_get("giver_member_id")?;
                    match self.member_key(community_id, &giver).await? {
                        Some(k) => open_opt(&k, r, community_id, "message", "text_enc", id)?,
                        None => None,
                    }
                }
                None => None,
            };
            out.push(FireExchange {
                giver: r.try_get("giver_member_id")?,
                receiver: r.try_get("member_id")?,
                units: r.try_get("units")?,
                occurred_at: r.try_get("first_at")?,
                platform_message_id: r.try_get("source_ref")?,
                feedback,
            });
        }
        Ok(out)
    }

    /// What waits: unprocessed and parked inbox rows, queued or running jobs.
    pub async fn pending_counts(&mut self) -> Result<PendingCounts> {
        let community_id = &self.community_id.clone();
        let inbox_parked: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM inbox WHERE community_id = $1 \
             AND processed_at IS NULL AND attempts >= $2",
        )
        .bind(community_id)
        .bind(INBOX_MAX_ATTEMPTS)
        .fetch_one(&mut *self.tx)
        .await?;
        let jobs_pending = self
            .sum_i64(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM job WHERE community_id = $1 \
                 AND state IN ('queued', 'running')",
                &[community_id.as_str()],
            )
            .await?;
        Ok(PendingCounts {
            inbox_pending: self.pending_inbox_count().await?,
            inbox_parked,
            jobs_pending,
        })
    }
}
