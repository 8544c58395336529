//! Grade exports as CSV: points per member, and a Canvas gradebook import file with the
//! columns `Student, ID, SIS User ID, SIS Login ID, Section, ClassCred participation`. Canvas
//! matches a row by its name or ids; ClassCred knows the student's name only, so the id,
//! SIS and section columns stay empty for the teacher (or Canvas's own export) to fill.
//!
//! Quoting is the `csv` crate's. A text cell that a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`.

use classcred_store::{CommunityId, Role, Store};

use super::members::member_rows;
use super::{MemberRow, Roster};
use crate::{Result, ServiceError};

/// The header of the Canvas gradebook import, in Canvas's order.
pub const CANVAS_HEADER: [&str; 6] = [
    "Student",
    "ID",
    "SIS User ID",
    "SIS Login ID",
    "Section",
    "ClassCred participation",
];

/// The header of the points export.
pub const POINTS_HEADER: [&str; 7] = [
    "Student",
    "Platform ID",
    "Role",
    "Earned",
    "Spendable",
    "Level",
    "Level name",
];

/// Which CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradeFormat {
    /// Every person in the community (students first) with role, balances and level.
    Points,
    /// Students only, earned points as the participation grade, Canvas's import columns.
    Canvas,
}

/// The export as CSV text (header first; rows sorted by name).
pub async fn grades_csv(
    store: &Store,
    community_id: &CommunityId,
    format: GradeFormat,
) -> Result<String> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let roster = Roster::load(&mut scoped).await?;
    let rows = member_rows(&mut scoped, community_id, &roster).await?;
    tx.commit().await?;
    render(&rows, format)
}

/// The CSV of already loaded member rows (bots and the app are never exported).
pub fn render(rows: &[MemberRow], format: GradeFormat) -> Result<String> {
    let mut people: Vec<&MemberRow> = rows
        .iter()
        .filter(|r| r.kind == classcred_store::MemberKind::Human)
        .filter(|r| format == GradeFormat::Points || r.role == Role::Student)
        .collect();
    people.sort_by(|a, b| {
        (a.role != Role::Student)
            .cmp(&(b.role != Role::Student))
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            .then_with(|| a.member_id.cmp(&b.member_id))
    });
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| ServiceError::Export(e.to_string());
    match format {
        GradeFormat::Points => {
            w.write_record(POINTS_HEADER).map_err(csv_err)?;
            for r in people {
                w.write_record([
                    safe_text(&r.name),
                    safe_text(&r.platform_user_id),
                    r.role.as_str().to_string(),
                    r.earned.to_string(),
                    r.spendable.to_string(),
                    r.level.to_string(),
                    safe_text(&r.level_name),
                ])
                .map_err(csv_err)?;
            }
        }
        GradeFormat::Canvas => {
            w.write_record(CANVAS_HEADER).map_err(csv_err)?;
            for r in people {
                w.write_record([
                    safe_text(&r.name),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    r.earned.to_string(),
                ])
                .map_err(csv_err)?;
            }
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ServiceError::Export(e.error().to_string()))?;
    String::from_utf8(bytes).map_err(|e| ServiceError::Export(e.to_string()))
}

/// A text cell a spreadsheet will not evaluate.
pub fn safe_text(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use classcred_engine::Points;
    use classcred_store::{MemberKind, MemberRowId};

    fn row(n: u32, name: &str, role: Role, kind: MemberKind, earned: i64) -> MemberRow {
        MemberRow {
            member_id: MemberRowId::parse(&format!("00000000-0000-7000-8000-{n:012}")).unwrap(),
            name: name.to_string(),
            platform_user_id: format!("U{n}"),
            role,
            kind,
            earned: Points::from_thousandths(earned),
            spendable: Points::from_thousandths(earned - 1000),
            level: 1,
            level_name: "Spark".into(),
            last_activity_at: None,
        }
    }

    fn rows() -> Vec<MemberRow> {
        vec![
            row(1, "Zoe Teacher", Role::Instructor, MemberKind::Human, 0),
            row(
                2,
                "=HYPERLINK(\"http://x\")",
                Role::Student,
                MemberKind::Human,
                12_500,
            ),
            row(3, "Doe, Jane", Role::Student, MemberKind::Human, 3000),
            row(4, "Helper bot", Role::Student, MemberKind::Bot, 1000),
            row(5, "@mention", Role::Student, MemberKind::Human, 0),
        ]
    }

    #[test]
    fn canvas_has_exactly_the_import_columns_and_students_only() {
        let csv = render(&rows(), GradeFormat::Canvas).unwrap();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next().unwrap(),
            "Student,ID,SIS User ID,SIS Login ID,Section,ClassCred participation"
        );
        assert_eq!(
            lines.collect::<Vec<_>>(),
            vec![
                "\"'=HYPERLINK(\"\"http://x\"\")\",,,,,12.5",
                "'@mention,,,,,0",
                "\"Doe, Jane\",,,,,3",
            ]
        );
    }

    #[test]
    fn points_lists_people_students_first_with_balances() {
        let csv = render(&rows(), GradeFormat::Points).unwrap();
        let mut r = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(
            r.headers().unwrap().iter().collect::<Vec<_>>(),
            POINTS_HEADER.to_vec()
        );
        let records: Vec<Vec<String>> = r
            .records()
            .map(|rec| rec.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(records.len(), 4, "the bot is not exported");
        assert_eq!(
            records[2],
            vec!["Doe, Jane", "U3", "student", "3", "2", "1", "Spark"]
        );
        assert_eq!(records[3][0], "Zoe Teacher");
        assert_eq!(records[3][2], "instructor");
    }

    #[test]
    fn formula_starters_are_neutralised() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(safe_text(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(safe_text("Ada"), "Ada");
        assert_eq!(safe_text(""), "");
    }
}
