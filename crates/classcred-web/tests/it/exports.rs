//! Full exports from the dashboard: an Admin builds one, watches its progress and downloads
//! it through the signed link; another Admin, the student, an Admin of another class, a
//! tampered signature and an expired link are refused; the purge deletes the file.

use axum::http::{header, StatusCode};
use classcred_store::testing::TestDb;
use classcred_store::Role;

use crate::support::{self, World};

fn link_of(html: &str) -> String {
    html.split('"')
        .find(|s| s.contains("/download?sig="))
        .unwrap_or_else(|| panic!("no download link in {html}"))
        .replace("&amp;", "&")
}

#[tokio::test]
async fn admin_builds_sees_progress_downloads_and_others_are_refused() {
    for db in TestDb::all().await {
        let mut w = World::new(&db, false).await;
        let dir = tempfile::tempdir().unwrap();
        let exports = dir.path().join("exports");
        w.state = w.state.clone().with_export_dir(&exports);
        let admin = w.sign_in(&w.a, &w.admin_a).await;

        // The section is for Admins only.
        let page = w.get("/dashboard/exports", Some(&admin)).await;
        assert!(page.body.contains("Build a full export"));
        let instructor = w.sign_in(&w.a, &w.instructor_a).await;
        let page = w.get("/dashboard/exports", Some(&instructor)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("Build a full export"));

        // Without the CSRF token: refused, nothing started.
        let r = w.post("/dashboard/exports", Some(&admin), "").await;
        assert_ne!(r.status, StatusCode::SEE_OTHER);

        let csrf = w.csrf(&admin).await;
        let r = w
            .post("/dashboard/exports", Some(&admin), &format!("csrf={csrf}"))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let job_path = r.header(header::LOCATION).unwrap().to_owned();
        let id = job_path.rsplit('/').next().unwrap().to_owned();

        let page = w.get(&job_path, Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("http-equiv=\"refresh\""),
            "refreshes while queued"
        );
        assert!(!page.body.contains("/download?sig="));

        classcred_service::export::run_build(&w.store, &exports, &w.a, &id)
            .await
            .unwrap();
        let page = w.get(&job_path, Some(&admin)).await;
        assert!(!page.body.contains("http-equiv=\"refresh\""));
        let link = link_of(&page.body);

        let r = w.get(&link, Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", db.backend());
        assert_eq!(r.header(header::CONTENT_TYPE), Some("application/zip"));
        assert!(r.body.starts_with("PK"), "a zip");

        // Another Admin of the class, the student, an Admin of another class: not theirs.
        let other_admin = support::member(&w.store, &w.a, "UADMIN2", Role::Admin).await;
        let other = w.sign_in(&w.a, &other_admin).await;
        let student = w.sign_in(&w.a, &w.student_a).await;
        let admin_b = w.sign_in(&w.b, &w.admin_b).await;
        for cookie in [&other, &student, &admin_b] {
            assert_eq!(
                w.get(&link, Some(cookie)).await.status,
                StatusCode::NOT_FOUND
            );
            assert_eq!(
                w.get(&job_path, Some(cookie)).await.status,
                StatusCode::NOT_FOUND
            );
        }
        // Signed out: to the start page.
        assert_eq!(w.get(&link, None).await.status, StatusCode::SEE_OTHER);

        // A tampered signature.
        let mut tampered = link.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        assert_eq!(
            w.get(&tampered, Some(&admin)).await.status,
            StatusCode::FORBIDDEN
        );
        let no_sig = link.split('?').next().unwrap().to_owned();
        assert_eq!(
            w.get(&no_sig, Some(&admin)).await.status,
            StatusCode::FORBIDDEN
        );

        // Audited, ids only.
        let entries = w.store.audit_entries(Some(&w.a)).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        for a in ["export.start", "export.build", "export.download"] {
            assert!(actions.contains(&a), "{a} audited: {actions:?}");
        }

        // After 24 hours the link is refused (re-sign in: sessions expire too) and the
        // purge deletes the file.
        w.clock.advance(chrono::Duration::hours(25));
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        assert_eq!(
            w.get(&link, Some(&admin)).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            classcred_service::export::run_purge(&w.store, &exports)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            std::fs::read_dir(&exports).unwrap().count(),
            0,
            "file purged"
        );
        let page = w.get(&job_path, Some(&admin)).await;
        assert!(page.body.contains("expired"));
    }
}

/// A student's own export (what an approved access request starts) is offered on "my data",
/// downloads for them, and for no one else; before it is built there is no link.
#[tokio::test]
async fn a_students_own_export_is_offered_on_my_data() {
    for db in TestDb::all().await {
        let mut w = World::new(&db, false).await;
        let dir = tempfile::tempdir().unwrap();
        let exports = dir.path().join("exports");
        w.state = w.state.clone().with_export_dir(&exports);
        let student = w.sign_in(&w.a, &w.student_a).await;

        let job = classcred_service::export::start_export(
            &w.store,
            &w.a,
            classcred_service::export::ExportSubject::Member(w.student_a.clone()),
            &w.student_a,
        )
        .await
        .unwrap();
        let page = w.get("/me", Some(&student)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("/download?sig="), "not built yet");

        classcred_service::export::run_build(&w.store, &exports, &w.a, &job.id)
            .await
            .unwrap();
        let page = w.get("/me", Some(&student)).await;
        assert!(page.body.contains("Your exports"), "{}", page.body);
        let link = link_of(&page.body);
        let r = w.get(&link, Some(&student)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", db.backend());
        assert!(r.body.starts_with("PK"), "a zip");

        let admin = w.sign_in(&w.a, &w.admin_a).await;
        assert_eq!(
            w.get(&link, Some(&admin)).await.status,
            StatusCode::NOT_FOUND
        );
        let page = w.get("/me", Some(&admin)).await;
        assert!(
            !page.body.contains("/download?sig="),
            "not the Admin's export"
        );
    }
}
