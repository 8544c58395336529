//! Privacy policy versions on the dashboard: after `policy publish` every page shows an Admin
//! the banner until they acknowledge (a CSRF form); students and Instructors never see it; the
//! acknowledgement is recorded with its time and audited; /privacy/policy shows the current
//! text escaped (no HTML injection) and the history, without sign-in.

use axum::http::StatusCode;
use classcred_service::governance::{publish_policy, AUDIT_POLICY_ACKNOWLEDGED};
use classcred_store::testing::TestDb;

use crate::support::World;

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

#[tokio::test]
async fn the_banner_shows_on_every_dashboard_page_until_the_admin_acknowledges() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = World::new(&db, false).await;
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let teacher = w.sign_in(&w.a, &w.instructor_a).await;
        let student = w.sign_in(&w.a, &w.student_a).await;
        let page = w.get("/dashboard", Some(&admin)).await;
        assert!(!page.body.contains("policy-banner"), "{b}: no version yet");

        let published = publish_policy(
            &w.store,
            "2.0",
            "# Policy\n\n<script>alert('x')</script> & cookies",
        )
        .await
        .unwrap();
        let v = published.version;
        for path in [
            "/dashboard",
            "/dashboard/members",
            "/dashboard/settings/course",
            "/me",
        ] {
            let page = w.get(path, Some(&admin)).await;
            assert_eq!(page.status, StatusCode::OK, "{b}: {path}");
            assert!(page.body.contains("policy-banner"), "{b}: {path}");
            assert!(
                page.body
                    .contains("version 2.0 was published on 2026-03-02"),
                "{b}"
            );
            assert!(page.body.contains(&format!("value=\"{}\"", v.id)), "{b}");
        }
        for who in [&teacher, &student] {
            let page = w.get("/me", Some(who)).await;
            assert!(!page.body.contains("policy-banner"), "{b}");
        }

        // Without the CSRF token: refused, nothing recorded.
        let r = w
            .post(
                "/dashboard/policy/acknowledge",
                Some(&admin),
                &form(&[("version_id", &v.id)]),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");
        // Another version id: not found.
        let csrf = w.csrf(&admin).await;
        let r = w
            .post(
                "/dashboard/policy/acknowledge",
                Some(&admin),
                &form(&[("csrf", &csrf), ("version_id", "nope")]),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{b}");
        // A student cannot acknowledge for anyone.
        let scsrf = w.csrf(&student).await;
        let r = w
            .post(
                "/dashboard/policy/acknowledge",
                Some(&student),
                &form(&[("csrf", &scsrf), ("version_id", &v.id)]),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");

        w.clock.advance(chrono::Duration::minutes(7));
        let r = w
            .post(
                "/dashboard/policy/acknowledge",
                Some(&admin),
                &form(&[("csrf", &csrf), ("version_id", &v.id)]),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let page = w.get("/dashboard", Some(&admin)).await;
        assert!(!page.body.contains("policy-banner"), "{b}: banner gone");
        let mut tx = w.store.begin().await.unwrap();
        let acks = tx.policy_acks(&w.a).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(acks.len(), 1, "{b}");
        assert_eq!(acks[0].member_id, w.admin_a);
        assert_eq!(acks[0].acknowledged_at, Some(w.store.now_ms()), "{b}");
        let audited: Vec<_> = w
            .store
            .audit_entries(Some(&w.a))
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == AUDIT_POLICY_ACKNOWLEDGED)
            .collect();
        assert_eq!(audited.len(), 1, "{b}");
        assert_eq!(audited[0].actor, format!("member:{}", w.admin_a));
        // Twice: nothing pending any more.
        let r = w
            .post(
                "/dashboard/policy/acknowledge",
                Some(&admin),
                &form(&[("csrf", &csrf), ("version_id", &v.id)]),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{b}");
        // The other community's Admin still has theirs.
        let other = w.sign_in(&w.b, &w.admin_b).await;
        assert!(w
            .get("/dashboard", Some(&other))
            .await
            .body
            .contains("policy-banner"));

        // The public page: no sign-in, text escaped, history with dates.
        publish_policy(&w.store, "2.1", "Second text")
            .await
            .unwrap();
        let page = w.get("/privacy/policy", None).await;
        assert_eq!(page.status, StatusCode::OK, "{b}");
        assert!(
            page.body.contains("Current version: <strong>2.1</strong>"),
            "{b}"
        );
        assert!(page.body.contains("Second text"));
        assert!(page.body.contains("2.0</td>"), "{b}: history");
        assert!(page.body.contains("2.1 (current)"), "{b}");
        // The first version's text is not shown any more, and when it was it was escaped.
        assert!(!page.body.contains("<script>alert"), "{b}");
    }
}

#[tokio::test]
async fn the_public_policy_page_escapes_the_text() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = World::new(&db, false).await;
        let page = w.get("/privacy/policy", None).await;
        assert!(
            page.body.contains("No version of the privacy policy"),
            "{b}"
        );
        publish_policy(&w.store, "1", "<img src=x onerror=alert(1)> Terms & more")
            .await
            .unwrap();
        let page = w.get("/privacy/policy", None).await;
        assert_eq!(page.status, StatusCode::OK, "{b}");
        assert!(!page.body.contains("<img src=x"), "{b}");
        assert!(
            page.body
                .contains("&lt;img src=x onerror=alert(1)&gt; Terms &amp; more")
                || page.body.contains("&#60;img"),
            "{b}: {}",
            page.body
        );
    }
}
