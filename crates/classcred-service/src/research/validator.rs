//! The gate of every research release: [`validate`] runs on the tables before anything is
//! written and refuses a release that breaks any rule, naming the rule, the table and the
//! column (and the row, never the value: a refused value may be personal data).
//!
//! Rules ([`Rule`]):
//! - `unknown-table`, `unknown-column`, `missing-column`, `malformed-row`: only tables and
//!   columns declared in [`super::schema`], in their declared order, each row as wide as them;
//! - `registry`: every declared source column is in the privacy registry, is read by the
//!   research reader, is never sealed, a blind index, a hash, a profile field (names, emails,
//!   platform ids), a credential, a cookie or device data, nor a free-text or platform-id
//!   column the registry calls not personal; a personal (pseudonymous) source only feeds a
//!   keyed pseudonym, a count or a band, never a copied value;
//! - `min-cell-count`: in an aggregate table every people count is at least the minimum cell
//!   size (10);
//! - `k-anonymity`: in a record table every combination of quasi-identifier values is shared
//!   by at least k rows;
//! - `pseudonym`, `duplicate-pseudonym`: pseudonyms are 32 lowercase hex digits, once per table;
//! - `platform-id`: no value shaped like a platform or internal id (Slack `U0123ABCD`, Matrix
//!   `@alice:matrix.org`, an email, a mention, a Discord snowflake, a UUID);
//! - `time-granularity`: no date, clock time or epoch timestamp; weeks are `YYYY-Www`;
//! - `free-text`: a category value is one of the column's declared values (anything longer,
//!   with whitespace or other characters is refused as possible free text);
//! - `number`: a count is a plain non-negative integer of at most 9 digits.

use std::collections::{HashMap, HashSet};
use std::fmt;

use classcred_store::registry::{self, Category, Class, Protection};

use super::schema::{self, ColumnRole, TableKind, TableSpec, ValueKind, BAND_VALUES};
use super::ReleaseTable;

/// A rule of the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    UnknownTable,
    UnknownColumn,
    MissingColumn,
    MalformedRow,
    Registry,
    MinCellCount,
    KAnonymity,
    Pseudonym,
    DuplicatePseudonym,
    PlatformId,
    TimeGranularity,
    FreeText,
    Number,
}

impl Rule {
    pub fn code(self) -> &'static str {
        match self {
            Rule::UnknownTable => "unknown-table",
            Rule::UnknownColumn => "unknown-column",
            Rule::MissingColumn => "missing-column",
            Rule::MalformedRow => "malformed-row",
            Rule::Registry => "registry",
            Rule::MinCellCount => "min-cell-count",
            Rule::KAnonymity => "k-anonymity",
            Rule::Pseudonym => "pseudonym",
            Rule::DuplicatePseudonym => "duplicate-pseudonym",
            Rule::PlatformId => "platform-id",
            Rule::TimeGranularity => "time-granularity",
            Rule::FreeText => "free-text",
            Rule::Number => "number",
        }
    }
}

/// One broken rule: where, and why (never the offending value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: Rule,
    pub table: String,
    pub column: Option<String>,
    /// 1-based data row.
    pub row: Option<usize>,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}: table {}", self.rule.code(), self.table)?;
        if let Some(c) = &self.column {
            write!(f, ", column {c}")?;
        }
        if let Some(r) = self.row {
            write!(f, ", row {r}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// The thresholds a release is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Minimum group size of record tables on their quasi-identifiers.
    pub k: usize,
    /// Minimum people count of an aggregate cell.
    pub min_cell: usize,
}

fn v(
    rule: Rule,
    table: &str,
    column: Option<&str>,
    row: Option<usize>,
    detail: impl Into<String>,
) -> Violation {
    Violation {
        rule,
        table: table.to_owned(),
        column: column.map(str::to_owned),
        row,
        detail: detail.into(),
    }
}

/// Check every table of a release; `Ok` only when no rule is broken.
pub fn validate(tables: &[ReleaseTable], limits: &Limits) -> Result<(), Vec<Violation>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for t in tables {
        if !seen.insert(t.name.as_str()) {
            out.push(v(
                Rule::UnknownTable,
                &t.name,
                None,
                None,
                "the table appears twice",
            ));
            continue;
        }
        let Some(spec) = schema::table_spec(&t.name) else {
            out.push(v(
                Rule::UnknownTable,
                &t.name,
                None,
                None,
                "not a declared release table",
            ));
            continue;
        };
        out.extend(check_sources(spec));
        out.extend(check_table(spec, t, limits));
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

/// Check a table's declared sources against the privacy registry and the research reader.
pub fn check_sources(spec: &TableSpec) -> Vec<Violation> {
    let mut out = Vec::new();
    let read: Vec<_> = schema::read_sources().collect();
    for c in spec.columns {
        if c.sources.is_empty() {
            out.push(v(
                Rule::Registry,
                spec.name,
                Some(c.name),
                None,
                "declares no source column",
            ));
        }
        for &(table, column) in c.sources {
            if let Err(why) = source_allowed(table, column, c.kind, c.role) {
                out.push(v(
                    Rule::Registry,
                    spec.name,
                    Some(c.name),
                    None,
                    format!("source {table}.{column}: {why}"),
                ));
            } else if !read.contains(&&(table, column)) {
                out.push(v(
                    Rule::Registry,
                    spec.name,
                    Some(c.name),
                    None,
                    format!("source {table}.{column} is not read by the research reader"),
                ));
            }
        }
    }
    out
}

/// Column names the registry may call not personal but that hold free text or platform ids
/// (course names, token labels, channel ids, errors, payloads).
fn risky_name(column: &str) -> bool {
    column.ends_with("_enc")
        || column.ends_with("_bidx")
        || column.ends_with("_hash")
        || [
            "name",
            "platform",
            "text",
            "note",
            "payload",
            "error",
            "details",
            "token",
            "channel",
            "thread",
            "email",
            "url",
            "bot_user",
            "subject",
            "actor",
            "receipt",
            "source_ref",
            "key",
        ]
        .iter()
        .any(|w| column.contains(w))
}

/// May `table.column` feed a release column of this kind and role?
pub fn source_allowed(
    table: &str,
    column: &str,
    kind: ValueKind,
    role: ColumnRole,
) -> Result<(), String> {
    let Some(t) = registry::table(table) else {
        return Err("table not in the privacy registry".into());
    };
    let Some(c) = t.columns.iter().find(|c| c.name == column) else {
        return Err("column not in the privacy registry".into());
    };
    match c.class {
        Class::Personal(p) => {
            if p.protection != Protection::Pseudonymous {
                return Err(format!(
                    "personal and {:?} in the registry: never released",
                    p.protection
                ));
            }
            if !matches!(p.category, Category::Activity | Category::Metadata) {
                return Err(format!(
                    "personal {} data in the registry: never released",
                    p.category.label()
                ));
            }
            let derived = match kind {
                ValueKind::Pseudonym => role == ColumnRole::Pseudonym,
                ValueKind::Count => matches!(role, ColumnRole::People | ColumnRole::Measure),
                ValueKind::Category(values) => values == BAND_VALUES,
                ValueKind::IsoWeek => false,
            };
            if !derived {
                return Err(
                    "a personal pseudonymous column may only feed a keyed pseudonym, a count or a band"
                        .into(),
                );
            }
            Ok(())
        }
        Class::NonPersonal { .. } => {
            if risky_name(column) {
                return Err("may hold free text, names or platform ids: never released".into());
            }
            if kind == ValueKind::Pseudonym && column != "id" {
                return Err("only row ids are pseudonymised".into());
            }
            Ok(())
        }
    }
}

fn check_table(spec: &TableSpec, t: &ReleaseTable, limits: &Limits) -> Vec<Violation> {
    let mut out = Vec::new();
    for c in &t.columns {
        if !spec.columns.iter().any(|s| s.name == c) {
            out.push(v(
                Rule::UnknownColumn,
                spec.name,
                Some(c),
                None,
                "not a declared column of the table",
            ));
        }
    }
    for s in spec.columns {
        if !t.columns.iter().any(|c| c == s.name) {
            out.push(v(
                Rule::MissingColumn,
                spec.name,
                Some(s.name),
                None,
                "declared column missing",
            ));
        }
    }
    if !out.is_empty() {
        return out;
    }
    if t.columns
        .iter()
        .map(String::as_str)
        .ne(spec.columns.iter().map(|s| s.name))
    {
        out.push(v(
            Rule::UnknownColumn,
            spec.name,
            None,
            None,
            "columns are not in their declared order",
        ));
        return out;
    }
    let mut bad_rows = HashSet::new();
    let mut pseudonyms = HashSet::new();
    for (i, row) in t.rows.iter().enumerate() {
        let n = i + 1;
        if row.len() != spec.columns.len() {
            out.push(v(
                Rule::MalformedRow,
                spec.name,
                None,
                Some(n),
                format!("{} values for {} columns", row.len(), spec.columns.len()),
            ));
            bad_rows.insert(i);
            continue;
        }
        for (s, value) in spec.columns.iter().zip(row) {
            if let Err((rule, why)) = check_value(s.kind, value) {
                out.push(v(rule, spec.name, Some(s.name), Some(n), why));
                bad_rows.insert(i);
                continue;
            }
            if s.kind == ValueKind::Pseudonym && !pseudonyms.insert(value.as_str()) {
                out.push(v(
                    Rule::DuplicatePseudonym,
                    spec.name,
                    Some(s.name),
                    Some(n),
                    "the pseudonym appears on another row",
                ));
            }
            if s.role == ColumnRole::People && spec.kind == TableKind::Aggregate {
                let people: usize = value.parse().unwrap_or(0);
                if people < limits.min_cell {
                    out.push(v(
                        Rule::MinCellCount,
                        spec.name,
                        Some(s.name),
                        Some(n),
                        format!(
                            "the cell counts {people} people, fewer than {}",
                            limits.min_cell
                        ),
                    ));
                }
            }
        }
    }
    if spec.kind == TableKind::Aggregate
        && !spec.columns.iter().any(|c| c.role == ColumnRole::People)
    {
        out.push(v(
            Rule::MinCellCount,
            spec.name,
            None,
            None,
            "an aggregate table declares no people count",
        ));
    }
    if spec.kind == TableKind::Record {
        let qi: Vec<usize> = spec
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.role == ColumnRole::QuasiIdentifier)
            .map(|(i, _)| i)
            .collect();
        let mut groups: HashMap<Vec<&str>, Vec<usize>> = HashMap::new();
        for (i, row) in t.rows.iter().enumerate() {
            if bad_rows.contains(&i) {
                continue;
            }
            groups
                .entry(qi.iter().map(|&j| row[j].as_str()).collect())
                .or_default()
                .push(i + 1);
        }
        let names: Vec<&str> = qi.iter().map(|&j| spec.columns[j].name).collect();
        let mut small: Vec<(usize, usize)> = groups
            .values()
            .filter(|rows| rows.len() < limits.k)
            .map(|rows| (rows[0], rows.len()))
            .collect();
        small.sort_unstable();
        for (first, size) in small {
            out.push(v(
                Rule::KAnonymity,
                spec.name,
                Some(&names.join("+")),
                Some(first),
                format!(
                    "{size} row(s) share these quasi-identifier values, fewer than k = {}",
                    limits.k
                ),
            ));
        }
    }
    out
}

fn check_value(kind: ValueKind, value: &str) -> Result<(), (Rule, String)> {
    if kind == ValueKind::Pseudonym {
        return if value.len() == 32
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(())
        } else {
            Err((Rule::Pseudonym, "not a 32-hex-digit keyed pseudonym".into()))
        };
    }
    if let Some(why) = identifier_shape(value) {
        return Err((Rule::PlatformId, why.into()));
    }
    if let Some(why) = time_shape(value) {
        return Err((Rule::TimeGranularity, why.into()));
    }
    match kind {
        ValueKind::Pseudonym => Ok(()),
        ValueKind::Count => {
            if !value.is_empty() && value.len() <= 9 && value.bytes().all(|b| b.is_ascii_digit()) {
                Ok(())
            } else {
                Err((
                    Rule::Number,
                    "not a non-negative integer of at most 9 digits".into(),
                ))
            }
        }
        ValueKind::IsoWeek => {
            if is_iso_week(value) {
                Ok(())
            } else {
                Err((
                    Rule::TimeGranularity,
                    "not an ISO week (YYYY-Www); nothing finer is released".into(),
                ))
            }
        }
        ValueKind::Category(allowed) => {
            if allowed.contains(&value) {
                return Ok(());
            }
            let why = if value.chars().any(char::is_whitespace) {
                "contains whitespace: looks like free text"
            } else if value.chars().count() > 16 {
                "longer than any declared value: looks like free text"
            } else if !value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-+*".contains(c))
            {
                "characters outside the declared values' alphabet: looks like free text"
            } else {
                "not one of the column's declared values"
            };
            Err((Rule::FreeText, why.into()))
        }
    }
}

/// `YYYY-Www` with a week 01–53.
pub fn is_iso_week(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 8
        && b[..4].iter().all(u8::is_ascii_digit)
        && &b[4..6] == b"-W"
        && b[6..].iter().all(u8::is_ascii_digit)
        && matches!(s[6..].parse::<u32>(), Ok(1..=53))
}

/// Why a value looks like a platform or internal identifier, if it does.
pub fn identifier_shape(s: &str) -> Option<&'static str> {
    let t = s.trim();
    if t.contains('@') {
        return Some("contains @: a handle, mention, Matrix id or email");
    }
    if (t.starts_with('!') || t.starts_with('#') || t.starts_with('$')) && t.contains(':') {
        return Some("shaped like a Matrix room or event id");
    }
    if t.len() >= 15 && t.bytes().all(|b| b.is_ascii_digit()) {
        return Some("shaped like a Discord snowflake id");
    }
    let b = t.as_bytes();
    if b.len() >= 7
        && b.len() <= 24
        && b"UWBCDGTE".contains(&b[0])
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b[1..].iter().any(u8::is_ascii_digit)
    {
        return Some("shaped like a Slack id");
    }
    if uuid::Uuid::try_parse(t).is_ok() {
        return Some("shaped like a UUID (an internal row id)");
    }
    None
}

/// Why a value looks like a time finer than an ISO week, if it does.
pub fn time_shape(s: &str) -> Option<&'static str> {
    let b = s.as_bytes();
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    for i in 0..b.len() {
        // YYYY-MM-DD (a date), also inside a longer value.
        if (0..4).all(|j| d(i + j))
            && b.get(i + 4) == Some(&b'-')
            && d(i + 5)
            && d(i + 6)
            && b.get(i + 7) == Some(&b'-')
            && d(i + 8)
            && d(i + 9)
        {
            return Some("contains a date: finer than an ISO week");
        }
        // hh:mm (a clock time).
        if d(i) && b.get(i + 1) == Some(&b':') && d(i + 2) && d(i + 3) {
            return Some("contains a clock time: finer than an ISO week");
        }
        // YYYY-Www-D (a week day).
        if b.get(i) == Some(&b'W')
            && d(i + 1)
            && d(i + 2)
            && b.get(i + 3) == Some(&b'-')
            && d(i + 4)
        {
            return Some("an ISO week date (with a day): finer than an ISO week");
        }
    }
    if (10..=14).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) {
        return Some("shaped like an epoch timestamp");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::schema::{ROLE_VALUES, TABLES};
    use super::*;

    const LIMITS: Limits = Limits { k: 5, min_cell: 10 };

    fn table(spec: &TableSpec, rows: Vec<Vec<&str>>) -> ReleaseTable {
        ReleaseTable {
            name: spec.name.into(),
            columns: spec.columns.iter().map(|c| c.name.to_owned()).collect(),
            rows: rows
                .into_iter()
                .map(|r| r.into_iter().map(str::to_owned).collect())
                .collect(),
        }
    }

    fn pseudo(i: usize) -> String {
        format!("{i:032x}")
    }

    /// `n` members rows all alike (role student, bands as given).
    fn members(n: usize, role: &str) -> Vec<Vec<String>> {
        (0..n)
            .map(|i| {
                vec![
                    pseudo(i + 1000 * role.len()),
                    role.into(),
                    "1-2".into(),
                    "3-5".into(),
                    "6-10".into(),
                    "6-10".into(),
                ]
            })
            .collect()
    }

    fn members_table(rows: Vec<Vec<String>>) -> ReleaseTable {
        ReleaseTable {
            name: "members".into(),
            columns: schema::MEMBERS
                .columns
                .iter()
                .map(|c| c.name.to_owned())
                .collect(),
            rows,
        }
    }

    fn rules(r: Result<(), Vec<Violation>>) -> Vec<(Rule, Option<String>)> {
        match r {
            Ok(()) => Vec::new(),
            Err(vs) => vs.into_iter().map(|v| (v.rule, v.column)).collect(),
        }
    }

    fn good_fires() -> ReleaseTable {
        table(
            &schema::FIRES_PER_WEEK_BY_ROLE,
            vec![
                vec!["2026-W10", "student", "student", "41", "12", "15"],
                vec!["2026-W11", "student", "student", "30", "10", "10"],
            ],
        )
    }

    #[test]
    fn a_clean_release_passes() {
        let tables = vec![
            good_fires(),
            table(
                &schema::LEVEL_DISTRIBUTION,
                vec![vec!["student", "1-2", "14"]],
            ),
            members_table(members(6, "student")),
        ];
        assert_eq!(rules(validate(&tables, &LIMITS)), vec![]);
    }

    #[test]
    fn every_declared_table_passes_the_registry_check() {
        for t in TABLES {
            assert_eq!(check_sources(t), vec![], "{}", t.name);
        }
    }

    #[test]
    fn one_student_alone_in_a_role_is_refused() {
        // Level distribution: the only instructor is a cell of one.
        let t = table(
            &schema::LEVEL_DISTRIBUTION,
            vec![vec!["student", "1-2", "14"], vec!["instructor", "3-5", "1"]],
        );
        let r = validate(&[t], &LIMITS).unwrap_err();
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].rule, Rule::MinCellCount);
        assert_eq!(r[0].column.as_deref(), Some("members"));
        assert_eq!(r[0].row, Some(2));
        assert!(
            r[0].to_string()
                .contains("rule min-cell-count: table level_distribution, column members, row 2"),
            "{}",
            r[0]
        );

        // Record level: six students and one admin alone in their role.
        let mut rows = members(6, "student");
        rows.extend(members(1, "admin"));
        let r = rules(validate(&[members_table(rows)], &LIMITS));
        assert_eq!(
            r,
            vec![(
                Rule::KAnonymity,
                Some("role+level_band+weeks_active+fires_given+fires_received".into())
            )]
        );
    }

    #[test]
    fn one_student_alone_in_a_week_is_refused() {
        let t = table(
            &schema::PARTICIPATION_PER_WEEK,
            vec![
                vec!["2026-W10", "student", "25", "40", "38"],
                vec!["2026-W11", "student", "1", "3", "0"],
            ],
        );
        assert_eq!(
            rules(validate(&[t], &LIMITS)),
            vec![(Rule::MinCellCount, Some("active_members".into()))]
        );
        // A fire cell with many givers but one recipient.
        let t = table(
            &schema::FIRES_PER_WEEK_BY_ROLE,
            vec![vec!["2026-W12", "student", "student", "12", "12", "1"]],
        );
        assert_eq!(
            rules(validate(&[t], &LIMITS)),
            vec![(Rule::MinCellCount, Some("recipients".into()))]
        );
        // Record level: one member whose activity band differs from everyone else's.
        let mut rows = members(8, "student");
        rows[3][3] = "51+".into();
        assert_eq!(
            rules(validate(&[members_table(rows)], &LIMITS))
                .into_iter()
                .map(|r| r.0)
                .collect::<Vec<_>>(),
            vec![Rule::KAnonymity]
        );
    }

    #[test]
    fn k_is_configurable() {
        let rows = members(6, "student");
        assert!(validate(&[members_table(rows.clone())], &LIMITS).is_ok());
        let strict = Limits { k: 7, min_cell: 10 };
        assert_eq!(
            rules(validate(&[members_table(rows)], &strict))
                .into_iter()
                .map(|r| r.0)
                .collect::<Vec<_>>(),
            vec![Rule::KAnonymity]
        );
    }

    #[test]
    fn feedback_text_smuggled_into_a_category_column_is_refused() {
        for text in [
            "great answer, thanks!",
            "thanks",
            "Student",
            "verylongcategoryvaluethatisnotdeclared",
            "student\n",
        ] {
            let mut t = good_fires();
            t.rows[1][1] = text.into();
            let r = validate(&[t], &LIMITS).unwrap_err();
            assert_eq!(r.len(), 1, "{text:?}: {r:?}");
            assert_eq!(r[0].rule, Rule::FreeText, "{text:?}");
            assert_eq!(r[0].column.as_deref(), Some("giver_role"));
            assert!(
                !r[0].to_string().contains(text.trim()),
                "the value is never echoed"
            );
        }
        let mut rows = members(6, "student");
        rows[0][2] = "ok so here's my feedback".into();
        assert!(rules(validate(&[members_table(rows)], &LIMITS))
            .contains(&(Rule::FreeText, Some("level_band".into()))));
    }

    #[test]
    fn a_platform_id_in_a_number_column_is_refused() {
        for id in [
            "U0123ABCD",
            "W012ABCDE9",
            "@alice:matrix.org",
            "alice@example.edu",
            "<@U0123ABCD>",
            "123456789012345678",
            "0190f3a2-7c4e-7a51-9b2c-3d4e5f607182",
        ] {
            let mut t = good_fires();
            t.rows[0][3] = id.into();
            let r = validate(&[t], &LIMITS).unwrap_err();
            assert_eq!(r.len(), 1, "{id}: {r:?}");
            assert_eq!(r[0].rule, Rule::PlatformId, "{id}");
            assert_eq!(r[0].column.as_deref(), Some("fires"));
            assert!(!r[0].to_string().contains(id), "the value is never echoed");
        }
        // Also in a people count, and in a category column.
        let mut t = good_fires();
        t.rows[0][4] = "U0123ABCD".into();
        t.rows[0][2] = "@alice:matrix.org".into();
        assert_eq!(
            rules(validate(&[t], &LIMITS)),
            vec![
                (Rule::PlatformId, Some("recipient_role".into())),
                (Rule::PlatformId, Some("givers".into()))
            ]
        );
    }

    #[test]
    fn a_non_numeric_value_in_a_number_column_is_refused() {
        for bad in ["-3", "4.5", "", "twelve", "1e3", "+7"] {
            let mut t = good_fires();
            t.rows[0][3] = bad.into();
            assert_eq!(
                rules(validate(&[t], &LIMITS)),
                vec![(Rule::Number, Some("fires".into()))],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_time_finer_than_a_week_is_refused() {
        for bad in [
            "2026-03-02",
            "2026-03-02T10:15:00Z",
            "2026-W10-1",
            "2026-W54",
            "2026-W00",
            "10:15",
        ] {
            let mut t = good_fires();
            t.rows[0][0] = bad.into();
            assert_eq!(
                rules(validate(&[t], &LIMITS)),
                vec![(Rule::TimeGranularity, Some("iso_week".into()))],
                "{bad:?}"
            );
        }
        // A timestamp in a number column.
        let mut t = good_fires();
        t.rows[0][3] = "1772445600000".into();
        assert_eq!(
            rules(validate(&[t], &LIMITS)),
            vec![(Rule::TimeGranularity, Some("fires".into()))]
        );
    }

    #[test]
    fn unknown_tables_and_columns_are_refused() {
        let mut t = good_fires();
        t.columns.push("author_name".into());
        for r in &mut t.rows {
            r.push("x".into());
        }
        assert_eq!(
            rules(validate(&[t], &LIMITS)),
            vec![(Rule::UnknownColumn, Some("author_name".into()))]
        );
        let mut t = good_fires();
        t.columns.remove(5);
        assert_eq!(
            rules(validate(&[t], &LIMITS)),
            vec![(Rule::MissingColumn, Some("recipients".into()))]
        );
        let mut t = good_fires();
        t.columns.swap(4, 5);
        assert_eq!(
            rules(validate(&[t], &LIMITS)),
            vec![(Rule::UnknownColumn, None)]
        );
        let mut t = good_fires();
        t.name = "messages".into();
        assert_eq!(
            rules(validate(&[t], &LIMITS)),
            vec![(Rule::UnknownTable, None)]
        );
        let mut t = good_fires();
        t.rows[0].pop();
        assert_eq!(
            rules(validate(&[t], &LIMITS)),
            vec![(Rule::MalformedRow, None)]
        );
    }

    #[test]
    fn pseudonyms_are_keyed_hashes_once_each() {
        let mut rows = members(6, "student");
        rows[1][0] = "U0123ABCD".into();
        assert!(rules(validate(&[members_table(rows)], &LIMITS))
            .contains(&(Rule::Pseudonym, Some("pseudonym".into()))));
        let mut rows = members(6, "student");
        rows[1][0] = rows[0][0].clone();
        assert_eq!(
            rules(validate(&[members_table(rows)], &LIMITS)),
            vec![(Rule::DuplicatePseudonym, Some("pseudonym".into()))]
        );
    }

    static NAME_COLUMN: TableSpec = TableSpec {
        name: "bad",
        kind: TableKind::Aggregate,
        about: "",
        columns: &[
            schema::ColumnSpec {
                name: "who",
                kind: ValueKind::Category(ROLE_VALUES),
                role: ColumnRole::Key,
                sources: &[("member", "name_enc")],
                meaning: "",
            },
            schema::ColumnSpec {
                name: "platform",
                kind: ValueKind::Category(ROLE_VALUES),
                role: ColumnRole::Key,
                sources: &[("member", "platform_user_id")],
                meaning: "",
            },
            schema::ColumnSpec {
                name: "course",
                kind: ValueKind::Category(ROLE_VALUES),
                role: ColumnRole::Key,
                sources: &[("community", "name")],
                meaning: "",
            },
            schema::ColumnSpec {
                name: "giver",
                kind: ValueKind::Category(ROLE_VALUES),
                role: ColumnRole::Key,
                sources: &[("ledger_entry", "giver_member_id")],
                meaning: "",
            },
            schema::ColumnSpec {
                name: "tz",
                kind: ValueKind::Count,
                role: ColumnRole::People,
                sources: &[("member", "timezone_enc"), ("nowhere", "x")],
                meaning: "",
            },
            schema::ColumnSpec {
                name: "feedback",
                kind: ValueKind::Count,
                role: ColumnRole::Measure,
                sources: &[("ledger_entry", "note_enc"), ("message", "channel_id")],
                meaning: "",
            },
        ],
    };

    #[test]
    fn the_registry_decides_which_sources_may_feed_a_release() {
        let r = check_sources(&NAME_COLUMN);
        let cols: Vec<&str> = r.iter().filter_map(|v| v.column.as_deref()).collect();
        assert_eq!(
            cols,
            vec!["who", "platform", "course", "giver", "tz", "tz", "feedback", "feedback"],
            "{r:#?}"
        );
        assert!(r.iter().all(|v| v.rule == Rule::Registry));
        // A pseudonymous source read by the reader is fine as a count.
        assert!(source_allowed(
            "ledger_entry",
            "giver_member_id",
            ValueKind::Count,
            ColumnRole::People
        )
        .is_ok());
    }

    #[test]
    fn shapes() {
        assert!(is_iso_week("2026-W48"));
        assert!(!is_iso_week("2026-W4"));
        assert!(identifier_shape("student").is_none());
        assert!(identifier_shape("51+").is_none());
        assert!(identifier_shape("1234").is_none());
        assert!(time_shape("2026-W48").is_none());
        assert!(time_shape("6-10").is_none());
    }
}
