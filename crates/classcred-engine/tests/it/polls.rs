//! Polls and debates: who may create and close, one vote per member (changeable until the
//! close), refusals, activities, the "voted in 5 polls" badge, debate threads, and a property
//! test over random orders and duplications of votes.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use crate::support::{m, t, World};
use classcred_engine::*;

fn def(kind: PollKind, anonymous: bool) -> PollDefinition {
    PollDefinition {
        kind,
        question: "Which topic next?".into(),
        options: vec!["Graphs".into(), "Trees".into(), "Heaps".into()],
        anonymous,
        live_results: false,
        channel: Some("C1".into()),
        closes_at: None,
    }
}

fn create(w: &mut World, id: &str, by: &str, d: PollDefinition) -> Outcome {
    w.send(Event::PollCreated(PollCreated {
        poll_id: id.into(),
        definition: d,
        by: m(by),
        occurred_at: t("2020-01-02T00:00:00Z"),
    }))
}

fn vote_at(w: &mut World, poll: &str, who: &str, option: u32, at: DateTime<Utc>) -> Outcome {
    w.send(Event::VoteCast(VoteCast {
        poll_id: poll.into(),
        member: m(who),
        option,
        occurred_at: at,
    }))
}

fn vote(w: &mut World, poll: &str, who: &str, option: u32) -> Outcome {
    vote_at(w, poll, who, option, t("2020-01-03T00:00:00Z"))
}

fn close(w: &mut World, poll: &str, by: Option<&str>, at: DateTime<Utc>) -> Outcome {
    w.send(Event::PollClosed(PollClosed {
        poll_id: poll.into(),
        by: by.map(m),
        occurred_at: at,
    }))
}

fn refused(o: &Outcome) -> Option<String> {
    o.notices.iter().find_map(|n| match &n.kind {
        NoticeKind::Refused { reason } => Some(reason.clone()),
        _ => None,
    })
}

fn activities(w: &World, e: &Event) -> Vec<ActivityKind> {
    apply_with_activities(&w.settings, &w.state, e)
        .1
        .into_iter()
        .map(|a| a.kind)
        .collect()
}

#[test]
fn only_staff_create_and_close() {
    let mut w = World::new();
    let o = create(&mut w, "p1", "s1", def(PollKind::Poll, false));
    assert!(refused(&o).unwrap().contains("Instructor or Admin"));
    assert!(w.state.poll("p1").is_none());
    let o = create(&mut w, "p1", "ta", def(PollKind::Poll, false));
    assert!(refused(&o).is_none());
    assert!(matches!(
        o.feed.as_slice(),
        [FeedItem {
            audience: Audience::Community,
            kind: FeedKind::PollCreated { .. },
            ..
        }]
    ));
    // A redelivery changes nothing.
    assert!(create(&mut w, "p1", "ta", def(PollKind::Poll, false)).is_empty());
    let o = close(&mut w, "p1", Some("s2"), t("2020-01-04T00:00:00Z"));
    assert!(refused(&o).unwrap().contains("Instructor or Admin"));
    assert!(w.state.poll("p1").unwrap().closed_at.is_none());
    close(&mut w, "p1", Some("admin"), t("2020-01-04T00:00:00Z"));
    assert!(w.state.poll("p1").unwrap().closed_at.is_some());
    assert!(close(&mut w, "p1", Some("admin"), t("2020-01-05T00:00:00Z")).is_empty());
}

#[test]
fn invalid_definitions_are_refused() {
    let mut w = World::new();
    let mut d = def(PollKind::Poll, false);
    d.options.truncate(1);
    assert!(refused(&create(&mut w, "p1", "ta", d))
        .unwrap()
        .contains("options"));
    assert!(
        refused(&create(&mut w, "p2", "ta", def(PollKind::Debate, true)))
            .unwrap()
            .contains("anonymous")
    );
    assert!(w.state.polls().is_empty());
}

#[test]
fn one_vote_per_member_changeable_until_close() {
    let mut w = World::new();
    create(&mut w, "p1", "ta", def(PollKind::Poll, false));
    let first = Event::VoteCast(VoteCast {
        poll_id: "p1".into(),
        member: m("s1"),
        option: 0,
        occurred_at: t("2020-01-03T00:00:00Z"),
    });
    assert_eq!(
        activities(&w, &first),
        vec![ActivityKind::VotedInPoll { poll: "p1".into() }]
    );
    w.send(first.clone());
    // The same vote again: nothing.
    assert!(w.send(first).is_empty());
    // A changed vote replaces the old one and records no activity.
    let change = Event::VoteCast(VoteCast {
        poll_id: "p1".into(),
        member: m("s1"),
        option: 2,
        occurred_at: t("2020-01-03T01:00:00Z"),
    });
    assert!(activities(&w, &change).is_empty());
    let o = w.send(change);
    assert!(o.feed.is_empty());
    vote(&mut w, "p1", "s2", 2);
    assert_eq!(w.state.poll_counts("p1"), vec![0, 0, 2]);
    // No such option, bots, unknown polls.
    assert!(refused(&vote(&mut w, "p1", "s3", 3))
        .unwrap()
        .contains("no such option"));
    assert!(vote(&mut w, "p1", "bot", 0).is_empty());
    assert!(refused(&vote(&mut w, "nope", "s3", 0))
        .unwrap()
        .contains("no such poll"));
    close(&mut w, "p1", Some("ta"), t("2020-01-04T00:00:00Z"));
    let o = vote_at(&mut w, "p1", "s1", 0, t("2020-01-05T00:00:00Z"));
    assert!(refused(&o).unwrap().contains("closed"));
    assert_eq!(w.state.poll_counts("p1"), vec![0, 0, 2]);
}

#[test]
fn the_closing_time_refuses_later_votes_and_closes_the_poll() {
    let mut w = World::new();
    let mut d = def(PollKind::Poll, false);
    let closes = t("2020-01-03T12:00:00Z");
    d.closes_at = Some(closes);
    create(&mut w, "p1", "ta", d);
    vote_at(&mut w, "p1", "s1", 1, closes - Duration::seconds(1));
    let late = vote_at(&mut w, "p1", "s2", 1, closes);
    assert!(refused(&late).unwrap().contains("closed"));
    // A scheduled close before the time does nothing; at the time it closes.
    assert!(close(&mut w, "p1", None, closes - Duration::minutes(1)).is_empty());
    let o = close(&mut w, "p1", None, closes);
    assert!(o.notices.is_empty());
    let p = w.state.poll("p1").unwrap();
    assert_eq!((p.closed_at, p.closed_by), (Some(closes), None));
    assert_eq!(w.state.poll_counts("p1"), vec![0, 1, 0]);
}

#[test]
fn anonymous_polls_record_no_activity_and_no_member_feed() {
    let mut w = World::new();
    create(&mut w, "p1", "ta", def(PollKind::Poll, true));
    let e = Event::VoteCast(VoteCast {
        poll_id: "p1".into(),
        member: m("s1"),
        option: 1,
        occurred_at: t("2020-01-03T00:00:00Z"),
    });
    assert!(activities(&w, &e).is_empty());
    let o = w.send(e);
    assert!(o.feed.is_empty());
    assert!(o.votes[0].anonymous);
    assert_eq!(w.state.polls_voted(&m("s1")), 0);
    assert_eq!(w.state.poll_counts("p1"), vec![0, 1, 0]);
}

#[test]
fn five_polls_win_the_badge_anonymous_ones_do_not_count() {
    let mut w = World::new();
    let badge = BuiltinBadge::VotedInFive.id();
    create(&mut w, "anon", "ta", def(PollKind::Poll, true));
    vote(&mut w, "anon", "s1", 0);
    for i in 0..4 {
        let id = format!("p{i}");
        create(&mut w, &id, "ta", def(PollKind::Poll, false));
        let o = vote(&mut w, &id, "s1", 0);
        assert!(o.badges.is_empty());
        // Changing a vote does not count again.
        assert!(vote(&mut w, &id, "s1", 1).badges.is_empty());
    }
    assert!(!w.state.has_badge(&m("s1"), &badge, "once"));
    create(&mut w, "p4", "ta", def(PollKind::Debate, false));
    let o = vote(&mut w, "p4", "s1", 0);
    assert_eq!(o.badges.len(), 1);
    assert!(w.state.has_badge(&m("s1"), &badge, "once"));
    // Staff never win it.
    for i in 0..5 {
        vote(&mut w, &format!("p{i}"), "ta", 0);
    }
    assert!(!w.state.has_badge(&m("ta"), &badge, "once"));
}

#[test]
fn debate_sides_and_thread_posts_count_each_member_once() {
    let mut w = World::new();
    create(&mut w, "d1", "ta", def(PollKind::Debate, false));
    w.send(Event::PollPosted(PollPosted {
        poll_id: "d1".into(),
        platform_message_id: "C1/100.1".into(),
        occurred_at: t("2020-01-02T00:00:01Z"),
    }));
    let post = |id: &str, who: &str, thread: &str| {
        Event::MessagePosted(MessagePosted {
            platform_message_id: id.into(),
            author: m(who),
            mentions: vec![],
            fire_count: 0,
            text: "I think so".into(),
            thread: Some(thread.into()),
            channel: Some("C1".into()),
            occurred_at: t("2020-01-03T00:00:00Z"),
            is_question: false,
        })
    };
    let e = post("C1/101", "s1", "C1/100.1");
    assert!(activities(&w, &e).contains(&ActivityKind::DebatedIn {
        debate: "d1".into()
    }));
    w.send(e);
    // A second post, then a side, by the same member: counted once.
    let e = post("C1/102", "s1", "C1/100.1");
    assert!(!activities(&w, &e).contains(&ActivityKind::DebatedIn {
        debate: "d1".into()
    }));
    w.send(e);
    let side = Event::VoteCast(VoteCast {
        poll_id: "d1".into(),
        member: m("s1"),
        option: 1,
        occurred_at: t("2020-01-03T00:00:00Z"),
    });
    assert_eq!(
        activities(&w, &side),
        vec![ActivityKind::VotedInPoll { poll: "d1".into() }]
    );
    w.send(side);
    // A side first, for another member.
    let o = vote(&mut w, "d1", "s2", 0);
    assert_eq!(o.debaters.len(), 1);
    // Posts in another thread, or by a bot, do not count.
    w.send(post("C1/103", "s3", "C1/999"));
    w.send(post("C1/104", "bot", "C1/100.1"));
    assert_eq!(w.state.debater_count("d1"), 2);
}

#[derive(Clone, Debug)]
enum Op {
    Vote { who: usize, option: u32 },
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0usize..5, 0u32..4).prop_map(|(who, option)| Op::Vote { who, option }),
        1 => Just(Op::Close),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Votes in any order, with any duplications: each member has at most one vote, equal to
    /// their last valid vote before the close (a model), and replay gives the same state.
    #[test]
    fn votes_keep_one_per_member_as_a_model_does(
        ops in proptest::collection::vec(op(), 1..60),
        dup in proptest::collection::vec(0usize..60, 0..20),
        anonymous in any::<bool>(),
    ) {
        let start = t("2020-01-03T00:00:00Z");
        let mut events = vec![Event::PollCreated(PollCreated {
            poll_id: "p".into(),
            definition: def(PollKind::Poll, anonymous),
            by: m("ta"),
            occurred_at: t("2020-01-02T00:00:00Z"),
        })];
        for (n, o) in ops.iter().enumerate() {
            let at = start + Duration::minutes(n as i64);
            events.push(match o {
                Op::Vote { who, option } => Event::VoteCast(VoteCast {
                    poll_id: "p".into(),
                    member: m(&format!("s{}", who + 1)),
                    option: *option,
                    occurred_at: at,
                }),
                Op::Close => Event::PollClosed(PollClosed {
                    poll_id: "p".into(),
                    by: Some(m("ta")),
                    occurred_at: at,
                }),
            });
        }
        // Redeliveries: copies of earlier events inserted later.
        for d in dup {
            let n = events.len();
            let copy = events[1 + d % (n - 1)].clone();
            let at = (d * 7919) % (n + 1);
            events.insert(at.max(1), copy);
        }
        let mut w = World::new();
        let mut model: HashMap<String, u32> = HashMap::new();
        let mut closed = false;
        for e in &events {
            match e {
                Event::VoteCast(v) if !closed && v.option < 3 => {
                    model.insert(v.member.to_string(), v.option);
                }
                Event::PollClosed(_) => closed = true,
                _ => {}
            }
            w.send(e.clone());
        }
        for i in 1..=5 {
            let who = m(&format!("s{i}"));
            prop_assert_eq!(w.state.vote("p", &who), model.get(who.as_str()).copied());
        }
        let mut counts = vec![0u32; 3];
        for o in model.values() {
            counts[*o as usize] += 1;
        }
        prop_assert_eq!(w.state.poll_counts("p"), counts);
        let voted = if anonymous { 0 } else { 1 };
        for who in model.keys() {
            prop_assert_eq!(w.state.polls_voted(&m(who)), voted);
        }
        // Replay: the same events (through JSON, as the inbox keeps them) from scratch.
        let mut again = World::new();
        for e in &events {
            let json = serde_json::to_string(e).unwrap();
            again.send(serde_json::from_str(&json).unwrap());
        }
        prop_assert_eq!(&again.state, &w.state);
    }
}
