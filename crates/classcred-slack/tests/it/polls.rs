//! Polls on Slack: the posted poll has one vote button per option (Block Kit checked against
//! slack_sdk when available); a signed `block_actions` click votes for the member who clicked
//! and answers through the `response_url`; the same click redelivered counts once; a changed
//! vote replaces the old one; after the close a click is refused; `/cred vote` and `/cred
//! polls` work as commands.

use crate::http_events::percent_encode;
use crate::server::{command_form, Server};
use crate::{fixture, python, run_python};
use chrono::{TimeZone, Utc};
use classcred_platform::{NoticeSink, Posted};
use classcred_service::polls::{close, create, get, record_posted, Draft};
use classcred_slack::notice::SlackNotices;
use classcred_store::testing::TestDb;
use classcred_store::Role;
use serde_json::json;

fn now() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_001_000, 0).unwrap()
}

#[tokio::test]
async fn poll_buttons_and_block_actions_vote() {
    for db in TestDb::all().await {
        let b = db.backend();
        let s = Server::start(db, now(), true).await;
        let c = s.community().to_owned();
        let ta = s.join("U0INSTR01", Role::Instructor, now()).await;
        s.join("U0STUDENT1", Role::Student, now()).await;
        s.run_jobs().await;
        // Created on the dashboard without a channel (no posting job in this test server);
        // posted below through the adapter as the job would.
        let (id, _) = create(
            &s.store,
            &c,
            &ta,
            &Draft {
                kind: "poll".into(),
                question: "Which <topic> next?".into(),
                options: "Graphs\nTrees & heaps".into(),
                ..Draft::default()
            },
            now(),
        )
        .await
        .unwrap();
        let view = get(&s.store, &c, &id).await.unwrap().unwrap();
        let mut tx = s.store.begin().await.unwrap();
        let community = tx.community(&c).await.unwrap();
        tx.commit().await.unwrap();
        let sink = SlackNotices {
            client: s.client.clone(),
            config: s.config.clone(),
        };
        let posted = sink
            .post_poll(&s.store, &community, "C0LAN2Q65", "poll.x", &view)
            .await
            .unwrap();
        let Posted::Sent(Some(mid)) = posted else {
            panic!("{b}: not posted: {posted:?}")
        };
        let calls = s.fake.calls_to("/api/chat.postMessage");
        let msg = calls.last().unwrap().json();
        assert_eq!(msg["channel"], "C0LAN2Q65", "{b}");
        let text = msg["text"].as_str().unwrap();
        assert!(
            text.contains("Which &lt;topic&gt; next?"),
            "{b}: escaped: {text}"
        );
        assert!(text.contains("/cred vote 1"), "{b}: {text}");
        let buttons = &msg["blocks"][1]["elements"];
        assert_eq!(buttons[0]["action_id"], format!("poll:vote:{id}:0"), "{b}");
        assert_eq!(buttons[1]["text"]["text"], "2. Trees & heaps", "{b}");
        if let Some(py) = python() {
            let out = run_python(
                &py,
                "validate_views.py",
                &json!({"views": [], "blocks": [msg["blocks"].clone()]}),
            );
            assert_eq!(out["blocks"], json!([null]), "{b}: {out}");
        }
        record_posted(&s.store, &c, &id, &mid, now()).await.unwrap();

        // A click on option 2, signed and shaped as Slack sends it.
        let mut payload: serde_json::Value =
            serde_json::from_slice(&fixture("block_actions.json")).unwrap();
        let click = |payload: &mut serde_json::Value, option: u32, ts: &str, respond: &str| {
            payload["actions"] = json!([{
                "action_id": format!("poll:vote:{id}:{option}"), "block_id": "poll_vote",
                "value": option.to_string(), "type": "button",
                "text": {"type": "plain_text", "text": "Option", "emoji": true},
                "action_ts": ts
            }]);
            payload["response_url"] = json!(format!("{}/respond/{respond}", s.fake_base));
            format!("payload={}", percent_encode(&payload.to_string())).into_bytes()
        };
        let counts = |s: &Server| {
            let (store, c, id) = (s.store.clone(), c.clone(), id.clone());
            async move { get(&store, &c, &id).await.unwrap().unwrap().counts }
        };
        for respond in ["v1", "v1-again"] {
            let body = click(&mut payload, 1, "1700001010.123456", respond);
            let r = s
                .post_signed(
                    "/slack/interactivity",
                    "application/x-www-form-urlencoded",
                    body,
                    &[],
                )
                .await;
            assert_eq!(r.status(), 200, "{b}");
            let answer = s.fake.wait_for(&format!("/respond/{respond}"), 1).await[0].json();
            assert_eq!(answer["response_type"], "ephemeral", "{b}");
            let t = answer["text"].as_str().unwrap().to_string();
            assert!(
                t.contains("Your vote in poll #1 is *Trees &amp; heaps*"),
                "{b}: {t}"
            );
        }
        assert_eq!(
            counts(&s).await,
            vec![0, 1],
            "{b}: a redelivered click counts once"
        );
        // A new click changes the vote.
        let body = click(&mut payload, 0, "1700001020.000001", "v2");
        s.post_signed(
            "/slack/interactivity",
            "application/x-www-form-urlencoded",
            body,
            &[],
        )
        .await;
        s.fake.wait_for("/respond/v2", 1).await;
        assert_eq!(counts(&s).await, vec![1, 0], "{b}");
        // A forged option votes for nothing.
        let body = click(&mut payload, 9, "1700001021.000001", "forged");
        s.post_signed(
            "/slack/interactivity",
            "application/x-www-form-urlencoded",
            body,
            &[],
        )
        .await;
        let t = s.fake.wait_for("/respond/forged", 1).await[0].json()["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(t.contains("Not counted"), "{b}: {t}");
        assert_eq!(counts(&s).await, vec![1, 0], "{b}");

        // Commands: the open polls, and a vote by text.
        let t = s.command(&command_form("polls", "U0STUDENT1")).await["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(t.contains("Poll #1") && t.contains("Graphs"), "{b}: {t}");
        let t = s
            .command(&command_form("vote 1 trees & heaps", "U0STUDENT1"))
            .await["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(t.contains("Your vote in poll #1 is"), "{b}: {t}");
        assert_eq!(counts(&s).await, vec![0, 1], "{b}");

        // Closed: a click is refused, the results stay.
        close(&s.store, &c, &ta, &id, now()).await.unwrap();
        let body = click(&mut payload, 0, "1700001030.000001", "late");
        s.post_signed(
            "/slack/interactivity",
            "application/x-www-form-urlencoded",
            body,
            &[],
        )
        .await;
        let t = s.fake.wait_for("/respond/late", 1).await[0].json()["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(t.contains("closed"), "{b}: {t}");
        assert_eq!(counts(&s).await, vec![0, 1], "{b}");
    }
}
