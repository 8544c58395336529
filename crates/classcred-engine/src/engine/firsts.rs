//! Announcements as posted (replies in their thread respond to them) and the firsts step
//! ([`crate::firsts`]): after the handler, each response activity of the event takes the next
//! place of its target, and the first `count` students earn the bonus.

use chrono::{DateTime, Utc};

use super::Ctx;
use crate::activity::ActivityKind;
use crate::event::{AnnouncementPosted, MessagePosted};
use crate::firsts::{AnnouncementPost, FirstResponse, TargetKind};
use crate::ids::MemberId;
use crate::ledger::{EntryKind, IdempotencyKey, LedgerEntry, Source};
use crate::outcome::{Audience, FeedItem, FeedKind, NoticeKind};
use crate::points::Points;
use crate::state::StateView;

/// The posting job confirmed an announcement's post: remember its message (once).
pub(super) fn announcement_posted<S: StateView + ?Sized>(
    cx: &mut Ctx<'_, S>,
    e: &AnnouncementPosted,
) {
    if cx
        .state
        .announcement_of_message(&e.platform_message_id)
        .is_some()
    {
        return;
    }
    cx.out.announcement_posts.push(AnnouncementPost {
        announcement_id: e.announcement_id.clone(),
        platform_message_id: e.platform_message_id.clone(),
        channel: e.channel.clone(),
        posted_at: e.occurred_at,
    });
    cx.out.feed.push(FeedItem {
        audience: Audience::Community,
        occurred_at: e.occurred_at,
        kind: FeedKind::AnnouncementPosted {
            announcement_id: e.announcement_id.clone(),
            channel: e.channel.clone(),
        },
    });
}

/// A new post: a person's first reply in a posted announcement's thread responds to it.
pub(super) fn posted<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &MessagePosted) {
    let id = e.platform_message_id.as_str();
    let Some(root) = e.thread.as_deref().filter(|root| *root != id) else {
        return;
    };
    let Some(announcement) = cx.state.announcement_of_message(root) else {
        return;
    };
    if !cx.member(&e.author).can_give()
        || cx
            .state
            .first_response(TargetKind::Announcement, &announcement, &e.author)
    {
        return;
    }
    cx.did(
        &e.author,
        e.occurred_at,
        ActivityKind::RespondedToAnnouncement {
            announcement: announcement.as_str().into(),
        },
    );
}

/// The target an activity responds to, if it is a response.
fn target(kind: &ActivityKind) -> Option<(TargetKind, &str)> {
    Some(match kind {
        ActivityKind::RespondedToAnnouncement { announcement } => {
            (TargetKind::Announcement, announcement)
        }
        ActivityKind::Answered { question, .. } => (TargetKind::Question, question),
        ActivityKind::VotedInPoll { poll } => (TargetKind::Poll, poll),
        ActivityKind::DebatedIn { debate } => (TargetKind::Debate, debate),
        _ => return None,
    })
}

/// The firsts step: runs after the handler, before levels and badges (so a bonus counts
/// toward them in the same event).
pub(super) fn finish<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>) {
    let responses: Vec<(TargetKind, String, MemberId, DateTime<Utc>)> = cx
        .activities
        .iter()
        .filter_map(|a| target(&a.kind).map(|(k, t)| (k, t.to_owned(), a.member.clone(), a.at)))
        .collect();
    for (kind, target, member, at) in responses {
        respond(cx, kind, &target, &member, at);
    }
}

fn respond<S: StateView + ?Sized>(
    cx: &mut Ctx<'_, S>,
    kind: TargetKind,
    target: &str,
    member: &MemberId,
    at: DateTime<Utc>,
) {
    let info = cx.member(member);
    let seen_here = |r: &FirstResponse| r.kind == kind && r.target == target;
    if !info.can_give()
        || cx
            .out
            .first_responses
            .iter()
            .any(|r| seen_here(r) && &r.member == member)
        || cx.state.first_response(kind, target, member)
    {
        return;
    }
    let place = info.is_student().then(|| {
        let here = cx
            .out
            .first_responses
            .iter()
            .filter(|r| seen_here(r) && r.place.is_some())
            .count();
        cx.state
            .first_places(kind, target)
            .saturating_add(u32::try_from(here).unwrap_or(u32::MAX))
            .saturating_add(1)
    });
    let key = IdempotencyKey::new(
        &Source::First {
            kind: kind.as_str(),
            target,
        },
        member,
        0,
        EntryKind::FirstBonus,
    );
    let bonus = match place.and_then(|p| cx.settings.firsts.bonus_for(p)) {
        Some(points) if !cx.state.has_entry(&key) => points,
        _ => Points::ZERO,
    };
    cx.out.first_responses.push(FirstResponse {
        kind,
        target: target.to_owned(),
        member: member.clone(),
        place,
        bonus,
        occurred_at: at,
    });
    let (Some(place), true) = (place, bonus > Points::ZERO) else {
        return;
    };
    cx.out.entries.push(LedgerEntry {
        key,
        kind: EntryKind::FirstBonus,
        member: member.clone(),
        amount: bonus,
        giver: None,
        giver_role: None,
        quota_day: None,
        iso_week: None,
        quota_units: 0,
        fire_units: 0,
        platform_message_id: None,
        reason: None,
        occurred_at: at,
    });
    let item = FeedKind::FirstBonus {
        member: member.clone(),
        kind,
        target: target.to_owned(),
        place,
        points: bonus,
    };
    cx.feed_member(member, at, item.clone());
    cx.out.feed.push(FeedItem {
        audience: Audience::Community,
        occurred_at: at,
        kind: item,
    });
    cx.notify(
        member,
        NoticeKind::FirstBonus {
            kind,
            target: target.to_owned(),
            place,
            points: bonus,
        },
    );
}
