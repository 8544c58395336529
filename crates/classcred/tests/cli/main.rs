//! The `classcred` binary as an operator uses it.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions unwrap: a failed set-up fails the test"
)]

mod admin;
mod admin_token;
mod basics;
mod bench;
mod browser;
mod crash;
mod demo;
mod demo_sign_in;
mod device_cookies;
mod erase;
mod export;
mod governance;
mod keys;
mod ledger;
mod matrix;
mod matrix_synapse;
mod platforms;
mod research;
mod retention;
mod serve;
mod support;
mod teams;
