//! The live schema of both backends is fully declared in the privacy registry.

use classcred_store::registry;
use classcred_store::testing::TestDb;

#[tokio::test]
async fn every_live_column_is_declared_on_every_backend() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let live = store.live_columns().await.unwrap();
        assert!(
            live.len() > 50,
            "{}: schema read ({} columns)",
            db.backend(),
            live.len()
        );
        let (undeclared, absent) = registry::coverage(&live);
        assert!(
            undeclared.is_empty(),
            "{}: columns missing from the privacy registry (declare them in crates/classcred-store/src/registry/tables.rs): {undeclared:?}",
            db.backend()
        );
        assert!(
            absent.is_empty(),
            "{}: registry declares columns the schema does not have: {absent:?}",
            db.backend()
        );
        store.close().await;
    }
}

#[test]
fn coverage_names_an_undeclared_column() {
    let live = vec![
        ("member".to_string(), "id".to_string()),
        ("member".to_string(), "shoe_size".to_string()),
        ("mystery".to_string(), "x".to_string()),
    ];
    let (undeclared, _) = registry::coverage(&live);
    assert_eq!(undeclared, vec!["member.shoe_size", "mystery.x"]);
}

#[test]
fn data_inventory_doc_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/DATA-INVENTORY.md");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == registry::render_markdown(),
        "docs/DATA-INVENTORY.md is stale: run `cargo run -- registry --format markdown > docs/DATA-INVENTORY.md`"
    );
}

/// The retention schedule's text rule removes every sealed text the registry says goes at the
/// course end (and nothing else): a new table of free text declared "course end" without being
/// added to `TEXT_COLUMNS` would otherwise be kept for ever (the store's purchase reasons were).
#[test]
fn every_course_end_text_column_is_purged() {
    use classcred_store::registry::{Protection, Retention};
    let mut declared: Vec<(&str, &str)> = registry::personal_columns()
        .filter(|(_, _, p)| {
            p.protection == Protection::Encrypted && p.retention == Retention::CourseEnd
        })
        .map(|(t, c, _)| (t, c))
        .collect();
    declared.sort_unstable();
    let mut purged: Vec<(&str, &str)> = classcred_store::TEXT_COLUMNS
        .iter()
        .map(|c| (c.table, c.column))
        .collect();
    purged.sort_unstable();
    assert_eq!(declared, purged);
    for c in classcred_store::TEXT_COLUMNS {
        let table = registry::table(c.table).unwrap();
        assert!(
            table.columns.iter().any(|col| col.name == c.time),
            "{}.{} is not a column",
            c.table,
            c.time
        );
    }
}
