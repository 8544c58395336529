//! The append-only ledger: entries, idempotency keys and the two balances derived from them.
//!
//! Every change of points is a [`LedgerEntry`]; nothing is ever updated or deleted (a reversal
//! is a new entry). Each entry has an [`IdempotencyKey`] that the store keeps unique, built from
//! what was given rather than from the delivery that carried it: (source, recipient, unit index,
//! kind), where the source is the platform message id, or the (message id, reactor) pair of a
//! reaction, or an adjustment id. A redelivered event therefore produces keys that already exist.
//!
//! Entries also carry the counters the engine needs later, so a database can answer the
//! [`crate::StateView`] questions with one `SUM` over indexed columns:
//! `quota_units` (+1 for a quota debit, −1 for a same-day refund) keyed by (giver, quota_day),
//! and `fire_units` (+1 award, −1 reversal) keyed by (giver, member, iso_week).

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{MemberId, Role};
use crate::points::Points;
use crate::time::{IsoWeek, QuotaDay};

/// What an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// One fire unit received: always exactly +1.000.
    Award,
    /// Gift tax on one fire unit: −(rate × 1.000), next to its award.
    Tax,
    /// Undoes one fire unit: −(its award + its tax), i.e. minus the net it brought.
    Reversal,
    /// A manual change by an Admin, with a reason.
    Adjustment,
    /// Points spent in the class store (negative).
    Purchase,
    /// A store purchase refunded (positive).
    Refund,
}

impl EntryKind {
    /// Whether the entry counts toward *earned* (lifetime) points; purchases and refunds only
    /// move *spendable*.
    pub fn counts_as_earned(self) -> bool {
        !matches!(self, EntryKind::Purchase | EntryKind::Refund)
    }

    /// The lowercase name used in keys and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Award => "award",
            EntryKind::Tax => "tax",
            EntryKind::Reversal => "reversal",
            EntryKind::Adjustment => "adjustment",
            EntryKind::Purchase => "purchase",
            EntryKind::Refund => "refund",
        }
    }
}

/// Where a give came from; the first part of an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source<'a> {
    /// Fire in a message's text.
    Message(&'a str),
    /// A 🔥 reaction by `reactor` on a message.
    Reaction {
        /// The message reacted to.
        message: &'a str,
        /// Who reacted.
        reactor: &'a MemberId,
    },
    /// A manual adjustment.
    Adjustment(&'a str),
}

/// The unique key of a ledger entry (the store puts a unique index on it, per community).
/// Text form: `msg:<id>/<recipient>/<unit>/<kind>`, `react:<id>:<reactor>/…`, `adj:<id>/…`,
/// with `%`, `/` and `:` inside components percent-escaped.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

fn push_escaped(out: &mut String, part: &str) {
    for c in part.chars() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            ':' => out.push_str("%3A"),
            c => out.push(c),
        }
    }
}

impl Source<'_> {
    /// The escaped source part of every key from this source, e.g. `msg:C1%3A1.2`.
    pub fn key_prefix(&self) -> String {
        let mut s = String::with_capacity(32);
        match self {
            Source::Message(id) => {
                s.push_str("msg:");
                push_escaped(&mut s, id);
            }
            Source::Reaction { message, reactor } => {
                s.push_str("react:");
                push_escaped(&mut s, message);
                s.push(':');
                push_escaped(&mut s, reactor.as_str());
            }
            Source::Adjustment(id) => {
                s.push_str("adj:");
                push_escaped(&mut s, id);
            }
        }
        s
    }
}

/// Escapes one key component (`%`, `/`, `:`).
pub(crate) fn escape_component(part: &str) -> String {
    let mut s = String::with_capacity(part.len());
    push_escaped(&mut s, part);
    s
}

impl IdempotencyKey {
    /// The key of one unit's entry of `kind` for `recipient` from `source`.
    pub fn new(source: &Source<'_>, recipient: &MemberId, unit: u32, kind: EntryKind) -> Self {
        Self::compose(
            &source.key_prefix(),
            &escape_component(recipient.as_str()),
            unit,
            kind,
        )
    }

    /// Builds a key from an already escaped prefix and recipient (one allocation).
    pub(crate) fn compose(
        prefix: &str,
        escaped_recipient: &str,
        unit: u32,
        kind: EntryKind,
    ) -> Self {
        use std::fmt::Write as _;
        let mut s = String::with_capacity(prefix.len() + escaped_recipient.len() + 20);
        s.push_str(prefix);
        s.push('/');
        s.push_str(escaped_recipient);
        let _ = write!(s, "/{unit}/");
        s.push_str(kind.as_str());
        IdempotencyKey(s)
    }

    /// Wraps a key read back from the store.
    pub fn from_stored(s: impl Into<String>) -> Self {
        IdempotencyKey(s.into())
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One append-only ledger entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Unique key; a second entry with the same key must be refused by the store.
    pub key: IdempotencyKey,
    /// What the entry records.
    pub kind: EntryKind,
    /// Whose balance changes.
    pub member: MemberId,
    /// Signed amount.
    pub amount: Points,
    /// Who gave the fire (awards, taxes, reversals) or made the adjustment.
    pub giver: Option<MemberId>,
    /// The giver's role when the fire was given (decides tax and badge counting).
    pub giver_role: Option<Role>,
    /// The quota day of the give (for a reversal: of the original give).
    pub quota_day: Option<QuotaDay>,
    /// The ISO week of the give (for a reversal: of the original give).
    pub iso_week: Option<IsoWeek>,
    /// Quota effect on (giver, quota_day): +1 debit, −1 same-day refund, 0 none.
    pub quota_units: i32,
    /// Fire-count effect on (giver, member, iso_week): +1 award, −1 reversal, 0 none.
    pub fire_units: i32,
    /// The platform message the fire was given in or on.
    pub platform_message_id: Option<Arc<str>>,
    /// Reason of a manual adjustment.
    pub reason: Option<String>,
    /// Platform timestamp of the event that made this entry.
    pub occurred_at: DateTime<Utc>,
}

/// A member's two balances, derived from their entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Lifetime points: awards, taxes, reversals, adjustments. Drives levels and leaderboards.
    pub earned: Points,
    /// Earned minus spent (purchases, refunds).
    pub spendable: Points,
}

impl Balance {
    /// Adds one entry's effect.
    pub fn add(&mut self, entry: &LedgerEntry) {
        if entry.kind.counts_as_earned() {
            self.earned += entry.amount;
        }
        self.spendable += entry.amount;
    }

    /// The balances of `member` from scratch over any entries.
    pub fn of<'a>(member: &MemberId, entries: impl IntoIterator<Item = &'a LedgerEntry>) -> Self {
        let mut b = Balance::default();
        for e in entries.into_iter().filter(|e| &e.member == member) {
            b.add(e);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_per_part_and_escaped() {
        let a = MemberId::new("U1");
        let k1 = IdempotencyKey::new(&Source::Message("C1:1.2"), &a, 0, EntryKind::Award);
        assert_eq!(k1.as_str(), "msg:C1%3A1.2/U1/0/award");
        let k2 = IdempotencyKey::new(&Source::Message("C1:1.2"), &a, 0, EntryKind::Tax);
        let k3 = IdempotencyKey::new(&Source::Message("C1:1.2"), &a, 1, EntryKind::Award);
        let r = MemberId::new("U2");
        let k4 = IdempotencyKey::new(
            &Source::Reaction {
                message: "C1:1.2",
                reactor: &r,
            },
            &a,
            0,
            EntryKind::Award,
        );
        assert_eq!(k4.as_str(), "react:C1%3A1.2:U2/U1/0/award");
        let all = [&k1, &k2, &k3, &k4];
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }
}
