//! Authentication and tenancy: 401 (with `WWW-Authenticate: Bearer`) without a valid token;
//! a token sees its own community only, and ids of another community answer 404.

use std::collections::BTreeSet;

use classcred_api::route_table;
use classcred_api::routes::OPENAPI_PATH;
use classcred_api::token::{revoke_token, ApiToken};
use classcred_store::testing::TestDb;
use secrecy::ExposeSecret;

use crate::support::{item_field, world};

async fn assert_unauthorized(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 401, "{what}");
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized", "{what}");
    assert!(body["error"].is_string(), "{what}");
}

#[tokio::test]
async fn every_data_route_refuses_missing_bad_and_revoked_tokens() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let member = &w.a.members[1];
        let paths: Vec<String> = route_table()
            .iter()
            .filter(|r| r.path != OPENAPI_PATH)
            .map(|r| r.path.replace("{member_id}", member.as_str()))
            .collect();
        assert_eq!(paths.len(), 14);
        let unknown = ApiToken::generate();
        let unknown = unknown.secret().expose_secret();
        for path in &paths {
            assert_unauthorized(w.get(path, None).await, path).await;
            assert_unauthorized(w.get(path, Some(unknown)).await, path).await;
            assert_unauthorized(w.get(path, Some("ccapi_short")).await, path).await;
            let basic = w
                .client
                .get(format!("{}{path}", w.base))
                .header("authorization", format!("Basic {}", w.a.token))
                .send()
                .await
                .unwrap();
            assert_unauthorized(basic, path).await;
            let ok = w.get(path, Some(&w.a.token)).await;
            assert_eq!(ok.status(), 200, "{path} with the token");
        }
        // The document is public.
        assert_eq!(w.get(OPENAPI_PATH, None).await.status(), 200);

        // Revoked: refused from the next request on.
        let mut tx = w.store.begin().await.unwrap();
        let tokens = tx.for_community(&w.a.id).list_api_tokens().await.unwrap();
        tx.commit().await.unwrap();
        assert!(tokens[0].last_used_at.is_some(), "use is recorded");
        assert!(
            revoke_token(&w.store, &w.a.id, &tokens[0].id, "operator:test")
                .await
                .unwrap()
        );
        for path in &paths {
            assert_unauthorized(w.get(path, Some(&w.a.token)).await, path).await;
        }
        // The other community's token still works.
        assert_eq!(
            w.get("/api/v1/members", Some(&w.b.token)).await.status(),
            200
        );
    }
}

#[tokio::test]
async fn a_token_sees_only_its_community_and_other_ids_are_404() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let ids = |c: &crate::support::Class| -> BTreeSet<String> {
            c.members.iter().map(|m| m.to_string()).collect()
        };
        let (a_ids, b_ids) = (ids(&w.a), ids(&w.b));

        let members = w.json("/api/v1/members", &w.a.token).await;
        assert_eq!(
            item_field(&members, "id")
                .into_iter()
                .collect::<BTreeSet<_>>(),
            a_ids
        );
        let balances = w.json("/api/v1/balances", &w.a.token).await;
        assert_eq!(
            item_field(&balances, "member_id")
                .into_iter()
                .collect::<BTreeSet<_>>(),
            a_ids
        );
        let ledger = w.json("/api/v1/ledger", &w.a.token).await;
        let ledger_members = item_field(&ledger, "member_id");
        assert!(!ledger_members.is_empty());
        assert!(ledger_members.iter().all(|m| a_ids.contains(m)));
        let board = w
            .json("/api/v1/leaderboard?period=course", &w.a.token)
            .await;
        let ranked = item_field(&board, "member_id");
        assert_eq!(ranked.len(), 6, "the six students of A");
        assert!(ranked.iter().all(|m| a_ids.contains(m)));
        let network = w.json("/api/v1/network", &w.a.token).await;
        let edges = network["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 6, "a ring of six students");
        for e in edges {
            assert!(a_ids.contains(e["from"].as_str().unwrap()));
            assert!(a_ids.contains(e["to"].as_str().unwrap()));
            assert_eq!(e["fires"], 3);
        }
        let feed = w.json("/api/v1/feed", &w.a.token).await;
        for item in feed["items"].as_array().unwrap() {
            if let Some(m) = item["member_id"].as_str() {
                assert!(a_ids.contains(m));
            }
        }

        // A member of A, by id: found with A's token, 404 with B's; B's member 404 with A's.
        let a_student = w.a.members[1].to_string();
        let detail = w
            .json(&format!("/api/v1/members/{a_student}"), &w.a.token)
            .await;
        assert_eq!(detail["id"], a_student.as_str());
        assert_eq!(detail["role"], "student");
        assert_eq!(detail["earned_milli"], 3000, "three fires received");
        assert_eq!(detail["name"], "Person TAS0");
        let audited: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT actor, subject FROM audit_entry WHERE action = 'member.read' ORDER BY seq",
        )
        .fetch_all(w.store.pool())
        .await
        .unwrap();
        assert_eq!(audited.len(), 1, "one read, one audit entry");
        assert!(audited[0].0.starts_with("api_token:"));
        assert_eq!(
            audited[0].1.as_deref(),
            Some(format!("member:{a_student}").as_str())
        );
        for (path, token) in [
            (format!("/api/v1/members/{a_student}"), &w.b.token),
            (format!("/api/v1/members/{}", w.b.members[1]), &w.a.token),
            (
                "/api/v1/members/0190b2c4-5d6e-7f80-9a0b-1c2d3e4f5a6b".to_string(),
                &w.a.token,
            ),
            ("/api/v1/members/not-an-id".to_string(), &w.a.token),
        ] {
            let r = w.get(&path, Some(token)).await;
            assert_eq!(r.status(), 404, "{path}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["code"], "not_found");
        }
        assert!(b_ids.is_disjoint(&a_ids));

        let settings = w.json("/api/v1/settings", &w.a.token).await;
        assert_eq!(settings["timezone"], "UTC");
        assert_eq!(settings["daily_quota"], 5);

        // Announcements: each class sees its own, text opened.
        let mut tx = w.store.begin().await.unwrap();
        let posted = tx
            .for_community(&w.a.id)
            .insert_announcement("C1", "Quiz on Friday", 1_772_625_600_000, &w.a.members[0])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let list = w.json("/api/v1/announcements", &w.a.token).await;
        assert_eq!(list["items"][0]["id"], posted.id.as_str());
        assert_eq!(list["items"][0]["text"], "Quiz on Friday");
        assert_eq!(list["items"][0]["state"], "scheduled");
        assert_eq!(list["items"][0]["post_at"], "2026-03-04T12:00:00.000Z");
        let other = w.json("/api/v1/announcements", &w.b.token).await;
        assert_eq!(other["items"].as_array().unwrap().len(), 0);
    }
}
