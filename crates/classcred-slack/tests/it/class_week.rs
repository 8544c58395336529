//! End to end: a class week beyond fire — questions and answers accepted with the Accept button,
//! a class store with purchases that need approval (approved and rejected), two polls and a
//! debate (votes with the buttons, changed votes, a vote after the close, posts in the debate's
//! thread), one custom reward rule ("voting in a poll earns 2 points, at most 2 per week") and
//! fire between classmates — sent to a running server as Slack sends it (signed events, `/cred`
//! commands, `block_actions` clicks), the Instructor's part through the same service calls the
//! dashboard makes. Every student's earned and spendable points, each poll's counts and the
//! debate's participants must equal an independent model that reads the week's intents (never
//! the payloads).

use std::collections::BTreeMap;

use crate::fixture;
use crate::http_events::percent_encode;
use crate::server::{command_form_in, Server, TEAM};
use chrono::{DateTime, Duration, TimeZone, Utc};
use classcred_engine::{Cap, CapPeriod, Points, PurchaseStatus, RuleAward, Trigger};
use classcred_service::polls::{self, Draft};
use classcred_service::rules::{candidate, save_rule, RuleInput};
use classcred_service::store::{decide, purchases, save_item, ItemInput};
use classcred_store::class_store::PurchaseFilter;
use classcred_store::testing::TestDb;
use classcred_store::{MemberRowId, Role};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const STUDENTS: usize = 12;
const CHANNEL: &str = "C0WEEK0001";
const TEACHER: &str = "U0TEACH001";
/// The reward of an accepted answer (the default question settings).
const ANSWER_REWARD: i64 = 1;
/// The store: (name, price, needs approval).
const ITEMS: [(&str, i64, bool); 2] = [("Deadline +24h", 3, false), ("Extra office hour", 4, true)];
/// The custom rule: a first vote in a poll (or a side chosen in a debate) earns this much…
const RULE_POINTS: i64 = 2;
/// …at most this many times per ISO week.
const RULE_CAP: u32 = 2;
/// The polls of the week: (options, debate). Poll numbers are indexes here.
const POLLS: [(&[&str], bool); 3] = [
    (&["Graphs", "Trees", "Hashing"], false),
    (&["Recursion first", "Loops first"], true),
    (&["Monday", "Wednesday"], false),
];

fn student(i: usize) -> String {
    format!("U0WEEK{i:04}")
}

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

fn ts(at: DateTime<Utc>, n: u64) -> String {
    format!("{}.{:06}", at.timestamp(), n % 1_000_000)
}

/// What happens in the week, platform-neutral.
#[derive(Debug, Clone)]
enum Step {
    /// `author` thanks `to` with `fire` fire each (within the daily quota of 5).
    Fire {
        author: usize,
        to: Vec<usize>,
        fire: u32,
    },
    /// `author` asks question `q` (a message ending with "?").
    Ask { q: usize, author: usize },
    /// `author` answers question `q` in its thread (answer `a`).
    Answer { q: usize, a: usize, author: usize },
    /// The asker accepts answer `a` of question `q` with the button.
    Accept { q: usize, a: usize },
    /// `who` types `/cred buy N` (item number, 1-based).
    Buy { who: usize, item: usize },
    /// The Instructor approves (or rejects) the oldest pending purchase.
    Decide { approve: bool },
    /// The Instructor posts poll `poll` (of [`POLLS`]) in the channel.
    PollOpen { poll: usize },
    /// `who` clicks option `option` of poll `poll`.
    Vote {
        poll: usize,
        who: usize,
        option: u32,
    },
    /// `who` posts in the debate's thread.
    DebatePost { poll: usize, who: usize },
    /// The Instructor closes poll `poll`.
    PollClose { poll: usize },
}

/// A seeded week: each day, fire within the quota, two questions with answers (most accepted),
/// and from Wednesday on, purchases by students who the model says can afford them (plus a few
/// who cannot, refused by the rules) and the Instructor's decisions.
fn week(seed: u64) -> Vec<(DateTime<Utc>, Step)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    let (mut q, mut a) = (0, 0);
    for day in 0..5 {
        let mut t = monday() + Duration::days(day);
        let tick = |t: &mut DateTime<Utc>| {
            *t += Duration::minutes(7);
            *t
        };
        let mut given = [0u32; STUDENTS];
        for _ in 0..14 {
            let author = rng.gen_range(0..STUDENTS);
            let mut to: Vec<usize> = (0..rng.gen_range(1..=2))
                .map(|_| rng.gen_range(0..STUDENTS))
                .filter(|r| *r != author)
                .collect();
            to.sort_unstable();
            to.dedup();
            let fire = rng.gen_range(1..=2);
            let units = fire * u32::try_from(to.len()).unwrap();
            if to.is_empty() || given[author] + units > 5 {
                continue;
            }
            given[author] += units;
            out.push((tick(&mut t), Step::Fire { author, to, fire }));
        }
        for _ in 0..2 {
            let asker = rng.gen_range(0..STUDENTS);
            out.push((tick(&mut t), Step::Ask { q, author: asker }));
            let mut answers = Vec::new();
            for _ in 0..rng.gen_range(0..=2) {
                let author = (asker + rng.gen_range(1..STUDENTS)) % STUDENTS;
                out.push((tick(&mut t), Step::Answer { q, a, author }));
                answers.push(a);
                a += 1;
            }
            if let Some(chosen) = answers.first().filter(|_| rng.gen_bool(0.7)) {
                out.push((tick(&mut t), Step::Accept { q, a: *chosen }));
            }
            q += 1;
        }
        // Polls: Tuesday poll 0 and the debate; Wednesday poll 2; Thursday poll 0 closes (a late
        // vote follows); Friday the others close.
        let opens: &[usize] = match day {
            1 => &[0, 1],
            2 => &[2],
            _ => &[],
        };
        for &poll in opens {
            out.push((tick(&mut t), Step::PollOpen { poll }));
            let options = u32::try_from(POLLS[poll].0.len()).unwrap();
            for _ in 0..9 {
                let who = rng.gen_range(0..STUDENTS);
                let option = rng.gen_range(0..options);
                out.push((tick(&mut t), Step::Vote { poll, who, option }));
            }
            if POLLS[poll].1 {
                for _ in 0..5 {
                    let who = rng.gen_range(0..STUDENTS);
                    out.push((tick(&mut t), Step::DebatePost { poll, who }));
                }
            }
        }
        let closes: &[usize] = match day {
            3 => &[0],
            4 => &[1, 2],
            _ => &[],
        };
        for &poll in closes {
            out.push((tick(&mut t), Step::PollClose { poll }));
            let who = rng.gen_range(0..STUDENTS);
            out.push((
                tick(&mut t),
                Step::Vote {
                    poll,
                    who,
                    option: 0,
                },
            ));
        }
        if day >= 2 {
            for _ in 0..3 {
                let who = rng.gen_range(0..STUDENTS);
                let item = rng.gen_range(1..=ITEMS.len());
                out.push((tick(&mut t), Step::Buy { who, item }));
            }
            out.push((
                tick(&mut t),
                Step::Decide {
                    approve: rng.gen_bool(0.6),
                },
            ));
        }
    }
    out
}

/// The independent model: earned and spendable thousandths per student.
#[derive(Default)]
struct Model {
    earned: [i64; STUDENTS],
    spent: [i64; STUDENTS],
    /// Pending purchases, oldest first: (buyer, price).
    pending: Vec<(usize, i64)>,
    asker: BTreeMap<usize, usize>,
    answerer: BTreeMap<usize, usize>,
    /// Per poll: open, each member's current option, the debate's participants.
    open: [bool; POLLS.len()],
    votes: [BTreeMap<usize, u32>; POLLS.len()],
    debaters: [std::collections::BTreeSet<usize>; POLLS.len()],
    /// Rule awards this (single) week, per student.
    rule_awards: [u32; STUDENTS],
}

impl Model {
    fn apply(&mut self, step: &Step) {
        match step {
            Step::Fire { to, fire, .. } => {
                for r in to {
                    self.earned[*r] += i64::from(*fire) * 1000;
                }
            }
            Step::Ask { q, author } => {
                self.asker.insert(*q, *author);
            }
            Step::Answer { a, author, .. } => {
                self.answerer.insert(*a, *author);
            }
            Step::Accept { a, .. } => self.earned[self.answerer[a]] += ANSWER_REWARD * 1000,
            Step::Buy { who, item } => {
                let (_, price, approval) = ITEMS[item - 1];
                let price = price * 1000;
                if self.earned[*who] - self.spent[*who] >= price {
                    self.spent[*who] += price;
                    if approval {
                        self.pending.push((*who, price));
                    }
                }
            }
            Step::Decide { approve } => {
                if !self.pending.is_empty() {
                    let (who, price) = self.pending.remove(0);
                    if !approve {
                        self.spent[who] -= price;
                    }
                }
            }
            Step::PollOpen { poll } => self.open[*poll] = true,
            Step::PollClose { poll } => self.open[*poll] = false,
            Step::Vote { poll, who, option } => {
                if !self.open[*poll] {
                    return;
                }
                if self.votes[*poll].insert(*who, *option).is_none() {
                    if self.rule_awards[*who] < RULE_CAP {
                        self.rule_awards[*who] += 1;
                        self.earned[*who] += RULE_POINTS * 1000;
                    }
                    if POLLS[*poll].1 {
                        self.debaters[*poll].insert(*who);
                    }
                }
            }
            Step::DebatePost { poll, who } => {
                if self.open[*poll] {
                    self.debaters[*poll].insert(*who);
                }
            }
        }
    }
}

/// The Slack side: message ids, and the requests Slack would send.
struct Slack {
    n: u64,
    question_ts: BTreeMap<usize, String>,
    answer_ts: BTreeMap<usize, String>,
    /// Poll ids, and the `channel:ts` of each posted poll (a debate's thread root).
    poll_id: BTreeMap<usize, String>,
    poll_ts: BTreeMap<usize, String>,
}

impl Slack {
    fn message(
        &mut self,
        at: DateTime<Utc>,
        user: &str,
        text: &str,
        thread: Option<&str>,
    ) -> (String, Vec<u8>) {
        self.message_in(CHANNEL, at, user, text, thread)
    }

    fn message_in(
        &mut self,
        channel: &str,
        at: DateTime<Utc>,
        user: &str,
        text: &str,
        thread: Option<&str>,
    ) -> (String, Vec<u8>) {
        self.n += 1;
        let ts = ts(at, self.n);
        let mut event = json!({
            "type": "message", "channel": channel, "channel_type": "channel", "user": user,
            "text": text, "ts": ts, "event_ts": ts,
        });
        if let Some(root) = thread {
            event["thread_ts"] = json!(root);
        }
        let body = json!({
            "token": "x", "team_id": TEAM, "api_app_id": "A0PNCHHK2", "event": event,
            "type": "event_callback", "event_id": format!("EvWEEK{:06}", self.n),
            "event_time": at.timestamp(),
            "authorizations": [{"team_id": TEAM, "user_id": "U0BOTUSER", "is_bot": true}],
        });
        (ts, body.to_string().into_bytes())
    }
}

async fn run_step(
    s: &Server,
    slack: &mut Slack,
    teacher: &MemberRowId,
    at: DateTime<Utc>,
    step: &Step,
) {
    s.clock.set(at);
    match step {
        Step::Fire { author, to, fire } => {
            let mut text: Vec<String> = to.iter().map(|r| format!("<@{}>", student(*r))).collect();
            text.push("thanks for explaining recursion".into());
            text.extend((0..*fire).map(|_| ":fire:".to_owned()));
            let (_, body) = slack.message(at, &student(*author), &text.join(" "), None);
            assert_eq!(s.event(body).await.status(), 200);
        }
        Step::Ask { q, author } => {
            let text = format!("how do I read question {q} of the problem set?");
            let (ts, body) = slack.message(at, &student(*author), &text, None);
            assert_eq!(s.event(body).await.status(), 200);
            slack.question_ts.insert(*q, ts);
        }
        Step::Answer { q, a, author } => {
            let root = slack.question_ts[q].clone();
            let (ts, body) = slack.message(
                at,
                &student(*author),
                "look at the lecture notes, part 2",
                Some(&root),
            );
            assert_eq!(s.event(body).await.status(), 200);
            slack.answer_ts.insert(*a, ts);
        }
        Step::Accept { q, a } => {
            // The asker clicks "Accept answer" on the notice the answer brought.
            s.run_jobs().await;
            let asker = s
                .fake
                .calls_to("/api/chat.postEphemeral")
                .into_iter()
                .map(|c| c.json())
                .find(|j| {
                    j["blocks"][1]["elements"][0]["value"]
                        .as_str()
                        .is_some_and(|v| v.contains(&slack.answer_ts[a]))
                })
                .and_then(|j| j["user"].as_str().map(str::to_owned))
                .expect("the asker was told about the answer, with a button");
            let mut payload: Value =
                serde_json::from_slice(&fixture("block_actions_accept_answer.json")).unwrap();
            payload["user"]["id"] = json!(asker);
            payload["team"]["id"] = json!(TEAM);
            payload["user"]["team_id"] = json!(TEAM);
            payload["response_url"] = json!(format!("{}/respond/accept{a}", s.fake_base));
            payload["actions"][0]["value"] = json!(json!({
                "q": format!("{CHANNEL}:{}", slack.question_ts[q]),
                "a": format!("{CHANNEL}:{}", slack.answer_ts[a]),
            })
            .to_string());
            let body = format!("payload={}", percent_encode(&payload.to_string()));
            let r = s
                .post_signed(
                    "/slack/interactivity",
                    "application/x-www-form-urlencoded",
                    body.into_bytes(),
                    &[],
                )
                .await;
            assert_eq!(r.status(), 200);
        }
        Step::Buy { who, item } => {
            let v = s
                .command(&command_form_in(
                    CHANNEL,
                    &format!("buy {item}"),
                    &student(*who),
                ))
                .await;
            assert!(v["text"].is_string(), "{v}");
        }
        Step::Decide { approve } => {
            let queue = purchases(
                &s.store,
                s.community(),
                &PurchaseFilter {
                    statuses: &["pending"],
                    oldest_first: true,
                    limit: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            if let Some(p) = queue.first() {
                let reason = (!approve).then_some("not this week");
                decide(
                    &s.store,
                    s.community(),
                    teacher,
                    &p.purchase.purchase_id,
                    *approve,
                    reason,
                    at,
                )
                .await
                .unwrap();
            }
        }
        Step::PollOpen { poll } => {
            let (options, debate) = POLLS[*poll];
            let (id, _) = polls::create(
                &s.store,
                s.community(),
                teacher,
                &Draft {
                    kind: if debate { "debate" } else { "poll" }.into(),
                    question: format!("Question {poll} of the week?"),
                    options: options.join("\n"),
                    channel: CHANNEL.into(),
                    ..Draft::default()
                },
                at,
            )
            .await
            .unwrap();
            // The `poll.post` job posts it in the channel and records the posted message.
            s.run_jobs().await;
            let view = polls::get(&s.store, s.community(), &id)
                .await
                .unwrap()
                .unwrap();
            let mid = view.posted_message_id.expect("the poll was posted");
            // `channel:ts` of the posted message (the thread replies go there).
            slack.poll_ts.insert(*poll, mid);
            slack.poll_id.insert(*poll, id);
        }
        Step::Vote { poll, who, option } => {
            let mut payload: Value =
                serde_json::from_slice(&fixture("block_actions.json")).unwrap();
            payload["user"]["id"] = json!(student(*who));
            payload["user"]["team_id"] = json!(TEAM);
            payload["team"]["id"] = json!(TEAM);
            slack.n += 1;
            payload["actions"] = json!([{
                "action_id": format!("poll:vote:{}:{option}", slack.poll_id[poll]),
                "block_id": "poll_vote", "value": option.to_string(), "type": "button",
                "text": {"type": "plain_text", "text": "Option", "emoji": true},
                "action_ts": ts(at, slack.n),
            }]);
            payload["response_url"] = json!(format!("{}/respond/vote{}", s.fake_base, slack.n));
            let body = format!("payload={}", percent_encode(&payload.to_string()));
            let r = s
                .post_signed(
                    "/slack/interactivity",
                    "application/x-www-form-urlencoded",
                    body.into_bytes(),
                    &[],
                )
                .await;
            assert_eq!(r.status(), 200);
        }
        Step::DebatePost { poll, who } => {
            let (channel, root) = slack.poll_ts[poll].split_once(':').unwrap();
            let (channel, root) = (channel.to_owned(), root.to_owned());
            let (_, body) = slack.message_in(
                &channel,
                at,
                &student(*who),
                "loops are easier to trace",
                Some(&root),
            );
            assert_eq!(s.event(body).await.status(), 200);
        }
        Step::PollClose { poll } => {
            polls::close(&s.store, s.community(), teacher, &slack.poll_id[poll], at)
                .await
                .unwrap();
        }
    }
    s.run_jobs().await;
}

#[tokio::test]
async fn a_class_week_beyond_fire_matches_the_model() {
    for db in TestDb::all().await {
        let b = db.backend();
        let s = Server::start(db, monday() - Duration::days(1), true).await;
        let teacher = s
            .join(TEACHER, Role::Instructor, monday() - Duration::days(1))
            .await;
        for i in 0..STUDENTS {
            s.join(&student(i), Role::Student, monday() - Duration::days(1))
                .await;
        }
        for (name, price, approval) in ITEMS {
            let input = ItemInput {
                name: name.into(),
                description: String::new(),
                price: Points::from_whole(price),
                stock: None,
                per_student_limit: None,
                available_from: None,
                available_until: None,
                needs_approval: approval,
                enabled: true,
                archived: false,
            };
            save_item(
                &s.store,
                s.community(),
                &teacher,
                None,
                input,
                monday() - Duration::days(1),
            )
            .await
            .unwrap();
        }
        // The class's one custom rule, saved as the dashboard form does.
        let input = RuleInput {
            trigger: Trigger::VotedInPoll,
            condition: None,
            award: RuleAward::Points {
                points: Points::from_whole(RULE_POINTS),
            },
            cap: Some(Cap {
                n: RULE_CAP,
                per: CapPeriod::Week,
            }),
            enabled: true,
        };
        let rule = candidate(&s.store, s.community(), None, None, &input)
            .await
            .unwrap();
        save_rule(
            &s.store,
            s.community(),
            &teacher,
            &rule,
            monday() - Duration::days(1),
        )
        .await
        .unwrap();
        s.run_jobs().await;

        let script = week(7);
        let mut model = Model::default();
        let mut slack = Slack {
            n: 0,
            question_ts: BTreeMap::new(),
            answer_ts: BTreeMap::new(),
            poll_id: BTreeMap::new(),
            poll_ts: BTreeMap::new(),
        };
        for (at, step) in &script {
            model.apply(step);
            run_step(&s, &mut slack, &teacher, *at, step).await;
        }
        let count = |f: fn(&Step) -> bool| script.iter().filter(|(_, st)| f(st)).count();
        assert!(
            count(|st| matches!(st, Step::Accept { .. })) >= 4,
            "{b}: the week accepts answers"
        );
        assert!(
            count(|st| matches!(st, Step::Buy { .. })) >= 6,
            "{b}: the week buys"
        );

        let mut tx = s.store.begin().await.unwrap();
        let balances = tx.for_community(s.community()).balances().await.unwrap();
        tx.commit().await.unwrap();
        let got: BTreeMap<String, (i64, i64)> = balances
            .into_iter()
            .map(|b| (b.platform_user_id, (b.earned_milli, b.spendable_milli)))
            .collect();
        for i in 0..STUDENTS {
            let want = (model.earned[i], model.earned[i] - model.spent[i]);
            assert_eq!(
                got.get(&student(i)).copied().unwrap_or((0, 0)),
                want,
                "{b}: student {i}"
            );
        }
        // Something was bought, something rejected, and the pending ones are still pending.
        let all = purchases(
            &s.store,
            s.community(),
            &PurchaseFilter {
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let pending = all
            .iter()
            .filter(|p| p.purchase.status == PurchaseStatus::Pending)
            .count();
        assert_eq!(pending, model.pending.len(), "{b}");
        assert!(
            model.spent.iter().any(|s| *s > 0),
            "{b}: somebody bought something"
        );
        // Each poll's counts are the members' last options; the debate's participants are
        // those who chose a side or posted in its thread while it was open.
        for (poll, (options, debate)) in POLLS.iter().enumerate() {
            let view = polls::get(&s.store, s.community(), &slack.poll_id[&poll])
                .await
                .unwrap()
                .unwrap();
            let mut want = vec![0u32; options.len()];
            for o in model.votes[poll].values() {
                want[usize::try_from(*o).unwrap()] += 1;
            }
            assert_eq!(view.counts, want, "{b}: poll {poll}");
            assert!(view.closed_at.is_some(), "{b}: poll {poll} closed");
            if *debate {
                let n = u32::try_from(model.debaters[poll].len()).unwrap();
                assert_eq!(view.participants, Some(n), "{b}: debate {poll}");
            }
        }
        // Each closed poll's results were posted in the channel (job `poll.results`).
        let results = s
            .fake
            .calls_to("/api/chat.postMessage")
            .into_iter()
            .map(|c| c.json().to_string())
            .filter(|j| j.contains("closed") && j.contains("Question "))
            .count();
        assert_eq!(results, POLLS.len(), "{b}: one results post per poll");
        assert!(
            model.rule_awards.contains(&RULE_CAP),
            "{b}: the rule's cap was reached by someone"
        );
        // Replay from the inbox reproduces every balance.
        let replay = classcred_service::replay(&s.store, s.community(), |_, _| {})
            .await
            .unwrap();
        assert!(replay.matches(), "{b}: {replay:?}");
    }
}
