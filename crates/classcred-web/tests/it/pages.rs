//! What the pages show, from the viewer's own class only.

use axum::http::StatusCode;
use classcred_store::testing::TestDb;

use crate::support::World;

#[tokio::test]
async fn staff_pages_show_this_class_and_nothing_of_another() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let cookie = w.sign_in(&w.a, &w.instructor_a).await;
        let members = w.get("/dashboard/members", Some(&cookie)).await;
        assert_eq!(members.status, StatusCode::OK, "{}", db.backend());
        for name in ["Person UADMIN", "Person UINSTR", "Person USTUDENT"] {
            assert!(members.body.contains(name), "{name}");
        }
        assert!(
            !members.body.contains("Person UOTHER"),
            "no member of class B"
        );
        let board = w
            .get("/dashboard/leaderboard?period=week", Some(&cookie))
            .await;
        assert_eq!(board.status, StatusCode::OK);
        assert!(
            board.body.contains("Person USTUDENT"),
            "students are ranked"
        );
        assert!(!board.body.contains("Person UINSTR"), "staff are not");
        assert!(board.body.contains("aria-current=\"page\">This week"));
        // The navigation lists staff pages for staff, only "My data" for students.
        assert!(board.body.contains("href=\"/dashboard/members\""));
        let student = w.sign_in(&w.a, &w.student_a).await;
        let me = w.get("/me", Some(&student)).await;
        assert!(!me.body.contains("href=\"/dashboard/members\""));
        assert!(me.body.contains("href=\"/me\""));
        // The landing page says how to sign in.
        let landing = w.get("/", None).await;
        assert!(landing.body.contains("/cred dashboard"));
        assert!(landing.body.contains("classcred admin login-link"));
        assert!(landing.body.contains("lang=\"en\""));
        assert!(landing.body.contains("href=\"#main\""), "skip link");
    }
}
