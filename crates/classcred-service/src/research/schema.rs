//! What a research release may contain: its tables, their columns, each column's kind of
//! value, its role (key, quasi-identifier, people count, measure) and the stored columns it is
//! derived from. The validator ([`super::validator`]) refuses any table or column not declared
//! here, and checks every declared source against the privacy registry.

use classcred_store::research::{FIRE_SOURCES, MEMBER_SOURCES};

/// Role values: the stored roles, `staff` (admin or instructor, generalised) and `*` (any).
pub const ROLE_VALUES: &[&str] = &["admin", "instructor", "student", "staff", "*"];

/// Band labels of levels and counts: fine, medium, coarse and `*` (any).
pub const BAND_VALUES: &[&str] = &[
    "0", "1-2", "3-5", "6-10", "11-20", "21-50", "51+", "1-10", "11-50", "1-5", "6+", "*",
];

/// The kind of value a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A keyed pseudonym: 32 lowercase hex digits.
    Pseudonym,
    /// One of a declared set of short labels.
    Category(&'static [&'static str]),
    /// A non-negative integer (at most 9 digits).
    Count,
    /// An ISO week, `YYYY-Www`.
    IsoWeek,
}

/// What a column is for in the disclosure rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRole {
    /// Groups an aggregate row (week, role, band).
    Key,
    /// A record-level attribute someone could know from elsewhere: k-anonymity holds on these.
    QuasiIdentifier,
    /// How many distinct people a cell counts: at least the minimum cell size.
    People,
    /// A value aggregated over the row's people (a sum of fire).
    Measure,
    /// The record's pseudonym.
    Pseudonym,
}

#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub kind: ValueKind,
    pub role: ColumnRole,
    /// The stored `(table, column)`s the value is derived from.
    pub sources: &'static [(&'static str, &'static str)],
    pub meaning: &'static str,
}

/// Aggregate (one row per group, with people counts) or record-level (one row per person).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    Aggregate,
    Record,
}

#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    pub name: &'static str,
    pub kind: TableKind,
    pub about: &'static str,
    pub columns: &'static [ColumnSpec],
}

impl TableSpec {
    /// The file name of the table in a release.
    pub fn file_name(&self) -> String {
        format!("{}.csv", self.name)
    }
}

const LEDGER_WEEK: &[(&str, &str)] = &[
    ("ledger_entry", "iso_week"),
    ("ledger_entry", "occurred_at"),
];
const MEMBER_ROLE: &[(&str, &str)] = &[("member", "role")];
const MEMBER_LEVEL: &[(&str, &str)] = &[("member", "level")];
const MEMBER_ID: &[(&str, &str)] = &[("member", "id")];
const FIRE_UNITS: &[(&str, &str)] = &[("ledger_entry", "fire_units")];
const GIVERS: &[(&str, &str)] = &[("ledger_entry", "giver_member_id")];
const RECIPIENTS: &[(&str, &str)] = &[("ledger_entry", "member_id")];
const PARTICIPANTS: &[(&str, &str)] = &[
    ("ledger_entry", "giver_member_id"),
    ("ledger_entry", "member_id"),
];

const fn col(
    name: &'static str,
    kind: ValueKind,
    role: ColumnRole,
    sources: &'static [(&'static str, &'static str)],
    meaning: &'static str,
) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        role,
        sources,
        meaning,
    }
}

use ColumnRole::*;
use ValueKind::*;

/// Fire per week, by the giver's and the recipient's role.
pub const FIRES_PER_WEEK_BY_ROLE: TableSpec = TableSpec {
    name: "fires_per_week_by_role",
    kind: TableKind::Aggregate,
    about: "net fire given per ISO week, by the giver's and the recipient's current role",
    columns: &[
        col(
            "iso_week",
            IsoWeek,
            Key,
            LEDGER_WEEK,
            "ISO week of the fire",
        ),
        col(
            "giver_role",
            Category(ROLE_VALUES),
            Key,
            MEMBER_ROLE,
            "role of the givers",
        ),
        col(
            "recipient_role",
            Category(ROLE_VALUES),
            Key,
            MEMBER_ROLE,
            "role of the recipients",
        ),
        col("fires", Count, Measure, FIRE_UNITS, "net fire units given"),
        col("givers", Count, People, GIVERS, "distinct givers"),
        col(
            "recipients",
            Count,
            People,
            RECIPIENTS,
            "distinct recipients",
        ),
    ],
};

/// Members active per week, by role.
pub const PARTICIPATION_PER_WEEK: TableSpec = TableSpec {
    name: "participation_per_week",
    kind: TableKind::Aggregate,
    about: "members who gave or received fire in an ISO week, by role, with the fire they gave and received",
    columns: &[
        col("iso_week", IsoWeek, Key, LEDGER_WEEK, "ISO week"),
        col("role", Category(ROLE_VALUES), Key, MEMBER_ROLE, "current role"),
        col(
            "active_members",
            Count,
            People,
            PARTICIPANTS,
            "distinct members who gave or received fire that week",
        ),
        col("fires_given", Count, Measure, FIRE_UNITS, "net fire units they gave"),
        col(
            "fires_received",
            Count,
            Measure,
            FIRE_UNITS,
            "net fire units they received",
        ),
    ],
};

/// Members per level band and role.
pub const LEVEL_DISTRIBUTION: TableSpec = TableSpec {
    name: "level_distribution",
    kind: TableKind::Aggregate,
    about: "members per role and level band",
    columns: &[
        col(
            "role",
            Category(ROLE_VALUES),
            Key,
            MEMBER_ROLE,
            "current role",
        ),
        col(
            "level_band",
            Category(BAND_VALUES),
            Key,
            MEMBER_LEVEL,
            "level reached, banded",
        ),
        col("members", Count, People, MEMBER_ID, "distinct members"),
    ],
};

/// One row per pseudonymous member.
pub const MEMBERS: TableSpec = TableSpec {
    name: "members",
    kind: TableKind::Record,
    about: "one row per member under a keyed pseudonym: role, level band and banded activity; k-anonymous on every column but the pseudonym",
    columns: &[
        col(
            "pseudonym",
            ValueKind::Pseudonym,
            ColumnRole::Pseudonym,
            MEMBER_ID,
            "HMAC-SHA256 of the member's row id under this release's discarded key",
        ),
        col(
            "role",
            Category(ROLE_VALUES),
            QuasiIdentifier,
            MEMBER_ROLE,
            "role, or staff / * when generalised",
        ),
        col(
            "level_band",
            Category(BAND_VALUES),
            QuasiIdentifier,
            MEMBER_LEVEL,
            "level reached, banded",
        ),
        col(
            "weeks_active",
            Category(BAND_VALUES),
            QuasiIdentifier,
            PARTICIPANTS,
            "ISO weeks in which the member gave or received fire, banded",
        ),
        col(
            "fires_given",
            Category(BAND_VALUES),
            QuasiIdentifier,
            GIVERS,
            "net fire units given, banded",
        ),
        col(
            "fires_received",
            Category(BAND_VALUES),
            QuasiIdentifier,
            RECIPIENTS,
            "net fire units received, banded",
        ),
    ],
};

/// Every table a release may contain.
pub static TABLES: &[TableSpec] = &[
    FIRES_PER_WEEK_BY_ROLE,
    PARTICIPATION_PER_WEEK,
    LEVEL_DISTRIBUTION,
    MEMBERS,
];

/// Find a declared release table.
pub fn table_spec(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().find(|t| t.name == name)
}

/// Every stored column the reader reads (the sources of the tables must be among them).
pub fn read_sources() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    MEMBER_SOURCES.iter().chain(FIRE_SOURCES.iter())
}
