//! Security headers on every route (pages, redirects, errors, static files) and the cookie
//! under TLS.

use axum::http::{header, StatusCode};
use classcred_store::testing::TestDb;
use classcred_web::{route_table, Method};

use crate::support::{Reply, World};

fn assert_secure_headers(r: &Reply, what: &str, tls: bool) {
    let csp = r
        .header(header::CONTENT_SECURITY_POLICY)
        .unwrap_or_else(|| panic!("CSP on {what}"));
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{part} in CSP of {what}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}");
    assert_eq!(
        r.header(header::REFERRER_POLICY),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(
        r.header(header::X_CONTENT_TYPE_OPTIONS),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        r.header(header::STRICT_TRANSPORT_SECURITY).is_some(),
        tls,
        "HSTS only under TLS: {what}"
    );
}

#[tokio::test]
async fn every_route_answers_with_the_security_headers_signed_in_or_not() {
    for tls in [false, true] {
        for db in TestDb::all().await {
            let w = World::new(&db, tls).await;
            let cookie = w.sign_in(&w.a, &w.admin_a).await;
            let student = w.sign_in(&w.a, &w.student_a).await;
            for route in route_table() {
                for who in [None, Some(cookie.as_str()), Some(student.as_str())] {
                    let r = match route.method {
                        Method::Get => w.get(route.path, who).await,
                        Method::Post => w.post(route.path, who, "").await,
                    };
                    let what = format!(
                        "{} {:?} {:?} ({})",
                        route.path,
                        who.is_some(),
                        r.status,
                        db.backend()
                    );
                    assert_secure_headers(&r, &what, tls);
                }
            }
            // Error pages too: a refused link, a bad query.
            let r = w.get("/dashboard/login?token=nope", None).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
            assert_secure_headers(&r, "refused link", tls);
            let r = w
                .get("/dashboard/leaderboard?period=decade", Some(&cookie))
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
            assert_secure_headers(&r, "bad period", tls);
            // A path nobody serves: the site's 404 page, with the headers; JSON under /api/.
            let r = w.get("/no/such/page", Some(&cookie)).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
            assert!(r.body.contains("Not found"), "{}", r.body);
            assert!(r.body.contains("<main"), "the layout: {}", r.body);
            assert!(r.body.contains("Sign out"), "signed in: {}", r.body);
            let r = w.get("/dashboard/members", Some(&student)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
            assert!(r.body.contains("Sign out"), "signed in: {}", r.body);
            assert!(r.body.contains("My data"), "the student's nav: {}", r.body);
            let r = w.get("/no/such/page", None).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
            assert!(!r.body.contains("Sign out"), "{}", r.body);
            assert_secure_headers(&r, "unknown path", tls);
            let r = w.get("/api/v1/no-such-route", None).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND);
            assert!(r.body.contains("\"code\":\"not_found\""), "{}", r.body);
        }
    }
}

#[tokio::test]
async fn under_tls_the_cookie_is_secure_with_the_host_prefix() {
    for db in TestDb::all().await {
        let w = World::new(&db, true).await;
        let r = w.open_link(&w.link(&w.a, &w.admin_a), None).await;
        let set = r.header(header::SET_COOKIE).unwrap();
        assert!(set.starts_with("__Host-classcred_session="), "{set}");
        for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(set.contains(attr), "{attr} in {set}");
        }
        assert!(!set.contains("Domain="), "__Host- cookies have no Domain");
        let cookie = r.cookie().unwrap();
        assert_eq!(
            w.get("/dashboard", Some(&cookie)).await.status,
            StatusCode::OK
        );
        // The plain-HTTP name is not accepted in its place.
        let plain = cookie.replace("__Host-", "");
        assert_eq!(
            w.get("/dashboard", Some(&plain)).await.status,
            StatusCode::SEE_OTHER
        );
    }
}

#[tokio::test]
async fn the_stylesheet_is_ours_cached_long_with_its_content_type() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let page = w.get("/", None).await;
        let at = page
            .body
            .find("/static/classcred.css?v=")
            .expect("stylesheet link");
        let href = &page.body[at..page.body[at..].find('"').unwrap() + at];
        let css = w.get(href, None).await;
        assert_eq!(css.status, StatusCode::OK);
        assert_eq!(
            css.header(header::CONTENT_TYPE),
            Some("text/css; charset=utf-8")
        );
        assert!(css
            .header(header::CACHE_CONTROL)
            .unwrap()
            .contains("max-age=31536000"));
        assert!(css.body.contains(":focus-visible"), "visible focus styles");
        // No inline script or style anywhere in the pages.
        assert!(!page.body.contains("<script"), "no script");
        assert!(!page.body.contains("style="), "no inline style");
        assert!(!page.body.contains("<style"), "no style element");
    }
}
