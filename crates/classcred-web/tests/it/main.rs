//! classcred-web integration tests: one binary, one module per area. Every story runs on
//! SQLite and, when `CLASSCRED_TEST_POSTGRES_URL` is set, on PostgreSQL.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod announcements;
mod class_pages;
mod erasures;
mod exports;
mod headers;
mod login;
mod matrix;
mod oidc;
mod pages;
mod policy;
mod polls;
mod privacy_page;
mod privacy_requests;
mod questions;
mod research;
mod retention;
mod settings;
mod store;
mod support;
