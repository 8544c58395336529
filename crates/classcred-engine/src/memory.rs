//! [`InMemoryState`]: a complete [`StateView`] kept in memory, updated by
//! [`InMemoryState::apply_outcome`].
//!
//! Used to replay an inbox without a database (property tests, the service's
//! `ledger replay`, benchmarks). Every counter is maintained from the ledger entries the same
//! way a database would compute it with `SUM`/`COUNT DISTINCT`, so a stored state and a
//! replayed one can be compared field by field.

use std::borrow::Borrow;
use std::collections::{HashMap as StdHashMap, HashSet as StdHashSet};
use std::hash::{Hash, Hasher};

use rustc_hash::FxBuildHasher;

use crate::engine::apply;
use crate::event::Event;
use crate::ids::{BadgeId, MemberId, MemberInfo, Role};
use crate::ledger::{Balance, EntryKind, IdempotencyKey, LedgerEntry};
use crate::outcome::{FeedItem, MessageRecord, Notice, Outcome, ReactionRecord};
use crate::points::Points;
use crate::polls::{DebateParticipant, PollRecord};
use crate::questions::QuestionRecord;
use crate::settings::CommunitySettings;
use crate::state::StateView;
use crate::store::{PurchaseRecord, StoreItem};
use crate::time::{IsoWeek, QuotaDay};

/// The state's maps and sets are keyed by our own ids (36-byte UUIDv7 member ids, platform
/// message ids, idempotency keys), so they use rustc-hash's Fx hasher: deterministic, and on
/// these keys far cheaper than the standard SipHash (BENCHMARKS.md, "Pure engine"). No DoS
/// concern: the keys are our own ids, and this state lives only for a replay or a test.
type HashMap<K, V> = StdHashMap<K, V, FxBuildHasher>;
type HashSet<K> = StdHashSet<K, FxBuildHasher>;

// Borrowed lookups of the reaction map's `(String, MemberId)` keys: `map.get(k2(&(id, &m)))`
// finds the entry keyed `(id.to_owned(), m)` without allocating the `String`. The usual
// trick: the owned tuple borrows as a trait object that the tuple of references implements
// too; hashing and equality go through the parts, exactly as the tuple's own `Hash` and
// `PartialEq` do. (Keys made of member ids are simply cloned: an id clone is a reference count.)

/// A two-part key, owned or borrowed.
trait Key2<A: ?Sized, B: ?Sized> {
    fn parts(&self) -> (&A, &B);
}

impl<A: ?Sized, B: ?Sized> Key2<A, B> for (&A, &B) {
    fn parts(&self) -> (&A, &B) {
        (self.0, self.1)
    }
}

impl Key2<str, MemberId> for (String, MemberId) {
    fn parts(&self) -> (&str, &MemberId) {
        (&self.0, &self.1)
    }
}

impl<'k> Borrow<dyn Key2<str, MemberId> + 'k> for (String, MemberId) {
    fn borrow(&self) -> &(dyn Key2<str, MemberId> + 'k) {
        self
    }
}

impl<A: ?Sized + Hash, B: ?Sized + Hash> Hash for dyn Key2<A, B> + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let (a, b) = self.parts();
        a.hash(state);
        b.hash(state);
    }
}

impl<A: ?Sized + PartialEq, B: ?Sized + PartialEq> PartialEq for dyn Key2<A, B> + '_ {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = self.parts();
        let (x, y) = other.parts();
        a == x && b == y
    }
}

impl<A: ?Sized + Eq, B: ?Sized + Eq> Eq for dyn Key2<A, B> + '_ {}

/// `(a, b)` as a borrowed two-part key.
fn k2<'k, A: ?Sized, B: ?Sized>(key: &'k (&'k A, &'k B)) -> &'k (dyn Key2<A, B> + 'k) {
    key
}

/// One community's state in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InMemoryState {
    members: HashMap<MemberId, MemberInfo>,
    ledger: Vec<LedgerEntry>,
    keys: HashSet<IdempotencyKey>,
    balances: HashMap<MemberId, Balance>,
    quota: HashMap<(MemberId, QuotaDay), i64>,
    weekly: HashMap<(MemberId, MemberId, IsoWeek), i64>,
    weekly_by_giver: HashMap<(IsoWeek, MemberId), i64>,
    messages: HashMap<String, MessageRecord>,
    reactions: HashMap<(String, MemberId), ReactionRecord>,
    reactions_by_message: HashMap<String, Vec<MemberId>>,
    badges: HashMap<MemberId, Vec<(BadgeId, String)>>,
    levels: HashMap<MemberId, u32>,
    recognised: HashSet<(MemberId, MemberId)>,
    givers_of: HashMap<MemberId, u32>,
    recipients_of: HashMap<MemberId, u32>,
    giving_days: HashSet<(MemberId, QuotaDay)>,
    feed: Vec<FeedItem>,
    notices: Vec<Notice>,
    store_items: HashMap<String, StoreItem>,
    purchases: HashMap<String, PurchaseRecord>,
    /// Pending or approved purchases per item, and per (member, item).
    sold: HashMap<String, u32>,
    held: HashMap<(MemberId, String), u32>,
    questions: HashMap<String, QuestionRecord>,
    answer_of: HashMap<String, String>,
    polls: HashMap<String, PollRecord>,
    /// Current vote (option index) per (poll, member).
    votes: HashMap<(String, MemberId), u32>,
    /// Polls that are not anonymous with a vote, per member.
    polls_voted: HashMap<MemberId, u32>,
    /// Debate per posted message (thread root).
    debate_threads: HashMap<String, String>,
    debaters: HashSet<(String, MemberId)>,
}

impl InMemoryState {
    /// An empty community.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `event` with the engine and then its outcome; returns the outcome.
    pub fn process(&mut self, settings: &CommunitySettings, event: &Event) -> Outcome {
        let outcome = apply(settings, self, event);
        self.apply_outcome(&outcome);
        outcome
    }

    /// Records an outcome: appends entries (skipping keys already present, as the store's
    /// unique index would), upserts records, and updates every derived counter.
    pub fn apply_outcome(&mut self, outcome: &Outcome) {
        self.ledger.reserve(outcome.entries.len());
        for e in &outcome.entries {
            // Keys are cheap to clone (shared text); `insert` refuses a key already present.
            if !self.keys.insert(e.key.clone()) {
                continue;
            }
            self.index_entry(e);
            self.ledger.push(e.clone());
        }
        for m in &outcome.members {
            self.members.insert(m.member.clone(), m.info);
        }
        for m in &outcome.messages {
            match self.messages.get_mut(m.platform_message_id.as_str()) {
                Some(held) => held.clone_from(m),
                None => {
                    self.messages
                        .insert(m.platform_message_id.clone(), m.clone());
                }
            }
        }
        for r in &outcome.reactions {
            let id = r.platform_message_id.as_str();
            match self.reactions.get_mut(k2(&(id, &r.reactor))) {
                Some(held) => held.clone_from(r),
                None => {
                    self.reactions_by_message
                        .entry(r.platform_message_id.clone())
                        .or_default()
                        .push(r.reactor.clone());
                    self.reactions.insert(
                        (r.platform_message_id.clone(), r.reactor.clone()),
                        r.clone(),
                    );
                }
            }
        }
        for b in &outcome.badges {
            let held = self.badges.entry(b.member.clone()).or_default();
            if !held
                .iter()
                .any(|(id, i)| id == &b.badge && i == &b.instance)
            {
                held.push((b.badge.clone(), b.instance.clone()));
            }
        }
        for l in &outcome.levels {
            let level = self.levels.entry(l.member.clone()).or_default();
            *level = (*level).max(l.level);
        }
        self.feed.extend(outcome.feed.iter().cloned());
        self.notices.extend(outcome.notices.iter().cloned());
        for item in &outcome.store_items {
            self.store_items.insert(item.item_id.clone(), item.clone());
        }
        for p in &outcome.purchases {
            let before = self
                .purchases
                .insert(p.purchase_id.clone(), p.clone())
                .is_some_and(|old| old.status.counts());
            let delta = i64::from(p.status.counts()) - i64::from(before);
            if delta != 0 {
                for n in [
                    self.sold.entry(p.item_id.clone()).or_default(),
                    self.held
                        .entry((p.member.clone(), p.item_id.clone()))
                        .or_default(),
                ] {
                    *n = clamp(i64::from(*n) + delta);
                }
            }
        }
        for q in &outcome.questions {
            for a in &q.answers {
                self.answer_of
                    .insert(a.platform_message_id.clone(), q.platform_message_id.clone());
            }
            self.questions
                .insert(q.platform_message_id.clone(), q.clone());
        }
        self.apply_polls(outcome);
    }

    fn apply_polls(&mut self, outcome: &Outcome) {
        for p in &outcome.polls {
            if p.definition.kind == crate::polls::PollKind::Debate {
                if let Some(m) = &p.posted_message {
                    self.debate_threads.insert(m.clone(), p.poll_id.clone());
                }
            }
            self.polls.insert(p.poll_id.clone(), p.clone());
        }
        for v in &outcome.votes {
            let first = self
                .votes
                .insert((v.poll_id.clone(), v.member.clone()), v.option)
                .is_none();
            if first && !v.anonymous {
                *self.polls_voted.entry(v.member.clone()).or_default() += 1;
            }
        }
        for DebateParticipant {
            poll_id, member, ..
        } in &outcome.debaters
        {
            self.debaters.insert((poll_id.clone(), member.clone()));
        }
    }

    /// Every poll record, by id.
    pub fn polls(&self) -> Vec<&PollRecord> {
        let mut v: Vec<&PollRecord> = self.polls.values().collect();
        v.sort_by(|a, b| a.poll_id.cmp(&b.poll_id));
        v
    }

    /// Votes per option of a poll (one per member), in option order.
    pub fn poll_counts(&self, poll_id: &str) -> Vec<u32> {
        let n = self
            .polls
            .get(poll_id)
            .map_or(0, |p| p.definition.options.len());
        let mut counts = vec![0u32; n];
        for ((p, _), o) in &self.votes {
            if p == poll_id {
                if let Some(c) = usize::try_from(*o).ok().and_then(|i| counts.get_mut(i)) {
                    *c += 1;
                }
            }
        }
        counts
    }

    /// Participants counted in a debate.
    pub fn debater_count(&self, poll_id: &str) -> u32 {
        clamp(
            i64::try_from(self.debaters.iter().filter(|(p, _)| p == poll_id).count())
                .unwrap_or(i64::MAX),
        )
    }

    /// Every store item, by number.
    pub fn store_items(&self) -> Vec<&StoreItem> {
        let mut v: Vec<&StoreItem> = self.store_items.values().collect();
        v.sort_by_key(|i| i.number);
        v
    }

    /// Every purchase, by id.
    pub fn purchases(&self) -> Vec<&PurchaseRecord> {
        let mut v: Vec<&PurchaseRecord> = self.purchases.values().collect();
        v.sort_by(|a, b| a.purchase_id.cmp(&b.purchase_id));
        v
    }

    /// Every question record, oldest first (by time asked, then id).
    pub fn questions(&self) -> Vec<&QuestionRecord> {
        let mut v: Vec<&QuestionRecord> = self.questions.values().collect();
        v.sort_by(|a, b| {
            (a.asked_at, &a.platform_message_id).cmp(&(b.asked_at, &b.platform_message_id))
        });
        v
    }

    fn index_entry(&mut self, e: &LedgerEntry) {
        match self.balances.get_mut(&e.member) {
            Some(b) => b.add(e),
            None => self.balances.entry(e.member.clone()).or_default().add(e),
        }
        let Some(giver) = &e.giver else { return };
        if let Some(day) = e.quota_day {
            if e.quota_units != 0 {
                *self.quota.entry((giver.clone(), day)).or_default() += i64::from(e.quota_units);
            }
            if e.kind == EntryKind::Award {
                self.giving_days.insert((giver.clone(), day));
            }
        }
        if let Some(week) = e.iso_week {
            if e.fire_units != 0 {
                let n = i64::from(e.fire_units);
                *self
                    .weekly
                    .entry((giver.clone(), e.member.clone(), week))
                    .or_default() += n;
                if e.giver_role == Some(Role::Student) {
                    *self
                        .weekly_by_giver
                        .entry((week, giver.clone()))
                        .or_default() += n;
                }
            }
        }
        if e.kind == EntryKind::Award
            && e.giver_role == Some(Role::Student)
            && self.recognised.insert((giver.clone(), e.member.clone()))
        {
            *self.givers_of.entry(e.member.clone()).or_default() += 1;
            *self.recipients_of.entry(giver.clone()).or_default() += 1;
        }
    }

    /// The whole ledger, in append order.
    pub fn ledger(&self) -> &[LedgerEntry] {
        &self.ledger
    }

    /// A member's balances (zero if none).
    pub fn balance(&self, member: &MemberId) -> Balance {
        self.balances.get(member).copied().unwrap_or_default()
    }

    /// Every member with a balance.
    pub fn balances(&self) -> impl Iterator<Item = (&MemberId, &Balance)> {
        self.balances.iter()
    }

    /// Every known member.
    pub fn members(&self) -> impl Iterator<Item = (&MemberId, &MemberInfo)> {
        self.members.iter()
    }

    /// Ids of current students (for leaderboards).
    pub fn students(&self) -> Vec<MemberId> {
        let mut s: Vec<MemberId> = self
            .members
            .iter()
            .filter(|(_, i)| i.is_student())
            .map(|(m, _)| m.clone())
            .collect();
        s.sort();
        s
    }

    /// Badges held: (member, badge, instance).
    pub fn badges(&self) -> impl Iterator<Item = (&MemberId, &BadgeId, &str)> {
        self.badges
            .iter()
            .flat_map(|(m, held)| held.iter().map(move |(b, i)| (m, b, i.as_str())))
    }

    /// Every feed item so far.
    pub fn feed(&self) -> &[FeedItem] {
        &self.feed
    }

    /// Every notice sent so far.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// Quota units used by `giver` on `day` (same as the [`StateView`] answer).
    pub fn quota_used_on(&self, giver: &MemberId, day: QuotaDay) -> i64 {
        // Member ids are cheap to clone (shared text), so the key is built, not borrowed.
        self.quota.get(&(giver.clone(), day)).copied().unwrap_or(0)
    }

    /// Every (giver, day) quota counter.
    pub fn quota_counters(&self) -> impl Iterator<Item = (&(MemberId, QuotaDay), &i64)> {
        self.quota.iter()
    }
}

fn clamp(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

impl StateView for InMemoryState {
    fn member(&self, id: &MemberId) -> Option<MemberInfo> {
        self.members.get(id).copied()
    }

    fn quota_used(&self, giver: &MemberId, day: QuotaDay) -> u32 {
        clamp(self.quota_used_on(giver, day))
    }

    fn weekly_fire(&self, giver: &MemberId, recipient: &MemberId, week: IsoWeek) -> u32 {
        clamp(
            self.weekly
                .get(&(giver.clone(), recipient.clone(), week))
                .copied()
                .unwrap_or(0),
        )
    }

    fn message(&self, platform_message_id: &str) -> Option<MessageRecord> {
        self.messages.get(platform_message_id).cloned()
    }

    fn reaction(&self, platform_message_id: &str, reactor: &MemberId) -> Option<ReactionRecord> {
        self.reactions
            .get(k2(&(platform_message_id, reactor)))
            .cloned()
    }

    fn reactions_on(&self, platform_message_id: &str) -> Vec<ReactionRecord> {
        self.reactions_by_message
            .get(platform_message_id)
            .into_iter()
            .flatten()
            .filter_map(|r| self.reaction(platform_message_id, r))
            .collect()
    }

    fn has_entry(&self, key: &IdempotencyKey) -> bool {
        self.keys.contains(key)
    }

    fn earned(&self, member: &MemberId) -> Points {
        self.balance(member).earned
    }

    fn level(&self, member: &MemberId) -> u32 {
        self.levels.get(member).copied().unwrap_or(0)
    }

    fn has_badge(&self, member: &MemberId, badge: &BadgeId, instance: &str) -> bool {
        self.badges
            .get(member)
            .is_some_and(|held| held.iter().any(|(b, i)| b == badge && i == instance))
    }

    fn has_recognised(&self, giver: &MemberId, recipient: &MemberId) -> bool {
        self.recognised
            .contains(&(giver.clone(), recipient.clone()))
    }

    fn distinct_givers(&self, recipient: &MemberId) -> u32 {
        self.givers_of.get(recipient).copied().unwrap_or(0)
    }

    fn distinct_recipients(&self, giver: &MemberId) -> u32 {
        self.recipients_of.get(giver).copied().unwrap_or(0)
    }

    fn gave_on(&self, giver: &MemberId, day: QuotaDay) -> bool {
        self.giving_days.contains(&(giver.clone(), day))
    }

    fn weekly_fire_by_giver(&self, week: IsoWeek) -> Vec<(MemberId, u32)> {
        let mut v: Vec<(MemberId, u32)> = self
            .weekly_by_giver
            .iter()
            .filter(|((w, _), _)| *w == week)
            .map(|((_, g), n)| (g.clone(), clamp(*n)))
            .collect();
        v.sort();
        v
    }

    fn store_item(&self, item_id: &str) -> Option<StoreItem> {
        self.store_items.get(item_id).cloned()
    }

    fn spendable(&self, member: &MemberId) -> Points {
        self.balance(member).spendable
    }

    fn item_sold(&self, item_id: &str) -> u32 {
        self.sold.get(item_id).copied().unwrap_or(0)
    }

    fn member_item_count(&self, member: &MemberId, item_id: &str) -> u32 {
        self.held
            .get(&(member.clone(), item_id.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    fn purchase(&self, purchase_id: &str) -> Option<PurchaseRecord> {
        self.purchases.get(purchase_id).cloned()
    }

    fn question(&self, platform_message_id: &str) -> Option<QuestionRecord> {
        self.questions.get(platform_message_id).cloned()
    }

    fn question_of_answer(&self, answer_message_id: &str) -> Option<String> {
        self.answer_of.get(answer_message_id).cloned()
    }

    fn poll(&self, poll_id: &str) -> Option<PollRecord> {
        self.polls.get(poll_id).cloned()
    }

    fn vote(&self, poll_id: &str, member: &MemberId) -> Option<u32> {
        self.votes
            .get(&(poll_id.to_owned(), member.clone()))
            .copied()
    }

    fn debate_of_thread(&self, platform_message_id: &str) -> Option<String> {
        self.debate_threads.get(platform_message_id).cloned()
    }

    fn is_debater(&self, poll_id: &str, member: &MemberId) -> bool {
        self.debaters
            .contains(&(poll_id.to_owned(), member.clone()))
    }

    fn polls_voted(&self, member: &MemberId) -> u32 {
        self.polls_voted.get(member).copied().unwrap_or(0)
    }
}
