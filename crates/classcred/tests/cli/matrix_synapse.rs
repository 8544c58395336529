//! Matrix end to end against a real homeserver: Synapse (PyPI `matrix-synapse`, SQLite, on
//! 127.0.0.1) with ClassCred registered as its Application Service, ClassCred's real
//! application (`App::build` with `[matrix]`: routes, workers, job handlers) on a loopback
//! port, and real clients (matrix-nio, `crates/classcred-matrix/tests/py/driver.py`) posting
//! messages with mentions and fire, reactions, edits and redactions. The balances after
//! processing must equal an independent model of the class's intents. Included: a transaction
//! the Application Service refused (test hook) and Synapse redelivered under the same txnId,
//! and a 🔥 reaction redacted before its delivery succeeded (Synapse then hands over the pruned
//! reaction: no award). Runs once per database backend (SQLite, and PostgreSQL when
//! available) against one Synapse, which is killed at the end (its pid is recorded).
//!
//! Synapse and matrix-nio live in a virtualenv: `$CLASSCRED_SYNAPSE_VENV`, else
//! `target/venv-synapse` (`scripts/test.sh` installs it). Without it the test is skipped with a
//! loud message, unless `CLASSCRED_REQUIRE_SYNAPSE=1` (CI), which makes it fail.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use classcred::config::Config;
use classcred::{App, Role as AppRole};
use classcred_matrix::{MatrixConfig, Token};
use classcred_store::testing::TestDb;
use classcred_store::{CommunityState, Store};
use serde_json::{json, Value};

const SERVER: &str = "localtest";
const USERS: &[&str] = &["alice", "bob", "carol", "dave", "erin"];
/// Registered on the homeserver but never in the class's room: mentioning her gives nothing.
const OUTSIDER: &str = "erin";
/// Students' daily quota (the engine's default settings).
const QUOTA: u32 = 5;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn py_dir() -> PathBuf {
    workspace().join("crates/classcred-matrix/tests/py")
}

/// The virtualenv's python, when Synapse and matrix-nio import in it.
fn venv_python() -> Option<PathBuf> {
    let venv = std::env::var_os("CLASSCRED_SYNAPSE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/venv-synapse"));
    let python = venv.join("bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import synapse, nio, yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(python)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running Synapse; killed (by its recorded pid) when dropped.
struct Synapse {
    child: Child,
    pid: u32,
    url: String,
    config: PathBuf,
    dir: PathBuf,
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("Synapse (pid {}) stopped", self.pid);
    }
}

impl Synapse {
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("homeserver.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

async fn start_synapse(python: &Path, dir: &Path, port: u16, registration: &Path) -> Synapse {
    let out = Command::new(python)
        .arg(py_dir().join("homeserver.py"))
        .arg(dir)
        .arg(SERVER)
        .arg(port.to_string())
        .arg(registration)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "homeserver.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let log = std::fs::File::create(dir.join("synapse.out")).unwrap();
    let child = Command::new(python)
        .args(["-m", "synapse.app.homeserver", "-c"])
        .arg(&config)
        .current_dir(dir)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let pid = child.id();
    std::fs::write(dir.join("synapse.pid"), pid.to_string()).unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let s = Synapse {
        child,
        pid,
        url: url.clone(),
        config,
        dir: dir.to_path_buf(),
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = client
            .get(format!("{url}/_matrix/client/versions"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Synapse did not answer within 60 s:\n{}",
            std::fs::read_to_string(dir.join("synapse.out")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for u in USERS {
        let out = Command::new(python.parent().unwrap().join("register_new_matrix_user"))
            .arg("-c")
            .arg(&s.config)
            .args(["-u", u, "-p", &password(u), "--no-admin", &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "register {u}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    s
}

fn password(user: &str) -> String {
    format!("pw-{user}-classcred-test")
}

fn uid(user: &str) -> String {
    format!("@{user}:{SERVER}")
}

/// Runs driver steps with real clients; returns the variables (room and event ids).
fn drive(python: &Path, hs: &Synapse, vars: &Value, steps: Value) -> BTreeMap<String, String> {
    let users: serde_json::Map<String, Value> = USERS
        .iter()
        .map(|u| ((*u).to_owned(), Value::String(password(u))))
        .collect();
    let program =
        json!({"hs": hs.url, "server": SERVER, "users": users, "vars": vars, "steps": steps});
    let mut child = Command::new(python)
        .arg(py_dir().join("driver.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(serde_json::to_string(&program).unwrap().as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "driver failed: {}\nSynapse log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        hs.log_tail()
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["vars"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// The class's intents, in order: what each action was meant to do, never its text.
#[derive(Debug, Clone)]
enum Intent {
    Post {
        msg: &'static str,
        author: &'static str,
        mentions: Vec<&'static str>,
        fire: u32,
    },
    Edit {
        msg: &'static str,
        mentions: Vec<&'static str>,
        fire: u32,
    },
    Delete {
        msg: &'static str,
    },
    React {
        label: &'static str,
        msg: &'static str,
        reactor: &'static str,
        fire: bool,
    },
    Unreact {
        label: &'static str,
    },
    /// A 🔥 reaction redacted before its delivery succeeded: the homeserver delivers the
    /// pruned reaction, which gives nothing.
    ReactRedactedBeforeDelivery,
}

/// The independent model: all-or-nothing gives within the daily quota (Students; the Admin
/// is unlimited), one unit per 🔥 per mentioned member other than the author, one per 🔥
/// reaction on someone else's message; edits move the standing units to the new count;
/// deletions and removed reactions take their units back and refund the quota (same day).
#[derive(Default)]
struct Model {
    earned: BTreeMap<&'static str, i64>,
    used: BTreeMap<&'static str, u32>,
    authors: BTreeMap<&'static str, &'static str>,
    /// message → recipient → standing units.
    units: BTreeMap<&'static str, BTreeMap<&'static str, u32>>,
    /// reaction label → (giver, recipient, message) when it gave a unit.
    reactions: BTreeMap<&'static str, (&'static str, &'static str, &'static str)>,
}

impl Model {
    fn give(&mut self, giver: &'static str, wants: &[(&'static str, u32)]) -> bool {
        let total: u32 = wants.iter().map(|w| w.1).sum();
        let limited = giver != "alice";
        if limited && self.used.get(giver).copied().unwrap_or(0) + total > QUOTA {
            return false;
        }
        if limited {
            *self.used.entry(giver).or_default() += total;
        }
        for (r, n) in wants {
            *self.earned.entry(r).or_default() += i64::from(*n) * 1000;
        }
        true
    }

    fn take_back(&mut self, giver: &'static str, recipient: &'static str, n: u32) {
        *self.earned.entry(recipient).or_default() -= i64::from(n) * 1000;
        if giver != "alice" {
            *self.used.entry(giver).or_default() -= n;
        }
    }

    fn apply(&mut self, i: &Intent) {
        match i {
            Intent::Post {
                msg,
                author,
                mentions,
                fire,
            } => {
                self.authors.insert(msg, author);
                let wants: Vec<(&'static str, u32)> = mentions
                    .iter()
                    .filter(|m| *m != author && **m != OUTSIDER && *fire > 0)
                    .map(|m| (*m, *fire))
                    .collect();
                if self.give(author, &wants) {
                    self.units.insert(msg, wants.into_iter().collect());
                }
            }
            Intent::Edit {
                msg,
                mentions,
                fire,
            } => {
                let author = self.authors[msg];
                let standing = self.units.remove(msg).unwrap_or_default();
                let mut kept = BTreeMap::new();
                for (r, n) in standing {
                    let keep = if mentions.contains(&r) {
                        n.min(*fire)
                    } else {
                        0
                    };
                    if n > keep {
                        self.take_back(author, r, n - keep);
                    }
                    kept.insert(r, keep);
                }
                let wants: Vec<(&'static str, u32)> = mentions
                    .iter()
                    .filter(|m| **m != author && **m != OUTSIDER)
                    .filter_map(|m| {
                        let have = kept.get(m).copied().unwrap_or(0);
                        (*fire > have).then_some((*m, *fire - have))
                    })
                    .collect();
                if self.give(author, &wants) {
                    for (r, n) in wants {
                        *kept.entry(r).or_default() += n;
                    }
                }
                self.units.insert(msg, kept);
            }
            Intent::Delete { msg } => {
                let author = self.authors[msg];
                for (r, n) in self.units.remove(msg).unwrap_or_default() {
                    self.take_back(author, r, n);
                }
                // Deleting a message also takes back the 🔥 reactions on it.
                let on_it: Vec<&'static str> = self
                    .reactions
                    .iter()
                    .filter(|(_, (_, _, m))| m == msg)
                    .map(|(l, _)| *l)
                    .collect();
                for l in on_it {
                    if let Some((giver, to, _)) = self.reactions.remove(l) {
                        self.take_back(giver, to, 1);
                    }
                }
            }
            Intent::React {
                label,
                msg,
                reactor,
                fire,
            } => {
                let author = self.authors[msg];
                if *fire && reactor != &author && self.give(reactor, &[(author, 1)]) {
                    self.reactions.insert(label, (reactor, author, msg));
                }
            }
            Intent::Unreact { label } => {
                if let Some((giver, to, _)) = self.reactions.remove(label) {
                    self.take_back(giver, to, 1);
                }
            }
            Intent::ReactRedactedBeforeDelivery => {}
        }
    }
}

async fn balances(store: &Store, room: &str) -> Option<BTreeMap<String, i64>> {
    let mut tx = store.begin().await.ok()?;
    let c = tx.community_by_team("matrix", room).await.ok()??;
    let b = tx.for_community(&c.id).balances().await.ok()?;
    tx.commit().await.ok()?;
    Some(
        b.into_iter()
            .map(|m| (m.platform_user_id, m.earned_milli))
            .collect(),
    )
}

/// The bot's direct room with `user` (its `m.direct` account data, read as the Application
/// Service), once the bot created it.
async fn direct_room(hs: &Synapse, as_token: &Token, user: &str) -> String {
    let client = reqwest::Client::new();
    let url = format!(
        "{}/_matrix/client/v3/user/{}/account_data/m.direct",
        hs.url,
        uid("classcred").replace('@', "%40").replace(':', "%3A")
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = client
            .get(&url)
            .bearer_auth(as_token.expose())
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            let v: Value = r.json().await.unwrap();
            if let Some(room) = v[uid(user)][0].as_str() {
                return room.to_owned();
            }
        }
        assert!(Instant::now() < deadline, "no direct room with {user}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_on_a_real_synapse_gets_the_balances_of_the_model() {
    let Some(python) = venv_python() else {
        if std::env::var("CLASSCRED_REQUIRE_SYNAPSE").as_deref() == Ok("1") {
            panic!("Synapse is required (CLASSCRED_REQUIRE_SYNAPSE=1) but target/venv-synapse (or $CLASSCRED_SYNAPSE_VENV) has no matrix-synapse and matrix-nio");
        }
        eprintln!("\n=== SKIPPING the Matrix end-to-end test: no Synapse virtualenv (run scripts/test.sh, or set CLASSCRED_SYNAPSE_VENV) ===\n");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (as_token, hs_token) = (Token::generate(), Token::generate());
    let as_port = free_port();
    let hs_port = free_port();
    let registration = dir.path().join("classcred-registration.yaml");
    std::fs::write(
        &registration,
        classcred_matrix::config::registration_yaml(
            &format!("http://127.0.0.1:{as_port}"),
            SERVER,
            "classcred",
            &as_token,
            &hs_token,
        ),
    )
    .unwrap();
    let hs = start_synapse(&python, dir.path(), hs_port, &registration).await;
    for db in TestDb::all().await {
        let store = db.store().await;
        let cfg = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], as_port)),
            workers: 2,
            matrix: Some(MatrixConfig {
                homeserver_url: hs.url.clone(),
                server_name: SERVER.into(),
                as_token: as_token.clone(),
                hs_token: hs_token.clone(),
                sender_localpart: "classcred".into(),
            }),
            ..Config::default()
        };
        let app = App::build(&cfg, store.clone(), AppRole::All).await.unwrap();
        let hook = app.matrix_hook().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        scenario(&python, &hs, &store, &hook, &as_token, db.backend()).await;
        let _ = stop.send(());
        running.await.unwrap().unwrap();
    }
    drop(hs);
}

async fn scenario(
    python: &Path,
    hs: &Synapse,
    store: &Store,
    hook: &Arc<classcred_matrix::http::TxnHook>,
    as_token: &Token,
    backend: &str,
) {
    // The teacher creates the room and invites the class and the bot; the bot joins (a job).
    let mut vars = drive(
        python,
        hs,
        &json!({}),
        json!([
            {"op": "create_room", "as": "alice", "name": format!("Biology ({backend})"),
             "invite": ["bob", "carol", "dave"], "label": "room"},
            {"op": "join", "as": "bob", "room": "$room"},
            {"op": "join", "as": "carol", "room": "$room"},
            {"op": "join", "as": "dave", "room": "$room"},
            // The bot comes last: the class's joins happened before it was there, so the
            // members come from the member sync (`joined_members`) after it joined.
            {"op": "invite", "as": "alice", "room": "$room", "user": "classcred"},
            {"op": "wait_joined", "as": "alice", "room": "$room", "user": "classcred", "timeout": 60},
        ]),
    );
    let room = vars["room"].clone();
    let room_ref = &room;
    // The room is a community, its inviter the Admin, the class its members.
    wait_for(
        "the community and its members",
        Duration::from_secs(60),
        || async move {
            let Ok(mut tx) = store.begin().await else {
                return false;
            };
            let Ok(Some(c)) = tx.community_by_team("matrix", room_ref).await else {
                return false;
            };
            let members = tx
                .for_community(&c.id)
                .list_members()
                .await
                .unwrap_or_default();
            let _ = tx.commit().await;
            c.state == CommunityState::Active
                && ["bob", "carol", "dave"]
                    .iter()
                    .all(|u| members.iter().any(|m| m.platform_user_id == uid(u)))
                && members.iter().any(|m| {
                    m.platform_user_id == uid("alice") && m.role == classcred_store::Role::Admin
                })
        },
    )
    .await;

    let mut intents: Vec<Intent> = Vec::new();
    vars.extend(drive(
        python,
        hs,
        &json!(vars),
        json!([
            {"op": "send", "as": "alice", "room": "$room", "text": "great work 🔥", "mentions": ["bob"], "label": "m1"},
            {"op": "send", "as": "bob", "room": "$room", "text": "thanks :fire: :fire:", "mentions": ["carol"], "label": "m2"},
            {"op": "send", "as": "carol", "room": "$room", "text": "hello everyone", "label": "m3"},
            {"op": "react", "as": "dave", "room": "$room", "event": "$m3", "key": "🔥", "label": "r1"},
            {"op": "react", "as": "carol", "room": "$room", "event": "$m2", "key": "🔥", "label": "r2"},
            {"op": "react", "as": "bob", "room": "$room", "event": "$m1", "key": "👍", "label": "r3"},
            {"op": "edit", "as": "bob", "room": "$room", "event": "$m2", "text": "thanks 🔥", "mentions": ["carol"], "label": "e1"},
            {"op": "send", "as": "dave", "room": "$room", "text": "nice 🔥", "mentions": ["bob"], "label": "m4"},
            {"op": "redact", "as": "dave", "room": "$room", "event": "$m4", "label": "d1"},
            {"op": "react", "as": "bob", "room": "$room", "event": "$m1", "key": ":fire:", "label": "r4"},
            {"op": "redact", "as": "bob", "room": "$room", "event": "$r4", "label": "d2"},
            {"op": "edit", "as": "carol", "room": "$room", "event": "$m3", "text": "hello everyone 🔥", "mentions": ["dave"], "label": "e2"},
            {"op": "send", "as": "bob", "room": "$room", "text": "🔥 self fire", "mentions": ["bob"], "label": "m5"},
            // Someone outside the room: looked up on the homeserver (not a member), no fire.
            {"op": "send", "as": "dave", "room": "$room", "text": "🔥 for all", "mentions": ["erin", "carol"], "label": "m7"},
        ]),
    ));
    intents.extend([
        Intent::Post {
            msg: "m1",
            author: "alice",
            mentions: vec!["bob"],
            fire: 1,
        },
        Intent::Post {
            msg: "m2",
            author: "bob",
            mentions: vec!["carol"],
            fire: 2,
        },
        Intent::Post {
            msg: "m3",
            author: "carol",
            mentions: vec![],
            fire: 0,
        },
        Intent::React {
            label: "r1",
            msg: "m3",
            reactor: "dave",
            fire: true,
        },
        Intent::React {
            label: "r2",
            msg: "m2",
            reactor: "carol",
            fire: true,
        },
        Intent::React {
            label: "r3",
            msg: "m1",
            reactor: "bob",
            fire: false,
        },
        Intent::Edit {
            msg: "m2",
            mentions: vec!["carol"],
            fire: 1,
        },
        Intent::Post {
            msg: "m4",
            author: "dave",
            mentions: vec!["bob"],
            fire: 1,
        },
        Intent::Delete { msg: "m4" },
        Intent::React {
            label: "r4",
            msg: "m1",
            reactor: "bob",
            fire: true,
        },
        Intent::Unreact { label: "r4" },
        Intent::Edit {
            msg: "m3",
            mentions: vec!["dave"],
            fire: 1,
        },
        Intent::Post {
            msg: "m5",
            author: "bob",
            mentions: vec!["bob"],
            fire: 1,
        },
        Intent::Post {
            msg: "m7",
            author: "dave",
            mentions: vec!["erin", "carol"],
            fire: 1,
        },
    ]);

    // A redelivered transaction: the Application Service refuses for a while, Synapse keeps
    // the transaction and sends the same txnId again once it is accepted.
    hook.refuse.store(true, std::sync::atomic::Ordering::SeqCst);
    vars.extend(drive(
        python,
        hs,
        &json!(vars),
        json!([
            {"op": "send", "as": "bob", "room": "$room", "text": "for you 🔥", "mentions": ["dave"], "label": "m6"},
        ]),
    ));
    intents.push(Intent::Post {
        msg: "m6",
        author: "bob",
        mentions: vec!["dave"],
        fire: 1,
    });
    let before = hook.refusals();
    wait_for(
        "Synapse to retry a refused transaction",
        Duration::from_secs(60),
        || async move {
            // Refused at least twice: the first attempt and one retry of the same txnId.
            hook.refusals() >= before + 2
        },
    )
    .await;
    let refused_before = hook.refused();
    hook.refuse
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let refused_before = &refused_before;
    wait_for(
        "the refused transaction to be redelivered",
        Duration::from_secs(90),
        || async move {
            refused_before
                .iter()
                .all(|t| hook.redelivered().contains(t))
        },
    )
    .await;

    // A 🔥 reaction redacted before its delivery succeeded.
    hook.refuse.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = hook.refused().len();
    vars.extend(drive(
        python,
        hs,
        &json!(vars),
        json!([
            {"op": "react", "as": "carol", "room": "$room", "event": "$m1", "key": "🔥", "label": "r5"},
        ]),
    ));
    wait_for(
        "the reaction's transaction to be refused",
        Duration::from_secs(60),
        || async move { hook.refused().len() > seen },
    )
    .await;
    vars.extend(drive(
        python,
        hs,
        &json!(vars),
        json!([{"op": "redact", "as": "carol", "room": "$room", "event": "$r5", "label": "d5"}]),
    ));
    let refused_now = hook.refused();
    hook.refuse
        .store(false, std::sync::atomic::Ordering::SeqCst);
    intents.push(Intent::ReactRedactedBeforeDelivery);
    let refused_now = &refused_now;
    wait_for(
        "the reaction's transaction to be redelivered",
        Duration::from_secs(90),
        || async move { refused_now.iter().all(|t| hook.redelivered().contains(t)) },
    )
    .await;

    let mut model = Model::default();
    for i in &intents {
        model.apply(i);
    }
    let expected: BTreeMap<String, i64> = USERS
        .iter()
        .map(|u| (uid(u), model.earned.get(u).copied().unwrap_or(0)))
        .collect();
    // The scenario exercised what it is about.
    assert!(expected.values().any(|v| *v > 0));
    assert_eq!(
        expected[&uid("alice")],
        0,
        "the redacted reactions give nothing"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: BTreeMap<String, i64> = balances(store, &room)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|(u, _)| USERS.iter().any(|x| uid(x) == *u))
            .collect();
        let all: BTreeMap<String, i64> = expected
            .keys()
            .map(|k| (k.clone(), got.get(k).copied().unwrap_or(0)))
            .collect();
        if all == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{backend}: balances {all:?} never reached the model's {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Nothing is left waiting: every stored delivery is processed.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut tx = store.begin().await.unwrap();
        let c = tx
            .community_by_team("matrix", &room)
            .await
            .unwrap()
            .unwrap();
        let mut ctx = tx.for_community(&c.id);
        let pending = ctx.pending_inbox_count().await.unwrap();
        let head = match ctx.oldest_unprocessed_inbox().await.unwrap() {
            Some(id) => {
                let e = ctx.inbox_event(&id).await.unwrap();
                format!("{} {} attempts {}", e.event_type, e.event_id, e.attempts)
            }
            None => String::new(),
        };
        tx.commit().await.unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{backend}: {pending} deliveries left unprocessed, the oldest: {head}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // And the balances stayed those of the model.
    let got = balances(store, &room).await.unwrap();
    let got: BTreeMap<String, i64> = expected
        .keys()
        .map(|k| (k.clone(), got.get(k).copied().unwrap_or(0)))
        .collect();
    assert_eq!(got, expected, "{backend}");
    // The redaction d5 changes no balance (its reaction was never stored), so the waits above
    // do not cover it: Synapse may deliver it in a transaction of its own, after the one it
    // retried. Wait for it before reading how each delivery was understood.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut tx = store.begin().await.unwrap();
        let c = tx
            .community_by_team("matrix", &room)
            .await
            .unwrap()
            .unwrap();
        let d5 = tx
            .for_community(&c.id)
            .inbox_event_by_event_id("matrix", &vars["d5"])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        if d5.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{backend}: the redaction d5 was never delivered"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // How each delivery was understood (the inbox holds one row per event id).
    let mut tx = store.begin().await.unwrap();
    let c = tx
        .community_by_team("matrix", &room)
        .await
        .unwrap()
        .unwrap();
    let mut kinds = BTreeMap::new();
    for label in [
        "m1", "m2", "m3", "r1", "r3", "e1", "d1", "d2", "e2", "m6", "r5", "d5",
    ] {
        let row = tx
            .for_community(&c.id)
            .inbox_event_by_event_id("matrix", &vars[label])
            .await
            .unwrap();
        kinds.insert(label, row.map(|r| r.event_type).unwrap_or_default());
    }
    tx.commit().await.unwrap();
    let want: BTreeMap<&str, String> = [
        ("m1", "message_posted"),
        ("m2", "message_posted"),
        // No fire, no mention: not stored; the reaction on it found its author on the homeserver.
        ("m3", ""),
        ("r1", "reaction_added"),
        ("r3", ""),
        ("e1", "message_edited"),
        ("d1", "message_deleted"),
        // The redaction of a stored 🔥 reaction removes it.
        ("d2", "reaction_removed"),
        // An edit that adds fire to a message ClassCred never stored.
        ("e2", "message_edited"),
        // The redelivered transaction's message, stored once.
        ("m6", "message_posted"),
        // The reaction redacted before delivery arrived pruned: never stored.
        ("r5", ""),
        ("d5", "message_deleted"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    assert_eq!(kinds, want, "{backend}");
    // Commands: `top` is answered in the room, `me` in the member's direct room (the room is
    // told so); notices go to the direct room; a give is confirmed with a ✅ reaction.
    vars.extend(drive(
        python,
        hs,
        &json!(vars),
        json!([
            {"op": "mark", "label": "t0"},
            {"op": "send", "as": "carol", "room": "$room", "text": "!cred top", "label": "c1"},
            {"op": "send", "as": "carol", "room": "$room", "text": "!cred me", "label": "c2"},
            {"op": "wait_notice", "as": "carol", "room": "$room", "sender": "classcred",
             "contains": "Leaderboard", "after": "$t0", "timeout": 60},
            {"op": "wait_notice", "as": "carol", "room": "$room", "sender": "classcred",
             "contains": "direct message", "after": "$t0", "timeout": 60},
            {"op": "wait_reaction", "as": "alice", "room": "$room", "sender": "classcred",
             "event": "$m6", "key": "✅", "timeout": 60},
        ]),
    ));
    let carol_dm = direct_room(hs, as_token, "carol").await;
    let bob_dm = direct_room(hs, as_token, "bob").await;
    vars.insert("carol_dm".into(), carol_dm);
    vars.insert("bob_dm".into(), bob_dm);
    drive(
        python,
        hs,
        &json!(vars),
        json!([
            {"op": "join", "as": "carol", "room": "$carol_dm"},
            {"op": "wait_notice", "as": "carol", "room": "$carol_dm", "sender": "classcred",
             "contains": "Your ClassCred", "after": "$t0", "timeout": 60},
            {"op": "join", "as": "bob", "room": "$bob_dm"},
            // The self-fire of m5, refused with a private notice.
            {"op": "wait_notice", "as": "bob", "room": "$bob_dm", "sender": "classcred",
             "contains": "give fire to yourself", "timeout": 60},
        ]),
    );
    let mut tx = store.begin().await.unwrap();
    let members = tx.for_community(&c.id).list_members().await.unwrap();
    assert!(
        !members.iter().any(|m| m.platform_user_id == uid(OUTSIDER)),
        "{backend}: someone outside the room is not a member"
    );
    for label in ["c1", "c2"] {
        assert!(
            tx.for_community(&c.id)
                .inbox_event_by_event_id("matrix", &vars[label])
                .await
                .unwrap()
                .is_none(),
            "{backend}: a command is not an engine event"
        );
    }
    tx.commit().await.unwrap();
    eprintln!(
        "{backend}: Matrix balances equal the model: {expected:?}; vars {}",
        vars.len()
    );
}

/// `classcred matrix registration`: the registration file (0600, strong new tokens, the
/// exclusive namespace) and the `[matrix]` table that goes with it, which the server accepts.
#[test]
fn registration_writes_the_file_and_prints_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::support::run(
        dir.path(),
        &[
            "matrix",
            "registration",
            "--url",
            "https://classcred.example.org",
            "--server-name",
            "example.org",
            "--out",
            "reg.yaml",
        ],
    );
    assert!(out.status.success(), "{}", crate::support::text(&out));
    let yaml = std::fs::read_to_string(dir.path().join("reg.yaml")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("reg.yaml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let field = |text: &str, key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
            .map(|v| v.trim_matches('\'').to_owned())
            .unwrap()
    };
    let (as_token, hs_token) = (field(&yaml, "as_token"), field(&yaml, "hs_token"));
    assert!(as_token.len() >= 32 && hs_token.len() >= 32 && as_token != hs_token);
    assert_eq!(field(&yaml, "url"), "https://classcred.example.org");
    assert_eq!(field(&yaml, "sender_localpart"), "classcred");
    assert_eq!(field(&yaml, "regex"), r"@classcred_.*:example\.org");
    assert!(yaml.contains("exclusive: true") && yaml.contains("rate_limited: false"));
    // The printed table has the same tokens, and the server accepts it.
    let printed = String::from_utf8_lossy(&out.stderr).into_owned();
    let table = &printed[printed.find("[matrix]").unwrap()..];
    assert!(
        table.contains(&format!("as_token = \"{as_token}\"")),
        "{table}"
    );
    assert!(
        table.contains(&format!("hs_token = \"{hs_token}\"")),
        "{table}"
    );
    assert!(
        table.contains("homeserver_url = \"https://example.org\""),
        "{table}"
    );
    std::fs::write(dir.path().join("c.toml"), table).unwrap();
    let ok = crate::support::run(dir.path(), &["--config", "c.toml", "registry"]);
    assert!(ok.status.success(), "{}", crate::support::text(&ok));
    // A second run makes new tokens.
    let again = crate::support::run(
        dir.path(),
        &[
            "matrix",
            "registration",
            "--url",
            "https://c.example.org",
            "--server-name",
            "example.org",
        ],
    );
    assert!(again.status.success());
    assert!(!String::from_utf8_lossy(&again.stdout).contains(&as_token));
    // Refused: no server name, a URL that is not http(s).
    let no_name = crate::support::run(
        dir.path(),
        &["matrix", "registration", "--url", "https://c.example.org"],
    );
    assert!(!no_name.status.success());
    assert!(crate::support::text(&no_name).contains("--server-name"));
    let bad = crate::support::run(
        dir.path(),
        &[
            "matrix",
            "registration",
            "--url",
            "ftp://c.example.org",
            "--server-name",
            "x.org",
        ],
    );
    assert!(!bad.status.success());
}
