//! The reader behind de-identified research releases (`classcred_service::research`).
//!
//! It reads only the columns listed in [`MEMBER_SOURCES`] and [`FIRE_SOURCES`] (the release
//! declares the same sources, and the service checks each against the privacy registry before
//! anything is built): no sealed column is opened, no name, email or platform id is selected.
//! Only human members that were not erased are read; fire between two such members only.

use sqlx::Row;

use crate::{CommunityTx, MemberRowId, Result};

/// The `(table, column)` pairs [`CommunityTx::research_members`] reads.
pub const MEMBER_SOURCES: &[(&str, &str)] = &[
    ("member", "id"),
    ("member", "role"),
    ("member", "kind"),
    ("member", "level"),
    ("member", "erased_at"),
];

/// The `(table, column)` pairs [`CommunityTx::research_fires`] reads.
pub const FIRE_SOURCES: &[(&str, &str)] = &[
    ("ledger_entry", "member_id"),
    ("ledger_entry", "giver_member_id"),
    ("ledger_entry", "iso_week"),
    ("ledger_entry", "fire_units"),
    ("ledger_entry", "occurred_at"),
];

/// One human, not erased member: row id (to be pseudonymised, never released), role, level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResearchMember {
    pub id: MemberRowId,
    pub role: String,
    pub level: i64,
}

/// Net fire from one member to another in one ISO week (`iso_week` as the ledger keeps it,
/// e.g. `2026-W10`; `None` when the ledger has none, then `first_at_ms` dates it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResearchFire {
    pub giver: MemberRowId,
    pub recipient: MemberRowId,
    pub iso_week: Option<String>,
    pub first_at_ms: i64,
    pub fire_units: i64,
}

impl CommunityTx<'_, '_> {
    /// The community's human members that were not erased.
    pub async fn research_members(&mut self) -> Result<Vec<ResearchMember>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT id, role, level FROM member \
             WHERE community_id = $1 AND kind = 'human' AND erased_at IS NULL ORDER BY id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ResearchMember {
                    id: r.try_get("id")?,
                    role: r.try_get("role")?,
                    level: r.try_get("level")?,
                })
            })
            .collect()
    }

    /// Net fire units per (giver, recipient, week) between human members not erased; pairs
    /// whose awards and reversals cancel out are left out.
    pub async fn research_fires(&mut self) -> Result<Vec<ResearchFire>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT l.giver_member_id AS giver, l.member_id AS recipient, l.iso_week AS iso_week, \
               CAST(MIN(l.occurred_at) AS BIGINT) AS first_at, CAST(SUM(l.fire_units) AS BIGINT) AS units \
             FROM ledger_entry l \
             JOIN member g ON g.community_id = l.community_id AND g.id = l.giver_member_id \
             JOIN member r ON r.community_id = l.community_id AND r.id = l.member_id \
             WHERE l.community_id = $1 AND l.fire_units <> 0 \
               AND g.kind = 'human' AND g.erased_at IS NULL \
               AND r.kind = 'human' AND r.erased_at IS NULL \
             GROUP BY l.giver_member_id, l.member_id, l.iso_week \
             HAVING SUM(l.fire_units) > 0 \
             ORDER BY l.giver_member_id, l.member_id, l.iso_week",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ResearchFire {
                    giver: r.try_get("giver")?,
                    recipient: r.try_get("recipient")?,
                    iso_week: r.try_get("iso_week")?,
                    first_at_ms: r.try_get("first_at")?,
                    fire_units: r.try_get("units")?,
                })
            })
            .collect()
    }
}
