//! Questions and answers: asking, answering, accepting, deleting, the reward; a property test
//! against a simple model; replay equals live.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use crate::support::{m, notices_to, p, t, World};
use classcred_engine::*;

fn ask(id: &str, author: &str, channel: &str, at: DateTime<Utc>) -> Event {
    Event::MessagePosted(MessagePosted {
        platform_message_id: id.into(),
        author: m(author),
        mentions: Vec::new(),
        fire_count: 0,
        text: "how?".into(),
        thread: None,
        channel: Some(channel.into()),
        occurred_at: at,
        is_question: true,
    })
}

fn reply(id: &str, root: &str, author: &str, at: DateTime<Utc>) -> Event {
    Event::MessagePosted(MessagePosted {
        platform_message_id: id.into(),
        author: m(author),
        mentions: Vec::new(),
        fire_count: 0,
        text: "like this".into(),
        thread: Some(root.into()),
        channel: Some("C1".into()),
        occurred_at: at,
        is_question: false,
    })
}

fn accept(q: &str, a: &str, by: &str, at: DateTime<Utc>) -> Event {
    Event::AnswerAccepted(AnswerAccepted {
        question: q.into(),
        answer: a.into(),
        by: m(by),
        occurred_at: at,
    })
}

fn delete(id: &str, at: DateTime<Utc>) -> Event {
    Event::MessageDeleted(MessageDeleted {
        platform_message_id: id.into(),
        occurred_at: at,
    })
}

fn at(min: i64) -> DateTime<Utc> {
    t("2026-11-02T09:00:00Z") + Duration::minutes(min)
}

fn answered(w: &World, q: &str) -> Option<String> {
    w.state.question(q).and_then(|r| r.accepted)
}

#[test]
fn the_askers_accept_rewards_the_answerer_once() {
    let mut w = World::new();
    let o = w.send(ask("C1:1", "s1", "C1", at(0)));
    assert_eq!(o.questions.len(), 1);
    assert!(o
        .feed
        .iter()
        .any(|f| matches!(f.kind, FeedKind::QuestionAsked { .. })));
    let o = w.send(reply("C1:2", "C1:1", "s2", at(1)));
    assert!(o.entries.is_empty(), "no reward before an accept");
    assert!(matches!(
        notices_to(&o, "s1").as_slice(),
        [NoticeKind::AnswerReceived { answer, .. }] if answer == "C1:2"
    ));
    assert_eq!(answered(&w, "C1:1"), None);
    let o = w.send(accept("C1:1", "C1:2", "s1", at(2)));
    assert_eq!(o.entries.len(), 1);
    assert_eq!(o.entries[0].kind, EntryKind::AnswerReward);
    assert_eq!(o.entries[0].key.as_str(), "ans:C1%3A2/s2/0/answer_reward");
    assert_eq!(w.earned("s2"), p("1"));
    assert_eq!(answered(&w, "C1:1").as_deref(), Some("C1:2"));
    assert!(matches!(
        notices_to(&o, "s2").as_slice(),
        [NoticeKind::AnswerAccepted { reward, .. }] if *reward == p("1")
    ));
    // Redelivered: nothing new.
    assert!(w.send(accept("C1:1", "C1:2", "s1", at(2))).is_empty());
    assert!(w.send(reply("C1:2", "C1:1", "s2", at(1))).is_empty());
    assert!(w.send(ask("C1:1", "s1", "C1", at(0))).is_empty());
    assert_eq!(w.earned("s2"), p("1"));
}

#[test]
fn only_the_asker_or_staff_accept_and_only_answers_by_others() {
    let mut w = World::new();
    w.send(ask("q", "s1", "C1", at(0)));
    let o = w.send(reply("own", "q", "s1", at(1)));
    assert!(o.is_empty(), "the asker's own reply is not an answer");
    w.send(reply("a", "q", "s2", at(2)));
    w.send(reply("b", "q", "bot", at(2)));
    let o = w.send(accept("q", "a", "s3", at(3)));
    assert!(matches!(
        notices_to(&o, "s3").as_slice(),
        [NoticeKind::Refused { .. }]
    ));
    let o = w.send(accept("q", "own", "s1", at(3)));
    assert!(matches!(
        notices_to(&o, "s1").as_slice(),
        [NoticeKind::Refused { .. }]
    ));
    let o = w.send(accept("q", "b", "s1", at(3)));
    assert!(o.entries.is_empty(), "a bot's reply is not an answer");
    let o = w.send(accept("q", "a", "ta", at(4)));
    assert_eq!(o.entries.len(), 1);
    assert_eq!(w.earned("s2"), p("1"));
    let o = w.send(accept("nope", "a", "ta", at(4)));
    assert!(matches!(
        notices_to(&o, "ta").as_slice(),
        [NoticeKind::Refused { .. }]
    ));
}

#[test]
fn staff_answers_are_accepted_without_reward() {
    let mut w = World::new();
    w.send(ask("q", "s1", "C1", at(0)));
    w.send(reply("a", "q", "ta", at(1)));
    let o = w.send(accept("q", "a", "s1", at(2)));
    assert!(o.entries.is_empty());
    assert_eq!(answered(&w, "q").as_deref(), Some("a"));
    assert_eq!(w.earned("ta"), Points::ZERO);
}

#[test]
fn deleting_the_accepted_answer_or_the_question_reverses_the_reward() {
    let mut w = World::new();
    w.send(ask("q", "s1", "C1", at(0)));
    w.send(reply("a", "q", "s2", at(1)));
    w.send(reply("b", "q", "s3", at(2)));
    w.send(accept("q", "a", "s1", at(3)));
    // Accepting another answer moves the reward.
    let o = w.send(accept("q", "b", "s1", at(4)));
    assert_eq!(o.entries.len(), 2);
    assert_eq!((w.earned("s2"), w.earned("s3")), (p("0"), p("1")));
    // Deleting the accepted answer: the earlier accept stands again.
    let o = w.send(delete("b", at(5)));
    assert!(o.entries.iter().any(|e| e.kind == EntryKind::Reversal));
    assert_eq!((w.earned("s2"), w.earned("s3")), (p("1"), p("0")));
    assert_eq!(answered(&w, "q").as_deref(), Some("a"));
    assert_eq!(
        w.state.ledger()[4].key.as_str(),
        "ans:a/s2/1/answer_reward",
        "a fresh unit"
    );
    // Deleting the question: off the list, reward reversed.
    w.send(delete("q", at(6)));
    assert_eq!(w.earned("s2"), p("0"));
    assert!(w
        .state
        .question("q")
        .is_some_and(|q| q.deleted && q.accepted.is_none()));
    assert!(w.send(accept("q", "a", "s1", at(7))).entries.is_empty());
    let sum: Points = w.state.ledger().iter().map(|e| e.amount).sum();
    assert_eq!(sum, Points::ZERO);
}

#[test]
fn auto_accept_takes_the_first_reply_until_someone_accepts() {
    let mut s = CommunitySettings::default();
    s.questions.auto_accept = true;
    s.questions.reward = p("2");
    let mut w = World::with(s);
    w.send(ask("q", "s1", "C1", at(0)));
    w.send(reply("a", "q", "s2", at(1)));
    assert_eq!(answered(&w, "q").as_deref(), Some("a"));
    assert_eq!(w.earned("s2"), p("2"));
    w.send(reply("b", "q", "s3", at(2)));
    assert_eq!(w.earned("s3"), p("0"));
    w.send(accept("q", "b", "s1", at(3)));
    assert_eq!((w.earned("s2"), w.earned("s3")), (p("0"), p("2")));
}

#[test]
fn tracked_channels_reward_zero_and_edits() {
    let mut s = CommunitySettings::default();
    s.questions.tracked_channels = vec!["C1".into()];
    s.questions.reward = Points::ZERO;
    let mut w = World::with(s);
    assert!(w.send(ask("x", "s1", "C9", at(0))).questions.is_empty());
    assert!(w.send(ask("bq", "bot", "C1", at(0))).questions.is_empty());
    w.send(ask("q", "s1", "C1", at(0)));
    w.send(reply("a", "q", "s2", at(1)));
    let o = w.send(accept("q", "a", "s1", at(2)));
    assert!(o.entries.is_empty(), "reward 0 = off");
    assert_eq!(answered(&w, "q").as_deref(), Some("a"));
    // An edit never flips a question.
    let o = w.send(Event::MessageEdited(MessageEdited {
        platform_message_id: "q".into(),
        author: m("s1"),
        mentions: Vec::new(),
        fire_count: 0,
        text: "never mind.".into(),
        occurred_at: at(3),
    }));
    assert!(o.questions.is_empty());
    assert!(w.state.question("q").is_some_and(|q| !q.deleted));
}

#[test]
fn settings_refuse_bad_question_settings() {
    let mut s = CommunitySettings::default();
    s.questions.reward = p("-1");
    assert!(matches!(
        s.validate(),
        Err(SettingsError::Invalid { field, .. }) if field == "questions.reward"
    ));
    let old: CommunitySettings = serde_json::from_str("{\"daily_quota\":3}").unwrap();
    assert_eq!(*old.questions, QuestionSettings::default());
}

// ---- Property: any order and duplication against a simple model ----

const PEOPLE: [&str; 5] = ["s1", "s2", "s3", "ta", "bot"];

#[derive(Debug, Clone)]
enum Op {
    Ask { q: usize, asker: usize },
    Reply { q: usize, author: usize },
    Accept { q: usize, reply: usize, by: usize },
    Delete { target: Target },
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Question(usize),
    Reply(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 0..5usize).prop_map(|(q, author)| Op::Reply { q, author }),
        (0..3usize, 0..12usize, 0..5usize).prop_map(|(q, reply, by)| Op::Accept { q, reply, by }),
        (0..12usize).prop_map(|r| Op::Delete {
            target: Target::Reply(r)
        }),
        (0..3usize).prop_map(|q| Op::Delete {
            target: Target::Question(q)
        }),
    ]
}

/// A canonical stream: the three questions first, then the ops, one minute apart. Each reply
/// gets the next reply id; accepts and deletes name replies by index.
fn events(askers: &[usize], ops: &[Op]) -> Vec<Event> {
    let mut out = Vec::new();
    let mut all: Vec<Op> = askers
        .iter()
        .enumerate()
        .map(|(q, &asker)| Op::Ask { q, asker })
        .collect();
    all.extend(ops.iter().cloned());
    let mut replies = 0;
    for (i, o) in all.iter().enumerate() {
        let when = at(i as i64);
        out.push(match *o {
            Op::Ask { q, asker } => ask(&format!("q{q}"), PEOPLE[asker], "C1", when),
            Op::Reply { q, author } => {
                replies += 1;
                reply(
                    &format!("r{}", replies - 1),
                    &format!("q{q}"),
                    PEOPLE[author],
                    when,
                )
            }
            Op::Accept { q, reply, by } => {
                accept(&format!("q{q}"), &format!("r{reply}"), PEOPLE[by], when)
            }
            Op::Delete {
                target: Target::Question(q),
            } => delete(&format!("q{q}"), when),
            Op::Delete {
                target: Target::Reply(r),
            } => delete(&format!("r{r}"), when),
        });
    }
    out
}

#[derive(Default)]
struct ModelQuestion {
    asker: String,
    deleted: bool,
    /// reply id -> (author, posted, deleted)
    answers: BTreeMap<String, (String, DateTime<Utc>, bool)>,
    /// (time, reply id)
    accepts: Vec<(DateTime<Utc>, String)>,
}

/// The rules in their simplest form, over the delivery order.
fn model(events: &[Event], auto: bool) -> (BTreeMap<String, String>, BTreeMap<String, Points>) {
    let mut qs: BTreeMap<String, ModelQuestion> = BTreeMap::new();
    let mut gone: BTreeSet<String> = BTreeSet::new();
    let human = |who: &str| who != "bot";
    for e in events {
        match e {
            Event::MessagePosted(p) if p.thread.is_none() => {
                let asks = !gone.contains(&p.platform_message_id) && human(p.author.as_str());
                if asks {
                    qs.entry(p.platform_message_id.clone())
                        .or_insert_with(|| ModelQuestion {
                            asker: p.author.to_string(),
                            ..ModelQuestion::default()
                        });
                }
            }
            Event::MessagePosted(p) => {
                let root = p.thread.clone().unwrap_or_default();
                if let Some(q) = qs.get_mut(&root) {
                    if !q.deleted
                        && !gone.contains(&p.platform_message_id)
                        && q.asker != p.author.as_str()
                        && human(p.author.as_str())
                    {
                        q.answers.entry(p.platform_message_id.clone()).or_insert((
                            p.author.to_string(),
                            p.occurred_at,
                            false,
                        ));
                    }
                }
            }
            Event::AnswerAccepted(a) => {
                if let Some(q) = qs.get_mut(&a.question) {
                    let allowed =
                        q.asker == a.by.as_str() || matches!(a.by.as_str(), "ta" | "admin");
                    let live = q.answers.get(&a.answer).is_some_and(|x| !x.2);
                    if !q.deleted && allowed && live {
                        q.accepts.push((a.occurred_at, a.answer.clone()));
                    }
                }
            }
            Event::MessageDeleted(d) => {
                gone.insert(d.platform_message_id.clone());
                for q in qs.values_mut() {
                    if let Some(a) = q.answers.get_mut(&d.platform_message_id) {
                        a.2 = true;
                    }
                }
                if let Some(q) = qs.get_mut(&d.platform_message_id) {
                    q.deleted = true;
                }
            }
            _ => {}
        }
    }
    let mut chosen = BTreeMap::new();
    let mut earned: BTreeMap<String, Points> = BTreeMap::new();
    for (id, q) in &qs {
        if q.deleted {
            continue;
        }
        let live = |a: &String| q.answers.get(a).is_some_and(|x| !x.2);
        let pick = q
            .accepts
            .iter()
            .filter(|(_, a)| live(a))
            .max()
            .map(|(_, a)| a.clone())
            .or_else(|| {
                auto.then(|| {
                    q.answers
                        .iter()
                        .filter(|(_, x)| !x.2)
                        .min_by_key(|(a, x)| (x.1, (*a).clone()))
                        .map(|(a, _)| a.clone())
                })
                .flatten()
            });
        if let Some(a) = pick {
            let author = q.answers[&a].0.clone();
            if author.starts_with('s') {
                *earned.entry(author).or_default() += Points::from_whole(1);
            }
            chosen.insert(id.clone(), a);
        }
    }
    (chosen, earned)
}

fn run(settings: &CommunitySettings, deliveries: &[Event]) -> World {
    let mut w = World::with(settings.clone());
    for e in deliveries {
        w.send(e.clone());
    }
    w
}

fn observed(w: &World) -> (BTreeMap<String, String>, BTreeMap<String, Points>) {
    let chosen = w
        .state
        .questions()
        .into_iter()
        .filter(|q| !q.deleted)
        .filter_map(|q| {
            q.accepted
                .clone()
                .map(|a| (q.platform_message_id.clone(), a))
        })
        .collect();
    let earned = PEOPLE
        .iter()
        .filter(|p| w.earned(p) != Points::ZERO)
        .map(|p| (p.to_string(), w.earned(p)))
        .collect();
    (chosen, earned)
}

/// Keeps the first delivery of each event.
fn dedup(deliveries: &[Event]) -> Vec<Event> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for e in deliveries {
        if !seen.contains(e) {
            seen.push(e.clone());
            out.push(e.clone());
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_order_and_duplication_matches_the_model(
        askers in proptest::collection::vec(0..4usize, 3),
        ops in proptest::collection::vec(op(), 0..30),
        copies in proptest::collection::vec(1..4usize, 60),
        order in proptest::collection::vec(any::<u32>(), 200),
        auto in any::<bool>(),
    ) {
        let mut settings = CommunitySettings::default();
        settings.questions.auto_accept = auto;
        let canonical = events(&askers, &ops);
        let mut deliveries: Vec<(u32, Event)> = Vec::new();
        for (i, e) in canonical.iter().enumerate() {
            for c in 0..copies[i % copies.len()] {
                deliveries.push((order[(i * 3 + c) % order.len()], e.clone()));
            }
        }
        deliveries.sort_by_key(|(k, _)| *k);
        let deliveries: Vec<Event> = deliveries.into_iter().map(|(_, e)| e).collect();

        // Matches the model, whatever the order and duplication.
        let mut live = run(&settings, &deliveries);
        prop_assert_eq!(observed(&live), model(&deliveries, auto));
        // Without duplicates too (a reply delivered before its question is not an answer,
        // but its redelivery after the question is).
        let once = run(&settings, &dedup(&deliveries));
        prop_assert_eq!(observed(&once), model(&dedup(&deliveries), auto));
        // Delivering everything again gives the model's result for the longer sequence (a
        // reply first seen before its question counts now); a third time changes nothing.
        let before = live.state.clone();
        let twice = [deliveries.clone(), deliveries.clone()].concat();
        for e in &deliveries {
            live.send(e.clone());
        }
        prop_assert_eq!(observed(&live), model(&twice, auto));
        let settled = live.state.ledger().len();
        for e in &deliveries {
            let o = live.send(e.clone());
            prop_assert!(o.entries.is_empty() && o.questions.is_empty(), "{:?}", e);
        }
        prop_assert_eq!(live.state.ledger().len(), settled);
        // Balances are the ledger's sums, and every standing reward is on the ledger.
        for who in PEOPLE {
            let sum: Points = live.state.ledger().iter().filter(|e| e.member == m(who)).map(|e| e.amount).sum();
            prop_assert_eq!(live.earned(who), sum);
        }
        // Replay through JSON equals live.
        let json: Vec<String> = deliveries.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
        let replayed: Vec<Event> = json.iter().map(|j| serde_json::from_str(j).unwrap()).collect();
        prop_assert_eq!(&run(&settings, &replayed).state, &before);

        // With every post delivered first, accepts and deletes in any order (and duplicated)
        // give the canonical order's result.
        let rest: Vec<Event> = deliveries
            .iter()
            .filter(|e| !matches!(e, Event::MessagePosted(_)))
            .cloned()
            .collect();
        let (cposts, crest): (Vec<Event>, Vec<Event>) = canonical
            .iter()
            .cloned()
            .partition(|e| matches!(e, Event::MessagePosted(_)));
        let shuffled = run(&settings, &[cposts.clone(), rest].concat());
        let straight = run(&settings, &[cposts, crest].concat());
        prop_assert_eq!(observed(&shuffled), observed(&straight));
    }
}
