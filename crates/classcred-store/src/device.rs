//! Device and network data, and the optional usage statistics (issue 12, items 2 and 7).
//!
//! * `sign_in_record`: one row per dashboard sign-in, written only when the operator turned
//!   device data on. The caller hands over values already reduced (a network prefix such as
//!   `192.0.2.0/24`, a browser such as `Firefox on Linux`); both are sealed with the
//!   community's data key. Rows older than [`DEVICE_DATA_MAX_AGE_MS`] are purged by the
//!   retention job ([`Store::purge_device_data_before`]).
//! * `usage_daily`: counts of distinct consenting visitors per UTC day and page group. Only the
//!   count is stored; the visitor id lives in the visitor's cookie.

use serde::Serialize;
use sqlx::Row;

use crate::{new_id, open_opt, seal_opt, CommunityTx, MemberRowId, Result, Store};

/// Device data is kept at most 30 days.
pub const DEVICE_DATA_MAX_AGE_MS: i64 = 30 * 86_400_000;

const TABLE: &str = "sign_in_record";

/// One stored sign-in, its sealed values opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignInRecord {
    pub id: String,
    pub member_id: MemberRowId,
    pub signed_in_at: i64,
    /// The truncated network (`192.0.2.0/24`, `2001:db8:1::/48`).
    pub network: Option<String>,
    /// Browser family and OS (`Firefox on Linux`).
    pub agent: Option<String>,
}

impl CommunityTx<'_, '_> {
    /// Record a sign-in of `member_id` with its already reduced network and browser.
    pub async fn record_sign_in(
        &mut self,
        member_id: &MemberRowId,
        network: Option<&str>,
        agent: Option<&str>,
    ) -> Result<SignInRecord> {
        let community_id = self.community_id.clone();
        let id = new_id();
        let now = self.now_ms();
        let dek = self.data_key(&community_id).await?;
        let network_enc = seal_opt(&dek, &community_id, TABLE, "network_enc", &id, network);
        let agent_enc = seal_opt(&dek, &community_id, TABLE, "agent_enc", &id, agent);
        sqlx::query(
            "INSERT INTO sign_in_record (id, community_id, member_id, signed_in_at, network_enc, \
             agent_enc) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(&community_id)
        .bind(member_id)
        .bind(now)
        .bind(network_enc)
        .bind(agent_enc)
        .execute(&mut *self.tx)
        .await?;
        Ok(SignInRecord {
            id,
            member_id: member_id.clone(),
            signed_in_at: now,
            network: network.map(str::to_owned),
            agent: agent.map(str::to_owned),
        })
    }

    /// The member's recorded sign-ins, newest first (at most `limit`).
    pub async fn sign_ins_of_member(
        &mut self,
        member_id: &MemberRowId,
        limit: i64,
    ) -> Result<Vec<SignInRecord>> {
        let community_id = self.community_id.clone();
        let rows = sqlx::query(
            "SELECT id, member_id, signed_in_at, network_enc, agent_enc FROM sign_in_record \
             WHERE community_id = $1 AND member_id = $2 ORDER BY signed_in_at DESC, id DESC \
             LIMIT $3",
        )
        .bind(&community_id)
        .bind(member_id)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let dek = self.data_key(&community_id).await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                Ok(SignInRecord {
                    network: open_opt(&dek, r, &community_id, TABLE, "network_enc", &id)?,
                    agent: open_opt(&dek, r, &community_id, TABLE, "agent_enc", &id)?,
                    member_id: r.try_get("member_id")?,
                    signed_in_at: r.try_get("signed_in_at")?,
                    id,
                })
            })
            .collect()
    }
}

/// Distinct consenting visitors of one page group on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageCount {
    pub day: String,
    pub page_group: String,
    pub visitors: i64,
}

impl Store {
    /// Delete every sign-in record older than `before_ms` (the retention job passes now − 30
    /// days). Returns how many went.
    pub async fn purge_device_data_before(&self, before_ms: i64) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM sign_in_record WHERE signed_in_at < $1")
            .bind(before_ms)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// Count one more distinct visitor of `page_group` on `day` (`YYYY-MM-DD`).
    pub async fn add_usage_visitor(&self, day: &str, page_group: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO usage_daily (day, page_group, visitors) VALUES ($1, $2, 1) \
             ON CONFLICT (day, page_group) DO UPDATE SET visitors = usage_daily.visitors + 1",
        )
        .bind(day)
        .bind(page_group)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The counts of the days from `since_day` on (`YYYY-MM-DD`), oldest first.
    pub async fn usage_counts_since(&self, since_day: &str) -> Result<Vec<UsageCount>> {
        let rows = sqlx::query(
            "SELECT day, page_group, visitors FROM usage_daily WHERE day >= $1 \
             ORDER BY day, page_group",
        )
        .bind(since_day)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UsageCount {
                    day: r.try_get("day")?,
                    page_group: r.try_get("page_group")?,
                    visitors: r.try_get("visitors")?,
                })
            })
            .collect()
    }
}
