//! The authorization matrix across the whole application as `serve` builds it (web dashboard
//! and JSON API on one listener): every route of both route tables × {anonymous, student,
//! instructor, admin of this community, admin of another community, API token of this
//! community, API token of another community}.
//!
//! The dashboard's own matrix (crates/classcred-web/tests/it/matrix.rs) holds the expected
//! status of every page for the five kinds of dashboard visitor. This test adds what crosses
//! the two surfaces, derived from the route tables so a new route is covered at once:
//! - an API token opens no page: each dashboard route answers a token exactly as it answers the
//!   anonymous visitor, and never starts a session;
//! - a dashboard session opens no API route: 401 with `WWW-Authenticate: Bearer`;
//! - a token of this community reads every API route (200); a token of another community gets
//!   404 for this community's member ids, and 200 with only its own data elsewhere.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use classcred::config::Config;
use classcred::{App, Role as AppRole};
use classcred_crypto::MasterKey;
use classcred_store::testing::TestDb;
use classcred_store::{
    CommunityId, ManualClock, MemberKind, MemberProfile, MemberRowId, NewCommunity, NewMember,
    Role, Store,
};
use reqwest::StatusCode;

struct Class {
    community: CommunityId,
    student: MemberRowId,
    instructor: MemberRowId,
    admin: MemberRowId,
    token: String,
}

async fn class(store: &Store, name: &str, uid_prefix: &str) -> Class {
    let mut tx = store.begin().await.unwrap();
    let inst = tx.create_institution("Matrix U").await.unwrap();
    let c = tx
        .create_community(NewCommunity {
            institution_id: inst.id,
            name: name.into(),
            platform: "slack".into(),
            platform_team_id: Some(format!("T{uid_prefix}")),
            settings_json: "{}".into(),
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (uid, role) in [
        ("STUDENT", Role::Student),
        ("INSTR", Role::Instructor),
        ("ADMIN", Role::Admin),
    ] {
        let id = tx
            .for_community(&c.id)
            .upsert_member(&NewMember {
                platform_user_id: format!("U{uid_prefix}{uid}"),
                role,
                kind: MemberKind::Human,
                profile: MemberProfile {
                    display_name: Some(format!("{name} {uid}")),
                    ..Default::default()
                },
            })
            .await
            .unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();
    let (_, token) = classcred_api::token::create_token(store, &c.id, "matrix", "test")
        .await
        .unwrap();
    use secrecy::ExposeSecret;
    let token = token.secret().expose_secret().to_owned();
    let admin = ids.pop().unwrap();
    let instructor = ids.pop().unwrap();
    let student = ids.pop().unwrap();
    Class {
        community: c.id,
        student,
        instructor,
        admin,
        token,
    }
}

/// A dashboard session for `member`, as the sign-in page would start it; the `Cookie` header.
async fn session(store: &Store, community: &CommunityId, member: &MemberRowId) -> String {
    let state = classcred_web::WebState::new(store.clone(), store.login_key(), false);
    let mut tx = store.begin().await.unwrap();
    let cookie = classcred_web::session::start(&mut tx, &state, community, member)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    cookie
        .set_cookie(&state)
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    Student,
    Instructor,
    Admin,
    AdminOfOther,
    Token,
    TokenOfOther,
}

const EVERYONE: [Who; 7] = [
    Who::Anonymous,
    Who::Student,
    Who::Instructor,
    Who::Admin,
    Who::AdminOfOther,
    Who::Token,
    Who::TokenOfOther,
];

struct Visitors {
    a: Class,
    b: Class,
    cookies: Vec<(Who, String)>,
}

impl Visitors {
    fn request(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        url: &str,
        who: Who,
    ) -> reqwest::RequestBuilder {
        let r = client.request(method, url);
        match who {
            Who::Anonymous => r,
            Who::Token => r.bearer_auth(&self.a.token),
            Who::TokenOfOther => r.bearer_auth(&self.b.token),
            _ => {
                let cookie = self
                    .cookies
                    .iter()
                    .find(|(w, _)| *w == who)
                    .map(|(_, c)| c.clone())
                    .unwrap();
                r.header(reqwest::header::COOKIE, cookie)
            }
        }
    }
}

/// Fill a route's `{member_id}` with community A's student.
fn concrete(path: &str, a: &Class) -> String {
    path.replace("{member_id}", a.student.as_ref())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_of_the_application_answers_every_kind_of_caller() {
    for db in TestDb::all().await {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap(),
        ));
        let store = db.store_with(MasterKey::generate(), clock).await;
        let a = class(&store, "Biology", "A").await;
        let b = class(&store, "Chemistry", "B").await;
        let mut cookies = Vec::new();
        for (who, c, m) in [
            (Who::Student, &a.community, &a.student),
            (Who::Instructor, &a.community, &a.instructor),
            (Who::Admin, &a.community, &a.admin),
            (Who::AdminOfOther, &b.community, &b.admin),
        ] {
            cookies.push((who, session(&store, c, m).await));
        }
        let v = Visitors { a, b, cookies };

        let cfg = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: 1,
            ..Config::default()
        };
        let app = App::build(&cfg, store.clone(), AppRole::ServerOnly)
            .await
            .unwrap();
        let base = format!("http://{}", app.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();

        let web = classcred_web::route_table();
        assert!(!web.is_empty());
        for route in &web {
            let url = format!("{base}{}", concrete(route.path, &v.a));
            let method = match route.method {
                classcred_web::Method::Get => reqwest::Method::GET,
                classcred_web::Method::Post => reqwest::Method::POST,
            };
            let anonymous = v
                .request(&client, method.clone(), &url, Who::Anonymous)
                .send()
                .await
                .unwrap();
            let anonymous_status = anonymous.status();
            for who in [Who::Token, Who::TokenOfOther] {
                let r = v
                    .request(&client, method.clone(), &url, who)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    r.status(),
                    anonymous_status,
                    "{method} {} with {who:?} must answer as to the anonymous ({})",
                    route.path,
                    db.backend()
                );
                let starts_session =
                    r.headers()
                        .get_all(reqwest::header::SET_COOKIE)
                        .iter()
                        .any(|c| {
                            c.to_str().is_ok_and(|c| {
                                c.contains("classcred_session=") && !c.contains("=;")
                            })
                        });
                assert!(!starts_session, "{method} {} with {who:?}", route.path);
            }
        }

        let api = classcred_api::route_table();
        assert!(api.len() > 1);
        for route in &api {
            let url = format!("{base}{}", concrete(route.path, &v.a));
            let public = route.path == classcred_api::routes::OPENAPI_PATH;
            for who in EVERYONE {
                let r = v
                    .request(&client, reqwest::Method::GET, &url, who)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let expected = match who {
                    _ if public => StatusCode::OK,
                    Who::Token => StatusCode::OK,
                    Who::TokenOfOther if route.path.contains("{member_id}") => {
                        StatusCode::NOT_FOUND
                    }
                    Who::TokenOfOther => StatusCode::OK,
                    _ => StatusCode::UNAUTHORIZED,
                };
                assert_eq!(
                    status,
                    expected,
                    "GET {} as {who:?} ({})",
                    route.path,
                    db.backend()
                );
                if status == StatusCode::UNAUTHORIZED {
                    assert_eq!(
                        r.headers()
                            .get(reqwest::header::WWW_AUTHENTICATE)
                            .and_then(|h| h.to_str().ok())
                            .map(|h| h.starts_with("Bearer")),
                        Some(true),
                        "GET {} as {who:?}",
                        route.path
                    );
                }
                let body = r.text().await.unwrap();
                if who == Who::TokenOfOther && status == StatusCode::OK && !public {
                    for leaked in ["Biology", "UASTUDENT", "UAADMIN"] {
                        assert!(
                            !body.contains(leaked),
                            "GET {} with the other community's token shows {leaked}",
                            route.path
                        );
                    }
                }
            }
        }

        let _ = stop.send(());
        running.await.unwrap().unwrap();
    }
}

/// Behind a proxy that ends TLS, the public URL says `https://`: the session cookie is then
/// `Secure` with the `__Host-` prefix and HSTS is sent, although this server speaks plain HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_public_url_makes_the_session_cookie_secure() {
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    let a = class(&store, "Biology", "A").await;
    let cfg = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        public_url: Some("https://classcred.example.org".into()),
        ..Config::default()
    };
    let app = App::build(&cfg, store.clone(), AppRole::ServerOnly)
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let now = store.now_ms() / 1000;
    let path = classcred_service::login::issue_login_link(
        &store.login_key(),
        "",
        &a.community,
        &a.admin,
        now,
    );
    let token = path.split("token=").nth(1).unwrap().to_owned();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(format!("{base}/dashboard/login"))
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|c| c.to_str().ok())
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-classcred_session="), "{cookie}");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(r
        .headers()
        .get(reqwest::header::STRICT_TRANSPORT_SECURITY)
        .is_some());
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}
