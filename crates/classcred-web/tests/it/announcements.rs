//! The announcements page as its users meet it: an Instructor schedules a post (the time read
//! in the class's timezone), a refusal shows the form again with the message at its field,
//! the edit form comes back filled, a cancel ends it; students and other classes' Admins get
//! nothing.

use axum::http::StatusCode;
use classcred_store::testing::TestDb;
use classcred_store::AnnouncementState;

use crate::support::World;

fn form(csrf: &str, fields: &[(&str, &str)]) -> String {
    let mut pairs = vec![("csrf", csrf)];
    pairs.extend_from_slice(fields);
    serde_urlencoded::to_string(pairs).unwrap()
}

#[tokio::test]
async fn instructors_schedule_edit_and_cancel_announcements() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = World::new(&db, false).await;
        let me = w.sign_in(&w.a, &w.instructor_a).await;
        let csrf = w.csrf(&me).await;

        let page = w.get("/dashboard/announcements", Some(&me)).await;
        assert_eq!(page.status, StatusCode::OK, "{b}");
        assert!(page.body.contains("No announcements yet."), "{b}");

        // A time that has passed: the form again, 422, the message at the time field, what
        // was typed kept.
        let r = w
            .post(
                "/dashboard/announcements",
                Some(&me),
                &form(
                    &csrf,
                    &[
                        ("channel", "C0123ABCD"),
                        ("text", "Quiz <Friday>"),
                        ("post_at", "2026-03-01T09:00"),
                    ],
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("id=\"f-post_at-error\""), "{b}");
        assert!(r.body.contains("That time has passed"), "{b}");
        assert!(
            r.body.contains("Quiz &#60;Friday&#62;") || r.body.contains("Quiz &lt;Friday&gt;"),
            "{b}: escaped and kept"
        );

        // Scheduled from a Slack channel link.
        let r = w
            .post(
                "/dashboard/announcements",
                Some(&me),
                &form(
                    &csrf,
                    &[
                        ("channel", "https://school.slack.com/archives/C0123ABCD"),
                        ("text", "Quiz on Friday"),
                        ("post_at", "2026-03-03T09:00"),
                    ],
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        assert_eq!(
            r.header(axum::http::header::LOCATION),
            Some("/dashboard/announcements?done=scheduled")
        );
        let mut tx = w.store.begin().await.unwrap();
        let list = tx.for_community(&w.a).announcements(10).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(list.len(), 1, "{b}");
        let a = &list[0];
        assert_eq!(
            (a.channel.as_str(), a.state),
            ("C0123ABCD", AnnouncementState::Scheduled)
        );
        let page = w
            .get("/dashboard/announcements?done=scheduled", Some(&me))
            .await;
        assert!(page.body.contains("Announcement scheduled."), "{b}");
        assert!(page.body.contains("2026-03-03 09:00"), "{b}");

        // The edit form, filled; saving bumps the version.
        let edit = w
            .get(&format!("/dashboard/announcements/{}", a.id), Some(&me))
            .await;
        assert_eq!(edit.status, StatusCode::OK, "{b}");
        assert!(edit.body.contains("value=\"2026-03-03T09:00\""), "{b}");
        assert!(edit.body.contains(">Quiz on Friday</textarea>"), "{b}");
        let r = w
            .post(
                &format!("/dashboard/announcements/{}", a.id),
                Some(&me),
                &form(
                    &csrf,
                    &[
                        ("channel", "C0123ABCD"),
                        ("text", "Quiz on Monday"),
                        ("post_at", "2026-03-03T10:00"),
                    ],
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);

        // Not for students, nor for another class's Admin.
        let student = w.sign_in(&w.a, &w.student_a).await;
        assert_eq!(
            w.get("/dashboard/announcements", Some(&student))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let other = w.sign_in(&w.b, &w.admin_b).await;
        assert_eq!(
            w.get(&format!("/dashboard/announcements/{}", a.id), Some(&other))
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{b}"
        );
        let other_csrf = w.csrf(&other).await;
        assert_eq!(
            w.post(
                &format!("/dashboard/announcements/{}/cancel", a.id),
                Some(&other),
                &form(&other_csrf, &[]),
            )
            .await
            .status,
            StatusCode::NOT_FOUND,
            "{b}"
        );

        // Cancelled: shown as such, with no Edit link; cancelling again is refused.
        let r = w
            .post(
                &format!("/dashboard/announcements/{}/cancel", a.id),
                Some(&me),
                &form(&csrf, &[]),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}");
        let page = w.get("/dashboard/announcements", Some(&me)).await;
        assert!(page.body.contains("Cancelled"), "{b}");
        assert!(page.body.contains("Quiz on Monday"), "{b}");
        assert!(
            !page
                .body
                .contains(&format!("/dashboard/announcements/{}\"", a.id)),
            "{b}"
        );
        let again = w
            .post(
                &format!("/dashboard/announcements/{}/cancel", a.id),
                Some(&me),
                &form(&csrf, &[]),
            )
            .await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(again.body.contains("already sent or cancelled"), "{b}");

        // A missing CSRF token is refused before anything is read.
        let r = w
            .post("/dashboard/announcements", Some(&me), "text=x")
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");
    }
}
