//! `sqlx::migrate!` embeds the migration files at compile time, but a proc macro does not tell
//! cargo which files it read: without this, an added or edited migration is not picked up
//! until something else in the crate changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
