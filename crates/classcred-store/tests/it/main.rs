//! classcred-store integration tests: one binary, one module per area.

mod audit;
mod canary;
mod common;
mod jobs;
mod registry;
mod story;
