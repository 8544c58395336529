//! Building a release's tables from what the research reader read: keyed pseudonyms, ISO
//! weeks, aggregates with small cells suppressed, and the record table generalised (bands,
//! roles) and then suppressed until it is k-anonymous. Pure: no store, no clock, no files.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::Datelike;
use classcred_store::research::{ResearchFire, ResearchMember};
use classcred_store::MemberRowId;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::schema::{self, TableSpec};
use super::ReleaseTable;

/// The key of one release's pseudonyms: 32 random bytes, made fresh for each release, kept
/// only in memory (zeroed on drop), never stored, logged or written. Without it, a pseudonym
/// cannot be recomputed, so two releases share none.
pub struct PseudonymKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(..)")
    }
}

impl PseudonymKey {
    /// A fresh random key from the operating system's generator.
    pub fn fresh() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(k.as_mut());
        Self(k)
    }

    /// The pseudonym of a member: HMAC-SHA256 over a domain label and the member's row id,
    /// first 16 bytes in hex.
    pub fn pseudonym(&self, member: &MemberRowId) -> String {
        // HMAC accepts keys of any length: this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.0.as_ref()) else {
            return String::new();
        };
        mac.update(b"classcred/research-pseudonym/v1\0");
        mac.update(member.as_str().as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

/// What was suppressed or generalised in one table (counts only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableNote {
    pub rows: usize,
    pub suppressed_rows: usize,
    /// For the record table: the generalisation step used (0 = finest).
    pub generalisation: Option<&'static str>,
}

/// The built tables and what was done to them, before validation.
#[derive(Debug)]
pub struct Built {
    pub tables: Vec<ReleaseTable>,
    pub notes: BTreeMap<&'static str, TableNote>,
}

/// A band label: fine (`0`, `1-2`, `3-5`, `6-10`, `11-20`, `21-50`, `51+`), medium (`0`,
/// `1-10`, `11-50`, `51+`), coarse (`0`, `1-5`, `6+`) or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Band {
    Fine,
    Medium,
    Coarse,
    Any,
}

pub fn band(n: i64, b: Band) -> &'static str {
    match b {
        Band::Any => "*",
        Band::Medium => match n {
            i64::MIN..=0 => "0",
            1..=10 => "1-10",
            11..=50 => "11-50",
            _ => "51+",
        },
        Band::Coarse => match n {
            i64::MIN..=0 => "0",
            1..=5 => "1-5",
            _ => "6+",
        },
        Band::Fine => match n {
            i64::MIN..=0 => "0",
            1..=2 => "1-2",
            3..=5 => "3-5",
            6..=10 => "6-10",
            11..=20 => "11-20",
            21..=50 => "21-50",
            _ => "51+",
        },
    }
}

fn role_label(role: &str, generalised: u8) -> &'static str {
    match (generalised, role) {
        (0, "admin") => "admin",
        (0, "instructor") => "instructor",
        (0 | 1, "student") => "student",
        (1, _) => "staff",
        _ => "*",
    }
}

/// The ISO week of a fire: the ledger's tax week when it has a valid one, else the UTC week
/// of its first entry.
pub fn week_of(f: &ResearchFire) -> Option<String> {
    if let Some(w) = f.iso_week.as_deref() {
        if super::validator::is_iso_week(w) {
            return Some(w.to_owned());
        }
    }
    let t = chrono::DateTime::from_timestamp_millis(f.first_at_ms)?;
    let w = t.iso_week();
    Some(format!("{}-W{:02}", w.year(), w.week()))
}

/// The share of the record table's rows that may be suppressed before the ladder generalises
/// one step further.
pub const SUPPRESSION_BUDGET_PERCENT: usize = 15;

/// One step of the record table's generalisation ladder: its name, the role generalisation
/// (0 exact, 1 staff/student, 2 `*`) and the bands of level, weeks active, fire given and
/// fire received.
type Step = (&'static str, u8, Band, Band, Band, Band);

/// The generalisation ladder of the record table, finest first.
const LADDER: &[Step] = &[
    (
        "0: roles, fine bands",
        0,
        Band::Fine,
        Band::Fine,
        Band::Fine,
        Band::Fine,
    ),
    (
        "1: roles, fine level bands, medium activity bands",
        0,
        Band::Fine,
        Band::Medium,
        Band::Medium,
        Band::Medium,
    ),
    (
        "2: staff/student, fine level bands, medium activity bands",
        1,
        Band::Fine,
        Band::Medium,
        Band::Medium,
        Band::Medium,
    ),
    (
        "3: staff/student, coarse level and weeks, medium fire bands",
        1,
        Band::Coarse,
        Band::Coarse,
        Band::Medium,
        Band::Medium,
    ),
    (
        "4: staff/student, coarse level and weeks, fire received in medium bands only",
        1,
        Band::Coarse,
        Band::Coarse,
        Band::Any,
        Band::Medium,
    ),
    (
        "5: staff/student, coarse weeks, fire received in medium bands only",
        1,
        Band::Any,
        Band::Coarse,
        Band::Any,
        Band::Medium,
    ),
    (
        "6: staff/student, fire received in coarse bands only",
        1,
        Band::Any,
        Band::Any,
        Band::Any,
        Band::Coarse,
    ),
    (
        "7: staff/student only",
        1,
        Band::Any,
        Band::Any,
        Band::Any,
        Band::Any,
    ),
    (
        "8: everything generalised",
        2,
        Band::Any,
        Band::Any,
        Band::Any,
        Band::Any,
    ),
];

fn table_of(spec: &TableSpec, rows: Vec<Vec<String>>) -> ReleaseTable {
    ReleaseTable {
        name: spec.name.to_owned(),
        columns: spec.columns.iter().map(|c| c.name.to_owned()).collect(),
        rows,
    }
}

/// Build every table of a release. `k`: the record table's group size; `min_cell`: the
/// aggregates' smallest people count.
pub fn build(
    members: &[ResearchMember],
    fires: &[ResearchFire],
    key: &PseudonymKey,
    k: usize,
    min_cell: usize,
) -> Built {
    let role: HashMap<&MemberRowId, &str> =
        members.iter().map(|m| (&m.id, m.role.as_str())).collect();
    // Fire between members read (human, not erased), with a week.
    let fires: Vec<(&ResearchFire, String)> = fires
        .iter()
        .filter(|f| role.contains_key(&f.giver) && role.contains_key(&f.recipient))
        .filter_map(|f| week_of(f).map(|w| (f, w)))
        .collect();
    let mut notes = BTreeMap::new();
    let mut tables = Vec::new();

    // fires_per_week_by_role
    #[derive(Default)]
    struct Cell<'a> {
        fires: i64,
        givers: BTreeSet<&'a MemberRowId>,
        recipients: BTreeSet<&'a MemberRowId>,
    }
    let mut cells: BTreeMap<(&str, &str, &str), Cell> = BTreeMap::new();
    for (f, w) in &fires {
        let c = cells
            .entry((w.as_str(), role[&f.giver], role[&f.recipient]))
            .or_default();
        c.fires += f.fire_units;
        c.givers.insert(&f.giver);
        c.recipients.insert(&f.recipient);
    }
    let mut note = TableNote::default();
    let mut rows = Vec::new();
    for ((w, gr, rr), c) in &cells {
        if c.givers.len() < min_cell || c.recipients.len() < min_cell {
            note.suppressed_rows += 1;
            continue;
        }
        rows.push(vec![
            (*w).to_owned(),
            role_label(gr, 0).to_owned(),
            role_label(rr, 0).to_owned(),
            c.fires.to_string(),
            c.givers.len().to_string(),
            c.recipients.len().to_string(),
        ]);
    }
    note.rows = rows.len();
    notes.insert(schema::FIRES_PER_WEEK_BY_ROLE.name, note);
    tables.push(table_of(&schema::FIRES_PER_WEEK_BY_ROLE, rows));

    // participation_per_week
    #[derive(Default)]
    struct Part<'a> {
        active: BTreeSet<&'a MemberRowId>,
        given: i64,
        received: i64,
    }
    let mut parts: BTreeMap<(&str, &str), Part> = BTreeMap::new();
    for (f, w) in &fires {
        let p = parts.entry((w.as_str(), role[&f.giver])).or_default();
        p.active.insert(&f.giver);
        p.given += f.fire_units;
        let p = parts.entry((w.as_str(), role[&f.recipient])).or_default();
        p.active.insert(&f.recipient);
        p.received += f.fire_units;
    }
    let mut note = TableNote::default();
    let mut rows = Vec::new();
    for ((w, r), p) in &parts {
        if p.active.len() < min_cell {
            note.suppressed_rows += 1;
            continue;
        }
        rows.push(vec![
            (*w).to_owned(),
            role_label(r, 0).to_owned(),
            p.active.len().to_string(),
            p.given.to_string(),
            p.received.to_string(),
        ]);
    }
    note.rows = rows.len();
    notes.insert(schema::PARTICIPATION_PER_WEEK.name, note);
    tables.push(table_of(&schema::PARTICIPATION_PER_WEEK, rows));

    // level_distribution
    let mut levels: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for m in members {
        *levels
            .entry((role_label(&m.role, 0), band(m.level, Band::Fine)))
            .or_default() += 1;
    }
    let mut note = TableNote::default();
    let mut rows = Vec::new();
    for ((r, b), n) in &levels {
        if *n < min_cell {
            note.suppressed_rows += 1;
            continue;
        }
        rows.push(vec![(*r).to_owned(), (*b).to_owned(), n.to_string()]);
    }
    note.rows = rows.len();
    notes.insert(schema::LEVEL_DISTRIBUTION.name, note);
    tables.push(table_of(&schema::LEVEL_DISTRIBUTION, rows));

    // members
    let mut given: HashMap<&MemberRowId, i64> = HashMap::new();
    let mut received: HashMap<&MemberRowId, i64> = HashMap::new();
    let mut weeks: HashMap<&MemberRowId, BTreeSet<&str>> = HashMap::new();
    for (f, w) in &fires {
        *given.entry(&f.giver).or_default() += f.fire_units;
        *received.entry(&f.recipient).or_default() += f.fire_units;
        weeks.entry(&f.giver).or_default().insert(w);
        weeks.entry(&f.recipient).or_default().insert(w);
    }
    let record = |m: &ResearchMember, step: &Step| -> Vec<String> {
        let (_, r, lb, wb, gb, rb) = *step;
        let weeks = weeks.get(&m.id).map_or(0, BTreeSet::len);
        vec![
            role_label(&m.role, r).to_owned(),
            band(m.level, lb).to_owned(),
            band(i64::try_from(weeks).unwrap_or(i64::MAX), wb).to_owned(),
            band(given.get(&m.id).copied().unwrap_or(0), gb).to_owned(),
            band(received.get(&m.id).copied().unwrap_or(0), rb).to_owned(),
        ]
    };
    // The first step of the ladder that suppresses at most 15% of the members (the last step
    // otherwise), then every row still in a group smaller than k is suppressed.
    let budget = (members.len() * SUPPRESSION_BUDGET_PERCENT).div_ceil(100);
    let mut chosen = (LADDER.len() - 1, Vec::new());
    for (i, step) in LADDER.iter().enumerate() {
        let qis: Vec<Vec<String>> = members.iter().map(|m| record(m, step)).collect();
        let mut sizes: HashMap<&Vec<String>, usize> = HashMap::new();
        for q in &qis {
            *sizes.entry(q).or_default() += 1;
        }
        let small = qis.iter().filter(|q| sizes[q] < k).count();
        let keep: Vec<bool> = qis.iter().map(|q| sizes[q] >= k).collect();
        if small <= budget || i == LADDER.len() - 1 {
            chosen = (i, qis.into_iter().zip(keep).collect());
            break;
        }
    }
    let (step, qis) = chosen;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut suppressed = 0;
    for (m, (q, keep)) in members.iter().zip(qis) {
        if !keep {
            suppressed += 1;
            continue;
        }
        let mut row = vec![key.pseudonym(&m.id)];
        row.extend(q);
        rows.push(row);
    }
    // Sorted by pseudonym: the order says nothing about row ids or join times.
    rows.sort();
    notes.insert(
        schema::MEMBERS.name,
        TableNote {
            rows: rows.len(),
            suppressed_rows: suppressed,
            generalisation: LADDER.get(step).map(|s| s.0),
        },
    );
    tables.push(table_of(&schema::MEMBERS, rows));
    Built { tables, notes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: u32) -> MemberRowId {
        MemberRowId::parse(&format!("00000000-0000-7000-8000-{i:012}")).unwrap_or_else(|e| {
            unreachable!("{e}");
        })
    }

    #[test]
    fn pseudonyms_depend_on_the_key() {
        let (a, b) = (PseudonymKey::fresh(), PseudonymKey::fresh());
        assert_eq!(a.pseudonym(&id(1)), a.pseudonym(&id(1)));
        assert_ne!(a.pseudonym(&id(1)), a.pseudonym(&id(2)));
        assert_ne!(a.pseudonym(&id(1)), b.pseudonym(&id(1)));
        assert_eq!(a.pseudonym(&id(1)).len(), 32);
        assert_eq!(format!("{a:?}"), "PseudonymKey(..)");
    }

    #[test]
    fn bands() {
        assert_eq!(band(0, Band::Fine), "0");
        assert_eq!(band(7, Band::Fine), "6-10");
        assert_eq!(band(70, Band::Fine), "51+");
        assert_eq!(band(7, Band::Coarse), "6+");
        assert_eq!(band(7, Band::Any), "*");
    }

    #[test]
    fn a_lone_admin_is_generalised_or_suppressed_and_the_result_is_k_anonymous() {
        let mut members: Vec<ResearchMember> = (0..12)
            .map(|i| ResearchMember {
                id: id(i),
                role: "student".into(),
                level: 1,
            })
            .collect();
        members.push(ResearchMember {
            id: id(99),
            role: "admin".into(),
            level: 7,
        });
        let built = build(&members, &[], &PseudonymKey::fresh(), 5, 10);
        let m = &built.tables[3];
        assert_eq!(m.name, "members");
        assert_eq!(m.rows.len(), 12, "the admin's row is suppressed");
        assert!(m.rows.iter().all(|r| r[1] == "student"));
        assert_eq!(built.notes["members"].suppressed_rows, 1);
        // Level distribution: 12 students in one band; the admin's cell suppressed.
        assert_eq!(built.tables[2].rows, vec![vec!["student", "1-2", "12"]]);
        assert_eq!(built.notes["level_distribution"].suppressed_rows, 1);
        let limits = super::super::validator::Limits { k: 5, min_cell: 10 };
        assert!(super::super::validator::validate(&built.tables, &limits).is_ok());
    }
}
