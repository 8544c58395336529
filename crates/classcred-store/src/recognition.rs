//! Storage for the recognition engine: the indexed questions it asks about one community's state
//! and the writes of its outcomes. Values are plain (ids, numbers, JSON records); the service
//! crate maps them to the engine's types.

use serde::Serialize;
use sqlx::Row;

use crate::{new_id, MemberKind, Result, Role, StoreError, Tx};

/// One member's balances, as stored in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberBalance {
    pub member_id: String,
    pub platform_user_id: String,
    pub role: Role,
    pub kind: MemberKind,
    /// Lifetime earned points, thousandths.
    pub earned_milli: i64,
    /// Earned minus spent, thousandths.
    pub spendable_milli: i64,
    pub level: i64,
}

/// A processed inbox event, in processing order (for replay).
#[derive(Debug, Clone)]
pub struct ProcessedEvent {
    pub inbox_id: String,
    pub seq: i64,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BadgeRow {
    pub member_id: String,
    pub badge_id: String,
    pub instance: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedRow {
    pub member_id: Option<String>,
    pub kind: String,
    pub payload: String,
    pub occurred_at: i64,
}

/// After this many failed processing attempts an inbox row is parked: left unprocessed, with
/// its error, so that one bad row cannot block every later event of its community.
pub const INBOX_MAX_ATTEMPTS: i64 = 10;

const EARNED: &str = "CAST(COALESCE(SUM(CASE WHEN kind IN ('purchase', 'refund') THEN 0 ELSE amount_milli END), 0) AS BIGINT)";

impl Tx<'_> {
    /// Take the community's processing lock and the next event sequence number. Everything the
    /// engine reads afterwards in this transaction is current, and no other processing of the
    /// same community interleaves (PostgreSQL row lock; SQLite serialises all writers).
    pub async fn next_event_seq(&mut self, community_id: &str) -> Result<i64> {
        sqlx::query_scalar(
            "UPDATE community SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
        )
        .bind(community_id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "community",
            id: community_id.to_string(),
        })
    }

    /// Member ids by platform user id, without decrypting anything.
    pub async fn member_ids_by_platform(
        &mut self,
        community_id: &str,
    ) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT platform_user_id, id FROM member WHERE community_id = $1 ORDER BY platform_user_id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("platform_user_id")?, r.try_get("id")?)))
            .collect()
    }

    /// The member id of a platform user, if known.
    pub async fn member_id_by_platform(
        &mut self,
        community_id: &str,
        platform_user_id: &str,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM member WHERE community_id = $1 AND platform_user_id = $2",
        )
        .bind(community_id)
        .bind(platform_user_id)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Create a member known only by platform id (e.g. first seen in a mention), with no profile.
    pub async fn insert_bare_member(
        &mut self,
        community_id: &str,
        platform_user_id: &str,
        role: Role,
        kind: MemberKind,
    ) -> Result<String> {
        let id = new_id();
        let now = self.now_ms();
        sqlx::query(
            "INSERT INTO member (id, community_id, platform_user_id, role, kind, joined_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(community_id)
        .bind(platform_user_id)
        .bind(role.as_str())
        .bind(kind.as_str())
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// Role and kind of a member.
    pub async fn member_role_kind(
        &mut self,
        community_id: &str,
        member_id: &str,
    ) -> Result<Option<(Role, MemberKind)>> {
        let row = sqlx::query("SELECT role, kind FROM member WHERE community_id = $1 AND id = $2")
            .bind(community_id)
            .bind(member_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.map(|r| {
            Ok((
                Role::parse(&r.try_get::<String, _>("role")?)?,
                MemberKind::parse(&r.try_get::<String, _>("kind")?)?,
            ))
        })
        .transpose()
    }

    pub async fn set_member_role_kind(
        &mut self,
        community_id: &str,
        member_id: &str,
        role: Role,
        kind: MemberKind,
    ) -> Result<()> {
        sqlx::query("UPDATE member SET role = $3, kind = $4 WHERE community_id = $1 AND id = $2")
            .bind(community_id)
            .bind(member_id)
            .bind(role.as_str())
            .bind(kind.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn member_level(&mut self, community_id: &str, member_id: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT level FROM member WHERE community_id = $1 AND id = $2")
                .bind(community_id)
                .bind(member_id)
                .fetch_optional(&mut *self.tx)
                .await?
                .unwrap_or(0),
        )
    }

    pub async fn set_member_level(
        &mut self,
        community_id: &str,
        member_id: &str,
        level: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE member SET level = $3 WHERE community_id = $1 AND id = $2 AND level < $3",
        )
        .bind(community_id)
        .bind(member_id)
        .bind(level)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn sum_i64(&mut self, sql: &str, binds: &[&str]) -> Result<i64> {
        let mut q = sqlx::query_scalar::<_, i64>(sql);
        for b in binds {
            q = q.bind(*b);
        }
        Ok(q.fetch_one(&mut *self.tx).await?)
    }

    /// `SUM(quota_units)` of a giver on a quota day.
    pub async fn quota_used(&mut self, community_id: &str, giver: &str, day: &str) -> Result<i64> {
        self.sum_i64(
            "SELECT CAST(COALESCE(SUM(quota_units), 0) AS BIGINT) FROM ledger_entry \
             WHERE community_id = $1 AND giver_member_id = $2 AND quota_day = $3",
            &[community_id, giver, day],
        )
        .await
    }

    /// `SUM(fire_units)` from a giver to a recipient in an ISO week.
    pub async fn weekly_fire(
        &mut self,
        community_id: &str,
        giver: &str,
        recipient: &str,
        week: &str,
    ) -> Result<i64> {
        self.sum_i64(
            "SELECT CAST(COALESCE(SUM(fire_units), 0) AS BIGINT) FROM ledger_entry \
             WHERE community_id = $1 AND giver_member_id = $2 AND iso_week = $3 AND member_id = $4",
            &[community_id, giver, week, recipient],
        )
        .await
    }

    pub async fn ledger_key_exists(&mut self, community_id: &str, key: &str) -> Result<bool> {
        self.sum_i64(
            "SELECT COUNT(*) FROM ledger_entry WHERE community_id = $1 AND idempotency_key = $2",
            &[community_id, key],
        )
        .await
        .map(|n| n > 0)
    }

    /// Lifetime earned points (thousandths).
    pub async fn earned(&mut self, community_id: &str, member_id: &str) -> Result<i64> {
        self.sum_i64(
            &format!(
                "SELECT {EARNED} FROM ledger_entry WHERE community_id = $1 AND member_id = $2"
            ),
            &[community_id, member_id],
        )
        .await
    }

    /// Whether a student giver was ever awarded fire to a recipient.
    pub async fn has_recognised(
        &mut self,
        community_id: &str,
        giver: &str,
        recipient: &str,
    ) -> Result<bool> {
        self.sum_i64(
            "SELECT COUNT(*) FROM ledger_entry WHERE community_id = $1 AND giver_member_id = $2 \
             AND member_id = $3 AND kind = 'award' AND giver_role = 'student'",
            &[community_id, giver, recipient],
        )
        .await
        .map(|n| n > 0)
    }

    pub async fn distinct_givers(&mut self, community_id: &str, recipient: &str) -> Result<i64> {
        self.sum_i64(
            "SELECT COUNT(DISTINCT giver_member_id) FROM ledger_entry WHERE community_id = $1 \
             AND member_id = $2 AND kind = 'award' AND giver_role = 'student'",
            &[community_id, recipient],
        )
        .await
    }

    pub async fn distinct_recipients(&mut self, community_id: &str, giver: &str) -> Result<i64> {
        self.sum_i64(
            "SELECT COUNT(DISTINCT member_id) FROM ledger_entry WHERE community_id = $1 \
             AND giver_member_id = $2 AND kind = 'award' AND giver_role = 'student'",
            &[community_id, giver],
        )
        .await
    }

    pub async fn gave_on(&mut self, community_id: &str, giver: &str, day: &str) -> Result<bool> {
        self.sum_i64(
            "SELECT COUNT(*) FROM ledger_entry WHERE community_id = $1 AND giver_member_id = $2 \
             AND quota_day = $3 AND kind = 'award'",
            &[community_id, giver, day],
        )
        .await
        .map(|n| n > 0)
    }

    /// Per student giver, fire units standing given in a week.
    pub async fn weekly_fire_by_giver(
        &mut self,
        community_id: &str,
        week: &str,
    ) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT giver_member_id AS giver, CAST(SUM(fire_units) AS BIGINT) AS units FROM ledger_entry \
             WHERE community_id = $1 AND iso_week = $2 AND giver_role = 'student' AND giver_member_id IS NOT NULL \
             GROUP BY giver_member_id ORDER BY giver_member_id",
        )
        .bind(community_id)
        .bind(week)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("giver")?, r.try_get("units")?)))
            .collect()
    }

    pub async fn has_badge(
        &mut self,
        community_id: &str,
        member_id: &str,
        badge: &str,
        instance: &str,
    ) -> Result<bool> {
        self.sum_i64(
            "SELECT COUNT(*) FROM member_badge WHERE community_id = $1 AND member_id = $2 \
             AND badge_id = $3 AND instance = $4",
            &[community_id, member_id, badge, instance],
        )
        .await
        .map(|n| n > 0)
    }

    pub async fn insert_badge(
        &mut self,
        community_id: &str,
        member_id: &str,
        badge: &str,
        instance: &str,
        by: Option<&str>,
        at: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO member_badge (community_id, member_id, badge_id, instance, awarded_by, awarded_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(community_id)
        .bind(member_id)
        .bind(badge)
        .bind(instance)
        .bind(by)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn badges(&mut self, community_id: &str) -> Result<Vec<BadgeRow>> {
        let rows = sqlx::query(
            "SELECT member_id, badge_id, instance FROM member_badge WHERE community_id = $1 \
             ORDER BY member_id, badge_id, instance",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BadgeRow {
                    member_id: r.try_get("member_id")?,
                    badge_id: r.try_get("badge_id")?,
                    instance: r.try_get("instance")?,
                })
            })
            .collect()
    }

    /// The engine's JSON record of a message.
    pub async fn engine_message(
        &mut self,
        community_id: &str,
        platform_message_id: &str,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT record FROM engine_message WHERE community_id = $1 AND platform_message_id = $2",
        )
        .bind(community_id)
        .bind(platform_message_id)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    pub async fn upsert_engine_message(
        &mut self,
        community_id: &str,
        platform_message_id: &str,
        author: Option<&str>,
        record: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO engine_message (community_id, platform_message_id, author_member_id, record) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (community_id, platform_message_id) \
             DO UPDATE SET record = excluded.record, author_member_id = excluded.author_member_id",
        )
        .bind(community_id)
        .bind(platform_message_id)
        .bind(author)
        .bind(record)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn engine_reaction(
        &mut self,
        community_id: &str,
        platform_message_id: &str,
        reactor: &str,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT record FROM engine_reaction WHERE community_id = $1 AND platform_message_id = $2 \
             AND reactor_member_id = $3",
        )
        .bind(community_id)
        .bind(platform_message_id)
        .bind(reactor)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    pub async fn engine_reactions_on(
        &mut self,
        community_id: &str,
        platform_message_id: &str,
    ) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT record FROM engine_reaction WHERE community_id = $1 AND platform_message_id = $2 \
             ORDER BY reactor_member_id",
        )
        .bind(community_id)
        .bind(platform_message_id)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    pub async fn upsert_engine_reaction(
        &mut self,
        community_id: &str,
        platform_message_id: &str,
        reactor: &str,
        record: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO engine_reaction (community_id, platform_message_id, reactor_member_id, record) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (community_id, platform_message_id, reactor_member_id) \
             DO UPDATE SET record = excluded.record",
        )
        .bind(community_id)
        .bind(platform_message_id)
        .bind(reactor)
        .bind(record)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn insert_feed_item(
        &mut self,
        community_id: &str,
        member_id: Option<&str>,
        kind: &str,
        payload: &str,
        occurred_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO feed_item (id, community_id, member_id, kind, payload, occurred_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_id())
        .bind(community_id)
        .bind(member_id)
        .bind(kind)
        .bind(payload)
        .bind(occurred_at)
        .bind(self.now_ms())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Feed items, newest first: one member's (`Some`) or the community's (`None`).
    pub async fn feed(
        &mut self,
        community_id: &str,
        member_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<FeedRow>> {
        let rows = sqlx::query(
            "SELECT member_id, kind, payload, occurred_at FROM feed_item WHERE community_id = $1 \
             AND (($2 IS NULL AND member_id IS NULL) OR member_id = $2) \
             ORDER BY occurred_at DESC, id DESC LIMIT $3",
        )
        .bind(community_id)
        .bind(member_id)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FeedRow {
                    member_id: r.try_get("member_id")?,
                    kind: r.try_get("kind")?,
                    payload: r.try_get("payload")?,
                    occurred_at: r.try_get("occurred_at")?,
                })
            })
            .collect()
    }

    /// Mark an inbox row processed at a position in the community's processing order.
    pub async fn mark_inbox_processed_at_seq(&mut self, inbox_id: &str, seq: i64) -> Result<()> {
        sqlx::query(
            "UPDATE inbox SET processed_at = $2, seq = $3, attempts = attempts + 1, last_error = NULL WHERE id = $1",
        )
        .bind(inbox_id)
        .bind(self.now_ms())
        .bind(seq)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Processed inbox events of a community in processing order, decrypted.
    pub async fn processed_events(&mut self, community_id: &str) -> Result<Vec<ProcessedEvent>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM inbox WHERE community_id = $1 AND seq IS NOT NULL ORDER BY seq",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let seq: i64 = sqlx::query_scalar("SELECT seq FROM inbox WHERE id = $1")
                .bind(&id)
                .fetch_one(&mut *self.tx)
                .await?;
            let ev = self.inbox_event(&id).await?;
            out.push(ProcessedEvent {
                inbox_id: id,
                seq,
                payload: ev.payload,
            });
        }
        Ok(out)
    }

    /// The oldest inbox row not processed yet, skipping parked rows
    /// ([`INBOX_MAX_ATTEMPTS`] failures).
    pub async fn oldest_unprocessed_inbox(&mut self, community_id: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM inbox WHERE community_id = $1 AND processed_at IS NULL AND attempts < $2 \
             ORDER BY received_at, id LIMIT 1",
        )
        .bind(community_id)
        .bind(INBOX_MAX_ATTEMPTS)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Give parked inbox rows of a community another round of attempts (after the cause was
    /// fixed). Returns how many.
    pub async fn requeue_parked_inbox(&mut self, community_id: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE inbox SET attempts = 0 WHERE community_id = $1 AND processed_at IS NULL AND attempts >= $2",
        )
        .bind(community_id)
        .bind(INBOX_MAX_ATTEMPTS)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// Count a failed processing attempt of an inbox row; returns the attempts so far.
    /// `error` must carry ids only.
    pub async fn record_inbox_failure(&mut self, inbox_id: &str, error: &str) -> Result<i64> {
        let truncated: String = error.chars().take(500).collect();
        Ok(sqlx::query_scalar(
            "UPDATE inbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1 RETURNING attempts",
        )
        .bind(inbox_id)
        .bind(truncated)
        .fetch_optional(&mut *self.tx)
        .await?
        .unwrap_or(0))
    }

    /// How many inbox rows of a community are not processed (including parked ones).
    pub async fn pending_inbox_count(&mut self, community_id: &str) -> Result<i64> {
        self.sum_i64(
            "SELECT COUNT(*) FROM inbox WHERE community_id = $1 AND processed_at IS NULL",
            &[community_id],
        )
        .await
    }

    /// Earned points per human student between two instants (ms, `None` = unbounded).
    pub async fn student_earned_totals(
        &mut self,
        community_id: &str,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT m.id AS member_id, CAST(COALESCE(SUM(CASE WHEN l.kind IN ('purchase', 'refund') THEN 0 \
             ELSE l.amount_milli END), 0) AS BIGINT) AS earned \
             FROM member m LEFT JOIN ledger_entry l ON l.community_id = m.community_id AND l.member_id = m.id \
               AND ($2 IS NULL OR l.occurred_at >= $2) AND ($3 IS NULL OR l.occurred_at < $3) \
             WHERE m.community_id = $1 AND m.role = 'student' AND m.kind = 'human' \
             GROUP BY m.id ORDER BY m.id",
        )
        .bind(community_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("member_id")?, r.try_get("earned")?)))
            .collect()
    }

    /// Earned and spendable per member, from the ledger.
    pub async fn balances(&mut self, community_id: &str) -> Result<Vec<MemberBalance>> {
        let rows = sqlx::query(&format!(
            "SELECT m.id, m.platform_user_id, m.role, m.kind, m.level, \
             (SELECT {EARNED} FROM ledger_entry l WHERE l.community_id = m.community_id AND l.member_id = m.id) AS earned, \
             (SELECT CAST(COALESCE(SUM(amount_milli), 0) AS BIGINT) FROM ledger_entry l \
                WHERE l.community_id = m.community_id AND l.member_id = m.id) AS spendable \
             FROM member m WHERE m.community_id = $1 ORDER BY m.platform_user_id"
        ))
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MemberBalance {
                    member_id: r.try_get("id")?,
                    platform_user_id: r.try_get("platform_user_id")?,
                    role: Role::parse(&r.try_get::<String, _>("role")?)?,
                    kind: MemberKind::parse(&r.try_get::<String, _>("kind")?)?,
                    earned_milli: r.try_get("earned")?,
                    spendable_milli: r.try_get("spendable")?,
                    level: r.try_get("level")?,
                })
            })
            .collect()
    }
}
