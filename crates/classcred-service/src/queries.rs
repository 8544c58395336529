//! Read models for chat replies, the CLI and (later) the dashboard.

use chrono::{Datelike, Duration, NaiveDate};
use classcred_engine::badges::badge_name;
use classcred_engine::{IsoWeek, Leaderboard, MemberId, Points, QuotaDay, Role};
use classcred_store::recognition::{month_period, week_period, FeedRow, PointsPeriod};
use classcred_store::{CommunityId, Store};
use serde::Serialize;

use crate::state::engine_role;
use crate::{settings, Result};

/// Which leaderboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// The current ISO week in the community's timezone.
    Week,
    /// The current calendar month.
    Month,
    /// The whole course.
    Course,
}

/// What a member sees about themselves (`/cred me`, App Home).
#[derive(Debug, Clone, Serialize)]
pub struct MemberSummary {
    pub member_id: classcred_store::MemberRowId,
    pub role: Role,
    pub earned: Points,
    pub spendable: Points,
    pub level: u32,
    pub level_name: String,
    /// `(badge id, badge name)`.
    pub badges: Vec<(String, String)>,
    /// Fire left today; `None` when the member gives without limit.
    pub quota_left_today: Option<u32>,
    pub recent: Vec<FeedRow>,
}

/// A member's summary, by platform user id. `None` for an unknown member.
pub async fn member_summary(
    store: &Store,
    community_id: &CommunityId,
    platform_user_id: &str,
) -> Result<Option<MemberSummary>> {
    // Reads only: off SQLite's write lock (a read-only snapshot of the last commit).
    let mut tx = store.begin_read().await?;
    let mut scoped = tx.for_community(community_id);
    // Member, role and the maintained lifetime totals in one statement (not a ledger sum).
    let Some((member_id, role, _, totals)) =
        scoped.member_card_by_platform(platform_user_id).await?
    else {
        tx.commit().await?;
        return Ok(None);
    };
    let s = settings(&mut scoped, community_id).await?;
    let role = engine_role(role);
    let (earned, spendable) = (totals.earned_milli, totals.spendable_milli);
    let earned = Points::from_thousandths(earned);
    let level_idx = s.level_index(earned);
    let level_name = s
        .levels
        .get(level_idx)
        .map(|l| l.name.clone())
        .unwrap_or_default();
    let badges = scoped
        .member_badges(&member_id)
        .await?
        .into_iter()
        .map(|b| {
            let name = badge_name(&s, &classcred_engine::BadgeId::new(b.badge_id.clone()));
            (b.badge_id, name)
        })
        .collect();
    let unlimited = role.is_staff() && !s.limit_instructors;
    let quota_left_today = if unlimited {
        None
    } else {
        let today = QuotaDay::of(store.clock().now(), &s.timezone);
        let used = scoped.quota_used(&member_id, &today.to_string()).await?;
        Some(u32::try_from((i64::from(s.daily_quota) - used).max(0)).unwrap_or(0))
    };
    let recent = scoped.feed(Some(&member_id), 10).await?;
    tx.commit().await?;
    Ok(Some(MemberSummary {
        member_id,
        role,
        earned,
        spendable: Points::from_thousandths(spendable),
        level: u32::try_from(level_idx).unwrap_or(0),
        level_name,
        badges,
        quota_left_today,
        recent,
    }))
}

/// The students-only leaderboard of a period containing "now" (the store's clock).
pub async fn leaderboard(
    store: &Store,
    community_id: &CommunityId,
    period: Period,
) -> Result<Leaderboard> {
    // Reads only: off SQLite's write lock (a read-only snapshot of the last commit).
    let mut tx = store.begin_read().await?;
    let mut scoped = tx.for_community(community_id);
    let s = settings(&mut scoped, community_id).await?;
    let now = store.clock().now();
    let tz = &s.timezone;
    // The period's key in the maintained aggregates (`member_period_points`), and the same
    // period as instants (read from the ledger when the aggregates are keyed in another zone).
    let period = match period {
        Period::Course => None,
        Period::Week => {
            let week = IsoWeek::of(now, tz);
            let monday = week.monday().unwrap_or_else(|| tz.local_date(now));
            Some((
                week_period(monday),
                tz.start_of(monday),
                tz.start_of(monday + Duration::days(7)),
            ))
        }
        Period::Month => {
            let today = tz.local_date(now);
            let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
            let next = if today.month() == 12 {
                NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(today.year(), today.month() + 1, 1)
            }
            .unwrap_or(today);
            Some((month_period(first), tz.start_of(first), tz.start_of(next)))
        }
    };
    // Kept in memory per process while the community's points version is unchanged.
    let totals = scoped
        .student_points_shared(match &period {
            None => PointsPeriod::Course,
            Some((key, from, to)) => PointsPeriod::Period {
                key,
                timezone: tz.name(),
                from_ms: from.timestamp_millis(),
                to_ms: to.timestamp_millis(),
            },
        })
        .await?;
    tx.commit().await?;
    Ok(Leaderboard::from_totals(totals.iter().map(|(m, p)| {
        (MemberId::new(m.clone()), Points::from_thousandths(*p))
    })))
}
