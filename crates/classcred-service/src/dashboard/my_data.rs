//! "My data": what a signed-in member sees about themselves: balance, level, badges, feed,
//! fire received with its feedback, their stored profile, and what the system keeps about
//! members in general, from the privacy registry (table, column, what, why, category,
//! protection, retention). Reading one's own data is not audited.

use classcred_store::registry::{self, Category};
use classcred_store::{CommunityId, MemberProfile, MemberRowId, Store};
use serde::Serialize;

use super::members::member_rows;
use super::profile::{BadgeAward, PROFILE_FEED_ITEMS};
use super::{
    badge_awards, member_feed, split_exchanges, FeedEntry, FireWithFeedback, MemberRow, Roster,
};
use crate::{settings, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MyData {
    pub member: MemberRow,
    /// The profile fields stored (encrypted) about the member, decrypted for them.
    pub profile: MemberProfile,
    pub badges: Vec<BadgeAward>,
    pub feed: Vec<FeedEntry>,
    /// Newest first.
    pub fires_received: Vec<FireWithFeedback>,
    /// Every kind of personal data the system stores about members.
    pub stored: Vec<StoredField>,
}

/// One personal column of the privacy registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredField {
    pub table: &'static str,
    pub column: &'static str,
    /// What the table holds.
    pub what: &'static str,
    /// Why the column is kept.
    pub why: &'static str,
    pub category: &'static str,
    pub protection: registry::Protection,
    pub retention: &'static str,
}

/// The registry's personal columns about members (platform credentials are about the
/// community's installation, not a member, and are left out).
pub fn stored_about_members() -> Vec<StoredField> {
    registry::personal_columns()
        .filter(|(_, _, p)| p.category != Category::Credential)
        .map(|(table, column, p)| StoredField {
            table,
            column,
            what: registry::table(table).map_or("", |t| t.purpose),
            why: p.purpose,
            category: p.category.label(),
            protection: p.protection,
            retention: p.retention.label(),
        })
        .collect()
}

/// The member's own data; `None` when they are not a member of this community.
pub async fn my_data(
    store: &Store,
    community_id: &CommunityId,
    member_id: &MemberRowId,
) -> Result<Option<MyData>> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    if scoped.platform_user_id(member_id).await?.is_none() {
        tx.rollback().await?;
        return Ok(None);
    }
    let s = settings(&mut scoped, community_id).await?;
    let roster = Roster::load(&mut scoped).await?;
    let Some(member) = member_rows(&mut scoped, community_id, &roster)
        .await?
        .into_iter()
        .find(|r| &r.member_id == member_id)
    else {
        tx.rollback().await?;
        return Ok(None);
    };
    let profile = roster
        .get(member_id)
        .map(|m| m.profile.clone())
        .unwrap_or_default();
    let (fires_received, _) =
        split_exchanges(&roster, member_id, scoped.fire_exchanges(member_id).await?);
    let feed = member_feed(&mut scoped, member_id, PROFILE_FEED_ITEMS).await?;
    let badges = badge_awards(&s, member_id, scoped.badges().await?);
    tx.commit().await?;
    Ok(Some(MyData {
        member,
        profile,
        badges,
        feed,
        fires_received,
        stored: stored_about_members(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_member_data_but_not_platform_credentials() {
        let stored = stored_about_members();
        assert!(stored
            .iter()
            .any(|f| f.table == "member" && f.column == "name_enc"));
        assert!(stored
            .iter()
            .any(|f| f.table == "message" && f.column == "text_enc"));
        assert!(stored.iter().all(|f| f.category != "credential"));
        assert!(stored.iter().all(|f| !f.why.is_empty()));
    }
}
