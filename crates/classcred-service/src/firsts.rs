//! Firsts and announcement responses outside the engine: the posting job's
//! [`AnnouncementPosted`] event, the stored form of the engine's first responses and
//! announcement posts, and their comparison in `ledger replay`.

use chrono::{DateTime, Utc};
use classcred_engine::{AnnouncementPosted, Event, InMemoryState, Outcome, TargetKind};
use classcred_store::recognition::{AnnouncementPostRow, FirstResponseRow};
use classcred_store::{CommunityId, CommunityTx, MemberRowId, Tx};

use crate::{ingest, Result};

/// The inbox platform of the posted-announcement events (those the service records itself).
pub const ANNOUNCE_PLATFORM: &str = crate::changes::CHANGE_PLATFORM;

/// Record, in `tx` (the transaction that marks the announcement sent), that announcement
/// `announcement_id` was posted as `platform_message_id` in `channel`: replies in its thread
/// then respond to it. One inbox row per announcement and message (a second call adds
/// nothing). The caller commits, then runs [`crate::drain`] (or leaves it to the drain job).
pub async fn record_announcement_post(
    tx: &mut Tx<'_>,
    community_id: &CommunityId,
    announcement_id: &str,
    platform_message_id: &str,
    channel: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let event = Event::AnnouncementPosted(AnnouncementPosted {
        announcement_id: announcement_id.to_owned(),
        platform_message_id: platform_message_id.to_owned(),
        channel: channel.to_owned(),
        occurred_at: at,
    });
    let event_id = format!("announce:{announcement_id}:{platform_message_id}");
    ingest(tx, community_id, ANNOUNCE_PLATFORM, &event_id, &event).await?;
    Ok(())
}

/// Writes an outcome's announcement posts and first responses.
pub(crate) async fn write_firsts_outcome(
    tx: &mut CommunityTx<'_, '_>,
    outcome: &Outcome,
) -> Result<()> {
    for a in &outcome.announcement_posts {
        tx.insert_announcement_post(&AnnouncementPostRow {
            platform_message_id: a.platform_message_id.clone(),
            announcement_id: a.announcement_id.clone(),
            channel: a.channel.clone(),
            posted_at: a.posted_at.timestamp_millis(),
        })
        .await?;
    }
    for r in &outcome.first_responses {
        tx.insert_first_response(&FirstResponseRow {
            target_kind: r.kind.as_str().to_owned(),
            target_id: r.target.clone(),
            member_id: MemberRowId::parse(r.member.as_str())?,
            place: r.place.map(i64::from),
            bonus_milli: r.bonus.thousandths(),
            occurred_at: r.occurred_at.timestamp_millis(),
        })
        .await?;
    }
    Ok(())
}

/// The stored firsts state, read for replay.
pub(crate) struct StoredFirsts {
    posts: Vec<AnnouncementPostRow>,
    responses: Vec<FirstResponseRow>,
}

pub(crate) async fn stored(tx: &mut CommunityTx<'_, '_>) -> Result<StoredFirsts> {
    Ok(StoredFirsts {
        posts: tx.announcement_posts().await?,
        responses: tx.all_first_responses().await?,
    })
}

/// Differences between the stored announcement posts and first responses and the replayed
/// ones.
pub(crate) fn compare_replay(diffs: &mut Vec<String>, stored: &StoredFirsts, mem: &InMemoryState) {
    use std::collections::BTreeSet;
    let stored_posts: BTreeSet<(&str, &str)> = stored
        .posts
        .iter()
        .map(|p| (p.platform_message_id.as_str(), p.announcement_id.as_str()))
        .collect();
    let replayed_posts: BTreeSet<(&str, &str)> = mem
        .announcement_posts()
        .into_iter()
        .map(|p| (p.platform_message_id.as_str(), p.announcement_id.as_str()))
        .collect();
    for (m, a) in stored_posts.symmetric_difference(&replayed_posts) {
        let side = if stored_posts.contains(&(*m, *a)) {
            "stored only"
        } else {
            "replayed only"
        };
        diffs.push(format!("announcement post {a} as message {m}: {side}"));
    }
    type Key = (String, String, String, Option<i64>, i64);
    let stored_r: BTreeSet<Key> = stored
        .responses
        .iter()
        .map(|r| {
            (
                r.target_kind.clone(),
                r.target_id.clone(),
                r.member_id.to_string(),
                r.place,
                r.bonus_milli,
            )
        })
        .collect();
    let replayed_r: BTreeSet<Key> = mem
        .first_responses()
        .iter()
        .map(|r| {
            (
                r.kind.as_str().to_owned(),
                r.target.clone(),
                r.member.to_string(),
                r.place.map(i64::from),
                r.bonus.thousandths(),
            )
        })
        .collect();
    for r in stored_r.symmetric_difference(&replayed_r) {
        let side = if stored_r.contains(r) {
            "stored only"
        } else {
            "replayed only"
        };
        diffs.push(format!(
            "first response to {} {} by member {} (place {:?}, bonus {} thousandths): {side}",
            r.0, r.1, r.2, r.3, r.4
        ));
    }
}

/// The kind of a stored first response.
pub fn target_kind(s: &str) -> Option<TargetKind> {
    TargetKind::parse(s)
}
