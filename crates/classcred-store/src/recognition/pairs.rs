//! The maintained award pairs (migration 0022): per community, giver and recipient, how many
//! student awards the ledger holds (`award_pair`).
//!
//! The engine asks on every give whether a giver ever recognised a recipient and how many
//! distinct givers / recipients a member has; summed over the ledger, each of those questions
//! read a member's whole history, so a give cost more the longer the course ran. These rows
//! answer them with a primary-key read or a count of one member's pair rows. Every ledger
//! insert adds its student awards here in the same transaction
//! ([`CommunityTx::insert_ledger_entries`]); `ledger replay` compares the rows with the ledger
//! ([`expected_pairs`]). What does not live here: the other aggregates (`aggregates.rs`).

use std::collections::BTreeMap;

use super::*;
use crate::NewLedgerEntry;

/// Rows per multi-row pair upsert (4 values each).
const UPSERT_ROWS: usize = 400;

// A pair row exists only with at least one award (rows are created by an upsert of a
// positive count and never decremented: a reversal is a ledger entry of its own kind), so the
// questions count rows and read nothing but the index.

/// `has_recognised`: one primary-key read. Binds: community, giver, recipient.
pub const HAS_RECOGNISED_SQL: &str = "SELECT COUNT(*) FROM award_pair WHERE community_id = $1 \
     AND giver_member_id = $2 AND recipient_member_id = $3";

/// `distinct_givers`: the recipient's pair rows (index `award_pair_recipient`). Binds:
/// community, recipient.
pub const DISTINCT_GIVERS_SQL: &str = "SELECT COUNT(*) FROM award_pair WHERE community_id = $1 \
     AND recipient_member_id = $2";

/// `distinct_recipients`: the giver's pair rows (a prefix of the primary key). Binds:
/// community, giver.
pub const DISTINCT_RECIPIENTS_SQL: &str =
    "SELECT COUNT(*) FROM award_pair WHERE community_id = $1 \
     AND giver_member_id = $2";

/// Whether a ledger entry counts in the award pairs: a student's award to a recipient (the
/// entries the engine's `has_recognised` / `distinct_*` questions are about).
pub fn counts_as_student_award(kind: &str, giver_role: Option<&str>) -> bool {
    kind == "award" && giver_role == Some("student")
}

/// Award counts per `(giver, recipient)` that the pair rows should hold, from ledger rows
/// `(recipient, kind, giver, giver_role)`.
pub fn expected_pairs<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>, Option<&'a str>)>,
) -> BTreeMap<(String, String), i64> {
    let mut out: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (recipient, kind, giver, role) in entries {
        if let Some(g) = giver.filter(|_| counts_as_student_award(kind, role)) {
            *out.entry((g.to_string(), recipient.to_string()))
                .or_default() += 1;
        }
    }
    out
}

impl CommunityTx<'_, '_> {
    /// Add written ledger entries' student awards to the pair rows (same transaction).
    pub(crate) async fn add_to_pairs(&mut self, added: &[&NewLedgerEntry]) -> Result<()> {
        let counts = expected_pairs(added.iter().map(|e| {
            (
                e.member_id.as_str(),
                e.kind.as_str(),
                e.giver_member_id.as_deref(),
                e.giver_role.as_deref(),
            )
        }));
        if counts.is_empty() {
            return Ok(());
        }
        let rows: Vec<(&(String, String), &i64)> = counts.iter().collect();
        for chunk in rows.chunks(UPSERT_ROWS) {
            let community_id = &self.community_id.clone();
            let mut sql = String::from(
                "INSERT INTO award_pair (community_id, giver_member_id, recipient_member_id, awards) VALUES ",
            );
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                let b = i * 4;
                sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
            }
            sql.push_str(
                " ON CONFLICT (community_id, giver_member_id, recipient_member_id) DO UPDATE SET \
                 awards = award_pair.awards + excluded.awards",
            );
            let mut q = sqlx::query(&sql);
            for ((g, r), n) in chunk {
                q = q.bind(community_id).bind(g).bind(r).bind(**n);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Every pair row of the community as `(giver, recipient, awards)` (for the replay check).
    pub async fn award_pair_rows(&mut self) -> Result<Vec<(MemberRowId, MemberRowId, i64)>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT giver_member_id, recipient_member_id, awards FROM award_pair \
             WHERE community_id = $1 ORDER BY giver_member_id, recipient_member_id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("giver_member_id")?,
                    r.try_get("recipient_member_id")?,
                    r.try_get("awards")?,
                ))
            })
            .collect()
    }

    /// Whether a student giver was ever awarded fire to a recipient (one primary-key read).
    pub async fn has_recognised(
        &mut self,
        giver: &MemberRowId,
        recipient: &MemberRowId,
    ) -> Result<bool> {
        let community_id = &self.community_id.clone();
        self.sum_i64(
            HAS_RECOGNISED_SQL,
            &[community_id.as_str(), giver.as_str(), recipient.as_str()],
        )
        .await
        .map(|n| n > 0)
    }

    /// How many distinct students awarded fire to a recipient (the recipient's pair rows).
    pub async fn distinct_givers(&mut self, recipient: &MemberRowId) -> Result<i64> {
        let community_id = &self.community_id.clone();
        self.sum_i64(
            DISTINCT_GIVERS_SQL,
            &[community_id.as_str(), recipient.as_str()],
        )
        .await
    }

    /// How many distinct recipients a student awarded fire to (the giver's pair rows).
    pub async fn distinct_recipients(&mut self, giver: &MemberRowId) -> Result<i64> {
        let community_id = &self.community_id.clone();
        self.sum_i64(
            DISTINCT_RECIPIENTS_SQL,
            &[community_id.as_str(), giver.as_str()],
        )
        .await
    }
}
