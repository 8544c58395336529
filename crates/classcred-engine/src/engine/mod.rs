//! The engine: [`apply`] turns one [`Event`] into an [`Outcome`], reading state only through
//! [`StateView`]. Pure: no I/O, no clock, no randomness; the same settings, state and event
//! always give the same outcome.
//!
//! Submodules: `give` (quota, course dates, gift tax, awards and reversals), `message`
//! (post/edit/delete), `reaction`, `admin` (members, roles, adjustments, hand-made badges, settings changes),
//! `rewards` (levels and automatic badges, run after every event), `questions` (questions,
//! answers, accepts and the answer reward), `polls` (polls, votes, debates), `rules` (custom
//! reward rules) and `firsts` (announcements as posted, and the firsts bonus), both run after
//! the handler and before `rewards`.

mod admin;
mod firsts;
mod give;
mod message;
mod polls;
mod questions;
mod reaction;
mod rewards;
mod rules;
mod store;

use std::cell::RefCell;

use chrono::{DateTime, Utc};

use crate::activity::{Activity, ActivityKind};
use crate::event::Event;
use crate::ids::{MemberId, MemberInfo};
use crate::outcome::Outcome;
use crate::settings::CommunitySettings;
use crate::state::StateView;
use crate::time::{IsoWeek, QuotaDay};

pub(crate) use rewards::award_badge;

/// Applies one event to the state seen through `state` and returns what it produces.
///
/// The caller persists the outcome (atomically with marking the event processed); nothing in
/// `state` is changed here. Applying the same event again to the state that includes its
/// outcome yields an empty outcome: that is how duplicates are absorbed.
pub fn apply<S: StateView + ?Sized>(
    settings: &CommunitySettings,
    state: &S,
    event: &Event,
) -> Outcome {
    apply_with_activities(settings, state, event).0
}

/// [`apply`], also returning the [`Activity`]s the event recorded (in the order the handlers
/// recorded them).
pub fn apply_with_activities<S: StateView + ?Sized>(
    settings: &CommunitySettings,
    state: &S,
    event: &Event,
) -> (Outcome, Vec<Activity>) {
    let run = apply_full(settings, state, event);
    (run.outcome, run.activities)
}

/// Everything one `apply` produced, including what only a rule preview reads.
pub(crate) struct Run {
    pub(crate) outcome: Outcome,
    pub(crate) activities: Vec<Activity>,
    /// (rule id, member) for each award a rule's cap stopped.
    pub(crate) capped: Vec<(std::sync::Arc<str>, MemberId)>,
}

/// [`apply_with_activities`], also returning the awards caps stopped.
pub(crate) fn apply_full<S: StateView + ?Sized>(
    settings: &CommunitySettings,
    state: &S,
    event: &Event,
) -> Run {
    let mut cx = Ctx::new(settings, state);
    match event {
        Event::MessagePosted(e) => message::posted(&mut cx, e),
        Event::MessageEdited(e) => message::edited(&mut cx, e),
        Event::MessageDeleted(e) => message::deleted(&mut cx, e),
        Event::ReactionAdded(r) => reaction::added(&mut cx, r),
        Event::ReactionRemoved(r) => reaction::removed(&mut cx, r),
        Event::MemberJoined(e) => admin::joined(&mut cx, e),
        Event::ProfileChanged(e) => admin::profile_changed(&mut cx, e),
        Event::RoleChanged(e) => admin::role_changed(&mut cx, e),
        Event::PointsAdjusted(e) => admin::points_adjusted(&mut cx, e),
        Event::BadgeGranted(e) => admin::badge_granted(&mut cx, e),
        Event::SettingsChanged(e) => admin::settings_changed(&mut cx, e),
        Event::StoreItemSaved(e) => store::item_saved(&mut cx, e),
        Event::PurchaseRequested(e) => store::requested(&mut cx, e),
        Event::PurchaseDecided(e) => store::decided(&mut cx, e),
        Event::PurchaseCancelled(e) => store::cancelled(&mut cx, e),
        Event::AnswerAccepted(e) => questions::accepted(&mut cx, e),
        Event::PollCreated(e) => polls::created(&mut cx, e),
        Event::PollPosted(e) => polls::posted(&mut cx, e),
        Event::VoteCast(e) => polls::vote(&mut cx, e),
        Event::PollClosed(e) => polls::closed(&mut cx, e),
        Event::RuleSaved(e) => rules::saved(&mut cx, e),
        Event::AnnouncementPosted(e) => firsts::announcement_posted(&mut cx, e),
    }
    rules::finish(&mut cx);
    firsts::finish(&mut cx);
    rewards::finish(&mut cx, event.occurred_at());
    Run {
        outcome: cx.out,
        activities: cx.activities,
        capped: cx.capped,
    }
}

/// Working context of one `apply`: the inputs, the outcome being built, and the counters this
/// event has already changed (so several units in one event see each other).
pub(crate) struct Ctx<'a, S: StateView + ?Sized> {
    pub(crate) settings: &'a CommunitySettings,
    pub(crate) state: &'a S,
    pub(crate) out: Outcome,
    /// What members did in this event ([`crate::activity`]), read by the steps after the
    /// handler (custom reward rules, firsts).
    pub(crate) activities: Vec<Activity>,
    /// (rule id, member) for each award a custom rule's cap stopped (read by previews).
    pub(crate) capped: Vec<(std::sync::Arc<str>, MemberId)>,
    quota_delta: Vec<(MemberId, QuotaDay, i64)>,
    weekly_delta: Vec<(MemberId, MemberId, IsoWeek, i64)>,
    /// Members already looked up in this event (the state does not change during `apply`).
    members: RefCell<MemberCache>,
}

/// The first few members one event looks up (an event touches a handful; more are simply
/// looked up again).
#[derive(Default)]
struct MemberCache {
    len: usize,
    slots: [Option<(MemberId, MemberInfo)>; MEMBER_CACHE],
}

const MEMBER_CACHE: usize = 12;

impl<'a, S: StateView + ?Sized> Ctx<'a, S> {
    pub(crate) fn new(settings: &'a CommunitySettings, state: &'a S) -> Self {
        Ctx {
            settings,
            state,
            out: Outcome::default(),
            activities: Vec::new(),
            capped: Vec::new(),
            quota_delta: Vec::new(),
            weekly_delta: Vec::new(),
            members: RefCell::new(MemberCache::default()),
        }
    }

    /// Records that `member` did `kind` at `at` in this event.
    pub(crate) fn did(&mut self, member: &MemberId, at: DateTime<Utc>, kind: ActivityKind) {
        self.activities.push(Activity {
            member: member.clone(),
            at,
            kind,
        });
    }

    /// Role and kind of a member (a member never seen is a human Student).
    pub(crate) fn member(&self, id: &MemberId) -> MemberInfo {
        let mut cache = self.members.borrow_mut();
        let len = cache.len;
        for (m, info) in cache.slots.iter().take(len).flatten() {
            if m == id {
                return *info;
            }
        }
        let info = self.state.member(id).unwrap_or_default();
        if let Some(slot) = cache.slots.get_mut(len) {
            *slot = Some((id.clone(), info));
            cache.len = len + 1;
        }
        info
    }

    fn quota_used(&self, giver: &MemberId, day: QuotaDay) -> u32 {
        let delta: i64 = self
            .quota_delta
            .iter()
            .filter(|(g, d, _)| g == giver && *d == day)
            .map(|(_, _, n)| n)
            .sum();
        clamp_u32(i64::from(self.state.quota_used(giver, day)) + delta)
    }

    fn add_quota(&mut self, giver: &MemberId, day: QuotaDay, n: i64) {
        match self
            .quota_delta
            .iter_mut()
            .find(|(g, d, _)| g == giver && *d == day)
        {
            Some(slot) => slot.2 += n,
            None => self.quota_delta.push((giver.clone(), day, n)),
        }
    }

    fn weekly_fire(&self, giver: &MemberId, recipient: &MemberId, week: IsoWeek) -> u32 {
        let delta: i64 = self
            .weekly_delta
            .iter()
            .filter(|(g, r, w, _)| g == giver && r == recipient && *w == week)
            .map(|(_, _, _, n)| n)
            .sum();
        clamp_u32(i64::from(self.state.weekly_fire(giver, recipient, week)) + delta)
    }

    fn reserve_weekly(&mut self, additional: usize) {
        self.weekly_delta.reserve(additional);
    }

    fn add_weekly(&mut self, giver: &MemberId, recipient: &MemberId, week: IsoWeek, n: i64) {
        match self
            .weekly_delta
            .iter_mut()
            .find(|(g, r, w, _)| g == giver && r == recipient && *w == week)
        {
            Some(slot) => slot.3 += n,
            None => self
                .weekly_delta
                .push((giver.clone(), recipient.clone(), week, n)),
        }
    }

    pub(crate) fn quota_day(&self, at: DateTime<Utc>) -> QuotaDay {
        QuotaDay::of(at, &self.settings.timezone)
    }
}

fn clamp_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}
