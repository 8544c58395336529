//! Privacy requests through the dashboard: a student asks from "my data" and sees the request
//! listed; the Admin's queue approves and declines; the student sees the decision and reason;
//! Instructors and students get 403 on the queue; nobody reaches another member's request.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use classcred_service::privacy_requests::{my_requests, ActionFuture, RequestActions};
use classcred_store::testing::TestDb;
use classcred_store::{CommunityId, MemberRowId, PrivacyRequestState, Role, Store};

use crate::support::{member, World};

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl RequestActions for Recorder {
    fn start_member_export<'a>(
        &'a self,
        _: &'a Store,
        _: &'a CommunityId,
        member: &'a MemberRowId,
    ) -> ActionFuture<'a> {
        Box::pin(async move {
            self.0.lock().unwrap().push(format!("export {member}"));
            Ok("export-1".to_owned())
        })
    }

    fn request_member_erasure<'a>(
        &'a self,
        _: &'a Store,
        _: &'a CommunityId,
        member: &'a MemberRowId,
        _: &'a MemberRowId,
    ) -> ActionFuture<'a> {
        Box::pin(async move {
            self.0.lock().unwrap().push(format!("erase {member}"));
            Ok("erasure-1".to_owned())
        })
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

#[tokio::test]
async fn a_student_asks_the_admin_answers_and_the_student_sees_the_decision() {
    for db in TestDb::all().await {
        let b = db.backend();
        let mut w = World::new(&db, false).await;
        let recorder = Arc::new(Recorder::default());
        w.state = w.state.clone().with_privacy_actions(recorder.clone());
        let student = w.sign_in(&w.a, &w.student_a).await;
        let csrf = w.csrf(&student).await;

        // The form on "my data": ask for an export.
        let r = w
            .post(
                "/me/privacy-requests",
                Some(&student),
                &form(&[
                    ("csrf", &csrf),
                    ("kind", "access"),
                    ("details", "all of it please"),
                ]),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let page = w.get("/me?privacy=opened", Some(&student)).await;
        assert!(page.body.contains("sent to your class"), "{b}");
        assert!(page.body.contains("See / export my data"));
        assert!(page.body.contains("all of it please"));
        assert!(
            page.body.contains("answer due by <time>2026-04-01</time>"),
            "{b}"
        );
        // A second one of the same kind: the form says why.
        let again = w
            .post(
                "/me/privacy-requests",
                Some(&student),
                &form(&[("csrf", &csrf), ("kind", "access")]),
            )
            .await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(again.body.contains("already have an open access request"));

        let mine = my_requests(&w.store, &w.a, &w.student_a).await.unwrap();
        let access_id = mine[0].id.clone();

        // Nobody else reaches it: another student cannot cancel it, B's Admin cannot answer it.
        let other = member(&w.store, &w.a, "UOTHERSTUDENT", Role::Student).await;
        let other_cookie = w.sign_in(&w.a, &other).await;
        let other_csrf = w.csrf(&other_cookie).await;
        let r = w
            .post(
                &format!("/me/privacy-requests/{access_id}/cancel"),
                Some(&other_cookie),
                &form(&[("csrf", &other_csrf)]),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{b}");
        assert!(!w
            .get("/me", Some(&other_cookie))
            .await
            .body
            .contains("all of it please"));
        let admin_b = w.sign_in(&w.b, &w.admin_b).await;
        let admin_b_csrf = w.csrf(&admin_b).await;
        let r = w
            .post(
                &format!("/dashboard/privacy/requests/{access_id}/approve"),
                Some(&admin_b),
                &form(&[("csrf", &admin_b_csrf)]),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{b}");
        assert!(!w
            .get("/dashboard/privacy/requests", Some(&admin_b))
            .await
            .body
            .contains(&access_id));

        // Instructors and students may not open the queue.
        let instructor = w.sign_in(&w.a, &w.instructor_a).await;
        for cookie in [&student, &instructor] {
            let r = w.get("/dashboard/privacy/requests", Some(cookie)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");
        }

        // The Admin's queue lists it with its due date; approving starts the export.
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let admin_csrf = w.csrf(&admin).await;
        let q = w.get("/dashboard/privacy/requests", Some(&admin)).await;
        assert_eq!(q.status, StatusCode::OK);
        assert!(q.body.contains(&access_id));
        assert!(q.body.contains("Person USTUDENT"));
        assert!(q.body.contains("due <time>2026-04-01</time>"), "{b}");
        assert!(!q.body.contains("OVERDUE"));
        let r = w
            .post(
                &format!("/dashboard/privacy/requests/{access_id}/approve"),
                Some(&admin),
                &form(&[("csrf", &admin_csrf)]),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        assert_eq!(
            *recorder.0.lock().unwrap(),
            vec![format!("export {}", w.student_a)]
        );
        let page = w.get("/me", Some(&student)).await;
        assert!(page.body.contains("Approved"), "{b}");
        assert!(page.body.contains("Your export is being prepared"));

        // A deletion request, declined: the reason is required, and the student sees it.
        let r = w
            .post(
                "/me/privacy-requests",
                Some(&student),
                &form(&[("csrf", &csrf), ("kind", "deletion")]),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let deletion_id = my_requests(&w.store, &w.a, &w.student_a).await.unwrap()[0]
            .id
            .clone();
        let r = w
            .post(
                &format!("/dashboard/privacy/requests/{deletion_id}/decline"),
                Some(&admin),
                &form(&[("csrf", &admin_csrf), ("reason", " ")]),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("a reason is required"));
        // Still open, and overdue once 30 days have passed (sessions last 12 hours: sign in
        // again).
        w.clock.advance(chrono::Duration::days(31));
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let admin_csrf = w.csrf(&admin).await;
        let q = w.get("/dashboard/privacy/requests", Some(&admin)).await;
        assert!(q.body.contains("OVERDUE"), "{b}");
        assert!(q.body.contains("1 overdue"));
        let r = w
            .post(
                &format!("/dashboard/privacy/requests/{deletion_id}/decline"),
                Some(&admin),
                &form(&[
                    ("csrf", &admin_csrf),
                    ("reason", "Your grades must be kept until the term ends"),
                ]),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        assert_eq!(
            recorder.0.lock().unwrap().len(),
            1,
            "{b}: declining runs nothing"
        );
        let student = w.sign_in(&w.a, &w.student_a).await;
        let page = w.get("/me", Some(&student)).await;
        assert!(page.body.contains("Declined"), "{b}");
        assert!(page
            .body
            .contains("Reason: Your grades must be kept until the term ends"));
        let state = my_requests(&w.store, &w.a, &w.student_a).await.unwrap()[0].state;
        assert_eq!(state, PrivacyRequestState::Declined);
    }
}
