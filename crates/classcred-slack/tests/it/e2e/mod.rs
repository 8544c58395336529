//! End to end: a realistic week of a class of 30 on Slack, sent over HTTP to a running server
//! exactly as Slack would (signed, with retries), then every balance compared with a table
//! computed independently here by a small model of the rules: 5 fire per day per giver in the
//! community's timezone (Europe/Berlin; all or nothing), gift tax per (giver, recipient, ISO
//! week) by bracket (1–15 0 %, 16–20 50 %, 21+ 90 %, counting units still standing), no fire to
//! oneself, edits diffed (newest units taken back first, additions all or nothing at the edit's
//! time), deletes reversing the message and its 🔥 reactions, reversals refunding quota only on
//! the give's own day.
//!
//! The model reads the scenario's intents (who was meant to get how many fire), never the
//! message text; the server reads only the text. Decoy fire and mentions in code spans, code
//! blocks and quotes must therefore not count for the two to agree.

mod model;

use crate::server::Server;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use classcred_store::testing::TestDb;
use model::Model;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

const MEMBERS: usize = 30;
const POSTS: usize = 640;
const QUOTA: u32 = 5;
const CHANNELS: [&str; 2] = ["C0CLASS001", "C0CLASS002"];
/// Heavy givers: each gives the same classmate fire almost every day (gift tax brackets).
const PAIRS: [(usize, usize); 3] = [(1, 2), (3, 4), (5, 6)];

/// Ids that are not people of the class, mentioned in the foreign-bot scenario: another app's
/// bot (a member, from `users.list`), a deactivated user, a user of another workspace and an id
/// Slack does not know (the last three only through `users.info`).
const BOT: usize = MEMBERS;
const EXTRAS: [usize; 4] = [MEMBERS, MEMBERS + 1, MEMBERS + 2, MEMBERS + 3];

fn uid(i: usize) -> String {
    match i {
        i if i < MEMBERS => format!("UCLS{i:03}"),
        i if i == BOT => "UBOT00001".to_owned(),
        i if i == MEMBERS + 1 => "UGONE0001".to_owned(),
        i if i == MEMBERS + 2 => "UOTHER001".to_owned(),
        _ => "UNOSUCH01".to_owned(),
    }
}

/// Sometimes (only in the foreign-bot scenario) one of the [`EXTRAS`] is mentioned as well.
fn maybe_extra(rng: &mut StdRng, extras: bool, mentions: &mut Vec<usize>) {
    if extras && rng.gen_bool(0.25) {
        let e = EXTRAS[rng.gen_range(0..EXTRAS.len())];
        let at = rng.gen_range(0..=mentions.len());
        mentions.insert(at, e);
    }
}

fn ts_of(at: DateTime<Utc>) -> String {
    format!("{}.{:06}", at.timestamp(), at.timestamp_subsec_micros())
}

#[derive(Clone)]
struct Post {
    channel: &'static str,
    ts: String,
    at: DateTime<Utc>,
    author: usize,
}

#[derive(Clone)]
enum Kind {
    Join(usize),
    Post {
        msg: usize,
        mentions: Vec<usize>,
        fire: u32,
        text: String,
        thread: Option<String>,
    },
    Edit {
        msg: usize,
        mentions: Vec<usize>,
        fire: u32,
        text: String,
        prev: String,
    },
    Delete {
        msg: usize,
    },
    React {
        msg: usize,
        reactor: usize,
        add: bool,
        emoji: &'static str,
    },
}

#[derive(Clone)]
struct Ev {
    at: DateTime<Utc>,
    kind: Kind,
}

// ---------------------------------------------------------------- the scenario

fn mention_text(rng: &mut StdRng, m: usize) -> String {
    if rng.gen_bool(0.3) {
        format!("<@{}|student{m}>", uid(m))
    } else {
        format!("<@{}>", uid(m))
    }
}

fn fire_text(rng: &mut StdRng, n: u32) -> String {
    (0..n)
        .map(|_| if rng.gen_bool(0.5) { ":fire:" } else { "🔥" })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text with exactly these mentions and fire tokens outside code and quotes, plus decoys inside.
fn compose(rng: &mut StdRng, mentions: &[usize], fire: u32) -> String {
    let words = [
        "thanks for the help",
        "great explanation",
        "that fixed my bug",
        "nice notes",
        "see you in the lab",
    ];
    let mut t = String::new();
    for m in mentions {
        t.push_str(&mention_text(rng, *m));
        t.push(' ');
    }
    t.push_str(words[rng.gen_range(0..words.len())]);
    t.push(' ');
    t.push_str(&fire_text(rng, fire));
    let decoy = rng.gen_range(0..10);
    let other = rng.gen_range(0..MEMBERS);
    match decoy {
        0 => t.push_str(" (type `:fire:` to give)"),
        1 => t.push_str(&format!("\n```\n<@{}> :fire: 🔥\n```", uid(other))),
        2 => t.push_str(&format!("\n&gt; <@{}> wrote :fire: :fire:", uid(other))),
        3 => t.push_str(&format!(" `<@{}> 🔥`", uid(other))),
        _ => {}
    }
    t
}

fn scenario(seed: u64, extras: bool) -> (Vec<Post>, Vec<Ev>) {
    let mut rng = StdRng::seed_from_u64(seed);
    // Monday 2026-03-02 00:20 to Sunday 23:40, Berlin time (UTC+1): early and late posts fall on
    // another UTC day than their local day.
    let start = Berlin
        .with_ymd_and_hms(2026, 3, 2, 0, 20, 0)
        .unwrap()
        .with_timezone(&Utc);
    let span = 7 * 24 * 3600 - 40 * 60;
    let mut events = Vec::new();
    for i in 0..MEMBERS {
        events.push(Ev {
            at: start - Duration::hours(2) + Duration::seconds(i as i64),
            kind: Kind::Join(i),
        });
    }
    let mut secs: Vec<i64> = (0..POSTS).map(|_| rng.gen_range(0..span)).collect();
    secs.sort_unstable();
    let mut posts = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    for (i, s) in secs.into_iter().enumerate() {
        let at = start + Duration::seconds(s) + Duration::microseconds(i as i64 + 1);
        let channel = CHANNELS[rng.gen_range(0..CHANNELS.len())];
        let roll = rng.gen_range(0..100);
        let (author, mentions, fire) = if roll < 30 {
            let (a, b) = PAIRS[rng.gen_range(0..PAIRS.len())];
            (a, vec![b], rng.gen_range(1..=3))
        } else if roll < 35 {
            (rng.gen_range(0..MEMBERS), vec![], 0) // chatter
        } else {
            let author = rng.gen_range(0..MEMBERS);
            let k = rng.gen_range(1..=3);
            let mut m: Vec<usize> = (0..k).map(|_| rng.gen_range(0..MEMBERS)).collect();
            if rng.gen_bool(0.08) {
                m.push(author); // self-mention: refused for the author
            }
            if rng.gen_bool(0.1) {
                m.push(m[0]); // the same person twice counts once
            }
            maybe_extra(&mut rng, extras, &mut m);
            let fire = match rng.gen_range(0..100) {
                0..=7 => 0,
                8..=57 => 1,
                58..=87 => 2,
                _ => 3,
            };
            (author, m, fire)
        };
        let text = if mentions.is_empty() && fire == 0 {
            "ok, see you tomorrow".to_owned()
        } else {
            compose(&mut rng, &mentions, fire)
        };
        let thread = (rng.gen_bool(0.2) && !posts.is_empty())
            .then(|| {
                let p: &Post = &posts[rng.gen_range(0..posts.len())];
                (p.channel == channel).then(|| p.ts.clone())
            })
            .flatten();
        posts.push(Post {
            channel,
            ts: ts_of(at),
            at,
            author,
        });
        texts.push(text.clone());
        events.push(Ev {
            at,
            kind: Kind::Post {
                msg: i,
                mentions,
                fire,
                text,
                thread,
            },
        });
    }
    let end = start + Duration::seconds(span + 30 * 60);
    let later = |rng: &mut StdRng, at: DateTime<Utc>, max_min: i64| {
        (at + Duration::seconds(rng.gen_range(30..max_min * 60))).min(end)
    };
    // Reactions: unique (message, reactor) pairs; some removed, some of those re-added.
    let mut used = HashSet::new();
    for _ in 0..170 {
        let msg = rng.gen_range(0..posts.len());
        let reactor = if rng.gen_bool(0.05) {
            posts[msg].author
        } else {
            rng.gen_range(0..MEMBERS)
        };
        if !used.insert((msg, reactor)) {
            continue;
        }
        let emoji = if rng.gen_bool(0.12) {
            "thumbsup"
        } else {
            "fire"
        };
        let t1 = later(&mut rng, posts[msg].at, 600);
        events.push(Ev {
            at: t1,
            kind: Kind::React {
                msg,
                reactor,
                add: true,
                emoji,
            },
        });
        if rng.gen_bool(0.35) {
            let t2 = later(&mut rng, t1, 240);
            events.push(Ev {
                at: t2,
                kind: Kind::React {
                    msg,
                    reactor,
                    add: false,
                    emoji,
                },
            });
            if rng.gen_bool(0.3) {
                let t3 = later(&mut rng, t2, 60);
                events.push(Ev {
                    at: t3,
                    kind: Kind::React {
                        msg,
                        reactor,
                        add: true,
                        emoji,
                    },
                });
            }
        }
    }
    // Edits (a few messages edited twice), always keeping a mention in the text.
    let mut edited: HashMap<usize, DateTime<Utc>> = HashMap::new();
    for _ in 0..60 {
        let msg = rng.gen_range(0..posts.len());
        let after = edited.get(&msg).copied().unwrap_or(posts[msg].at);
        let at = later(&mut rng, after, 300);
        edited.insert(msg, at);
        let k = rng.gen_range(1..=3);
        let mut mentions: Vec<usize> = (0..k).map(|_| rng.gen_range(0..MEMBERS)).collect();
        maybe_extra(&mut rng, extras, &mut mentions);
        let fire = rng.gen_range(0..=3);
        let text = compose(&mut rng, &mentions, fire);
        events.push(Ev {
            at,
            kind: Kind::Edit {
                msg,
                mentions,
                fire,
                text,
                prev: String::new(),
            },
        });
    }
    for _ in 0..25 {
        let msg = rng.gen_range(0..posts.len());
        let at = later(&mut rng, posts[msg].at, 900);
        events.push(Ev {
            at,
            kind: Kind::Delete { msg },
        });
    }
    events.sort_by_key(|e| e.at);
    // Each edit's previous text, in delivery order.
    for e in &mut events {
        if let Kind::Edit {
            msg, text, prev, ..
        } = &mut e.kind
        {
            *prev = std::mem::replace(&mut texts[*msg], text.clone());
        }
    }
    (posts, events)
}

// ---------------------------------------------------------------- Slack payloads

fn envelope(event_id: &str, at: DateTime<Utc>, event: Value) -> Vec<u8> {
    json!({
        "token": "XXYYZZ", "team_id": crate::server::TEAM, "api_app_id": "A0PNCHHK2",
        "event": event, "type": "event_callback", "event_id": event_id, "event_time": at.timestamp(),
        "authorizations": [{"team_id": crate::server::TEAM, "user_id": "U0BOTUSER", "is_bot": true, "is_enterprise_install": false}],
        "is_ext_shared_channel": false
    })
    .to_string()
    .into_bytes()
}

fn payload(posts: &[Post], e: &Ev) -> Value {
    let at = ts_of(e.at);
    match &e.kind {
        Kind::Join(i) => json!({"type": "team_join", "event_ts": at, "user": {
            "id": uid(*i), "team_id": crate::server::TEAM, "name": format!("student{i}"), "real_name": format!("Student {i}"),
            "tz": "Europe/Berlin", "is_bot": false, "deleted": false,
            "profile": {"display_name": format!("student{i}"), "email": format!("student{i}@uni.example"), "image_72": "https://avatars.example.com/72.png"}}}),
        Kind::Post {
            msg, text, thread, ..
        } => {
            let p = &posts[*msg];
            let mut ev = json!({"type": "message", "channel": p.channel, "user": uid(p.author), "text": text,
                "ts": p.ts, "event_ts": p.ts, "channel_type": "channel", "team": crate::server::TEAM});
            if let Some(t) = thread {
                ev["thread_ts"] = json!(t);
                ev["parent_user_id"] = json!("UCLS000");
            }
            ev
        }
        Kind::Edit {
            msg, text, prev, ..
        } => {
            let p = &posts[*msg];
            json!({"type": "message", "subtype": "message_changed", "hidden": true, "channel": p.channel,
                "message": {"type": "message", "user": uid(p.author), "text": text, "ts": p.ts,
                            "edited": {"user": uid(p.author), "ts": at}},
                "previous_message": {"type": "message", "user": uid(p.author), "text": prev, "ts": p.ts},
                "event_ts": at, "ts": at, "channel_type": "channel"})
        }
        Kind::Delete { msg } => {
            let p = &posts[*msg];
            json!({"type": "message", "subtype": "message_deleted", "hidden": true, "channel": p.channel,
                "deleted_ts": p.ts, "event_ts": at, "ts": at, "channel_type": "channel"})
        }
        Kind::React {
            msg,
            reactor,
            add,
            emoji,
        } => {
            let p = &posts[*msg];
            json!({"type": if *add { "reaction_added" } else { "reaction_removed" }, "user": uid(*reactor),
                "reaction": emoji, "item_user": uid(p.author),
                "item": {"type": "message", "channel": p.channel, "ts": p.ts}, "event_ts": at})
        }
    }
}

// ---------------------------------------------------------------- the test

#[tokio::test]
async fn a_week_of_class_over_http_matches_an_independent_model() {
    week_of_class(false).await;
}

/// The same class with another app's bot in the workspace (`users.list` says so), and mentions
/// of it, of a deactivated user, of a user of another workspace and of an id Slack does not
/// know, among redeliveries and edits: none of them receives fire or costs quota, none but the
/// bot becomes a member, and balances equal the model's.
#[tokio::test]
async fn a_week_of_class_with_a_foreign_bot_matches_an_independent_model() {
    week_of_class(true).await;
}

async fn week_of_class(extras: bool) {
    let (posts, events) = scenario(2026, extras);
    let with_fire = events
        .iter()
        .filter(|e| matches!(e.kind, Kind::Post { fire, .. } if fire > 0))
        .count();
    assert!(with_fire >= 500, "{with_fire} messages with fire");

    // The model, over the original deliveries in order.
    let mut model = Model::default();
    for e in &events {
        model.apply(&posts, e);
    }
    assert!(
        model.taxed_units > 0,
        "the scenario reaches the gift tax brackets"
    );
    assert!(model.refused_gives > 0, "the scenario hits the daily quota");
    assert!(
        model.reversed_units > 0,
        "edits, deletes and removals take fire back"
    );

    // Deliveries: every event once, plus 10 % redelivered later (half as Slack retries with the
    // same event id, half as duplicates under a new event id), in a shuffled later position.
    let mut rng = StdRng::seed_from_u64(7);
    let mut deliveries: Vec<(String, usize, bool)> = (0..events.len())
        .map(|i| (format!("Ev{i:07}"), i, false))
        .collect();
    let conversation: Vec<usize> = (0..events.len())
        .filter(|i| !matches!(events[*i].kind, Kind::Join(_)))
        .collect();
    let redeliver = conversation.len() / 10;
    let (mut same_id, mut new_id) = (0, 0);
    for k in 0..redeliver {
        let i = conversation[rng.gen_range(0..conversation.len())];
        let pos = deliveries.iter().position(|d| d.1 == i && !d.2).unwrap();
        let at = rng.gen_range(pos + 1..=deliveries.len());
        if k % 2 == 0 {
            deliveries.insert(at, (format!("Ev{i:07}"), i, true));
            same_id += 1;
        } else {
            deliveries.insert(at, (format!("Ev{i:07}-dup{k}"), i, true));
            new_id += 1;
        }
    }

    for db in TestDb::all().await {
        let backend = db.backend();
        let clock_start = Utc.with_ymd_and_hms(2026, 3, 9, 9, 0, 0).unwrap();
        let s = Server::start(db, clock_start, true).await;
        let c = s.community().to_owned();
        {
            let mut tx = s.store.begin().await.unwrap();
            tx.for_community(&c)
                .configure_settings_before_activity(
                    &json!({"timezone": "Europe/Berlin", "daily_quota": QUOTA}).to_string(),
                )
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        if extras {
            // Single-workspace set-up: the member sync (a job) learns the bot from users.list.
            let mut list: Vec<Value> = (0..5)
                .map(|i| json!({"id": uid(i), "team_id": crate::server::TEAM, "name": format!("student{i}"), "is_bot": false, "deleted": false, "profile": {}}))
                .collect();
            list.push(json!({"id": uid(BOT), "team_id": crate::server::TEAM, "name": "otherapp", "is_bot": true, "deleted": false, "profile": {}}));
            s.fake.script(
                "/api/users.list",
                vec![
                    json!({"ok": true, "members": list, "response_metadata": {"next_cursor": ""}})
                        .to_string(),
                ],
            );
            s.fake.user_info(&uid(BOT), json!({"ok": true, "user": {"id": uid(BOT), "team_id": crate::server::TEAM, "is_bot": true, "deleted": false, "profile": {}}}));
            s.fake.user_info(&uid(MEMBERS + 1), json!({"ok": true, "user": {"id": uid(MEMBERS + 1), "team_id": crate::server::TEAM, "is_bot": false, "deleted": true, "profile": {}}}));
            s.fake.user_info(&uid(MEMBERS + 2), json!({"ok": true, "user": {"id": uid(MEMBERS + 2), "team_id": "T0OTHERWS", "is_bot": false, "deleted": false, "profile": {}}}));
            s.fake.user_info(
                &uid(MEMBERS + 3),
                json!({"ok": false, "error": "user_not_found"}),
            );
            classcred_slack::sync::enqueue_sync(&s.store, &c)
                .await
                .unwrap();
            s.run_jobs().await;
            assert_eq!(s.fake.calls_to("/api/users.list").len(), 1, "{backend}");
        }
        let started = std::time::Instant::now();
        for (event_id, i, retry) in &deliveries {
            let e = &events[*i];
            let body = envelope(event_id, e.at, payload(&posts, e));
            // Strictly increasing receive times keep the inbox in delivery order.
            s.clock.advance(Duration::milliseconds(1));
            let same = *retry && !event_id.contains("-dup");
            let headers: &[(&str, &str)] = if same {
                &[
                    ("x-slack-retry-num", "1"),
                    ("x-slack-retry-reason", "http_timeout"),
                ]
            } else {
                &[]
            };
            let r = s
                .post_signed("/slack/events", "application/json", body, headers)
                .await;
            assert_eq!(r.status(), 200, "{backend}: delivery {event_id}");
        }
        let sent = started.elapsed();
        let processed = if extras {
            // Through the workers: drains, member lookups, notices.
            let jobs = s.run_jobs().await;
            let mut tx = s.store.begin().await.unwrap();
            let pending = tx.for_community(&c).pending_inbox_count().await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(pending, 0, "{backend}: every event processed");
            jobs
        } else {
            classcred_service::drain(&s.store, &c).await.unwrap()
        };
        let mut balances = s.balances(&c).await;
        if extras {
            assert_eq!(
                balances.remove(&uid(BOT)),
                Some(0),
                "{backend}: the bot is a member, with nothing"
            );
            for e in &EXTRAS[1..] {
                assert!(
                    !balances.contains_key(&uid(*e)),
                    "{backend}: {} is not a member",
                    uid(*e)
                );
            }
            let lookups = s.fake.calls_to("/api/users.info");
            assert_eq!(
                lookups.len(),
                3,
                "{backend}: each unknown id looked up once, the bot never"
            );
        }
        let mut mismatches = Vec::new();
        for i in 0..MEMBERS {
            let got = balances.get(&uid(i)).copied().unwrap_or(0);
            let want = model.earned.get(&i).copied().unwrap_or(0);
            if got != want {
                mismatches.push(format!("{}: server {got}, model {want}", uid(i)));
            }
        }
        assert_eq!(balances.len(), MEMBERS, "{backend}: exactly the class");
        assert!(mismatches.is_empty(), "{backend}: {mismatches:#?}");
        let report = classcred_service::replay(&s.store, &c, |_, _| {})
            .await
            .unwrap();
        assert!(report.matches(), "{backend}: {:?}", report.differences);
        println!(
            "{backend}: {MEMBERS} members, {} events ({with_fire} messages with fire), {} deliveries \
             ({same_id} retries with the same event id, {new_id} duplicates with a new id), \
             {processed} inbox rows processed, {} ledger entries, {} taxed units, {} refused gives, \
             {} reversed units; sent in {sent:?}",
            events.len(),
            deliveries.len(),
            report.ledger_entries,
            model.taxed_units,
            model.refused_gives,
            model.reversed_units,
        );
    }
}
