//! The overview a teacher opens every morning: active students this ISO week (community
//! timezone), fires per day over the course with zero days included, the points distribution
//! in buckets a teacher reads at a glance, the five most recognised students, students nobody
//! recognised in the last 14 days, and what is waiting (inbox, parked rows, unresolved members,
//! jobs).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use classcred_engine::IsoWeek;
use classcred_store::{CommunityId, Store};
use serde::Serialize;

use super::{is_student, MemberRef, Roster};
use crate::{settings, unresolved_members, Result};

/// How many students "most recognised" lists.
pub const MOST_RECOGNISED: usize = 5;
/// The window of "nobody recognised them lately".
pub const UNRECOGNISED_DAYS: i64 = 14;
/// Without a course start date, fires per day covers this many days up to today.
const DEFAULT_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overview {
    /// Today in the community timezone.
    pub today: NaiveDate,
    /// The current ISO week (`2026-W10`).
    pub week: String,
    /// Human students in the community.
    pub students: usize,
    /// Students who posted, gave or received fire this ISO week.
    pub active_students_this_week: usize,
    /// One entry per day from the course start (or 30 days ago) to today or the course end,
    /// whichever is first; days without fire have 0.
    pub fires_per_day: Vec<DayCount>,
    /// Students per bucket of earned points, lowest bucket first.
    pub points_distribution: Vec<PointsBucket>,
    /// Up to five students with the most fire received in the course, most first.
    pub most_recognised: Vec<Recognised>,
    /// Students who received no fire in the last 14 days, by name.
    pub unrecognised_recently: Vec<MemberRef>,
    pub pending: Pending,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCount {
    pub day: NaiveDate,
    pub fires: i64,
}

/// Students whose earned points (whole points) lie in `min..=max` (`max` `None`: no upper bound).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PointsBucket {
    pub label: String,
    pub min: i64,
    pub max: Option<i64>,
    pub students: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recognised {
    pub member_id: classcred_store::MemberRowId,
    pub name: String,
    pub fires_received: i64,
}

/// What is waiting for the system (or for an operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pending {
    /// Inbox rows not processed yet (parked ones included).
    pub inbox_pending: i64,
    /// Inbox rows parked after repeated failures (`classcred inbox retry` re-queues them).
    pub inbox_parked: i64,
    /// Platform users the oldest pending event waits for.
    pub unresolved_members: usize,
    /// Queued or running background jobs of the community.
    pub jobs_pending: i64,
}

/// The buckets of the points distribution: `(label, min, max)` in whole earned points.
const BUCKETS: [(&str, i64, Option<i64>); 5] = [
    ("0", i64::MIN, Some(0)),
    ("1–4", 1, Some(4)),
    ("5–9", 5, Some(9)),
    ("10–19", 10, Some(19)),
    ("20+", 20, None),
];

/// The overview at `now`.
pub async fn overview(
    store: &Store,
    community_id: &CommunityId,
    now: DateTime<Utc>,
) -> Result<Overview> {
    let unresolved = unresolved_members(store, community_id).await?.len();
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let s = settings(&mut scoped, community_id).await?;
    let tz = &s.timezone;
    let today = tz.local_date(now);
    let week = IsoWeek::of(now, tz);
    let monday = week.monday().unwrap_or(today);
    let roster = Roster::load(&mut scoped).await?;
    let students: Vec<_> = roster.members.iter().filter(|m| is_student(m)).collect();

    let this_week = scoped
        .member_activity(
            Some(tz.start_of(monday).timestamp_millis()),
            Some(tz.start_of(monday + Duration::days(7)).timestamp_millis()),
        )
        .await?;
    let active = students
        .iter()
        .filter(|m| this_week.contains_key(&m.id))
        .count();

    let first = s
        .course_start
        .unwrap_or(today - Duration::days(DEFAULT_DAYS - 1));
    let last = s.course_end.map_or(today, |end| end.min(today));
    let fires_per_day = if first > last {
        Vec::new()
    } else {
        let counts: std::collections::HashMap<String, i64> = scoped
            .fires_per_day(&first.to_string(), &last.to_string())
            .await?
            .into_iter()
            .collect();
        first
            .iter_days()
            .take_while(|d| *d <= last)
            .map(|day| DayCount {
                day,
                fires: counts.get(&day.to_string()).copied().unwrap_or(0),
            })
            .collect()
    };

    let balances: std::collections::HashMap<_, _> = scoped
        .balances()
        .await?
        .into_iter()
        .map(|b| (b.member_id, b.earned_milli))
        .collect();
    let points_distribution = distribution(
        students
            .iter()
            .map(|m| balances.get(&m.id).copied().unwrap_or(0)),
    );

    let course = scoped.member_activity(None, None).await?;
    let mut most: Vec<Recognised> = students
        .iter()
        .filter_map(|m| {
            let n = course.get(&m.id).map_or(0, |a| a.fire_received);
            (n > 0).then(|| Recognised {
                member_id: m.id.clone(),
                name: super::display_name(m),
                fires_received: n,
            })
        })
        .collect();
    most.sort_by(|a, b| {
        b.fires_received
            .cmp(&a.fires_received)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    most.truncate(MOST_RECOGNISED);

    let recent = scoped
        .member_activity(
            Some((now - Duration::days(UNRECOGNISED_DAYS)).timestamp_millis()),
            Some(now.timestamp_millis()),
        )
        .await?;
    let mut unrecognised: Vec<MemberRef> = students
        .iter()
        .filter(|m| recent.get(&m.id).is_none_or(|a| a.fire_received <= 0))
        .map(|m| roster.reference(&m.id))
        .collect();
    unrecognised.sort_by_key(|r| r.name.to_lowercase());

    let counts = scoped.pending_counts().await?;
    tx.commit().await?;
    Ok(Overview {
        today,
        week: week.to_string(),
        students: students.len(),
        active_students_this_week: active,
        fires_per_day,
        points_distribution,
        most_recognised: most,
        unrecognised_recently: unrecognised,
        pending: Pending {
            inbox_pending: counts.inbox_pending,
            inbox_parked: counts.inbox_parked,
            unresolved_members: unresolved,
            jobs_pending: counts.jobs_pending,
        },
    })
}

/// Students per bucket, from earned thousandths (a fraction of a point counts as the whole
/// points below it; anything under one point, negative included, is "0").
pub fn distribution(earned_milli: impl Iterator<Item = i64>) -> Vec<PointsBucket> {
    let mut out: Vec<PointsBucket> = BUCKETS
        .iter()
        .map(|(label, min, max)| PointsBucket {
            label: (*label).to_string(),
            min: (*min).max(0),
            max: *max,
            students: 0,
        })
        .collect();
    for milli in earned_milli {
        let points = milli.div_euclid(1000);
        if let Some(i) = BUCKETS
            .iter()
            .position(|(_, min, max)| points >= *min && max.is_none_or(|m| points <= m))
        {
            if let Some(b) = out.get_mut(i) {
                b.students += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_once() {
        let d = distribution(
            [
                -500, 0, 999, 1000, 4999, 5000, 9999, 10_000, 19_999, 20_000, 1_000_000,
            ]
            .into_iter(),
        );
        let counts: Vec<(String, usize)> = d.into_iter().map(|b| (b.label, b.students)).collect();
        assert_eq!(
            counts,
            vec![
                ("0".to_string(), 3),
                ("1–4".to_string(), 2),
                ("5–9".to_string(), 2),
                ("10–19".to_string(), 2),
                ("20+".to_string(), 2),
            ]
        );
    }
}
