//! Reads for a whole processing batch (issue 13, "fetch what the engine will ask for the whole
//! batch in a few queries"): each answers, for many rows or members at once, exactly what the
//! one-row reads of `members.rs`, `records.rs`, `aggregates.rs` and `pairs.rs` answer for one.
//! The service keeps the answers in its batch memo and reads again what a row's outcome
//! changes.

use std::fmt::Write as _;

use super::*;
use crate::InboxEvent;

/// Most values bound in one `IN (…)` list.
const IN_CHUNK: usize = 400;

/// `$first, $first+1, …` for `n` placeholders.
fn placeholders(first: usize, n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "${}", first + i);
    }
    s
}

/// What the engine asks about one member, read for many at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFacts {
    pub id: MemberRowId,
    pub role: Role,
    pub kind: MemberKind,
    pub level: i64,
    pub earned_milli: i64,
    pub spendable_milli: i64,
}

impl CommunityTx<'_, '_> {
    /// Several inbox rows of the community, decrypted, as [`Self::inbox_event`] reads one.
    /// Ids of other communities or unknown ids are left out.
    pub async fn inbox_events(&mut self, ids: &[String]) -> Result<Vec<InboxEvent>> {
        let community_id = &self.community_id.clone();
        let mut out = Vec::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(out);
        }
        let dek = self.data_key(community_id).await?;
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT id, community_id, platform, event_id, event_type, payload_enc, occurred_at, \
                 processed_at, attempts FROM inbox WHERE id IN ({})",
                placeholders(1, chunk.len())
            );
            // By primary key only (a plan through the community's rows grows with the
            // backlog); rows of another community are left out here.
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            for row in q.fetch_all(&mut *self.tx).await? {
                if row.try_get::<String, _>("community_id")? != community_id.as_str() {
                    continue;
                }
                let id: String = row.try_get("id")?;
                let sealed: Vec<u8> = row.try_get("payload_enc")?;
                let payload =
                    crate::model::inbox::open_inbox_payload(&dek, community_id, &id, &sealed)?;
                out.push(InboxEvent {
                    platform: row.try_get("platform")?,
                    event_id: row.try_get("event_id")?,
                    event_type: row.try_get("event_type")?,
                    occurred_at: row.try_get("occurred_at")?,
                    processed_at: row.try_get("processed_at")?,
                    attempts: row.try_get("attempts")?,
                    payload,
                    community_id: community_id.clone(),
                    id,
                });
            }
        }
        Ok(out)
    }

    /// `(platform user id, member id)` of the platform ids that are members (as
    /// [`Self::member_id_by_platform`] answers one).
    pub async fn member_ids_for_platform_ids(
        &mut self,
        platform_user_ids: &[String],
    ) -> Result<Vec<(String, MemberRowId)>> {
        let community_id = &self.community_id.clone();
        let mut out = Vec::new();
        for chunk in platform_user_ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT platform_user_id, id FROM member WHERE community_id = $1 AND platform_user_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(community_id);
            for p in chunk {
                q = q.bind(p);
            }
            for row in q.fetch_all(&mut *self.tx).await? {
                out.push((row.try_get("platform_user_id")?, row.try_get("id")?));
            }
        }
        Ok(out)
    }

    /// Which of these delivery ids of `platform` are pending rows of the community (as
    /// [`Self::pending_inbox_by_event_id`] answers one): `(event id, inbox id)`. Reads the
    /// `(platform, event_id)` unique index only and filters here: a plan through the
    /// community's pending rows would grow with the backlog.
    pub async fn pending_inbox_by_event_ids(
        &mut self,
        platform: &str,
        event_ids: &[String],
    ) -> Result<Vec<(String, String)>> {
        let community_id = &self.community_id.clone();
        let mut out = Vec::new();
        for chunk in event_ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT event_id, id, community_id, processed_at, attempts FROM inbox \
                 WHERE platform = $1 AND event_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(platform);
            for e in chunk {
                q = q.bind(e);
            }
            for row in q.fetch_all(&mut *self.tx).await? {
                let community: String = row.try_get("community_id")?;
                let processed: Option<i64> = row.try_get("processed_at")?;
                let attempts: i64 = row.try_get("attempts")?;
                if community == community_id.as_str()
                    && processed.is_none()
                    && attempts < INBOX_MAX_ATTEMPTS
                {
                    out.push((row.try_get("event_id")?, row.try_get("id")?));
                }
            }
        }
        Ok(out)
    }

    /// Role, kind, level and point totals of members of the community (as
    /// [`Self::member_role_kind`], [`Self::member_level`] and [`Self::member_points`] answer
    /// one; a member with no points row has 0). Unknown ids are left out.
    pub async fn member_facts(&mut self, ids: &[MemberRowId]) -> Result<Vec<MemberFacts>> {
        let community_id = &self.community_id.clone();
        let mut out = Vec::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT m.id AS id, m.role AS role, m.kind AS kind, m.level AS level, \
                 CAST(COALESCE(p.earned_milli, 0) AS BIGINT) AS earned, \
                 CAST(COALESCE(p.spendable_milli, 0) AS BIGINT) AS spendable \
                 FROM member m LEFT JOIN member_points p \
                 ON p.community_id = m.community_id AND p.member_id = m.id \
                 WHERE m.community_id = $1 AND m.id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(community_id);
            for id in chunk {
                q = q.bind(id);
            }
            for row in q.fetch_all(&mut *self.tx).await? {
                out.push(MemberFacts {
                    id: row.try_get("id")?,
                    role: Role::parse(&row.try_get::<String, _>("role")?)?,
                    kind: MemberKind::parse(&row.try_get::<String, _>("kind")?)?,
                    level: row.try_get("level")?,
                    earned_milli: row.try_get("earned")?,
                    spendable_milli: row.try_get("spendable")?,
                });
            }
        }
        Ok(out)
    }

    /// Every badge instance these members hold: `(member, badge id, instance)` (as
    /// [`Self::has_badge`] answers one).
    pub async fn badges_of(
        &mut self,
        ids: &[MemberRowId],
    ) -> Result<Vec<(MemberRowId, String, String)>> {
        let community_id = &self.community_id.clone();
        let mut out = Vec::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT member_id, badge_id, instance FROM member_badge \
                 WHERE community_id = $1 AND member_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(community_id);
            for id in chunk {
                q = q.bind(id);
            }
            for row in q.fetch_all(&mut *self.tx).await? {
                out.push((
                    row.try_get("member_id")?,
                    row.try_get("badge_id")?,
                    row.try_get("instance")?,
                ));
            }
        }
        Ok(out)
    }

    /// Every award pair `(giver, recipient)` in which one of these members is the giver or
    /// the recipient (what [`HAS_RECOGNISED_SQL`], [`DISTINCT_GIVERS_SQL`] and
    /// [`DISTINCT_RECIPIENTS_SQL`] count), each pair once.
    pub async fn award_pairs_of(
        &mut self,
        ids: &[MemberRowId],
    ) -> Result<Vec<(MemberRowId, MemberRowId)>> {
        let community_id = &self.community_id.clone();
        let mut out = std::collections::BTreeSet::new();
        for chunk in ids.chunks(IN_CHUNK) {
            for side in ["giver_member_id", "recipient_member_id"] {
                let sql = format!(
                    "SELECT giver_member_id, recipient_member_id FROM award_pair \
                     WHERE community_id = $1 AND {side} IN ({})",
                    placeholders(2, chunk.len())
                );
                let mut q = sqlx::query(&sql).bind(community_id);
                for id in chunk {
                    q = q.bind(id);
                }
                for row in q.fetch_all(&mut *self.tx).await? {
                    out.insert((
                        row.try_get::<MemberRowId, _>("giver_member_id")?,
                        row.try_get::<MemberRowId, _>("recipient_member_id")?,
                    ));
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// The engine's records of these messages: `(platform message id, record)` (as
    /// [`Self::engine_message`] answers one; messages without a record are left out).
    pub async fn engine_messages(&mut self, ids: &[String]) -> Result<Vec<(String, String)>> {
        let community_id = &self.community_id.clone();
        let mut out = Vec::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT platform_message_id, record FROM engine_message \
                 WHERE community_id = $1 AND platform_message_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(community_id);
            for id in chunk {
                q = q.bind(id);
            }
            for row in q.fetch_all(&mut *self.tx).await? {
                out.push((row.try_get("platform_message_id")?, row.try_get("record")?));
            }
        }
        Ok(out)
    }

    /// Per giver and quota day, over these givers and days: the quota units used (as the
    /// engine's `quota_used` sums them) and whether an award was given (its `gave_on`):
    /// `(giver, day, units, gave)`. Reads the `ledger_giver_day` index for the days asked only.
    pub async fn giving_by_day(
        &mut self,
        givers: &[MemberRowId],
        days: &[String],
    ) -> Result<Vec<(MemberRowId, String, i64, bool)>> {
        let community_id = &self.community_id.clone();
        let mut out = Vec::new();
        if days.is_empty() {
            return Ok(out);
        }
        for chunk in givers.chunks(IN_CHUNK.saturating_sub(days.len()).max(1)) {
            let sql = format!(
                "SELECT giver_member_id, quota_day, CAST(COALESCE(SUM(quota_units), 0) AS BIGINT) AS units, \
                 CAST(SUM(CASE WHEN kind = 'award' THEN 1 ELSE 0 END) AS BIGINT) AS awards \
                 FROM ledger_entry WHERE community_id = $1 AND giver_member_id IN ({}) \
                 AND quota_day IN ({}) GROUP BY giver_member_id, quota_day",
                placeholders(2, chunk.len()),
                placeholders(2 + chunk.len(), days.len())
            );
            let mut q = sqlx::query(&sql).bind(community_id);
            for g in chunk {
                q = q.bind(g);
            }
            for d in days {
                q = q.bind(d);
            }
            for row in q.fetch_all(&mut *self.tx).await? {
                out.push((
                    row.try_get("giver_member_id")?,
                    row.try_get("quota_day")?,
                    row.try_get("units")?,
                    row.try_get::<i64, _>("awards")? > 0,
                ));
            }
        }
        Ok(out)
    }

    /// Fire units per giver, recipient and ISO week, over these givers and weeks (as the
    /// engine's `weekly_fire` sums them): `(giver, recipient, week, units)`. Reads the
    /// `ledger_giver_week` index for the weeks asked only.
    pub async fn fire_by_week(
        &mut self,
        givers: &[MemberRowId],
        weeks: &[String],
    ) -> Result<Vec<(MemberRowId, MemberRowId, String, i64)>> {
        let community_id = &self.community_id.clone();
        let mut out = Vec::new();
        if weeks.is_empty() {
            return Ok(out);
        }
        for chunk in givers.chunks(IN_CHUNK.saturating_sub(weeks.len()).max(1)) {
            let sql = format!(
                "SELECT giver_member_id, member_id, iso_week, CAST(COALESCE(SUM(fire_units), 0) AS BIGINT) AS units \
                 FROM ledger_entry WHERE community_id = $1 AND giver_member_id IN ({}) \
                 AND iso_week IN ({}) GROUP BY giver_member_id, iso_week, member_id",
                placeholders(2, chunk.len()),
                placeholders(2 + chunk.len(), weeks.len())
            );
            let mut q = sqlx::query(&sql).bind(community_id);
            for g in chunk {
                q = q.bind(g);
            }
            for w in weeks {
                q = q.bind(w);
            }
            for row in q.fetch_all(&mut *self.tx).await? {
                out.push((
                    row.try_get("giver_member_id")?,
                    row.try_get("member_id")?,
                    row.try_get("iso_week")?,
                    row.try_get("units")?,
                ));
            }
        }
        Ok(out)
    }
}
