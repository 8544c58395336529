//! After every event: level-ups from earned points, and the automatic built-in badges.
//!
//! Levels: a member's level is the highest threshold their earned points reach; only a new
//! *highest* level is recorded and announced (to students), so a reversal never "un-levels"
//! anyone. Badges are checked only for the people this event's awards touched.

use chrono::{DateTime, Utc};

use super::Ctx;
use crate::activity::ActivityKind;
use crate::badges::{
    BuiltinBadge, ANSWERED_QUESTIONS, DISTINCT_PEOPLE, ONCE, POLLS_VOTED, STREAK_DAYS,
};
use crate::firsts::TargetKind;
use crate::ids::{BadgeId, MemberId, Role};
use crate::ledger::EntryKind;
use crate::outcome::{Audience, BadgeAward, FeedItem, FeedKind, LevelChange, NoticeKind};
use crate::points::Points;
use crate::state::StateView;
use crate::time::QuotaDay;

pub(super) fn finish<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, at: DateTime<Utc>) {
    check_activity_badges(cx, at);
    check_answer_badge(cx, at);
    if cx.out.entries.is_empty() {
        return;
    }
    check_levels(cx, at);
    check_badges(cx, at);
}

fn check_levels<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, at: DateTime<Utc>) {
    let mut deltas: Vec<(MemberId, Points)> = Vec::with_capacity(cx.out.entries.len());
    for e in cx.out.entries.iter().filter(|e| e.kind.counts_as_earned()) {
        match deltas.iter_mut().find(|(m, _)| m == &e.member) {
            Some(slot) => slot.1 += e.amount,
            None => deltas.push((e.member.clone(), e.amount)),
        }
    }
    for (member, delta) in deltas {
        if delta <= Points::ZERO || !cx.member(&member).is_student() {
            continue;
        }
        let index = cx.settings.level_index(cx.state.earned(&member) + delta);
        let level = u32::try_from(index).unwrap_or(u32::MAX);
        if level <= cx.state.level(&member) {
            continue;
        }
        let name = cx
            .settings
            .levels
            .get(index)
            .map(|l| l.name.clone())
            .unwrap_or_default();
        cx.out.levels.push(LevelChange {
            member: member.clone(),
            level,
        });
        cx.notify(
            &member,
            NoticeKind::LevelUp {
                level,
                name: name.clone(),
            },
        );
        cx.feed_member(
            &member,
            at,
            FeedKind::LevelUp {
                member: member.clone(),
                level,
                name,
            },
        );
    }
}

fn check_badges<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, at: DateTime<Utc>) {
    // One giver per event; collect who received and on which day.
    let mut giver: Option<(MemberId, Role, QuotaDay)> = None;
    let mut recipients: Vec<(MemberId, bool)> = Vec::with_capacity(cx.out.entries.len());
    for e in cx.out.entries.iter().filter(|e| e.kind == EntryKind::Award) {
        if let (Some(g), Some(role), Some(day)) = (&e.giver, e.giver_role, e.quota_day) {
            giver.get_or_insert_with(|| (g.clone(), role, day));
        }
        if !recipients.iter().any(|(r, _)| r == &e.member) {
            recipients.push((e.member.clone(), false));
        }
    }
    let Some((giver, giver_role, day)) = giver else {
        return;
    };
    let student_giver = giver_role == Role::Student && cx.member(&giver).is_student();
    if student_giver {
        for (r, is_new_pair) in &mut recipients {
            *is_new_pair = !cx.state.has_recognised(&giver, r);
        }
    }

    for (r, is_new_pair) in &recipients {
        if !cx.member(r).is_student() {
            continue;
        }
        try_badge(cx, r, BuiltinBadge::FirstFire, at, |_| true);
        if *is_new_pair {
            try_badge(cx, r, BuiltinBadge::RecognisedByTen, at, |s| {
                s.distinct_givers(r) + 1 >= DISTINCT_PEOPLE
            });
        }
    }
    if !student_giver {
        return;
    }
    let added = u32::try_from(recipients.iter().filter(|(_, n)| *n).count()).unwrap_or(u32::MAX);
    if added > 0 {
        try_badge(cx, &giver, BuiltinBadge::GaveToTen, at, |s| {
            s.distinct_recipients(&giver) + added >= DISTINCT_PEOPLE
        });
    }
    if !cx.state.gave_on(&giver, day) {
        try_badge(cx, &giver, BuiltinBadge::FiveDayStreak, at, |s| {
            let run = |step: i64| {
                (1..STREAK_DAYS)
                    .take_while(|k| s.gave_on(&giver, day.plus_days(k * step)))
                    .count() as i64
            };
            1 + run(-1) + run(1) >= STREAK_DAYS
        });
    }
}

/// Badges won by what members did (activities) rather than by points: "voted in 5 polls"
/// counts first votes in polls that are not anonymous (only those record the activity).
fn check_activity_badges<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, at: DateTime<Utc>) {
    let voters: Vec<MemberId> = cx
        .activities
        .iter()
        .filter(|a| matches!(a.kind, ActivityKind::VotedInPoll { .. }))
        .map(|a| a.member.clone())
        .collect();
    for m in voters {
        if !cx.member(&m).is_student() {
            continue;
        }
        try_badge(cx, &m, BuiltinBadge::VotedInFive, at, |s| {
            s.polls_voted(&m) + 1 >= POLLS_VOTED
        });
    }
}

/// "Answered 5 questions": counted from the first responses to questions (one per question
/// and member, recorded by the firsts step just before this one).
fn check_answer_badge<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, at: DateTime<Utc>) {
    let answerers: Vec<MemberId> = cx
        .out
        .first_responses
        .iter()
        .filter(|r| r.kind == TargetKind::Question && r.place.is_some())
        .map(|r| r.member.clone())
        .collect();
    for (i, member) in answerers.iter().enumerate() {
        if answerers[..i].contains(member) || !cx.member(member).is_student() {
            continue;
        }
        let here =
            u32::try_from(answerers.iter().filter(|m| *m == member).count()).unwrap_or(u32::MAX);
        try_badge(cx, member, BuiltinBadge::AnsweredFive, at, |s| {
            s.responses_by(member, TargetKind::Question)
                .saturating_add(here)
                >= ANSWERED_QUESTIONS
        });
    }
}

/// Awards a one-time built-in badge if enabled, not yet held, and `rule` holds.
fn try_badge<S: StateView + ?Sized>(
    cx: &mut Ctx<'_, S>,
    member: &MemberId,
    badge: BuiltinBadge,
    at: DateTime<Utc>,
    rule: impl FnOnce(&S) -> bool,
) {
    let id = badge.id();
    if !cx.settings.badge_enabled(&id)
        || cx.state.has_badge(member, &id, ONCE)
        || cx
            .out
            .badges
            .iter()
            .any(|b| &b.member == member && b.badge == id)
        || !rule(cx.state)
    {
        return;
    }
    award_badge(cx, member, &id, ONCE, None, at);
}

/// Records a badge win with its notice and feed items. Callers have checked eligibility.
pub(crate) fn award_badge<S: StateView + ?Sized>(
    cx: &mut Ctx<'_, S>,
    member: &MemberId,
    badge: &BadgeId,
    instance: &str,
    by: Option<&MemberId>,
    at: DateTime<Utc>,
) {
    let name = crate::badges::badge_name(cx.settings, badge);
    cx.out.badges.push(BadgeAward {
        member: member.clone(),
        badge: badge.clone(),
        instance: instance.to_owned(),
        by: by.cloned(),
        occurred_at: at,
    });
    cx.notify(
        member,
        NoticeKind::BadgeWon {
            badge: badge.clone(),
            name,
        },
    );
    let kind = FeedKind::BadgeWon {
        member: member.clone(),
        badge: badge.clone(),
    };
    cx.feed_member(member, at, kind.clone());
    cx.out.feed.push(FeedItem {
        audience: Audience::Community,
        occurred_at: at,
        kind,
    });
}
