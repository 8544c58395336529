//! A scripted class conversation in Teams (fire in messages, a thread reply, a redelivery, an
//! edit, a delete, a quota refusal, a 🔥 reaction, a typed name that is no mention, a bot, a
//! command) through `POST /teams/messages`; the balances equal an independent model's, on
//! SQLite and PostgreSQL.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use crate::server::{backends, Server, BOT, SERVICE_URL, TEAM};

const CHAN: &str = "19:maths@thread.tacv2";
const QUOTA: u32 = 5;

/// One step of the script, as intents (who means to give whom how much), never text.
enum Step {
    Post {
        id: &'static str,
        author: &'static str,
        mentions: &'static [&'static str],
        fire: u32,
        thread: Option<&'static str>,
    },
    Redeliver {
        id: &'static str,
    },
    Edit {
        id: &'static str,
        mentions: &'static [&'static str],
        fire: u32,
    },
    Delete {
        id: &'static str,
    },
    React {
        on: &'static str,
        reactor: &'static str,
    },
    /// A message whose "mention" is a typed name, with fire.
    NameOnly {
        id: &'static str,
        author: &'static str,
    },
    FromBot {
        id: &'static str,
    },
    Command {
        id: &'static str,
        author: &'static str,
    },
    /// Process what is stored so far (a reaction needs its message processed to know its author).
    Drain,
}

const SCRIPT: &[Step] = &[
    Step::Post {
        id: "m1",
        author: "29:alice",
        mentions: &["29:bob"],
        fire: 2,
        thread: None,
    },
    Step::Post {
        id: "m2",
        author: "29:bob",
        mentions: &["29:carol", "29:dave"],
        fire: 1,
        thread: None,
    },
    Step::Post {
        id: "m3",
        author: "29:alice",
        mentions: &["29:carol"],
        fire: 3,
        thread: None,
    },
    // Alice has used her 5 for the day: refused as a whole.
    Step::Post {
        id: "m4",
        author: "29:alice",
        mentions: &["29:dave"],
        fire: 1,
        thread: None,
    },
    Step::Redeliver { id: "m2" },
    Step::Edit {
        id: "m1",
        mentions: &["29:bob"],
        fire: 1,
    },
    Step::Post {
        id: "m5",
        author: "29:carol",
        mentions: &["29:alice"],
        fire: 1,
        thread: Some("m3"),
    },
    Step::Delete { id: "m2" },
    Step::NameOnly {
        id: "m6",
        author: "29:dave",
    },
    Step::FromBot { id: "m7" },
    Step::Command {
        id: "m8",
        author: "29:erin",
    },
    Step::Drain,
    Step::React {
        on: "m5",
        reactor: "29:erin",
    },
    // Self-praise gives nothing.
    Step::Post {
        id: "m9",
        author: "29:dave",
        mentions: &["29:dave"],
        fire: 2,
        thread: None,
    },
];

/// Units each recipient of a message holds.
type Given = Vec<(&'static str, u32)>;

/// The independent model: per message, the units each recipient holds; a daily quota per
/// giver, all or nothing; edits only lower what a message gives; deletes take it all back.
#[derive(Default)]
struct Model {
    balance: BTreeMap<&'static str, i64>,
    used: HashMap<&'static str, u32>,
    /// Message → (author, what each recipient holds).
    messages: HashMap<&'static str, (&'static str, Given)>,
}

impl Model {
    fn apply(&mut self, step: &Step) {
        match step {
            Step::Post {
                id,
                author,
                mentions,
                fire,
                ..
            } => {
                if self.messages.contains_key(id) {
                    return;
                }
                let recipients: Vec<&'static str> =
                    mentions.iter().copied().filter(|m| m != author).collect();
                let total = fire * recipients.len() as u32;
                let used = self.used.entry(author).or_default();
                let mut given = Vec::new();
                if total > 0 && *used + total <= QUOTA {
                    *used += total;
                    for r in recipients {
                        *self.balance.entry(r).or_default() += i64::from(*fire) * 1000;
                        given.push((r, *fire));
                    }
                }
                self.messages.insert(id, (author, given));
            }
            Step::Edit { id, mentions, fire } => {
                let (_, given) = self.messages.get_mut(id).unwrap();
                for (r, n) in given.iter_mut() {
                    let keep = if mentions.contains(r) {
                        (*n).min(*fire)
                    } else {
                        0
                    };
                    *self.balance.entry(r).or_default() -= i64::from(*n - keep) * 1000;
                    *n = keep;
                }
            }
            Step::Delete { id } => {
                let (_, given) = self.messages.get_mut(id).unwrap();
                for (r, n) in given.drain(..) {
                    *self.balance.entry(r).or_default() -= i64::from(n) * 1000;
                }
            }
            Step::React { on, reactor } => {
                let author = self.messages[on].0;
                let used = self.used.entry(reactor).or_default();
                if author != *reactor && *used < QUOTA {
                    *used += 1;
                    *self.balance.entry(author).or_default() += 1000;
                }
            }
            _ => {}
        }
    }
}

fn ts(n: usize) -> String {
    format!("2026-11-30T09:{:02}:00.000Z", 10 + n)
}

fn activity_id(msg: &str) -> String {
    format!(
        "17645{:08}",
        msg.trim_start_matches('m').parse::<u32>().unwrap()
    )
}

fn message(
    id: &str,
    author: &str,
    mentions: &[&str],
    fire: u32,
    thread: Option<&str>,
    n: usize,
) -> Value {
    let root = thread.map(activity_id).unwrap_or_else(|| activity_id(id));
    let mut text = String::new();
    let mut entities = Vec::new();
    for m in mentions {
        let name = format!("Name of {m}");
        text.push_str(&format!("<at>{name}</at> "));
        entities.push(json!({"type": "mention", "mentioned": {"id": m, "name": name}, "text": format!("<at>{name}</at>")}));
    }
    let tokens = ["(fire)", ":fire:", "\u{1F525}"];
    for i in 0..fire {
        text.push_str(tokens[i as usize % 3]);
        text.push(' ');
    }
    text.push_str("thanks");
    json!({
        "type": "message", "id": activity_id(id), "timestamp": ts(n), "channelId": "msteams",
        "serviceUrl": SERVICE_URL, "from": {"id": author}, "recipient": {"id": BOT},
        "conversation": {"id": format!("{CHAN};messageid={root}"), "conversationType": "channel"},
        "text": text, "entities": entities,
        "channelData": {"team": {"id": TEAM}, "channel": {"id": CHAN}, "tenant": {"id": "t1"}}
    })
}

#[tokio::test]
async fn a_scripted_class_matches_an_independent_model() {
    let mut model = Model::default();
    for step in SCRIPT {
        model.apply(step);
    }
    for db in backends().await {
        let backend = db.backend();
        let s = Server::start(db, None).await;
        let mut added = crate::fixture("conversation_update_bot_added_team");
        added["from"] = json!({"id": "29:teacher"});
        assert_eq!(s.post(&added).await, 200);
        let c = s.community(TEAM).await.unwrap().id;
        let mut members = crate::fixture("conversation_update_members_added");
        members["membersAdded"] = json!(["29:alice", "29:bob", "29:carol", "29:dave", "29:erin"]
            .iter()
            .map(|m| json!({"id": m}))
            .collect::<Vec<_>>());
        assert_eq!(s.post(&members).await, 200);
        let mut sent: HashMap<&str, Value> = HashMap::new();
        for (n, step) in SCRIPT.iter().enumerate() {
            let a = match step {
                Step::Post {
                    id,
                    author,
                    mentions,
                    fire,
                    thread,
                } => {
                    let a = message(id, author, mentions, *fire, *thread, n);
                    sent.insert(id, a.clone());
                    a
                }
                Step::Redeliver { id } => sent[id].clone(),
                Step::Edit { id, mentions, fire } => {
                    let orig = &sent[id];
                    let mut a = message(
                        id,
                        orig["from"]["id"].as_str().unwrap(),
                        mentions,
                        *fire,
                        None,
                        n,
                    );
                    a["type"] = json!("messageUpdate");
                    a["conversation"] = orig["conversation"].clone();
                    a["channelData"]["eventType"] = json!("editMessage");
                    a
                }
                Step::Delete { id } => {
                    let orig = &sent[id];
                    json!({"type": "messageDelete", "id": orig["id"], "timestamp": ts(n), "channelId": "msteams",
                        "serviceUrl": SERVICE_URL, "from": orig["from"], "recipient": {"id": BOT},
                        "conversation": orig["conversation"],
                        "channelData": {"team": {"id": TEAM}, "eventType": "softDeleteMessage"}})
                }
                Step::React { on, reactor } => {
                    let orig = &sent[on];
                    json!({"type": "messageReaction", "id": format!("f:{n}"), "timestamp": ts(n), "channelId": "msteams",
                        "serviceUrl": SERVICE_URL, "from": {"id": reactor}, "recipient": {"id": BOT},
                        "conversation": orig["conversation"], "replyToId": orig["id"],
                        "reactionsAdded": [{"type": "fire"}],
                        "channelData": {"team": {"id": TEAM}}})
                }
                Step::NameOnly { id, author } => {
                    let mut a = message(id, author, &[], 2, None, n);
                    a["text"] = json!("<at>Bob</at> (fire) (fire)");
                    a
                }
                Step::FromBot { id } => message(id, "28:another-bot", &["29:bob"], 2, None, n),
                Step::Command { id, author } => {
                    let mut a = message(id, author, &[BOT], 0, None, n);
                    a["text"] = json!("<at>Name of 28:bot</at> me");
                    a["entities"] = json!([{"type": "mention", "mentioned": {"id": BOT}, "text": "<at>Name of 28:bot</at>"}]);
                    a
                }
                Step::Drain => {
                    s.drain(&c).await;
                    continue;
                }
            };
            assert_eq!(s.post(&a).await, 200, "{backend}: step {n}");
        }
        s.drain(&c).await;
        let got: BTreeMap<String, i64> = s
            .balances(&c)
            .await
            .into_iter()
            .filter(|(_, v)| *v != 0)
            .collect();
        let want: BTreeMap<String, i64> = model
            .balance
            .iter()
            .filter(|(_, v)| **v != 0)
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect();
        assert_eq!(got, want, "{backend}");
        // The script exercised what it says: alice 1, bob 1, carol 4 (m2's 1 taken back).
        assert_eq!(want.get("29:carol"), Some(&4000));
        assert_eq!(want.get("29:bob"), Some(&1000));
        assert_eq!(want.get("29:alice"), Some(&1000));
        assert_eq!(want.get("29:dave"), None);
        assert_eq!(
            s.jobs_of(classcred_teams::commands::COMMAND_JOB)
                .await
                .len(),
            1,
            "{backend}"
        );
    }
}
