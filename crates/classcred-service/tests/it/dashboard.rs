//! Dashboard read models against real databases (SQLite always, PostgreSQL when configured):
//! a small class with a closed pair, one-way fire and an isolated student.

use crate::common::*;

use chrono::NaiveDate;
use classcred_service::dashboard::{
    grades_csv, members, my_data, network, overview, profile, GradeFormat, PROFILE_READ_ACTION,
};
use classcred_store::testing::TestDb;
use classcred_store::{MemberRowId, Role};
use serde_json::json;

struct Class {
    w: World,
    teacher: MemberRowId,
    a: MemberRowId,
    b: MemberRowId,
    c: MemberRowId,
    d: MemberRowId,
    e: MemberRowId,
}

async fn class(db: &TestDb) -> Class {
    let w = world(
        db,
        json!({ "timezone": "Europe/Berlin", "course_start": "2026-02-23", "daily_quota": 5 }),
    )
    .await;
    let teacher = join(&w, "UT", Role::Instructor).await;
    let a = join(&w, "UA", Role::Student).await;
    let b = join(&w, "UB", Role::Student).await;
    let c = join(&w, "UC", Role::Student).await;
    let d = join(&w, "UD", Role::Student).await;
    let e = join(&w, "UE", Role::Student).await;
    // A ⇄ B only among themselves (a closed pair); C → D and T → C one-way; E isolated.
    assert!(
        deliver(
            &w,
            "E1",
            &post("1", "UA", &["UB"], 2, at(2026, 2, 24, 10, 0, 0))
        )
        .await
    );
    assert!(
        deliver(
            &w,
            "E2",
            &post("2", "UB", &["UA"], 1, at(2026, 2, 25, 10, 0, 0))
        )
        .await
    );
    assert!(
        deliver(
            &w,
            "E3",
            &post("3", "UC", &["UD"], 1, at(2026, 3, 2, 9, 0, 0))
        )
        .await
    );
    assert!(
        deliver(
            &w,
            "E4",
            &post("4", "UT", &["UC"], 1, at(2026, 3, 2, 9, 30, 0))
        )
        .await
    );
    settle(&w).await;
    Class {
        w,
        teacher,
        a,
        b,
        c,
        d,
        e,
    }
}

#[tokio::test]
async fn overview_counts_the_week_the_days_and_who_is_left_out() {
    for db in TestDb::all().await {
        let bk = db.backend();
        let k = class(&db).await;
        let now = at(2026, 3, 2, 12, 0, 0);
        let o = overview(&k.w.store, &k.w.community, now).await.unwrap();
        assert_eq!(
            o.today,
            NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            "{bk}"
        );
        assert_eq!(o.week, "2026-W10");
        assert_eq!(o.students, 5, "{bk}");
        assert_eq!(
            o.active_students_this_week, 2,
            "{bk}: C gave and received, D received"
        );
        let days: Vec<(String, i64)> = o
            .fires_per_day
            .iter()
            .map(|d| (d.day.to_string(), d.fires))
            .collect();
        assert_eq!(days.len(), 8, "{bk}: 23 Feb to 2 Mar, zero days included");
        assert_eq!(days[0], ("2026-02-23".to_string(), 0));
        assert_eq!(days[1], ("2026-02-24".to_string(), 2));
        assert_eq!(days[2], ("2026-02-25".to_string(), 1));
        assert_eq!(days[7], ("2026-03-02".to_string(), 2), "{bk}");
        assert_eq!(
            o.points_distribution
                .iter()
                .map(|b| b.students)
                .sum::<usize>(),
            5
        );
        assert_eq!(o.points_distribution[0].students, 1, "{bk}: only E has 0");
        let top: Vec<(&MemberRowId, i64)> = o
            .most_recognised
            .iter()
            .map(|r| (&r.member_id, r.fires_received))
            .collect();
        assert_eq!(
            top,
            vec![(&k.b, 2), (&k.a, 1), (&k.c, 1), (&k.d, 1)],
            "{bk}"
        );
        let left_out: Vec<&MemberRowId> = o
            .unrecognised_recently
            .iter()
            .map(|m| &m.member_id)
            .collect();
        assert_eq!(left_out, vec![&k.e], "{bk}");
        assert_eq!(o.pending.inbox_pending, 0, "{bk}");
        assert_eq!(o.pending.inbox_parked, 0, "{bk}");
        assert_eq!(o.pending.unresolved_members, 0, "{bk}");

        // Three weeks later A and B were recognised too long ago; C, D too.
        let later = overview(&k.w.store, &k.w.community, at(2026, 3, 23, 12, 0, 0))
            .await
            .unwrap();
        assert_eq!(later.unrecognised_recently.len(), 5, "{bk}");
        assert_eq!(later.active_students_this_week, 0, "{bk}");
    }
}

#[tokio::test]
async fn members_show_balances_levels_and_last_activity() {
    for db in TestDb::all().await {
        let bk = db.backend();
        let k = class(&db).await;
        let rows = members(&k.w.store, &k.w.community).await.unwrap();
        assert_eq!(rows.len(), 6, "{bk}");
        assert_eq!(rows[0].member_id, k.teacher, "{bk}: staff first");
        assert_eq!(rows[1].name, "Name of UA");
        let b = rows.iter().find(|r| r.member_id == k.b).unwrap();
        assert_eq!(b.platform_user_id, "UB");
        assert_eq!(b.earned.to_string(), "2", "{bk}");
        assert!(!b.level_name.is_empty());
        assert_eq!(
            b.last_activity_at,
            Some(at(2026, 2, 25, 10, 0, 0)),
            "{bk}: B's own post is later than the fire B received"
        );
        let e = rows.iter().find(|r| r.member_id == k.e).unwrap();
        assert_eq!(e.last_activity_at, None, "{bk}");
    }
}

#[tokio::test]
async fn profile_shows_feedback_and_audits_reads_by_others() {
    for db in TestDb::all().await {
        let bk = db.backend();
        let k = class(&db).await;
        let store = &k.w.store;
        let now = at(2026, 3, 2, 12, 0, 0);
        let before = store
            .audit_entries(Some(&k.w.community))
            .await
            .unwrap()
            .len();

        let p = profile(store, &k.w.community, &k.teacher, &k.b, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.member.member_id, k.b);
        assert_eq!(p.fires_received.len(), 1, "{bk}");
        let got = &p.fires_received[0];
        assert_eq!(got.other.member_id, k.a);
        assert_eq!(got.other.name, "Name of UA");
        assert_eq!(got.fires, 2);
        assert_eq!(got.feedback.as_deref(), Some("thanks UB :fire:"), "{bk}");
        assert_eq!(p.fires_given.len(), 1);
        assert_eq!(p.fires_given[0].other.member_id, k.a);
        assert_eq!(p.quota.limit, Some(5));
        assert_eq!(p.quota.day, "2026-03-02");
        assert_eq!(p.quota.used, 0, "{bk}: B gave on 25 Feb, not today");

        let audit = store.audit_entries(Some(&k.w.community)).await.unwrap();
        assert_eq!(
            audit.len(),
            before + 1,
            "{bk}: one entry per read by someone else"
        );
        let last = audit.last().unwrap();
        assert_eq!(last.action, PROFILE_READ_ACTION);
        assert_eq!(last.actor, format!("member:{}", k.teacher));
        assert_eq!(last.subject, Some(format!("member:{}", k.b)));
        assert!(
            !last.details.contains("Name of"),
            "ids only in the audit log"
        );

        // Reading one's own profile is not audited; the teacher's quota is unlimited and used.
        let own = profile(store, &k.w.community, &k.teacher, &k.teacher, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(own.quota.limit, None);
        assert_eq!(own.fires_given[0].other.member_id, k.c);
        assert_eq!(
            store
                .audit_entries(Some(&k.w.community))
                .await
                .unwrap()
                .len(),
            before + 1,
            "{bk}"
        );

        // Another community: nobody there, nothing read, nothing audited.
        let other = community(store, json!({ "timezone": "UTC" }), "T2").await;
        assert!(profile(store, &other, &k.teacher, &k.b, now)
            .await
            .unwrap()
            .is_none());
        assert!(profile(
            store,
            &k.w.community,
            &k.teacher,
            &MemberRowId::parse("00000000-0000-7000-8000-000000000001").unwrap(),
            now
        )
        .await
        .unwrap()
        .is_none());
        assert_eq!(
            store
                .audit_entries(Some(&k.w.community))
                .await
                .unwrap()
                .len(),
            before + 1,
            "{bk}"
        );
        assert!(store.audit_entries(Some(&other)).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn network_finds_the_closed_pair_one_way_fire_and_the_isolated_student() {
    for db in TestDb::all().await {
        let bk = db.backend();
        let k = class(&db).await;
        let n = network(&k.w.store, &k.w.community, None).await.unwrap();
        assert_eq!(n.nodes.len(), 6, "{bk}");
        assert!(n.nodes[0].staff);
        assert_eq!(n.edges.len(), 4, "{bk}");
        let ab = n
            .edges
            .iter()
            .find(|e| e.giver == k.a && e.receiver == k.b)
            .unwrap();
        assert_eq!(ab.fires, 2);
        assert_eq!(n.analysis.isolated, vec![k.e.clone()], "{bk}");
        let one_way: Vec<(&MemberRowId, &MemberRowId)> = n
            .analysis
            .one_way
            .iter()
            .map(|o| (&o.giver, &o.receiver))
            .collect();
        assert_eq!(one_way.len(), 2, "{bk}");
        assert!(one_way.contains(&(&k.c, &k.d)));
        assert!(one_way.contains(&(&k.teacher, &k.c)));
        let mut pair = vec![k.a.clone(), k.b.clone()];
        pair.sort();
        assert_eq!(n.analysis.closed_groups.len(), 1, "{bk}");
        assert_eq!(n.analysis.closed_groups[0].members, pair);

        // Since 1 March only C → D and T → C remain: A and B look isolated then.
        let recent = network(&k.w.store, &k.w.community, Some(at(2026, 3, 1, 0, 0, 0)))
            .await
            .unwrap();
        assert_eq!(recent.edges.len(), 2, "{bk}");
        assert_eq!(recent.analysis.isolated.len(), 3);
        assert!(recent.analysis.closed_groups.is_empty());
    }
}

#[tokio::test]
async fn grade_exports_and_my_data() {
    for db in TestDb::all().await {
        let bk = db.backend();
        let k = class(&db).await;
        let store = &k.w.store;
        let canvas = grades_csv(store, &k.w.community, GradeFormat::Canvas)
            .await
            .unwrap();
        let lines: Vec<&str> = canvas.lines().collect();
        assert_eq!(
            lines[0],
            "Student,ID,SIS User ID,SIS Login ID,Section,ClassCred participation"
        );
        assert_eq!(lines.len(), 6, "{bk}: header and five students");
        assert!(lines.contains(&"Name of UB,,,,,2"), "{bk}: {canvas}");
        let points = grades_csv(store, &k.w.community, GradeFormat::Points)
            .await
            .unwrap();
        assert_eq!(points.lines().count(), 7, "{bk}: header and six people");
        assert!(points.lines().last().unwrap().contains(",UT,instructor,"));

        let mine = my_data(store, &k.w.community, &k.b).await.unwrap().unwrap();
        assert_eq!(mine.member.member_id, k.b);
        assert_eq!(mine.profile.name.as_deref(), Some("Name of UB"));
        assert_eq!(mine.fires_received.len(), 1, "{bk}");
        assert_eq!(
            mine.fires_received[0].feedback.as_deref(),
            Some("thanks UB :fire:")
        );
        assert!(mine
            .stored
            .iter()
            .any(|f| f.table == "member" && f.column == "email_enc"));
        let other = community(store, json!({ "timezone": "UTC" }), "T3").await;
        assert!(
            my_data(store, &other, &k.b).await.unwrap().is_none(),
            "{bk}"
        );
    }
}
