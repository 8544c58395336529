//! The Slack routes over HTTP, driven like Slack with the documented payload fixtures, down to
//! the ledger; plus App Home and notice delivery through the fake Web API.

use crate::fixture;
use crate::server::{Server, BOT_TOKEN, TEAM};
use chrono::{TimeZone, Utc};
use classcred_store::testing::TestDb;
use classcred_store::{CommunityState, MemberKind, Role};
use serde_json::json;

fn now() -> chrono::DateTime<Utc> {
    // Just after the fixtures' timestamps (1700000000 …).
    Utc.timestamp_opt(1_700_001_000, 0).unwrap()
}

#[tokio::test]
async fn fixtures_drive_the_whole_path_to_the_ledger() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let s = Server::start(db, now(), true).await;
        let c = s.community().to_owned();

        // Slack checks the URL first.
        let r = s.event(fixture("url_verification.json")).await;
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        assert!(v["challenge"].as_str().is_some_and(|c| !c.is_empty()));

        // Members: team_join and user_change keep only the registry's fields.
        assert_eq!(s.event(fixture("team_join.json")).await.status(), 200);
        assert_eq!(s.event(fixture("user_change.json")).await.status(), 200);
        {
            let mut tx = s.store.begin().await.unwrap();
            let m = tx
                .for_community(&c)
                .member_by_platform_id("W0ENTSTUD")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(m.role, Role::Student);
            assert_eq!(m.kind, MemberKind::Human);
            assert_eq!(
                m.profile.email.as_deref().map(|e| e.contains('@')),
                Some(true)
            );
            assert!(
                m.profile.name.is_some()
                    && m.profile.avatar_url.is_some()
                    && m.profile.timezone.is_some()
            );
            tx.commit().await.unwrap();
        }

        let step = |name: &'static str| fixture(name);
        let earned =
            |b: &std::collections::BTreeMap<String, i64>, u: &str| b.get(u).copied().unwrap_or(0);

        // U1 gives U2 and U3 two fires each.
        assert_eq!(s.event(step("message.json")).await.status(), 200);
        // Slack's retry of the same delivery: acknowledged, never awarded twice.
        let retry = s
            .post_signed(
                "/slack/events",
                "application/json",
                fixture("message.json"),
                &[
                    ("x-slack-retry-num", "1"),
                    ("x-slack-retry-reason", "http_timeout"),
                ],
            )
            .await;
        assert_eq!(retry.status(), 200);
        s.run_jobs().await;
        let b = s.balances(&c).await;
        assert_eq!(
            (earned(&b, "U0STUDENT2"), earned(&b, "U0STUDENT3")),
            (2000, 2000),
            "{backend}"
        );

        // A thread reply gives U1 one fire; the edit keeps one fire for U2 only.
        s.event(step("message_thread_reply.json")).await;
        s.event(step("message_changed.json")).await;
        s.run_jobs().await;
        let b = s.balances(&c).await;
        assert_eq!(earned(&b, "U0STUDENT1"), 1000);
        assert_eq!(
            (earned(&b, "U0STUDENT2"), earned(&b, "U0STUDENT3")),
            (1000, 0)
        );

        // A 🔥 reaction gives the author one fire; removing it takes it back.
        s.event(step("reaction_added.json")).await;
        s.run_jobs().await;
        assert_eq!(earned(&s.balances(&c).await, "U0STUDENT1"), 2000);
        s.event(step("reaction_removed.json")).await;
        s.run_jobs().await;
        assert_eq!(earned(&s.balances(&c).await, "U0STUDENT1"), 1000);

        // Deleting the message reverses what it still gave.
        s.event(step("message_deleted.json")).await;
        // Bot messages, the app's own and other subtypes store nothing.
        let inbox_before = s.count("inbox").await;
        for f in [
            "message_bot.json",
            "message_app_own.json",
            "message_channel_join.json",
            "unknown_event.json",
            "unknown_envelope.json",
            "app_rate_limited.json",
        ] {
            assert_eq!(s.event(fixture(f)).await.status(), 200, "{f}");
        }
        assert_eq!(s.count("inbox").await, inbox_before);
        assert_eq!(s.rejections("app_rate_limited").await, 1);
        s.run_jobs().await;
        let b = s.balances(&c).await;
        assert_eq!(
            (
                earned(&b, "U0STUDENT1"),
                earned(&b, "U0STUDENT2"),
                earned(&b, "U0STUDENT3")
            ),
            (1000, 0, 0),
            "{backend}"
        );
        let report = classcred_service::replay(&s.store, &c, |_, _| {})
            .await
            .unwrap();
        assert!(report.matches(), "{:?}", report.differences);

        // Notices about messages went privately to the givers, in the message's channel
        // (chat.postEphemeral), with the bot token.
        let posts = s.fake.calls_to("/api/chat.postEphemeral");
        assert!(!posts.is_empty());
        for p in &posts {
            assert_eq!(
                p.auth.as_deref(),
                Some(format!("Bearer {BOT_TOKEN}").as_str())
            );
            assert!(p
                .content_type
                .as_deref()
                .unwrap()
                .starts_with("application/json"));
            let body = p.json();
            assert!(body["channel"].as_str().unwrap().starts_with('C'), "{body}");
            assert!(body["user"].as_str().unwrap().starts_with('U'), "{body}");
            assert!(!body["text"].as_str().unwrap().is_empty());
        }
        assert!(posts.iter().any(|p| p.json()["user"] == "U0STUDENT1"
            && p.json()["text"]
                .as_str()
                .unwrap()
                .contains("You gave 4 fire")));

        // App Home: views.publish for the member who opened it.
        assert_eq!(s.event(fixture("app_home_opened.json")).await.status(), 200);
        let calls = s.fake.wait_for("/api/views.publish", 1).await;
        let v = calls[0].json();
        assert_eq!(v["user_id"], "U0STUDENT1");
        assert_eq!(v["view"]["type"], "home");
        assert!(v["view"]["blocks"].to_string().contains("1 earned"), "{v}");
        assert!(
            v["view"]["blocks"]
                .to_string()
                .contains("You received 1 fire"),
            "recent activity: {v}"
        );
        assert!(
            v["view"]["blocks"].to_string().contains("Fire left today"),
            "{v}"
        );
        assert!(
            !v["view"]["blocks"].to_string().contains("Open dashboard"),
            "students get no dashboard button"
        );

        // Uninstall disables the community (the deletion clock starts from it).
        assert_eq!(s.event(fixture("app_uninstalled.json")).await.status(), 200);
        let mut tx = s.store.begin().await.unwrap();
        let community = tx.community(&c).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(community.state, CommunityState::Disabled);
        assert!(community.disabled_at.is_some());
        // Later events are acknowledged and ignored.
        let before = s.count("inbox").await;
        s.event(fixture("message_thread_reply.json")).await;
        assert_eq!(s.count("inbox").await, before);
    }
}

#[tokio::test]
async fn tokens_revoked_disables_the_community() {
    let s = Server::start(TestDb::sqlite().await, now(), true).await;
    let mut tx = s.store.begin().await.unwrap();
    assert!(tx
        .for_community(s.community())
        .bot_token()
        .await
        .unwrap()
        .is_some());
    tx.commit().await.unwrap();
    assert_eq!(s.event(fixture("tokens_revoked.json")).await.status(), 200);
    let mut tx = s.store.begin().await.unwrap();
    assert_eq!(
        tx.community(s.community()).await.unwrap().state,
        CommunityState::Disabled
    );
    // The installation is marked revoked: its token is no longer used.
    assert!(tx
        .for_community(s.community())
        .bot_token()
        .await
        .unwrap()
        .is_none());
    tx.commit().await.unwrap();
}

fn form(text: &str, user: &str) -> String {
    format!(
        "token=x&team_id={TEAM}&team_domain=cs101&channel_id=C0LAN2Q65&channel_name=general&user_id={user}\
         &user_name=alice&command=%2Fcred&text={}&api_app_id=A0PNCHHK2&is_enterprise_install=false\
         &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT061EG9R6%2F1%2Fabc&trigger_id=1.2.3",
        text.replace(' ', "+")
    )
}

#[tokio::test]
async fn cred_command_answers_privately() {
    let s = Server::start(TestDb::sqlite().await, now(), true).await;
    s.community();
    s.event(fixture("team_join.json")).await;
    s.event(fixture("message.json")).await;
    s.run_jobs().await;

    // Slack's TLS probe is unsigned and answered 200.
    let r = s
        .http
        .post(format!("{}/slack/commands", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(fixture("ssl_check.form"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    for text in ["", "help", "nonsense"] {
        let v = s.command(&form(text, "U0STUDENT1")).await;
        assert_eq!(v["response_type"], "ephemeral");
        assert!(
            v["text"].as_str().unwrap().contains("/cred me"),
            "{text}: {v}"
        );
    }

    let v = s.command(&form("me", "U0STUDENT2")).await;
    assert_eq!(v["response_type"], "ephemeral");
    let t = v["text"].as_str().unwrap();
    assert!(
        t.contains("2 earned") && t.contains("5 :fire: left today"),
        "{t}"
    );
    let t = s.command(&form("me", "U0STUDENT1")).await["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        t.contains("1 :fire: left today"),
        "U1 gave 4 of 5 today: {t}"
    );

    // The fixture's own slash command: /cred top week.
    let v = s
        .command(std::str::from_utf8(&fixture("slash_command.form")).unwrap())
        .await;
    let t = v["text"].as_str().unwrap();
    assert!(
        t.contains("Leaderboard") && t.contains("1. ") && t.contains(" — 2"),
        "{t}"
    );
    for p in ["top month", "top all"] {
        assert!(s.command(&form(p, "U0STUDENT2")).await["text"]
            .as_str()
            .unwrap()
            .contains("You: rank 1"));
    }
    // Display names from the profile (W0ENTSTUD joined with display name "dana", 0 points).
    assert!(s.command(&form("top all", "U0STUDENT2")).await["text"]
        .as_str()
        .unwrap()
        .contains("dana"));

    // `/cred dashboard`: a private, single-use sign-in link for the member who asked, signed
    // with the master key's login key and pointing at the dashboard's login route.
    let v = s.command(&form("dashboard", "U0STUDENT2")).await;
    let t = v["text"].as_str().unwrap();
    let prefix = format!("<{}/dashboard/login?token=", crate::server::DASHBOARD_BASE);
    assert!(t.starts_with(&prefix) && t.contains("works once"), "{t}");
    let token = &t[prefix.len()..t.find('|').unwrap()];
    let claims = classcred_service::login::verify_login_token(
        &s.store.login_key(),
        token,
        s.store.now_ms() / 1000,
    )
    .unwrap();
    assert_eq!(claims.community_id.as_str(), s.community().as_str());
    let mut tx = s.store.begin().await.unwrap();
    let asker = tx
        .for_community(&claims.community_id)
        .member_id_by_platform("U0STUDENT2")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(Some(claims.member_id), asker, "the link signs in the asker");
    let help = s.command(&form("help", "U0STUDENT2")).await;
    assert!(help["text"].as_str().unwrap().contains("/cred dashboard"));
}

#[tokio::test]
async fn cred_privacy_explains_and_opens_requests() {
    use classcred_service::privacy_requests::my_requests;
    use classcred_store::{PrivacyRequestKind, PrivacyRequestState};
    let s = Server::start(TestDb::sqlite().await, now(), true).await;
    s.community();
    s.event(fixture("team_join.json")).await;
    s.event(fixture("message.json")).await;
    s.run_jobs().await;

    // Alone: what can be asked, and a private link to "my data".
    let v = s.command(&form("privacy", "U0STUDENT2")).await;
    assert_eq!(v["response_type"], "ephemeral");
    let t = v["text"].as_str().unwrap();
    assert!(
        t.contains("/cred privacy export")
            && t.contains("/cred privacy delete")
            && t.contains("/cred privacy correct"),
        "{t}"
    );
    assert!(t.contains("/dashboard/login?token="), "{t}");
    assert!(s.command(&form("help", "U0STUDENT2")).await["text"]
        .as_str()
        .unwrap()
        .contains("/cred privacy"));

    // With a kind: the request is opened and confirmed; the details are kept as typed.
    let v = s
        .command(&form("privacy correct my name is misspelled", "U0STUDENT2"))
        .await;
    let t = v["text"].as_str().unwrap();
    assert!(t.contains("was sent to your class's Admins"), "{t}");
    let v = s.command(&form("privacy export", "U0STUDENT2")).await;
    assert!(v["text"].as_str().unwrap().contains("see and export"));
    // A second open request of a kind is refused with a clear message.
    let v = s.command(&form("privacy export", "U0STUDENT2")).await;
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .contains("already have an open access request"),
        "{v}"
    );
    let c = s.community();
    let mut tx = s.store.begin().await.unwrap();
    let member = tx
        .for_community(c)
        .member_id_by_platform("U0STUDENT2")
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let mine = my_requests(&s.store, c, &member).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[1].kind, PrivacyRequestKind::Correction);
    assert_eq!(mine[1].details.as_deref(), Some("my name is misspelled"));
    assert!(mine.iter().all(|r| r.state == PrivacyRequestState::Open));
    // Another member's requests are theirs alone.
    let mut tx = s.store.begin().await.unwrap();
    let other = tx
        .for_community(c)
        .member_id_by_platform("U0STUDENT1")
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    assert!(my_requests(&s.store, c, &other).await.unwrap().is_empty());
}

#[tokio::test]
async fn interactivity_routes_by_id_and_acknowledges() {
    let s = Server::start(TestDb::sqlite().await, now(), true).await;
    let inbox = s.count("inbox").await;
    for f in [
        "block_actions.json",
        "view_submission.json",
        "view_closed.json",
    ] {
        let payload = String::from_utf8(fixture(f)).unwrap();
        let body = format!("payload={}", percent_encode(&payload));
        let r = s
            .post_signed(
                "/slack/interactivity",
                "application/x-www-form-urlencoded",
                body.into_bytes(),
                &[],
            )
            .await;
        assert_eq!(r.status(), 200, "{f}");
        assert_eq!(
            r.text().await.unwrap(),
            "",
            "{f}: empty body closes a modal"
        );
    }
    assert_eq!(s.count("inbox").await, inbox);

    // The example handler answers through the response_url (here on the fake).
    let mut payload: serde_json::Value =
        serde_json::from_slice(&fixture("block_actions.json")).unwrap();
    payload["actions"] = json!([{ "action_id": "classcred_help", "block_id": "b", "value": "x", "type": "button", "action_ts": "1700001000.1" }]);
    payload["response_url"] = json!(format!("{}/respond/abc", s.fake_base));
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
    let calls = s.fake.wait_for("/respond/abc", 1).await;
    assert_eq!(calls[0].json()["response_type"], "ephemeral");
    assert!(calls[0].auth.is_none(), "response_url calls carry no token");

    // Finding 13: a response_url on another local port (an unrelated local service) is not
    // called, and an interaction naming no workspace is refused before any handler runs.
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    other.set_nonblocking(true).unwrap();
    let elsewhere = format!("http://{}/respond/x", other.local_addr().unwrap());
    let refused = s.client.respond(&elsewhere, &json!({"text": "x"})).await;
    assert!(
        matches!(refused, Err(classcred_slack::SlackApiError::Policy(_))),
        "{refused:?}"
    );
    assert!(
        other.accept().is_err(),
        "no connection to another local port"
    );

    let mut teamless = payload.clone();
    teamless.as_object_mut().unwrap().remove("team");
    teamless["user"].as_object_mut().unwrap().remove("team_id");
    payload["response_url"] = json!(format!("{}/respond/teamless", s.fake_base));
    teamless["response_url"] = payload["response_url"].clone();
    let body = format!("payload={}", percent_encode(&teamless.to_string()));
    let r = s
        .post_signed(
            "/slack/interactivity",
            "application/x-www-form-urlencoded",
            body.into_bytes(),
            &[],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(s.rejections("missing_team").await, 1);
    assert!(s.fake.calls_to("/respond/teamless").is_empty());
}

pub fn percent_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn app_home_gives_admins_a_dashboard_sign_in_link() {
    let s = Server::start(TestDb::sqlite().await, now(), true).await;
    let c = s.community().to_owned();
    let mut tx = s.store.begin().await.unwrap();
    classcred_service::join_member(
        &mut tx,
        &c,
        "slack",
        &classcred_store::NewMember {
            platform_user_id: "U0STUDENT1".into(),
            role: Role::Admin,
            kind: MemberKind::Human,
            profile: Default::default(),
        },
        now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    s.run_jobs().await;
    s.event(fixture("app_home_opened.json")).await;
    let calls = s.fake.wait_for("/api/views.publish", 1).await;
    let blocks = calls[0].json()["view"]["blocks"].to_string();
    assert!(
        blocks.contains("Open dashboard")
            && blocks.contains(&format!(
                "{}/dashboard/login?token=",
                crate::server::DASHBOARD_BASE
            )),
        "admins get a sign-in button: {blocks}"
    );
    assert!(
        blocks.contains("no limit"),
        "admins give without limit: {blocks}"
    );
}
