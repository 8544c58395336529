//! Settings and role changes through the inbox: a mid-course quota change, replay after it,
//! who may make changes, the last-Admin guard, and the audit trail. Every backend.

use crate::common::*;

use chrono::Duration;
use classcred_engine::{CommunitySettings, Event, MemberId, SettingsChanged};
use classcred_service::changes::{change_role, change_settings, ChangeError};
use classcred_service::replay;
use classcred_store::testing::TestDb;
use classcred_store::{Role, Store};
use serde_json::json;

fn start_settings() -> serde_json::Value {
    json!({ "timezone": "Europe/Berlin", "course_start": "2026-01-05", "daily_quota": 2 })
}

async fn current_settings(store: &Store, w: &World) -> CommunitySettings {
    let mut tx = store.begin().await.unwrap();
    let s = classcred_service::settings(&mut tx, &w.community)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    s
}

async fn role_of(w: &World, uid: &str) -> Role {
    let mut tx = w.store.begin().await.unwrap();
    let m = tx
        .for_community(&w.community)
        .member_by_platform_id(uid)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    m.role
}

async fn audit_actions(store: &Store) -> Vec<(String, String)> {
    store
        .audit_entries(None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.details))
        .collect()
}

#[tokio::test]
async fn a_mid_course_quota_change_binds_later_gives_and_replays() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, start_settings()).await;
        let admin = join(&w, "UADMIN", Role::Admin).await;
        join(&w, "UA", Role::Student).await;
        join(&w, "UB", Role::Student).await;
        let ut = join(&w, "UT", Role::Student).await;
        let t = at(2026, 3, 2, 10, 0, 0);

        // Quota 2: asking for 3 gives nothing.
        deliver(&w, "Ev1", &post("1", "UA", &["UB"], 3, t)).await;
        settle(&w).await;
        assert_eq!(earned(&w, "UB").await, 0, "{b}: over the quota of 2");

        // The Admin raises the quota to 4, later that day.
        let mut new = current_settings(&w.store, &w).await;
        new.daily_quota = 4;
        let change = change_settings(
            &w.store,
            &w.community,
            &admin,
            new.clone(),
            t + Duration::minutes(5),
        )
        .await
        .unwrap();
        assert!(change.applied, "{b}");
        assert!(change.event_id.unwrap().starts_with("settings:"));
        assert_eq!(current_settings(&w.store, &w).await, new, "{b}");

        // The same give now fits the new quota.
        deliver(
            &w,
            "Ev2",
            &post("2", "UA", &["UB"], 3, t + Duration::minutes(10)),
        )
        .await;
        settle(&w).await;
        assert_eq!(earned(&w, "UB").await, 3000, "{b}: obeys the new quota");

        // A role change, then more activity: replay reproduces all of it.
        let change = change_role(
            &w.store,
            &w.community,
            &admin,
            &ut,
            Role::Instructor,
            t + Duration::minutes(20),
        )
        .await
        .unwrap();
        assert!(change.applied, "{b}");
        assert_eq!(role_of(&w, "UT").await, Role::Instructor, "{b}");
        deliver(
            &w,
            "Ev3",
            &post("3", "UT", &["UA"], 6, t + Duration::minutes(30)),
        )
        .await;
        settle(&w).await;
        assert_eq!(
            earned(&w, "UA").await,
            6000,
            "{b}: instructors give without limit"
        );

        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);

        // The audit names who changed what: setting names, no values.
        let actions = audit_actions(&w.store).await;
        let settings_entry = actions
            .iter()
            .find(|(a, _)| a == "settings.change")
            .unwrap();
        let details: serde_json::Value = serde_json::from_str(&settings_entry.1).unwrap();
        assert_eq!(details["changed"], json!(["daily_quota"]), "{b}");
        assert!(
            actions.iter().any(|(a, d)| a == "member.role_change"
                && d.contains("\"from\":\"student\"")
                && d.contains("\"to\":\"instructor\"")),
            "{b}: {actions:?}"
        );
        w.store.close().await;
    }
}

#[tokio::test]
async fn replay_detects_settings_changed_outside_the_inbox() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, start_settings()).await;
        join(&w, "UA", Role::Student).await;
        settle(&w).await;
        // Writing the settings column by hand (not through an event) is a difference.
        sqlx::query("UPDATE community SET settings = $1 WHERE id = $2")
            .bind(json!({ "daily_quota": 9 }).to_string())
            .bind(w.community.as_str())
            .execute(w.store.pool())
            .await
            .unwrap();
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(
            report
                .differences
                .iter()
                .any(|d| d.contains("community settings")),
            "{b}: {:?}",
            report.differences
        );
        // And configuring settings once events were processed is refused.
        let mut tx = w.store.begin().await.unwrap();
        let refused = tx
            .for_community(&w.community)
            .configure_settings_before_activity("{}")
            .await;
        assert!(refused.is_err(), "{b}");
        tx.rollback().await.unwrap();
        w.store.close().await;
    }
}

#[tokio::test]
async fn only_admins_change_and_bad_input_stores_nothing() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, start_settings()).await;
        let admin = join(&w, "UADMIN", Role::Admin).await;
        let teacher = join(&w, "UT", Role::Instructor).await;
        let student = join(&w, "UA", Role::Student).await;
        settle(&w).await;
        let now = at(2026, 3, 2, 10, 0, 0);
        let before = current_settings(&w.store, &w).await;
        let mut raised = before.clone();
        raised.daily_quota = 9;

        for who in [&teacher, &student] {
            let e = change_settings(&w.store, &w.community, who, raised.clone(), now)
                .await
                .unwrap_err();
            assert!(matches!(e, ChangeError::Forbidden), "{b}: {e:?}");
            let e = change_role(&w.store, &w.community, who, &student, Role::Instructor, now)
                .await
                .unwrap_err();
            assert!(matches!(e, ChangeError::Forbidden), "{b}: {e:?}");
        }

        // Invalid settings name the field.
        let mut bad = before.clone();
        bad.gift_tax.brackets[1].rate_percent = 120;
        let e = change_settings(&w.store, &w.community, &admin, bad, now)
            .await
            .unwrap_err();
        assert_eq!(e.field(), Some("gift_tax.brackets[1].rate_percent"), "{b}");

        // A member of another community is not found here, as actor or as target.
        let other = community(&w.store, start_settings(), "T2").await;
        let e = change_settings(&w.store, &other, &admin, raised.clone(), now)
            .await
            .unwrap_err();
        assert!(matches!(e, ChangeError::NotFound), "{b}: {e:?}");

        assert_eq!(current_settings(&w.store, &w).await, before, "{b}");
        assert_eq!(role_of(&w, "UA").await, Role::Student, "{b}");
        assert!(
            audit_actions(&w.store).await.is_empty(),
            "{b}: nothing audited"
        );

        // A settings change sent by a non-Admin straight into the inbox is refused by the
        // engine too.
        deliver(
            &w,
            "forged",
            &Event::SettingsChanged(SettingsChanged {
                settings: raised,
                by: MemberId::new("UA"),
                occurred_at: now,
            }),
        )
        .await;
        settle(&w).await;
        assert_eq!(current_settings(&w.store, &w).await, before, "{b}");
        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);
        w.store.close().await;
    }
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, start_settings()).await;
        let first = join(&w, "UADMIN1", Role::Admin).await;
        let second = join(&w, "UADMIN2", Role::Student).await;
        settle(&w).await;
        let now = at(2026, 3, 2, 10, 0, 0);

        let e = change_role(
            &w.store,
            &w.community,
            &first,
            &first,
            Role::Instructor,
            now,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, ChangeError::LastAdmin), "{b}: {e:?}");
        assert_eq!(e.field(), Some("role"));

        // With a second Admin, one may step down; the other then cannot.
        change_role(&w.store, &w.community, &first, &second, Role::Admin, now)
            .await
            .unwrap();
        let c = change_role(&w.store, &w.community, &second, &first, Role::Student, now)
            .await
            .unwrap();
        assert!(c.applied, "{b}");
        assert_eq!(role_of(&w, "UADMIN1").await, Role::Student, "{b}");
        let e = change_role(&w.store, &w.community, &second, &second, Role::Student, now)
            .await
            .unwrap_err();
        assert!(matches!(e, ChangeError::LastAdmin), "{b}: {e:?}");
        // The demoted Admin can no longer change anything.
        let e = change_role(&w.store, &w.community, &first, &second, Role::Student, now)
            .await
            .unwrap_err();
        assert!(matches!(e, ChangeError::Forbidden), "{b}: {e:?}");

        let report = replay(&w.store, &w.community, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);
        w.store.close().await;
    }
}
