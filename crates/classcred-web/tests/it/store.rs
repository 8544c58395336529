//! The class store on the dashboard: an Instructor adds an item (field errors first), a
//! student buys it, the approval queue shows it, the Instructor approves, the student's "my
//! data" shows it; another community's Admin cannot touch it; forms need the CSRF token.

use axum::http::StatusCode;
use classcred_engine::{Event, MemberId, Points, PointsAdjusted, PurchaseStatus};
use classcred_service::store::buy;
use classcred_store::testing::TestDb;
use classcred_store::Clock;

use crate::support::World;

async fn spendable(w: &World, uid: &str) -> i64 {
    let mut tx = w.store.begin().await.unwrap();
    let b = tx.for_community(&w.a).balances().await.unwrap();
    tx.commit().await.unwrap();
    b.into_iter()
        .find(|b| b.platform_user_id == uid)
        .map_or(0, |b| b.spendable_milli)
}

#[tokio::test]
async fn an_instructor_runs_the_store_from_the_dashboard() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = World::new(&db, false).await;
        let ta = w.sign_in(&w.a, &w.instructor_a).await;
        let csrf = w.csrf(&ta).await;
        let page = w.get("/dashboard/store", Some(&ta)).await;
        assert_eq!(page.status, StatusCode::OK, "{b}");
        assert!(page.body.contains("No items yet"), "{b}");

        // Bad input: the form comes back with messages next to the fields.
        let r = w
            .post(
                "/dashboard/store/items",
                Some(&ta),
                &format!("csrf={csrf}&name=&price=abc&stock=-1&enabled=on"),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("Enter a number of points"), "{b}");
        assert!(r.body.contains("Enter a whole number"), "{b}");
        assert!(r.body.contains("aria-invalid=\"true\""), "{b}");
        let r = w
            .post(
                "/dashboard/store/items",
                Some(&ta),
                &format!("csrf={csrf}&name=&price=3&enabled=on"),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("give the item a name"), "{b}");
        // Without the token: refused.
        let r = w
            .post("/dashboard/store/items", Some(&ta), "name=X&price=3")
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");

        // A good item.
        let r = w
            .post(
                "/dashboard/store/items",
                Some(&ta),
                &format!(
                    "csrf={csrf}&name=Deadline+%2B24h&description=One+day+more&price=3&stock=5\
                     &per_student_limit=1&needs_approval=on&enabled=on"
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let page = w.get("/dashboard/store", Some(&ta)).await;
        assert!(page.body.contains("Deadline +24h"), "{b}");
        assert!(page.body.contains("5 left of 5"), "{b}");

        // The student has 10 points and buys it (as from chat).
        let mut tx = w.store.begin().await.unwrap();
        classcred_service::ingest(
            &mut tx,
            &w.a,
            "slack",
            "adj-1",
            &Event::PointsAdjusted(PointsAdjusted {
                adjustment_id: "adj-1".into(),
                by: MemberId::new("UADMIN"),
                member: MemberId::new("USTUDENT"),
                amount: Points::from_whole(10),
                reason: "participation".into(),
                occurred_at: w.clock.now(),
            }),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        classcred_service::drain(&w.store, &w.a).await.unwrap();
        let bought = buy(&w.store, &w.a, &w.student_a, "1", w.clock.now())
            .await
            .unwrap();
        assert_eq!(bought.status, Some(PurchaseStatus::Pending), "{b}");
        assert_eq!(spendable(&w, "USTUDENT").await, 7_000, "{b}");

        // The queue shows it with the student's name; another class's Admin cannot decide it.
        let page = w.get("/dashboard/store", Some(&ta)).await;
        assert!(page.body.contains("Waiting for approval (1)"), "{b}");
        assert!(page.body.contains("Person USTUDENT"), "{b}");
        let approve = format!("/dashboard/store/purchases/{}/approve", bought.purchase_id);
        let other = w.sign_in(&w.b, &w.admin_b).await;
        let other_csrf = w.csrf(&other).await;
        let r = w
            .post(&approve, Some(&other), &format!("csrf={other_csrf}"))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{b}");
        // A student cannot either.
        let student = w.sign_in(&w.a, &w.student_a).await;
        let student_csrf = w.csrf(&student).await;
        let r = w
            .post(&approve, Some(&student), &format!("csrf={student_csrf}"))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");

        let r = w.post(&approve, Some(&ta), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}");
        assert_eq!(
            spendable(&w, "USTUDENT").await,
            7_000,
            "{b}: the debit stays"
        );
        let page = w.get("/dashboard/store?done=approved", Some(&ta)).await;
        assert!(page.body.contains("Waiting for approval (0)"), "{b}");
        // Approving again: the page says why (422).
        let r = w.post(&approve, Some(&ta), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");

        // The student's "my data" lists the purchase.
        let me = w.get("/me", Some(&student)).await;
        assert!(me.body.contains("Your store purchases"), "{b}");
        assert!(me.body.contains("Deadline +24h"), "{b}");
        assert!(me.body.contains("Approved"), "{b}");
    }
}
