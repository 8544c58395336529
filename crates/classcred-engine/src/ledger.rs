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
    /// The reward for an accepted answer (its reversal is a `Reversal` entry).
    AnswerReward,
    /// Points from a custom reward rule (`platform_message_id` holds the rule id).
    RuleAward,
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
            EntryKind::AnswerReward => "answer_reward",
            EntryKind::RuleAward => "rule_award",
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
    /// The reward of an accepted answer (its platform message id).
    Answer(&'a str),
    /// A custom rule's award for one activity.
    Rule {
        /// The rule's id.
        rule: &'a str,
        /// What made the activity distinct (e.g. `post:<message id>`).
        activity: &'a str,
    },
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
    buf: Arc<String>,
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

/// Appends `part` with `%`, `/` and `:` percent-escaped.
fn push_escaped_bytes(out: &mut Vec<u8>, part: &[u8]) {
    if !part.iter().any(|b| matches!(b, b'%' | b'/' | b':')) {
        out.extend_from_slice(part);
        return;
    }
    let mut last = 0;
    for (i, b) in part.iter().enumerate() {
        let esc: &[u8] = match b {
            b'%' => b"%25",
            b'/' => b"%2F",
            b':' => b"%3A",
            _ => continue,
        };
        out.extend_from_slice(part.get(last..i).unwrap_or_default());
        out.extend_from_slice(esc);
        last = i + 1;
    }
    out.extend_from_slice(part.get(last..).unwrap_or_default());
}

/// Appends the decimal digits of `n`.
fn push_u32(out: &mut Vec<u8>, mut n: u32) {
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
    out.extend_from_slice(digits.get(i..).unwrap_or_default());
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
            Source::Message(id) | Source::Adjustment(id) | Source::Answer(id) => id.len(),
            Source::Rule { rule, activity } => rule.len() + activity.len(),
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
            Source::Answer(id) => {
                s.push_str("ans:");
                push_escaped(&mut s, id);
            }
            Source::Rule { rule, activity } => {
                s.push_str("rule:");
                push_escaped(&mut s, rule);
                s.push(':');
                push_escaped(&mut s, activity);
            }
        }
        s
    }
}

/// Writes the text of several keys from one source into one buffer, then hands out keys that
/// share it.
///
/// Usage: [`KeyText::new`], [`KeyText::push`] each key, [`KeyText::finish`], then
/// [`KeyCursor::take`] the keys back in the same order they were pushed. The escaped source
/// prefix is written once at the start of the buffer and copied from there for every key.
pub(crate) struct KeyText {
    /// UTF-8 by construction: whole `str`s, ASCII escapes and digits.
    text: Vec<u8>,
    prefix_len: usize,
}

/// The shared buffer of finished keys, and the position of the next key to take.
pub(crate) struct KeyCursor {
    buf: Arc<String>,
    pos: u32,
    prefix_len: usize,
}

impl KeyText {
    /// Room for about `keys` keys from `source` to recipients of about `recipient_len` bytes.
    pub(crate) fn new(source: &Source<'_>, keys: usize, recipient_len: usize) -> Self {
        let source_len = match source {
            Source::Message(id) | Source::Adjustment(id) | Source::Answer(id) => id.len(),
            Source::Rule { rule, activity } => rule.len() + activity.len(),
            Source::Reaction { message, reactor } => message.len() + reactor.bytes().len(),
        };
        // Tag and a few escapes; then per key "/" + recipient + "/" + unit + "/" + kind.
        let prefix_room = source_len + 16;
        let mut text = Vec::with_capacity(prefix_room + keys * (prefix_room + recipient_len + 16));
        match source {
            Source::Message(id) => {
                text.extend_from_slice(b"msg:");
                push_escaped_bytes(&mut text, id.as_bytes());
            }
            Source::Reaction { message, reactor } => {
                text.extend_from_slice(b"react:");
                push_escaped_bytes(&mut text, message.as_bytes());
                text.push(b':');
                push_escaped_bytes(&mut text, reactor.bytes());
            }
            Source::Adjustment(id) => {
                text.extend_from_slice(b"adj:");
                push_escaped_bytes(&mut text, id.as_bytes());
            }
            Source::Answer(id) => {
                text.extend_from_slice(b"ans:");
                push_escaped_bytes(&mut text, id.as_bytes());
            }
            Source::Rule { rule, activity } => {
                text.extend_from_slice(b"rule:");
                push_escaped_bytes(&mut text, rule.as_bytes());
                text.push(b':');
                push_escaped_bytes(&mut text, activity.as_bytes());
            }
        }
        let prefix_len = text.len();
        KeyText { text, prefix_len }
    }

    /// Appends the text of the key `prefix/recipient/unit/kind` (`recipient` is escaped here).
    pub(crate) fn push(&mut self, recipient: &[u8], unit: u32, kind: EntryKind) {
        let s = &mut self.text;
        s.extend_from_within(..self.prefix_len);
        s.push(b'/');
        push_escaped_bytes(s, recipient);
        s.push(b'/');
        push_u32(s, unit);
        s.push(b'/');
        s.extend_from_slice(kind.as_str().as_bytes());
    }

    /// Freezes the text; keys are then taken in push order.
    pub(crate) fn finish(self) -> KeyCursor {
        // One validation of the whole buffer (it cannot fail: see `text`).
        let text = String::from_utf8(self.text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        KeyCursor {
            buf: Arc::new(text),
            pos: u32::try_from(self.prefix_len).unwrap_or(u32::MAX),
            prefix_len: self.prefix_len,
        }
    }
}

impl KeyCursor {
    /// The next key, which was pushed with these same parts (`escaped_recipient_len` is the
    /// length of the escaped recipient, see [`escaped_len`]).
    pub(crate) fn take(
        &mut self,
        escaped_recipient_len: usize,
        unit: u32,
        kind: EntryKind,
    ) -> IdempotencyKey {
        let len =
            self.prefix_len + escaped_recipient_len + digits_u32(unit) + kind.as_str().len() + 3;
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
        let mut text = KeyText::new(source, 1, recipient.bytes().len());
        text.push(recipient.bytes(), unit, kind);
        text.finish()
            .take(escaped_len(recipient.bytes()), unit, kind)
    }

    /// Wraps a key read back from the store.
    pub fn from_stored(s: impl Into<String>) -> Self {
        let buf = Arc::new(s.into());
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
        let reactor = MemberId::new("U/9");
        let sources = [
            Source::Message("C/1"),
            Source::Reaction {
                message: "C:1",
                reactor: &reactor,
            },
            Source::Adjustment("a%1"),
        ];
        for source in &sources {
            let prefix = source.key_prefix();
            for unit in [0, 7, 9, 10, 99, 100, 12_345, u32::MAX] {
                for kind in [EntryKind::Award, EntryKind::Tax, EntryKind::Reversal] {
                    let mut text = KeyText::new(source, 2, 2);
                    text.push(b"U1", unit, kind);
                    text.push("U:2é".as_bytes(), unit, kind);
                    let mut keys = text.finish();
                    let a = keys.take(escaped_len(b"U1"), unit, kind);
                    let b = keys.take(escaped_len("U:2é".as_bytes()), unit, kind);
                    let kind = kind.as_str();
                    assert_eq!(a.as_str(), format!("{prefix}/U1/{unit}/{kind}"));
                    assert_eq!(b.as_str(), format!("{prefix}/U%3A2é/{unit}/{kind}"));
                }
            }
        }
        let a = MemberId::new("a/b:c%dé");
        let key = IdempotencyKey::new(&Source::Message("m"), &a, 3, EntryKind::Tax);
        assert_eq!(key.as_str(), "msg:m/a%2Fb%3Ac%25dé/3/tax");
    }
}
