//! A running ClassCred server with the Slack routes, on 127.0.0.1:0, over a real database, plus
//! a local fake Slack Web API that records every outbound call.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use classcred_crypto::MasterKey;
use classcred_server::worker::{Handlers, Worker, WorkerConfig};
use classcred_server::{AppState, Application, Metrics, ServerConfig};
use classcred_slack::{sign, SigningSecret, SlackClient, SlackConfig, SlackState};
use classcred_store::testing::TestDb;
use classcred_store::{ManualClock, Store};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub const STATE_SECRET: &str = "a-state-secret-that-is-long-enough-0123456789";
pub const TEAM: &str = "T061EG9R6";
pub const BOT_TOKEN: &str = "xoxb-test-single-workspace-token";
pub const CLIENT_ID: &str = "1234567890.0987654321";
pub const CLIENT_SECRET: &str = "client-secret-for-tests";
pub const PUBLIC_URL: &str = "https://classcred.example.org";

/// One call the fake Slack received.
#[derive(Debug, Clone)]
pub struct Call {
    pub path: String,
    pub auth: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

impl Call {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    pub fn form(&self) -> BTreeMap<String, String> {
        classcred_slack::body::parse_form(self.body.as_bytes()).unwrap()
    }
}

/// A scripted answer: HTTP status, optional `Retry-After`, JSON body.
pub type Scripted = (u16, Option<&'static str>, String);

/// The fake Slack Web API.
#[derive(Default)]
pub struct FakeSlack {
    calls: Mutex<Vec<Call>>,
    script: Mutex<HashMap<String, VecDeque<Scripted>>>,
    /// `users.info` answers by user id (a whole JSON body); ids not here are people of [`TEAM`].
    users: Mutex<HashMap<String, Value>>,
}

impl FakeSlack {
    /// Responses (JSON bodies, HTTP 200) for a method path such as `/api/users.list`, in order.
    pub fn script(&self, path: &str, bodies: Vec<String>) {
        self.script_raw(path, bodies.into_iter().map(|b| (200, None, b)).collect());
    }
    /// Responses with their status and `Retry-After`, in order.
    pub fn script_raw(&self, path: &str, responses: Vec<Scripted>) {
        self.script
            .lock()
            .unwrap()
            .insert(path.to_owned(), responses.into());
    }
    /// The `users.info` answer (whole JSON body) for `user`.
    pub fn user_info(&self, user: &str, body: Value) {
        self.users.lock().unwrap().insert(user.to_owned(), body);
    }
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
    pub fn calls_to(&self, path: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.path == path)
            .collect()
    }
    /// Waits (up to 5 s) until at least `n` calls to `path` arrived.
    pub async fn wait_for(&self, path: &str, n: usize) -> Vec<Call> {
        for _ in 0..500 {
            let c = self.calls_to(path);
            if c.len() >= n {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "fake Slack: expected {n} calls to {path}, got {:?}",
            self.calls_to(path)
        );
    }
}

async fn fake_handle(
    State(fake): State<Arc<FakeSlack>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let h = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_owned());
    let path = uri.path().to_owned();
    fake.calls.lock().unwrap().push(Call {
        path: path.clone(),
        auth: h("authorization"),
        content_type: h("content-type"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    let scripted = fake
        .script
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(VecDeque::pop_front);
    let (status, retry_after, body) = scripted.unwrap_or_else(|| {
        let body = match path.as_str() {
            "/api/chat.postMessage" => {
                json!({"ok": true, "channel": "D0000001", "ts": "1700000000.999999"})
            }
            "/api/chat.postEphemeral" => json!({"ok": true, "message_ts": "1700000000.999999"}),
            "/api/users.info" => {
                let user = classcred_slack::body::parse_form(&body)
                    .ok()
                    .and_then(|f| f.get("user").cloned())
                    .unwrap_or_default();
                let known = fake.users.lock().unwrap().get(&user).cloned();
                known.unwrap_or_else(|| {
                    json!({"ok": true, "user": {"id": user, "team_id": TEAM, "name": user.to_lowercase(),
                        "real_name": format!("Person {user}"), "is_bot": false, "deleted": false,
                        "profile": {"display_name": user.to_lowercase()}}})
                })
            }
            _ => json!({"ok": true}),
        };
        (200, None, body.to_string())
    });
    let mut resp = (StatusCode::from_u16(status).unwrap(), body).into_response();
    resp.headers_mut().insert(
        "content-type",
        "application/json; charset=utf-8".parse().unwrap(),
    );
    if let Some(ra) = retry_after {
        resp.headers_mut()
            .insert("retry-after", ra.parse().unwrap());
    }
    resp
}

/// Starts the fake; returns it and its base URL (`http://127.0.0.1:PORT`).
pub async fn fake_slack() -> (Arc<FakeSlack>, String) {
    let fake = Arc::new(FakeSlack::default());
    let app = axum::Router::new()
        .fallback(fake_handle)
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{addr}"))
}

/// Configuration for tests: single-workspace (`single`) or OAuth only.
pub fn config(fake_base: &str, single: bool) -> SlackConfig {
    let mut v = json!({
        "signing_secret": SECRET,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "state_secret": STATE_SECRET,
        "api_base_url": format!("{fake_base}/api/"),
        "public_url": PUBLIC_URL,
    });
    if single {
        v["team_id"] = json!(TEAM);
        v["bot_token"] = json!(BOT_TOKEN);
    }
    serde_json::from_value(v).unwrap()
}

pub struct Server {
    pub base: String,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub metrics: Arc<Metrics>,
    pub fake: Arc<FakeSlack>,
    pub fake_base: String,
    pub client: SlackClient,
    pub config: SlackConfig,
    /// The single-workspace community (`None` in OAuth-only mode).
    pub community: Option<classcred_store::CommunityId>,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub db: TestDb,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Where the test server's dashboard sign-in links point.
pub const DASHBOARD_BASE: &str = "https://cc.example.org";

impl Server {
    /// A server over `db` with the clock at `now`, in single-workspace mode or OAuth-only.
    pub async fn start(db: TestDb, now: DateTime<Utc>, single: bool) -> Server {
        Self::start_with(db, now, single, None).await
    }

    /// [`Server::start`] with these group-commit limits for `/slack/events`.
    pub async fn start_with(
        db: TestDb,
        now: DateTime<Utc>,
        single: bool,
        group_commit: Option<classcred_service::group_commit::GroupCommitConfig>,
    ) -> Server {
        let clock = Arc::new(ManualClock::new(now));
        let store = db.store_with(MasterKey::generate(), clock.clone()).await;
        let (fake, fake_base) = fake_slack().await;
        let config = config(&fake_base, single);
        let community = classcred_slack::ensure_single_workspace(&store, &config)
            .await
            .unwrap();
        let metrics = Arc::new(Metrics::new());
        let state = SlackState::from_config(store.clone(), metrics.clone(), config.clone())
            .unwrap()
            .with_login_links(store.login_key(), DASHBOARD_BASE);
        let state = match group_commit {
            Some(gc) => state.with_group_commit(gc),
            None => state,
        };
        let client = state.client.clone();
        let routes = classcred_server::router(AppState {
            store: store.clone(),
            metrics: metrics.clone(),
        })
        .merge(classcred_slack::routes(state));
        let app = Application::bind(
            ServerConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                tls: None,
                body_limit: 4 * 1024 * 1024,
            },
            routes,
            metrics.clone(),
        )
        .await
        .unwrap();
        let base = format!("http://{}", app.local_addr());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        Server {
            base,
            store,
            clock,
            metrics,
            fake,
            fake_base,
            client,
            config,
            community,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            stop: Some(tx),
            db,
        }
    }

    pub fn community(&self) -> &classcred_store::CommunityId {
        self.community.as_ref().unwrap()
    }

    /// POSTs `body` to `path` signed like Slack (timestamp = the server clock), with extra headers.
    pub async fn post_signed(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let ts = self.clock.now_unix().to_string();
        let sig = sign(&SigningSecret::new(SECRET), &ts, &body);
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", sig);
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        req.body(body).send().await.unwrap()
    }

    pub async fn event(&self, body: Vec<u8>) -> reqwest::Response {
        self.post_signed("/slack/events", "application/json", body, &[])
            .await
    }

    pub async fn command(&self, form: &str) -> Value {
        let r = self
            .post_signed(
                "/slack/commands",
                "application/x-www-form-urlencoded",
                form.as_bytes().to_vec(),
                &[],
            )
            .await;
        assert_eq!(r.status(), 200);
        assert!(r
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        r.json().await.unwrap()
    }

    /// Runs every due job (drain and notice delivery) through a real worker.
    pub async fn run_jobs(&self) -> usize {
        let mut h = Handlers::new();
        h.register(classcred_service::DRAIN_JOB, |store, job| async move {
            let c = job.payload_community_id()?;
            classcred_service::drain(&store, &c).await?;
            Ok(())
        });
        let client = self.client.clone();
        let config = self.config.clone();
        h.register(classcred_service::NOTICE_JOB, move |store, job| {
            let client = client.clone();
            let config = config.clone();
            async move { classcred_slack::deliver_notice_with(&store, &client, &config, &job).await }
        });
        let (client, config) = (self.client.clone(), self.config.clone());
        h.register(classcred_service::RESOLVE_MEMBERS_JOB, move |store, job| {
            let (client, config) = (client.clone(), config.clone());
            async move {
                classcred_slack::sync::resolve_members_job(&store, &client, &config, &job).await
            }
        });
        let (client, config) = (self.client.clone(), self.config.clone());
        h.register(classcred_service::SYNC_MEMBERS_JOB, move |store, job| {
            let (client, config) = (client.clone(), config.clone());
            async move { classcred_slack::sync::sync_members_job(&store, &client, &config, &job).await }
        });
        // A poll posted in its channel, as the application's `Platforms::post_poll_job` does
        // through this adapter.
        let (client, config) = (self.client.clone(), self.config.clone());
        h.register(
            classcred_service::polls::POLL_POST_JOB,
            move |store, job| {
                let (client, config) = (client.clone(), config.clone());
                async move {
                    use classcred_platform::NoticeSink;
                    let Some(p) = classcred_service::polls::to_post(&store, &job).await? else {
                        return Ok(());
                    };
                    let c = job.payload_community_id()?;
                    let mut tx = store.begin().await?;
                    let community = tx.community(&c).await?;
                    tx.commit().await?;
                    let posted = classcred_slack::notice::SlackNotices { client, config }
                        .post_poll(
                            &store,
                            &community,
                            p.channel.as_deref().unwrap_or_default(),
                            &format!("poll.{}", p.poll_id),
                            &p,
                        )
                        .await?;
                    if let classcred_platform::Posted::Sent(Some(mid)) = posted {
                        let now = store.clock().now();
                        classcred_service::polls::record_posted(&store, &c, &p.poll_id, &mid, now)
                            .await?;
                    }
                    Ok(())
                }
            },
        );
        // A closed poll's results, posted in its channel as the application's
        // `Platforms::post_poll_results_job` does through this adapter.
        let (client, config) = (self.client.clone(), self.config.clone());
        h.register(
            classcred_service::polls::POLL_RESULTS_JOB,
            move |store, job| {
                let (client, config) = (client.clone(), config.clone());
                async move {
                    use classcred_platform::NoticeSink;
                    let Some(p) = classcred_service::polls::to_post_results(&store, &job).await?
                    else {
                        return Ok(());
                    };
                    let c = job.payload_community_id()?;
                    let mut tx = store.begin().await?;
                    let community = tx.community(&c).await?;
                    tx.commit().await?;
                    let doc = classcred_platform::polls::poll_doc(&p, "/cred");
                    classcred_slack::notice::SlackNotices { client, config }
                        .post(
                            &store,
                            &community,
                            p.channel.as_deref().unwrap_or_default(),
                            &format!("poll.results.{}", p.poll_id),
                            &doc,
                        )
                        .await?;
                    Ok(())
                }
            },
        );
        let w = Worker::new(
            self.store.clone(),
            h,
            self.metrics.clone(),
            WorkerConfig::default(),
        );
        let mut n = 0;
        while w.run_once().await.unwrap() {
            n += 1;
        }
        let counts = self.store.job_counts().await.unwrap();
        assert_eq!(counts.failed, 0, "no job failed");
        n
    }

    /// Earned thousandths per Slack user id.
    pub async fn balances(
        &self,
        community: &classcred_store::CommunityId,
    ) -> BTreeMap<String, i64> {
        let mut tx = self.store.begin().await.unwrap();
        let b = tx.for_community(community).balances().await.unwrap();
        tx.commit().await.unwrap();
        b.into_iter()
            .map(|b| {
                assert_eq!(b.earned_milli, b.spendable_milli);
                (b.platform_user_id, b.earned_milli)
            })
            .collect()
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    /// `classcred_rejected_requests_total{source="slack",reason=…}` from `GET /metrics`.
    pub async fn rejections(&self, reason: &str) -> u64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let needle = format!("reason=\"{reason}\"");
        text.lines()
            .filter(|l| {
                l.starts_with("classcred_rejected_requests")
                    && l.contains("source=\"slack\"")
                    && l.contains(&needle)
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
}

/// Unix seconds of the manual clock.
pub trait NowUnix {
    fn now_unix(&self) -> i64;
}

impl NowUnix for ManualClock {
    fn now_unix(&self) -> i64 {
        use classcred_store::Clock;
        self.now().timestamp()
    }
}

/// A signed-to-be `/cred` slash-command form, as Slack sends it, typed by `user` in `channel`.
pub fn command_form_in(channel: &str, text: &str, user: &str) -> String {
    format!(
        "token=x&team_id={TEAM}&team_domain=cs101&channel_id={channel}&channel_name=general\
         &user_id={user}&user_name=alice&command=%2Fcred&text={}&api_app_id=A0PNCHHK2\
         &is_enterprise_install=false\
         &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT061EG9R6%2F1%2Fabc&trigger_id=1.2.3",
        crate::http_events::percent_encode(text)
    )
}

/// [`command_form_in`] the fixtures' general channel.
pub fn command_form(text: &str, user: &str) -> String {
    command_form_in("C0LAN2Q65", text, user)
}

impl Server {
    /// Makes `uid` a human member of the single-workspace community with `role`, at `at`.
    pub async fn join(
        &self,
        uid: &str,
        role: classcred_store::Role,
        at: DateTime<Utc>,
    ) -> classcred_store::MemberRowId {
        let mut tx = self.store.begin().await.unwrap();
        let id = classcred_service::join_member(
            &mut tx,
            self.community(),
            "slack",
            &classcred_store::NewMember {
                platform_user_id: uid.into(),
                role,
                kind: classcred_store::MemberKind::Human,
                profile: Default::default(),
            },
            at,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        id
    }
}
