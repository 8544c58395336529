//! `/dashboard/settings/retention`: the Admin saves a schedule (audited), bad values come back
//! next to their fields and save nothing, an Instructor reads but cannot post, and the preview
//! of the next run is shown under the form. Every backend.

use axum::http::StatusCode;
use chrono::Duration;
use classcred_service::retention;
use classcred_store::testing::TestDb;
use classcred_store::RetentionValues;

use crate::support::World;

const PATH: &str = "/dashboard/settings/retention";

#[tokio::test]
async fn the_admin_sets_the_retention_schedule_and_sees_the_next_run() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let admin = w.sign_in(&w.a, &w.admin_a).await;

        let page = w.get(PATH, Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", db.backend());
        assert!(page.body.contains("default schedule"), "{}", page.body);
        assert!(page
            .body
            .contains("name=\"inbox_days\" type=\"text\" inputmode=\"numeric\" value=\"30\""));
        assert!(page.body.contains("value=\"365\""));
        assert!(
            page.body.contains("Next run: 2026-03-03 00:00 UTC"),
            "{}",
            page.body
        );
        assert!(page.body.contains("no course end date is set"));
        assert!(page.body.contains("Save retention schedule"));

        let csrf = w.csrf(&admin).await;
        let r = w
            .post(
                PATH,
                Some(&admin),
                &format!(
                    "csrf={csrf}&inbox_days=7&text_days_after_course_end=90&inactive_member_days=30&disabled_community_days=14"
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(
            r.header(axum::http::header::LOCATION),
            Some("/dashboard/settings/retention?saved=1")
        );
        let p = retention::policy(&w.store, &w.a).await.unwrap();
        assert_eq!(
            p.values,
            RetentionValues {
                inbox_days: 7,
                text_days_after_course_end: 90,
                inactive_member_days: 30,
                disabled_community_days: 14,
            }
        );
        assert_eq!(p.updated_by, Some(format!("member:{}", w.admin_a)));
        let audit = w.store.audit_entries(Some(&w.a)).await.unwrap();
        let set = audit.iter().find(|e| e.action == "retention.set").unwrap();
        assert_eq!(set.actor, format!("member:{}", w.admin_a));
        // The other community keeps its defaults.
        assert!(!retention::policy(&w.store, &w.b).await.unwrap().stored);

        // 40 days on, only the Admin (signing in again now) was active: the preview under the
        // form lists the two others by id, not the Admin.
        w.clock.advance(Duration::days(40));
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let page = w.get(&format!("{PATH}?saved=1"), Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Retention schedule saved"));
        assert!(page.body.contains("value=\"7\""));
        assert!(
            page.body.contains("Members the next run erases (2)"),
            "{}",
            page.body
        );
        assert!(page
            .body
            .contains(&format!("href=\"/dashboard/students/{}\"", w.student_a)));
        assert!(page
            .body
            .contains(&format!("href=\"/dashboard/students/{}\"", w.instructor_a)));
        assert!(!page
            .body
            .contains(&format!("href=\"/dashboard/students/{}\"", w.admin_a)));
        assert!(!page.body.contains(&w.admin_b.to_string()));
    }
}

#[tokio::test]
async fn bad_values_are_shown_next_to_their_fields_and_save_nothing() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let csrf = w.csrf(&admin).await;
        let r = w
            .post(
                PATH,
                Some(&admin),
                &format!(
                    "csrf={csrf}&inbox_days=lots&text_days_after_course_end=90&inactive_member_days=5&disabled_community_days=90"
                ),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            db.backend()
        );
        assert!(
            r.body.contains(
                "value=\"lots\" aria-invalid=\"true\" aria-describedby=\"f-inbox_days-error\""
            ),
            "{}",
            r.body
        );
        assert!(r
            .body
            .contains("id=\"f-inbox_days-error\">Enter a whole number of days"));
        // Numbers out of range are checked too, once every value is a number.
        let r = w
            .post(
                PATH,
                Some(&admin),
                &format!(
                    "csrf={csrf}&inbox_days=30&text_days_after_course_end=90&inactive_member_days=5&disabled_community_days=90"
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("id=\"f-inactive_member_days-error\">Inactive members: enter between 30 and 3650 days."), "{}", r.body);
        assert!(r.body.contains("id=\"f-disabled_community_days-error\">Disabled community: enter between 1 and 30 days."));
        assert!(r.body.contains("value=\"90\" aria-invalid=\"true\""));
        assert!(
            !retention::policy(&w.store, &w.a).await.unwrap().stored,
            "nothing saved"
        );
        assert!(!w
            .store
            .audit_entries(Some(&w.a))
            .await
            .unwrap()
            .iter()
            .any(|e| e.action == "retention.set"));
    }
}

#[tokio::test]
async fn an_instructor_reads_the_schedule_but_cannot_change_it() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let instructor = w.sign_in(&w.a, &w.instructor_a).await;
        let page = w.get(PATH, Some(&instructor)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", db.backend());
        assert!(page.body.contains("Only an Admin can change"));
        assert!(!page.body.contains("Save retention schedule"));
        assert!(page.body.contains(" readonly"));
        let csrf = w.csrf(&instructor).await;
        let r = w
            .post(
                PATH,
                Some(&instructor),
                &format!(
                    "csrf={csrf}&inbox_days=7&text_days_after_course_end=90&inactive_member_days=30&disabled_community_days=14"
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(!retention::policy(&w.store, &w.a).await.unwrap().stored);
        // A student does not even read it.
        let student = w.sign_in(&w.a, &w.student_a).await;
        assert_eq!(
            w.get(PATH, Some(&student)).await.status,
            StatusCode::FORBIDDEN
        );
    }
}
