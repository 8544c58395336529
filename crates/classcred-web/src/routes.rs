//! The route table: every dashboard path, its method, who may use it and its nav label. The
//! router is built from it ([`routes`]) and the authorization-matrix test enumerates it, so a
//! page is added in one place (a row here, a handler in `pages`, a template) and a route
//! without an expectation in the matrix fails the test.

use axum::routing::{get, post, MethodRouter};
use axum::Router;

use crate::pages;
use crate::WebState;

/// HTTP method of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// Who may use a route. The handler's extractor enforces it; the matrix test checks that it
/// does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in member (`Viewer`).
    Member,
    /// Admins and Instructors (`Staff`).
    Staff,
    /// Admins (`Admin`).
    Admin,
}

/// One row of the route table.
pub struct Route {
    /// axum path (`/dashboard/students/{member_id}`).
    pub path: &'static str,
    pub method: Method,
    pub access: Access,
    /// Label in the site navigation (GET pages only), in table order.
    pub nav: Option<&'static str>,
    handler: MethodRouter<WebState>,
}

impl Route {
    fn get(path: &'static str, access: Access, handler: MethodRouter<WebState>) -> Self {
        Self {
            path,
            method: Method::Get,
            access,
            nav: None,
            handler,
        }
    }

    fn post(path: &'static str, access: Access, handler: MethodRouter<WebState>) -> Self {
        Self {
            path,
            method: Method::Post,
            access,
            nav: None,
            handler,
        }
    }

    fn nav(mut self, label: &'static str) -> Self {
        self.nav = Some(label);
        self
    }
}

/// Every route of the dashboard.
pub fn route_table() -> Vec<Route> {
    use Access::*;
    vec![
        Route::get("/", Public, get(pages::landing::page)),
        Route::get(pages::STYLESHEET_PATH, Public, get(pages::stylesheet)),
        Route::get("/dashboard/login", Public, get(pages::login::confirm)),
        Route::post("/dashboard/login", Public, post(pages::login::consume)),
        Route::post("/logout", Member, post(pages::login::logout)),
        Route::get("/dashboard", Staff, get(pages::overview::page)).nav("Overview"),
        Route::get("/dashboard/members", Staff, get(pages::members::page)).nav("Members"),
        Route::post(
            "/dashboard/members/{member_id}/role",
            Admin,
            post(pages::members::change),
        ),
        Route::get(
            "/dashboard/leaderboard",
            Staff,
            get(pages::leaderboard::page),
        )
        .nav("Leaderboard"),
        Route::get("/dashboard/network", Staff, get(pages::network::page)).nav("Network"),
        Route::get("/dashboard/questions", Staff, get(pages::questions::page)).nav("Questions"),
        Route::post(
            "/dashboard/questions/accept",
            Staff,
            post(pages::questions::accept),
        ),
        Route::get(
            "/dashboard/settings/questions",
            Staff,
            get(pages::settings::questions::page),
        ),
        Route::post(
            "/dashboard/settings/questions",
            Admin,
            post(pages::settings::questions::save),
        ),
        Route::get(
            "/dashboard/settings/firsts",
            Staff,
            get(pages::settings::firsts::page),
        ),
        Route::post(
            "/dashboard/settings/firsts",
            Admin,
            post(pages::settings::firsts::save),
        ),
        Route::get(
            "/dashboard/announcements",
            Staff,
            get(pages::announcements::page),
        )
        .nav("Announcements"),
        Route::post(
            "/dashboard/announcements",
            Staff,
            post(pages::announcements::create),
        ),
        Route::get(
            "/dashboard/announcements/{id}",
            Staff,
            get(pages::announcements::edit_page),
        ),
        Route::post(
            "/dashboard/announcements/{id}",
            Staff,
            post(pages::announcements::save),
        ),
        Route::post(
            "/dashboard/announcements/{id}/cancel",
            Staff,
            post(pages::announcements::cancel),
        ),
        Route::get(
            "/dashboard/students/{member_id}",
            Member,
            get(pages::student::page),
        ),
        Route::post(
            "/dashboard/students/{member_id}/badges",
            Admin,
            post(pages::badge_award::award),
        ),
        Route::get(
            "/dashboard/settings/rewards",
            Staff,
            get(pages::settings::rewards::page),
        )
        .nav("Rewards"),
        Route::post(
            "/dashboard/settings/rewards",
            Admin,
            post(pages::settings::rewards::save),
        ),
        Route::get(
            "/dashboard/settings/course",
            Staff,
            get(pages::settings::course::page),
        )
        .nav("Course"),
        Route::post(
            "/dashboard/settings/course",
            Admin,
            post(pages::settings::course::save),
        ),
        Route::get(
            "/dashboard/settings/retention",
            Staff,
            get(pages::settings::retention::page),
        )
        .nav("Retention"),
        Route::post(
            "/dashboard/settings/retention",
            Admin,
            post(pages::settings::retention::save),
        ),
        Route::get("/dashboard/exports", Staff, get(pages::exports::page)).nav("Exports"),
        Route::get(
            "/dashboard/exports/points.csv",
            Staff,
            get(pages::exports::points_csv),
        ),
        Route::get(
            "/dashboard/exports/canvas.csv",
            Staff,
            get(pages::exports::canvas_csv),
        ),
        Route::post("/dashboard/exports", Admin, post(pages::exports::start)),
        Route::get(
            "/dashboard/exports/{export_id}",
            Member,
            get(pages::exports::job_page),
        ),
        Route::get(
            "/dashboard/exports/{export_id}/download",
            Member,
            get(pages::exports::download_full),
        ),
        Route::get("/me", Member, get(pages::me::page)).nav("My data"),
        Route::get(
            "/dashboard/privacy/erasures",
            Admin,
            get(pages::erasures::page),
        ),
        Route::post(
            "/dashboard/privacy/erasures",
            Admin,
            post(pages::erasures::request),
        ),
        Route::post(
            "/dashboard/privacy/erasures/{request_id}/cancel",
            Admin,
            post(pages::erasures::cancel),
        ),
        Route::post(
            "/me/privacy-requests",
            Member,
            post(pages::privacy_requests::open),
        ),
        Route::post(
            "/me/privacy-requests/{request_id}/cancel",
            Member,
            post(pages::privacy_requests::cancel),
        ),
        Route::get(
            "/dashboard/privacy/requests",
            Admin,
            get(pages::privacy_requests::queue),
        ),
        Route::post(
            "/dashboard/privacy/requests/{request_id}/approve",
            Admin,
            post(pages::privacy_requests::approve),
        ),
        Route::post(
            "/dashboard/privacy/requests/{request_id}/decline",
            Admin,
            post(pages::privacy_requests::decline),
        ),
        Route::get("/privacy", Public, get(pages::privacy::page)),
        Route::post("/consent", Public, post(crate::consent::choose)),
        // Privacy policy versions (issue 12).
        Route::get("/privacy/policy", Public, get(pages::policy::public_page)),
        Route::post(
            "/dashboard/policy/acknowledge",
            Admin,
            post(pages::policy::acknowledge),
        ),
        Route::get("/dashboard/research", Admin, get(pages::research::page)),
        Route::post("/dashboard/research", Admin, post(pages::research::build)),
        // The class store (issue 11).
        Route::get("/dashboard/store", Staff, get(pages::store::page)).nav("Store"),
        Route::post("/dashboard/store/items", Staff, post(pages::store::create)),
        Route::post(
            "/dashboard/store/items/{item_id}",
            Staff,
            post(pages::store::edit),
        ),
        Route::post(
            "/dashboard/store/purchases/{purchase_id}/approve",
            Staff,
            post(pages::store::approve),
        ),
        Route::post(
            "/dashboard/store/purchases/{purchase_id}/reject",
            Staff,
            post(pages::store::reject),
        ),
        Route::post(
            "/me/store/purchases/{purchase_id}/cancel",
            Member,
            post(pages::store::cancel),
        ),
        // Polls and debates (issue 11).
        Route::get("/dashboard/polls", Staff, get(pages::polls::page)).nav("Polls"),
        Route::post("/dashboard/polls", Staff, post(pages::polls::create)),
        Route::post(
            "/dashboard/polls/{poll_id}/close",
            Staff,
            post(pages::polls::close),
        ),
        // Custom reward rules (issue 11).
        Route::get("/dashboard/rules", Staff, get(pages::rules::page)).nav("Rules"),
        Route::post("/dashboard/rules", Staff, post(pages::rules::submit)),
        Route::post(
            "/dashboard/rules/{rule_id}/enable",
            Staff,
            post(pages::rules::enable),
        ),
        Route::post(
            "/dashboard/rules/{rule_id}/disable",
            Staff,
            post(pages::rules::disable),
        ),
    ]
}

/// `(path, label, staff only)` of the navigation, from the route table.
pub(crate) fn nav_items() -> &'static [(&'static str, &'static str, bool)] {
    static NAV: std::sync::LazyLock<Vec<(&'static str, &'static str, bool)>> =
        std::sync::LazyLock::new(|| {
            route_table()
                .into_iter()
                .filter_map(|r| {
                    r.nav
                        .map(|label| (r.path, label, r.access != Access::Member))
                })
                .collect()
        });
    &NAV
}

/// The dashboard's router, built from [`route_table`], with the security headers on every
/// response. Merge it next to the other routers of the application.
pub fn routes(state: WebState) -> Router {
    let mut router = Router::new();
    for route in route_table() {
        router = router.route(route.path, route.handler);
    }
    router
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::error::with_viewer_chrome,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::headers::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::consent::layer,
        ))
        .with_state(state)
}

/// Any path no router of the application serves: the site's 404 page, or a JSON error under
/// `/api/` (the JSON API's clients read JSON).
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        return (
            axum::http::StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({ "error": "no such API route", "code": "not_found" })),
        )
            .into_response();
    }
    crate::WebError::NotFound.into_response()
}
