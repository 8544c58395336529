//! The route table: every endpoint of the API once, with its method and path. The router is
//! built from it, and a test checks every entry against the OpenAPI document, so a route
//! cannot be served without being documented.

use axum::http::Method;
use axum::routing::{get, MethodRouter};
use axum::{Json, Router};

use crate::endpoints::{
    announcements, balances, feed, leaderboard, ledger, members, network, polls, questions, rules,
    settings, store,
};
use crate::openapi::ApiDoc;
use crate::ApiState;

/// One endpoint: method and path (OpenAPI's `{param}` syntax, which axum shares).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRoute {
    pub method: Method,
    pub path: &'static str,
}

pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

fn table() -> Vec<(ApiRoute, MethodRouter<ApiState>)> {
    let route = |path| ApiRoute {
        method: Method::GET,
        path,
    };
    vec![
        (route("/api/v1/members"), get(members::list)),
        (route("/api/v1/members/{member_id}"), get(members::get)),
        (route("/api/v1/balances"), get(balances::list)),
        (route("/api/v1/leaderboard"), get(leaderboard::get)),
        (route("/api/v1/ledger"), get(ledger::list)),
        (route("/api/v1/feed"), get(feed::list)),
        (route("/api/v1/settings"), get(settings::get)),
        (route("/api/v1/network"), get(network::get)),
        (route("/api/v1/announcements"), get(announcements::list)),
        (route("/api/v1/store/items"), get(store::items)),
        (route("/api/v1/store/purchases"), get(store::purchases)),
        (route(OPENAPI_PATH), get(openapi_json)),
        (route("/api/v1/questions"), get(questions::list)),
        (route("/api/v1/polls"), get(polls::list)),
        (route("/api/v1/rules"), get(rules::list)),
    ]
}

/// Every route the API serves.
pub fn route_table() -> Vec<ApiRoute> {
    table().into_iter().map(|(r, _)| r).collect()
}

/// The API's router, to merge into the application's.
pub fn routes(state: ApiState) -> Router {
    table()
        .into_iter()
        .fold(Router::new(), |router, (r, handler)| {
            router.route(r.path, handler)
        })
        .with_state(state)
}

/// The OpenAPI 3.1 document of this API (public: it describes, it does not expose data).
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object)),
    security(())
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::document())
}
