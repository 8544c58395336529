//! Integration tests of the JSON API: tokens, authentication, tenancy, pagination, the
//! OpenAPI document's completeness, and schemathesis against the running API. Storage-touching
//! tests run on SQLite and, when configured, PostgreSQL.
#![expect(clippy::unwrap_used, clippy::panic, reason = "tests")]

mod auth;
mod document;
mod pagination;
mod polls;
mod schemathesis;
mod store;
mod support;
mod tokens;
