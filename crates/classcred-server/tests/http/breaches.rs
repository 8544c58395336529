//! `/metrics` shows the breach register's clock: open breaches, overdue ones, and the hours
//! left before the earliest deadline (one label value, no breach or person ids), read through
//! the store's clock so a moved clock shows a breach going overdue.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use classcred_crypto::MasterKey;
use classcred_server::HttpLimits;
use classcred_server::Metrics;
use classcred_store::governance::{BreachScope, NewBreach};
use classcred_store::testing::TestDb;
use classcred_store::ManualClock;

use super::{metrics_text, start_with};

const H: i64 = 3_600_000;

#[tokio::test]
async fn metrics_show_open_breaches_and_hours_left() {
    for db in TestDb::all().await {
        let b = db.backend();
        let clock = Arc::new(ManualClock::new(
            chrono::Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap(),
        ));
        let store = db.store_with(MasterKey::generate(), clock.clone()).await;
        let srv = start_with(
            store.clone(),
            None,
            HttpLimits::default(),
            Metrics::new().with_counts_ttl(Duration::ZERO),
        )
        .await;
        let http = reqwest::Client::new();
        let text = metrics_text(&http, &srv.base).await;
        assert!(
            text.contains("\nclasscred_breaches_open 0\n"),
            "{b}: {text}"
        );
        assert!(
            !text.contains("classcred_breach_hours_left{"),
            "{b}: {text}"
        );

        let now = store.now_ms();
        let mut tx = store.begin().await.unwrap();
        let late = tx
            .insert_breach(&NewBreach {
                reported_at: now - 80 * H,
                scope: BreachScope::All,
                description: "lost backup disk",
                recorded_by: "operator",
            })
            .await
            .unwrap();
        tx.insert_breach(&NewBreach {
            reported_at: now - 10 * H,
            scope: BreachScope::All,
            description: "phished operator account",
            recorded_by: "operator",
        })
        .await
        .unwrap();
        let done = tx
            .insert_breach(&NewBreach {
                reported_at: now - 200 * H,
                scope: BreachScope::All,
                description: "old incident",
                recorded_by: "operator",
            })
            .await
            .unwrap();
        assert!(tx.mark_breach_notified(&done.id).await.unwrap());
        tx.commit().await.unwrap();

        let text = metrics_text(&http, &srv.base).await;
        assert!(
            text.contains("\nclasscred_breaches_open 2\n"),
            "{b}: {text}"
        );
        assert!(
            text.contains("\nclasscred_breaches_overdue 1\n"),
            "{b}: {text}"
        );
        assert!(
            text.contains("\nclasscred_breach_hours_left{breach=\"earliest_deadline\"} -8\n"),
            "{b}: {text}"
        );
        assert!(!text.contains(&late.id), "{b}: no breach ids in labels");

        // The overdue one is closed; three hours on, the other has 59 hours left.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.close_breach(&late.id, "operator").await.unwrap());
        tx.commit().await.unwrap();
        clock.advance(chrono::Duration::hours(3));
        let text = metrics_text(&http, &srv.base).await;
        assert!(
            text.contains("\nclasscred_breaches_open 1\n"),
            "{b}: {text}"
        );
        assert!(
            text.contains("\nclasscred_breaches_overdue 0\n"),
            "{b}: {text}"
        );
        assert!(
            text.contains("\nclasscred_breach_hours_left{breach=\"earliest_deadline\"} 59\n"),
            "{b}: {text}"
        );
        // 60 more hours: it is overdue too.
        clock.advance(chrono::Duration::hours(60));
        let text = metrics_text(&http, &srv.base).await;
        assert!(
            text.contains("\nclasscred_breaches_overdue 1\n"),
            "{b}: {text}"
        );
        assert!(
            text.contains("\nclasscred_breach_hours_left{breach=\"earliest_deadline\"} -1\n"),
            "{b}: {text}"
        );
    }
}
