//! Balances and leaderboard totals.

use super::*;

impl CommunityTx<'_, '_> {
    /// Earned points per human student between two instants (ms, `None` = unbounded), summed
    /// over the ledger (the leaderboard reads [`Self::student_points`]).
    pub async fn student_earned_totals(
        &mut self,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Vec<(MemberRowId, i64)>> {
        let community_id = &self.community_id.clone();
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

    /// Earned and spendable per member, from the maintained aggregates (`member_points`).
    pub async fn balances(&mut self) -> Result<Vec<MemberBalance>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT m.id, m.platform_user_id, m.role, m.kind, m.level, \
             COALESCE(p.earned_milli, 0) AS earned, COALESCE(p.spendable_milli, 0) AS spendable \
             FROM member m LEFT JOIN member_points p ON p.community_id = m.community_id AND p.member_id = m.id \
             WHERE m.community_id = $1 ORDER BY m.platform_user_id",
        )
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
