//! `/privacy`: public, generated from the registry and the running configuration. It lists
//! every table's purpose, every personal field, every cookie and every declared subprocessor,
//! so an entry added to the registry without showing up here fails; the subprocessors in use are
//! the ones the configuration turned on; every page's footer links to it.

use axum::http::{header, StatusCode};
use classcred_store::registry::{
    self, subprocessors::OIDC_PROVIDER, InUse, COOKIES, SUBPROCESSORS, TABLES,
};
use classcred_store::testing::TestDb;

use crate::support::World;

/// What askama makes of a text in HTML.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn assert_shows(body: &str, what: &str, text: &str) {
    assert!(
        body.contains(&html(text)),
        "/privacy does not show {what}: {text:?}"
    );
}

#[tokio::test]
async fn the_privacy_page_lists_every_registry_entry_without_sign_in() {
    for db in TestDb::all().await {
        let w = World::new(&db, true).await;
        let page = w.get("/privacy", None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", db.backend());
        assert!(
            page.header(header::SET_COOKIE).is_none(),
            "no cookie to read it"
        );
        let body = &page.body;
        for t in TABLES {
            assert_shows(body, "a table", t.name);
            assert_shows(body, "a table's purpose", t.purpose);
        }
        for (table, column, p) in registry::personal_columns() {
            assert_shows(body, "a personal field", &format!("{table}.{column}"));
            assert_shows(body, "a personal field's purpose", p.purpose);
            assert_shows(body, "a retention", p.retention.label());
        }
        for c in COOKIES {
            assert_shows(body, "a cookie", c.name);
            assert_shows(body, "a cookie's purpose", c.purpose);
            assert_shows(body, "a cookie's lifetime", c.lifetime);
        }
        for s in SUBPROCESSORS {
            assert_shows(body, "a subprocessor", s.name);
            assert_shows(body, "a subprocessor's purpose", s.purpose);
            assert_shows(body, "what a subprocessor is sent", s.data_sent);
            assert_shows(body, "what turns a subprocessor on", s.enabled_by);
            assert!(body.contains(&format!("id=\"subprocessor-{}\"", s.id)));
        }
        for p in registry::PLATFORM_PERMISSIONS {
            assert_shows(body, "a platform permission", p.scope);
        }
        // The community retention defaults and their allowed ranges.
        for (_, label, _, _) in classcred_service::retention::LIMITS {
            assert_shows(body, "a retention rule", label);
        }
        assert!(body.contains("<td>180 days</td>"), "default text retention");
        // Under TLS (as configured), and how to ask; the policy's own page.
        assert!(body.contains("This server is reached over HTTPS"));
        assert!(!body.contains("not configured for HTTPS"));
        assert!(body.contains("href=\"/me\""));
        assert!(body.contains("/cred privacy"));
        assert!(body.contains("href=\"/privacy/policy\""));
        // No subprocessor turned on in this configuration.
        assert!(body.contains("None: this server sends no requests to other services."));
        // The policy version: none yet, then the one published.
        assert!(body.contains("No version of the policy has been published"));
        classcred_service::governance::publish_policy(&w.store, "3.1", "Policy text")
            .await
            .unwrap();
        let body = w.get("/privacy", None).await.body;
        assert!(
            body.contains("The current version is <strong>3.1</strong>"),
            "{}",
            db.backend()
        );
    }
}

#[tokio::test]
async fn the_subprocessors_in_use_and_transport_follow_the_configuration() {
    for db in TestDb::all().await {
        let mut w = World::new(&db, false).await;
        let oidc = registry::subprocessor(OIDC_PROVIDER).unwrap();
        w.state = w.state.clone().with_subprocessors_in_use(vec![InUse {
            subprocessor: oidc,
            origin: "https://login.example.edu".into(),
        }]);
        let body = w.get("/privacy", None).await.body;
        assert!(body.contains("1 subprocessors in use"), "{}", db.backend());
        assert!(body.contains("<code>https://login.example.edu</code>"));
        assert!(!body.contains("None: this server sends no requests"));
        assert!(body.contains("This server is not configured for HTTPS."));
    }
}

#[tokio::test]
async fn every_page_links_to_privacy_in_its_footer() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let admin = w.sign_in(&w.a, &w.admin_a).await;
        let student = w.sign_in(&w.a, &w.student_a).await;
        for (path, cookie) in [
            ("/", None),
            ("/privacy", None),
            ("/no/such/page", None),
            ("/dashboard/login", None),
            ("/me", Some(student.as_str())),
            ("/privacy", Some(student.as_str())),
            ("/dashboard", Some(admin.as_str())),
            ("/dashboard/settings/retention", Some(admin.as_str())),
        ] {
            let page = w.get(path, cookie).await;
            let footer = page
                .body
                .split("<footer")
                .nth(1)
                .unwrap_or_else(|| panic!("{path}: no footer ({})", page.status));
            assert!(
                footer.contains("<a href=\"/privacy\">Privacy</a>"),
                "{path}: the footer does not link to /privacy"
            );
        }
    }
}
