//! Closing a week: the "top recogniser of the week" badge.
//!
//! Decided by [`close_week`], which the service calls (from a job) once the ISO week has ended
//! in the community timezone: the student(s) who gave the most fire units in that week, counting
//! units given that week that are still standing (reversed ones do not count), win the badge
//! instance named after the week (e.g. `2025-W03`). Ties all win; nobody wins with 0.
//! Calling it again for the same week awards nothing new.

use chrono::{DateTime, Utc};

use crate::badges::BuiltinBadge;
use crate::engine::{award_badge, Ctx};
use crate::outcome::Outcome;
use crate::settings::CommunitySettings;
use crate::state::StateView;
use crate::time::IsoWeek;

/// Why a week cannot be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeekError {
    /// The week number does not exist in that year.
    #[error("{0} is not a valid ISO week")]
    NoSuchWeek(IsoWeek),
    /// The week has not ended yet in the community timezone.
    #[error("{week} has not ended yet (it ends at {ends})")]
    NotClosed {
        /// The week.
        week: IsoWeek,
        /// When it ends.
        ends: DateTime<Utc>,
    },
}

/// Awards the weekly badge for a closed `week`. `now` is the caller's clock reading.
pub fn close_week<S: StateView + ?Sized>(
    settings: &CommunitySettings,
    state: &S,
    week: IsoWeek,
    now: DateTime<Utc>,
) -> Result<Outcome, WeekError> {
    let ends = week
        .end_instant(&settings.timezone)
        .ok_or(WeekError::NoSuchWeek(week))?;
    if now < ends {
        return Err(WeekError::NotClosed { week, ends });
    }
    let mut cx = Ctx::new(settings, state);
    let badge = BuiltinBadge::TopRecogniser.id();
    if !settings.badge_enabled(&badge) {
        return Ok(cx.out);
    }
    let totals: Vec<_> = state
        .weekly_fire_by_giver(week)
        .into_iter()
        .filter(|(m, units)| *units > 0 && cx.member(m).is_student())
        .collect();
    let Some(best) = totals.iter().map(|(_, u)| *u).max() else {
        return Ok(cx.out);
    };
    let instance = week.to_string();
    let mut winners: Vec<_> = totals.into_iter().filter(|(_, u)| *u == best).collect();
    winners.sort();
    for (member, _) in winners {
        if !state.has_badge(&member, &badge, &instance) {
            award_badge(&mut cx, &member, &badge, &instance, None, ends);
        }
    }
    Ok(cx.out)
}
