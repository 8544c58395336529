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

/// An Admin awards one of the class's own badges from a student's page: through the inbox
/// (the badge appears once processed), audited; an unknown badge is refused next to the field.
#[tokio::test]
async fn an_admin_awards_a_class_badge_from_the_students_page() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let mut settings = {
            let mut tx = w.store.begin().await.unwrap();
            let s = classcred_service::settings(&mut tx, &w.a).await.unwrap();
            tx.commit().await.unwrap();
            s
        };
        settings.custom_badges.push(classcred_engine::CustomBadge {
            id: classcred_engine::BadgeId::new("lab-hero"),
            name: "Lab hero".into(),
            description: "Helped in the lab".into(),
        });
        classcred_service::changes::change_settings(
            &w.store,
            &w.a,
            &w.admin_a,
            settings,
            w.store.clock().now(),
        )
        .await
        .unwrap();
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let page = format!("/dashboard/students/{}", w.student_a);
        let r = w.get(&page, Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("Award one of the class"), "{}", r.body);

        let csrf = w.csrf(&admin).await;
        let action = format!("{page}/badges");
        let r = w
            .post(&action, Some(&admin), &format!("csrf={csrf}&badge=no-such"))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            db.backend()
        );
        assert!(r.body.contains("aria-invalid=\"true\""), "{}", r.body);
        assert!(r.body.contains("own badges."), "{}", r.body);

        let r = w
            .post(
                &action,
                Some(&admin),
                &format!("csrf={csrf}&badge=lab-hero"),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", db.backend());
        assert_eq!(
            r.header(axum::http::header::LOCATION),
            Some(format!("{page}?badge=awarded").as_str())
        );
        let r = w.get(&format!("{page}?badge=awarded"), Some(&admin)).await;
        assert!(r.body.contains("Badge awarded."), "{}", r.body);
        assert!(r.body.contains("<li>Lab hero</li>"), "{}", r.body);
        let grants = w
            .store
            .audit_entries(None)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "member.badge_grant")
            .count();
        assert_eq!(grants, 1, "{}", db.backend());

        // An Instructor sees the page but may not award.
        let instructor = w.sign_in(&w.a, &w.instructor_a).await;
        let r = w.get(&page, Some(&instructor)).await;
        assert!(!r.body.contains("Award one of the class"));
        let csrf = w.csrf(&instructor).await;
        let r = w
            .post(
                &action,
                Some(&instructor),
                &format!("csrf={csrf}&badge=lab-hero"),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
}
