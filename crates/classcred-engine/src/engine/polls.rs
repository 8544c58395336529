//! Poll and debate rules: creating, posting, voting, closing, and a debate thread's posts.
//!
//! Only Instructors and Admins (people) create and close polls. Every person may vote once
//! per poll; a new vote replaces the old one until the poll closes (by hand, or at its
//! closing time: a vote whose platform time is at or after the closing time is refused even
//! before the scheduled close is processed, so the result never depends on processing order).
//! Activities (see [`crate::activity`]): `VotedInPoll` on a member's first vote in a poll
//! that is not anonymous (a changed vote records nothing); `DebatedIn` once per member and
//! debate, on the first side chosen or the first post in the debate's thread while it is open.
//! Anonymous polls record no activity and no member feed item.

use chrono::{DateTime, Utc};

use super::Ctx;
use crate::activity::ActivityKind;
use crate::event::MessagePosted;
use crate::ids::MemberId;
use crate::outcome::{Audience, FeedItem, FeedKind, NoticeKind};
use crate::polls::{
    valid_poll_id, DebateParticipant, PollClosed, PollCreated, PollKind, PollPosted, PollRecord,
    VoteCast, VoteRecord,
};
use crate::state::StateView;

fn refuse<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, to: &MemberId, reason: &str) {
    cx.notify(
        to,
        NoticeKind::Refused {
            reason: reason.to_owned(),
        },
    );
}

fn is_staff<S: StateView + ?Sized>(cx: &Ctx<'_, S>, id: &MemberId) -> bool {
    let m = cx.member(id);
    m.role.is_staff() && m.can_give()
}

fn feed_community<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, at: DateTime<Utc>, kind: FeedKind) {
    cx.out.feed.push(FeedItem {
        audience: Audience::Community,
        occurred_at: at,
        kind,
    });
}

/// The poll as this event sees it (a record changed earlier in the same outcome wins).
fn current<S: StateView + ?Sized>(cx: &Ctx<'_, S>, poll_id: &str) -> Option<PollRecord> {
    cx.out
        .polls
        .iter()
        .rev()
        .find(|p| p.poll_id == poll_id)
        .cloned()
        .or_else(|| cx.state.poll(poll_id))
}

pub(super) fn created<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &PollCreated) {
    if !valid_poll_id(&e.poll_id) {
        return;
    }
    if let Some(before) = cx.state.poll(&e.poll_id) {
        if before.definition != e.definition {
            refuse(cx, &e.by, "a poll cannot be changed once created");
        }
        // Otherwise a redelivery: nothing changes.
        return;
    }
    if !is_staff(cx, &e.by) {
        return refuse(
            cx,
            &e.by,
            "only an Instructor or Admin can create polls and debates",
        );
    }
    if let Err(problem) = e.definition.validate(e.occurred_at) {
        return refuse(cx, &e.by, &format!("poll {problem}"));
    }
    cx.out.polls.push(PollRecord {
        poll_id: e.poll_id.clone(),
        definition: e.definition.clone(),
        created_by: e.by.clone(),
        created_at: e.occurred_at,
        posted_message: None,
        closed_at: None,
        closed_by: None,
    });
    feed_community(
        cx,
        e.occurred_at,
        FeedKind::PollCreated {
            poll_id: e.poll_id.clone(),
            kind: e.definition.kind,
            by: e.by.clone(),
        },
    );
}

pub(super) fn posted<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &PollPosted) {
    let Some(mut poll) = cx.state.poll(&e.poll_id) else {
        return;
    };
    // The first post is the poll's message (a redelivery or a second post changes nothing).
    if poll.posted_message.is_some() || e.platform_message_id.is_empty() {
        return;
    }
    poll.posted_message = Some(e.platform_message_id.clone());
    cx.out.polls.push(poll);
}

pub(super) fn vote<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &VoteCast) {
    if !cx.member(&e.member).can_give() {
        // Bots and the app never vote (and are never told).
        return;
    }
    let Some(poll) = cx.state.poll(&e.poll_id) else {
        return refuse(cx, &e.member, "there is no such poll");
    };
    let before = cx.state.vote(&e.poll_id, &e.member);
    if before == Some(e.option) {
        // The same vote again (a redelivery, or the same button twice).
        return;
    }
    if poll.closed_at_time(e.occurred_at) {
        return refuse(
            cx,
            &e.member,
            "this poll is closed; your vote was not counted",
        );
    }
    if usize::try_from(e.option)
        .ok()
        .is_none_or(|i| i >= poll.definition.options.len())
    {
        return refuse(cx, &e.member, "this poll has no such option");
    }
    let anonymous = poll.definition.anonymous;
    cx.out.votes.push(VoteRecord {
        poll_id: e.poll_id.clone(),
        member: e.member.clone(),
        option: e.option,
        voted_at: e.occurred_at,
        anonymous,
    });
    if before.is_none() && !anonymous {
        cx.did(
            &e.member,
            e.occurred_at,
            ActivityKind::VotedInPoll {
                poll: e.poll_id.as_str().into(),
            },
        );
        cx.feed_member(
            &e.member,
            e.occurred_at,
            FeedKind::Voted {
                member: e.member.clone(),
                poll_id: e.poll_id.clone(),
                kind: poll.definition.kind,
                option: e.option,
            },
        );
    }
    if poll.definition.kind == PollKind::Debate {
        took_part(cx, &poll.poll_id, &e.member, e.occurred_at);
    }
}

/// Counts `member` once as a participant of `debate`.
fn took_part<S: StateView + ?Sized>(
    cx: &mut Ctx<'_, S>,
    debate: &str,
    member: &MemberId,
    at: DateTime<Utc>,
) {
    if cx.state.is_debater(debate, member)
        || cx
            .out
            .debaters
            .iter()
            .any(|d| d.poll_id == debate && &d.member == member)
    {
        return;
    }
    cx.out.debaters.push(DebateParticipant {
        poll_id: debate.to_owned(),
        member: member.clone(),
        at,
    });
    cx.did(
        member,
        at,
        ActivityKind::DebatedIn {
            debate: debate.into(),
        },
    );
}

/// A post in a thread: when the thread is an open debate's posted message, its author (a
/// person) takes part in the debate.
pub(super) fn thread_post<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &MessagePosted) {
    let Some(thread) = e.thread.as_deref().filter(|t| *t != e.platform_message_id) else {
        return;
    };
    if !cx.member(&e.author).can_give() {
        return;
    }
    let Some(debate) = cx.state.debate_of_thread(thread) else {
        return;
    };
    let Some(poll) = cx.state.poll(&debate) else {
        return;
    };
    if poll.definition.kind != PollKind::Debate || poll.closed_at_time(e.occurred_at) {
        return;
    }
    took_part(cx, &debate, &e.author, e.occurred_at);
}

pub(super) fn closed<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &PollClosed) {
    let Some(mut poll) = current(cx, &e.poll_id) else {
        if let Some(by) = &e.by {
            refuse(cx, by, "there is no such poll");
        }
        return;
    };
    if poll.closed_at.is_some() {
        return;
    }
    match &e.by {
        Some(by) if !is_staff(cx, by) => {
            return refuse(cx, by, "only an Instructor or Admin can close polls");
        }
        Some(_) => {}
        // The scheduled close: only at or after the poll's own closing time.
        None if poll.definition.closes_at.is_none_or(|c| e.occurred_at < c) => return,
        None => {}
    }
    poll.closed_at = Some(e.occurred_at);
    poll.closed_by.clone_from(&e.by);
    let kind = poll.definition.kind;
    cx.out.polls.push(poll);
    feed_community(
        cx,
        e.occurred_at,
        FeedKind::PollClosed {
            poll_id: e.poll_id.clone(),
            kind,
        },
    );
}
