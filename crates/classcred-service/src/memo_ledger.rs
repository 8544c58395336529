//! Ledger sums a batch read ahead ([`crate::prefetch`]) and keeps exact as its rows add
//! entries: quota used and awards given per giver and day, fire per giver, recipient and week,
//! point totals per member, and the award pairs. Each holds for what it *covers* (the givers,
//! days, weeks and members read); only covered questions are answered here, and each entry a
//! row writes is added exactly as the store adds it (`SUM`s over the ledger, pair rows that
//! only grow, `member_points`), so the answer equals what the database would say.

use std::collections::{HashMap, HashSet};

use classcred_engine::time::{IsoWeek, QuotaDay};
use classcred_engine::{EntryKind, LedgerEntry, MemberId, Points};
use classcred_store::recognition::{counts_as_earned, counts_as_student_award};

use crate::state::{self, Answer, Question};

fn count(n: i64) -> Answer {
    Answer::Count(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
}

#[derive(Default)]
pub(crate) struct LedgerMemo {
    givers: HashSet<MemberId>,
    days: HashSet<QuotaDay>,
    weeks: HashSet<IsoWeek>,
    quota: HashMap<(MemberId, QuotaDay), i64>,
    gave: HashSet<(MemberId, QuotaDay)>,
    weekly: HashMap<(MemberId, MemberId, IsoWeek), i64>,
    /// `(earned, spendable)` in thousandths.
    points: HashMap<MemberId, (i64, i64)>,
    pair_members: HashSet<MemberId>,
    pairs: HashSet<(MemberId, MemberId)>,
    gives: HashMap<MemberId, u32>,
    receives: HashMap<MemberId, u32>,
}

impl LedgerMemo {
    fn covers_day(&self, g: &MemberId, d: &QuotaDay) -> bool {
        self.givers.contains(g) && self.days.contains(d)
    }

    fn covers_week(&self, g: &MemberId, w: &IsoWeek) -> bool {
        self.givers.contains(g) && self.weeks.contains(w)
    }

    fn covers_pair(&self, g: &MemberId, r: &MemberId) -> bool {
        self.pair_members.contains(g) || self.pair_members.contains(r)
    }

    /// The answer, when the question is covered.
    pub(crate) fn answer(&self, q: &Question) -> Option<Answer> {
        Some(match q {
            Question::QuotaUsed(g, d) if self.covers_day(g, d) => {
                count(self.quota.get(&(g.clone(), *d)).copied().unwrap_or(0))
            }
            Question::GaveOn(g, d) if self.covers_day(g, d) => {
                Answer::Flag(self.gave.contains(&(g.clone(), *d)))
            }
            Question::WeeklyFire(g, r, w) if self.covers_week(g, w) => count(
                self.weekly
                    .get(&(g.clone(), r.clone(), *w))
                    .copied()
                    .unwrap_or(0),
            ),
            Question::Earned(m) => Answer::Points(Points::from_thousandths(self.points.get(m)?.0)),
            Question::Spendable(m) => {
                Answer::Points(Points::from_thousandths(self.points.get(m)?.1))
            }
            Question::HasRecognised(g, r) if self.covers_pair(g, r) => {
                Answer::Flag(self.pairs.contains(&(g.clone(), r.clone())))
            }
            Question::DistinctRecipients(g) if self.pair_members.contains(g) => {
                Answer::Count(self.gives.get(g).copied().unwrap_or(0))
            }
            Question::DistinctGivers(r) if self.pair_members.contains(r) => {
                Answer::Count(self.receives.get(r).copied().unwrap_or(0))
            }
            _ => return None,
        })
    }

    /// Cover these givers on these days and weeks with the sums read from the database
    /// (`quota` and `gave` per giver and day, `fire` per giver, recipient and week); what
    /// they do not list is zero.
    pub(crate) fn cover_giving(
        &mut self,
        givers: &[MemberId],
        days: &[QuotaDay],
        weeks: &[IsoWeek],
        by_day: Vec<(MemberId, QuotaDay, i64, bool)>,
        fire: Vec<(MemberId, MemberId, IsoWeek, i64)>,
    ) {
        for g in givers {
            self.givers.insert(g.clone());
            for d in days {
                self.quota.insert((g.clone(), *d), 0);
                self.gave.remove(&(g.clone(), *d));
            }
            self.weekly
                .retain(|(x, _, w), _| !(x == g && weeks.contains(w)));
        }
        self.days.extend(days.iter().copied());
        self.weeks.extend(weeks.iter().copied());
        for (g, d, units, gave) in by_day {
            self.quota.insert((g.clone(), d), units);
            if gave {
                self.gave.insert((g, d));
            }
        }
        for (g, r, w, units) in fire {
            self.weekly.insert((g, r, w), units);
        }
    }

    /// Cover members' point totals.
    pub(crate) fn cover_points(&mut self, member: MemberId, earned: i64, spendable: i64) {
        self.points.insert(member, (earned, spendable));
    }

    /// Cover these members' award pairs with every pair in which one of them takes part.
    pub(crate) fn cover_pairs(&mut self, members: &[MemberId], pairs: Vec<(MemberId, MemberId)>) {
        let new: HashSet<&MemberId> = members.iter().collect();
        for m in members {
            self.pair_members.insert(m.clone());
            self.gives.insert(m.clone(), 0);
            self.receives.insert(m.clone(), 0);
        }
        // The database's pairs replace what was known of these members' pairs; the counts of
        // these members are recounted from them (those of members covered before stay).
        self.pairs
            .retain(|(g, r)| !new.contains(g) && !new.contains(r));
        for (g, r) in pairs {
            if new.contains(&g) {
                *self.gives.entry(g.clone()).or_default() += 1;
            }
            if new.contains(&r) {
                *self.receives.entry(r.clone()).or_default() += 1;
            }
            self.pairs.insert((g, r));
        }
    }

    /// Add one entry a row wrote, as the store adds it to its sums and aggregates.
    pub(crate) fn add(&mut self, e: &LedgerEntry) {
        if let Some(g) = &e.giver {
            if let Some(d) = e.quota_day {
                if self.covers_day(g, &d) {
                    *self.quota.entry((g.clone(), d)).or_default() += i64::from(e.quota_units);
                    if e.kind == EntryKind::Award {
                        self.gave.insert((g.clone(), d));
                    }
                }
            }
            if let Some(w) = e.iso_week {
                if self.covers_week(g, &w) {
                    *self
                        .weekly
                        .entry((g.clone(), e.member.clone(), w))
                        .or_default() += i64::from(e.fire_units);
                }
            }
            let role = e.giver_role.map(|r| state::store_role(r).as_str());
            if counts_as_student_award(e.kind.as_str(), role)
                && self.covers_pair(g, &e.member)
                && self.pairs.insert((g.clone(), e.member.clone()))
            {
                if let Some(n) = self.gives.get_mut(g) {
                    *n += 1;
                }
                if let Some(n) = self.receives.get_mut(&e.member) {
                    *n += 1;
                }
            }
        }
        if let Some(p) = self.points.get_mut(&e.member) {
            let amount = e.amount.thousandths();
            p.1 += amount;
            if counts_as_earned(e.kind.as_str()) {
                p.0 += amount;
            }
        }
    }
}
