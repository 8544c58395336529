//! classcred-oidc integration tests: the relying party against a real OpenID Provider (the npm
//! package `oidc-provider`, run on loopback by `provider.rs`), one module per area.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failed set-up fails the test"
)]

mod app;
mod discovery;
mod edge_provider;
mod flow;
mod provider;
mod web;
