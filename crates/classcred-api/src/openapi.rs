//! The OpenAPI 3.1 document, derived from the handlers' `#[utoipa::path]` annotations and the
//! response types' `ToSchema`, with the bearer-token security scheme every data endpoint uses.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::endpoints::{
    announcements, balances, feed, leaderboard, ledger, members, network, polls, questions, rules,
    settings, store,
};

/// The name of the security scheme in the document.
pub const BEARER_SCHEME: &str = "bearer";

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ccapi_…")
                    .description(Some(
                        "A per-community API token: `classcred admin token create --community ID`",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ClassCred API",
        description = "Read access to one community's members, points, ledger, feed, settings, recognition network, class store, questions and polls. Every token belongs to one community; ids of another community answer 404.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    paths(
        members::list,
        members::get,
        balances::list,
        leaderboard::get,
        ledger::list,
        feed::list,
        settings::get,
        network::get,
        announcements::list,
        store::items,
        store::purchases,
        crate::routes::openapi_json,
        questions::list,
        polls::list,
        rules::list,
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "members", description = "Who is in the community"),
        (name = "points", description = "Balances and leaderboards"),
        (name = "ledger", description = "Every change of points"),
        (name = "feed", description = "Level-ups, badges and announcements"),
        (name = "settings", description = "The community's rules"),
        (name = "network", description = "Who recognises whom"),
        (name = "announcements", description = "Posts scheduled for a channel"),
        (name = "store", description = "The class store: items and purchases"),
        (name = "meta", description = "This document"),
        (name = "questions", description = "Questions asked in the class and their answers"),
        (name = "polls", description = "Polls and debates with their results"),
        (name = "rules", description = "The class's custom reward rules"),
    )
)]
pub struct ApiDoc;

impl ApiDoc {
    /// The document as served at `/api/v1/openapi.json`.
    pub fn document() -> utoipa::openapi::OpenApi {
        ApiDoc::openapi()
    }
}
