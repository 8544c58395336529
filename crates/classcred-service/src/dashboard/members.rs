//! The members table: every member with role, balances, level and last activity, from three
//! grouped queries (members, balances, activity) whatever the class size.

use chrono::{DateTime, Utc};
use classcred_engine::Points;
use classcred_store::{CommunityId, MemberKind, MemberRowId, Role, Store};
use serde::Serialize;

use super::{display_name, instant, level_of, Roster};
use crate::{settings, Result};

/// One member as the members page and the API list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRow {
    pub member_id: MemberRowId,
    pub name: String,
    pub platform_user_id: String,
    pub role: Role,
    pub kind: MemberKind,
    pub earned: Points,
    pub spendable: Points,
    pub level: u32,
    pub level_name: String,
    /// Last message posted, fire given or fire received; `None` when never active.
    pub last_activity_at: Option<DateTime<Utc>>,
}

/// Every member of the community, staff first, then by name.
pub async fn members(store: &Store, community_id: &CommunityId) -> Result<Vec<MemberRow>> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let roster = Roster::load(&mut scoped).await?;
    let rows = member_rows(&mut scoped, community_id, &roster).await?;
    tx.commit().await?;
    Ok(rows)
}

pub(crate) async fn member_rows(
    scoped: &mut classcred_store::CommunityTx<'_, '_>,
    community_id: &CommunityId,
    roster: &Roster,
) -> Result<Vec<MemberRow>> {
    let s = settings(scoped, community_id).await?;
    let balances: std::collections::HashMap<MemberRowId, (i64, i64)> = scoped
        .balances()
        .await?
        .into_iter()
        .map(|b| (b.member_id, (b.earned_milli, b.spendable_milli)))
        .collect();
    let activity = scoped.member_activity(None, None).await?;
    let mut rows: Vec<MemberRow> = roster
        .members
        .iter()
        .map(|m| {
            let (earned, spendable) = balances.get(&m.id).copied().unwrap_or((0, 0));
            let earned = Points::from_thousandths(earned);
            let (level, level_name) = level_of(&s, earned);
            MemberRow {
                member_id: m.id.clone(),
                name: display_name(m),
                platform_user_id: m.platform_user_id.clone(),
                role: m.role,
                kind: m.kind,
                earned,
                spendable: Points::from_thousandths(spendable),
                level,
                level_name,
                last_activity_at: activity
                    .get(&m.id)
                    .and_then(|a| a.last_active_at())
                    .and_then(instant),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        role_rank(a.role)
            .cmp(&role_rank(b.role))
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            .then_with(|| a.member_id.cmp(&b.member_id))
    });
    Ok(rows)
}

fn role_rank(r: Role) -> u8 {
    match r {
        Role::Admin => 0,
        Role::Instructor => 1,
        Role::Student => 2,
    }
}
