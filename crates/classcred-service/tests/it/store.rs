//! The class store through the service, on every backend: buy → pending → approve / reject /
//! cancel balances, refusals, who may do what, replay, export and erasure of purchases, and
//! two buyers with separate store handles racing for the last unit (exactly one wins).

use crate::common::*;

use chrono::Duration;
use classcred_crypto::MasterKey;
use classcred_engine::{Event, MemberId, Points, PointsAdjusted, PurchaseStatus};
use classcred_service::changes::ChangeError;
use classcred_service::replay;
use classcred_service::store::{
    buy, buy_within, cancel, decide, items, purchases, save_item, Bought, ItemInput,
};
use classcred_store::class_store::PurchaseFilter;
use classcred_store::testing::TestDb;
use classcred_store::{MemberRowId, Role};
use serde_json::json;

fn settings() -> serde_json::Value {
    json!({ "timezone": "Europe/Berlin", "course_start": "2026-01-05" })
}

fn input(name: &str, price: i64) -> ItemInput {
    ItemInput {
        name: name.into(),
        description: "from the class store".into(),
        price: Points::from_whole(price),
        stock: None,
        per_student_limit: None,
        available_from: None,
        available_until: None,
        needs_approval: false,
        enabled: true,
        archived: false,
    }
}

async fn grant(w: &World, n: u32, uid: &str, points: i64) {
    deliver(
        w,
        &format!("adj{n}"),
        &Event::PointsAdjusted(PointsAdjusted {
            adjustment_id: format!("adj{n}"),
            by: MemberId::new("UADMIN"),
            member: MemberId::new(uid),
            amount: Points::from_whole(points),
            reason: "project work".into(),
            occurred_at: at(2026, 3, 2, 9, 0, 0),
        }),
    )
    .await;
    settle(w).await;
}

/// (earned, spendable) in thousandths.
async fn balance(w: &World, uid: &str) -> (i64, i64) {
    let mut tx = w.store.begin().await.unwrap();
    let b = tx.for_community(&w.community).balances().await.unwrap();
    tx.commit().await.unwrap();
    b.into_iter()
        .find(|b| b.platform_user_id == uid)
        .map_or((0, 0), |b| (b.earned_milli, b.spendable_milli))
}

struct Class {
    w: World,
    admin: MemberRowId,
    ta: MemberRowId,
    ana: MemberRowId,
    ben: MemberRowId,
}

async fn class(db: &TestDb) -> Class {
    let w = world(db, settings()).await;
    let admin = join(&w, "UADMIN", Role::Admin).await;
    let ta = join(&w, "UTA", Role::Instructor).await;
    let ana = join(&w, "UANA", Role::Student).await;
    let ben = join(&w, "UBEN", Role::Student).await;
    settle(&w).await;
    grant(&w, 1, "UANA", 10).await;
    grant(&w, 2, "UBEN", 10).await;
    Class {
        w,
        admin,
        ta,
        ana,
        ben,
    }
}

#[tokio::test]
async fn buy_pending_approve_reject_cancel_balances() {
    for db in TestDb::all().await {
        let b = db.backend();
        let Class {
            w, ta, ana, ben, ..
        } = class(&db).await;
        let now = at(2026, 3, 2, 12, 0, 0);
        let mut i = input("Deadline +24h", 4);
        i.needs_approval = true;
        let (_, change) = save_item(&w.store, &w.community, &ta, None, i, now)
            .await
            .unwrap();
        assert!(change.applied, "{b}");
        let listed = items(&w.store, &w.community).await.unwrap();
        assert_eq!(listed.len(), 1, "{b}");
        assert_eq!(listed[0].item.number, 1, "{b}");

        // Ana buys: pending, 4 reserved; earned unchanged.
        let p1 = buy(&w.store, &w.community, &ana, "1", now).await.unwrap();
        assert_eq!(p1.status, Some(PurchaseStatus::Pending), "{b}");
        assert_eq!(p1.spendable, Points::from_whole(6), "{b}");
        assert_eq!(balance(&w, "UANA").await, (10_000, 6_000), "{b}");
        // The approval queue holds it; the TA approves: the debit stays.
        let queue = purchases(
            &w.store,
            &w.community,
            &PurchaseFilter {
                statuses: &["pending"],
                oldest_first: true,
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(queue.len(), 1, "{b}");
        assert_eq!(queue[0].item_name, "Deadline +24h", "{b}");
        let c = decide(
            &w.store,
            &w.community,
            &ta,
            &p1.purchase_id,
            true,
            None,
            now,
        )
        .await
        .unwrap();
        assert!(c.applied, "{b}");
        assert_eq!(balance(&w, "UANA").await, (10_000, 6_000), "{b}");
        // Deciding again is refused with a field error.
        let again = decide(
            &w.store,
            &w.community,
            &ta,
            &p1.purchase_id,
            false,
            None,
            now,
        )
        .await;
        assert!(
            matches!(again, Err(ChangeError::Invalid { ref field, .. }) if field == "purchase"),
            "{b}: {again:?}"
        );

        // Ben buys by name; the TA rejects with a reason: refunded.
        let p2 = buy(&w.store, &w.community, &ben, "deadline +24H", now)
            .await
            .unwrap();
        assert_eq!(balance(&w, "UBEN").await, (10_000, 6_000), "{b}");
        decide(
            &w.store,
            &w.community,
            &ta,
            &p2.purchase_id,
            false,
            Some("only one per class"),
            now + Duration::minutes(1),
        )
        .await
        .unwrap();
        assert_eq!(balance(&w, "UBEN").await, (10_000, 10_000), "{b}");
        let mine = purchases(
            &w.store,
            &w.community,
            &PurchaseFilter {
                member: Some(&ben),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(mine[0].purchase.status, PurchaseStatus::Rejected, "{b}");
        assert_eq!(
            mine[0].purchase.reason.as_deref(),
            Some("only one per class"),
            "{b}"
        );

        // Ben buys again and cancels while pending: refunded. Ana cannot cancel his.
        let p3 = buy(&w.store, &w.community, &ben, "1", now).await.unwrap();
        assert_eq!(balance(&w, "UBEN").await, (10_000, 6_000), "{b}");
        assert!(matches!(
            cancel(&w.store, &w.community, &ana, &p3.purchase_id, now).await,
            Err(ChangeError::NotFound)
        ));
        let c = cancel(&w.store, &w.community, &ben, &p3.purchase_id, now)
            .await
            .unwrap();
        assert!(c.applied, "{b}");
        assert_eq!(balance(&w, "UBEN").await, (10_000, 10_000), "{b}");

        // Students cannot decide; staff cannot buy.
        let p4 = buy(&w.store, &w.community, &ben, "1", now).await.unwrap();
        assert!(matches!(
            decide(
                &w.store,
                &w.community,
                &ana,
                &p4.purchase_id,
                true,
                None,
                now
            )
            .await,
            Err(ChangeError::Forbidden)
        ));
        let staff = buy(&w.store, &w.community, &ta, "1", now).await;
        assert!(
            matches!(staff, Err(ChangeError::Invalid { ref field, .. }) if field == "member"),
            "{b}"
        );

        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);

        // A purchase changed outside the inbox is reported by replay.
        sqlx::query("UPDATE store_purchase SET status = 'approved' WHERE id = $1")
            .bind(&p4.purchase_id)
            .execute(w.store.pool())
            .await
            .unwrap();
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(
            report
                .differences
                .iter()
                .any(|d| d.contains(&p4.purchase_id) && d.contains("approved")),
            "{b}: {:?}",
            report.differences
        );
    }
}

#[tokio::test]
async fn refusals_limits_and_forms() {
    for db in TestDb::all().await {
        let b = db.backend();
        let Class { w, admin, ana, .. } = class(&db).await;
        let now = at(2026, 3, 2, 12, 0, 0);
        let mut i = input("Extra office hour", 3);
        i.per_student_limit = Some(2);
        save_item(&w.store, &w.community, &admin, None, i, now)
            .await
            .unwrap();
        save_item(
            &w.store,
            &w.community,
            &admin,
            None,
            input("Drop lowest quiz", 20),
            now,
        )
        .await
        .unwrap();
        let ok = |p: &Bought| p.status == Some(PurchaseStatus::Approved);
        assert!(ok(&buy(&w.store, &w.community, &ana, "#1", now)
            .await
            .unwrap()));
        assert!(ok(&buy(&w.store, &w.community, &ana, "1", now)
            .await
            .unwrap()));
        let third = buy(&w.store, &w.community, &ana, "1", now).await.unwrap();
        assert_eq!(third.status, Some(PurchaseStatus::Refused), "{b}");
        assert!(third.reason.unwrap().contains("already have 2"), "{b}");
        let dear = buy(&w.store, &w.community, &ana, "2", now).await.unwrap();
        assert_eq!(dear.status, Some(PurchaseStatus::Refused), "{b}");
        assert!(dear.reason.unwrap().contains("costs 20 points"), "{b}");
        assert_eq!(balance(&w, "UANA").await, (10_000, 4_000), "{b}");
        assert!(matches!(
            buy(&w.store, &w.community, &ana, "99", now).await,
            Err(ChangeError::Invalid { ref field, .. }) if field == "item"
        ));

        // Form errors name their field; students cannot manage the store.
        let bad = save_item(&w.store, &w.community, &admin, None, input("  ", 3), now).await;
        assert!(matches!(bad, Err(ChangeError::Invalid { ref field, .. }) if field == "name"));
        let bad = save_item(&w.store, &w.community, &admin, None, input("Free", 0), now).await;
        assert!(matches!(bad, Err(ChangeError::Invalid { ref field, .. }) if field == "price"));
        let bad = save_item(&w.store, &w.community, &ana, None, input("Mine", 1), now).await;
        assert!(matches!(bad, Err(ChangeError::Forbidden)), "{b}");
        // Stock cannot drop below what is sold (2 units of item 1).
        let first = items(&w.store, &w.community).await.unwrap()[0].clone();
        let mut edit = input("Extra office hour", 3);
        edit.stock = Some(1);
        let bad = save_item(
            &w.store,
            &w.community,
            &admin,
            Some(&first.item.item_id),
            edit,
            now,
        )
        .await;
        assert!(matches!(bad, Err(ChangeError::Invalid { ref field, .. }) if field == "stock"));
        // Disabling an item stops sales.
        let mut off = input("Extra office hour", 3);
        off.enabled = false;
        save_item(
            &w.store,
            &w.community,
            &admin,
            Some(&first.item.item_id),
            off,
            now,
        )
        .await
        .unwrap();
        let r = buy(&w.store, &w.community, &ana, "1", now).await.unwrap();
        assert!(r.reason.unwrap().contains("not for sale"), "{b}");

        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);
    }
}

#[tokio::test]
async fn two_buyers_with_separate_stores_race_for_the_last_unit() {
    for db in TestDb::all().await {
        let b = db.backend();
        let Class { w, ta, .. } = class(&db).await;
        let now = at(2026, 3, 2, 12, 0, 0);
        let mut i = input("Front-row seat", 2);
        i.stock = Some(1);
        save_item(&w.store, &w.community, &ta, None, i, now)
            .await
            .unwrap();
        // Two more students with points, each buying through their own store handle (own pool
        // and connections), at the same time.
        let mut buyers = Vec::new();
        for (n, uid) in ["UC1", "UC2", "UC3", "UC4"].into_iter().enumerate() {
            let id = join(&w, uid, Role::Student).await;
            settle(&w).await;
            grant(&w, 10 + n as u32, uid, 5).await;
            buyers.push(id);
        }
        let mut tasks = Vec::new();
        for member in buyers {
            let store = db
                .store_with(MasterKey::parse(&w.key_text).unwrap(), w.clock.clone())
                .await;
            let community = w.community.clone();
            tasks.push(tokio::spawn(async move {
                buy(&store, &community, &member, "1", now).await
            }));
        }
        let mut won = 0;
        for t in tasks {
            let r = t.await.unwrap().unwrap();
            // Processing may have been done by another buyer's drain: read it back.
            let status = r.status.unwrap_or(PurchaseStatus::Pending);
            if status == PurchaseStatus::Approved {
                won += 1;
            }
        }
        settle(&w).await;
        let all = purchases(
            &w.store,
            &w.community,
            &PurchaseFilter {
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let approved = all
            .iter()
            .filter(|p| p.purchase.status == PurchaseStatus::Approved)
            .count();
        assert_eq!(approved, 1, "{b}: exactly one buyer wins");
        assert!(won <= 1, "{b}");
        assert_eq!(
            all.iter()
                .filter(|p| p.purchase.status == PurchaseStatus::Refused)
                .count(),
            3,
            "{b}"
        );
        let listed = items(&w.store, &w.community).await.unwrap();
        assert_eq!((listed[0].sold, listed[0].left), (1, Some(0)), "{b}");
        let mut spent = 0;
        for uid in ["UC1", "UC2", "UC3", "UC4"] {
            let (earned, spendable) = balance(&w, uid).await;
            assert_eq!(earned, 5_000, "{b}");
            spent += earned - spendable;
        }
        assert_eq!(spent, 2_000, "{b}: one unit paid for");
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);
    }
}

#[tokio::test]
async fn the_sold_check_refuses_an_oversell_in_sql() {
    for db in TestDb::all().await {
        let b = db.backend();
        let Class { w, ta, ana, .. } = class(&db).await;
        let now = at(2026, 3, 2, 12, 0, 0);
        let mut i = input("Last one", 1);
        i.stock = Some(1);
        let (item_id, _) = save_item(&w.store, &w.community, &ta, None, i, now)
            .await
            .unwrap();
        buy(&w.store, &w.community, &ana, "1", now).await.unwrap();
        // A writer that bypassed the engine's check cannot take a second unit.
        let mut tx = w.store.begin().await.unwrap();
        let r = tx
            .for_community(&w.community)
            .save_purchase(&classcred_store::class_store::PurchaseRow {
                purchase_id: "forged".into(),
                member_id: ana.clone(),
                item_id,
                price_milli: 1000,
                status: "approved".into(),
                reason: None,
                decided_by: None,
                requested_at: 0,
                decided_at: None,
            })
            .await;
        assert!(r.is_err(), "{b}: the CHECK refuses sold > stock");
        tx.rollback().await.unwrap();
    }
}

/// A purchase whose processing does not finish in time (a backlog ahead of it) answers
/// "recorded" instead of failing, so the student does not buy again; nothing is lost: the
/// drain job already queued processes it, and the points are reserved then.
#[tokio::test]
async fn a_purchase_not_processed_in_time_is_recorded_and_processed_later() {
    for db in TestDb::all().await {
        let b = db.backend();
        let Class { w, ta, ana, .. } = class(&db).await;
        let now = at(2026, 3, 2, 12, 0, 0);
        save_item(
            &w.store,
            &w.community,
            &ta,
            None,
            input("Office hour", 3),
            now,
        )
        .await
        .unwrap();
        let p = buy_within(
            &w.store,
            &w.community,
            &ana,
            "1",
            now,
            std::time::Duration::ZERO,
        )
        .await
        .unwrap();
        assert_eq!(p.status, None, "{b}: not processed yet");
        assert_eq!(balance(&w, "UANA").await, (10_000, 10_000), "{b}");
        settle(&w).await;
        assert_eq!(
            balance(&w, "UANA").await,
            (10_000, 7_000),
            "{b}: processed later"
        );
        let all = purchases(
            &w.store,
            &w.community,
            &PurchaseFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(all.len(), 1, "{b}: one purchase, not two");
    }
}
