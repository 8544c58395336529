//! What a batch of inbox rows remembers between its rows (issue 13, batched processing).
//!
//! A batch processes up to [`crate::BATCH_ROWS`] rows of one community in one transaction,
//! holding the community's processing lock, and engine state is written only by processing.
//! So an answer read from the database for one row stays true for the next rows until a row's
//! own outcome changes it. [`Memo`] keeps the answers (the engine's state questions, the
//! community settings, the platform ids that are members) and, after each row's outcome is
//! written, forgets every answer that outcome may have changed ([`Memo::forget`]). What is
//! forgotten is read again from the database, so a row sees exactly what it would see if
//! it were processed alone: the outcomes, and so replay, are those of row-by-row processing
//! (`batch::a_batch_remembers_only_what_no_row_changed` checks that on both backends).
//!
//! The rule for forgetting is deliberately coarse where outcomes are rare (any store, poll,
//! question, rule or firsts change forgets every answer of that kind) and exact where they are
//! frequent: a ledger entry forgets the ledger answers about its member and its giver.

use std::collections::{HashMap, HashSet};

use classcred_engine::{CommunitySettings, IdempotencyKey, MemberId, Outcome};
use classcred_store::jobs::NewJob;
use classcred_store::{CommunityTx, InboxEvent, NewFeedItem};

use crate::memo_ledger::LedgerMemo;
use crate::state::{Answer, Question};

/// Answers remembered across the rows of one batch.
#[derive(Default)]
pub(crate) struct Memo {
    answers: HashMap<Question, Answer>,
    settings: Option<CommunitySettings>,
    /// Platform id → member row id, for platform ids that are members (a member row is never
    /// removed by processing; ids that are not members are not remembered).
    members: HashMap<String, String>,
    /// Platform ids of members whose joining row was checked and is not pending.
    joined: HashSet<String>,
    /// Whether to remember at all (false: one row alone, nothing to share).
    enabled: bool,
    /// Writes nothing in processing reads back (feed items, notice jobs), kept to be written
    /// together with one statement per kind ([`Memo::flush`]) before the commit.
    feed: Vec<NewFeedItem>,
    jobs: Vec<NewJob>,
    /// Every badge instance held, for members whose badges were read for the batch
    /// ([`crate::prefetch`]): answers `HasBadge` for any badge and instance.
    badges: HashMap<MemberId, HashSet<(String, String)>>,
    /// Inbox rows read for the batch, by inbox id, taken when their row runs.
    events: HashMap<String, InboxEvent>,
    /// Ledger sums read for the batch, kept exact as rows add entries.
    ledger: LedgerMemo,
}

impl Memo {
    /// A memo for a batch.
    pub(crate) fn for_batch() -> Self {
        Self {
            enabled: true,
            ..Self::default()
        }
    }

    /// A memo that remembers nothing (a row processed alone).
    pub(crate) fn none() -> Self {
        Self::default()
    }

    pub(crate) fn answer(&self, q: &Question) -> Option<Answer> {
        if let Some(a) = self.answers.get(q) {
            return Some(a.clone());
        }
        match q {
            Question::HasBadge(m, b, i) => self
                .badges
                .get(m)
                .map(|held| Answer::Flag(held.contains(&(b.as_str().to_owned(), i.clone())))),
            _ => self.ledger.answer(q),
        }
    }

    /// The ledger sums of the batch, to cover more givers and members (when enabled).
    pub(crate) fn ledger_mut(&mut self) -> Option<&mut LedgerMemo> {
        self.enabled.then_some(&mut self.ledger)
    }

    /// Remember every badge instance a member holds (read for the batch).
    pub(crate) fn keep_badges(&mut self, member: MemberId, held: HashSet<(String, String)>) {
        if self.enabled {
            self.badges.insert(member, held);
        }
    }

    /// Keep an inbox row read for the batch.
    pub(crate) fn keep_event(&mut self, ev: InboxEvent) {
        if self.enabled {
            self.events.insert(ev.id.clone(), ev);
        }
    }

    /// The inbox row read for the batch, once.
    pub(crate) fn take_event(&mut self, inbox_id: &str) -> Option<InboxEvent> {
        self.events.remove(inbox_id)
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    pub(crate) fn keep_answer(&mut self, q: &Question, a: &Answer) {
        if self.enabled {
            self.answers.insert(q.clone(), a.clone());
        }
    }

    pub(crate) fn settings(&self) -> Option<&CommunitySettings> {
        self.settings.as_ref()
    }

    pub(crate) fn keep_settings(&mut self, s: &CommunitySettings) {
        if self.enabled {
            self.settings = Some(s.clone());
        }
    }

    pub(crate) fn member(&self, platform_id: &str) -> Option<&String> {
        self.members.get(platform_id)
    }

    pub(crate) fn keep_member(&mut self, platform_id: &str, row_id: &str) {
        if self.enabled {
            self.members
                .insert(platform_id.to_string(), row_id.to_string());
        }
    }

    /// Whether this member's joining row is known not to be pending.
    pub(crate) fn joined(&self, platform_id: &str) -> bool {
        self.joined.contains(platform_id)
    }

    pub(crate) fn keep_joined(&mut self, platform_id: &str) {
        if self.enabled {
            self.joined.insert(platform_id.to_string());
        }
    }

    /// Keep a feed item to write at [`Memo::flush`].
    pub(crate) fn write_feed(&mut self, item: NewFeedItem) {
        self.feed.push(item);
    }

    /// Keep a job to queue at [`Memo::flush`].
    pub(crate) fn write_job(&mut self, job: NewJob) {
        self.jobs.push(job);
    }

    /// Write the kept feed items and jobs, in the order they were kept. Must run before the
    /// transaction commits (a memo dropped with writes kept is a bug: they would be lost).
    pub(crate) async fn flush(&mut self, tx: &mut CommunityTx<'_, '_>) -> crate::Result<()> {
        if !self.feed.is_empty() {
            tx.insert_feed_items(&std::mem::take(&mut self.feed))
                .await?;
        }
        if !self.jobs.is_empty() {
            tx.enqueue_many(&std::mem::take(&mut self.jobs)).await?;
        }
        Ok(())
    }

    /// Forget every answer `outcome` may have changed (called once the outcome is written).
    pub(crate) fn forget(&mut self, outcome: &Outcome) {
        if !self.enabled || outcome.is_empty() {
            return;
        }
        if outcome.settings.is_some() {
            self.settings = None;
        }
        for e in &outcome.entries {
            self.ledger.add(e);
        }
        let touched = Touched::of(outcome);
        self.answers.retain(|q, _| !touched.changes(q));
        // A badge won joins the holder's known badges (inserting one that is held changes
        // nothing, as the store's insert does).
        for (m, b, i) in &touched.badges {
            if let Some(held) = self.badges.get_mut(*m) {
                held.insert(((*b).to_owned(), (*i).to_owned()));
            }
        }
    }
}

/// What one outcome changed, as the questions see it.
struct Touched<'o> {
    /// Members and givers of the new ledger entries.
    ledger: HashSet<&'o MemberId>,
    keys: HashSet<&'o IdempotencyKey>,
    any_entry: bool,
    messages: HashSet<&'o str>,
    reactions: HashSet<(&'o str, &'o MemberId)>,
    members: HashSet<&'o MemberId>,
    levels: HashSet<&'o MemberId>,
    badges: HashSet<(&'o MemberId, &'o str, &'o str)>,
    store: bool,
    questions: bool,
    polls: bool,
    rules: bool,
    firsts: bool,
}

impl<'o> Touched<'o> {
    fn of(o: &'o Outcome) -> Self {
        let mut ledger = HashSet::new();
        let mut keys = HashSet::new();
        for e in &o.entries {
            ledger.insert(&e.member);
            if let Some(g) = &e.giver {
                ledger.insert(g);
            }
            keys.insert(&e.key);
        }
        Self {
            ledger,
            keys,
            any_entry: !o.entries.is_empty(),
            messages: o
                .messages
                .iter()
                .map(|m| m.platform_message_id.as_str())
                .collect(),
            reactions: o
                .reactions
                .iter()
                .map(|r| (r.platform_message_id.as_str(), &r.reactor))
                .collect(),
            members: o.members.iter().map(|m| &m.member).collect(),
            levels: o.levels.iter().map(|l| &l.member).collect(),
            badges: o
                .badges
                .iter()
                .map(|b| (&b.member, b.badge.as_str(), b.instance.as_str()))
                .collect(),
            store: !o.store_items.is_empty() || !o.purchases.is_empty(),
            questions: !o.questions.is_empty(),
            polls: !o.polls.is_empty() || !o.votes.is_empty() || !o.debaters.is_empty(),
            rules: !o.rules.is_empty(),
            firsts: !o.first_responses.is_empty() || !o.announcement_posts.is_empty(),
        }
    }

    /// Whether the answer to `q` may differ after this outcome. Every question is listed, so a
    /// new one must decide here.
    fn changes(&self, q: &Question) -> bool {
        let l = |m: &MemberId| self.ledger.contains(m);
        match q {
            Question::Member(m) => self.members.contains(m),
            Question::QuotaUsed(g, _) | Question::GaveOn(g, _) => l(g),
            Question::WeeklyFire(g, r, _) | Question::HasRecognised(g, r) => l(g) || l(r),
            Question::Message(id) => self.messages.contains(id.as_str()),
            Question::Reaction(id, r) => self.reactions.contains(&(id.as_str(), r)),
            Question::ReactionsOn(id) => self.reactions.iter().any(|(m, _)| *m == id.as_str()),
            Question::HasEntry(k) => self.keys.contains(k),
            Question::Earned(m) | Question::DistinctGivers(m) | Question::DistinctRecipients(m) => {
                l(m)
            }
            Question::Spendable(m) => l(m) || self.store,
            Question::Level(m) => self.levels.contains(m),
            Question::HasBadge(m, b, i) => self.badges.contains(&(m, b.as_str(), i.as_str())),
            Question::WeeklyFireByGiver(_) => self.any_entry,
            Question::StoreItem(_)
            | Question::ItemSold(_)
            | Question::MemberItemCount(_, _)
            | Question::Purchase(_) => self.store,
            Question::Asked(_) | Question::AnswerRoot(_) => self.questions,
            Question::Poll(_)
            | Question::Vote(_, _)
            | Question::DebateOfThread(_)
            | Question::IsDebater(_, _)
            | Question::PollsVoted(_) => self.polls,
            Question::Rule(_) | Question::EnabledRules | Question::RuleCount => self.rules,
            Question::RuleAwards(_, m, _) => l(m) || self.rules,
            Question::AnnouncementOf(_)
            | Question::FirstResponse(_, _, _)
            | Question::FirstPlaces(_, _)
            | Question::ResponsesBy(_, _) => self.firsts,
        }
    }
}
