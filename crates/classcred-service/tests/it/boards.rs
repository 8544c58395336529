//! Leaderboards kept in memory per process (migration 0027, issue 13): a kept board is reused
//! only while the community's points version is unchanged, so a board read through any
//! `Store` on the database is never stale after a commit that changed points or students,
//! whichever `Store` (process) committed it.

use std::sync::Arc;

use crate::common;

use chrono::{DateTime, Utc};
use classcred_crypto::MasterKey;
use classcred_engine::{Leaderboard, MemberId, Points};
use classcred_service::{leaderboard, Period};
use classcred_store::testing::TestDb;
use classcred_store::{MemberKind, NewLedgerEntry, Role, Store};
use common::*;
use serde_json::json;

/// Week 2–8 March 2026 and March 2026 (UTC), around the clock set below.
const WEEK: (u32, u32) = (2, 9);

async fn reference(w: &World, period: Period) -> Leaderboard {
    let (from, to): (DateTime<Utc>, DateTime<Utc>) = match period {
        Period::Week => (at(2026, 3, WEEK.0, 0, 0, 0), at(2026, 3, WEEK.1, 0, 0, 0)),
        Period::Month => (at(2026, 3, 1, 0, 0, 0), at(2026, 4, 1, 0, 0, 0)),
        Period::Course => (at(1970, 1, 1, 0, 0, 0), at(2100, 1, 1, 0, 0, 0)),
    };
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

/// Every board read through `through` (twice: the second read may come from memory) equals
/// the ledger's sums read through `w`.
async fn assert_fresh(w: &World, through: &Store, what: &str) {
    for period in [Period::Week, Period::Month, Period::Course] {
        let want = reference(w, period).await;
        for round in 0..2 {
            let got = leaderboard(through, &w.community, period).await.unwrap();
            assert_eq!(got, want, "{what}: {period:?}, read {round}");
        }
    }
}

fn points_of(board: &Leaderboard, member: &str) -> Option<i64> {
    board
        .rows
        .iter()
        .find(|r| r.member.as_str() == member)
        .map(|r| r.points.thousandths())
}

#[tokio::test]
async fn a_kept_board_is_never_stale_after_a_commit_in_either_process() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, json!({ "timezone": "UTC", "daily_quota": 50 })).await;
        // Another process on the same database (e.g. `serve --workers-only`).
        let other = Store::connect(
            db.url(),
            MasterKey::parse(&w.key_text).unwrap(),
            w.clock.clone(),
            Default::default(),
        )
        .await
        .unwrap();
        let wo = World {
            store: other.clone(),
            clock: w.clock.clone(),
            community: w.community.clone(),
            key_text: w.key_text.clone(),
        };
        let ua = join(&w, "UA", Role::Student).await;
        join(&w, "UB", Role::Student).await;
        join(&w, "UC", Role::Student).await;
        join(&w, "UT", Role::Instructor).await;
        assert!(
            deliver(
                &w,
                "G1",
                &post("1.1", "UA", &["UB"], 2, at(2026, 3, 2, 10, 0, 0))
            )
            .await
        );
        settle(&w).await;
        w.clock.set(at(2026, 3, 4, 12, 0, 0));
        assert_fresh(&w, &w.store, &format!("{b}: first reads (same store)")).await;
        assert_fresh(&w, &other, &format!("{b}: first reads (other store)")).await;

        // Processed by the other store: this one's kept boards are not reused.
        assert!(
            deliver(
                &wo,
                "G2",
                &post("2.1", "UB", &["UC"], 3, at(2026, 3, 3, 9, 0, 0))
            )
            .await
        );
        settle(&wo).await;
        let ub = join(&w, "UB", Role::Student).await;
        let course = leaderboard(&w.store, &w.community, Period::Course)
            .await
            .unwrap();
        assert!(
            points_of(&course, ub.as_str()).unwrap_or(0) > 0,
            "{b}: UB's points after G2: {course:?}"
        );
        assert_fresh(
            &w,
            &w.store,
            &format!("{b}: after a give processed elsewhere"),
        )
        .await;
        assert_fresh(&w, &other, &format!("{b}: after a give processed here")).await;

        // Processed by this store: the other one's kept boards are not reused.
        assert!(
            deliver(
                &w,
                "G3",
                &post("3.1", "UC", &["UA"], 1, at(2026, 3, 4, 9, 0, 0))
            )
            .await
        );
        settle(&w).await;
        assert_fresh(
            &w,
            &other,
            &format!("{b}: after a give processed elsewhere (2)"),
        )
        .await;
        assert_fresh(
            &w,
            &w.store,
            &format!("{b}: after a give processed here (2)"),
        )
        .await;

        // Students joining or changing role change the board's rows.
        let ud = join(&wo, "UD", Role::Student).await;
        let course = leaderboard(&w.store, &w.community, Period::Course)
            .await
            .unwrap();
        assert_eq!(
            points_of(&course, ud.as_str()),
            Some(0),
            "{b}: new student listed"
        );
        assert_fresh(&w, &w.store, &format!("{b}: after a join elsewhere")).await;
        let mut tx = other.begin().await.unwrap();
        tx.for_community(&w.community)
            .set_member_role_kind(&ua, Role::Instructor, MemberKind::Human)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let course = leaderboard(&w.store, &w.community, Period::Course)
            .await
            .unwrap();
        assert_eq!(
            points_of(&course, ua.as_str()),
            None,
            "{b}: UA is staff now"
        );
        assert_fresh(&w, &w.store, &format!("{b}: after a role change elsewhere")).await;

        let entry = |key: &str, milli: i64| NewLedgerEntry {
            member_id: ud.to_string(),
            kind: "award".into(),
            amount_milli: milli,
            idempotency_key: key.into(),
            giver_member_id: None,
            giver_role: None,
            source_ref: None,
            quota_day: None,
            iso_week: None,
            quota_units: 0,
            fire_units: 0,
            note: None,
            occurred_at: at(2026, 3, 4, 12, 0, 0).timestamp_millis(),
        };
        // A board read inside a transaction that wrote points and then rolled back is not
        // reused afterwards.
        let before = leaderboard(&w.store, &w.community, Period::Course)
            .await
            .unwrap();
        let mut tx = w.store.begin().await.unwrap();
        let mut s = tx.for_community(&w.community);
        s.insert_ledger_entries(&[entry("rolled-back", 7000)])
            .await
            .unwrap();
        let inside = s
            .student_points(classcred_store::recognition::PointsPeriod::Course)
            .await
            .unwrap();
        assert!(
            inside.iter().any(|(m, p)| *m == ud && *p == 7000),
            "{b}: the transaction sees its own award"
        );
        tx.rollback().await.unwrap();
        let after = leaderboard(&w.store, &w.community, Period::Course)
            .await
            .unwrap();
        assert_eq!(after, before, "{b}: rolled-back award not shown");
        assert_fresh(&w, &w.store, &format!("{b}: after a rollback")).await;

        // A transaction that writes, reads the board, then writes again (the version is
        // changed once per transaction, and again after a read inside it) and commits: the
        // board read inside is not reused afterwards.
        let mut tx = w.store.begin().await.unwrap();
        let mut s = tx.for_community(&w.community);
        s.insert_ledger_entries(&[entry("twice-1", 1000)])
            .await
            .unwrap();
        s.student_points(classcred_store::recognition::PointsPeriod::Course)
            .await
            .unwrap();
        s.insert_ledger_entries(&[entry("twice-2", 2000)])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_fresh(&w, &w.store, &format!("{b}: after write, read, write")).await;
        assert_fresh(
            &w,
            &other,
            &format!("{b}: after write, read, write (other)"),
        )
        .await;
        let after = leaderboard(&w.store, &w.community, Period::Course)
            .await
            .unwrap();

        // Kept boards are in use: a hand edit of an aggregate row, which does not change the
        // version (only `replay` reports such rows), is not seen by a kept board...
        let ub_points = points_of(&after, ub.as_str()).unwrap();
        sqlx::query(
            "UPDATE member_points SET earned_milli = earned_milli + 1 WHERE community_id = $1 AND member_id = $2",
        )
        .bind(w.community.as_str())
        .bind(ub.as_str())
        .execute(w.store.pool())
        .await
        .unwrap();
        let kept = leaderboard(&w.store, &w.community, Period::Course)
            .await
            .unwrap();
        assert_eq!(points_of(&kept, ub.as_str()), Some(ub_points), "{b}: kept");
        // ...while a process without it reads the row.
        let fresh = Store::connect(
            db.url(),
            MasterKey::parse(&w.key_text).unwrap(),
            Arc::new(classcred_store::SystemClock),
            Default::default(),
        )
        .await
        .unwrap();
        let read = leaderboard(&fresh, &w.community, Period::Course)
            .await
            .unwrap();
        assert_eq!(
            points_of(&read, ub.as_str()),
            Some(ub_points + 1),
            "{b}: read"
        );
        fresh.close().await;
        other.close().await;
        w.store.close().await;
    }
}
