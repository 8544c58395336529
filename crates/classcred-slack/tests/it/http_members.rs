//! Members over HTTP: ids nobody has seen wait for a lookup, profiles never go back in time.

use crate::server::{Server, TEAM};
use chrono::{TimeZone, Utc};
use classcred_store::testing::TestDb;
use serde_json::json;

/// One message mentioning 2,000 ids nobody has seen: no member is created before Slack was
/// asked, at most `MAX_MENTIONS` ids are looked up, and ids Slack does not know never become
/// members (and receive nothing).
#[tokio::test]
async fn a_message_with_thousands_of_unknown_mentions_creates_no_members_unresolved() {
    use classcred_slack::mentions::MAX_MENTIONS;
    for db in TestDb::all().await {
        let backend = db.backend();
        let s = Server::start(db, Utc.timestamp_opt(1_700_001_000, 0).unwrap(), true).await;
        let c = s.community().to_owned();
        let mentions: String = (0..2000).map(|i| format!("<@UX{i:07}> ")).collect();
        for i in 0..2000 {
            s.fake.user_info(
                &format!("UX{i:07}"),
                json!({"ok": false, "error": "user_not_found"}),
            );
        }
        let body = json!({
            "token": "x", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
            "event_id": "EvMANY01", "event_time": 1_700_001_000,
            "event": {"type": "message", "channel": "C0CLASS001", "user": "U0AUTHOR1",
                      "text": format!("{mentions} thanks :fire:"), "ts": "1700001000.000100",
                      "event_ts": "1700001000.000100", "channel_type": "channel"}
        });
        let members_before = s.count("member").await;
        assert_eq!(s.event(body.to_string().into_bytes()).await.status(), 200);
        // Processing alone (no lookup yet) creates nobody and processes nothing.
        assert_eq!(classcred_service::drain(&s.store, &c).await.unwrap(), 0);
        assert_eq!(s.count("member").await, members_before, "{backend}");
        s.run_jobs().await;
        let lookups = s.fake.calls_to("/api/users.info").len();
        assert_eq!(
            lookups,
            MAX_MENTIONS + 1,
            "{backend}: the capped mentions and the author"
        );
        // Only the author (a person of the workspace) became a member.
        assert_eq!(s.count("member").await, members_before + 1, "{backend}");
        let b = s.balances(&c).await;
        assert!(b.values().all(|v| *v == 0), "{backend}: {b:?}");
        let mut tx = s.store.begin().await.unwrap();
        assert_eq!(tx.for_community(&c).pending_inbox_count().await.unwrap(), 0);
        tx.commit().await.unwrap();
    }
}

/// Finding 12: profile A, then B, then A again (Slack's redelivery of A, and A under a new
/// delivery id arriving late, and an old team_join) leave B; users of another workspace are
/// never added from user_change.
#[tokio::test]
async fn an_older_or_redelivered_profile_never_overwrites_a_newer_one() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let s = Server::start(db, Utc.timestamp_opt(1_700_001_000, 0).unwrap(), true).await;
        let c = s.community().to_owned();
        let change = |event_id: &str, kind: &str, name: &str, updated: i64, team: &str| {
            json!({
                "token": "x", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
                "event_id": event_id, "event_time": updated,
                "event": {"type": kind, "user": {"id": "U0PROFILE1", "team_id": team,
                    "name": name.to_lowercase(), "real_name": name, "deleted": false, "is_bot": false,
                    "updated": updated, "profile": {"display_name": name, "email": format!("{}@uni.example", name.to_lowercase())}}}
            })
            .to_string()
            .into_bytes()
        };
        let name = |s: &Server| {
            let store = s.store.clone();
            let c = c.clone();
            async move {
                let mut tx = store.begin().await.unwrap();
                let m = tx
                    .for_community(&c)
                    .member_by_platform_id("U0PROFILE1")
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                m.and_then(|m| m.profile.name)
            }
        };
        assert_eq!(
            s.event(change("EvA", "user_change", "Alpha", 100, TEAM))
                .await
                .status(),
            200
        );
        assert_eq!(name(&s).await.as_deref(), Some("Alpha"));
        assert_eq!(
            s.event(change("EvB", "user_change", "Bravo", 200, TEAM))
                .await
                .status(),
            200
        );
        assert_eq!(name(&s).await.as_deref(), Some("Bravo"));
        // A again: Slack's redelivery, the same profile under a new delivery id, an old team_join.
        s.event(change("EvA", "user_change", "Alpha", 100, TEAM))
            .await;
        s.event(change("EvA2", "user_change", "Alpha", 100, TEAM))
            .await;
        s.event(change("EvJ", "team_join", "Alpha", 50, TEAM)).await;
        assert_eq!(name(&s).await.as_deref(), Some("Bravo"), "{backend}");
        // A newer change still applies.
        s.event(change("EvC", "user_change", "Charlie", 300, TEAM))
            .await;
        assert_eq!(name(&s).await.as_deref(), Some("Charlie"), "{backend}");
        // Someone of another workspace is not added.
        let mut other = change("EvX", "user_change", "Xavier", 400, "T0OTHERWS");
        let v: serde_json::Value = serde_json::from_slice(&other).unwrap();
        let mut v = v;
        v["event"]["user"]["id"] = json!("U0FOREIGN1");
        other = v.to_string().into_bytes();
        assert_eq!(s.event(other).await.status(), 200);
        assert_eq!(s.count("member").await, 1, "{backend}");
        s.run_jobs().await;
        let report = classcred_service::replay(&s.store, &c, |_, _| {})
            .await
            .unwrap();
        assert!(report.matches(), "{backend}: {:?}", report.differences);
    }
}

/// An id Slack cannot answer for yet (rate limited) is not guessed: the message waits, no
/// member is created, and the lookup is retried later, after which the fire counts.
#[tokio::test]
async fn an_unresolvable_id_waits_and_is_retried_not_guessed() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let s = Server::start(db, Utc.timestamp_opt(1_700_001_000, 0).unwrap(), true).await;
        let c = s.community().to_owned();
        let envelope = |id: &str, event: serde_json::Value| {
            json!({"token": "x", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
                   "event_id": id, "event_time": 1_700_001_000, "event": event})
            .to_string()
            .into_bytes()
        };
        s.event(envelope("EvJ1", json!({"type": "team_join", "user": {"id": "U0AUTHOR1", "team_id": TEAM, "is_bot": false, "deleted": false, "profile": {}}})))
            .await;
        s.fake.script_raw(
            "/api/users.info",
            vec![(
                429,
                Some("120"),
                r#"{"ok":false,"error":"ratelimited"}"#.to_owned(),
            )],
        );
        s.event(envelope("EvM1", json!({"type": "message", "channel": "C0CLASS001", "user": "U0AUTHOR1",
            "text": "<@U0LATER01> thanks :fire:", "ts": "1700001000.000100", "channel_type": "channel"})))
            .await;
        s.run_jobs().await;
        assert_eq!(s.fake.calls_to("/api/users.info").len(), 1, "{backend}");
        let mut tx = s.store.begin().await.unwrap();
        assert!(tx
            .for_community(&c)
            .member_by_platform_id("U0LATER01")
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            tx.for_community(&c).pending_inbox_count().await.unwrap(),
            1,
            "{backend}: the message waits"
        );
        tx.commit().await.unwrap();
        // Later (past the job's backoff) Slack answers: the fire counts.
        s.clock.advance(chrono::Duration::minutes(10));
        s.run_jobs().await;
        assert_eq!(
            s.balances(&c).await.get("U0LATER01"),
            Some(&1000),
            "{backend}"
        );
        let report = classcred_service::replay(&s.store, &c, |_, _| {})
            .await
            .unwrap();
        assert!(report.matches(), "{backend}: {:?}", report.differences);
    }
}
