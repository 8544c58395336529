//! Research releases from the dashboard: only an Admin of the class sees the page and gets a
//! release (a zip with the declared tables and README.txt, audited); a student and an
//! instructor are refused (403), the signed-out sent to the start page, a missing CSRF token
//! refused, a k below 5 refused.

use axum::http::{header, StatusCode};
use classcred_store::testing::TestDb;

use crate::support::World;

#[tokio::test]
async fn only_admins_get_a_research_release() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let student = w.sign_in(&w.a, &w.student_a).await;
        let instructor = w.sign_in(&w.a, &w.instructor_a).await;

        let page = w.get("/dashboard/research", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", db.backend());
        assert!(page.body.contains("Build and download"));
        let exports = w.get("/dashboard/exports", Some(&admin)).await;
        assert!(exports.body.contains("/dashboard/research"));

        for cookie in [&student, &instructor] {
            assert_eq!(
                w.get("/dashboard/research", Some(cookie)).await.status,
                StatusCode::FORBIDDEN
            );
            let csrf = w.csrf(cookie).await;
            let r = w
                .post("/dashboard/research", Some(cookie), &format!("csrf={csrf}"))
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
            assert!(!r.body.starts_with("PK"));
        }
        let r = w.post("/dashboard/research", None, "").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        // Without the CSRF token: refused, nothing built.
        let r = w.post("/dashboard/research", Some(&admin), "k=5").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // A k below 5.
        let csrf = w.csrf(&admin).await;
        let r = w
            .post(
                "/dashboard/research",
                Some(&admin),
                &format!("csrf={csrf}&k=2"),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("k must be"));
        assert!(w
            .store
            .audit_entries(Some(&w.a))
            .await
            .unwrap()
            .iter()
            .all(|e| e.action != "research.release"));

        let r = w
            .post(
                "/dashboard/research",
                Some(&admin),
                &format!("csrf={csrf}&k=6"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.header(header::CONTENT_TYPE), Some("application/zip"));
        assert!(r
            .header(header::CONTENT_DISPOSITION)
            .unwrap()
            .contains("classcred-research-2026-W10.zip"));
        assert!(r.body.starts_with("PK"), "a zip");
        // The file names are stored in clear in a zip.
        for f in [
            "fires_per_week_by_role.csv",
            "participation_per_week.csv",
            "level_distribution.csv",
            "members.csv",
            "README.txt",
        ] {
            assert!(r.body.contains(f), "{f} in the zip");
        }

        let entries = w.store.audit_entries(Some(&w.a)).await.unwrap();
        let e = entries
            .iter()
            .find(|e| e.action == "research.release")
            .expect("audited");
        assert_eq!(e.actor, format!("member:{}", w.admin_a));
        let details: serde_json::Value = serde_json::from_str(&e.details).unwrap();
        assert_eq!(details["k"], 6);
        assert_eq!(details["via"], "dashboard");
        assert!(details["tables"]["members"]["rows"].is_u64());
        // Another class's audit chain has none.
        assert!(w
            .store
            .audit_entries(Some(&w.b))
            .await
            .unwrap()
            .iter()
            .all(|e| e.action != "research.release"));
    }
}
