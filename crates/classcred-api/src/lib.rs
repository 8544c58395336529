//! The JSON API, `/api/v1/…`: read access to one community's data for integrations
//! (gradebooks, scripts), authenticated with per-community API tokens.
//!
//! - [`token`]: the token format (`ccapi_…`), its hash, and creating/revoking tokens.
//! - [`auth`]: the extractor that turns `Authorization: Bearer …` into the token's community.
//! - [`routes`]: the route table the router is built from (and that the document is checked
//!   against), and [`routes()`](routes::routes) itself.
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the handlers' annotations.
//! - `endpoints`: one module per resource; each handler answers with a response type of this
//!   crate (`ToSchema`), so the document describes exactly what is served.
//!
//! Errors are JSON `{"error", "code"}` ([`error::ApiError`]); a 5xx never carries detail.
//! Nothing here writes community data except a token's coarse last-use time.

pub mod auth;
mod endpoints;
pub mod error;
pub mod openapi;
mod query;
pub mod routes;
pub mod token;

use classcred_store::Store;

pub use routes::{route_table, routes, ApiRoute};

/// What the handlers share: the store.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub store: Store,
}

impl ApiState {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}
