//! One class script, three platforms: the same week of a small class (joins, fire in messages,
//! 🔥 reactions and their removal, edits that take fire back or add some, deletes, and
//! redeliveries of deliveries already answered) is sent to the running application as Slack,
//! Microsoft Teams and Matrix each send it — signed, authenticated, in their own payloads — and
//! every student's points must equal the model's, on every platform.
//!
//! The model reads the script's intents (who gives whom how much), never the payloads. The
//! script keeps every giver within the daily quota and every pair far below the gift-tax
//! brackets, so the expected points are sums of fire units standing; what differs between the
//! platforms is only what each adapter has to get right.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use classcred::config::Config;
use classcred::{App, Role as AppRole};
use classcred_store::testing::TestDb;
use classcred_store::Store;

/// Students of the class (platform users 0..STUDENTS).
pub const STUDENTS: usize = 6;

/// What happens in the class, platform-neutral. Messages are numbered by the script.
#[derive(Debug, Clone)]
pub enum Action {
    /// `author` posts message `msg` mentioning `to` with `fire` fire (0: chatter).
    Post {
        msg: usize,
        author: usize,
        to: Vec<usize>,
        fire: u32,
    },
    /// The author edits `msg` so that it now mentions `to` with `fire` fire.
    Edit {
        msg: usize,
        to: Vec<usize>,
        fire: u32,
    },
    /// The author deletes `msg`.
    Delete { msg: usize },
    /// `reactor` adds (or removes) 🔥 on `msg`.
    React {
        msg: usize,
        reactor: usize,
        added: bool,
    },
    /// The platform delivers the previous action's deliveries again.
    Redeliver,
}

/// The script: a few days of a class, each step at its time.
pub fn script() -> Vec<(DateTime<Utc>, Action)> {
    use Action::*;
    let t = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap();
    vec![
        (
            t(2, 9, 0),
            Post {
                msg: 0,
                author: 0,
                to: vec![1],
                fire: 2,
            },
        ),
        (t(2, 9, 1), Redeliver),
        (
            t(2, 9, 5),
            Post {
                msg: 1,
                author: 1,
                to: vec![2, 3],
                fire: 1,
            },
        ),
        (
            t(2, 9, 6),
            React {
                msg: 1,
                reactor: 4,
                added: true,
            },
        ),
        (t(2, 9, 7), Redeliver),
        (
            t(2, 9, 10),
            Post {
                msg: 2,
                author: 2,
                to: vec![],
                fire: 0,
            },
        ),
        (
            t(2, 9, 11),
            React {
                msg: 0,
                reactor: 5,
                added: true,
            },
        ),
        (
            t(2, 9, 12),
            React {
                msg: 0,
                reactor: 5,
                added: false,
            },
        ),
        // Edits take fire back, then add some.
        (
            t(2, 10, 0),
            Post {
                msg: 3,
                author: 3,
                to: vec![4],
                fire: 3,
            },
        ),
        (
            t(2, 10, 5),
            Edit {
                msg: 3,
                to: vec![4],
                fire: 1,
            },
        ),
        (t(2, 10, 6), Redeliver),
        (
            t(2, 10, 10),
            Edit {
                msg: 3,
                to: vec![4, 5],
                fire: 1,
            },
        ),
        // A message deleted with a reaction on it: both are taken back.
        (
            t(2, 11, 0),
            Post {
                msg: 4,
                author: 5,
                to: vec![0],
                fire: 2,
            },
        ),
        (
            t(2, 11, 2),
            React {
                msg: 4,
                reactor: 1,
                added: true,
            },
        ),
        (t(2, 11, 5), Delete { msg: 4 }),
        (t(2, 11, 6), Redeliver),
        // Next day.
        (
            t(3, 9, 0),
            Post {
                msg: 5,
                author: 4,
                to: vec![2],
                fire: 1,
            },
        ),
        (
            t(3, 9, 1),
            React {
                msg: 5,
                reactor: 0,
                added: true,
            },
        ),
        (
            t(3, 9, 2),
            React {
                msg: 5,
                reactor: 3,
                added: true,
            },
        ),
        (
            t(3, 9, 3),
            Post {
                msg: 6,
                author: 0,
                to: vec![0],
                fire: 1,
            },
        ),
        (
            t(3, 9, 4),
            Post {
                msg: 7,
                author: 2,
                to: vec![5],
                fire: 2,
            },
        ),
        (t(3, 9, 5), Redeliver),
    ]
}

/// The expected points of each student: fire units standing (no tax: every pair stays far
/// below the brackets; no quota refusals: every giver stays within 5 a day; giving to oneself
/// is refused).
pub fn model(script: &[(DateTime<Utc>, Action)]) -> BTreeMap<usize, i64> {
    #[derive(Default, Clone)]
    struct Msg {
        author: usize,
        to: Vec<usize>,
        fire: u32,
        reactors: Vec<usize>,
        deleted: bool,
    }
    let mut msgs: BTreeMap<usize, Msg> = BTreeMap::new();
    for (_, a) in script {
        match a {
            Action::Post {
                msg,
                author,
                to,
                fire,
            } => {
                msgs.insert(
                    *msg,
                    Msg {
                        author: *author,
                        to: to.clone(),
                        fire: *fire,
                        ..Msg::default()
                    },
                );
            }
            Action::Edit { msg, to, fire } => {
                let m = msgs.get_mut(msg).unwrap();
                m.to = to.clone();
                m.fire = *fire;
            }
            Action::Delete { msg } => msgs.get_mut(msg).unwrap().deleted = true,
            Action::React {
                msg,
                reactor,
                added,
            } => {
                let m = msgs.get_mut(msg).unwrap();
                if *added {
                    m.reactors.push(*reactor);
                } else {
                    m.reactors.retain(|r| r != reactor);
                }
            }
            Action::Redeliver => {}
        }
    }
    let mut points: BTreeMap<usize, i64> = (0..STUDENTS).map(|s| (s, 0)).collect();
    for m in msgs.values().filter(|m| !m.deleted) {
        for r in m.to.iter().filter(|r| **r != m.author) {
            *points.get_mut(r).unwrap() += i64::from(m.fire);
        }
        for r in m.reactors.iter().filter(|r| **r != m.author) {
            *points.get_mut(&m.author).unwrap() += 1;
            let _ = r;
        }
    }
    points
}

/// One HTTP request as a platform sends it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub method: reqwest::Method,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// How a platform says what happened in the class.
pub trait Driver {
    /// The stored platform name (`slack`, `teams`, `matrix`).
    fn platform(&self) -> &'static str;
    /// The platform's id of the class (workspace, team, room).
    fn team(&self) -> String;
    /// The platform's id of student `i`.
    fn user(&self, i: usize) -> String;
    /// Configures the application for this platform.
    fn configure(&self, cfg: &mut Config);
    /// What installs the app and makes the students members.
    fn setup(&mut self, at: DateTime<Utc>) -> Vec<Delivery>;
    /// What the platform sends for one action.
    fn act(&mut self, at: DateTime<Utc>, action: &Action) -> Vec<Delivery>;
}

async fn send(http: &reqwest::Client, base: &str, d: &Delivery) {
    let mut req = http
        .request(d.method.clone(), format!("{base}{}", d.path))
        .body(d.body.clone());
    for (k, v) in &d.headers {
        req = req.header(k, v);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    assert!(
        status.is_success(),
        "{} {} answered {status}: {}",
        d.method,
        d.path,
        r.text().await.unwrap_or_default()
    );
}

/// Waits until every stored delivery is processed (a delivery is in the inbox once it was
/// answered 200; the outcome commits with marking it processed).
async fn settle(store: &Store) {
    for _ in 0..600 {
        if store.job_counts().await.unwrap().inbox_pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("deliveries still unprocessed after 30 s");
}

/// Runs the script through `driver` against a fresh application on `db`; returns each
/// student's earned points.
pub async fn run(db: &TestDb, mut driver: Box<dyn Driver>) -> BTreeMap<usize, i64> {
    let store = db.store().await;
    let mut cfg = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    driver.configure(&mut cfg);
    let app = App::build(&cfg, store.clone(), AppRole::All).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let script = script();
    let start = script[0].0 - chrono::Duration::hours(1);
    for d in driver.setup(start) {
        send(&http, &base, &d).await;
    }
    settle(&store).await;
    let mut last = Vec::new();
    for (at, action) in &script {
        let deliveries = match action {
            Action::Redeliver => last.clone(),
            a => driver.act(*at, a),
        };
        for d in &deliveries {
            send(&http, &base, d).await;
        }
        last = deliveries;
        // Each step is processed before the next one, as in a class where people react to
        // what they see.
        settle(&store).await;
    }
    let mut tx = store.begin().await.unwrap();
    let community = tx
        .community_by_team(driver.platform(), &driver.team())
        .await
        .unwrap()
        .expect("the class was installed");
    tx.commit().await.unwrap();
    let mut out = BTreeMap::new();
    for i in 0..STUDENTS {
        let s = classcred_service::member_summary(&store, &community.id, &driver.user(i))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{}: student {i} is not a member", driver.platform()));
        out.insert(i, s.earned.thousandths() / 1000);
    }
    // The application closes the store when it stops.
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    out
}

mod slack {
    use super::*;
    use secrecy::SecretString;

    pub const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    pub const TEAM: &str = "T0CLASS01";
    const CHANNEL: &str = "C0CLASS01";

    #[derive(Default)]
    pub struct Slack {
        /// `ts` of each message of the script.
        ts: BTreeMap<usize, String>,
        /// Text of each message as last posted or edited.
        text: BTreeMap<usize, String>,
        author: BTreeMap<usize, usize>,
        n: u64,
    }

    fn ts(at: DateTime<Utc>, n: u64) -> String {
        format!("{}.{:06}", at.timestamp(), n)
    }

    impl Slack {
        fn text(&self, to: &[usize], fire: u32) -> String {
            let mut t: Vec<String> = to.iter().map(|i| format!("<@{}>", self.user(*i))).collect();
            t.push("thanks for the notes".into());
            t.extend((0..fire).map(|_| ":fire:".to_owned()));
            t.join(" ")
        }

        fn delivery(&mut self, at: DateTime<Utc>, event: serde_json::Value) -> Delivery {
            self.n += 1;
            let body = serde_json::json!({
                "token": "x",
                "team_id": TEAM,
                "api_app_id": "A0CLASS01",
                "event": event,
                "type": "event_callback",
                "event_id": format!("Ev{:08}", self.n),
                "event_time": at.timestamp(),
                "authorizations": [{"team_id": TEAM, "user_id": "U0BOT0001", "is_bot": true}],
            })
            .to_string()
            .into_bytes();
            let now = Utc::now().timestamp().to_string();
            let sig =
                classcred_slack::sign(&classcred_slack::SigningSecret::new(SECRET), &now, &body);
            Delivery {
                method: reqwest::Method::POST,
                path: "/slack/events".into(),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("x-slack-request-timestamp".into(), now),
                    ("x-slack-signature".into(), sig),
                ],
                body,
            }
        }
    }

    impl Driver for Slack {
        fn platform(&self) -> &'static str {
            "slack"
        }
        fn team(&self) -> String {
            TEAM.into()
        }
        fn user(&self, i: usize) -> String {
            format!("U0STUD{i:03}")
        }
        fn configure(&self, cfg: &mut Config) {
            cfg.slack.signing_secret = Some(SecretString::from(SECRET));
            cfg.slack.team_id = Some(TEAM.into());
            cfg.slack.bot_token = Some(SecretString::from("xoxb-0000-class-test-token"));
            // Notices and look-ups go nowhere reachable: the test asserts points only.
            cfg.slack.api_base_url = Some("http://127.0.0.1:9/api/".into());
        }
        fn setup(&mut self, at: DateTime<Utc>) -> Vec<Delivery> {
            (0..STUDENTS)
                .map(|i| {
                    let user = serde_json::json!({
                        "type": "team_join",
                        "user": {"id": self.user(i), "team_id": TEAM, "name": format!("s{i}"),
                                 "deleted": false, "updated": at.timestamp(),
                                 "profile": {"display_name": format!("Student {i}")}},
                        "event_ts": ts(at, i as u64),
                    });
                    self.delivery(at, user)
                })
                .collect()
        }
        fn act(&mut self, at: DateTime<Utc>, action: &Action) -> Vec<Delivery> {
            let ev = match action {
                Action::Post {
                    msg,
                    author,
                    to,
                    fire,
                } => {
                    let t = ts(at, *msg as u64);
                    let text = self.text(to, *fire);
                    self.ts.insert(*msg, t.clone());
                    self.text.insert(*msg, text.clone());
                    self.author.insert(*msg, *author);
                    serde_json::json!({"type": "message", "channel": CHANNEL, "user": self.user(*author),
                        "text": text, "ts": t, "event_ts": t, "channel_type": "channel"})
                }
                Action::Edit { msg, to, fire } => {
                    let text = self.text(to, *fire);
                    let prev = self.text.insert(*msg, text.clone()).unwrap();
                    let user = self.user(self.author[msg]);
                    let t = &self.ts[msg];
                    serde_json::json!({"type": "message", "subtype": "message_changed", "hidden": true,
                        "channel": CHANNEL, "channel_type": "channel",
                        "message": {"type": "message", "text": text, "user": user, "ts": t,
                                    "edited": {"user": user, "ts": ts(at, 0)}},
                        "previous_message": {"type": "message", "text": prev, "user": user, "ts": t},
                        "event_ts": ts(at, 0), "ts": ts(at, 0)})
                }
                Action::Delete { msg } => {
                    let user = self.user(self.author[msg]);
                    serde_json::json!({"type": "message", "subtype": "message_deleted", "hidden": true,
                        "deleted_ts": self.ts[msg], "channel": CHANNEL, "channel_type": "channel",
                        "previous_message": {"type": "message", "text": self.text[msg], "user": user,
                                             "ts": self.ts[msg]},
                        "event_ts": ts(at, 0), "ts": ts(at, 0)})
                }
                Action::React {
                    msg,
                    reactor,
                    added,
                } => serde_json::json!({
                    "type": if *added { "reaction_added" } else { "reaction_removed" },
                    "user": self.user(*reactor), "reaction": "fire",
                    "item_user": self.user(self.author[msg]),
                    "item": {"type": "message", "channel": CHANNEL, "ts": self.ts[msg]},
                    "event_ts": ts(at, 0)}),
                Action::Redeliver => unreachable!("the harness redelivers"),
            };
            vec![self.delivery(at, ev)]
        }
    }
}

mod matrix {
    use super::*;

    pub const ROOM: &str = "!class0001:school.test";
    const BOT: &str = "@classcred:school.test";
    const TEACHER: &str = "@teacher:school.test";

    /// The Application Service side of the homeserver: transactions with `hs_token`.
    pub struct Matrix {
        hs_token: classcred_matrix::Token,
        /// Event id of each message of the script.
        event: BTreeMap<usize, String>,
        author: BTreeMap<usize, usize>,
        /// Event id of each standing 🔥 reaction, by (message, reactor).
        reactions: BTreeMap<(usize, usize), String>,
        n: u64,
    }

    impl Default for Matrix {
        fn default() -> Self {
            Self {
                hs_token: classcred_matrix::Token::generate(),
                event: BTreeMap::new(),
                author: BTreeMap::new(),
                reactions: BTreeMap::new(),
                n: 0,
            }
        }
    }

    impl Matrix {
        fn next_id(&mut self) -> String {
            self.n += 1;
            format!("$ev{:08}", self.n)
        }

        fn event(
            &mut self,
            at: DateTime<Utc>,
            kind: &str,
            sender: &str,
            content: serde_json::Value,
        ) -> (String, serde_json::Value) {
            let id = self.next_id();
            let ev = serde_json::json!({"type": kind, "event_id": id, "room_id": ROOM,
                "sender": sender, "origin_server_ts": at.timestamp_millis(), "content": content});
            (id, ev)
        }

        fn content(&self, to: &[usize], fire: u32) -> serde_json::Value {
            let users: Vec<String> = to.iter().map(|i| self.user(*i)).collect();
            let pills: Vec<String> = users
                .iter()
                .map(|u| format!("<a href=\"https://matrix.to/#/{u}\">{u}</a>"))
                .collect();
            let mut body = "thanks for the notes".to_owned();
            body.extend((0..fire).map(|_| " 🔥"));
            serde_json::json!({"msgtype": "m.text", "body": body,
                "format": "org.matrix.custom.html",
                "formatted_body": format!("{} {body}", pills.join(" ")),
                "m.mentions": {"user_ids": users}})
        }

        fn transaction(&mut self, events: Vec<serde_json::Value>) -> Delivery {
            self.n += 1;
            Delivery {
                method: reqwest::Method::PUT,
                path: format!("/_matrix/app/v1/transactions/{}", self.n),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    (
                        "authorization".into(),
                        format!("Bearer {}", self.hs_token.expose()),
                    ),
                ],
                body: serde_json::json!({ "events": events })
                    .to_string()
                    .into_bytes(),
            }
        }
    }

    impl Driver for Matrix {
        fn platform(&self) -> &'static str {
            "matrix"
        }
        fn team(&self) -> String {
            ROOM.into()
        }
        fn user(&self, i: usize) -> String {
            format!("@student{i}:school.test")
        }
        fn configure(&self, cfg: &mut Config) {
            cfg.matrix = Some(classcred_matrix::MatrixConfig {
                // Joins, notices and look-ups go nowhere reachable: the test asserts points only.
                homeserver_url: "http://127.0.0.1:9".into(),
                server_name: "school.test".into(),
                as_token: classcred_matrix::Token::generate(),
                hs_token: self.hs_token.clone(),
                sender_localpart: "classcred".into(),
            });
        }
        fn setup(&mut self, at: DateTime<Utc>) -> Vec<Delivery> {
            // The teacher invites the bot, then the students join the room.
            let (_, mut invite) = self.event(
                at,
                "m.room.member",
                TEACHER,
                serde_json::json!({"membership": "invite"}),
            );
            invite["state_key"] = BOT.into();
            let mut events = vec![invite];
            for i in 0..STUDENTS {
                let u = self.user(i);
                let (_, mut join) = self.event(
                    at,
                    "m.room.member",
                    &u,
                    serde_json::json!({"membership": "join", "displayname": format!("Student {i}")}),
                );
                join["state_key"] = u.into();
                events.push(join);
            }
            vec![self.transaction(events)]
        }
        fn act(&mut self, at: DateTime<Utc>, action: &Action) -> Vec<Delivery> {
            let ev = match action {
                Action::Post {
                    msg,
                    author,
                    to,
                    fire,
                } => {
                    let content = self.content(to, *fire);
                    let (id, ev) = self.event(at, "m.room.message", &self.user(*author), content);
                    self.event.insert(*msg, id);
                    self.author.insert(*msg, *author);
                    ev
                }
                Action::Edit { msg, to, fire } => {
                    let new = self.content(to, *fire);
                    let mut content = new.clone();
                    content["body"] = format!("* {}", new["body"].as_str().unwrap()).into();
                    content["m.new_content"] = new;
                    content["m.relates_to"] =
                        serde_json::json!({"rel_type": "m.replace", "event_id": self.event[msg]});
                    let sender = self.user(self.author[msg]);
                    self.event(at, "m.room.message", &sender, content).1
                }
                Action::Delete { msg } => {
                    let target = self.event[msg].clone();
                    let sender = self.user(self.author[msg]);
                    let (_, mut ev) = self.event(
                        at,
                        "m.room.redaction",
                        &sender,
                        serde_json::json!({"redacts": target}),
                    );
                    ev["redacts"] = target.into();
                    ev
                }
                Action::React {
                    msg,
                    reactor,
                    added: true,
                } => {
                    let content = serde_json::json!({"m.relates_to": {"rel_type": "m.annotation",
                        "event_id": self.event[msg], "key": "🔥"}});
                    let (id, ev) = self.event(at, "m.reaction", &self.user(*reactor), content);
                    self.reactions.insert((*msg, *reactor), id);
                    ev
                }
                Action::React {
                    msg,
                    reactor,
                    added: false,
                } => {
                    let target = self.reactions.remove(&(*msg, *reactor)).unwrap();
                    let (_, mut ev) = self.event(
                        at,
                        "m.room.redaction",
                        &self.user(*reactor),
                        serde_json::json!({"redacts": target}),
                    );
                    ev["redacts"] = target.into();
                    ev
                }
                Action::Redeliver => unreachable!("the harness redelivers"),
            };
            vec![self.transaction(vec![ev])]
        }
    }
}

mod teams {
    use super::*;
    use secrecy::SecretString;
    use serde_json::{json, Value};

    pub const APP_ID: &str = "00000000-0000-4000-8000-00000000c1a5";
    pub const TEAM: &str = "19:class-team@thread.tacv2";
    const CHANNEL: &str = "19:class-channel@thread.tacv2";
    /// Nothing listens there: member syncs, notices and answers fail and are retried (the test
    /// asserts points only); tokens name it as the activities' serviceUrl.
    const SERVICE_URL: &str = "http://127.0.0.1:9/amer/";

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../classcred-teams/tests/fixtures")
            .join(name)
    }

    /// Teams as the Bot Framework sends it: every activity with a JWT signed by a key that a
    /// local OpenID metadata document publishes, endorsed for `msteams`.
    pub struct Teams {
        metadata_url: String,
        key: Vec<u8>,
        id: BTreeMap<usize, String>,
        author: BTreeMap<usize, usize>,
        n: u64,
    }

    impl Teams {
        pub async fn new() -> Teams {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let mut jwk: Value =
                serde_json::from_slice(&std::fs::read(fixture("test_key.jwk.json")).unwrap())
                    .unwrap();
            jwk["kty"] = json!("RSA");
            jwk["kid"] = json!("test-key");
            jwk["endorsements"] = json!(["msteams"]);
            let keys = json!({ "keys": [jwk] });
            let metadata = json!({ "issuer": "https://api.botframework.com",
                "jwks_uri": format!("{base}/v1/.well-known/keys") });
            let app = axum::Router::new()
                .route(
                    "/v1/.well-known/openidconfiguration",
                    axum::routing::get(move || async move { axum::Json(metadata) }),
                )
                .route(
                    "/v1/.well-known/keys",
                    axum::routing::get(move || async move { axum::Json(keys) }),
                );
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            Teams {
                metadata_url: format!("{base}/v1/.well-known/openidconfiguration"),
                key: std::fs::read(fixture("test_key.der")).unwrap(),
                id: BTreeMap::new(),
                author: BTreeMap::new(),
                n: 0,
            }
        }

        fn delivery(&self, activity: Value) -> Delivery {
            let now = Utc::now().timestamp();
            let claims = json!({"iss": "https://api.botframework.com", "aud": APP_ID,
                "serviceurl": SERVICE_URL, "nbf": now - 60, "exp": now + 3600});
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
            header.kid = Some("test-key".into());
            let token = jsonwebtoken::encode(
                &header,
                &claims,
                &jsonwebtoken::EncodingKey::from_rsa_der(&self.key),
            )
            .unwrap();
            Delivery {
                method: reqwest::Method::POST,
                path: "/teams/messages".into(),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("authorization".into(), format!("Bearer {token}")),
                ],
                body: activity.to_string().into_bytes(),
            }
        }

        fn activity(
            &mut self,
            kind: &str,
            id: &str,
            at: DateTime<Utc>,
            from: &str,
            conversation: &str,
        ) -> Value {
            self.n += 1;
            json!({
                "type": kind, "id": id, "timestamp": at.to_rfc3339(), "channelId": "msteams",
                "serviceUrl": SERVICE_URL, "from": {"id": from},
                "recipient": {"id": format!("28:{APP_ID}"), "name": "ClassCred"},
                "conversation": {"id": conversation, "conversationType": "channel", "tenantId": "tenant-1"},
                "channelData": {"team": {"id": TEAM}, "channel": {"id": CHANNEL}, "tenant": {"id": "tenant-1"}}
            })
        }

        fn thread(&self, msg: usize) -> String {
            format!("{CHANNEL};messageid={}", self.id[&msg])
        }

        fn content(&self, a: &mut Value, to: &[usize], fire: u32) {
            let mut text: Vec<String> = Vec::new();
            let mut entities = Vec::new();
            for i in to {
                let span = format!("<at>Student {i}</at>");
                entities.push(json!({"type": "mention", "mentioned": {"id": self.user(*i), "name": format!("Student {i}")}, "text": span}));
                text.push(span);
            }
            text.push("thanks for the notes".into());
            text.extend((0..fire).map(|k| ["(fire)", "🔥", ":fire:"][k as usize % 3].to_owned()));
            a["text"] = json!(text.join(" "));
            a["textFormat"] = json!("plain");
            a["entities"] = json!(entities);
        }
    }

    impl Driver for Teams {
        fn platform(&self) -> &'static str {
            "teams"
        }
        fn team(&self) -> String {
            TEAM.into()
        }
        fn user(&self, i: usize) -> String {
            format!("29:student-{i}")
        }
        fn configure(&self, cfg: &mut Config) {
            cfg.teams.app_id = Some(APP_ID.into());
            cfg.teams.app_password = Some(SecretString::from("p".repeat(40)));
            cfg.teams.openid_metadata_url = Some(self.metadata_url.clone());
            cfg.teams.service_url_origins = Some(vec!["http://127.0.0.1:9".into()]);
            cfg.teams.login_url = Some("http://127.0.0.1:9".into());
        }
        fn setup(&mut self, at: DateTime<Utc>) -> Vec<Delivery> {
            let bot = format!("28:{APP_ID}");
            let mut install =
                self.activity("conversationUpdate", "f:install", at, "29:teacher", TEAM);
            install["membersAdded"] = json!([{ "id": bot }]);
            install["channelData"]["team"]["name"] = json!("The class");
            let mut members =
                self.activity("conversationUpdate", "f:members", at, "29:teacher", TEAM);
            members["membersAdded"] = json!((0..STUDENTS)
                .map(|i| json!({"id": self.user(i)}))
                .collect::<Vec<_>>());
            vec![self.delivery(install), self.delivery(members)]
        }
        fn act(&mut self, at: DateTime<Utc>, action: &Action) -> Vec<Delivery> {
            let a = match action {
                Action::Post {
                    msg,
                    author,
                    to,
                    fire,
                } => {
                    let id = (at.timestamp_millis() + *msg as i64).to_string();
                    self.id.insert(*msg, id.clone());
                    self.author.insert(*msg, *author);
                    let conv = self.thread(*msg);
                    let mut a = self.activity("message", &id, at, &self.user(*author), &conv);
                    self.content(&mut a, to, *fire);
                    a
                }
                Action::Edit { msg, to, fire } => {
                    let (id, conv) = (self.id[msg].clone(), self.thread(*msg));
                    let mut a = self.activity(
                        "messageUpdate",
                        &id,
                        at,
                        &self.user(self.author[msg]),
                        &conv,
                    );
                    a["channelData"]["eventType"] = json!("editMessage");
                    self.content(&mut a, to, *fire);
                    a
                }
                Action::Delete { msg } => {
                    let (id, conv) = (self.id[msg].clone(), self.thread(*msg));
                    let mut a = self.activity(
                        "messageDelete",
                        &id,
                        at,
                        &self.user(self.author[msg]),
                        &conv,
                    );
                    a["channelData"]["eventType"] = json!("softDeleteMessage");
                    a
                }
                Action::React {
                    msg,
                    reactor,
                    added,
                } => {
                    let id = format!("f:reaction-{}", self.n);
                    let conv = self.thread(*msg);
                    let mut a =
                        self.activity("messageReaction", &id, at, &self.user(*reactor), &conv);
                    a["replyToId"] = json!(self.id[msg]);
                    let list = if *added {
                        "reactionsAdded"
                    } else {
                        "reactionsRemoved"
                    };
                    a[list] = json!([{ "type": "fire" }]);
                    a
                }
                Action::Redeliver => unreachable!("the harness redelivers"),
            };
            vec![self.delivery(a)]
        }
    }
}

#[tokio::test]
async fn the_model_of_the_script() {
    // The script exercises what it claims to (a guard against a script edit that would make
    // the comparison vacuous).
    let m = model(&script());
    let expect: BTreeMap<usize, i64> = [(0, 0), (1, 3), (2, 2), (3, 1), (4, 3), (5, 3)].into();
    assert_eq!(m, expect);
}

#[tokio::test]
async fn one_class_script_gives_the_same_points_on_every_platform() {
    let expected = model(&script());
    // A fresh database per platform and backend: each run's store has a master key of its
    // own, which a database another run created refuses.
    for platform in ["slack", "matrix", "teams"] {
        for db in TestDb::all().await {
            let d: Box<dyn Driver> = match platform {
                "slack" => Box::new(slack::Slack::default()),
                "matrix" => Box::new(matrix::Matrix::default()),
                _ => Box::new(teams::Teams::new().await),
            };
            let got = run(&db, d).await;
            assert_eq!(got, expected, "{platform} on {}", db.backend());
        }
    }
}
