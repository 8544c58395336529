//! Notice delivery (`notice.deliver` jobs) and single-workspace set-up.

use crate::server::{Server, BOT_TOKEN};
use chrono::{TimeZone, Utc};
use classcred_engine::{MemberId, Notice, NoticeKind};
use classcred_slack::{deliver_notice, deliver_notice_with, ensure_single_workspace, ConfirmStyle};
use classcred_store::jobs::ClaimedJob;
use classcred_store::testing::TestDb;
use classcred_store::{CommunityId, MemberKind, MemberProfile, NewCommunity, NewMember, Role};
use secrecy::ExposeSecret;
use serde_json::json;

fn job(community: &CommunityId, to: &str, kind: NoticeKind) -> ClaimedJob {
    ClaimedJob {
        id: "job-1".into(),
        kind: classcred_service::NOTICE_JOB.into(),
        community_id: Some(community.clone()),
        payload: json!({"community_id": community, "notice": Notice { to: MemberId::new(to), kind }}),
        attempts: 1,
        max_attempts: 5,
    }
}

async fn member(
    s: &Server,
    c: &classcred_store::CommunityId,
    uid: &str,
) -> classcred_store::MemberRowId {
    let mut tx = s.store.begin().await.unwrap();
    let id = tx
        .for_community(c)
        .upsert_member(&NewMember {
            platform_user_id: uid.into(),
            role: Role::Student,
            kind: MemberKind::Human,
            profile: MemberProfile::default(),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn notices_go_to_the_members_dm() {
    let s = Server::start(
        TestDb::sqlite().await,
        Utc.timestamp_opt(1_700_001_000, 0).unwrap(),
        true,
    )
    .await;
    let c = s.community().to_owned();
    let m = member(&s, &c, "U0STUDENT7").await;

    let refused = NoticeKind::QuotaExceeded {
        requested: 3,
        remaining: 1,
        daily_quota: 5,
    };
    deliver_notice(&s.store, &s.client, &job(&c, m.as_str(), refused))
        .await
        .unwrap();
    let posts = s.fake.calls_to("/api/chat.postMessage");
    assert_eq!(posts.len(), 1);
    let body = posts[0].json();
    assert_eq!(
        body["channel"], "U0STUDENT7",
        "a DM: Slack opens the conversation"
    );
    assert!(body["text"]
        .as_str()
        .unwrap()
        .contains("you have 1 left today"));
    assert_eq!(body["blocks"][0]["type"], "section");
    assert_eq!(
        posts[0].auth.as_deref(),
        Some(format!("Bearer {BOT_TOKEN}").as_str())
    );

    // Confirmation style `none` drops "fire given" confirmations but not refusals.
    let mut quiet = s.config.clone();
    quiet.confirm = ConfirmStyle::None;
    let given = NoticeKind::FireGiven {
        recipients: 1,
        units: 1,
        remaining: Some(4),
    };
    deliver_notice_with(
        &s.store,
        &s.client,
        &quiet,
        &job(&c, m.as_str(), given.clone()),
    )
    .await
    .unwrap();
    assert_eq!(s.fake.calls_to("/api/chat.postMessage").len(), 1);
    deliver_notice_with(&s.store, &s.client, &s.config, &job(&c, m.as_str(), given))
        .await
        .unwrap();
    assert_eq!(s.fake.calls_to("/api/chat.postMessage").len(), 2);

    // Slack refusing for good (ok:false) completes the job; a rate limit fails it for a retry.
    s.fake.script(
        "/api/chat.postMessage",
        vec![json!({"ok": false, "error": "user_not_found"}).to_string()],
    );
    deliver_notice(
        &s.store,
        &s.client,
        &job(&c, m.as_str(), NoticeKind::SelfFireRefused),
    )
    .await
    .unwrap();
    s.fake.script(
        "/api/chat.postMessage",
        vec![json!({"ok": false, "error": "ratelimited"}).to_string()],
    );
    assert!(deliver_notice(
        &s.store,
        &s.client,
        &job(&c, m.as_str(), NoticeKind::SelfFireRefused)
    )
    .await
    .is_err());

    // Unknown member: nothing sent, job done.
    let before = s.fake.calls().len();
    deliver_notice(
        &s.store,
        &s.client,
        &job(&c, "no-such-member", NoticeKind::SelfFireRefused),
    )
    .await
    .unwrap();
    assert_eq!(s.fake.calls().len(), before);

    // A community on another platform: nothing to do here, and the job succeeds.
    let mut tx = s.store.begin().await.unwrap();
    let inst = tx.create_institution("Demo U").await.unwrap();
    let demo = tx
        .create_community(NewCommunity {
            institution_id: inst.id,
            name: "Demo".into(),
            platform: "demo".into(),
            platform_team_id: None,
            settings_json: "{}".into(),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    deliver_notice(
        &s.store,
        &s.client,
        &job(&demo.id, m.as_str(), NoticeKind::SelfFireRefused),
    )
    .await
    .unwrap();
    assert_eq!(s.fake.calls().len(), before);
    // A malformed job is an error (the worker retries, then marks it failed).
    let mut bad = job(&c, m.as_str(), NoticeKind::SelfFireRefused);
    bad.payload = json!({"community_id": c});
    assert!(deliver_notice(&s.store, &s.client, &bad).await.is_err());
}

#[tokio::test]
async fn single_workspace_setup_is_idempotent_and_follows_token_changes() {
    for db in TestDb::all().await {
        let s = Server::start(db, Utc.timestamp_opt(1_700_001_000, 0).unwrap(), true).await;
        let c = s.community().to_owned();
        assert_eq!(
            ensure_single_workspace(&s.store, &s.config)
                .await
                .unwrap()
                .as_ref(),
            Some(&c)
        );
        assert_eq!(s.count("community").await, 1);
        assert_eq!(s.count("installation").await, 1);
        let mut rotated = s.config.clone();
        rotated.bot_token = Some("xoxb-rotated".to_owned().into());
        assert_eq!(
            ensure_single_workspace(&s.store, &rotated)
                .await
                .unwrap()
                .as_ref(),
            Some(&c)
        );
        assert_eq!(s.count("installation").await, 2);
        let mut tx = s.store.begin().await.unwrap();
        assert_eq!(
            tx.for_community(&c)
                .bot_token()
                .await
                .unwrap()
                .unwrap()
                .expose_secret(),
            "xoxb-rotated"
        );
        let community = tx.community(&c).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            (
                community.platform.as_str(),
                community.platform_team_id.as_deref()
            ),
            ("slack", Some(crate::server::TEAM))
        );
        // Not configured: nothing to do.
        let mut oauth_only = s.config.clone();
        oauth_only.team_id = None;
        assert_eq!(
            ensure_single_workspace(&s.store, &oauth_only)
                .await
                .unwrap(),
            None
        );
        let mut bad = s.config.clone();
        bad.team_id = Some("not-a-team".into());
        assert!(ensure_single_workspace(&s.store, &bad).await.is_err());
    }
}

fn job_about(community: &CommunityId, to: &str, kind: NoticeKind, source: &str) -> ClaimedJob {
    let mut j = job(community, to, kind);
    j.payload["source"] = json!(source);
    j
}

#[tokio::test]
async fn notices_about_a_message_answer_in_its_channel() {
    let s = Server::start(
        TestDb::sqlite().await,
        Utc.timestamp_opt(1_700_001_000, 0).unwrap(),
        true,
    )
    .await;
    let c = s.community().to_owned();
    let m = member(&s, &c, "U0STUDENT8").await;
    let source = "C0LAN2Q65:1700000000.000100";

    // A refusal about a message: ephemeral, in that channel, to that member only.
    deliver_notice(
        &s.store,
        &s.client,
        &job_about(&c, m.as_str(), NoticeKind::SelfFireRefused, source),
    )
    .await
    .unwrap();
    let eph = s.fake.calls_to("/api/chat.postEphemeral");
    assert_eq!(eph.len(), 1);
    let body = eph[0].json();
    assert_eq!(
        (body["channel"].as_str(), body["user"].as_str()),
        (Some("C0LAN2Q65"), Some("U0STUDENT8"))
    );
    assert!(
        s.fake.calls_to("/api/chat.postMessage").is_empty(),
        "no DM when the channel works"
    );

    // The member is no longer in the channel: the notice falls back to the DM.
    s.fake.script(
        "/api/chat.postEphemeral",
        vec![json!({"ok": false, "error": "user_not_in_channel"}).to_string()],
    );
    deliver_notice(
        &s.store,
        &s.client,
        &job_about(&c, m.as_str(), NoticeKind::SelfFireRefused, source),
    )
    .await
    .unwrap();
    let dms = s.fake.calls_to("/api/chat.postMessage");
    assert_eq!(dms.len(), 1);
    assert_eq!(dms[0].json()["channel"], "U0STUDENT8");

    // confirm = reaction: a give is confirmed with a reaction on the message, nothing posted.
    let mut react = s.config.clone();
    react.confirm = ConfirmStyle::Reaction;
    let given = NoticeKind::FireGiven {
        recipients: 2,
        units: 2,
        remaining: Some(3),
    };
    deliver_notice_with(
        &s.store,
        &s.client,
        &react,
        &job_about(&c, m.as_str(), given, source),
    )
    .await
    .unwrap();
    let reactions = s.fake.calls_to("/api/reactions.add");
    assert_eq!(reactions.len(), 1);
    let body = reactions[0].json();
    assert_eq!(body["channel"], "C0LAN2Q65");
    assert_eq!(body["timestamp"], "1700000000.000100");
    assert_eq!(body["name"], classcred_slack::notice::CONFIRM_REACTION);
    assert_eq!(s.fake.calls_to("/api/chat.postEphemeral").len(), 2);
    assert_eq!(s.fake.calls_to("/api/chat.postMessage").len(), 1);
}

/// Tenancy: the single-workspace bot token belongs to its workspace only. A community of
/// another workspace without a stored token gets no notice (and no member lookup) with it.
#[tokio::test]
async fn the_single_workspace_token_is_never_used_for_another_workspace() {
    let s = Server::start(
        TestDb::sqlite().await,
        Utc.timestamp_opt(1_700_001_000, 0).unwrap(),
        true,
    )
    .await;
    let other = {
        let mut tx = s.store.begin().await.unwrap();
        let inst = tx.create_institution("Other").await.unwrap();
        let c = tx
            .create_community(NewCommunity {
                institution_id: inst.id,
                name: "Other workspace".into(),
                platform: "slack".into(),
                platform_team_id: Some("T0OTHERWS".into()),
                settings_json: "{}".into(),
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        c.id
    };
    let m = member(&s, &other, "U0STUDENT9").await;
    let refused = NoticeKind::QuotaExceeded {
        requested: 3,
        remaining: 1,
        daily_quota: 5,
    };
    deliver_notice_with(
        &s.store,
        &s.client,
        &s.config,
        &job(&other, m.as_str(), refused),
    )
    .await
    .unwrap();
    assert!(
        classcred_slack::sync::community_token(&s.store, &s.config, &other)
            .await
            .unwrap()
            .is_none()
    );
    let own = classcred_slack::sync::community_token(&s.store, &s.config, s.community())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(own.0.expose(), BOT_TOKEN);
    let with_token: Vec<_> = s
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.auth.as_deref() == Some(&format!("Bearer {BOT_TOKEN}")))
        .collect();
    assert!(with_token.is_empty(), "{with_token:?}");
}
