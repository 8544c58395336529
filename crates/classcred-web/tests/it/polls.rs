//! Polls on the dashboard: an Instructor creates a poll (field errors first), students vote
//! (as from chat), the page shows the results as numbers and meters, the Instructor closes it,
//! a student's "my data" lists their vote; another community's Admin cannot close it; forms
//! need the CSRF token.

use axum::http::StatusCode;
use classcred_service::polls::{list, vote};
use classcred_store::testing::TestDb;
use classcred_store::Clock;

use crate::support::World;

#[tokio::test]
async fn an_instructor_runs_a_poll_from_the_dashboard() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = World::new(&db, false).await;
        let ta = w.sign_in(&w.a, &w.instructor_a).await;
        let csrf = w.csrf(&ta).await;
        let page = w.get("/dashboard/polls", Some(&ta)).await;
        assert_eq!(page.status, StatusCode::OK, "{b}");
        assert!(page.body.contains("No polls yet"), "{b}");

        // Bad input comes back with the message next to its field.
        let r = w
            .post(
                "/dashboard/polls",
                Some(&ta),
                &format!("csrf={csrf}&kind=poll&question=Which+topic%3F&options=Only+one"),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("give 2 to 10 options"), "{b}");
        assert!(r.body.contains("aria-invalid=\"true\""), "{b}");
        assert!(
            r.body.contains("Only one"),
            "{b}: the form keeps what was typed"
        );
        let r = w
            .post(
                "/dashboard/polls",
                Some(&ta),
                "kind=poll&question=Q&options=a%0Ab",
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}: no CSRF token");

        let r = w
            .post(
                "/dashboard/polls",
                Some(&ta),
                &format!(
                    "csrf={csrf}&kind=poll&question=Which+topic+next%3F\
                     &options=Graphs%0D%0ATrees%0D%0AHeaps&channel=C1"
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let polls = list(&w.store, &w.a).await.unwrap();
        assert_eq!(polls.len(), 1, "{b}");
        let id = polls[0].poll_id.clone();
        vote(&w.store, &w.a, &w.student_a, &id, "2", None, w.clock.now())
            .await
            .unwrap();
        vote(
            &w.store,
            &w.a,
            &w.instructor_a,
            &id,
            "2",
            None,
            w.clock.now(),
        )
        .await
        .unwrap();
        let page = w.get("/dashboard/polls", Some(&ta)).await;
        assert!(page.body.contains("Poll #1: Which topic next?"), "{b}");
        assert!(page.body.contains("Results: 2 votes"), "{b}: {}", page.body);
        assert!(
            page.body
                .contains("<th scope=\"row\">2. Trees</th><td>2</td>"),
            "{b}"
        );
        assert!(page.body.contains("value=\"100\""), "{b}: the meter");

        // Another class's Admin cannot close it; a student cannot either.
        let close = format!("/dashboard/polls/{id}/close");
        let other = w.sign_in(&w.b, &w.admin_b).await;
        let other_csrf = w.csrf(&other).await;
        let r = w
            .post(&close, Some(&other), &format!("csrf={other_csrf}"))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{b}");
        let student = w.sign_in(&w.a, &w.student_a).await;
        let student_csrf = w.csrf(&student).await;
        let r = w
            .post(&close, Some(&student), &format!("csrf={student_csrf}"))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");
        let r = w.post(&close, Some(&ta), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}");
        let page = w.get("/dashboard/polls?done=closed", Some(&ta)).await;
        assert!(page.body.contains("the results are final"), "{b}");
        assert!(!page.body.contains("/close\""), "{b}: no Close once closed");
        let r = w.post(&close, Some(&ta), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");

        // The student's "my data" lists the vote.
        let me = w.get("/me", Some(&student)).await;
        assert!(me.body.contains("Your votes"), "{b}");
        assert!(
            me.body
                .contains("Poll #1: Which topic next? — you chose <strong>Trees</strong>"),
            "{b}"
        );
    }
}
