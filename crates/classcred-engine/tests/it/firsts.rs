//! Firsts and announcement responses: the first N students to reply to a posted announcement
//! or to answer a question earn the bonus, once; staff take no place; places count while
//! firsts are off; the "answered 5 questions" badge; a property test over random orders and
//! redeliveries.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use crate::support::{m, notices_to, p, t, World};
use classcred_engine::*;

fn at(min: i64) -> DateTime<Utc> {
    t("2026-11-02T09:00:00Z") + Duration::minutes(min)
}

fn firsts(enabled: bool, count: u32, points: &str) -> CommunitySettings {
    CommunitySettings {
        firsts: FirstsSettings {
            enabled,
            count,
            points: p(points),
        },
        ..CommunitySettings::default()
    }
}

fn announced(id: &str, message: &str, min: i64) -> Event {
    Event::AnnouncementPosted(AnnouncementPosted {
        announcement_id: id.into(),
        platform_message_id: message.into(),
        channel: "C1".into(),
        occurred_at: at(min),
    })
}

fn reply(id: &str, root: &str, author: &str, min: i64) -> Event {
    Event::MessagePosted(MessagePosted {
        platform_message_id: id.into(),
        author: m(author),
        mentions: Vec::new(),
        fire_count: 0,
        text: "me!".into(),
        thread: Some(root.into()),
        channel: Some("C1".into()),
        occurred_at: at(min),
        is_question: false,
    })
}

fn ask(id: &str, author: &str, min: i64) -> Event {
    Event::MessagePosted(MessagePosted {
        platform_message_id: id.into(),
        author: m(author),
        mentions: Vec::new(),
        fire_count: 0,
        text: "how?".into(),
        thread: None,
        channel: Some("C1".into()),
        occurred_at: at(min),
        is_question: true,
    })
}

fn bonuses(o: &Outcome) -> Vec<(String, Points)> {
    o.entries
        .iter()
        .filter(|e| e.kind == EntryKind::FirstBonus)
        .map(|e| (e.member.to_string(), e.amount))
        .collect()
}

#[test]
fn the_first_students_to_reply_to_an_announcement_earn_the_bonus_once() {
    let mut w = World::with(firsts(true, 2, "3"));
    let o = w.send(announced("a1", "C1:100", 0));
    assert_eq!(o.announcement_posts.len(), 1);
    assert!(o.feed.iter().any(|f| matches!(
        &f.kind,
        FeedKind::AnnouncementPosted { announcement_id, .. } if announcement_id == "a1"
    )));
    assert!(
        w.send(announced("a1", "C1:100", 0)).is_empty(),
        "a second post record adds nothing"
    );

    // An Instructor replies first: no place, no bonus.
    let o = w.send(reply("C1:101", "C1:100", "ta", 1));
    assert!(bonuses(&o).is_empty());
    assert_eq!(o.first_responses[0].place, None);

    let (o, acts) =
        apply_with_activities(&w.settings, &w.state, &reply("C1:102", "C1:100", "s1", 2));
    assert!(acts.iter().any(|a| a.member == m("s1")
        && matches!(&a.kind, ActivityKind::RespondedToAnnouncement { announcement } if &**announcement == "a1")));
    w.state.apply_outcome(&o);
    assert_eq!(bonuses(&o), vec![("s1".to_string(), p("3"))]);
    assert!(matches!(
        notices_to(&o, "s1").as_slice(),
        [NoticeKind::FirstBonus {
            kind: TargetKind::Announcement,
            place: 1,
            ..
        }]
    ));
    assert_eq!(
        o.feed
            .iter()
            .filter(|f| matches!(f.kind, FeedKind::FirstBonus { place: 1, .. }))
            .count(),
        2,
        "member and community feed"
    );

    // s1 again: once per member per announcement (no activity, no bonus).
    let (o, acts) =
        apply_with_activities(&w.settings, &w.state, &reply("C1:103", "C1:100", "s1", 3));
    assert!(
        acts.is_empty()
            || !acts
                .iter()
                .any(|a| matches!(a.kind, ActivityKind::RespondedToAnnouncement { .. }))
    );
    assert!(o.first_responses.is_empty() && bonuses(&o).is_empty());
    w.state.apply_outcome(&o);

    let o = w.send(reply("C1:104", "C1:100", "s2", 4));
    assert_eq!(bonuses(&o), vec![("s2".to_string(), p("3"))]);
    assert!(
        w.send(reply("C1:104", "C1:100", "s2", 4)).is_empty(),
        "redelivery adds nothing"
    );
    let o = w.send(reply("C1:105", "C1:100", "s3", 5));
    assert!(bonuses(&o).is_empty(), "only the first 2 students");
    assert_eq!(o.first_responses[0].place, Some(3));
    // A bot's reply is no response.
    assert!(w.send(reply("C1:106", "C1:100", "bot", 6)).is_empty());

    assert_eq!(
        (w.earned("s1"), w.earned("s2"), w.earned("s3")),
        (p("3"), p("3"), p("0"))
    );
}

#[test]
fn replies_in_other_threads_or_before_the_post_is_known_are_no_responses() {
    let mut w = World::with(firsts(true, 3, "1"));
    // The reply is processed before the posted event: it responds to nothing.
    let o = w.send(reply("C1:2", "C1:1", "s1", 1));
    assert!(o.first_responses.is_empty());
    w.send(announced("a1", "C1:1", 0));
    let o = w.send(reply("C1:3", "C1:9", "s2", 2));
    assert!(o.first_responses.is_empty(), "another thread");
    // The announcement itself re-sent as a top-level message responds to nothing.
    let o = w.send(Event::MessagePosted(MessagePosted {
        thread: Some("C1:1".into()),
        ..match reply("C1:1", "C1:1", "admin", 0) {
            Event::MessagePosted(p) => p,
            _ => unreachable!(),
        }
    }));
    assert!(o.first_responses.is_empty());
}

#[test]
fn places_count_while_firsts_are_off() {
    let mut w = World::with(firsts(false, 1, "2"));
    w.send(announced("a1", "C1:1", 0));
    let o = w.send(reply("C1:2", "C1:1", "s1", 1));
    assert!(bonuses(&o).is_empty());
    assert_eq!(o.first_responses[0].place, Some(1));
    let on = firsts(true, 1, "2");
    w.send(Event::SettingsChanged(SettingsChanged {
        settings: on,
        by: m("admin"),
        occurred_at: at(2),
    }));
    let o = w.send(reply("C1:3", "C1:1", "s2", 3));
    assert!(bonuses(&o).is_empty(), "s2 is second; only 1 earns it");
    // A new announcement after switching on rewards its first student.
    w.send(announced("a2", "C1:10", 4));
    assert_eq!(
        bonuses(&w.send(reply("C1:11", "C1:10", "s2", 5))),
        vec![("s2".to_string(), p("2"))]
    );
}

#[test]
fn the_first_answerers_of_a_question_earn_it_and_a_deleted_answer_keeps_it() {
    let mut w = World::with(firsts(true, 2, "1.5"));
    w.send(ask("C1:1", "s1", 0));
    // The asker's own reply is no answer and takes no place.
    assert!(w
        .send(reply("C1:2", "C1:1", "s1", 1))
        .first_responses
        .is_empty());
    let o = w.send(reply("C1:3", "C1:1", "s2", 2));
    assert_eq!(bonuses(&o), vec![("s2".to_string(), p("1.5"))]);
    assert!(matches!(
        notices_to(&o, "s2").as_slice(),
        [NoticeKind::AnswerReceived { .. }, ..] | [NoticeKind::FirstBonus { .. }, ..]
    ));
    // A second answer by s2 earns nothing more.
    assert!(bonuses(&w.send(reply("C1:4", "C1:1", "s2", 3))).is_empty());
    assert_eq!(
        bonuses(&w.send(reply("C1:5", "C1:1", "s3", 4))),
        vec![("s3".to_string(), p("1.5"))]
    );
    assert!(bonuses(&w.send(reply("C1:6", "C1:1", "s4", 5))).is_empty());
    // Deleting s2's answers: the bonus stands (documented in `firsts`), nothing reversed.
    let o = w.send(Event::MessageDeleted(MessageDeleted {
        platform_message_id: "C1:3".into(),
        occurred_at: at(6),
    }));
    assert!(o.entries.iter().all(|e| e.kind != EntryKind::FirstBonus));
    assert_eq!(w.earned("s2"), p("1.5"));
}

#[test]
fn answering_five_different_questions_wins_the_badge() {
    let mut w = World::new();
    let badge = BuiltinBadge::AnsweredFive.id();
    for i in 0..5 {
        w.send(ask(&format!("C1:q{i}"), "s1", i));
    }
    for i in 0..4 {
        let o = w.send(reply(
            &format!("C1:a{i}"),
            &format!("C1:q{i}"),
            "s2",
            10 + i,
        ));
        assert!(o.badges.is_empty());
    }
    // A second answer to the same question does not count.
    assert!(w.send(reply("C1:a3b", "C1:q3", "s2", 20)).badges.is_empty());
    // An Instructor's answers never win badges.
    for i in 0..5 {
        assert!(w
            .send(reply(
                &format!("C1:t{i}"),
                &format!("C1:q{i}"),
                "ta",
                30 + i
            ))
            .badges
            .is_empty());
    }
    let o = w.send(reply("C1:a4", "C1:q4", "s2", 40));
    assert!(o
        .badges
        .iter()
        .any(|b| b.member == m("s2") && b.badge == badge));
    assert!(w.state.has_badge(&m("s2"), &badge, badges::ONCE));
    assert!(catalog(&w.settings)
        .iter()
        .any(|b| b.id == badge && b.rule.contains("whether or not the answer is accepted")));
}

#[test]
fn firsts_settings_are_validated() {
    assert!(firsts(true, 3, "1").validate().is_ok());
    let e = firsts(true, 0, "1").validate().unwrap_err().to_string();
    assert!(e.contains("firsts.count"), "{e}");
    let e = firsts(true, 51, "1").validate().unwrap_err().to_string();
    assert!(e.contains("firsts.count"), "{e}");
    let e = firsts(true, 3, "101").validate().unwrap_err().to_string();
    assert!(e.contains("firsts.points"), "{e}");
    let e = firsts(true, 3, "-1").validate().unwrap_err().to_string();
    assert!(e.contains("firsts.points"), "{e}");
    // Old settings JSON without the field keeps parsing, with firsts off.
    let s = CommunitySettings::from_json("{}").unwrap();
    assert!(!s.firsts.enabled);
}

/// One delivery: a reply by member `who` (0 = the Instructor, else student `s<who>`), with
/// its own message number; `dup` redelivers the previous delivery instead.
#[derive(Clone, Debug)]
struct Delivery {
    who: u8,
    dup: bool,
}

fn deliveries() -> impl Strategy<Value = Vec<Delivery>> {
    prop::collection::vec(
        (0u8..=8, prop::bool::weighted(0.25)).prop_map(|(who, dup)| Delivery { who, dup }),
        0..40,
    )
}

proptest! {
    #[test]
    fn exactly_the_first_n_distinct_students_earn_it(
        count in 1u32..=5,
        ds in deliveries(),
        question in any::<bool>(),
    ) {
        let settings = firsts(true, count, "2");
        let mut events = Vec::new();
        let root = if question {
            events.push(ask("C1:root", "s9", 0));
            "C1:root"
        } else {
            events.push(announced("a1", "C1:root", 0));
            "C1:root"
        };
        let mut last: Option<Event> = None;
        for (i, d) in ds.iter().enumerate() {
            let e = match (&last, d.dup) {
                (Some(prev), true) => prev.clone(),
                _ => {
                    let who = if d.who == 0 { "ta".to_string() } else { format!("s{}", d.who) };
                    reply(&format!("C1:r{i}"), root, &who, 1 + i64::try_from(i).unwrap())
                }
            };
            last = Some(e.clone());
            events.push(e);
        }
        // The model: distinct students in delivery order.
        let mut order: Vec<String> = Vec::new();
        for e in &events[1..] {
            if let Event::MessagePosted(mp) = e {
                let a = mp.author.to_string();
                if a != "ta" && !order.contains(&a) {
                    order.push(a);
                }
            }
        }
        let expected: Vec<String> = order.iter().take(count as usize).cloned().collect();

        let mut w = World::with(settings.clone());
        for e in &events {
            w.send(e.clone());
        }
        let mut earned: Vec<String> = w
            .state
            .ledger()
            .iter()
            .filter(|e| e.kind == EntryKind::FirstBonus)
            .map(|e| e.member.to_string())
            .collect();
        prop_assert_eq!(earned.len(), expected.len().min(count as usize));
        let mut want = expected.clone();
        want.sort();
        earned.sort();
        prop_assert_eq!(&earned, &want);
        for s in &expected {
            prop_assert_eq!(w.earned(s), p("2"));
        }
        // Places are 1..=distinct students, in order.
        let places: Vec<(String, u32)> = w
            .state
            .first_responses()
            .iter()
            .filter_map(|r| r.place.map(|p| (r.member.to_string(), p)))
            .collect();
        let model: Vec<(String, u32)> = order
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), u32::try_from(i + 1).unwrap()))
            .collect();
        prop_assert_eq!(places, model);

        // Replay (the events as stored, JSON) gives the same state.
        let json: Vec<String> = events.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
        let mut again = World::with(settings);
        for j in &json {
            again.send(serde_json::from_str(j).unwrap());
        }
        prop_assert_eq!(&again.state, &w.state);
    }
}
