//! Criterion benchmark of the pure engine (placeholder).
fn main() {}
