//! Integration tests of the recognition engine (one binary; modules per rule area).

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly on bad fixtures"
)]

mod activities;
mod dates;
mod edits;
mod fire;
mod firsts;
mod leaderboard;
mod polls;
mod props;
mod questions;
mod quota;
mod reactions;
mod rewards;
mod rules;
mod store;
mod support;
mod tax;
