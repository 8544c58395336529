//! Leaderboards: students only, by week, month or the whole course, with one student's rank
//! and percentile.
//!
//! Built either from ledger entries ([`Leaderboard::from_entries`], which sums *earned* points
//! of entries whose platform time falls in the period, local to the community timezone; a
//! reversal counts in the period it happened) or from totals a database already summed
//! ([`Leaderboard::from_totals`]). Ranks are competition ranks (1, 2, 2, 4); ties are listed by
//! member id so the order is stable.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::MemberId;
use crate::ledger::LedgerEntry;
use crate::points::Points;
use crate::time::{IsoWeek, Timezone};

/// The time span a leaderboard covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Period {
    /// One ISO week in the community timezone.
    Week(IsoWeek),
    /// One calendar month in the community timezone.
    Month {
        /// Year.
        year: i32,
        /// Month 1..=12.
        month: u32,
    },
    /// Everything.
    Course,
}

impl Period {
    /// Whether an instant falls in the period.
    pub fn contains(&self, at: DateTime<Utc>, tz: &Timezone) -> bool {
        let date = tz.local_date(at);
        match self {
            Period::Week(w) => w.contains(date),
            Period::Month { year, month } => date.year() == *year && date.month() == *month,
            Period::Course => true,
        }
    }
}

/// One row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// Competition rank, 1-based.
    pub rank: u32,
    /// The student.
    pub member: MemberId,
    /// Earned points in the period.
    pub points: Points,
}

/// One student's position, for the privacy mode where students see only their own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Competition rank, 1-based.
    pub rank: u32,
    /// Students ranked.
    pub of: u32,
    /// Earned points in the period.
    pub points: Points,
    /// Percentile rank 0..=100: the share of students with fewer points plus half of those
    /// with the same points (including oneself), rounded down.
    pub percentile: u8,
    /// "Top N%": `ceil(100 × rank / of)`.
    pub top_percent: u8,
}

/// A students-only leaderboard.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaderboard {
    /// Rows, best first.
    pub rows: Vec<Standing>,
}

impl Leaderboard {
    /// From per-student totals (callers pass students only).
    pub fn from_totals(totals: impl IntoIterator<Item = (MemberId, Points)>) -> Self {
        let mut rows: Vec<(MemberId, Points)> = totals.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut out = Vec::with_capacity(rows.len());
        let mut rank = 0u32;
        let mut previous: Option<Points> = None;
        for (i, (member, points)) in rows.into_iter().enumerate() {
            if previous != Some(points) {
                rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
                previous = Some(points);
            }
            out.push(Standing {
                rank,
                member,
                points,
            });
        }
        Leaderboard { rows: out }
    }

    /// From ledger entries: every listed student appears (with 0 if they earned nothing);
    /// entries of anyone else (Admins, Instructors, bots) are ignored.
    pub fn from_entries<'a>(
        students: impl IntoIterator<Item = &'a MemberId>,
        entries: impl IntoIterator<Item = &'a LedgerEntry>,
        period: Period,
        tz: &Timezone,
    ) -> Self {
        let mut totals: HashMap<&MemberId, Points> =
            students.into_iter().map(|m| (m, Points::ZERO)).collect();
        for e in entries {
            if !e.kind.counts_as_earned() || !period.contains(e.occurred_at, tz) {
                continue;
            }
            if let Some(total) = totals.get_mut(&e.member) {
                *total += e.amount;
            }
        }
        Self::from_totals(totals.into_iter().map(|(m, p)| (m.clone(), p)))
    }

    /// One student's rank and percentile, if they are on the board.
    pub fn position(&self, member: &MemberId) -> Option<Position> {
        let row = self.rows.iter().find(|r| &r.member == member)?;
        let n = self.rows.len() as u64;
        let below = self.rows.iter().filter(|r| r.points < row.points).count() as u64;
        let tied = self.rows.iter().filter(|r| r.points == row.points).count() as u64;
        let percentile = (200 * below + 100 * tied) / (2 * n);
        let top_percent = (100 * u64::from(row.rank)).div_ceil(n);
        Some(Position {
            rank: row.rank,
            of: u32::try_from(n).unwrap_or(u32::MAX),
            points: row.points,
            percentile: u8::try_from(percentile).unwrap_or(100),
            top_percent: u8::try_from(top_percent).unwrap_or(100),
        })
    }
}
