//! The bench's class stream and its own model of the rules (the oracle of the correctness check).
//!
//! The stream is sent concurrently, so the server may store deliveries of one phase in any
//! order. It is therefore generated so that the expected balances do not depend on that order:
//!
//! 1. **joins**: every student's `team_join`.
//! 2. **gives**: messages with mentions and fire (`:fire:` / 🔥, decoys in code spans that must
//!    not count), chatter, 🔥 and other reactions, redeliveries. No giver ever exceeds the daily
//!    quota, so all-or-nothing never refuses; gift tax is per (giver, recipient, ISO week) by the
//!    ordinal of the unit, and the sum of a pair's nets depends only on how many units it got.
//! 3. **reversals**: deletes, reaction removals and edits that take fire back, only for units
//!    whose (giver, recipient, week) stayed within the untaxed bracket (every unit's net is then
//!    a whole point, whichever order the server processed them in).
//!
//! The next phase is sent only after every delivery of the previous one was acknowledged (and
//! a few milliseconds later), so the inbox holds the phases in order.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

pub const TEAM: &str = "T0BENCH001";
pub const BOT_USER: &str = "U0BOTUSER";
/// The daily quota the bench configures (the engine's maximum); the generator stays under it.
pub const QUOTA: u32 = 1000;
const CHANNELS: [&str; 4] = ["C0BENCH001", "C0BENCH002", "C0BENCH003", "C0BENCH004"];
/// Units per (giver, recipient, week) that are never taxed (default brackets: 1–15 at 0 %).
const UNTAXED: u32 = 15;
/// Pairs (0→1, 2→3, …) of heavy givers.
const HEAVY: usize = 5;

pub fn uid(i: usize) -> String {
    format!("U{i:08}")
}

/// One signed-to-be request: its event id, body and whether it is a retry of an earlier one.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: String,
    pub body: Vec<u8>,
    pub retry: bool,
}

#[derive(Debug, Default)]
pub struct Stream {
    pub joins: Vec<Delivery>,
    pub gives: Vec<Delivery>,
    pub reversals: Vec<Delivery>,
    /// Expected lifetime earned points (thousandths) per student's platform id.
    pub expected: BTreeMap<String, i64>,
    pub stats: Stats,
}

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub students: usize,
    pub messages: usize,
    pub messages_with_fire: usize,
    pub fire_reactions: usize,
    pub units: usize,
    pub taxed_units: usize,
    pub reversed_units: usize,
    pub edits: usize,
    pub deletes: usize,
    pub reaction_removals: usize,
    pub redeliveries: usize,
}

impl Stream {
    /// Unique events (without redeliveries) across all phases.
    pub fn events(&self) -> usize {
        self.joins.len() + self.gives.len() + self.reversals.len() - self.stats.redeliveries
    }
}

#[derive(Clone, Copy)]
struct Unit {
    giver: usize,
    recipient: usize,
    week: (i32, u32),
    net: i64,
}

struct Post {
    channel: &'static str,
    ts: String,
    author: usize,
    mentions: Vec<usize>,
    fire: u32,
    text: String,
    /// Per eligible recipient, their units in order of giving.
    units: Vec<Vec<Unit>>,
    /// Standing fire reactions: (reactor, unit).
    reactions: Vec<(usize, Unit)>,
}

#[derive(Default)]
struct Model {
    earned: HashMap<usize, i64>,
    quota: HashMap<(usize, NaiveDate), u32>,
    weekly: HashMap<(usize, usize, (i32, u32)), u32>,
    taxed: usize,
    units: usize,
}

impl Model {
    fn rate(nth: u32) -> i64 {
        match nth {
            0..=15 => 0,
            16..=20 => 50,
            _ => 90,
        }
    }

    fn fits(&self, giver: usize, at: DateTime<Utc>, units: u32) -> bool {
        let used = self
            .quota
            .get(&(giver, at.date_naive()))
            .copied()
            .unwrap_or(0);
        used + units <= QUOTA
    }

    /// Gives `count` units (the caller checked the quota).
    fn give(&mut self, giver: usize, recipient: usize, count: u32, at: DateTime<Utc>) -> Vec<Unit> {
        let iso = at.date_naive().iso_week();
        let week = (iso.year(), iso.week());
        *self.quota.entry((giver, at.date_naive())).or_default() += count;
        (0..count)
            .map(|_| {
                let n = self.weekly.entry((giver, recipient, week)).or_default();
                *n += 1;
                let rate = Self::rate(*n);
                if rate > 0 {
                    self.taxed += 1;
                }
                self.units += 1;
                let net = 1000 - rate * 10;
                *self.earned.entry(recipient).or_default() += net;
                Unit {
                    giver,
                    recipient,
                    week,
                    net,
                }
            })
            .collect()
    }

    /// Whether reversing this unit gives the same result in any order.
    fn untaxed(&self, u: &Unit) -> bool {
        self.weekly
            .get(&(u.giver, u.recipient, u.week))
            .is_some_and(|n| *n <= UNTAXED)
    }

    fn reverse(&mut self, u: &Unit) {
        *self.earned.entry(u.recipient).or_default() -= u.net;
    }
}

fn ts_of(at: DateTime<Utc>) -> String {
    format!("{}.{:06}", at.timestamp(), at.timestamp_subsec_micros())
}

fn envelope(event_id: &str, at: DateTime<Utc>, event: Value) -> Vec<u8> {
    json!({
        "token": "XXYYZZ", "team_id": TEAM, "api_app_id": "A0BENCH001",
        "event": event, "type": "event_callback", "event_id": event_id, "event_time": at.timestamp(),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": true, "is_enterprise_install": false}],
        "is_ext_shared_channel": false
    })
    .to_string()
    .into_bytes()
}

fn compose(rng: &mut StdRng, mentions: &[usize], fire: u32, decoy: bool) -> String {
    let words = [
        "thanks for the help",
        "great explanation",
        "that fixed my bug",
        "nice notes",
        "see you in the lab",
    ];
    let mut t = String::new();
    for m in mentions {
        if rng.gen_bool(0.3) {
            t.push_str(&format!("<@{}|student{m}>", uid(*m)));
        } else {
            t.push_str(&format!("<@{}>", uid(*m)));
        }
        t.push(' ');
    }
    t.push_str(words[rng.gen_range(0..words.len())]);
    for _ in 0..fire {
        t.push_str(if rng.gen_bool(0.5) {
            " :fire:"
        } else {
            " 🔥"
        });
    }
    if decoy {
        // Fire and a mention in a code span and a quote: the server must not count them.
        t.push_str(" (type `:fire:` to give)\n&gt; <@U00000000> :fire: 🔥");
    }
    t
}

pub struct Params {
    pub students: usize,
    pub messages: usize,
    pub redelivery_percent: u32,
    pub seed: u64,
}

/// Generates the stream, its deliveries and the expected balances.
pub fn generate(p: &Params, now: DateTime<Utc>) -> Stream {
    let students = p.students.max(3);
    let mut rng = StdRng::seed_from_u64(p.seed);
    let mut model = Model::default();
    let mut stats = Stats {
        students,
        ..Stats::default()
    };
    let mut next_id = 0u64;
    let mut event_id = || {
        next_id += 1;
        format!("Ev{:010}", next_id)
    };

    // Phase 1: joins, an hour before the first message.
    let start = now - Duration::days(6);
    let mut joins = Vec::new();
    for i in 0..students {
        let at = start - Duration::hours(1) + Duration::seconds(i as i64);
        let ev = json!({"type": "team_join", "event_ts": ts_of(at), "user": {
            "id": uid(i), "team_id": TEAM, "name": format!("student{i}"), "real_name": format!("Student {i}"),
            "tz": "Europe/Berlin", "is_bot": false, "deleted": false,
            "profile": {"display_name": format!("student{i}"), "email": format!("student{i}@uni.example")}}});
        let id = event_id();
        joins.push(Delivery {
            body: envelope(&id, at, ev),
            event_id: id,
            retry: false,
        });
    }

    // Phase 2: messages over five days, reactions on some of them.
    let span = 5 * 24 * 3600;
    let messages = p.messages.max(1);
    let mut posts: Vec<Post> = Vec::with_capacity(messages);
    let mut gives = Vec::new();
    for i in 0..messages {
        let at = start
            + Duration::seconds((i as i64) * span / messages as i64)
            + Duration::microseconds((i % 999_983) as i64 + 1);
        let author = rng.gen_range(0..students);
        let channel = CHANNELS[rng.gen_range(0..CHANNELS.len())];
        let roll = rng.gen_range(0..100);
        let (author, mut mentions, mut fire) = if roll < 10 {
            (author, Vec::new(), 0) // chatter
        } else if roll < 20 {
            // A heavy giver: the same classmate almost every time (reaches the gift tax).
            let a = rng.gen_range(0..HEAVY.min(students / 2));
            (2 * a, vec![2 * a + 1], rng.gen_range(1..=3))
        } else {
            let k = rng.gen_range(1..=3);
            let mut m: Vec<usize> = Vec::new();
            while m.len() < k {
                let r = rng.gen_range(0..students);
                if r != author && !m.contains(&r) {
                    m.push(r);
                }
            }
            let fire = match rng.gen_range(0..100) {
                0..=9 => 0,
                10..=59 => 1,
                60..=89 => 2,
                _ => 3,
            };
            (author, m, fire)
        };
        let units_wanted = (mentions.len() as u32) * fire;
        if !model.fits(author, at, units_wanted) {
            (mentions, fire) = (Vec::new(), 0);
        }
        let self_mention = fire > 0 && rng.gen_bool(0.05);
        let mut shown = mentions.clone();
        if self_mention {
            shown.push(author); // refused for the author, the others still get theirs
        }
        let text = if shown.is_empty() && fire == 0 {
            "ok, see you tomorrow".to_owned()
        } else {
            let decoy = rng.gen_bool(0.1);
            compose(&mut rng, &shown, fire, decoy)
        };
        let units = if fire > 0 {
            stats.messages_with_fire += 1;
            mentions
                .iter()
                .map(|r| model.give(author, *r, fire, at))
                .collect()
        } else {
            mentions.iter().map(|_| Vec::new()).collect()
        };
        let ts = ts_of(at);
        let ev = json!({"type": "message", "channel": channel, "user": uid(author), "text": text,
            "ts": ts, "event_ts": ts, "channel_type": "channel", "team": TEAM});
        let id = event_id();
        gives.push(Delivery {
            body: envelope(&id, at, ev),
            event_id: id,
            retry: false,
        });
        posts.push(Post {
            channel,
            ts,
            author,
            mentions,
            fire,
            text,
            units,
            reactions: Vec::new(),
        });
        // Reactions on about a third of the messages, a few seconds to minutes later.
        if rng.gen_bool(0.33) {
            let n = rng.gen_range(1..=2);
            let mut reactors: Vec<usize> = Vec::new();
            while reactors.len() < n {
                let r = rng.gen_range(0..students);
                if r != author && !reactors.contains(&r) {
                    reactors.push(r);
                }
            }
            for reactor in reactors {
                let rat = at + Duration::seconds(rng.gen_range(1..600));
                let is_fire = rng.gen_bool(0.8) && model.fits(reactor, rat, 1);
                let emoji = if is_fire { "fire" } else { "thumbsup" };
                if is_fire {
                    stats.fire_reactions += 1;
                    let u = model.give(reactor, author, 1, rat);
                    if let (Some(u), Some(post)) = (u.first(), posts.last_mut()) {
                        post.reactions.push((reactor, *u));
                    }
                }
                let ev = json!({"type": "reaction_added", "user": uid(reactor), "reaction": emoji,
                    "item_user": uid(author), "item": {"type": "message", "channel": channel, "ts": posts[i].ts},
                    "event_ts": ts_of(rat)});
                let id = event_id();
                gives.push(Delivery {
                    body: envelope(&id, rat, ev),
                    event_id: id,
                    retry: false,
                });
            }
        }
    }
    stats.messages = posts.len();

    // Phase 3: reversals of untaxed units only (order-independent), a day after the messages.
    let later = start + Duration::seconds(span) + Duration::hours(1);
    let mut reversals = Vec::new();
    let mut step = 0i64;
    let mut at_next = || {
        step += 1;
        later + Duration::milliseconds(step)
    };
    let mut deleted: HashSet<usize> = HashSet::new();
    for (i, post) in posts.iter().enumerate() {
        let all_untaxed = post.units.iter().flatten().all(|u| model.untaxed(u))
            && post.reactions.iter().all(|(_, u)| model.untaxed(u));
        if !all_untaxed {
            continue;
        }
        let roll = rng.gen_range(0..100);
        if roll < 4 {
            // Delete: the message's units and its fire reactions are reversed.
            let at = at_next();
            for u in post.units.iter().flatten() {
                model.reverse(u);
                stats.reversed_units += 1;
            }
            for (_, u) in &post.reactions {
                model.reverse(u);
                stats.reversed_units += 1;
            }
            deleted.insert(i);
            stats.deletes += 1;
            let ev = json!({"type": "message", "subtype": "message_deleted", "hidden": true, "channel": post.channel,
                "deleted_ts": post.ts, "event_ts": ts_of(at), "ts": ts_of(at), "channel_type": "channel"});
            let id = event_id();
            reversals.push(Delivery {
                body: envelope(&id, at, ev),
                event_id: id,
                retry: false,
            });
        } else if roll < 8 && post.fire >= 2 {
            // Edit: one fire fewer, the same people; each loses their newest unit.
            let at = at_next();
            for units in &post.units {
                if let Some(u) = units.last() {
                    model.reverse(u);
                    stats.reversed_units += 1;
                }
            }
            stats.edits += 1;
            let text = compose(&mut rng, &post.mentions, post.fire - 1, false);
            let ev = json!({"type": "message", "subtype": "message_changed", "hidden": true, "channel": post.channel,
                "message": {"type": "message", "user": uid(post.author), "text": text, "ts": post.ts,
                            "edited": {"user": uid(post.author), "ts": ts_of(at)}},
                "previous_message": {"type": "message", "user": uid(post.author), "text": post.text, "ts": post.ts},
                "event_ts": ts_of(at), "ts": ts_of(at), "channel_type": "channel"});
            let id = event_id();
            reversals.push(Delivery {
                body: envelope(&id, at, ev),
                event_id: id,
                retry: false,
            });
        } else {
            for (reactor, u) in &post.reactions {
                if rng.gen_bool(0.2) {
                    let at = at_next();
                    model.reverse(u);
                    stats.reversed_units += 1;
                    stats.reaction_removals += 1;
                    let ev = json!({"type": "reaction_removed", "user": uid(*reactor), "reaction": "fire",
                        "item_user": uid(post.author), "item": {"type": "message", "channel": post.channel, "ts": post.ts},
                        "event_ts": ts_of(at)});
                    let id = event_id();
                    reversals.push(Delivery {
                        body: envelope(&id, at, ev),
                        event_id: id,
                        retry: false,
                    });
                }
            }
        }
    }

    // Redeliveries: the same event id again, later in the same phase.
    for phase in [&mut gives, &mut reversals] {
        let originals = phase.len();
        for i in 0..originals {
            if rng.gen_range(0..100) < p.redelivery_percent {
                let mut d = phase[i].clone();
                d.retry = true;
                let at = rng.gen_range(i + 1..=phase.len());
                phase.insert(at, d);
                stats.redeliveries += 1;
            }
        }
    }

    stats.units = model.units;
    stats.taxed_units = model.taxed;
    let expected = (0..students)
        .map(|i| (uid(i), model.earned.get(&i).copied().unwrap_or(0)))
        .collect();
    Stream {
        joins,
        gives,
        reversals,
        expected,
        stats,
    }
}
