//! Maintained aggregates (migration 0019): balances, leaderboards and `/cred me` read
//! `member_points` / `member_period_points`, which processing keeps in step with the ledger in
//! the same transaction; `replay` reports an aggregate row that disagrees with the ledger.

use crate::common;

use chrono::{DateTime, Utc};
use classcred_engine::{CommunitySettings, Event, Leaderboard, MemberId, Points, SettingsChanged};
use classcred_service::{leaderboard, member_summary, replay, Period};
use classcred_store::recognition::{expected_points, settings_timezone};
use classcred_store::testing::TestDb;
use classcred_store::Role;
use common::*;
use serde_json::json;

fn berlin() -> serde_json::Value {
    json!({ "timezone": "Europe/Berlin", "course_start": "2026-01-05", "daily_quota": 5 })
}

/// The leaderboard of `[from, to)` summed over the ledger (the reference).
async fn from_ledger(w: &World, from: DateTime<Utc>, to: DateTime<Utc>) -> Leaderboard {
    let mut tx = w.store.begin().await.unwrap();
    let totals = tx
        .for_community(&w.community)
        .student_earned_totals(Some(from.timestamp_millis()), Some(to.timestamp_millis()))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Leaderboard::from_totals(
        totals
            .into_iter()
            .map(|(m, p)| (MemberId::new(m), Points::from_thousandths(p))),
    )
}

/// Gives around local midnights, so that the week and the month of an entry depend on the
/// timezone: Sunday 1 March 23:30 UTC is Monday 2 March 00:30 in Berlin (ISO week 10 there,
/// week 9 in UTC); Saturday 28 February 23:30 UTC is 1 March in Berlin.
async fn class(w: &World) {
    join(w, "UA", Role::Student).await;
    join(w, "UB", Role::Student).await;
    join(w, "UC", Role::Student).await;
    join(w, "UT", Role::Instructor).await;
    join(w, "UX", Role::Admin).await;
    let gives = [
        ("G1", "1.1", "UA", vec!["UB"], 2, at(2026, 2, 28, 23, 30, 0)),
        ("G2", "1.2", "UB", vec!["UC"], 1, at(2026, 3, 1, 23, 30, 0)),
        (
            "G3",
            "1.3",
            "UC",
            vec!["UA", "UB"],
            1,
            at(2026, 3, 2, 10, 0, 0),
        ),
        ("G4", "1.4", "UT", vec!["UC"], 3, at(2026, 3, 3, 9, 0, 0)),
        ("G5", "1.5", "UA", vec!["UC"], 1, at(2026, 2, 20, 12, 0, 0)),
    ];
    for (ev, msg, author, to, fires, when) in gives {
        assert!(deliver(w, ev, &post(msg, author, &to, fires, when)).await);
    }
    // A deletion reverses G2's fire (negative entries in the aggregates too).
    assert!(
        deliver(
            w,
            "D1",
            &Event::MessageDeleted(classcred_engine::MessageDeleted {
                platform_message_id: "C1:1.2".into(),
                occurred_at: at(2026, 3, 3, 12, 0, 0),
            })
        )
        .await
    );
    settle(w).await;
}

/// Every period's leaderboard from the aggregates equals the one summed over the ledger.
async fn assert_boards_match(
    w: &World,
    b: &str,
    week: (DateTime<Utc>, DateTime<Utc>),
    month: (DateTime<Utc>, DateTime<Utc>),
) {
    let got = leaderboard(&w.store, &w.community, Period::Week)
        .await
        .unwrap();
    assert_eq!(got, from_ledger(w, week.0, week.1).await, "{b}: week");
    let got = leaderboard(&w.store, &w.community, Period::Month)
        .await
        .unwrap();
    assert_eq!(got, from_ledger(w, month.0, month.1).await, "{b}: month");
    let got = leaderboard(&w.store, &w.community, Period::Course)
        .await
        .unwrap();
    let far = at(2100, 1, 1, 0, 0, 0);
    assert_eq!(
        got,
        from_ledger(w, at(1970, 1, 1, 0, 0, 0), far).await,
        "{b}: course"
    );
}

#[tokio::test]
async fn aggregates_equal_the_ledger_and_a_tampered_row_is_reported() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, berlin()).await;
        class(&w).await;
        w.clock.set(at(2026, 3, 4, 12, 0, 0));

        // The aggregates hold what the ledger sums to, row for row.
        let mut tx = w.store.begin().await.unwrap();
        let mut s = tx.for_community(&w.community);
        let ledger = s.ledger().await.unwrap();
        let points = s.member_points_rows().await.unwrap();
        let (zone, periods) = s.period_points_rows().await.unwrap();
        tx.commit().await.unwrap();
        assert!(ledger.len() >= 6, "{b}: {} entries", ledger.len());
        assert_eq!(zone.as_deref(), Some("Europe/Berlin"), "{b}");
        let (want_totals, want_periods) = expected_points(
            ledger.iter().map(|e| {
                (
                    e.entry.member_id.as_str(),
                    e.entry.kind.as_str(),
                    e.entry.amount_milli,
                    e.entry.occurred_at,
                )
            }),
            settings_timezone(&berlin().to_string()),
        );
        let got_totals: std::collections::BTreeMap<String, _> = points
            .iter()
            .filter(|(_, p)| p.earned_milli != 0 || p.spendable_milli != 0)
            .map(|(m, p)| (m.to_string(), *p))
            .collect();
        assert_eq!(got_totals, want_totals, "{b}");
        let got_periods: std::collections::BTreeMap<(String, String), i64> = periods
            .iter()
            .filter(|(_, _, v)| *v != 0)
            .map(|(p, m, v)| ((p.clone(), m.to_string()), *v))
            .collect();
        assert_eq!(got_periods, want_periods, "{b}");
        // Berlin keys: the give of Sunday 23:30 UTC counts in week 10 and the one of
        // 28 February 23:30 UTC in March.
        assert!(
            got_periods.keys().any(|(p, _)| p == "week:2026-W10"),
            "{b}: {got_periods:?}"
        );
        assert!(
            got_periods.keys().any(|(p, _)| p == "month:2026-02"),
            "{b}: G5 is in February: {got_periods:?}"
        );

        // Leaderboards (week 2–8 March and March in Berlin) and /cred me agree with the ledger.
        assert_boards_match(
            &w,
            b,
            (at(2026, 3, 1, 23, 0, 0), at(2026, 3, 8, 23, 0, 0)),
            (at(2026, 2, 28, 23, 0, 0), at(2026, 3, 31, 22, 0, 0)),
        )
        .await;
        let a = member_summary(&w.store, &w.community, "UA")
            .await
            .unwrap()
            .unwrap();
        let ua = a.member_id.to_string();
        assert_eq!(
            a.earned.thousandths(),
            want_totals.get(&ua).map_or(0, |p| p.earned_milli),
            "{b}"
        );
        assert_eq!(earned(&w, "UA").await, a.earned.thousandths(), "{b}");
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);

        // A tampered period row is reported, like a ledger difference.
        sqlx::query(
            "UPDATE member_period_points SET earned_milli = earned_milli + 1 WHERE period = 'week:2026-W10' AND member_id = $1",
        )
        .bind(&ua)
        .execute(w.store.pool())
        .await
        .unwrap();
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(
            report
                .differences
                .iter()
                .any(|d| d.contains("aggregate week:2026-W10") && d.contains(&ua)),
            "{b}: {:?}",
            report.differences
        );
        sqlx::query(
            "UPDATE member_period_points SET earned_milli = earned_milli - 1 WHERE period = 'week:2026-W10' AND member_id = $1",
        )
        .bind(&ua)
        .execute(w.store.pool())
        .await
        .unwrap();
        assert!(
            replay(&w.store, &w.community, |_, _| {})
                .await
                .unwrap()
                .matches(),
            "{b}"
        );

        // A tampered lifetime total is reported, and a row the ledger does not explain too.
        sqlx::query("UPDATE member_points SET spendable_milli = spendable_milli + 1000 WHERE member_id = $1")
            .bind(&ua)
            .execute(w.store.pool())
            .await
            .unwrap();
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(
            report
                .differences
                .iter()
                .any(|d| d.contains("aggregate of member") && d.contains(&ua)),
            "{b}: {:?}",
            report.differences
        );
        w.store.close().await;
    }
}

#[tokio::test]
async fn a_timezone_change_rekeys_the_period_points() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, berlin()).await;
        class(&w).await;
        w.clock.set(at(2026, 3, 4, 12, 0, 0));
        // An Admin moves the course to UTC through the inbox (in the event order).
        let mut utc = CommunitySettings::from_json(&berlin().to_string()).unwrap();
        utc.timezone = classcred_engine::Timezone::UTC;
        let admin = MemberId::new("UX");
        assert!(
            deliver(
                &w,
                "S1",
                &Event::SettingsChanged(SettingsChanged {
                    settings: utc,
                    by: admin,
                    occurred_at: at(2026, 3, 4, 8, 0, 0),
                })
            )
            .await
        );
        settle(&w).await;
        let mut tx = w.store.begin().await.unwrap();
        let (zone, periods) = tx
            .for_community(&w.community)
            .period_points_rows()
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(zone.as_deref(), Some("UTC"), "{b}");
        // The give of 28 February 23:30 UTC now counts in February.
        assert!(
            periods
                .iter()
                .any(|(p, _, v)| p == "month:2026-02" && *v != 0),
            "{b}: {periods:?}"
        );
        assert_boards_match(
            &w,
            b,
            (at(2026, 3, 2, 0, 0, 0), at(2026, 3, 9, 0, 0, 0)),
            (at(2026, 3, 1, 0, 0, 0), at(2026, 4, 1, 0, 0, 0)),
        )
        .await;
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);

        // A database from before the aggregates (no zone recorded, no period rows): the
        // leaderboards read the ledger, and the next ledger write builds the rows.
        sqlx::query("DELETE FROM member_period_points")
            .execute(w.store.pool())
            .await
            .unwrap();
        sqlx::query("DELETE FROM points_period_zone")
            .execute(w.store.pool())
            .await
            .unwrap();
        assert_boards_match(
            &w,
            b,
            (at(2026, 3, 2, 0, 0, 0), at(2026, 3, 9, 0, 0, 0)),
            (at(2026, 3, 1, 0, 0, 0), at(2026, 4, 1, 0, 0, 0)),
        )
        .await;
        assert!(
            replay(&w.store, &w.community, |_, _| {})
                .await
                .unwrap()
                .matches(),
            "{b}"
        );
        assert!(
            deliver(
                &w,
                "G9",
                &post("9.1", "UB", &["UA"], 1, at(2026, 3, 4, 9, 0, 0))
            )
            .await
        );
        settle(&w).await;
        let mut tx = w.store.begin().await.unwrap();
        let (zone, periods) = tx
            .for_community(&w.community)
            .period_points_rows()
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(zone.as_deref(), Some("UTC"), "{b}");
        assert!(periods.iter().any(|(p, _, _)| p == "month:2026-02"), "{b}");
        assert_boards_match(
            &w,
            b,
            (at(2026, 3, 2, 0, 0, 0), at(2026, 3, 9, 0, 0, 0)),
            (at(2026, 3, 1, 0, 0, 0), at(2026, 4, 1, 0, 0, 0)),
        )
        .await;
        assert!(
            replay(&w.store, &w.community, |_, _| {})
                .await
                .unwrap()
                .matches(),
            "{b}"
        );
        w.store.close().await;
    }
}
