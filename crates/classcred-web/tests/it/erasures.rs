//! The Admin's erasure requests page and the "Request erasure" button on a member's page:
//! request, cancel during the grace period, the whole class only with its name typed,
//! refusals after the grace period, other roles and communities kept out. Every backend.

use axum::http::StatusCode;
use classcred_store::testing::TestDb;

use crate::support::World;

const PAGE: &str = "/dashboard/privacy/erasures";

fn form(csrf: &str, fields: &[(&str, &str)]) -> String {
    let mut all = vec![("csrf", csrf)];
    all.extend_from_slice(fields);
    serde_urlencoded::to_string(all).unwrap()
}

/// The cancel form's action on the page (the first one).
fn cancel_action(html: &str) -> Option<String> {
    let at = html.find("action=\"/dashboard/privacy/erasures/")? + 8;
    let end = html[at..].find('"')? + at;
    Some(html[at..end].to_owned())
}

async fn audit_actions(w: &World) -> Vec<String> {
    w.store
        .audit_entries(None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn an_admin_requests_a_member_erasure_from_their_page_and_cancels_it_in_grace() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = World::new(&db, false).await;
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let csrf = w.csrf(&admin).await;
        let student_page = format!("/dashboard/students/{}", w.student_a);

        let r = w.get(&student_page, Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{b}");
        assert!(
            r.body.contains("Request erasure"),
            "{b}: the Admin sees the button"
        );
        let instructor = w.sign_in(&w.a, &w.instructor_a).await;
        let r = w.get(&student_page, Some(&instructor)).await;
        assert!(
            !r.body.contains("Request erasure"),
            "{b}: an Instructor does not"
        );

        let r = w
            .post(
                PAGE,
                Some(&admin),
                &form(
                    &csrf,
                    &[("target", "member"), ("member_id", w.student_a.as_str())],
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let to = r.header(axum::http::header::LOCATION).unwrap().to_owned();
        assert_eq!(to, format!("{PAGE}?done=requested"), "{b}");

        let r = w.get(&to, Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{b}");
        assert!(r.body.contains("Erasure requested"), "{b}");
        assert!(r.body.contains("Member Person USTUDENT"), "{b}: {}", r.body);
        assert!(r.body.contains("pending"), "{b}");
        assert!(
            r.body.contains("2026-03-09 12:00 UTC"),
            "{b}: grace until, 7 days"
        );
        assert!(r.body.contains("2026-04-01 12:00 UTC"), "{b}: due, 30 days");
        let action = cancel_action(&r.body).expect("a cancel button in grace");

        // Asking again while it is pending: refused with a message.
        let r = w
            .post(
                PAGE,
                Some(&admin),
                &form(
                    &csrf,
                    &[("target", "member"), ("member_id", w.student_a.as_str())],
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("already requested"), "{b}");

        // Neither the Instructor nor the other community's Admin can cancel it.
        let icsrf = w.csrf(&instructor).await;
        let r = w.post(&action, Some(&instructor), &form(&icsrf, &[])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");
        let other = w.sign_in(&w.b, &w.admin_b).await;
        let ocsrf = w.csrf(&other).await;
        let r = w.post(&action, Some(&other), &form(&ocsrf, &[])).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{b}: another community's request"
        );

        let r = w.post(&action, Some(&admin), &form(&csrf, &[])).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let r = w.get(PAGE, Some(&admin)).await;
        assert!(r.body.contains("cancelled"), "{b}");
        assert!(
            cancel_action(&r.body).is_none(),
            "{b}: no cancel button once cancelled"
        );

        let acts = audit_actions(&w).await;
        assert!(
            acts.contains(&"erasure.request".to_owned()),
            "{b}: {acts:?}"
        );
        assert!(acts.contains(&"erasure.cancel".to_owned()), "{b}: {acts:?}");
    }
}

#[tokio::test]
async fn the_whole_class_needs_its_name_typed_and_cancel_after_grace_is_refused() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = World::new(&db, false).await;
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let csrf = w.csrf(&admin).await;

        let r = w
            .post(
                PAGE,
                Some(&admin),
                &form(&csrf, &[("target", "community"), ("confirm", "Biology")]),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("Type the class"), "{b}");
        assert!(
            r.body.contains("No erasure requests"),
            "{b}: nothing requested"
        );

        let r = w
            .post(
                PAGE,
                Some(&admin),
                &form(
                    &csrf,
                    &[("target", "community"), ("confirm", "Biology 101")],
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let r = w.get(PAGE, Some(&admin)).await;
        assert!(r.body.contains("The whole class"), "{b}");
        let action = cancel_action(&r.body).unwrap();

        // Eight days later the grace period is over.
        w.clock.advance(chrono::Duration::days(8));
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let csrf = w.csrf(&admin).await;
        let r = w.get(PAGE, Some(&admin)).await;
        assert!(
            cancel_action(&r.body).is_none(),
            "{b}: no cancel button after grace"
        );
        let r = w.post(&action, Some(&admin), &form(&csrf, &[])).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("can no longer be cancelled"), "{b}");

        // Past the due date and still not run: flagged overdue.
        w.clock.advance(chrono::Duration::days(23));
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let r = w.get(PAGE, Some(&admin)).await;
        assert!(r.body.contains("overdue"), "{b}");
        assert!(r.body.contains("past their due date"), "{b}");
    }
}
