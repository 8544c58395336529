//! A class (two communities: A with an admin, an instructor and a student; B with an admin),
//! a router over it, and a tiny HTTP client that keeps nothing between requests.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use chrono::{TimeZone, Utc};
use classcred_crypto::MasterKey;
use classcred_service::login::issue_login_link;
use classcred_store::testing::TestDb;
use classcred_store::{
    CommunityId, ManualClock, MemberKind, MemberProfile, MemberRowId, NewCommunity, NewMember,
    Role, Store,
};
use classcred_web::WebState;
use http_body_util::BodyExt;
use tower::ServiceExt;

pub struct World {
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub state: WebState,
    pub a: CommunityId,
    pub b: CommunityId,
    pub admin_a: MemberRowId,
    pub instructor_a: MemberRowId,
    pub student_a: MemberRowId,
    pub admin_b: MemberRowId,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `name=value` of the Set-Cookie header, without attributes.
    pub fn cookie(&self) -> Option<String> {
        self.header(header::SET_COOKIE)
            .map(|c| c.split(';').next().unwrap().to_owned())
    }
}

async fn community(store: &Store, name: &str) -> CommunityId {
    let mut tx = store.begin().await.unwrap();
    let inst = tx.create_institution("Test U").await.unwrap();
    let c = tx
        .create_community(NewCommunity {
            institution_id: inst.id,
            name: name.into(),
            platform: "slack".into(),
            platform_team_id: Some(format!("T-{name}")),
            settings_json: "{}".into(),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    c.id
}

pub async fn member(store: &Store, c: &CommunityId, uid: &str, role: Role) -> MemberRowId {
    let mut tx = store.begin().await.unwrap();
    let id = tx
        .for_community(c)
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
        .unwrap();
    tx.commit().await.unwrap();
    id
}

impl World {
    pub async fn new(db: &TestDb, tls: bool) -> World {
        let master = MasterKey::generate();
        let login_key = master.login_key();
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap(),
        ));
        let store = db.store_with(master, clock.clone()).await;
        let a = community(&store, "Biology 101").await;
        let b = community(&store, "Other Class").await;
        let admin_a = member(&store, &a, "UADMIN", Role::Admin).await;
        let instructor_a = member(&store, &a, "UINSTR", Role::Instructor).await;
        let student_a = member(&store, &a, "USTUDENT", Role::Student).await;
        let admin_b = member(&store, &b, "UOTHER", Role::Admin).await;
        let state = WebState::new(store.clone(), login_key, tls);
        World {
            store,
            clock,
            state,
            a,
            b,
            admin_a,
            instructor_a,
            student_a,
            admin_b,
        }
    }

    pub fn router(&self) -> Router {
        classcred_web::routes(self.state.clone())
    }

    pub fn now_unix(&self) -> i64 {
        self.store.now_ms() / 1000
    }

    /// A login link's path and query for `member` of `community`.
    pub fn link(&self, community: &CommunityId, member: &MemberRowId) -> String {
        issue_login_link(
            &self.state.login_key,
            "",
            community,
            member,
            self.now_unix(),
        )
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    pub async fn post(&self, path: &str, cookie: Option<&str>, form: &str) -> Reply {
        let mut req =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::from(form.to_owned())).unwrap())
            .await
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Open a login link as a person does: GET shows the confirmation page; when it does,
    /// press Continue (POST the token from a same-origin page). The reply of the last step.
    pub async fn open_link(&self, link: &str, cookie: Option<&str>) -> Reply {
        let page = self.get(link, cookie).await;
        if page.status != StatusCode::OK {
            return page;
        }
        let token = field_of(&page.body, "token");
        let mut req = Request::post("/dashboard/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let form = serde_urlencoded::to_string([("token", token)]).unwrap();
        self.send(req.body(Body::from(form)).unwrap()).await
    }

    /// Sign in with a fresh link; the session cookie (`name=value`).
    pub async fn sign_in(&self, community: &CommunityId, member: &MemberRowId) -> String {
        let r = self.open_link(&self.link(community, member), None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        r.cookie().expect("a session cookie")
    }

    /// The CSRF token of the page's sign-out form.
    pub async fn csrf(&self, cookie: &str) -> String {
        let r = self.get("/me", Some(cookie)).await;
        assert_eq!(r.status, StatusCode::OK);
        csrf_of(&r.body)
    }
}

/// The value of the hidden `csrf` field of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + 64].to_owned()
}

/// The value of the (hidden) input named `name` of a page.
pub fn field_of(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker).expect("the field") + marker.len();
    let end = html[at..].find('"').expect("end of the value");
    html[at..at + end].to_owned()
}
