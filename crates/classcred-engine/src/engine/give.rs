//! Giving and taking back fire units: course dates, daily quota, gift tax, ledger entries.
//!
//! A give is all-or-nothing: either every requested unit is awarded or none is (with a
//! private notice to the giver saying why). Each awarded unit is an `Award` entry of exactly
//! +1.000 followed, when taxed, by a `Tax` entry of −rate×1.000 for the same unit; a reversal
//! is one `Reversal` entry of minus the unit's net, refunding quota only when it happens on the
//! same quota day as the give.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Ctx;
use crate::activity::ActivityKind;
use crate::ids::{MemberId, MemberInfo, Role};
use crate::ledger::{escaped_len, EntryKind, KeyText, LedgerEntry, Source};
use crate::outcome::{
    Audience, FeedItem, FeedKind, Notice, NoticeKind, RecipientUnits, StandingUnit,
};
use crate::points::Points;
use crate::settings::CourseStatus;
use crate::state::StateView;

/// Who gives, from where, when.
pub(super) struct Giver<'b> {
    pub(super) id: &'b MemberId,
    pub(super) info: MemberInfo,
    pub(super) source: Source<'b>,
    pub(super) message_id: &'b str,
    pub(super) at: DateTime<Utc>,
}

/// `count` new units for `recipient`, numbered from `first_unit`.
pub(super) struct Want {
    pub(super) recipient: MemberId,
    pub(super) first_unit: u32,
    pub(super) count: u32,
}

impl<S: StateView + ?Sized> Ctx<'_, S> {
    /// Whether `giver` is held to the daily quota.
    fn is_limited(&self, role: Role) -> bool {
        role == Role::Student || self.settings.limit_instructors
    }

    /// Awards all `wants` or nothing. Returns, per want, its recipient, the next unused unit
    /// index (`first_unit + count`) and the new standing units; or `None` when refused (the
    /// giver has been sent a notice).
    pub(super) fn try_give(
        &mut self,
        g: &Giver<'_>,
        wants: &[Want],
    ) -> Option<Vec<RecipientUnits>> {
        let total: u32 = wants.iter().map(|w| w.count).sum();
        if total == 0 {
            return Some(
                wants
                    .iter()
                    .map(|w| RecipientUnits {
                        recipient: w.recipient.clone(),
                        next_unit: w.first_unit + w.count,
                        standing: Vec::new(),
                    })
                    .collect(),
            );
        }
        let day = self.quota_day(g.at);
        let refusal = match self.settings.course_status(day) {
            CourseStatus::Running => None,
            CourseStatus::NotStarted { starts } => Some(NoticeKind::CourseNotStarted { starts }),
            CourseStatus::Ended { ended } => Some(NoticeKind::CourseEnded { ended }),
        };
        if let Some(kind) = refusal {
            self.notify(g.id, kind);
            return None;
        }
        let role = g.info.role;
        let limited = self.is_limited(role);
        let mut remaining_after = None;
        if limited {
            let quota = self.settings.daily_quota;
            let remaining = quota.saturating_sub(self.quota_used(g.id, day));
            if total > remaining {
                self.notify(
                    g.id,
                    NoticeKind::QuotaExceeded {
                        requested: total,
                        remaining,
                        daily_quota: quota,
                    },
                );
                return None;
            }
            remaining_after = Some(remaining - total);
        }
        let week = day.iso_week();
        let tax = &self.settings.gift_tax;
        let taxed = tax.enabled && (role == Role::Student || tax.applies_to_instructors);
        let mid: Arc<str> = Arc::from(g.message_id);
        let total_units = total as usize;

        // Pass 1: the standing units (with their tax) per want, the weekly counters, and the
        // text of every key, written into one shared buffer.
        let mut result: Vec<RecipientUnits> = Vec::with_capacity(wants.len());
        self.reserve_weekly(wants.len());
        let mut keys = KeyText::new(
            &g.source,
            if taxed { 2 * total_units } else { total_units },
            wants.first().map_or(0, |w| w.recipient.bytes().len()),
        );
        for w in wants {
            let rcpt = w.recipient.bytes();
            let mut units = Vec::with_capacity(w.count as usize);
            let before = self.weekly_fire(g.id, &w.recipient, week);
            for i in 0..w.count {
                let unit = w.first_unit + i;
                let nth = before + i + 1;
                let rate = if taxed { tax.rate_for(nth) } else { 0 };
                let tax_amount = Points::ONE.percent(rate);
                keys.push(rcpt, unit, EntryKind::Award);
                if tax_amount != Points::ZERO {
                    keys.push(rcpt, unit, EntryKind::Tax);
                }
                units.push(StandingUnit {
                    unit,
                    net: Points::ONE - tax_amount,
                    quota_day: day,
                    iso_week: week,
                    giver_role: role,
                });
            }
            if w.count > 0 {
                self.add_weekly(g.id, &w.recipient, week, i64::from(w.count));
            }
            result.push(RecipientUnits {
                recipient: w.recipient.clone(),
                next_unit: w.first_unit + w.count,
                standing: units,
            });
        }

        // Pass 2: the entries and feed items, in the same order as the keys.
        let mut keys = keys.finish();
        let entry_count: usize = result
            .iter()
            .flat_map(|ru| &ru.standing)
            .map(|u| if u.net == Points::ONE { 1 } else { 2 })
            .sum();
        self.out.entries.reserve(entry_count);
        self.out.feed.reserve(2 * wants.len() + 1);
        let mut recipients = Vec::with_capacity(wants.len());
        for (w, ru) in wants.iter().zip(&result) {
            let units = &ru.standing;
            let rcpt = escaped_len(w.recipient.bytes());
            let mut tax_total = Points::ZERO;
            for u in units {
                let tax_amount = Points::ONE - u.net;
                self.out.entries.push(LedgerEntry {
                    key: keys.take(rcpt, u.unit, EntryKind::Award),
                    kind: EntryKind::Award,
                    member: w.recipient.clone(),
                    amount: Points::ONE,
                    giver: Some(g.id.clone()),
                    giver_role: Some(role),
                    quota_day: Some(day),
                    iso_week: Some(week),
                    quota_units: 1,
                    fire_units: 1,
                    platform_message_id: Some(mid.clone()),
                    reason: None,
                    occurred_at: g.at,
                });
                if tax_amount != Points::ZERO {
                    self.out.entries.push(LedgerEntry {
                        key: keys.take(rcpt, u.unit, EntryKind::Tax),
                        kind: EntryKind::Tax,
                        member: w.recipient.clone(),
                        amount: -tax_amount,
                        giver: Some(g.id.clone()),
                        giver_role: Some(role),
                        quota_day: Some(day),
                        iso_week: Some(week),
                        quota_units: 0,
                        fire_units: 0,
                        platform_message_id: Some(mid.clone()),
                        reason: None,
                        occurred_at: g.at,
                    });
                    tax_total += tax_amount;
                }
            }
            if w.count > 0 {
                self.feed_member(
                    &w.recipient,
                    g.at,
                    FeedKind::FireReceived {
                        from: g.id.clone(),
                        units: w.count,
                        gross: Points::from_whole(i64::from(w.count)),
                        platform_message_id: mid.clone(),
                    },
                );
                if tax_total != Points::ZERO {
                    self.feed_member(
                        &w.recipient,
                        g.at,
                        FeedKind::Taxed {
                            from: g.id.clone(),
                            amount: tax_total,
                            week,
                        },
                    );
                }
                self.did(
                    &w.recipient,
                    g.at,
                    ActivityKind::ReceivedFire {
                        giver: g.id.clone(),
                        message: mid.clone(),
                    },
                );
                recipients.push(w.recipient.clone());
            }
        }
        self.add_quota(g.id, day, i64::from(total));
        let recipient_count = u32::try_from(recipients.len()).unwrap_or(u32::MAX);
        self.out.feed.push(FeedItem {
            audience: Audience::Community,
            occurred_at: g.at,
            kind: FeedKind::Recognition {
                giver: g.id.clone(),
                recipients,
                units: total,
                platform_message_id: mid.clone(),
            },
        });
        self.notify(
            g.id,
            NoticeKind::FireGiven {
                recipients: recipient_count,
                units: total,
                remaining: remaining_after,
            },
        );
        Some(result)
    }

    /// Reverses standing units given by `g.id` to `recipient`.
    pub(super) fn reverse(&mut self, g: &Giver<'_>, recipient: &MemberId, units: &[StandingUnit]) {
        if units.is_empty() {
            return;
        }
        let today = self.quota_day(g.at);
        let mut amount = Points::ZERO;
        let mid: Arc<str> = Arc::from(g.message_id);
        let rcpt = escaped_len(recipient.bytes());
        let mut keys = KeyText::new(&g.source, units.len(), recipient.bytes().len());
        for u in units {
            keys.push(recipient.bytes(), u.unit, EntryKind::Reversal);
        }
        let mut keys = keys.finish();
        self.out.entries.reserve(units.len());
        for u in units {
            let refund = u.quota_day == today;
            self.out.entries.push(LedgerEntry {
                key: keys.take(rcpt, u.unit, EntryKind::Reversal),
                kind: EntryKind::Reversal,
                member: recipient.clone(),
                amount: -u.net,
                giver: Some(g.id.clone()),
                giver_role: Some(u.giver_role),
                quota_day: Some(u.quota_day),
                iso_week: Some(u.iso_week),
                quota_units: if refund { -1 } else { 0 },
                fire_units: -1,
                platform_message_id: Some(mid.clone()),
                reason: None,
                occurred_at: g.at,
            });
            if refund {
                self.add_quota(g.id, u.quota_day, -1);
            }
            self.add_weekly(g.id, recipient, u.iso_week, -1);
            amount += u.net;
        }
        self.feed_member(
            recipient,
            g.at,
            FeedKind::FireReversed {
                from: g.id.clone(),
                units: u32::try_from(units.len()).unwrap_or(u32::MAX),
                amount,
                platform_message_id: mid.clone(),
            },
        );
    }

    pub(crate) fn notify(&mut self, to: &MemberId, kind: NoticeKind) {
        self.out.notices.push(Notice {
            to: to.clone(),
            kind,
        });
    }

    pub(crate) fn feed_member(&mut self, member: &MemberId, at: DateTime<Utc>, kind: FeedKind) {
        self.out.feed.push(FeedItem {
            audience: Audience::Member(member.clone()),
            occurred_at: at,
            kind,
        });
    }
}
