//! Questions over Slack, driven with signed Slack-shaped fixtures: a question (no fire, no
//! mention) and a thread reply are stored, the asker's notice carries an "Accept answer"
//! button, a click by someone else is refused, the asker's click rewards the answerer once
//! (Slack's retry of the click stores nothing new).

use crate::fixture;
use crate::http_events::percent_encode;
use crate::server::Server;
use chrono::{TimeZone, Utc};
use classcred_store::testing::TestDb;
use classcred_store::{MemberKind, Role};
use serde_json::{json, Value};

fn now() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_001_000, 0).unwrap()
}

async fn click(s: &Server, payload: &Value) -> reqwest::Response {
    let body = format!("payload={}", percent_encode(&payload.to_string()));
    s.post_signed(
        "/slack/interactivity",
        "application/x-www-form-urlencoded",
        body.into_bytes(),
        &[],
    )
    .await
}

#[tokio::test]
async fn a_question_its_answer_and_the_accept_button() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let s = Server::start(db, now(), true).await;
        let c = s.community().to_owned();
        let mut tx = s.store.begin().await.unwrap();
        for u in ["U0STUDENT1", "U0STUDENT2", "U0STUDENT3"] {
            classcred_service::join_member(
                &mut tx,
                &c,
                "slack",
                &classcred_store::NewMember {
                    platform_user_id: u.into(),
                    role: Role::Student,
                    kind: MemberKind::Human,
                    profile: Default::default(),
                },
                now(),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        s.run_jobs().await;

        assert_eq!(
            s.event(fixture("message_question.json")).await.status(),
            200
        );
        assert_eq!(s.event(fixture("message_answer.json")).await.status(), 200);
        s.run_jobs().await;
        assert_eq!(s.count("question").await, 1, "{backend}");
        assert_eq!(s.count("answer").await, 1, "{backend}");

        // The asker's private notice has the button, naming the question and the answer.
        let calls = s.fake.wait_for("/api/chat.postEphemeral", 1).await;
        let notice = calls
            .iter()
            .map(|c| c.json())
            .find(|b| b["user"] == "U0STUDENT1")
            .expect("a notice to the asker");
        let button = &notice["blocks"][1]["elements"][0];
        assert_eq!(button["action_id"], "classcred_accept_answer", "{backend}");
        let value: Value = serde_json::from_str(button["value"].as_str().unwrap()).unwrap();
        assert_eq!(
            value,
            json!({"q": "C0LAN2Q65:1700000100.000100", "a": "C0LAN2Q65:1700000160.000200"})
        );

        // The fixture click, by a classmate: stored, refused by the engine, nothing earned.
        let mut payload: Value =
            serde_json::from_slice(&fixture("block_actions_accept_answer.json")).unwrap();
        payload["user"]["id"] = json!("U0STUDENT3");
        payload["response_url"] = json!(format!("{}/respond/q3", s.fake_base));
        assert_eq!(click(&s, &payload).await.status(), 200);
        s.run_jobs().await;
        assert_eq!(
            s.balances(&c).await.get("U0STUDENT2").copied().unwrap_or(0),
            0,
            "{backend}"
        );

        // The asker's click: the answerer earns the default reward, once.
        payload["user"]["id"] = json!("U0STUDENT1");
        payload["response_url"] = json!(format!("{}/respond/q1", s.fake_base));
        assert_eq!(click(&s, &payload).await.status(), 200);
        let inbox = s.count("inbox").await;
        assert_eq!(click(&s, &payload).await.status(), 200, "Slack's retry");
        assert_eq!(
            s.count("inbox").await,
            inbox,
            "{backend}: the retry stores nothing"
        );
        s.run_jobs().await;
        assert_eq!(
            s.balances(&c).await.get("U0STUDENT2").copied(),
            Some(1000),
            "{backend}"
        );
        let replies = s.fake.wait_for("/respond/q1", 1).await;
        assert_eq!(replies[0].json()["response_type"], "ephemeral");

        // A forged value is a 400, not a 500.
        payload["actions"][0]["value"] = json!("not json");
        assert_eq!(click(&s, &payload).await.status(), 400, "{backend}");
    }
}
