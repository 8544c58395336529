//! classcred-service integration tests: one binary, one module per area.

mod common;
mod replay_prop;
mod service;
