//! classcred-service integration tests: one binary, one module per area.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions unwrap: a failed set-up fails the test"
)]

mod aggregates;
mod award_pairs;
mod batch;
mod boards;
mod changes;
mod common;
mod dashboard;
mod erasure;
mod export;
mod firsts;
mod governance;
mod identity;
mod polls;
mod privacy_requests;
mod processing;
mod questions;
mod replay_prop;
mod research_prop;
mod retention;
mod rules;
mod service;
mod store;
