//! Issue 12, items 2 and 7, through the whole application served in-process on a loopback port
//! (real TCP, so the peer address is read as in production), on SQLite and PostgreSQL:
//!
//! * device data off (the default): a distinctive client address, given as the TCP peer
//!   (`127.45.67.89`) and in `X-Forwarded-For` (`192.0.2.57`), reaches neither the database
//!   (raw bytes) nor the captured logs; on: only the truncated network and the reduced browser
//!   are kept, sealed, and the member sees them on /me;
//! * every cookie the server sets along sign-in, pages, consent and sign-out is declared in the
//!   registry, and the optional one never comes before an Accept (nor at all with statistics
//!   off).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use classcred::config::Config;
use classcred::{App, Role as AppRole};
use classcred_crypto::MasterKey;
use classcred_service::login::issue_login_link;
use classcred_store::registry;
use classcred_store::testing::TestDb;
use classcred_store::{
    CommunityId, MemberKind, MemberProfile, MemberRowId, NewCommunity, NewMember, Role, Store,
};

const PEER_IP: &str = "127.45.67.89";
const FORWARDED_IP: &str = "192.0.2.57";
const UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0; canary-device-7731) Gecko/20100101 Firefox/128.0";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn class(store: &Store) -> (CommunityId, MemberRowId, MemberRowId) {
    let mut tx = store.begin().await.unwrap();
    let inst = tx.create_institution("Device U").await.unwrap();
    let c = tx
        .create_community(NewCommunity {
            institution_id: inst.id,
            name: "Networks 101".into(),
            platform: "slack".into(),
            platform_team_id: Some("T-DEVICE".into()),
            settings_json: "{}".into(),
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (uid, role) in [("UADMIN", Role::Admin), ("USTUDENT", Role::Student)] {
        ids.push(
            tx.for_community(&c.id)
                .upsert_member(&NewMember {
                    platform_user_id: uid.into(),
                    role,
                    kind: MemberKind::Human,
                    profile: MemberProfile {
                        display_name: Some(format!("Person {uid}")),
                        ..Default::default()
                    },
                })
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    (c.id, ids[0].clone(), ids[1].clone())
}

/// A handle on the test database with the test's master key (each server run closes its own
/// handle's pool when it stops).
async fn open(db: &TestDb, key: &str) -> Store {
    db.store_with(
        MasterKey::parse(key).unwrap(),
        Arc::new(classcred_store::SystemClock),
    )
    .await
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every `Set-Cookie` seen, as `(name, max_age == 0)`, in order.
#[derive(Default)]
struct CookieLog(Vec<(String, bool, String)>);

impl CookieLog {
    fn record(&mut self, step: &str, r: &reqwest::Response) {
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let name = v.split('=').next().unwrap().trim().to_owned();
            let deletes = v.to_ascii_lowercase().contains("max-age=0");
            self.0.push((name, deletes, step.to_owned()));
        }
    }

    /// Every name is declared; the optional ones (not strictly necessary) are not set (a
    /// deletion is fine) in any step before `consent_step`, nor at all when `None`.
    fn check(&self, consent_step: Option<usize>) {
        for (i, (name, deletes, step)) in self.0.iter().enumerate() {
            let declared = registry::cookie(name).unwrap_or_else(|| {
                panic!("step {step}: cookie {name} is not declared in the registry")
            });
            if !declared.strictly_necessary && !deletes {
                assert!(
                    consent_step.is_some_and(|c| i >= c),
                    "step {step}: optional cookie {name} set without consent"
                );
            }
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn sets(&self, name: &str) -> bool {
        self.0.iter().any(|(n, d, _)| n == name && !d)
    }

    fn deletes(&self, name: &str) -> bool {
        self.0.iter().any(|(n, d, _)| n == name && *d)
    }
}

struct Run {
    base: String,
    http: reqwest::Client,
    stop: tokio::sync::oneshot::Sender<()>,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn serve(store: &Store, cfg: Config) -> Run {
    let app = App::build(&cfg, store.clone(), AppRole::ServerOnly)
        .await
        .unwrap();
    let addr = app.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(PEER_IP.parse::<IpAddr>().unwrap())
        .user_agent(UA)
        .build()
        .unwrap();
    Run {
        base: format!("http://{addr}"),
        http,
        stop,
        running,
    }
}

impl Run {
    async fn get(&self, path: &str, cookies: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("x-forwarded-for", FORWARDED_IP)
            .header("cookie", cookies)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, cookies: &str, form: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("x-forwarded-for", FORWARDED_IP)
            .header("origin", &self.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookies)
            .body(form.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// Sign in with a fresh login link; the session cookie `name=value`.
    async fn sign_in(
        &self,
        store: &Store,
        c: &CommunityId,
        m: &MemberRowId,
        log: &mut CookieLog,
    ) -> String {
        let link = issue_login_link(&store.login_key(), "", c, m, store.now_ms() / 1000);
        let page = self.get(&link, "").await;
        log.record("login page", &page);
        let body = page.text().await.unwrap();
        let marker = "name=\"token\" value=\"";
        let at = body.find(marker).expect("a token field") + marker.len();
        let token = body[at..at + body[at..].find('"').unwrap()].to_owned();
        let r = self
            .post("/dashboard/login", "", &format!("token={token}"))
            .await;
        assert_eq!(r.status().as_u16(), 303);
        log.record("sign-in", &r);
        let cookie = r
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        cookie
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.running.await.unwrap().unwrap();
    }
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + 64].to_owned()
}

fn config(device_data: bool, usage_statistics: bool) -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        device_data,
        trust_forwarded_for: true,
        usage_statistics,
        ..Config::default()
    }
}

fn no_address_in(what: &str, bytes: &[u8]) {
    for ip in [PEER_IP, FORWARDED_IP, "canary-device-7731", "rv:128.0"] {
        assert!(!contains(bytes, ip), "{what} holds {ip}");
    }
}

/// Device data off (the default): the distinctive addresses reach neither the database nor the
/// logs, and nothing is recorded; statistics off: no banner, no optional cookie.
#[tokio::test]
async fn device_data_off_keeps_no_address_anywhere_and_sets_no_optional_cookie() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    for db in TestDb::all().await {
        let key = MasterKey::generate().encode();
        let store = open(&db, &key).await;
        let (c, admin, student) = class(&store).await;
        assert!(!Config::default().device_data && !Config::default().usage_statistics);
        let run = serve(&open(&db, &key).await, config(false, false)).await;
        let mut log = CookieLog::default();
        let session = run.sign_in(&store, &c, &student, &mut log).await;
        for path in ["/", "/me", "/dashboard"] {
            let r = run.get(path, &session).await;
            log.record(path, &r);
            let body = r.text().await.unwrap();
            assert!(
                !body.contains("consent-banner"),
                "{path}: no banner with statistics off"
            );
            assert!(
                !body.contains("/consent"),
                "{path}: no cookie choice with statistics off"
            );
        }
        let admin_session = run.sign_in(&store, &c, &admin, &mut log).await;
        let r = run.get("/dashboard", &admin_session).await;
        log.record("/dashboard as admin", &r);
        // Consent is not even a route with statistics off.
        let r = run.post("/consent", "", "choice=accept&back=/").await;
        assert_eq!(r.status().as_u16(), 404);
        log.record("consent (off)", &r);
        let csrf = csrf_of(&run.get("/me", &session).await.text().await.unwrap());
        let r = run.post("/logout", &session, &format!("csrf={csrf}")).await;
        log.record("logout", &r);
        log.check(None);
        assert!(!log.sets("classcred_usage"));
        run.stop().await;

        let mut tx = store.begin().await.unwrap();
        assert!(tx
            .for_community(&c)
            .sign_ins_of_member(&student, 10)
            .await
            .unwrap()
            .is_empty());
        tx.commit().await.unwrap();
        no_address_in(
            &format!("{} database", db.backend()),
            &db.raw_bytes(&store).await,
        );
    }
    let logs = captured.0.lock().unwrap().clone();
    assert!(
        contains(&logs, "signed in with a login link"),
        "the logs were captured"
    );
    no_address_in("the logs", &logs);
}

/// Device data on: only `192.0.2.0/24` and `Firefox on Linux` are kept (sealed: not even they
/// are in the raw bytes), shown to the member on /me; the logs still hold no address.
#[tokio::test]
async fn device_data_on_keeps_only_the_truncated_network_and_browser() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    for db in TestDb::all().await {
        let key = MasterKey::generate().encode();
        let store = open(&db, &key).await;
        let (c, _admin, student) = class(&store).await;
        let run = serve(&open(&db, &key).await, config(true, false)).await;
        let mut log = CookieLog::default();
        let session = run.sign_in(&store, &c, &student, &mut log).await;
        let me = run.get("/me", &session).await.text().await.unwrap();
        assert!(
            me.contains("Signed in from 192.0.2.0/24, Firefox on Linux"),
            "/me shows the sign-in: {me}"
        );
        run.stop().await;
        let mut tx = store.begin().await.unwrap();
        let records = tx
            .for_community(&c)
            .sign_ins_of_member(&student, 10)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].network.as_deref(), Some("192.0.2.0/24"));
        assert_eq!(records[0].agent.as_deref(), Some("Firefox on Linux"));
        let raw = db.raw_bytes(&store).await;
        no_address_in(&format!("{} database", db.backend()), &raw);
        assert!(!contains(&raw, "192.0.2.0/24"), "the network is sealed");
        assert!(!contains(&raw, "Firefox on Linux"), "the browser is sealed");

        // Without a proxy in front, the TCP peer is the client: its /24 is kept.
        let cfg = Config {
            trust_forwarded_for: false,
            ..config(true, false)
        };
        let run = serve(&open(&db, &key).await, cfg).await;
        run.sign_in(&store, &c, &student, &mut log).await;
        run.stop().await;
        let mut tx = store.begin().await.unwrap();
        let records = tx
            .for_community(&c)
            .sign_ins_of_member(&student, 10)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(records[0].network.as_deref(), Some("127.45.67.0/24"));
        no_address_in(
            &format!("{} database", db.backend()),
            &db.raw_bytes(&store).await,
        );
        log.check(None);
    }
    let logs = captured.0.lock().unwrap().clone();
    assert!(
        contains(&logs, "signed in with a login link"),
        "the logs were captured"
    );
    no_address_in("the logs", &logs);
}

/// Statistics on: the banner is on every page; no optional cookie before Accept; Reject sets
/// none and deletes any; Accept then a page sets it and counts the visitor (once per day and
/// page group, shown on /metrics); every cookie set is declared.
#[tokio::test]
async fn statistics_on_ask_first_and_every_cookie_is_declared() {
    for db in TestDb::all().await {
        let key = MasterKey::generate().encode();
        let store = open(&db, &key).await;
        let (c, admin, _student) = class(&store).await;
        let run = serve(&open(&db, &key).await, config(false, true)).await;
        let mut log = CookieLog::default();
        // Anonymous: the banner on the public page, no optional cookie.
        let r = run.get("/", "").await;
        log.record("/", &r);
        let body = r.text().await.unwrap();
        assert!(body.contains("consent-banner"), "{body}");
        assert!(body.contains("value=\"accept\"") && body.contains("value=\"reject\""));
        // Reject, anonymous: only the choice is remembered, the optional cookie deleted.
        let r = run.post("/consent", "", "choice=reject&back=/").await;
        assert_eq!(r.status().as_u16(), 303);
        log.record("reject", &r);
        assert!(log.deletes("classcred_usage") && !log.sets("classcred_usage"));
        let r = run.get("/", "classcred_consent=reject").await;
        log.record("/ after reject", &r);
        let body = r.text().await.unwrap();
        assert!(!body.contains("consent-banner"), "answered: no banner");
        assert!(body.contains("you rejected"), "the footer shows the answer");
        // Signed in: the dashboard shows the banner too; a choice without the CSRF token of
        // the session is refused.
        let session = run.sign_in(&store, &c, &admin, &mut log).await;
        let r = run.get("/dashboard", &session).await;
        log.record("/dashboard", &r);
        let body = r.text().await.unwrap();
        assert!(body.contains("consent-banner"));
        let csrf = csrf_of(&body);
        let r = run
            .post("/consent", &session, "choice=accept&back=/dashboard")
            .await;
        assert_eq!(r.status().as_u16(), 403, "no CSRF token");
        log.record("accept without csrf", &r);
        let consent_at = log.len();
        let r = run
            .post(
                "/consent",
                &session,
                &format!("choice=accept&back=/dashboard&csrf={csrf}"),
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(r.headers().get("location").unwrap(), "/dashboard");
        log.record("accept", &r);
        let with_choice = format!("{session}; classcred_consent=accept");
        let r = run.get("/dashboard", &with_choice).await;
        log.record("/dashboard after accept", &r);
        assert!(
            log.sets("classcred_usage"),
            "accepted: the optional cookie is set"
        );
        let usage = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .find(|v| v.starts_with("classcred_usage="))
            .expect("the optional cookie on the first page after Accept");
        // The same visitor again: counted once today.
        let cookies = format!("{with_choice}; {usage}");
        for path in ["/dashboard", "/dashboard/members", "/me"] {
            let r = run.get(path, &cookies).await;
            let before = log.len();
            log.record(path, &r);
            assert_eq!(log.len(), before, "{path}: the visitor keeps their cookie");
        }
        let today = store.clock().now().date_naive().to_string();
        let counts = store.usage_counts_since(&today).await.unwrap();
        let count = |g: &str| {
            counts
                .iter()
                .find(|u| u.page_group == g)
                .map(|u| u.visitors)
        };
        assert_eq!(count("dashboard"), Some(1), "{counts:?}");
        assert_eq!(count("my-data"), Some(1), "{counts:?}");
        assert_eq!(
            count("public"),
            None,
            "the rejecting visitor is not counted: {counts:?}"
        );
        let metrics = run
            .http
            .get(format!("{}/metrics", run.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("classcred_usage_visitors{page_group=\"dashboard\"} 1"),
            "{metrics}"
        );
        // Changing to reject from the footer deletes the optional cookie.
        let r = run
            .post(
                "/consent",
                &cookies,
                &format!("choice=reject&back=/me&csrf={csrf}"),
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);
        let before = log.len();
        log.record("change to reject", &r);
        assert!(log.0[before..]
            .iter()
            .any(|(n, d, _)| n == "classcred_usage" && *d));
        // A stale optional cookie sent after rejecting is deleted, not counted.
        let r = run
            .get(
                "/me",
                &format!("{session}; classcred_consent=reject; {usage}"),
            )
            .await;
        let before = log.len();
        log.record("/me after reject", &r);
        assert!(log.0[before..]
            .iter()
            .any(|(n, d, _)| n == "classcred_usage" && *d));
        let r = run.post("/logout", &session, &format!("csrf={csrf}")).await;
        log.record("logout", &r);
        log.check(Some(consent_at));
        run.stop().await;
        assert!(
            !contains(
                &db.raw_bytes(&store).await,
                &usage["classcred_usage=".len()..]
            ),
            "the visitor id is never stored"
        );
    }
}

/// The names the code sets cookies under (session, OIDC attempt, Slack install, consent and
/// statistics) are all declared; only the statistics cookie needs consent.
#[test]
fn every_cookie_name_in_the_code_is_declared() {
    for name in [
        classcred_web::session::COOKIE_PLAIN,
        classcred_web::session::COOKIE_TLS,
        classcred_oidc::routes::COOKIE_NAME,
        classcred_slack::http::STATE_COOKIE,
        classcred_web::consent::CONSENT_COOKIE,
        classcred_web::consent::USAGE_COOKIE,
    ] {
        let c = registry::cookie(name).unwrap_or_else(|| panic!("{name} is not declared"));
        assert_eq!(
            c.strictly_necessary,
            name != classcred_web::consent::USAGE_COOKIE,
            "{name}"
        );
    }
}
