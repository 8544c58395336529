//! Every activity type, from the fixture files, through `POST /teams/messages`: what each one
//! stores (or does not), on SQLite and PostgreSQL.

use classcred_teams::commands::COMMAND_JOB;
use serde_json::{json, Value};

use crate::fixture;
use crate::server::{backends, Server, SERVICE_URL, TEAM};

async fn inbox(s: &Server) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = sqlx::query_as(
        "SELECT event_type, event_id FROM inbox WHERE event_type <> 'member_joined'",
    )
    .fetch_all(s.store.pool())
    .await
    .unwrap();
    v.sort();
    v
}

/// Posts `name` and returns what it added to the inbox (member joins left out).
async fn post(s: &Server, name: &str, f: impl FnOnce(&mut Value)) -> Vec<(String, String)> {
    let mut a = fixture(name);
    f(&mut a);
    let before = inbox(s).await;
    assert_eq!(s.post(&a).await, 200, "{name}");
    inbox(s)
        .await
        .into_iter()
        .filter(|e| !before.contains(e))
        .collect()
}

fn ev(kind: &str, id: &str) -> Vec<(String, String)> {
    vec![(kind.to_owned(), id.to_owned())]
}

const CHAN: &str = "19:maths@thread.tacv2";

#[tokio::test]
async fn every_activity_type_from_fixtures() {
    for db in backends().await {
        let backend = db.backend();
        let s = Server::start(db, None).await;
        // Before the install, a team's messages go nowhere.
        assert!(
            post(&s, "message_channel", |_| {}).await.is_empty(),
            "{backend}"
        );

        // The bot added to a team installs its community, named after the team.
        assert!(post(&s, "conversation_update_bot_added_team", |_| {})
            .await
            .is_empty());
        let c = s.community(TEAM).await.expect("installed");
        assert_eq!(
            (c.platform.as_str(), c.name.as_str()),
            ("teams", "Physics 101"),
            "{backend}"
        );
        let r = classcred_teams::install::community_ref(&s.store, &c.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.service_url, SERVICE_URL);
        assert_eq!(r.conversation_id, TEAM);
        assert_eq!(r.bot_id, crate::server::BOT);
        assert_eq!(
            s.jobs_of(classcred_service::SYNC_MEMBERS_JOB).await.len(),
            1,
            "{backend}: a member sync is queued"
        );
        // Redelivered: still one community.
        assert!(post(&s, "conversation_update_bot_added_team", |_| {})
            .await
            .is_empty());
        assert_eq!(s.count("community").await, 1, "{backend}");

        // People added become members; nothing else.
        post(&s, "conversation_update_members_added", |a| {
            a["membersAdded"] = json!([{"id": "29:alice"}, {"id": "29:bob"}, {"id": "29:carol"}, {"id": "29:dave"}, {"id": "29:erin"}]);
        })
        .await;
        let mut tx = s.store.begin().await.unwrap();
        for m in ["29:alice", "29:bob", "29:carol", "29:erin"] {
            assert!(
                tx.for_community(&c.id)
                    .member_id_by_platform(m)
                    .await
                    .unwrap()
                    .is_some(),
                "{backend}: {m} joined"
            );
        }
        tx.commit().await.unwrap();
        assert!(post(&s, "conversation_update_member_removed", |_| {})
            .await
            .is_empty());
        assert!(post(&s, "conversation_update_channel_created", |_| {})
            .await
            .is_empty());

        // Messages: fire and entity mentions only.
        assert_eq!(
            post(&s, "message_channel", |_| {}).await,
            ev("message_posted", &format!("{CHAN}:1764493200000")),
            "{backend}"
        );
        assert_eq!(
            post(&s, "message_channel", |_| {}).await,
            vec![],
            "{backend}: a redelivery is stored once"
        );
        assert_eq!(
            post(&s, "message_thread_reply", |_| {}).await,
            ev("message_posted", &format!("{CHAN}:1764493300000"))
        );
        // A typed name is no mention: its fire is stored with nobody to receive it (the scripted
        // test shows it gives nothing).
        assert_eq!(
            post(&s, "message_name_only", |_| {}).await,
            ev("message_posted", &format!("{CHAN}:1764493450000"))
        );
        assert!(
            post(&s, "message_from_bot", |_| {}).await.is_empty(),
            "{backend}: bots give nothing"
        );

        // Edits, deletes, reactions.
        assert_eq!(
            post(&s, "message_update_edit", |_| {}).await,
            ev(
                "message_edited",
                &format!(
                    "{CHAN}:1764493200000:edit:{}",
                    chrono::DateTime::parse_from_rfc3339("2026-11-30T09:05:00Z")
                        .unwrap()
                        .timestamp_millis()
                )
            )
        );
        assert!(post(&s, "message_update_undelete", |_| {}).await.is_empty());
        assert_eq!(
            post(&s, "message_reaction_added", |_| {}).await,
            ev(
                "reaction_added",
                &format!("{CHAN}:f:9f78d1f3:messageReaction")
            )
        );
        assert!(post(&s, "message_reaction_like", |_| {}).await.is_empty());
        assert_eq!(
            post(&s, "message_reaction_removed", |_| {}).await,
            ev(
                "reaction_removed",
                &format!("{CHAN}:f:9f78d1f4:messageReaction")
            )
        );
        assert_eq!(
            post(&s, "message_delete", |_| {}).await,
            ev("message_deleted", &format!("{CHAN}:1764493200000:delete"))
        );

        // Commands are queued as jobs, not stored as events.
        assert!(post(&s, "message_command", |_| {}).await.is_empty());
        assert!(post(&s, "message_personal_command", |_| {})
            .await
            .is_empty());
        let jobs = s.jobs_of(COMMAND_JOB).await;
        assert_eq!(jobs.len(), 2, "{backend}");
        // The argument text is sealed in the job (it can hold personal data), and opens.
        let opened = |job: &Value| {
            serde_json::from_value::<classcred_teams::commands::CommandRequest>(job.clone())
                .unwrap()
                .open(&s.store)
                .args
        };
        assert!(!jobs[0].to_string().contains("top week"), "{backend}");
        assert_eq!(opened(&jobs[0]), "top week");
        assert_eq!(jobs[0]["community_key"], TEAM);
        assert_eq!(jobs[0]["reply_to_id"], "1764493500000");
        assert_eq!(
            jobs[0]["conversation_id"],
            format!("{CHAN};messageid=1764493500000")
        );
        assert_eq!(opened(&jobs[1]), "me");
        // Moved to another job (another activity id), the sealed text does not open.
        let mut moved = jobs[0].clone();
        moved["reply_to_id"] = jobs[1]["reply_to_id"].clone();
        assert_eq!(opened(&moved), "", "{backend}");
        assert_eq!(jobs[1]["community_key"], Value::Null);
        // The same command delivered again is answered once.
        post(&s, "message_command", |_| {}).await;
        assert_eq!(s.jobs_of(COMMAND_JOB).await.len(), 2, "{backend}");
        // A command from a serviceUrl off the allow-list is not queued.
        post(&s, "message_command", |a| {
            a["id"] = json!("1764493999999");
            a["serviceUrl"] = json!("https://evil.example/amer/");
        })
        .await;
        assert_eq!(s.jobs_of(COMMAND_JOB).await.len(), 2, "{backend}");
        assert_eq!(s.rejections("service_url_not_allowed").await, 1);

        // Unknown types: 200, ignored.
        assert!(post(&s, "invoke_adaptive_card", |_| {}).await.is_empty());
        assert!(post(&s, "typing", |_| {}).await.is_empty());

        // A group chat is a community of its own.
        post(&s, "conversation_update_bot_added_group_chat", |_| {}).await;
        let g = s
            .community("19:chat-g1@thread.v2")
            .await
            .expect("group chat installed");
        assert_ne!(g.id, c.id);
        post(&s, "conversation_update_members_added", |a| {
            a["conversation"] =
                json!({"id": "19:chat-g1@thread.v2", "conversationType": "groupChat"});
            a["channelData"] = json!({"tenant": {"id": "t"}});
            a["membersAdded"] = json!([{"id": "29:alice"}, {"id": "29:bob"}]);
        })
        .await;
        assert_eq!(
            post(&s, "message_group_chat", |_| {}).await,
            ev("message_posted", "19:chat-g1@thread.v2:1764493400000")
        );

        // Uninstall and reinstall (installationUpdate), then the bot removed.
        post(&s, "installation_update_remove", |_| {}).await;
        let state = s.community(TEAM).await.unwrap().state;
        assert_eq!(
            state,
            classcred_store::CommunityState::Disabled,
            "{backend}"
        );
        assert!(
            post(&s, "message_channel", |a| a["id"] = json!("1764500000000"))
                .await
                .is_empty(),
            "{backend}: nothing stored for a disabled community"
        );
        post(&s, "installation_update_add", |_| {}).await;
        assert_eq!(
            s.community(TEAM).await.unwrap().state,
            classcred_store::CommunityState::Active
        );
        post(&s, "conversation_update_bot_removed", |_| {}).await;
        assert_eq!(
            s.community(TEAM).await.unwrap().state,
            classcred_store::CommunityState::Disabled
        );
    }
}

/// What a refused request looks like: no body read without a token, a body over the limit,
/// a malformed body after a valid token, and nothing stored.
#[tokio::test]
async fn hostile_requests() {
    let db = classcred_store::testing::TestDb::sqlite().await;
    let s = Server::start(db, None).await;
    post(&s, "conversation_update_bot_added_team", |_| {}).await;
    let before = s.count("inbox").await;
    let big = json!({"type": "message", "text": "x".repeat(300 * 1024), "serviceUrl": SERVICE_URL, "channelId": "msteams"});
    assert_eq!(s.post(&big).await, 413);
    let t = crate::server::token(SERVICE_URL, json!({}));
    let resp = s
        .http
        .post(format!("{}/teams/messages", s.base))
        .header("authorization", format!("Bearer {t}"))
        .body(format!(
            "{{\"channelId\":\"msteams\",\"serviceUrl\":\"{SERVICE_URL}\",\"type\":"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        401,
        "an unparsable body has no serviceUrl/channelId the token can match"
    );
    let odd = json!({"channelId": "msteams", "serviceUrl": SERVICE_URL, "type": 5});
    assert_eq!(s.post(&odd).await, 400, "authenticated but malformed");
    assert_eq!(s.post_raw(&fixture("message_channel"), None).await, 401);
    assert_eq!(s.count("inbox").await, before);
    assert_eq!(s.rejections("too_large").await, 1);
    assert_eq!(s.rejections("missing_token").await, 1);
}
