//! Custom reward rules on the dashboard: field errors, a preview over the class's history
//! (nothing saved), saving, enabling (stale versions refused, another class and students
//! refused), and the rule then awarding.

use axum::http::StatusCode;
use chrono::Duration;
use classcred_engine::{Event, MemberId, MessagePosted};
use classcred_store::testing::TestDb;
use classcred_store::Clock;

use crate::support::World;

async fn deliver(w: &World, id: &str, author: &str, minutes: i64) {
    let mut tx = w.store.begin().await.unwrap();
    classcred_service::ingest(
        &mut tx,
        &w.a,
        "slack",
        &format!("ev-{id}"),
        &Event::MessagePosted(MessagePosted {
            platform_message_id: format!("C-lab:{id}"),
            author: MemberId::new(author),
            mentions: Vec::new(),
            fire_count: 0,
            text: "my lab notes".into(),
            thread: None,
            channel: Some("C-lab".into()),
            occurred_at: w.clock.now() + Duration::minutes(minutes),
            is_question: false,
        }),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    classcred_service::drain(&w.store, &w.a).await.unwrap();
}

async fn earned(w: &World, uid: &str) -> i64 {
    let mut tx = w.store.begin().await.unwrap();
    let b = tx.for_community(&w.a).balances().await.unwrap();
    tx.commit().await.unwrap();
    b.into_iter()
        .find(|b| b.platform_user_id == uid)
        .map_or(0, |b| b.earned_milli)
}

fn rule_id_of(html: &str) -> String {
    let start = html.find("id=\"rule-").unwrap() + "id=\"rule-".len();
    html[start..start + 36].to_owned()
}

#[tokio::test]
async fn an_instructor_writes_previews_and_enables_a_rule() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = World::new(&db, false).await;
        let ta = w.sign_in(&w.a, &w.instructor_a).await;
        let csrf = w.csrf(&ta).await;
        let page = w.get("/dashboard/rules", Some(&ta)).await;
        assert_eq!(page.status, StatusCode::OK, "{b}");
        assert!(page.body.contains("No rules yet"), "{b}");

        // History: the student posted twice in the lab channel, the instructor once.
        deliver(&w, "1", "USTUDENT", -120).await;
        deliver(&w, "2", "USTUDENT", -60).await;
        deliver(&w, "3", "UINSTR", -30).await;

        // Field errors.
        let r = w
            .post(
                "/dashboard/rules",
                Some(&ta),
                &format!("csrf={csrf}&action=preview&trigger=posted&award=points&points=abc"),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("Enter a number of points"), "{b}");
        let r = w
            .post(
                "/dashboard/rules",
                Some(&ta),
                &format!("csrf={csrf}&action=preview&trigger=answered&channel=C-lab&award=points&points=1"),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{b}: a channel on answers is ignored"
        );
        let r = w
            .post(
                "/dashboard/rules",
                Some(&ta),
                &format!("csrf={csrf}&action=preview&trigger=posted&award=points&points=500"),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("at most 100 points"), "{b}");

        // Preview: the sentence and who would have earned what; nothing saved.
        let form = "trigger=posted&channel=C-lab&award=points&points=2&cap_n=5&cap_per=week";
        let r = w
            .post(
                "/dashboard/rules",
                Some(&ta),
                &format!("csrf={csrf}&action=preview&{form}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
        assert!(
            r.body.contains("When a student posts a message in channel C-lab, they earn 2 points, at most 5 times per week."),
            "{b}"
        );
        assert!(
            r.body.contains("<td><a href=\"/dashboard/students/"),
            "{b}: {}",
            r.body
        );
        assert!(
            r.body
                .contains("Person USTUDENT</a></td><td class=\"num\">4</td>"),
            "{b}"
        );
        let table = &r.body[r.body.find("id=\"preview\"").unwrap()..];
        let table = &table[..table.find("</table>").unwrap()];
        assert!(
            !table.contains("Person UINSTR"),
            "{b}: instructors never earn: {table}"
        );
        assert!(r.body.contains("Nothing was saved"), "{b}");
        assert!(
            w.get("/dashboard/rules", Some(&ta))
                .await
                .body
                .contains("No rules yet"),
            "{b}"
        );

        // Save (disabled): listed with its sentence, version 1.
        let r = w
            .post(
                "/dashboard/rules",
                Some(&ta),
                &format!("csrf={csrf}&action=save&{form}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let page = w.get("/dashboard/rules?done=created", Some(&ta)).await;
        assert!(page.body.contains("<td>Disabled</td>"), "{b}");
        let id = rule_id_of(&page.body);
        let enable = format!("/dashboard/rules/{id}/enable");

        // Another class's Admin and students cannot enable it; a stale version is refused.
        let other = w.sign_in(&w.b, &w.admin_b).await;
        let other_csrf = w.csrf(&other).await;
        let r = w
            .post(
                &enable,
                Some(&other),
                &format!("csrf={other_csrf}&version=1"),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{b}");
        let student = w.sign_in(&w.a, &w.student_a).await;
        let student_csrf = w.csrf(&student).await;
        let r = w
            .post(
                &enable,
                Some(&student),
                &format!("csrf={student_csrf}&version=1"),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");
        let r = w
            .post(&enable, Some(&ta), &format!("csrf={csrf}&version=7"))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("changed meanwhile"), "{b}");
        let r = w.post(&enable, Some(&ta), "version=1").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}: CSRF");

        let r = w
            .post(&enable, Some(&ta), &format!("csrf={csrf}&version=1"))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}");
        let page = w.get("/dashboard/rules?done=enabled", Some(&ta)).await;
        assert!(page.body.contains("<td>Enabled</td>"), "{b}");
        assert!(
            page.body.contains("<td class=\"num\">2</td>"),
            "{b}: version 2"
        );

        // It awards from now on.
        assert_eq!(earned(&w, "USTUDENT").await, 0, "{b}");
        deliver(&w, "4", "USTUDENT", 10).await;
        assert_eq!(earned(&w, "USTUDENT").await, 2000, "{b}");
        let page = w.get("/dashboard/rules", Some(&ta)).await;
        assert!(page.body.contains("2 points to 1 students"), "{b}");
    }
}
