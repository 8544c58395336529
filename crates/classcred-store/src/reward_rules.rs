//! Custom reward rules' tables (migration 0025): `reward_rule` (the current version of each
//! rule, the engine's JSON record plus the columns queries need) and `reward_rule_version`
//! (every version saved).
//!
//! Written only from an engine outcome, in the processing transaction. A rule holds ids and
//! numbers only (no free text, no member): the dashboard shows it as a generated sentence.
//! What a rule awarded is in the ledger (`kind = 'rule_award'`, `source_ref` = the rule id);
//! caps count those entries.

use serde::Serialize;
use sqlx::Row;

use crate::{CommunityTx, MemberRowId, Result, StoreError};

/// One rule's current version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RewardRuleRow {
    pub rule_id: String,
    pub version: i64,
    pub enabled: bool,
    /// The engine's `RewardRule` as JSON.
    pub record: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The window a cap counts a rule's awards in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAwardWindow<'a> {
    /// A quota day (`YYYY-MM-DD`).
    Day(&'a str),
    /// An ISO week (`YYYY-Www`).
    Week(&'a str),
    /// Ever.
    Course,
}

impl CommunityTx<'_, '_> {
    /// A rule's current JSON record.
    pub async fn reward_rule_record(&mut self, rule_id: &str) -> Result<Option<String>> {
        let community_id = &self.community_id.clone();
        Ok(
            sqlx::query_scalar(
                "SELECT record FROM reward_rule WHERE community_id = $1 AND id = $2",
            )
            .bind(community_id)
            .bind(rule_id)
            .fetch_optional(&mut *self.tx)
            .await?,
        )
    }

    /// The JSON records of the enabled rules, by id.
    pub async fn enabled_reward_rules(&mut self) -> Result<Vec<String>> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT record FROM reward_rule WHERE community_id = $1 AND enabled = 1 ORDER BY id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    /// How many rules the community has.
    pub async fn reward_rule_count(&mut self) -> Result<i64> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM reward_rule WHERE community_id = $1",
        )
        .bind(community_id)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// Every rule, oldest first.
    pub async fn reward_rules(&mut self) -> Result<Vec<RewardRuleRow>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT id, CAST(version AS BIGINT) AS version, CAST(enabled AS BIGINT) AS enabled, \
             record, CAST(created_at AS BIGINT) AS created_at, \
             CAST(updated_at AS BIGINT) AS updated_at \
             FROM reward_rule WHERE community_id = $1 ORDER BY created_at, id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RewardRuleRow {
                    rule_id: r.try_get("id")?,
                    version: r.try_get("version")?,
                    enabled: r.try_get::<i64, _>("enabled")? != 0,
                    record: r.try_get("record")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Every saved version of a rule, newest first: (version, record, saved_at).
    pub async fn reward_rule_versions(&mut self, rule_id: &str) -> Result<Vec<(i64, String, i64)>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT CAST(version AS BIGINT) AS version, record, CAST(saved_at AS BIGINT) AS saved_at \
             FROM reward_rule_version WHERE community_id = $1 AND rule_id = $2 ORDER BY version DESC",
        )
        .bind(community_id)
        .bind(rule_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("version")?,
                    r.try_get("record")?,
                    r.try_get("saved_at")?,
                ))
            })
            .collect()
    }

    /// Store a rule's new version (and keep it in the history). Refuses a rule id that belongs
    /// to another community.
    pub async fn save_reward_rule(
        &mut self,
        rule_id: &str,
        version: i64,
        enabled: bool,
        record: &str,
    ) -> Result<()> {
        let community_id = &self.community_id.clone();
        let now = self.now_ms();
        let done = sqlx::query(
            "INSERT INTO reward_rule (id, community_id, version, enabled, record, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (id) DO UPDATE SET \
             version = excluded.version, enabled = excluded.enabled, record = excluded.record, \
             updated_at = excluded.updated_at WHERE reward_rule.community_id = excluded.community_id",
        )
        .bind(rule_id)
        .bind(community_id)
        .bind(version)
        .bind(i64::from(enabled))
        .bind(record)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound {
                what: "reward rule",
                id: rule_id.to_string(),
            });
        }
        sqlx::query(
            "INSERT INTO reward_rule_version (community_id, rule_id, version, record, saved_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (community_id, rule_id, version) DO NOTHING",
        )
        .bind(community_id)
        .bind(rule_id)
        .bind(version)
        .bind(record)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Points awards a rule made to a member in a window (`rule_award` ledger entries).
    pub async fn rule_award_count(
        &mut self,
        rule_id: &str,
        member: &MemberRowId,
        window: RuleAwardWindow<'_>,
    ) -> Result<i64> {
        let community_id = &self.community_id.clone();
        let base = "SELECT CAST(COUNT(*) AS BIGINT) FROM ledger_entry WHERE community_id = $1 \
                    AND kind = 'rule_award' AND source_ref = $2 AND member_id = $3";
        let (sql, period) = match window {
            RuleAwardWindow::Day(day) => (format!("{base} AND quota_day = $4"), Some(day)),
            RuleAwardWindow::Week(week) => (format!("{base} AND iso_week = $4"), Some(week)),
            RuleAwardWindow::Course => (base.to_string(), None),
        };
        let mut q = sqlx::query_scalar::<_, i64>(&sql)
            .bind(community_id.as_str())
            .bind(rule_id)
            .bind(member.as_str());
        if let Some(p) = period {
            q = q.bind(p);
        }
        Ok(q.fetch_one(&mut *self.tx).await?)
    }

    /// Per member, the points a rule awarded (thousandths) and how many awards, most first.
    pub async fn rule_award_totals(
        &mut self,
        rule_id: &str,
    ) -> Result<Vec<(MemberRowId, i64, i64)>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT member_id, CAST(SUM(amount_milli) AS BIGINT) AS points, \
             CAST(COUNT(*) AS BIGINT) AS awards FROM ledger_entry \
             WHERE community_id = $1 AND kind = 'rule_award' AND source_ref = $2 \
             GROUP BY member_id ORDER BY points DESC, member_id",
        )
        .bind(community_id)
        .bind(rule_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                let m: String = r.try_get("member_id")?;
                Ok((
                    MemberRowId::parse(&m)?,
                    r.try_get("points")?,
                    r.try_get("awards")?,
                ))
            })
            .collect()
    }
}
