//! Sign-in by login link, refusals, sessions, sign-out and CSRF.

use axum::http::{header, StatusCode};
use classcred_crypto::LoginKey;
use classcred_service::login::issue_login_link;
use classcred_store::testing::TestDb;

use crate::support::{csrf_of, World};

#[tokio::test]
async fn a_login_link_starts_a_session_that_opens_the_dashboard() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let r = w.open_link(&w.link(&w.a, &w.admin_a), None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", db.backend());
        assert_eq!(r.header(header::LOCATION), Some("/dashboard"));
        let set = r.header(header::SET_COOKIE).unwrap().to_owned();
        assert!(set.starts_with("classcred_session="), "{set}");
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
            assert!(set.contains(attr), "{attr} in {set}");
        }
        assert!(!set.contains("Secure"), "no Secure without TLS: {set}");
        let cookie = r.cookie().unwrap();
        let page = w.get("/dashboard", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("Biology 101"),
            "class name in the header"
        );
        assert!(page.body.contains("Sign out"));
        // The store keeps a hash, never the cookie value.
        let value = cookie.split_once('=').unwrap().1;
        let rows: Vec<String> = sqlx::query_scalar("SELECT id_hash FROM web_session")
            .fetch_all(w.store.pool())
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_ne!(rows[0], value);

        // A student lands on their own page.
        let r = w.open_link(&w.link(&w.a, &w.student_a), None).await;
        assert_eq!(r.header(header::LOCATION), Some("/me"));
        let me = w.get("/me", Some(&r.cookie().unwrap())).await;
        assert_eq!(me.status, StatusCode::OK);
        assert!(me.body.contains("Person USTUDENT"));
    }
}

#[tokio::test]
async fn every_sign_in_gets_a_new_session_and_revokes_the_one_the_browser_had() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let first = w.sign_in(&w.a, &w.admin_a).await;
        let r = w.open_link(&w.link(&w.a, &w.admin_a), Some(&first)).await;
        let second = r.cookie().unwrap();
        assert_ne!(first, second, "{}", db.backend());
        assert_eq!(
            w.get("/dashboard", Some(&first)).await.status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            w.get("/dashboard", Some(&second)).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn expired_reused_tampered_and_cross_community_links_are_refused() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let refused = |r: &crate::support::Reply, status: StatusCode, words: &str| {
            assert_eq!(r.status, status, "{}: {}", db.backend(), r.body);
            assert!(r.header(header::SET_COOKIE).is_none(), "never a session");
            assert!(r.body.contains(words), "{words} in {}", r.body);
        };
        // Expired: 5 minutes and one second later.
        let link = w.link(&w.a, &w.admin_a);
        w.clock.advance(chrono::Duration::seconds(301));
        refused(
            &w.open_link(&link, None).await,
            StatusCode::FORBIDDEN,
            "expired",
        );
        // Reused: the second use of a link is refused, the first session stays.
        let link = w.link(&w.a, &w.admin_a);
        let first = w.open_link(&link, None).await;
        assert_eq!(first.status, StatusCode::SEE_OTHER);
        refused(
            &w.open_link(&link, None).await,
            StatusCode::FORBIDDEN,
            "already used",
        );
        // Tampered: another member's id under the same signature.
        let (head, tail) = link.split_once(".").unwrap();
        let mut parts: Vec<String> = tail.split('.').map(str::to_owned).collect();
        parts[1] = hex_of(w.instructor_a.as_str());
        let forged = format!("{head}.{}", parts.join("."));
        refused(
            &w.open_link(&forged, None).await,
            StatusCode::BAD_REQUEST,
            "not valid",
        );
        // Signed with another key.
        let other = LoginKey::from_bytes([7; 32]);
        let foreign = issue_login_link(&other, "", &w.a, &w.admin_a, w.now_unix());
        refused(
            &w.open_link(&foreign, None).await,
            StatusCode::BAD_REQUEST,
            "not valid",
        );
        // Cross-community: community A, a member of B (validly signed).
        let cross = w.link(&w.a, &w.admin_b);
        refused(
            &w.open_link(&cross, None).await,
            StatusCode::FORBIDDEN,
            "not for this class",
        );
        // Missing and garbage tokens.
        refused(
            &w.open_link("/dashboard/login", None).await,
            StatusCode::BAD_REQUEST,
            "not valid",
        );
        refused(
            &w.open_link("/dashboard/login?token=v1.zz", None).await,
            StatusCode::BAD_REQUEST,
            "not valid",
        );
        let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM web_session")
            .fetch_one(w.store.pool())
            .await
            .unwrap();
        assert_eq!(sessions, 1, "only the one good sign-in made a session");
    }
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn logout_revokes_the_session_and_expiry_signs_out() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let cookie = w.sign_in(&w.a, &w.admin_a).await;
        let csrf = w.csrf(&cookie).await;
        let r = w
            .post("/logout", Some(&cookie), &format!("csrf={csrf}"))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", db.backend());
        assert_eq!(r.header(header::LOCATION), Some("/"));
        assert!(r.header(header::SET_COOKIE).unwrap().contains("Max-Age=0"));
        // The old cookie is signed out, even if the browser kept it.
        let after = w.get("/dashboard", Some(&cookie)).await;
        assert_eq!(after.status, StatusCode::SEE_OTHER);
        assert_eq!(after.header(header::LOCATION), Some("/"));

        let cookie = w.sign_in(&w.a, &w.admin_a).await;
        w.clock.advance(chrono::Duration::hours(12));
        w.clock.advance(chrono::Duration::seconds(1));
        assert_eq!(
            w.get("/me", Some(&cookie)).await.status,
            StatusCode::SEE_OTHER,
            "expired after 12 hours"
        );
    }
}

#[tokio::test]
async fn a_form_without_the_right_csrf_token_is_refused() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let cookie = w.sign_in(&w.a, &w.admin_a).await;
        let other = w.sign_in(&w.a, &w.instructor_a).await;
        let others_token = w.csrf(&other).await;
        for form in [
            String::new(),
            "csrf=".into(),
            "csrf=00".into(),
            format!("csrf={}", "0".repeat(64)),
            format!("csrf={others_token}"),
        ] {
            let r = w.post("/logout", Some(&cookie), &form).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{}: {form}", db.backend());
            assert!(r.body.contains("Form expired"));
        }
        // Nothing happened: the session is still live, and its own token works.
        let page = w.get("/me", Some(&cookie)).await;
        assert_eq!(page.status, StatusCode::OK);
        let r = w
            .post(
                "/logout",
                Some(&cookie),
                &format!("csrf={}", csrf_of(&page.body)),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
}

#[tokio::test]
async fn opening_a_link_only_asks_and_a_cross_site_post_cannot_sign_in() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let link = w.link(&w.a, &w.admin_a);
        // An unfurler fetches the link twice: it sees the question, nothing is consumed.
        for _ in 0..2 {
            let page = w.get(&link, None).await;
            assert_eq!(page.status, StatusCode::OK, "{}", db.backend());
            assert!(page.header(header::SET_COOKIE).is_none());
            assert!(page
                .body
                .contains("Continue to Biology 101 as Person UADMIN"));
            assert!(page
                .body
                .contains("method=\"post\" action=\"/dashboard/login\""));
        }
        let token = crate::support::field_of(&w.get(&link, None).await.body, "token");
        let form = format!("token={token}");
        // A post from another site (by either header) is refused and consumes nothing.
        for (name, value) in [
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://evil.test"),
        ] {
            let req = axum::http::Request::post("/dashboard/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::HOST, "classcred.test")
                .header(name, value)
                .body(axum::body::Body::from(form.clone()))
                .unwrap();
            let r = w.send(req).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name}");
            assert!(r.header(header::SET_COOKIE).is_none());
        }
        // From the page itself (same origin) it signs in, once.
        let req = axum::http::Request::post("/dashboard/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "classcred.test")
            .header(header::ORIGIN, "http://classcred.test")
            .body(axum::body::Body::from(form.clone()))
            .unwrap();
        let r = w.send(req).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.header(header::LOCATION), Some("/dashboard"));
        assert!(r.cookie().is_some());
        let again = w.post("/dashboard/login", None, &form).await;
        assert_eq!(again.status, StatusCode::FORBIDDEN);
        assert!(again.body.contains("already used"));
        assert!(w.get(&link, None).await.body.contains("already used"));
    }
}
