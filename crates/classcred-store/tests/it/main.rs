//! classcred-store integration tests: one binary, one module per area.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions unwrap: a failed set-up fails the test"
)]

mod audit;
mod canary;
mod common;
mod erasure;
mod firsts;
mod hardening;
mod jobs;
mod polls;
mod query_plans;
mod read_path;
mod registry;
mod story;
