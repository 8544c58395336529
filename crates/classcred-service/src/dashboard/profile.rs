//! One member's profile for staff (and for the member themselves): fire given and received
//! with the feedback text and the other person, feed, level, badges and today's quota use.
//! When the viewer is not the subject, the read is written to the audit log (who read whose
//! data) in the same transaction as the read, so there is no read without its entry.

use chrono::{DateTime, Utc};
use classcred_engine::QuotaDay;
use classcred_store::audit::AuditRecord;
use classcred_store::{CommunityId, MemberRowId, Store};
use serde::Serialize;

use super::members::member_rows;
use super::{badge_awards, member_feed, split_exchanges, FeedEntry, MemberRef, MemberRow, Roster};
use crate::state::engine_role;
use crate::{settings, Result};

/// How many feed items a profile shows.
pub const PROFILE_FEED_ITEMS: i64 = 20;
/// The audit action of a profile read by someone else.
pub const PROFILE_READ_ACTION: &str = "member.profile.read";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub member: MemberRow,
    /// Newest first.
    pub fires_received: Vec<FireWithFeedback>,
    /// Newest first.
    pub fires_given: Vec<FireWithFeedback>,
    /// The member's own feed items, newest first.
    pub feed: Vec<FeedEntry>,
    pub badges: Vec<BadgeAward>,
    pub quota: QuotaUse,
}

/// Fire standing between the member and `other` from one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FireWithFeedback {
    pub other: MemberRef,
    pub fires: i64,
    pub occurred_at: Option<DateTime<Utc>>,
    pub platform_message_id: Option<String>,
    /// The text of the giver's message; `None` for a fire reaction.
    pub feedback: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadgeAward {
    pub badge_id: String,
    pub name: String,
    /// Which award of a repeatable badge (e.g. the ISO week).
    pub instance: String,
}

/// Fire given today (community timezone) against the daily quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotaUse {
    pub day: String,
    pub used: i64,
    /// `None` when the member gives without limit (staff, unless instructors are limited).
    pub limit: Option<u32>,
}

/// `subject`'s profile as `viewer` sees it at `now`; `None` when either is not a member of
/// this community. A read by someone other than the subject is audited.
pub async fn profile(
    store: &Store,
    community_id: &CommunityId,
    viewer: &MemberRowId,
    subject: &MemberRowId,
    now: DateTime<Utc>,
) -> Result<Option<Profile>> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    if scoped.platform_user_id(viewer).await?.is_none()
        || scoped.platform_user_id(subject).await?.is_none()
    {
        tx.rollback().await?;
        return Ok(None);
    }
    let s = settings(&mut scoped, community_id).await?;
    let roster = Roster::load(&mut scoped).await?;
    let rows = member_rows(&mut scoped, community_id, &roster).await?;
    let Some(member) = rows.into_iter().find(|r| &r.member_id == subject) else {
        tx.rollback().await?;
        return Ok(None);
    };
    let exchanges = scoped.fire_exchanges(subject).await?;
    let (fires_received, fires_given) = split_exchanges(&roster, subject, exchanges);
    let feed = member_feed(&mut scoped, subject, PROFILE_FEED_ITEMS).await?;
    let badges = badge_awards(&s, subject, scoped.badges().await?);
    let day = QuotaDay::of(now, &s.timezone).to_string();
    let used = scoped.quota_used(subject, &day).await?;
    let unlimited = engine_role(member.role).is_staff() && !s.limit_instructors;
    let quota = QuotaUse {
        day,
        used,
        limit: (!unlimited).then_some(s.daily_quota),
    };
    if viewer != subject {
        tx.audit(&AuditRecord {
            community_id: Some(community_id.clone()),
            actor: format!("member:{viewer}"),
            action: PROFILE_READ_ACTION.to_string(),
            subject: Some(format!("member:{subject}")),
            details: serde_json::json!({ "view": "profile" }),
        })
        .await?;
    }
    tx.commit().await?;
    Ok(Some(Profile {
        member,
        fires_received,
        fires_given,
        feed,
        badges,
        quota,
    }))
}
