//! The Admin's forms: roles on the members page, rewards and course settings. Bad input is
//! shown next to its field with what was typed and saves nothing; a saved quota binds later
//! gives; changes are audited, processed by the engine and replay. Every backend.

use axum::http::StatusCode;
use chrono::{Duration, TimeZone, Utc};
use classcred_engine::{Event, MemberId, MessagePosted};
use classcred_service::{drain, ingest, join_member, replay};
use classcred_store::testing::TestDb;
use classcred_store::{MemberKind, MemberProfile, NewMember, Role};

use crate::support::World;

fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_owned()
}

/// The rewards form as the page sends it today, with `changes` replacing some fields.
async fn rewards_form(w: &World, cookie: &str, changes: &[(&str, &str)]) -> String {
    let page = w.get("/dashboard/settings/rewards", Some(cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    let mut pairs: Vec<(String, String)> = Vec::new();
    let form = &page.body[page
        .body
        .find("action=\"/dashboard/settings/rewards\"")
        .unwrap()..];
    for chunk in form.split("<input ").skip(1) {
        let attr = |name: &str| {
            let marker = format!("{name}=\"");
            chunk.find(&marker).map(|at| {
                let rest = &chunk[at + marker.len()..];
                rest[..rest.find('"').unwrap()].to_owned()
            })
        };
        let (Some(name), value) = (attr("name"), attr("value")) else {
            continue;
        };
        if attr("type").as_deref() == Some("checkbox")
            && !chunk[..chunk.find('>').unwrap()].contains(" checked")
        {
            continue;
        }
        pairs.push((name, value.unwrap_or_default()));
    }
    for (name, value) in changes {
        pairs.retain(|(n, _)| n != name);
        pairs.push(((*name).to_owned(), (*value).to_owned()));
    }
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", enc(n), enc(&v.replace("&amp;", "&"))))
        .collect::<Vec<_>>()
        .join("&")
}

async fn settings_json(w: &World) -> String {
    let mut tx = w.store.begin().await.unwrap();
    let s = classcred_service::settings(&mut tx, &w.a).await.unwrap();
    tx.commit().await.unwrap();
    serde_json::to_string(&s).unwrap()
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
async fn bad_rewards_input_is_shown_next_to_its_field_kept_and_saves_nothing() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let before = settings_json(&w).await;
        let form = rewards_form(
            &w,
            &admin,
            &[
                ("daily_quota", "lots"),
                ("levels[1].name", "Renamed"),
                ("gift_tax.brackets[1].rate_percent", "150"),
            ],
        )
        .await;
        let r = w
            .post("/dashboard/settings/rewards", Some(&admin), &form)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            db.backend()
        );
        // The message sits next to the field, which says it is invalid and keeps the text.
        assert!(r.body.contains(
            "name=\"daily_quota\" type=\"text\" inputmode=\"numeric\" value=\"lots\" aria-invalid=\"true\" aria-describedby=\"f-daily_quota-error\""
        ), "{}", r.body);
        assert!(r
            .body
            .contains("id=\"f-daily_quota-error\">Enter a whole number"));
        assert!(r
            .body
            .contains("aria-describedby=\"f-gift_tax.brackets[1].rate_percent-error\""));
        assert!(r.body.contains("value=\"Renamed\""), "other input kept");
        assert_eq!(settings_json(&w).await, before, "nothing saved");
        // A rule only the engine knows (levels must go up) is refused the same way.
        let form = rewards_form(&w, &admin, &[("levels[2].threshold", "5")]).await;
        let r = w
            .post("/dashboard/settings/rewards", Some(&admin), &form)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.body
                .contains("aria-describedby=\"f-levels[2].threshold-error\""),
            "{}",
            r.body
        );
        assert!(r.body.contains("strictly ascending"));
        assert_eq!(settings_json(&w).await, before, "nothing saved");
        assert!(!audit_actions(&w)
            .await
            .contains(&"settings.change".to_owned()));
        // Course: a bad timezone and an end before the start.
        let csrf = w.csrf(&admin).await;
        let r = w
            .post(
                "/dashboard/settings/course",
                Some(&admin),
                &format!("csrf={csrf}&course_start=2026-09-01&course_end=2026-08-01&timezone=Mars%2FOlympus"),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.body
                .contains("value=\"Mars/Olympus\" aria-invalid=\"true\""),
            "{}",
            r.body
        );
        assert!(r.body.contains("IANA name"));
        assert!(r
            .body
            .contains("id=\"f-course_end-error\">The end date must be on or after"));
        assert_eq!(settings_json(&w).await, before, "nothing saved");
        // The last Admin cannot step down; the message sits by that row's field.
        let r = w
            .post(
                &format!("/dashboard/members/{}/role", w.admin_a),
                Some(&admin),
                &format!("csrf={csrf}&role=student"),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            db.backend()
        );
        assert!(r
            .body
            .contains(&format!("aria-describedby=\"role-{}-error\"", w.admin_a)));
        assert!(r.body.contains("last Admin"));
        // Staff who are not Admin read the page but cannot post it.
        let instructor = w.sign_in(&w.a, &w.instructor_a).await;
        let page = w
            .get("/dashboard/settings/rewards", Some(&instructor))
            .await;
        assert!(page.body.contains("Only an Admin can change"));
        let form = rewards_form(&w, &admin, &[("daily_quota", "9")]).await;
        let r = w
            .post("/dashboard/settings/rewards", Some(&instructor), &form)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(settings_json(&w).await, before);
    }
}

async fn give(w: &World, id: &str, from: &str, to: &str, fires: u32, minutes: i64) {
    let when = Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap() + Duration::minutes(minutes);
    let event = Event::MessagePosted(MessagePosted {
        is_question: false,
        channel: None,
        platform_message_id: format!("C1:{id}"),
        author: MemberId::new(from),
        mentions: vec![MemberId::new(to)],
        fire_count: fires,
        text: "thanks :fire:".into(),
        thread: None,
        occurred_at: when,
    });
    let mut tx = w.store.begin().await.unwrap();
    ingest(&mut tx, &w.a, "slack", id, &event).await.unwrap();
    tx.commit().await.unwrap();
    drain(&w.store, &w.a).await.unwrap();
}

async fn earned(w: &World, uid: &str) -> i64 {
    let mut tx = w.store.begin().await.unwrap();
    let b = tx.for_community(&w.a).balances().await.unwrap();
    tx.commit().await.unwrap();
    b.into_iter()
        .find(|b| b.platform_user_id == uid)
        .map_or(0, |b| b.earned_milli)
}

#[tokio::test]
async fn forms_change_quota_course_and_roles_through_the_engine_and_replay_matches() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = World::new(&db, false).await;
        // Members that joined through events, so replay knows their roles from the start.
        let mut joined = Vec::new();
        for (uid, role) in [
            ("UADMIN2", Role::Admin),
            ("UGIVER", Role::Student),
            ("UGETTER", Role::Student),
        ] {
            let mut tx = w.store.begin().await.unwrap();
            let member = NewMember {
                platform_user_id: uid.into(),
                role,
                kind: MemberKind::Human,
                profile: MemberProfile::default(),
            };
            let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
            joined.push(
                join_member(&mut tx, &w.a, "slack", &member, at)
                    .await
                    .unwrap(),
            );
            tx.commit().await.unwrap();
        }
        let admin = w.sign_in(&w.a, &joined[0]).await;
        // Quota 2 through the form; a give of 3 is then refused, a give of 2 counts.
        let form = rewards_form(&w, &admin, &[("daily_quota", "2")]).await;
        let r = w
            .post("/dashboard/settings/rewards", Some(&admin), &form)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let back = r.header(axum::http::header::LOCATION).unwrap().to_owned();
        let page = w.get(&back, Some(&admin)).await;
        assert!(page
            .body
            .contains("Settings saved. The change applies to events from now on"));
        assert!(page
            .body
            .contains("name=\"daily_quota\" type=\"text\" inputmode=\"numeric\" value=\"2\""));
        give(&w, "Ev1", "UGIVER", "UGETTER", 3, 1).await;
        assert_eq!(
            earned(&w, "UGETTER").await,
            0,
            "{b}: over the new quota of 2"
        );
        give(&w, "Ev2", "UGIVER", "UGETTER", 2, 2).await;
        assert_eq!(earned(&w, "UGETTER").await, 2000, "{b}");

        // Course dates and timezone.
        let csrf = w.csrf(&admin).await;
        let r = w
            .post(
                "/dashboard/settings/course",
                Some(&admin),
                &format!(
                    "csrf={csrf}&course_start=2026-01-05&course_end=&timezone=Europe%2FBerlin"
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let s = settings_json(&w).await;
        assert!(
            s.contains("\"timezone\":\"Europe/Berlin\"") && s.contains("2026-01-05"),
            "{s}"
        );

        // A role change on the members page: processed, audited, confirmed.
        let members = w.get("/dashboard/members", Some(&admin)).await;
        assert!(members
            .body
            .contains(&format!("href=\"/dashboard/students/{}\"", w.student_a)));
        let r = w
            .post(
                &format!("/dashboard/members/{}/role", w.student_a),
                Some(&admin),
                &format!("csrf={csrf}&role=instructor"),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let page = w
            .get(
                r.header(axum::http::header::LOCATION).unwrap(),
                Some(&admin),
            )
            .await;
        assert!(
            page.body
                .contains("Role changed: Person USTUDENT is now Instructor."),
            "{}",
            page.body
        );
        let mut tx = w.store.begin().await.unwrap();
        let role = tx
            .for_community(&w.a)
            .member(&w.student_a)
            .await
            .unwrap()
            .role;
        tx.commit().await.unwrap();
        assert_eq!(role, Role::Instructor, "{b}");
        // A member of another class is not found.
        let r = w
            .post(
                &format!("/dashboard/members/{}/role", w.admin_b),
                Some(&admin),
                &format!("csrf={csrf}&role=student"),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{b}");

        let actions = audit_actions(&w).await;
        assert_eq!(
            actions.iter().filter(|a| *a == "settings.change").count(),
            2,
            "{b}: {actions:?}"
        );
        assert!(
            actions.iter().any(|a| a == "member.role_change"),
            "{b}: {actions:?}"
        );
        let report = replay(&w.store, &w.a, |_, _| {}).await.unwrap();
        assert!(report.matches(), "{b}: {:?}", report.differences);

        // The recipient's "my data": the fire received with its words, and what is stored.
        let getter = w.sign_in(&w.a, &joined[2]).await;
        let me = w.get("/me", Some(&getter)).await;
        assert_eq!(me.status, StatusCode::OK);
        assert!(me.body.contains("gave 2 🔥"), "{b}: {}", me.body);
        assert!(me.body.contains("<blockquote>thanks 🔥</blockquote>"));
        assert!(me.body.contains("What we store about you"));
        assert!(me.body.contains("encrypted with your class"));
    }
}
