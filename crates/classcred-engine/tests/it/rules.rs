//! Custom reward rules: saving (roles, versions, validation, redelivery), awards (students
//! only, conditions, caps in the community's days and weeks, redeliveries), the "N classmates"
//! milestone, badges, and the property "a rule's preview equals what the rule then awards on
//! the same history".

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use crate::support::{count_kind, m, notices_to, p, posted, t, World};
use classcred_engine::*;

const RULE: &str = "0195d7a0-0000-7000-8000-000000000001";

fn rule(
    trigger: Trigger,
    condition: Option<Condition>,
    points: &str,
    cap: Option<Cap>,
) -> RewardRule {
    RewardRule {
        rule_id: RULE.into(),
        version: 1,
        trigger,
        condition,
        award: RuleAward::Points { points: p(points) },
        cap,
        enabled: true,
        enabled_since: None,
    }
}

fn save(w: &mut World, by: &str, r: &RewardRule, at: &str) -> Outcome {
    w.send(Event::RuleSaved(RuleSaved {
        rule: r.clone(),
        by: m(by),
        occurred_at: t(at),
    }))
}

fn in_channel(id: &str, author: &str, channel: &str, at: &str) -> Event {
    match posted(id, author, &[], 0, at) {
        Event::MessagePosted(mut e) => {
            e.channel = Some(channel.into());
            Event::MessagePosted(e)
        }
        _ => unreachable!(),
    }
}

fn rule_points(w: &World, who: &str) -> Points {
    w.state
        .ledger()
        .iter()
        .filter(|e| e.kind == EntryKind::RuleAward && e.member == m(who))
        .fold(Points::ZERO, |a, e| a + e.amount)
}

#[test]
fn a_posting_rule_awards_students_in_its_channel_up_to_its_weekly_cap() {
    let mut w = World::new();
    let r = rule(
        Trigger::Posted,
        Some(Condition::Channel {
            channel: "C-lab".into(),
        }),
        "2",
        Some(Cap {
            n: 2,
            per: CapPeriod::Week,
        }),
    );
    let o = save(&mut w, "ta", &r, "2026-11-01T08:00:00Z");
    assert_eq!(o.rules.len(), 1);
    assert!(o.rules[0].same_as(&r));
    assert_eq!(o.rules[0].enabled_since, Some(t("2026-11-01T08:00:00Z")));
    // Something done before the rule was on (a late delivery) earns nothing.
    let o = w.send(in_channel("C-lab:0", "s1", "C-lab", "2026-11-01T07:59:00Z"));
    assert_eq!(count_kind(&o, EntryKind::RuleAward), 0);
    // Monday and Tuesday of one ISO week in the lab channel: two awards; a third is capped.
    let o = w.send(in_channel("C-lab:1", "s1", "C-lab", "2026-11-02T09:00:00Z"));
    assert_eq!(count_kind(&o, EntryKind::RuleAward), 1);
    assert_eq!(o.entries[0].amount, p("2"));
    assert!(o.entries[0]
        .key
        .as_str()
        .starts_with(&format!("rule:{RULE}:post%3AC-lab%3A1/s1/0/rule_award")));
    assert!(o.feed.iter().any(|f| matches!(
        &f.kind,
        FeedKind::RuleAwarded { amount, .. } if *amount == p("2")
    )));
    w.send(in_channel("C-lab:2", "s1", "C-lab", "2026-11-03T09:00:00Z"));
    let o = w.send(in_channel("C-lab:3", "s1", "C-lab", "2026-11-04T09:00:00Z"));
    assert_eq!(count_kind(&o, EntryKind::RuleAward), 0);
    assert_eq!(rule_points(&w, "s1"), p("4"));
    // Another channel: nothing. The next ISO week: the cap starts again.
    let o = w.send(in_channel(
        "C-gen:1",
        "s1",
        "C-general",
        "2026-11-05T09:00:00Z",
    ));
    assert_eq!(count_kind(&o, EntryKind::RuleAward), 0);
    let o = w.send(in_channel("C-lab:4", "s1", "C-lab", "2026-11-09T09:00:00Z"));
    assert_eq!(count_kind(&o, EntryKind::RuleAward), 1);
    // A redelivery adds nothing; neither does deleting the message (the award stands).
    let o = w.send(in_channel("C-lab:4", "s1", "C-lab", "2026-11-09T09:00:00Z"));
    assert!(o.is_empty());
    w.delete("C-lab:4", "2026-11-09T10:00:00Z");
    assert_eq!(rule_points(&w, "s1"), p("6"));
    assert_eq!(w.earned("s1"), p("6"));
    // Instructors, Admins and bots never earn.
    for who in ["ta", "admin", "bot"] {
        let o = w.send(in_channel(
            &format!("C-lab:{who}"),
            who,
            "C-lab",
            "2026-11-10T09:00:00Z",
        ));
        assert_eq!(count_kind(&o, EntryKind::RuleAward), 0, "{who}");
    }
}

#[test]
fn a_daily_cap_counts_local_days_in_the_community_timezone() {
    let mut w = World::in_tz("America/New_York");
    let r = rule(
        Trigger::Posted,
        None,
        "1",
        Some(Cap {
            n: 1,
            per: CapPeriod::Day,
        }),
    );
    save(&mut w, "admin", &r, "2026-11-01T08:00:00Z");
    // 23:30 and 01:30 UTC are both Nov 2 in New York (UTC−5): one award.
    let a = w.send(posted("C1:a", "s2", &[], 0, "2026-11-02T23:30:00Z"));
    let b = w.send(posted("C1:b", "s2", &[], 0, "2026-11-03T01:30:00Z"));
    assert_eq!(count_kind(&a, EntryKind::RuleAward), 1);
    assert_eq!(count_kind(&b, EntryKind::RuleAward), 0);
    // 05:30 UTC on Nov 3 is 00:30 on Nov 3 in New York: a new day.
    let c = w.send(posted("C1:c", "s2", &[], 0, "2026-11-03T05:30:00Z"));
    assert_eq!(count_kind(&c, EntryKind::RuleAward), 1);
}

#[test]
fn saving_needs_staff_and_the_current_version_and_a_redelivery_changes_nothing() {
    let mut w = World::new();
    let r = rule(Trigger::Answered, None, "1", None);
    let o = save(&mut w, "s1", &r, "2026-11-01T08:00:00Z");
    assert!(o.rules.is_empty());
    assert!(matches!(
        notices_to(&o, "s1")[0],
        NoticeKind::Refused { .. }
    ));
    let o = save(&mut w, "ta", &r, "2026-11-01T08:01:00Z");
    assert_eq!(o.rules.len(), 1);
    assert!(save(&mut w, "ta", &r, "2026-11-01T08:01:00Z").is_empty());
    // A change must be version 2; a second change from version 1 is stale and refused.
    let mut v2 = r.clone();
    v2.version = 2;
    v2.enabled = false;
    let saved = save(&mut w, "admin", &v2, "2026-11-01T09:00:00Z").rules;
    assert!(saved.len() == 1 && saved[0].same_as(&v2) && saved[0].enabled_since.is_none());
    let mut stale = r.clone();
    stale.version = 2;
    stale.award = RuleAward::Points { points: p("5") };
    let o = save(&mut w, "ta", &stale, "2026-11-01T09:01:00Z");
    assert!(o.rules.is_empty());
    match &notices_to(&o, "ta")[0] {
        NoticeKind::Refused { reason } => assert!(reason.contains("changed meanwhile"), "{reason}"),
        n => panic!("{n:?}"),
    }
    assert_eq!(w.state.reward_rule(RULE), Some(v2.clone()));
    // Enabled again later: it rewards from then on only.
    let mut v3 = v2.clone();
    v3.version = 3;
    v3.enabled = true;
    let saved = save(&mut w, "ta", &v3, "2026-11-03T09:00:00Z").rules;
    assert_eq!(saved[0].enabled_since, Some(t("2026-11-03T09:00:00Z")));
    let mut v4 = v3.clone();
    v4.version = 4;
    v4.award = RuleAward::Points { points: p("2") };
    let saved = save(&mut w, "ta", &v4, "2026-11-04T09:00:00Z").rules;
    assert_eq!(saved[0].enabled_since, Some(t("2026-11-03T09:00:00Z")));
    let mut v2 = v4.clone();
    v2.version = 5;
    v2.enabled = false;
    save(&mut w, "ta", &v2, "2026-11-04T10:00:00Z");
    // A disabled rule awards nothing.
    let o = w.send(posted("C1:x", "s1", &[], 0, "2026-11-02T09:00:00Z"));
    assert_eq!(count_kind(&o, EntryKind::RuleAward), 0);
    // Invalid rules are refused with the field.
    let mut bad = v2.clone();
    bad.version = 6;
    bad.award = RuleAward::Points { points: p("1000") };
    let o = save(&mut w, "ta", &bad, "2026-11-01T09:02:00Z");
    match &notices_to(&o, "ta")[0] {
        NoticeKind::Refused { reason } => assert!(reason.contains("points"), "{reason}"),
        n => panic!("{n:?}"),
    }
}

#[test]
fn validation_names_the_field() {
    let s = CommunitySettings::default();
    let field = |r: RewardRule| r.validate(&s).unwrap_err().field;
    assert_eq!(
        field(rule(
            Trigger::Answered,
            Some(Condition::Channel {
                channel: "C1".into()
            }),
            "1",
            None
        )),
        "condition"
    );
    assert_eq!(field(rule(Trigger::Posted, None, "0", None)), "points");
    assert_eq!(
        field(rule(Trigger::Posted, None, "100.001", None)),
        "points"
    );
    assert_eq!(
        field(rule(
            Trigger::Posted,
            None,
            "1",
            Some(Cap {
                n: 0,
                per: CapPeriod::Day
            })
        )),
        "cap"
    );
    let mut r = rule(Trigger::Posted, None, "1", None);
    r.award = RuleAward::Badge {
        badge: BadgeId::new("nope"),
    };
    assert_eq!(field(r), "badge");
    let mut r = rule(Trigger::Posted, None, "1", None);
    r.rule_id = "Not A UUID".into();
    assert_eq!(field(r), "rule_id");
    assert!(rule(Trigger::Posted, None, "100", None)
        .validate(&s)
        .is_ok());
}

#[test]
fn the_sentence_reads_as_plain_language() {
    let r = rule(
        Trigger::Answered,
        None,
        "1",
        Some(Cap {
            n: 3,
            per: CapPeriod::Week,
        }),
    );
    assert_eq!(
        r.sentence(|b| b.to_string()),
        "When a student answers a classmate's question, they earn 1 point, at most 3 times per week."
    );
    let r = rule(
        Trigger::ReceivedFire,
        Some(Condition::Givers { n: 5 }),
        "3",
        None,
    );
    assert!(r
        .sentence(|b| b.to_string())
        .starts_with("When a student has received fire from 5 different classmates, they earn 3"));
}

#[test]
fn fire_from_n_classmates_is_rewarded_once_when_reached() {
    let mut w = World::new();
    let r = rule(
        Trigger::ReceivedFire,
        Some(Condition::Givers { n: 2 }),
        "5",
        None,
    );
    save(&mut w, "ta", &r, "2026-11-01T08:00:00Z");
    let o = w.send(posted("C1:1", "s2", &["s1"], 1, "2026-11-02T09:00:00Z"));
    assert_eq!(count_kind(&o, EntryKind::RuleAward), 0);
    // The same giver again: still one classmate. The Instructor does not count.
    w.send(posted("C1:2", "s2", &["s1"], 1, "2026-11-02T10:00:00Z"));
    let o = w.send(posted("C1:3", "ta", &["s1"], 1, "2026-11-02T11:00:00Z"));
    assert_eq!(count_kind(&o, EntryKind::RuleAward), 0);
    let o = w.send(posted("C1:4", "s3", &["s1"], 1, "2026-11-02T12:00:00Z"));
    assert_eq!(count_kind(&o, EntryKind::RuleAward), 1);
    let o = w.send(posted("C1:5", "s4", &["s1"], 1, "2026-11-02T13:00:00Z"));
    assert_eq!(count_kind(&o, EntryKind::RuleAward), 0);
    assert_eq!(rule_points(&w, "s1"), p("5"));
}

#[test]
fn a_badge_rule_awards_a_custom_badge_once_per_student() {
    let mut settings = CommunitySettings::default();
    settings.custom_badges.push(CustomBadge {
        id: BadgeId::new("helper"),
        name: "Helper".into(),
        description: String::new(),
    });
    let mut w = World::with(settings);
    let mut r = rule(Trigger::Posted, None, "1", None);
    r.award = RuleAward::Badge {
        badge: BadgeId::new("helper"),
    };
    assert_eq!(
        save(&mut w, "ta", &r, "2026-11-01T08:00:00Z").rules.len(),
        1
    );
    let o = w.send(posted("C1:1", "s1", &[], 0, "2026-11-02T09:00:00Z"));
    assert_eq!(o.badges.len(), 1);
    assert_eq!(o.badges[0].badge, BadgeId::new("helper"));
    let o = w.send(posted("C1:2", "s1", &[], 0, "2026-11-02T10:00:00Z"));
    assert!(o.badges.is_empty());
    assert!(o.entries.is_empty());
}

#[test]
fn purchases_of_one_item_trigger_a_bought_rule() {
    let mut w = World::new();
    // s1 needs points to buy: an Admin adjustment.
    w.send(Event::PointsAdjusted(PointsAdjusted {
        adjustment_id: "adj1".into(),
        by: m("admin"),
        member: m("s1"),
        amount: p("10"),
        reason: "start".into(),
        occurred_at: t("2026-11-01T07:00:00Z"),
    }));
    for (id, number) in [("pen", 1), ("cap", 2)] {
        w.send(Event::StoreItemSaved(StoreItemSaved {
            item: StoreItem {
                item_id: id.into(),
                number,
                name: id.into(),
                description: String::new(),
                price: p("1"),
                stock: None,
                per_student_limit: None,
                available_from: None,
                available_until: None,
                needs_approval: false,
                enabled: true,
                archived: false,
            },
            by: m("ta"),
            occurred_at: t("2026-11-01T07:30:00Z"),
        }));
    }
    let r = rule(
        Trigger::Bought,
        Some(Condition::Item { item: "pen".into() }),
        "0.5",
        None,
    );
    save(&mut w, "ta", &r, "2026-11-01T08:00:00Z");
    let buy = |id: &str, item: &str, at: &str| {
        Event::PurchaseRequested(PurchaseRequested {
            purchase_id: id.into(),
            member: m("s1"),
            item_id: item.into(),
            occurred_at: t(at),
        })
    };
    let o = w.send(buy("p1", "pen", "2026-11-02T09:00:00Z"));
    assert_eq!(count_kind(&o, EntryKind::RuleAward), 1);
    let o = w.send(buy("p2", "cap", "2026-11-02T09:10:00Z"));
    assert_eq!(count_kind(&o, EntryKind::RuleAward), 0);
    assert_eq!(rule_points(&w, "s1"), p("0.5"));
}

// ---------------------------------------------------------------------------------------
// Property: the preview equals what the rule then awards on the same history.

const PEOPLE: [&str; 7] = ["s1", "s2", "s3", "s4", "s5", "ta", "admin"];
const CHANNELS: [&str; 2] = ["C-a", "C-b"];

#[derive(Debug, Clone)]
enum Op {
    Post {
        author: usize,
        channel: usize,
        mentions: Vec<usize>,
        fires: u32,
    },
    React {
        msg: usize,
        reactor: usize,
    },
    Delete {
        msg: usize,
    },
    Redeliver {
        event: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..PEOPLE.len();
    prop_oneof![
        5 => (who.clone(), 0..CHANNELS.len(), proptest::collection::vec(0..PEOPLE.len(), 0..3), 0u32..3)
            .prop_map(|(author, channel, mentions, fires)| Op::Post { author, channel, mentions, fires }),
        2 => (0usize..40, who).prop_map(|(msg, reactor)| Op::React { msg, reactor }),
        1 => (0usize..40).prop_map(|msg| Op::Delete { msg }),
        1 => (0usize..80).prop_map(|event| Op::Redeliver { event }),
    ]
}

fn history(ops: &[Op], gaps: &[u32]) -> Vec<Event> {
    let mut at: DateTime<Utc> = t("2026-03-01T06:00:00Z");
    let mut posts: Vec<(String, String)> = Vec::new();
    let mut out: Vec<Event> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        at += Duration::minutes(i64::from(gaps[i % gaps.len()]));
        let e = match op {
            Op::Post {
                author,
                channel,
                mentions,
                fires,
            } => {
                let id = format!("{}:{i}", CHANNELS[*channel]);
                posts.push((id.clone(), PEOPLE[*author].to_owned()));
                Event::MessagePosted(MessagePosted {
                    platform_message_id: id,
                    author: m(PEOPLE[*author]),
                    mentions: mentions.iter().map(|k| m(PEOPLE[*k])).collect(),
                    fire_count: *fires,
                    text: "t".into(),
                    thread: None,
                    channel: Some(CHANNELS[*channel].into()),
                    occurred_at: at,
                    is_question: false,
                })
            }
            Op::React { msg, reactor } if !posts.is_empty() => {
                let (id, author) = &posts[msg % posts.len()];
                Event::ReactionAdded(Reaction {
                    platform_message_id: id.clone(),
                    reactor: m(PEOPLE[*reactor]),
                    message_author: m(author),
                    is_fire: true,
                    occurred_at: at,
                })
            }
            Op::Delete { msg } if !posts.is_empty() => Event::MessageDeleted(MessageDeleted {
                platform_message_id: posts[msg % posts.len()].0.clone(),
                occurred_at: at,
            }),
            Op::Redeliver { event } if !out.is_empty() => out[event % out.len()].clone(),
            _ => continue,
        };
        out.push(e);
    }
    out
}

fn any_rule() -> impl Strategy<Value = RewardRule> {
    let cap = proptest::option::of(
        (
            1u32..4,
            prop_oneof![
                Just(CapPeriod::Day),
                Just(CapPeriod::Week),
                Just(CapPeriod::Course)
            ],
        )
            .prop_map(|(n, per)| Cap { n, per }),
    );
    let condition_posted =
        proptest::option::of((0..CHANNELS.len()).prop_map(|c| Condition::Channel {
            channel: CHANNELS[c].into(),
        }));
    prop_oneof![
        (condition_posted, 1i64..5_000, cap.clone()).prop_map(|(condition, milli, cap)| {
            RewardRule {
                rule_id: RULE.into(),
                version: 1,
                trigger: Trigger::Posted,
                condition,
                award: RuleAward::Points {
                    points: Points::from_thousandths(milli),
                },
                cap,
                enabled: true,
                enabled_since: None,
            }
        }),
        (1i64..5_000, cap).prop_map(|(milli, cap)| RewardRule {
            rule_id: RULE.into(),
            version: 1,
            trigger: Trigger::ReceivedFire,
            condition: None,
            award: RuleAward::Points {
                points: Points::from_thousandths(milli)
            },
            cap,
            enabled: true,
            enabled_since: None,
        }),
        (1u32..4, 1i64..5_000).prop_map(|(n, milli)| RewardRule {
            rule_id: RULE.into(),
            version: 1,
            trigger: Trigger::ReceivedFire,
            condition: Some(Condition::Givers { n }),
            award: RuleAward::Points {
                points: Points::from_thousandths(milli)
            },
            cap: None,
            enabled: true,
            enabled_since: None,
        }),
    ]
}

fn world_state() -> (CommunitySettings, InMemoryState) {
    let w = World::new();
    (w.settings, w.state)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_rules_preview_equals_what_it_then_awards(
        ops in proptest::collection::vec(op(), 1..90),
        gaps in proptest::collection::vec(1u32..1_500, 1..8),
        r in any_rule(),
    ) {
        let events = history(&ops, &gaps);
        let (settings, base) = world_state();

        // Live: the rule saved first, then the history.
        let mut live = base.clone();
        let save = Event::RuleSaved(RuleSaved {
            rule: r.clone(),
            by: m("ta"),
            occurred_at: t("2026-03-01T05:00:00Z"),
        });
        prop_assert_eq!(live.process(&settings, &save).rules.len(), 1);
        for e in &events {
            live.process(&settings, e);
        }
        let mut awarded: BTreeMap<MemberId, (Points, u32)> = BTreeMap::new();
        for e in live.ledger().iter().filter(|e| e.kind == EntryKind::RuleAward) {
            let slot = awarded.entry(e.member.clone()).or_default();
            slot.0 += e.amount;
            slot.1 += 1;
            prop_assert!(live.member(&e.member).is_some_and(|i| i.is_student()));
        }

        // Preview: the same members (the world's joins), then the history, rule not saved.
        let mut previewer = RulePreviewer::new(&r);
        for (id, info) in base.members() {
            previewer.apply_outcome(&Outcome {
                members: vec![MemberChange { member: id.clone(), info: *info }],
                ..Outcome::default()
            });
        }
        for e in &events {
            previewer.process(&settings, e);
        }
        let preview = previewer.finish();
        let previewed: BTreeMap<MemberId, (Points, u32)> = preview
            .members
            .iter()
            .filter(|(_, row)| row.awards > 0)
            .map(|(m, row)| (m.clone(), (row.points, row.awards)))
            .collect();
        prop_assert_eq!(&previewed, &awarded);

        // Caps hold: no member gets more than the cap in any window.
        if let Some(cap) = r.cap {
            for member in awarded.keys() {
                let mut per: BTreeMap<String, u32> = BTreeMap::new();
                for e in live.ledger().iter().filter(|e| e.kind == EntryKind::RuleAward && &e.member == member) {
                    let day = e.quota_day.unwrap();
                    let k = match cap.per {
                        CapPeriod::Day => day.to_string(),
                        CapPeriod::Week => day.iso_week().to_string(),
                        CapPeriod::Course => String::new(),
                    };
                    *per.entry(k).or_default() += 1;
                }
                prop_assert!(per.values().all(|n| *n <= cap.n), "{per:?}");
            }
        }

        // Replay through JSON reproduces the live state, rule and awards included.
        let mut replayed = base.clone();
        for e in std::iter::once(&save).chain(&events) {
            let e: Event = serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap();
            replayed.process(&settings, &e);
        }
        prop_assert_eq!(replayed, live);
    }
}
