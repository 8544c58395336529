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

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
///
/// Cheap to clone: the text is a range of a shared buffer. The engine writes the keys of all
/// entries of one give into a single buffer (one allocation per event, not per unit). Equality,
/// ordering, hashing, `Debug` and serde all use the text only.
#[derive(Clone)]
pub struct IdempotencyKey {
    buf: Arc<str>,
    start: u32,
    end: u32,
}

fn push_escaped(out: &mut String, part: &str) {
    let mut last = 0;
    for (i, b) in part.bytes().enumerate() {
        let esc = match b {
            b'%' => "%25",
            b'/' => "%2F",
            b':' => "%3A",
            _ => continue,
        };
        // `i` is the position of an ASCII byte, hence a char boundary.
        out.push_str(&part[last..i]);
        out.push_str(esc);
        last = i + 1;
    }
    out.push_str(&part[last..]);
}

/// Appends the decimal digits of `n`.
fn push_u32(out: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// Number of decimal digits of `n`.
fn digits_u32(n: u32) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

impl Source<'_> {
    /// The escaped source part of every key from this source, e.g. `msg:C1%3A1.2`.
    pub fn key_prefix(&self) -> String {
        // Room for the tag and a few escapes without growing.
        let text_len = match self {
            Source::Message(id) | Source::Adjustment(id) => id.len(),
            Source::Reaction { message, reactor } => message.len() + reactor.as_str().len(),
        };
        let mut s = String::with_capacity(text_len + 16);
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

/// Escapes one key component (`%`, `/`, `:`); borrows when there is nothing to escape.
pub(crate) fn escape_component(part: &str) -> Cow<'_, str> {
    if part.bytes().any(|b| matches!(b, b'%' | b'/' | b':')) {
        let mut s = String::with_capacity(part.len() + 8);
        push_escaped(&mut s, part);
        Cow::Owned(s)
    } else {
        Cow::Borrowed(part)
    }
}

/// Writes the text of several keys into one buffer, then hands out keys that share it.
///
/// Usage: [`KeyText::push`] each key (in any order), [`KeyText::finish`], then
/// [`KeyText::take`] the keys back in the same order they were pushed.
pub(crate) struct KeyText {
    text: String,
}

/// The shared buffer of finished keys, and the position of the next key to take.
pub(crate) struct KeyCursor {
    buf: Arc<str>,
    pos: u32,
}

impl KeyText {
    /// Room for about `keys` keys of `prefix`/`recipient` length.
    pub(crate) fn with_capacity(keys: usize, prefix: &str, recipient_len: usize) -> Self {
        // "/" + recipient + "/" + unit (usually 1–2 digits) + "/" + kind (≤ 10).
        let each = prefix.len() + recipient_len + 16;
        KeyText {
            text: String::with_capacity(keys * each),
        }
    }

    /// Appends the text of the key `prefix/recipient/unit/kind` (both parts already escaped).
    pub(crate) fn push(
        &mut self,
        prefix: &str,
        escaped_recipient: &str,
        unit: u32,
        kind: EntryKind,
    ) {
        let s = &mut self.text;
        s.push_str(prefix);
        s.push('/');
        s.push_str(escaped_recipient);
        s.push('/');
        push_u32(s, unit);
        s.push('/');
        s.push_str(kind.as_str());
    }

    /// Freezes the text; keys are then taken in push order.
    pub(crate) fn finish(self) -> KeyCursor {
        KeyCursor {
            buf: Arc::from(self.text),
            pos: 0,
        }
    }
}

impl KeyCursor {
    /// The next key, which was pushed with these same parts (`escaped_recipient_len` is the
    /// length of the escaped recipient, see [`escaped_len`]).
    pub(crate) fn take(
        &mut self,
        prefix: &str,
        escaped_recipient_len: usize,
        unit: u32,
        kind: EntryKind,
    ) -> IdempotencyKey {
        let len = prefix.len() + escaped_recipient_len + digits_u32(unit) + kind.as_str().len() + 3;
        let start = self.pos;
        let end = start.saturating_add(u32::try_from(len).unwrap_or(u32::MAX));
        self.pos = end;
        let key = IdempotencyKey {
            buf: self.buf.clone(),
            start,
            end,
        };
        debug_assert!(key.buf.get(start as usize..end as usize).is_some());
        key
    }
}

/// The length of `part` once escaped (each of `%`, `/`, `:` becomes three bytes).
pub(crate) fn escaped_len(part: &[u8]) -> usize {
    part.len()
        + 2 * part
            .iter()
            .filter(|b| matches!(b, b'%' | b'/' | b':'))
            .count()
}

impl IdempotencyKey {
    /// The key of one unit's entry of `kind` for `recipient` from `source`.
    pub fn new(source: &Source<'_>, recipient: &MemberId, unit: u32, kind: EntryKind) -> Self {
        let prefix = source.key_prefix();
        let rcpt = escape_component(recipient.as_str());
        let mut text = KeyText::with_capacity(1, &prefix, rcpt.len());
        text.push(&prefix, &rcpt, unit, kind);
        text.finish().take(&prefix, rcpt.len(), unit, kind)
    }

    /// Wraps a key read back from the store.
    pub fn from_stored(s: impl Into<String>) -> Self {
        let buf: Arc<str> = Arc::from(s.into());
        let end = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        IdempotencyKey { buf, start: 0, end }
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        self.buf
            .get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

impl PartialEq for IdempotencyKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for IdempotencyKey {}

impl PartialOrd for IdempotencyKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IdempotencyKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for IdempotencyKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdempotencyKey")
            .field(&self.as_str())
            .finish()
    }
}

impl Serialize for IdempotencyKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for IdempotencyKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(IdempotencyKey::from_stored)
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
        assert_eq!(
            format!("{k4:?}"),
            "IdempotencyKey(\"react:C1%3A1.2:U2/U1/0/award\")"
        );
        assert_eq!(IdempotencyKey::from_stored(k4.as_str()), k4);
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn shared_key_text_matches_the_formatted_key() {
        let prefix = "msg:C%2F1";
        for unit in [0, 7, 9, 10, 99, 100, 12_345, u32::MAX] {
            for kind in [EntryKind::Award, EntryKind::Tax, EntryKind::Reversal] {
                let mut text = KeyText::with_capacity(2, prefix, 2);
                text.push(prefix, "U1", unit, kind);
                text.push(prefix, "U%3A2", unit, kind);
                let mut keys = text.finish();
                let a = keys.take(prefix, escaped_len(b"U1"), unit, kind);
                let b = keys.take(prefix, escaped_len(b"U:2"), unit, kind);
                assert_eq!(a.as_str(), format!("{prefix}/U1/{unit}/{}", kind.as_str()));
                assert_eq!(
                    b.as_str(),
                    format!("{prefix}/U%3A2/{unit}/{}", kind.as_str())
                );
            }
        }
        assert_eq!(escape_component("a/b:c%d"), "a%2Fb%3Ac%25d");
        assert!(matches!(escape_component("U1"), Cow::Borrowed("U1")));
    }
}
