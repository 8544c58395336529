//! The Application Service routes against the store (SQLite, and PostgreSQL when configured):
//! authentication before anything is read or stored, one transaction per homeserver
//! transaction, idempotency per txnId and event id, and what each event shape is stored as.
//! The homeserver is unreachable here (a closed loopback port): everything these tests send
//! must be understood from the store alone, and a needed look-up fails the whole transaction.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers unwrap: a failed set-up fails the test"
)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use classcred_matrix::{routes, MatrixConfig, MatrixState, Token};
use classcred_server::Metrics;
use classcred_store::testing::TestDb;
use classcred_store::{Role, Store};
use serde_json::{json, Value};
use tower::ServiceExt;

const ROOM: &str = "!class:hs.test";
const BOT: &str = "@classcred:hs.test";

fn config(hs_token: &Token) -> MatrixConfig {
    MatrixConfig {
        homeserver_url: "http://127.0.0.1:9".into(),
        server_name: "hs.test".into(),
        as_token: Token::generate(),
        hs_token: hs_token.clone(),
        sender_localpart: "classcred".into(),
    }
}

fn ev(kind: &str, id: &str, sender: &str, ts: i64, content: Value) -> Value {
    json!({"type": kind, "event_id": id, "room_id": ROOM, "sender": sender,
           "origin_server_ts": ts, "content": content})
}

fn member(id: &str, sender: &str, user: &str, membership: &str, name: Option<&str>) -> Value {
    let mut e = ev(
        "m.room.member",
        id,
        sender,
        1_000,
        json!({"membership": membership, "displayname": name}),
    );
    e["state_key"] = json!(user);
    e
}

fn msg(id: &str, sender: &str, body: &str, mentions: &[&str]) -> Value {
    ev(
        "m.room.message",
        id,
        sender,
        2_000,
        json!({"msgtype": "m.text", "body": body, "m.mentions": {"user_ids": mentions}}),
    )
}

fn react(id: &str, sender: &str, target: &str, key: &str) -> Value {
    ev(
        "m.reaction",
        id,
        sender,
        3_000,
        json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}),
    )
}

fn redact(id: &str, sender: &str, target: &str) -> Value {
    let mut e = ev(
        "m.room.redaction",
        id,
        sender,
        4_000,
        json!({"redacts": target}),
    );
    e["redacts"] = json!(target);
    e
}

struct Harness {
    store: Store,
    app: axum::Router,
    token: Token,
}

impl Harness {
    async fn new(db: &TestDb) -> Self {
        let store = db.store().await;
        let token = Token::generate();
        let state =
            MatrixState::new(store.clone(), Arc::new(Metrics::new()), config(&token)).unwrap();
        Self {
            store,
            app: routes(state),
            token,
        }
    }

    async fn put(&self, path: &str, auth: Option<&str>, body: Vec<u8>) -> (StatusCode, Value) {
        let mut req = Request::put(path).header("content-type", "application/json");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn txn(&self, id: &str, events: Vec<Value>) -> StatusCode {
        let (status, body) = self
            .put(
                &format!("/_matrix/app/v1/transactions/{id}"),
                Some(&format!("Bearer {}", self.token.expose())),
                serde_json::to_vec(&json!({ "events": events })).unwrap(),
            )
            .await;
        if status == StatusCode::OK {
            assert_eq!(body, json!({}));
        }
        status
    }

    /// The stored event type of a delivery ("" when not stored).
    async fn stored(&self, event_id: &str) -> String {
        let mut tx = self.store.begin().await.unwrap();
        let Some(c) = tx.community_by_team("matrix", ROOM).await.unwrap() else {
            return String::new();
        };
        let row = tx
            .for_community(&c.id)
            .inbox_event_by_event_id("matrix", event_id)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        row.map(|r| r.event_type).unwrap_or_default()
    }

    async fn payload(&self, event_id: &str) -> Value {
        let mut tx = self.store.begin().await.unwrap();
        let c = tx.community_by_team("matrix", ROOM).await.unwrap().unwrap();
        let row = tx
            .for_community(&c.id)
            .inbox_event_by_event_id("matrix", event_id)
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        serde_json::from_slice(&row.payload).unwrap()
    }

    async fn communities(&self) -> usize {
        let mut tx = self.store.begin().await.unwrap();
        let n = tx.list_communities().await.unwrap().len();
        tx.commit().await.unwrap();
        n
    }

    /// Kinds of every queued job (claimed to read them).
    async fn job_kinds(&self) -> Vec<String> {
        let mut kinds = Vec::new();
        while let Some(j) = self.store.claim_job("test", 60_000).await.unwrap() {
            if j.kind == "matrix.command" {
                // The command text is sealed in the job, bound to its event id.
                let args = j.payload["args"].as_str().unwrap();
                assert!(!j.payload.to_string().contains("!cred") && args != "me");
                let event = j.payload["event_id"].as_str().unwrap();
                assert_eq!(
                    self.store
                        .open_job_text("matrix.command", event, args)
                        .as_deref(),
                    Some("me")
                );
                assert_eq!(
                    self.store.open_job_text("matrix.command", "$other", args),
                    None
                );
            }
            kinds.push(j.kind);
        }
        kinds.sort();
        kinds
    }
}

#[tokio::test]
async fn the_homeserver_is_authenticated_before_anything_is_read_or_stored() {
    for db in TestDb::all().await {
        let h = Harness::new(&db).await;
        let invite = serde_json::to_vec(&json!({"events": [
            member("$i", "@alice:hs.test", BOT, "invite", None)
        ]}))
        .unwrap();
        let path = "/_matrix/app/v1/transactions/1";
        let (s, b) = h.put(path, None, invite.clone()).await;
        assert_eq!(
            (s, b["errcode"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("M_UNAUTHORIZED"))
        );
        let wrong = format!("Bearer {}", Token::generate().expose());
        let (s, b) = h.put(path, Some(&wrong), invite.clone()).await;
        assert_eq!(
            (s, b["errcode"].as_str()),
            (StatusCode::FORBIDDEN, Some("M_FORBIDDEN"))
        );
        let (s, _) = h.put(path, Some("Basic abc"), invite.clone()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = h.put("/transactions/1", Some(&wrong), invite.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = h
            .put(
                &format!(
                    "/transactions/1?access_token={}",
                    Token::generate().expose()
                ),
                None,
                invite.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(h.communities().await, 0, "{}: nothing stored", db.backend());
        let (s, _) = h
            .put(
                path,
                Some(&format!("Bearer {}", h.token.expose())),
                b"{not json".to_vec(),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        // The user and room queries: nothing exists; unauthenticated ones are refused.
        for q in [
            "/_matrix/app/v1/users/%40classcred_x%3Ahs.test",
            "/_matrix/app/v1/rooms/%23a%3Ahs.test",
        ] {
            let r = h
                .app
                .clone()
                .oneshot(Request::get(q).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            let r = h
                .app
                .clone()
                .oneshot(
                    Request::get(q)
                        .header("authorization", format!("Bearer {}", h.token.expose()))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
        }
        // The legacy path and the query-string token (older homeservers) work too.
        let (s, _) = h
            .put(
                &format!("/transactions/1?access_token={}", h.token.expose()),
                None,
                invite,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h.communities().await, 1);
        // A body over the limit is refused from its Content-Length, before it is read.
        let r = h
            .app
            .clone()
            .oneshot(
                Request::put(path)
                    .header("authorization", format!("Bearer {}", h.token.expose()))
                    .header(
                        "content-length",
                        (classcred_matrix::http::MAX_TXN_BYTES + 1).to_string(),
                    )
                    .body(Body::from("{}"))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}

#[tokio::test]
async fn each_event_shape_is_stored_once_in_one_transaction() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let h = Harness::new(&db).await;
        let first = vec![
            member("$inv", "@alice:hs.test", BOT, "invite", None),
            member(
                "$bob",
                "@bob:hs.test",
                "@bob:hs.test",
                "join",
                Some("Bob B"),
            ),
            member(
                "$carol",
                "@alice:hs.test",
                "@carol:hs.test",
                "invite",
                Some("Carol"),
            ),
            msg(
                "$m1",
                "@alice:hs.test",
                "well done 🔥 :fire:",
                &["@bob:hs.test"],
            ),
            msg("$quiet", "@bob:hs.test", "hello", &[]),
            msg("$cmd", "@bob:hs.test", "!cred me", &[]),
            msg("$own", BOT, "🔥", &["@bob:hs.test"]),
        ];
        assert_eq!(h.txn("t1", first.clone()).await, StatusCode::OK);
        // Synapse's retry of the same transaction, and the same events in another one.
        assert_eq!(h.txn("t1", first.clone()).await, StatusCode::OK);
        assert_eq!(h.txn("t1b", first).await, StatusCode::OK);
        assert_eq!(h.communities().await, 1, "{backend}");
        let mut tx = h.store.begin().await.unwrap();
        let c = tx.community_by_team("matrix", ROOM).await.unwrap().unwrap();
        let members = tx.for_community(&c.id).list_members().await.unwrap();
        tx.commit().await.unwrap();
        let role = |u: &str| {
            members
                .iter()
                .find(|m| m.platform_user_id == u)
                .map(|m| m.role)
        };
        assert_eq!(
            role("@alice:hs.test"),
            Some(Role::Admin),
            "{backend}: the inviter"
        );
        assert_eq!(role("@bob:hs.test"), Some(Role::Student));
        assert_eq!(role("@carol:hs.test"), Some(Role::Student));
        assert!(role(BOT).is_some());
        let bob = members
            .iter()
            .find(|m| m.platform_user_id == "@bob:hs.test")
            .unwrap();
        assert_eq!(bob.profile.display_name.as_deref(), Some("Bob B"));
        assert_eq!(h.stored("$m1").await, "message_posted");
        let p = h.payload("$m1").await;
        assert_eq!(
            (p["fire_count"].as_u64(), p["channel"].as_str()),
            (Some(2), Some(ROOM))
        );
        assert_eq!(
            h.stored("$quiet").await,
            "",
            "{backend}: no fire, no mention"
        );
        assert_eq!(
            h.stored("$cmd").await,
            "",
            "{backend}: a command is not an event"
        );
        assert_eq!(
            h.stored("$own").await,
            "",
            "{backend}: the bot's own message"
        );
        let jobs = h.job_kinds().await;
        assert_eq!(
            jobs.iter().filter(|k| *k == "matrix.command").count(),
            1,
            "{backend}: one answer however often delivered: {jobs:?}"
        );
        assert_eq!(
            jobs.iter().filter(|k| *k == "matrix.join").count(),
            1,
            "{jobs:?}"
        );

        // Reactions find their message's author in the inbox; redactions find the reaction.
        let second = vec![
            react("$r1", "@bob:hs.test", "$m1", "🔥"),
            react("$r2", "@carol:hs.test", "$m1", "👍"),
            redact("$d1", "@bob:hs.test", "$r1"),
            react("$r3", "@carol:hs.test", "$m1", ":fire:"),
            ev(
                "m.room.message",
                "$e1",
                "@bob:hs.test",
                5_000,
                json!({"msgtype": "m.text", "body": "* calm",
                "m.new_content": {"msgtype": "m.text", "body": "calm"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$quiet"}}),
            ),
            ev(
                "m.room.message",
                "$e2",
                "@alice:hs.test",
                5_000,
                json!({"msgtype": "m.text", "body": "* done",
                "m.new_content": {"msgtype": "m.text", "body": "done"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$m1"}}),
            ),
            redact("$d2", "@alice:hs.test", "$m1"),
        ];
        assert_eq!(h.txn("t2", second).await, StatusCode::OK);
        assert_eq!(h.stored("$r1").await, "reaction_added");
        let r1 = h.payload("$r1").await;
        assert_eq!(
            (r1["message_author"].as_str(), r1["reactor"].as_str()),
            (Some("@alice:hs.test"), Some("@bob:hs.test"))
        );
        assert_eq!(h.stored("$r2").await, "", "{backend}: not fire");
        assert_eq!(h.stored("$d1").await, "reaction_removed");
        let d1 = h.payload("$d1").await;
        assert_eq!(d1["platform_message_id"].as_str(), Some("$m1"));
        assert_eq!(h.stored("$r3").await, "reaction_added");
        assert_eq!(
            h.stored("$e1").await,
            "",
            "{backend}: a quiet edit of a quiet message"
        );
        assert_eq!(
            h.stored("$e2").await,
            "message_edited",
            "{backend}: fire taken back"
        );
        assert_eq!(
            h.payload("$e2").await["platform_message_id"].as_str(),
            Some("$m1")
        );
        assert_eq!(h.stored("$d2").await, "message_deleted");

        // A pruned reaction (redacted before its delivery succeeded) gives nothing.
        let mut pruned = react("$r4", "@bob:hs.test", "$m1", "🔥");
        pruned["content"] = json!({});
        pruned["unsigned"] = json!({"redacted_because": redact("$d4", "@bob:hs.test", "$r4")});
        assert_eq!(
            h.txn("t3", vec![pruned, redact("$d4", "@bob:hs.test", "$r4")])
                .await,
            StatusCode::OK
        );
        assert_eq!(h.stored("$r4").await, "");
        assert_eq!(
            h.stored("$d4").await,
            "message_deleted",
            "{backend}: not a stored reaction"
        );

        // A reaction whose message ClassCred does not know needs the homeserver, which cannot
        // be reached: the whole transaction fails (the homeserver retries it), nothing of it
        // is stored.
        let third = vec![
            msg("$m9", "@bob:hs.test", "🔥", &["@carol:hs.test"]),
            react("$r9", "@carol:hs.test", "$unknown", "🔥"),
        ];
        assert_eq!(h.txn("t4", third).await, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(h.stored("$m9").await, "", "{backend}: all or nothing");

        // The bot kicked: the community is switched off, later events are not stored.
        let mut kick = member("$kick", "@alice:hs.test", BOT, "leave", None);
        kick["origin_server_ts"] = json!(6_000);
        assert_eq!(
            h.txn(
                "t5",
                vec![kick, msg("$m10", "@bob:hs.test", "🔥", &["@carol:hs.test"])]
            )
            .await,
            StatusCode::OK
        );
        assert_eq!(h.stored("$m10").await, "");
        let mut tx = h.store.begin().await.unwrap();
        let c = tx.community_by_team("matrix", ROOM).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        assert_ne!(c.state, classcred_store::CommunityState::Active);
        // Invited again: back on, the Admin unchanged.
        assert_eq!(
            h.txn(
                "t6",
                vec![member("$inv2", "@bob:hs.test", BOT, "invite", None)]
            )
            .await,
            StatusCode::OK
        );
        let mut tx = h.store.begin().await.unwrap();
        let c = tx.community_by_team("matrix", ROOM).await.unwrap().unwrap();
        let members = tx.for_community(&c.id).list_members().await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(c.state, classcred_store::CommunityState::Active);
        let role = |u: &str| {
            members
                .iter()
                .find(|m| m.platform_user_id == u)
                .map(|m| m.role)
        };
        assert_eq!(
            (role("@alice:hs.test"), role("@bob:hs.test")),
            (Some(Role::Admin), Some(Role::Student))
        );
    }
}
