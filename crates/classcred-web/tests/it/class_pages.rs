//! The overview, network, student profile and export pages over a real class: five students
//! join through the service, give fire through the inbox and the engine (ingest + drain), and
//! the pages show the numbers and names the read models compute. Community A of the `World`
//! also has its admin, instructor and a student who never takes part.
//!
//! The fire: Amara ⇄ Ben (a closed pair, 24 and 25 February), Cara → Dev and the instructor →
//! Cara (one-way, Monday 2 March, the `World`'s today), Eve and "Person USTUDENT" isolated.

use axum::http::{header, StatusCode};
use chrono::{DateTime, TimeZone, Utc};
use classcred_engine::{Event, MemberId, MessagePosted};
use classcred_service::dashboard::{members, CANVAS_HEADER, PROFILE_READ_ACTION};
use classcred_service::{drain, ingest, join_member};
use classcred_store::testing::TestDb;
use classcred_store::{MemberKind, MemberProfile, MemberRowId, NewMember, Role};

use crate::support::World;

struct Class {
    w: World,
    amara: MemberRowId,
    ben: MemberRowId,
    cara: MemberRowId,
    dev: MemberRowId,
    eve: MemberRowId,
}

fn at(d: u32, m: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, m, d, h, 0, 0).unwrap()
}

async fn join(w: &World, uid: &str, name: &str) -> MemberRowId {
    let mut tx = w.store.begin().await.unwrap();
    let id = join_member(
        &mut tx,
        &w.a,
        "slack",
        &NewMember {
            platform_user_id: uid.into(),
            role: Role::Student,
            kind: MemberKind::Human,
            profile: MemberProfile {
                display_name: Some(name.into()),
                ..Default::default()
            },
        },
        at(1, 2, 8),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn give(
    w: &World,
    n: u32,
    from: &str,
    to: &str,
    fires: u32,
    text: &str,
    when: DateTime<Utc>,
) {
    let event = Event::MessagePosted(MessagePosted {
        is_question: false,
        channel: None,
        platform_message_id: format!("C1:{n}"),
        author: MemberId::new(from),
        mentions: vec![MemberId::new(to)],
        fire_count: fires,
        text: text.into(),
        thread: None,
        occurred_at: when,
    });
    let mut tx = w.store.begin().await.unwrap();
    ingest(&mut tx, &w.a, "slack", &format!("E{n}"), &event)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn class(db: &TestDb) -> Class {
    let w = World::new(db, false).await;
    let amara = join(&w, "UAMARA", "Amara Okafor").await;
    let ben = join(&w, "UBEN", "Ben Li").await;
    let cara = join(&w, "UCARA", "Cara Diaz").await;
    let dev = join(&w, "UDEV", "Dev Patel").await;
    let eve = join(&w, "UEVE", "Eve Stone").await;
    give(
        &w,
        1,
        "UAMARA",
        "UBEN",
        2,
        "Great lab notes <b>Ben</b> 🔥🔥",
        at(24, 2, 10),
    )
    .await;
    give(
        &w,
        2,
        "UBEN",
        "UAMARA",
        1,
        "Thanks for the titration help 🔥",
        at(25, 2, 10),
    )
    .await;
    give(
        &w,
        3,
        "UCARA",
        "UDEV",
        1,
        "<@UDEV> explained enzymes so well 🔥",
        at(2, 3, 9),
    )
    .await;
    give(
        &w,
        4,
        "UINSTR",
        "UCARA",
        1,
        "Excellent question today 🔥",
        at(2, 3, 10),
    )
    .await;
    drain(&w.store, &w.a).await.unwrap();
    Class {
        w,
        amara,
        ben,
        cara,
        dev,
        eve,
    }
}

fn href(id: &MemberRowId) -> String {
    format!("href=\"/dashboard/students/{id}\"")
}

/// The text of the page's section whose heading has `id`, up to the next `</section>`.
fn section<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("section {id}"));
    let end = body[start..].find("</section>").unwrap() + start;
    &body[start..end]
}

async fn audit_count(w: &World, action: &str) -> usize {
    w.store
        .audit_entries(Some(&w.a))
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == action)
        .count()
}

#[tokio::test]
async fn the_overview_shows_activity_charts_and_who_is_left_out() {
    for db in TestDb::all().await {
        let k = class(&db).await;
        let bk = db.backend();
        let cookie = k.w.sign_in(&k.w.a, &k.w.instructor_a).await;
        let r = k.w.get("/dashboard", Some(&cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{bk}: {}", r.body);
        let body = &r.body;
        // Six students; Cara and Dev took part this week (the week of Monday 2 March).
        assert!(body.contains("2 of 6"), "{bk}: active students");
        assert!(body.contains("students active this week (33%)"), "{bk}");
        assert!(body.contains("week 2026-W10"), "{bk}");
        // Three named charts, each with its numbers as a table.
        assert_eq!(body.matches("role=\"img\"").count(), 3, "{bk}");
        for title in [
            "Fires given per day</title>",
            "Students by points earned</title>",
            "Most recognised students</title>",
        ] {
            assert!(body.contains(title), "{bk}: {title}");
        }
        assert_eq!(
            body.matches("<summary>Show the numbers</summary>").count(),
            3
        );
        assert!(
            body.contains("<td>Feb 24</td><td>2</td>"),
            "{bk}: fires per day as a table"
        );
        assert!(
            body.contains("5 in total, most on 24 February (2)"),
            "{bk}: the chart describes itself"
        );
        assert!(
            body.contains("<td>0 points</td><td>2</td>"),
            "{bk}: Eve and the bystander"
        );
        // Most recognised: Ben first (2 fires), each a link to the profile.
        let most = section(body, "h-most-recognised");
        let ben_at = most.find("Ben Li").unwrap();
        for other in ["Amara Okafor", "Cara Diaz", "Dev Patel"] {
            assert!(
                most.find(other).unwrap() > ben_at,
                "{bk}: {other} after Ben"
            );
        }
        assert!(most.contains(&href(&k.ben)), "{bk}");
        assert!(most.contains("2 fires received"), "{bk}");
        assert!(
            !most.contains("Eve Stone"),
            "{bk}: nobody with 0 fires is 'most recognised'"
        );
        // Nobody recognised Eve or the bystander in the last 14 days; the others were.
        let left_out = section(body, "h-students-left-out");
        assert!(left_out.contains("nobody recognised"), "{bk}");
        assert!(
            left_out.contains("Eve Stone") && left_out.contains(&href(&k.eve)),
            "{bk}"
        );
        assert!(left_out.contains("Person USTUDENT"), "{bk}");
        for name in ["Amara Okafor", "Ben Li", "Cara Diaz", "Dev Patel"] {
            assert!(!left_out.contains(name), "{bk}: {name} was recognised");
        }
        // Every chat event is processed (the test drained the inbox itself, so the queued
        // drain jobs are still listed).
        let pending = section(body, "h-pending");
        assert!(!pending.contains("chat events waiting"), "{bk}: {pending}");
        assert!(
            pending.contains("background jobs queued or running"),
            "{bk}: {pending}"
        );
        // Names are escaped and there is no inline script or style.
        assert!(
            !body.contains("<script") && !body.contains("style="),
            "{bk}"
        );
    }
}

#[tokio::test]
async fn an_empty_class_gets_an_overview_that_explains_itself() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let cookie = w.sign_in(&w.a, &w.admin_a).await;
        let r = w.get("/dashboard", Some(&cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", db.backend());
        assert!(r.body.contains("No fire was given from"));
        assert!(r.body.contains("No student has received fire yet"));
        // Two charts: the "most recognised" chart waits for data.
        assert_eq!(r.body.matches("role=\"img\"").count(), 2);
    }
}

#[tokio::test]
async fn the_network_page_draws_and_lists_isolated_one_way_and_closed_groups() {
    for db in TestDb::all().await {
        let k = class(&db).await;
        let bk = db.backend();
        let cookie = k.w.sign_in(&k.w.a, &k.w.admin_a).await;
        for path in ["/dashboard/network", "/dashboard/network?period=recent"] {
            let r = k.w.get(path, Some(&cookie)).await;
            assert_eq!(r.status, StatusCode::OK, "{bk} {path}: {}", r.body);
            let body = &r.body;
            assert!(body.contains("Recognition network</title>"), "{bk}");
            // One circle per student (staff are squares), at least.
            assert!(body.matches("<circle").count() >= 6, "{bk}");
            let isolated = section(body, "h-isolated");
            assert!(isolated.contains("Eve Stone") && isolated.contains(&href(&k.eve)));
            assert!(isolated.contains("Person USTUDENT"));
            assert!(!isolated.contains("Dev Patel"), "{bk}");
            let closed = section(body, "h-closed");
            assert!(closed.contains("Group 1 (pair)"), "{bk}");
            assert!(closed.contains(&href(&k.amara)) && closed.contains(&href(&k.ben)));
            assert!(!closed.contains("Cara Diaz"), "{bk}");
            let one_way = section(body, "h-one-way");
            assert!(one_way.contains("2 pairs."), "{bk}: {one_way}");
            assert!(
                one_way.contains(&format!(
                    "{}>Cara Diaz</a></td><td><a {}>Dev Patel</a></td><td class=\"num\">1</td>",
                    href(&k.cara),
                    href(&k.dev)
                )),
                "{bk}: {one_way}"
            );
            assert!(one_way.contains("Person UINSTR"), "{bk}");
            // The words a reader needs to read the drawing.
            for word in ["isolated", "one-way", "pair", "ring"] {
                assert!(body.contains(word), "{bk}: {word}");
            }
        }
        // Five weeks later nothing falls in the last 14 days: every student is isolated.
        k.w.clock.advance(chrono::Duration::days(35));
        let cookie = k.w.sign_in(&k.w.a, &k.w.admin_a).await;
        let r =
            k.w.get("/dashboard/network?period=recent", Some(&cookie))
                .await;
        let isolated = section(&r.body, "h-isolated");
        for name in [
            "Amara Okafor",
            "Ben Li",
            "Cara Diaz",
            "Dev Patel",
            "Eve Stone",
        ] {
            assert!(isolated.contains(name), "{bk}: {name}");
        }
        assert!(section(&r.body, "h-closed").contains("No closed pair or ring"));
        let bad =
            k.w.get("/dashboard/network?period=decade", Some(&cookie))
                .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{bk}");
    }
}

#[tokio::test]
async fn a_profile_shows_fire_with_feedback_and_staff_reads_are_audited_once() {
    for db in TestDb::all().await {
        let k = class(&db).await;
        let bk = db.backend();
        let path = format!("/dashboard/students/{}", k.amara);
        let cookie = k.w.sign_in(&k.w.a, &k.w.instructor_a).await;
        assert_eq!(audit_count(&k.w, PROFILE_READ_ACTION).await, 0, "{bk}");
        let r = k.w.get(&path, Some(&cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{bk}: {}", r.body);
        assert_eq!(
            audit_count(&k.w, PROFILE_READ_ACTION).await,
            1,
            "{bk}: one read, one entry"
        );
        let body = &r.body;
        assert!(body.contains("<h1>Amara Okafor</h1>"), "{bk}");
        assert!(
            body.contains("recorded in the class&#x27;s audit log") || body.contains("audit log")
        );
        let received = section(body, "h-received");
        assert!(received.contains("Thanks for the titration help"), "{bk}");
        assert!(received.contains(&href(&k.ben)), "{bk}: the giver, linked");
        let given = section(body, "h-given");
        // The feedback text is escaped, never markup.
        assert!(
            given.contains("Great lab notes &#60;b&#62;Ben&#60;/b&#62;")
                || given.contains("Great lab notes &lt;b&gt;Ben&lt;/b&gt;"),
            "{bk}: {given}"
        );
        assert!(!given.contains("<b>Ben"), "{bk}");
        assert!(given.contains("<td class=\"num\">2</td>"), "{bk}");
        assert!(
            body.contains("2 of 5") || body.contains(" of "),
            "{bk}: quota use"
        );
        let feed = section(body, "h-feed");
        assert!(feed.contains("Received 1 fire from Ben Li"), "{bk}: {feed}");
        // Every read is one more entry, naming reader and subject by id.
        k.w.get(&path, Some(&cookie)).await;
        let entries = k.w.store.audit_entries(Some(&k.w.a)).await.unwrap();
        let reads: Vec<_> = entries
            .iter()
            .filter(|e| e.action == PROFILE_READ_ACTION)
            .collect();
        assert_eq!(reads.len(), 2, "{bk}");
        assert_eq!(reads[1].actor, format!("member:{}", k.w.instructor_a));
        assert_eq!(
            reads[1].subject.as_deref(),
            Some(format!("member:{}", k.amara).as_str())
        );
    }
}

#[tokio::test]
async fn students_open_their_own_profile_only_and_other_classes_ids_are_not_found() {
    for db in TestDb::all().await {
        let k = class(&db).await;
        let bk = db.backend();
        let w = &k.w;
        let own = w.sign_in(&w.a, &k.ben).await;
        let r = w
            .get(&format!("/dashboard/students/{}", k.ben), Some(&own))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{bk}: {}", r.body);
        assert!(r.body.contains("Great lab notes"), "{bk}: fire received");
        let dev = w.sign_in(&w.a, &k.dev).await;
        let r = w
            .get(&format!("/dashboard/students/{}", k.dev), Some(&dev))
            .await;
        assert!(
            r.body.contains("@Dev Patel explained enzymes so well"),
            "{bk}: mentions read as names"
        );
        assert!(
            !r.body.contains("audit log"),
            "{bk}: reading oneself is not audited"
        );
        assert!(
            !r.body.contains("href=\"/dashboard/members\""),
            "{bk}: student nav"
        );
        let forbidden = w
            .get(&format!("/dashboard/students/{}", k.amara), Some(&own))
            .await;
        assert_eq!(forbidden.status, StatusCode::FORBIDDEN, "{bk}");
        assert!(!forbidden.body.contains("Amara"), "{bk}: nothing of Amara");
        assert_eq!(audit_count(w, PROFILE_READ_ACTION).await, 0, "{bk}");
        // Another class's member: 404 for staff and students alike; garbage ids too.
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        for who in [&admin, &own] {
            let r = w
                .get(&format!("/dashboard/students/{}", w.admin_b), Some(who))
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{bk}");
            let r = w.get("/dashboard/students/not-an-id", Some(who)).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{bk}");
        }
        let admin_b = w.sign_in(&w.b, &w.admin_b).await;
        let r = w
            .get(&format!("/dashboard/students/{}", k.amara), Some(&admin_b))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bk}");
        assert_eq!(
            audit_count(w, PROFILE_READ_ACTION).await,
            0,
            "{bk}: no read, no entry"
        );
        let anon = w
            .get(&format!("/dashboard/students/{}", k.amara), None)
            .await;
        assert_eq!(anon.status, StatusCode::SEE_OTHER, "{bk}");
    }
}

#[tokio::test]
async fn both_csv_files_download_with_the_class_points() {
    for db in TestDb::all().await {
        let k = class(&db).await;
        let bk = db.backend();
        let w = &k.w;
        let cookie = w.sign_in(&w.a, &w.instructor_a).await;
        let page = w.get("/dashboard/exports", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{bk}");
        assert!(page.body.contains("href=\"/dashboard/exports/points.csv\""));
        assert!(page.body.contains("href=\"/dashboard/exports/canvas.csv\""));
        let rows = members(&w.store, &w.a).await.unwrap();
        let earned = |id: &MemberRowId| {
            rows.iter()
                .find(|r| &r.member_id == id)
                .unwrap()
                .earned
                .to_string()
        };

        let points = w.get("/dashboard/exports/points.csv", Some(&cookie)).await;
        assert_eq!(points.status, StatusCode::OK, "{bk}");
        assert_eq!(
            points.header(header::CONTENT_TYPE),
            Some("text/csv; charset=utf-8")
        );
        assert_eq!(
            points.header(header::CONTENT_DISPOSITION),
            Some("attachment; filename=\"classcred-points-2026-03-02.csv\"")
        );
        let lines: Vec<&str> = points.body.lines().collect();
        assert!(
            lines[0].starts_with("Student,Platform ID,Role,Earned"),
            "{bk}"
        );
        assert_eq!(
            lines.len(),
            1 + 8,
            "{bk}: 6 students and 2 staff: {lines:?}"
        );
        let ben = lines.iter().find(|l| l.starts_with("Ben Li,")).unwrap();
        assert!(
            ben.starts_with(&format!("Ben Li,UBEN,student,{},", earned(&k.ben))),
            "{bk}: {ben}"
        );
        assert_ne!(earned(&k.ben), "0", "{bk}: Ben earned points");

        let canvas = w.get("/dashboard/exports/canvas.csv", Some(&cookie)).await;
        assert_eq!(canvas.status, StatusCode::OK, "{bk}");
        assert_eq!(
            canvas.header(header::CONTENT_TYPE),
            Some("text/csv; charset=utf-8")
        );
        assert!(canvas
            .header(header::CONTENT_DISPOSITION)
            .unwrap()
            .starts_with("attachment; filename=\"classcred-canvas-"));
        let lines: Vec<&str> = canvas.body.lines().collect();
        assert_eq!(lines[0], CANVAS_HEADER.join(","), "{bk}");
        assert_eq!(lines.len(), 1 + 6, "{bk}: students only");
        assert!(!canvas.body.contains("Person UINSTR"), "{bk}");
        assert!(
            lines.contains(&format!("Dev Patel,,,,,{}", earned(&k.dev)).as_str()),
            "{bk}: {lines:?}"
        );
        assert_eq!(
            audit_count(w, "grades.export").await,
            2,
            "{bk}: each download audited"
        );

        let student = w.sign_in(&w.a, &k.dev).await;
        for path in [
            "/dashboard/exports/points.csv",
            "/dashboard/exports/canvas.csv",
        ] {
            let r = w.get(path, Some(&student)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{bk}: {path}");
            assert!(!r.body.contains("Ben Li"));
        }
        assert_eq!(audit_count(w, "grades.export").await, 2, "{bk}");
        let _ = (&k.cara, &k.eve);
    }
}
