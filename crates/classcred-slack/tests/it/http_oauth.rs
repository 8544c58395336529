//! OAuth v2 install against the fake Web API: signed state bound to the browser, code exchange
//! with HTTP Basic client auth, community with the installer as Admin and the bot as the app,
//! the bot token stored encrypted, and the `users.list` sync over every page.

use crate::fixture;
use crate::server::{Server, CLIENT_ID, CLIENT_SECRET, PUBLIC_URL, TEAM};
use base64::Engine as _;
use chrono::{TimeZone, Utc};
use classcred_store::testing::TestDb;
use classcred_store::{MemberKind, Role};
use secrecy::ExposeSecret;
use serde_json::json;

fn user(id: &str, name: &str, is_bot: bool, deleted: bool) -> serde_json::Value {
    json!({
        "id": id, "team_id": TEAM, "name": name.to_lowercase(), "deleted": deleted,
        "real_name": name, "tz": "Europe/Berlin", "is_bot": is_bot, "is_admin": false,
        "profile": { "display_name": name, "email": format!("{}@uni.example", name.to_lowercase()),
                     "image_72": "https://avatars.example.com/72.png", "phone": "555-0100",
                     "status_text": "busy" }
    })
}

#[tokio::test]
async fn install_creates_the_community_and_syncs_members() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let s = Server::start(db, Utc.timestamp_opt(1_700_001_000, 0).unwrap(), false).await;
        assert!(s.community.is_none());
        let page1 = json!({"ok": true, "members": [
            user("U0TEACHER1", "Teacher", false, false),
            user("U0STUDENT1", "Alice", false, false),
            user("U0BOTUSER", "ClassCred", true, false),
        ], "response_metadata": {"next_cursor": "dXNlcjpVMEc5V0ZYTlo="}});
        let page2 = json!({"ok": true, "members": [
            user("U0STUDENT2", "Bob", false, false),
            user("U0OTHERBOT", "Polly", true, false),
            user("U0GONE0001", "Gone", false, true),
        ], "response_metadata": {"next_cursor": ""}});
        s.fake.script(
            "/api/users.list",
            vec![page1.to_string(), page2.to_string()],
        );
        s.fake.script(
            "/api/oauth.v2.access",
            vec![String::from_utf8(fixture("oauth_v2_access.json")).unwrap()],
        );

        // 1. /slack/install redirects to Slack with a signed state and sets the binding cookie.
        let r = s
            .http
            .get(format!("{}/slack/install", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(loc.host_str(), Some("slack.com"));
        assert_eq!(loc.path(), "/oauth/v2/authorize");
        let q: std::collections::BTreeMap<_, _> = loc.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], CLIENT_ID);
        assert_eq!(
            q["redirect_uri"],
            format!("{PUBLIC_URL}/slack/oauth/callback")
        );
        assert!(q["scope"].contains("chat:write") && q["scope"].contains("commands"));
        let state = q["state"].clone();
        let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            set_cookie.contains("HttpOnly")
                && set_cookie.contains("Secure")
                && set_cookie.contains("SameSite=Lax")
        );
        let cookie = set_cookie.split(';').next().unwrap().to_owned();

        // 2. A forged state, or the right state without this browser's cookie, is refused.
        let cb = |state: &str| format!("{}/slack/oauth/callback?code=abc123&state={state}", s.base);
        let r = s
            .http
            .get(cb("0.1.2"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(s.rejections("bad_state").await, 1);
        let r = s.http.get(cb(&state)).send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(s.rejections("state_not_bound").await, 1);
        assert!(
            s.fake.calls_to("/api/oauth.v2.access").is_empty(),
            "nothing exchanged"
        );
        assert_eq!(s.count("community").await, 0);

        // 3. The callback from Slack.
        let r = s
            .http
            .get(cb(&state))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{backend}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("ClassCred is installed") && html.contains("CS 101"),
            "{html}"
        );

        // Finding 15: the same state a second time (a replayed callback) is refused before
        // any code is exchanged.
        let replay = s
            .http
            .get(cb(&state))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(replay.status(), 400, "{backend}");
        assert_eq!(s.rejections("state_replayed").await, 1);

        let ex = s.fake.calls_to("/api/oauth.v2.access");
        assert_eq!(ex.len(), 1);
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
        assert_eq!(
            ex[0].auth.as_deref(),
            Some(format!("Basic {basic}").as_str())
        );
        assert!(ex[0]
            .content_type
            .as_deref()
            .unwrap()
            .starts_with("application/x-www-form-urlencoded"));
        let f = ex[0].form();
        assert_eq!(f["code"], "abc123");
        assert_eq!(
            f["redirect_uri"],
            format!("{PUBLIC_URL}/slack/oauth/callback")
        );
        assert!(
            !f.contains_key("client_secret"),
            "the secret goes in the Basic header only"
        );

        // The member sync is a job, not part of the callback request.
        assert!(
            s.fake.calls_to("/api/users.list").is_empty(),
            "no users.list inside the callback"
        );
        s.run_jobs().await;
        let lists = s.fake.calls_to("/api/users.list");
        assert_eq!(lists.len(), 2, "every page fetched");
        assert!(!lists[0].form().contains_key("cursor"));
        assert_eq!(lists[1].form()["cursor"], "dXNlcjpVMEc5V0ZYTlo=");
        assert!(lists[0]
            .auth
            .as_deref()
            .unwrap()
            .starts_with("Bearer xoxb-"));

        let mut tx = s.store.begin().await.unwrap();
        let c = tx.community_by_team("slack", TEAM).await.unwrap().unwrap();
        assert_eq!(c.name, "CS 101");
        let token = tx.for_community(&c.id).bot_token().await.unwrap().unwrap();
        assert!(token.expose_secret().starts_with("xoxb-17653672481"));
        let get = |m: Option<classcred_store::Member>| m.unwrap();
        let teacher = get(tx
            .for_community(&c.id)
            .member_by_platform_id("U0TEACHER1")
            .await
            .unwrap());
        assert_eq!(
            (teacher.role, teacher.kind),
            (Role::Admin, MemberKind::Human)
        );
        assert_eq!(
            teacher.profile.display_name.as_deref(),
            Some("Teacher"),
            "profile filled by the sync"
        );
        let bot = get(tx
            .for_community(&c.id)
            .member_by_platform_id("U0BOTUSER")
            .await
            .unwrap());
        assert_eq!(bot.kind, MemberKind::App);
        let alice = get(tx
            .for_community(&c.id)
            .member_by_platform_id("U0STUDENT1")
            .await
            .unwrap());
        assert_eq!((alice.role, alice.kind), (Role::Student, MemberKind::Human));
        assert_eq!(alice.profile.email.as_deref(), Some("alice@uni.example"));
        assert_eq!(alice.profile.timezone.as_deref(), Some("Europe/Berlin"));
        assert!(tx
            .for_community(&c.id)
            .member_by_platform_id("U0STUDENT2")
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            get(tx
                .for_community(&c.id)
                .member_by_platform_id("U0OTHERBOT")
                .await
                .unwrap())
            .kind,
            MemberKind::Bot
        );
        assert!(
            tx.for_community(&c.id)
                .member_by_platform_id("U0GONE0001")
                .await
                .unwrap()
                .is_none(),
            "deactivated accounts skipped"
        );
        tx.commit().await.unwrap();

        // The raw database holds the token only encrypted.
        let raw: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM installation WHERE bot_token_enc IS NOT NULL")
                .fetch_one(s.store.pool())
                .await
                .unwrap();
        assert_eq!(raw, 1);

        // Events for the new workspace are now accepted, and notices use the stored token.
        assert_eq!(s.event(fixture("message.json")).await.status(), 200);
        s.run_jobs().await;
        let posts = s.fake.calls_to("/api/chat.postEphemeral");
        assert!(posts.iter().all(|p| p
            .auth
            .as_deref()
            .unwrap()
            .starts_with("Bearer xoxb-17653672481")));
        assert!(!posts.is_empty());

        // Re-installing reuses the community and keeps the Admin.
        let (state2, cookie2) = begin_install(&s).await;
        s.fake.script(
            "/api/oauth.v2.access",
            vec![String::from_utf8(fixture("oauth_v2_access.json")).unwrap()],
        );
        s.fake.script(
            "/api/users.list",
            vec![json!({"ok": true, "members": []}).to_string()],
        );
        let r = s
            .http
            .get(cb(&state2))
            .header("cookie", &cookie2)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(s.count("community").await, 1);
        let mut tx = s.store.begin().await.unwrap();
        let teacher = tx
            .for_community(&c.id)
            .member_by_platform_id("U0TEACHER1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(teacher.role, Role::Admin);
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn install_is_refused_when_oauth_is_not_configured() {
    let s = Server::start(
        TestDb::sqlite().await,
        Utc.timestamp_opt(1_700_001_000, 0).unwrap(),
        true,
    )
    .await;
    let mut config = s.config.clone();
    config.client_id = None;
    let state =
        classcred_slack::SlackState::from_config(s.store.clone(), s.metrics.clone(), config)
            .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, classcred_slack::routes(state))
            .await
            .unwrap()
    });
    let r = s
        .http
        .get(format!("http://{addr}/slack/install"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// Finding 3: installing the app again into an existing workspace makes nobody an Admin; only
/// the install that creates the community does.
#[tokio::test]
async fn a_reinstall_by_someone_new_grants_no_admin() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let s = Server::start(db, Utc.timestamp_opt(1_700_001_000, 0).unwrap(), false).await;
        let access = |installer: &str| {
            let mut v: serde_json::Value =
                serde_json::from_slice(&fixture("oauth_v2_access.json")).unwrap();
            v["authed_user"]["id"] = json!(installer);
            serde_json::from_value::<classcred_slack::oauth::OAuthAccess>(v).unwrap()
        };
        let first = classcred_slack::record_install(&s.store, &access("U0INSTALLA"))
            .await
            .unwrap();
        assert!(first.created);
        let again = classcred_slack::record_install(&s.store, &access("U0INSTALLB"))
            .await
            .unwrap();
        assert!(!again.created);
        assert_eq!(first.community_id, again.community_id);
        let mut tx = s.store.begin().await.unwrap();
        let role = |m: Option<classcred_store::Member>| m.unwrap().role;
        let a = tx
            .for_community(&first.community_id)
            .member_by_platform_id("U0INSTALLA")
            .await
            .unwrap();
        let b = tx
            .for_community(&first.community_id)
            .member_by_platform_id("U0INSTALLB")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(role(a), Role::Admin, "{backend}");
        assert_eq!(
            role(b),
            Role::Student,
            "{backend}: a re-install grants nothing"
        );
    }
}

/// The install page says why an install failed: an org-wide (Enterprise Grid) install is
/// refused as such, and a failure on the server is not blamed on the install (it used to say
/// "org-wide installs are not supported" for any failure).
#[tokio::test]
async fn install_failures_are_named_for_what_they_are() {
    let db = TestDb::sqlite().await;
    let s = Server::start(db, Utc.timestamp_opt(1_700_001_000, 0).unwrap(), false).await;
    let mut org_wide: serde_json::Value =
        serde_json::from_slice(&fixture("oauth_v2_access.json")).unwrap();
    org_wide["team"] = serde_json::Value::Null;
    org_wide["is_enterprise_install"] = json!(true);
    s.fake.script(
        "/api/oauth.v2.access",
        vec![
            org_wide.to_string(),
            String::from_utf8(fixture("oauth_v2_access.json")).unwrap(),
        ],
    );
    let install = || async {
        let (state, cookie) = begin_install(&s).await;
        let r = s
            .http
            .get(format!(
                "{}/slack/oauth/callback?code=abc123&state={state}",
                s.base
            ))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    let (status, body) = install().await;
    assert_eq!(status, 400);
    assert!(body.contains("org-wide"), "{body}");
    // A server-side failure: the database refuses every write.
    sqlx::query("DROP TABLE installation")
        .execute(s.store.pool())
        .await
        .unwrap();
    let (status, body) = install().await;
    assert_eq!(status, 500);
    assert!(
        !body.contains("org-wide") && body.contains("problem on this server"),
        "{body}"
    );
}

/// `/slack/install` as a browser follows it: the signed state sent to Slack and the cookie
/// that binds it to this browser.
async fn begin_install(s: &Server) -> (String, String) {
    let r = s
        .http
        .get(format!("{}/slack/install", s.base))
        .send()
        .await
        .unwrap();
    let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let state = loc
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    (state, cookie)
}
