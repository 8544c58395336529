//! Custom reward rules: saving a rule, and the step that rewards this event's activities
//! (see [`crate::rules`] for the model and the decisions).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Ctx;
use crate::activity::ActivityKind;
use crate::badges::ONCE;
use crate::ids::MemberId;
use crate::ledger::{EntryKind, IdempotencyKey, LedgerEntry, Source};
use crate::outcome::{Audience, FeedItem, FeedKind, NoticeKind};
use crate::rules::{
    activity_source, CapPeriod, CapWindow, Condition, RewardRule, RuleAward, RuleSaved, MAX_RULES,
};
use crate::state::StateView;
use crate::time::QuotaDay;

fn refuse<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, to: &MemberId, reason: &str) {
    cx.notify(
        to,
        NoticeKind::Refused {
            reason: reason.to_owned(),
        },
    );
}

/// A rule created or changed (enable/disable included).
pub(super) fn saved<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &RuleSaved) {
    let before = cx.state.reward_rule(&e.rule.rule_id);
    if before.as_ref().is_some_and(|b| b.same_as(&e.rule)) {
        // A redelivery: already saved exactly so.
        return;
    }
    let by = cx.member(&e.by);
    if !(by.role.is_staff() && by.can_give()) {
        return refuse(
            cx,
            &e.by,
            "only an Instructor or Admin can manage reward rules",
        );
    }
    let expected = before.as_ref().map_or(1, |b| b.version.saturating_add(1));
    if e.rule.version != expected {
        return refuse(
            cx,
            &e.by,
            "this reward rule was changed meanwhile; reload it and make your change again",
        );
    }
    if before.is_none() && cx.state.rule_count() >= MAX_RULES {
        return refuse(
            cx,
            &e.by,
            &format!("a community can have at most {MAX_RULES} reward rules"),
        );
    }
    if let Err(problem) = e.rule.validate(cx.settings) {
        return refuse(cx, &e.by, &format!("reward rule {problem}"));
    }
    let mut rule = e.rule.clone();
    rule.enabled_since = match before.as_ref() {
        _ if !rule.enabled => None,
        Some(b) if b.enabled => b.enabled_since,
        _ => Some(e.occurred_at),
    };
    cx.out.rules.push(rule);
    cx.out.feed.push(FeedItem {
        audience: Audience::Community,
        occurred_at: e.occurred_at,
        kind: FeedKind::RuleSaved {
            by: e.by.clone(),
            rule_id: e.rule.rule_id.as_str().into(),
            version: e.rule.version,
            enabled: e.rule.enabled,
        },
    });
}

/// Rewards this event's activities by the enabled rules. Runs after the handler and before
/// levels and badges (so they see the points).
pub(super) fn finish<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>) {
    if cx.activities.is_empty() {
        return;
    }
    let rules = cx.state.enabled_rules();
    if rules.is_empty() {
        return;
    }
    let activities = std::mem::take(&mut cx.activities);
    // Awards made in this event per (rule, member, window), for caps.
    let mut made: Vec<(usize, MemberId, CapWindow)> = Vec::new();
    // Members who reached a "N classmates" rule in this event (it awards once).
    let mut reached: Vec<(usize, MemberId)> = Vec::new();
    for a in &activities {
        if !cx.member(&a.member).is_student() {
            continue;
        }
        for (i, rule) in rules.iter().enumerate() {
            if !rule.enabled
                || rule.enabled_since.is_some_and(|since| a.at < since)
                || !rule.matches(&a.kind)
            {
                continue;
            }
            let source = match (&rule.condition, &a.kind) {
                (Some(Condition::Givers { n }), ActivityKind::ReceivedFire { .. }) => {
                    if reached.iter().any(|(r, m)| *r == i && m == &a.member)
                        || givers_now(cx, &activities, &a.member) < *n
                    {
                        continue;
                    }
                    reached.push((i, a.member.clone()));
                    format!("givers:{n}")
                }
                _ => activity_source(a),
            };
            award(cx, rule, i, &source, a.member.clone(), a.at, &mut made);
        }
    }
    cx.activities = activities;
}

/// Distinct student classmates who have given `member` fire, this event included.
fn givers_now<S: StateView + ?Sized>(
    cx: &Ctx<'_, S>,
    activities: &[crate::activity::Activity],
    member: &MemberId,
) -> u32 {
    let mut new: Vec<&MemberId> = Vec::new();
    for a in activities.iter().filter(|a| &a.member == member) {
        if let ActivityKind::ReceivedFire { giver, .. } = &a.kind {
            if !new.contains(&giver)
                && cx.member(giver).is_student()
                && !cx.state.has_recognised(giver, member)
            {
                new.push(giver);
            }
        }
    }
    cx.state
        .distinct_givers(member)
        .saturating_add(u32::try_from(new.len()).unwrap_or(u32::MAX))
}

fn window(rule: &RewardRule, day: QuotaDay) -> CapWindow {
    match rule.cap.map(|c| c.per) {
        Some(CapPeriod::Day) => CapWindow::Day(day),
        Some(CapPeriod::Week) => CapWindow::Week(day.iso_week()),
        Some(CapPeriod::Course) | None => CapWindow::Course,
    }
}

fn award<S: StateView + ?Sized>(
    cx: &mut Ctx<'_, S>,
    rule: &RewardRule,
    index: usize,
    source: &str,
    member: MemberId,
    at: DateTime<Utc>,
    made: &mut Vec<(usize, MemberId, CapWindow)>,
) {
    let rule_id: Arc<str> = rule.rule_id.as_str().into();
    match &rule.award {
        RuleAward::Badge { badge } => {
            if !cx.settings.custom_badges.iter().any(|b| &b.id == badge)
                || !cx.settings.badge_enabled(badge)
                || cx.state.has_badge(&member, badge, ONCE)
                || cx
                    .out
                    .badges
                    .iter()
                    .any(|b| b.member == member && &b.badge == badge && b.instance == ONCE)
            {
                return;
            }
            super::award_badge(cx, &member, badge, ONCE, None, at);
        }
        RuleAward::Points { points } => {
            let key = IdempotencyKey::new(
                &Source::Rule {
                    rule: &rule.rule_id,
                    activity: source,
                },
                &member,
                0,
                EntryKind::RuleAward,
            );
            if cx.state.has_entry(&key) || cx.out.entries.iter().any(|e| e.key == key) {
                return;
            }
            let day = cx.quota_day(at);
            let w = window(rule, day);
            if let Some(cap) = rule.cap {
                let here = made
                    .iter()
                    .filter(|(r, m, x)| *r == index && m == &member && *x == w)
                    .count();
                let used = cx
                    .state
                    .rule_awards(&rule.rule_id, &member, w)
                    .saturating_add(u32::try_from(here).unwrap_or(u32::MAX));
                if used >= cap.n {
                    cx.capped.push((rule_id, member));
                    return;
                }
            }
            made.push((index, member.clone(), w));
            cx.out.entries.push(LedgerEntry {
                key,
                kind: EntryKind::RuleAward,
                member: member.clone(),
                amount: *points,
                giver: None,
                giver_role: None,
                quota_day: Some(day),
                iso_week: Some(day.iso_week()),
                quota_units: 0,
                fire_units: 0,
                platform_message_id: Some(rule_id.clone()),
                reason: None,
                occurred_at: at,
            });
            cx.feed_member(
                &member,
                at,
                FeedKind::RuleAwarded {
                    rule_id,
                    amount: *points,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every activity kind against the rule step, with hand-made activities (polls, debates and
    //! announcement replies are recorded by handlers built elsewhere).

    use std::sync::Arc;

    use chrono::{DateTime, Utc};

    use super::super::Ctx;
    use crate::activity::ActivityKind;
    use crate::ids::{MemberId, MemberInfo, MemberKind, Role};
    use crate::ledger::EntryKind;
    use crate::memory::InMemoryState;
    use crate::outcome::{MemberChange, Outcome};
    use crate::points::Points;
    use crate::rules::{Cap, CapPeriod, RewardRule, RuleAward, Trigger};
    use crate::settings::CommunitySettings;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn kinds(k: u32) -> Vec<ActivityKind> {
        let a = |s: &str| -> Arc<str> { format!("{s}-{k}").into() };
        vec![
            ActivityKind::Posted {
                message: a("m1"),
                channel: Some(a("C1")),
                thread: None,
            },
            ActivityKind::Answered {
                question: a("q1"),
                answer: a("m2"),
            },
            ActivityKind::AnswerAccepted {
                question: a("q1"),
                answer: a("m2"),
            },
            ActivityKind::VotedInPoll { poll: a("p1") },
            ActivityKind::DebatedIn { debate: a("d1") },
            ActivityKind::Bought {
                purchase: a("b1"),
                item: a("pen"),
            },
            ActivityKind::ReceivedFire {
                giver: MemberId::new(format!("s{k}")),
                message: a("m3"),
            },
            ActivityKind::RespondedToAnnouncement {
                announcement: a("a1"),
            },
        ]
    }

    #[test]
    fn every_trigger_rewards_its_own_activity_kind_and_no_other() {
        let settings = CommunitySettings::default();
        for (n, trigger) in Trigger::ALL.into_iter().enumerate() {
            let rule = RewardRule {
                rule_id: format!("0000000{n}-aaaa"),
                version: 1,
                trigger,
                condition: None,
                award: RuleAward::Points {
                    points: Points::from_whole(2),
                },
                cap: Some(Cap {
                    n: 1,
                    per: CapPeriod::Day,
                }),
                enabled: true,
                enabled_since: None,
            };
            let mut state = InMemoryState::new();
            state.apply_outcome(&Outcome {
                rules: vec![rule.clone()],
                members: vec![MemberChange {
                    member: MemberId::new("s1"),
                    info: MemberInfo {
                        role: Role::Student,
                        kind: MemberKind::Human,
                    },
                }],
                ..Outcome::default()
            });
            let mut cx = Ctx::new(&settings, &state);
            for kind in kinds(1) {
                // Twice each: the daily cap of 1 stops the second of the matching kind.
                cx.did(&MemberId::new("s1"), at("2026-11-02T10:00:00Z"), kind);
            }
            for kind in kinds(2) {
                cx.did(&MemberId::new("s1"), at("2026-11-02T11:00:00Z"), kind);
            }
            super::finish(&mut cx);
            let awards: Vec<_> = cx
                .out
                .entries
                .iter()
                .filter(|e| e.kind == EntryKind::RuleAward)
                .collect();
            assert_eq!(awards.len(), 1, "{trigger:?}");
            assert_eq!(awards[0].amount, Points::from_whole(2));
            assert_eq!(cx.capped.len(), 1, "{trigger:?}");
            assert_eq!(
                kinds(1)
                    .iter()
                    .filter(|k| Trigger::of(k) == trigger)
                    .count(),
                1
            );
            // The activities are still there for the steps after this one.
            assert_eq!(cx.activities.len(), 2 * kinds(1).len());
        }
    }
}
