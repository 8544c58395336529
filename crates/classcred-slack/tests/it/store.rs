//! The class store on Slack: `/cred store` answers with the list and a Buy button per item
//! (Block Kit checked against slack_sdk when available), a signed `block_actions` click on a
//! Buy button buys for the member who clicked and answers through the `response_url`, `/cred
//! buy` refuses what the rules refuse, and Instructors get a chat notice per pending purchase.

use crate::http_events::percent_encode;
use crate::server::{command_form, Server};
use crate::{fixture, python, run_python};
use chrono::{TimeZone, Utc};
use classcred_engine::{Event, MemberId, Points, PointsAdjusted};
use classcred_service::store::{save_item, ItemInput};
use classcred_store::testing::TestDb;
use classcred_store::Role;
use serde_json::json;

fn now() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_001_000, 0).unwrap()
}

fn item(name: &str, price: i64, approval: bool) -> ItemInput {
    ItemInput {
        name: name.into(),
        description: String::new(),
        price: Points::from_whole(price),
        stock: Some(3),
        per_student_limit: None,
        available_from: None,
        available_until: None,
        needs_approval: approval,
        enabled: true,
        archived: false,
    }
}

async fn spendable(s: &Server, uid: &str) -> i64 {
    let mut tx = s.store.begin().await.unwrap();
    let b = tx.for_community(s.community()).balances().await.unwrap();
    tx.commit().await.unwrap();
    b.into_iter()
        .find(|b| b.platform_user_id == uid)
        .map_or(0, |b| b.spendable_milli)
}

#[tokio::test]
async fn store_command_buttons_and_block_actions_buy() {
    for db in TestDb::all().await {
        let b = db.backend();
        let s = Server::start(db, now(), true).await;
        let c = s.community().to_owned();
        let admin = s.join("U0ADMIN01", Role::Admin, now()).await;
        s.join("U0INSTR01", Role::Instructor, now()).await;
        s.join("U0STUDENT1", Role::Student, now()).await;
        s.run_jobs().await;
        let mut tx = s.store.begin().await.unwrap();
        classcred_service::ingest(
            &mut tx,
            &c,
            "slack",
            "adj-1",
            &Event::PointsAdjusted(PointsAdjusted {
                adjustment_id: "adj-1".into(),
                by: MemberId::new("U0ADMIN01"),
                member: MemberId::new("U0STUDENT1"),
                amount: Points::from_whole(10),
                reason: "participation".into(),
                occurred_at: now(),
            }),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        s.run_jobs().await;
        save_item(
            &s.store,
            &c,
            &admin,
            None,
            item("Deadline +24h", 4, false),
            now(),
        )
        .await
        .unwrap();
        save_item(
            &s.store,
            &c,
            &admin,
            None,
            item("Office <hour>", 3, true),
            now(),
        )
        .await
        .unwrap();

        // `/cred store`: the list, the balance and a Buy button per item.
        let v = s.command(&command_form("store", "U0STUDENT1")).await;
        assert_eq!(v["response_type"], "ephemeral", "{b}");
        let text = v["text"].as_str().unwrap();
        assert!(
            text.contains("Deadline +24h") && text.contains("3 left"),
            "{b}: {text}"
        );
        assert!(text.contains("Office &lt;hour&gt;"), "{b}: escaped: {text}");
        assert!(text.contains("You have 10 points to spend"), "{b}: {text}");
        let buttons = &v["blocks"][1]["elements"];
        assert_eq!(buttons[0]["action_id"], "store:buy:1", "{b}: {v}");
        assert_eq!(buttons[1]["action_id"], "store:buy:2", "{b}");
        if let Some(py) = python() {
            let out = run_python(
                &py,
                "validate_views.py",
                &json!({"views": [], "blocks": [v["blocks"].clone()]}),
            );
            assert_eq!(out["blocks"], json!([null]), "{b}: {out}");
        }

        // A click on "Buy #1", signed and shaped as Slack sends it.
        let mut payload: serde_json::Value =
            serde_json::from_slice(&fixture("block_actions.json")).unwrap();
        payload["actions"] = json!([{
            "action_id": "store:buy:1", "block_id": "store_buy", "value": "1", "type": "button",
            "text": {"type": "plain_text", "text": "Buy #1 (4 points)", "emoji": true},
            "action_ts": "1700001010.123456"
        }]);
        payload["response_url"] = json!(format!("{}/respond/buy1", s.fake_base));
        let body = format!("payload={}", percent_encode(&payload.to_string()));
        let r = s
            .post_signed(
                "/slack/interactivity",
                "application/x-www-form-urlencoded",
                body.into_bytes(),
                &[],
            )
            .await;
        assert_eq!(r.status(), 200, "{b}");
        assert_eq!(spendable(&s, "U0STUDENT1").await, 6_000, "{b}: bought");
        let calls = s.fake.wait_for("/respond/buy1", 1).await;
        let answer = calls[0].json()["text"].as_str().unwrap().to_string();
        assert!(
            answer.contains("You bought *Deadline +24h*"),
            "{b}: {answer}"
        );
        assert!(answer.contains("6 points left"), "{b}: {answer}");

        // The item needing approval: pending, and the Instructor and Admin get a notice.
        let v = s.command(&command_form("buy 2", "U0STUDENT1")).await;
        let t = v["text"].as_str().unwrap();
        assert!(t.contains("waits for an instructor"), "{b}: {t}");
        assert_eq!(spendable(&s, "U0STUDENT1").await, 3_000, "{b}");
        s.run_jobs().await;
        let dms = s.fake.calls_to("/api/chat.postMessage");
        let mut told: Vec<String> = dms
            .iter()
            .map(|c| c.json())
            .filter(|j| {
                j["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("waits for your approval"))
            })
            .map(|j| j["channel"].as_str().unwrap_or_default().to_string())
            .collect();
        told.sort();
        assert_eq!(told, ["U0ADMIN01", "U0INSTR01"], "{b}: {dms:?}");
        let waiting = told.len();
        assert_eq!(waiting, 2, "{b}: one notice per Instructor/Admin: {dms:?}");

        // Refusals say why; staff cannot buy; a forged action id buys nothing.
        let t = s.command(&command_form("buy 1", "U0STUDENT1")).await["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            t.contains("it costs 4 points and you have 3 to spend"),
            "{b}: {t}"
        );
        let t = s.command(&command_form("buy 1", "U0INSTR01")).await["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(t.contains("only students buy"), "{b}: {t}");
        let t = s.command(&command_form("buy 99", "U0STUDENT1")).await["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(t.contains("no such item"), "{b}: {t}");
        payload["actions"][0]["action_id"] = json!("store:buy:1;drop");
        payload["response_url"] = json!(format!("{}/respond/forged", s.fake_base));
        let body = format!("payload={}", percent_encode(&payload.to_string()));
        let r = s
            .post_signed(
                "/slack/interactivity",
                "application/x-www-form-urlencoded",
                body.into_bytes(),
                &[],
            )
            .await;
        assert_eq!(r.status(), 200, "{b}");
        assert!(s.fake.calls_to("/respond/forged").is_empty(), "{b}");
        assert_eq!(spendable(&s, "U0STUDENT1").await, 3_000, "{b}");
    }
}
