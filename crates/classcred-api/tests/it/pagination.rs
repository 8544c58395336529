//! Pagination: walking the pages gives every item once, in order; bad limits, cursors and
//! periods are JSON 400s.

use classcred_store::testing::TestDb;

use crate::support::{item_field, world, World};

/// Follow `next_cursor` from the first page; returns every page's `field` values.
async fn walk(w: &World, path: &str, limit: u32, field: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let body = w.json(&url, &w.a.token).await;
        pages.push(item_field(&body, field));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages.len() < 100, "pagination does not end");
    }
    pages
}

#[tokio::test]
async fn pages_cover_every_item_once_in_order() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        for (path, field) in [
            ("/api/v1/ledger", "id"),
            ("/api/v1/members", "id"),
            ("/api/v1/balances", "member_id"),
            ("/api/v1/leaderboard?period=course", "member_id"),
        ] {
            let all = item_field(&w.json(path, &w.a.token).await, field);
            assert!(all.len() >= 6, "{path}: {}", all.len());
            for limit in [1, 4] {
                let pages = walk(&w, path, limit, field).await;
                assert!(pages.iter().all(|p| p.len() <= limit as usize));
                assert!(pages
                    .iter()
                    .rev()
                    .skip(1)
                    .all(|p| p.len() == limit as usize));
                let joined: Vec<String> = pages.concat();
                assert_eq!(joined, all, "{path} limit {limit} ({})", db.backend());
            }
        }
        // The ledger is newest first.
        let ledger = w.json("/api/v1/ledger", &w.a.token).await;
        let created: Vec<&str> = ledger["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["created_at"].as_str().unwrap())
            .collect();
        assert!(created.windows(2).all(|p| p[0] >= p[1]));
        assert_eq!(created.len(), 18, "six students, three days, one fire each");
    }
}

#[tokio::test]
async fn bad_queries_are_json_400s() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        for path in [
            "/api/v1/ledger?limit=0",
            "/api/v1/ledger?limit=501",
            "/api/v1/ledger?limit=-1",
            "/api/v1/members?limit=many",
            "/api/v1/ledger?cursor=not-a-cursor",
            "/api/v1/feed?cursor=%FF",
            "/api/v1/members?cursor=U123",
            "/api/v1/balances?limit=1&limit=2",
            "/api/v1/leaderboard?period=year",
            "/api/v1/leaderboard?period=course&cursor=0190b2c4-5d6e-7f80-9a0b-1c2d3e4f5a6b",
        ] {
            let r = w.get(path, Some(&w.a.token)).await;
            assert_eq!(r.status(), 400, "{path}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["code"], "bad_request", "{path}");
        }
        for ok in [
            "/api/v1/ledger?limit=1",
            "/api/v1/ledger?limit=500",
            "/api/v1/leaderboard?period=week",
            "/api/v1/leaderboard?period=month",
        ] {
            assert_eq!(w.get(ok, Some(&w.a.token)).await.status(), 200, "{ok}");
        }
    }
}
