//! The indexed questions the engine asks about the ledger (one query each).

use super::*;

impl CommunityTx<'_, '_> {
    pub(super) async fn sum_i64(&mut self, sql: &str, binds: &[&str]) -> Result<i64> {
        let mut q = sqlx::query_scalar::<_, i64>(sql);
        for b in binds {
            q = q.bind(*b);
        }
        Ok(q.fetch_one(&mut *self.tx).await?)
    }

    /// `SUM(quota_units)` of a giver on a quota day.
    pub async fn quota_used(&mut self, giver: &MemberRowId, day: &str) -> Result<i64> {
        let community_id = &self.community_id.clone();
        self.sum_i64(
            "SELECT CAST(COALESCE(SUM(quota_units), 0) AS BIGINT) FROM ledger_entry \
             WHERE community_id = $1 AND giver_member_id = $2 AND quota_day = $3",
            &[community_id.as_str(), giver.as_str(), day],
        )
        .await
    }

    /// `SUM(fire_units)` from a giver to a recipient in an ISO week.
    pub async fn weekly_fire(
        &mut self,
        giver: &MemberRowId,
        recipient: &MemberRowId,
        week: &str,
    ) -> Result<i64> {
        let community_id = &self.community_id.clone();
        self.sum_i64(
            "SELECT CAST(COALESCE(SUM(fire_units), 0) AS BIGINT) FROM ledger_entry \
             WHERE community_id = $1 AND giver_member_id = $2 AND iso_week = $3 AND member_id = $4",
            &[
                community_id.as_str(),
                giver.as_str(),
                week,
                recipient.as_str(),
            ],
        )
        .await
    }

    pub async fn ledger_key_exists(&mut self, key: &str) -> Result<bool> {
        let community_id = &self.community_id.clone();
        self.sum_i64(
            "SELECT COUNT(*) FROM ledger_entry WHERE community_id = $1 AND idempotency_key = $2",
            &[community_id.as_str(), key],
        )
        .await
        .map(|n| n > 0)
    }

    /// Lifetime earned points (thousandths), from the maintained aggregate.
    pub async fn earned(&mut self, member_id: &MemberRowId) -> Result<i64> {
        Ok(self.member_points(member_id).await?.earned_milli)
    }

    pub async fn gave_on(&mut self, giver: &MemberRowId, day: &str) -> Result<bool> {
        let community_id = &self.community_id.clone();
        self.sum_i64(
            "SELECT COUNT(*) FROM ledger_entry WHERE community_id = $1 AND giver_member_id = $2 \
             AND quota_day = $3 AND kind = 'award'",
            &[community_id.as_str(), giver.as_str(), day],
        )
        .await
        .map(|n| n > 0)
    }

    /// Per student giver, fire units standing given in a week.
    pub async fn weekly_fire_by_giver(&mut self, week: &str) -> Result<Vec<(MemberRowId, i64)>> {
        let community_id = &self.community_id.clone();
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
}
