//! Query plans of the statements processing runs for every event (issue 13: the cost of an
//! event must not grow with the backlog or the course's history). Each statement must be an
//! index search, never a scan of a table that grows, on both backends: SQLite's `EXPLAIN QUERY
//! PLAN` (without statistics, as a live database has), PostgreSQL's `EXPLAIN` on an analysed
//! table big enough for the planner to prefer an index. Dropping an index these statements need
//! fails this test.

use classcred_store::jobs::NewJob;
use classcred_store::recognition::{
    DISTINCT_GIVERS_SQL, DISTINCT_RECIPIENTS_SQL, HAS_RECOGNISED_SQL, INBOX_MAX_ATTEMPTS,
    PICK_INBOX_ROWS_SQL,
};
use classcred_store::testing::TestDb;
use classcred_store::{MemberKind, MemberRowId, Role, Store};
use sqlx::Row;

use crate::common::community;

/// Members of the PostgreSQL plan check: 150 × 149 pair rows.
const MEMBERS: usize = 150;

/// `EXPLAIN` of `sql` on the backend.
fn explain(backend: &str, sql: &str) -> String {
    if backend == "sqlite" {
        format!("EXPLAIN QUERY PLAN {sql}")
    } else {
        format!("EXPLAIN {sql}")
    }
}

/// A plan's rows as text (one line per plan node).
fn plan_text(backend: &str, rows: &[sqlx::any::AnyRow]) -> String {
    rows.iter()
        .map(|r| {
            if backend == "sqlite" {
                r.try_get::<String, _>("detail").unwrap()
            } else {
                r.try_get::<String, _>(0).unwrap()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The plan of `sql` with text `binds` bound.
async fn plan(store: &Store, backend: &str, sql: &str, binds: &[&str]) -> String {
    let explain = explain(backend, sql);
    let mut q = sqlx::query(&explain);
    for b in binds {
        q = q.bind(*b);
    }
    plan_text(backend, &q.fetch_all(store.pool()).await.unwrap())
}

#[tokio::test]
async fn the_engine_questions_read_the_award_pair_indexes() {
    for db in TestDb::all().await {
        let b = db.backend();
        let store = db.store().await;
        let c = community(&store, "Plans", "TPLANS").await;
        let mut tx = store.begin().await.unwrap();
        let mut s = tx.for_community(&c);
        let mut ids: Vec<MemberRowId> = Vec::new();
        for i in 0..MEMBERS {
            ids.push(
                s.insert_bare_member(&format!("U{i:04}"), Role::Student, MemberKind::Human)
                    .await
                    .unwrap(),
            );
        }
        tx.commit().await.unwrap();
        // Every member gave to every other: enough rows that a scan would cost the planner
        // far more than the index (PostgreSQL), and the real shape of a course.
        sqlx::query(
            "INSERT INTO award_pair (community_id, giver_member_id, recipient_member_id, awards) \
             SELECT $1, g.id, r.id, 1 FROM member g, member r \
             WHERE g.community_id = $1 AND r.community_id = $1 AND g.id <> r.id",
        )
        .bind(c.as_str())
        .execute(store.pool())
        .await
        .unwrap();
        if b == "postgres" {
            sqlx::query("VACUUM ANALYZE award_pair")
                .execute(store.pool())
                .await
                .unwrap();
        }
        let (g, r) = (ids[3].as_str(), ids[7].as_str());
        for (name, sql, binds, index) in [
            (
                "has_recognised",
                HAS_RECOGNISED_SQL,
                vec![c.as_str(), g, r],
                if b == "sqlite" {
                    "sqlite_autoindex_award_pair_1"
                } else {
                    "award_pair_pkey"
                },
            ),
            (
                "distinct_givers",
                DISTINCT_GIVERS_SQL,
                vec![c.as_str(), r],
                "award_pair_recipient",
            ),
            (
                "distinct_recipients",
                DISTINCT_RECIPIENTS_SQL,
                vec![c.as_str(), g],
                if b == "sqlite" {
                    "sqlite_autoindex_award_pair_1"
                } else {
                    "award_pair_pkey"
                },
            ),
        ] {
            let p = plan(&store, b, sql, &binds).await;
            assert!(p.contains(index), "{b} {name}: not through {index}:\n{p}");
            assert!(
                !p.contains("SCAN award_pair") && !p.contains("Seq Scan"),
                "{b} {name}: scans the table:\n{p}"
            );
            if b == "sqlite" {
                // Only the index is read (the row count needs nothing else).
                assert!(p.contains("COVERING INDEX"), "{b} {name}:\n{p}");
            }
        }
        // The answers themselves.
        let mut tx = store.begin().await.unwrap();
        let mut s = tx.for_community(&c);
        assert!(s.has_recognised(&ids[3], &ids[7]).await.unwrap(), "{b}");
        assert!(!s.has_recognised(&ids[3], &ids[3]).await.unwrap(), "{b}");
        let n = i64::try_from(MEMBERS - 1).unwrap();
        assert_eq!(s.distinct_givers(&ids[7]).await.unwrap(), n, "{b}");
        assert_eq!(s.distinct_recipients(&ids[3]).await.unwrap(), n, "{b}");
        tx.commit().await.unwrap();
        store.close().await;
    }
}

/// Queued jobs of the PostgreSQL claim check (a backlog's notice jobs).
const JOBS: usize = 5000;

#[tokio::test]
async fn a_job_claim_reads_the_head_of_the_claim_index() {
    for db in TestDb::all().await {
        let b = db.backend();
        let store = db.store().await;
        let mut tx = store.begin().await.unwrap();
        for i in 0..JOBS {
            tx.enqueue(&NewJob::new("plan.test", serde_json::json!({ "n": i })))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        if b == "postgres" {
            sqlx::query("VACUUM ANALYZE job")
                .execute(store.pool())
                .await
                .unwrap();
        }
        let now = i64::MAX / 2;
        let sql = explain(b, &store.claim_job_sql());
        let rows = sqlx::query(&sql)
            .bind("w")
            .bind(now + 1000)
            .bind(now)
            .fetch_all(store.pool())
            .await
            .unwrap();
        let p = plan_text(b, &rows);
        // The queued arm reads the claim index in claim order: no sort of the due jobs, no
        // scan of the table. (The other arm, jobs whose lease ran out, reads the few running
        // jobs.)
        assert!(p.contains("job_claim_order"), "{b}:\n{p}");
        assert!(
            !p.contains("SCAN job") && !p.contains("Seq Scan"),
            "{b}: scans the job table:\n{p}"
        );
        if b == "sqlite" {
            // The one sort left orders the (at most) two arm heads.
            assert_eq!(p.matches("TEMP B-TREE").count(), 1, "{b}:\n{p}");
        } else {
            let due = p
                .split("Subquery Scan on due")
                .nth(1)
                .and_then(|rest| rest.split("Subquery Scan on expired").next())
                .unwrap_or_default();
            assert!(
                due.contains("Index Scan using job_claim_order") && !due.contains("Sort"),
                "{b}: the queued arm does not read the claim index in order:\n{p}"
            );
        }
        // And the claim takes the oldest job first.
        let first = store.claim_job("w", 60_000).await.unwrap().unwrap();
        assert_eq!(first.payload["n"], 0, "{b}");
        store.close().await;
    }
}

/// Pending inbox rows of the pick check (a burst queued since the last analyse).
const PENDING: usize = 3000;

#[tokio::test]
async fn a_backlog_pick_reads_the_head_of_the_pick_order_once_statistics_are_refreshed() {
    for db in TestDb::all().await {
        let b = db.backend();
        let store = db.store().await;
        let c = community(&store, "Pick", "TPICK").await;
        let mut tx = store.begin().await.unwrap();
        let mut s = tx.for_community(&c);
        for i in 0..PENDING {
            s.insert_inbox("slack", &format!("E{i:05}"), "message", b"{}", 1_000 + i as i64)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        // What a drain does when a batch comes back full; at most once a minute.
        let ran = store.refresh_inbox_statistics().await.unwrap();
        assert_eq!(ran, b == "postgres", "{b}: refreshed");
        assert!(!store.refresh_inbox_statistics().await.unwrap(), "{b}: throttled");
        let explain = explain(b, PICK_INBOX_ROWS_SQL);
        let rows = sqlx::query(&explain)
            .bind(c.as_str())
            .bind(INBOX_MAX_ATTEMPTS)
            .bind(500_i64)
            .fetch_all(store.pool())
            .await
            .unwrap();
        let p = plan_text(b, &rows);
        assert!(p.contains("inbox_pick_order"), "{b}:\n{p}");
        // In pick order straight from the index: no sort of the pending rows.
        assert!(
            !p.contains("TEMP B-TREE") && !p.contains("Sort") && !p.contains("Bitmap"),
            "{b}: the pick sorts the pending rows:\n{p}"
        );
        store.close().await;
    }
}
