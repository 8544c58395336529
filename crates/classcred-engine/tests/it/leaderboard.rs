//! Leaderboards: students only, by week, month and course; rank and percentile.

use crate::support::*;
use classcred_engine::*;

fn board(w: &World, period: Period) -> Vec<(String, String, u32)> {
    let students = w.state.students();
    Leaderboard::from_entries(&students, w.state.ledger(), period, &w.settings.timezone)
        .rows
        .into_iter()
        .filter(|r| r.points != Points::ZERO)
        .map(|r| (r.member.to_string(), r.points.to_string(), r.rank))
        .collect()
}

#[test]
fn by_week_month_and_course_students_only() {
    let mut w = World::new();
    w.post("s1", &["s2"], 3, "2025-02-28T12:00:00Z"); // February, week 9
    w.post("s1", &["s3"], 2, "2025-03-03T12:00:00Z"); // March, week 10
    w.post("s4", &["s3"], 2, "2025-03-04T12:00:00Z");
    w.post("s4", &["ta"], 5, "2025-03-05T12:00:00Z"); // staff never listed
    let s = |a: &str, b: &str, r| (a.to_string(), b.to_string(), r);
    assert_eq!(
        board(&w, Period::Course),
        vec![s("s3", "4", 1), s("s2", "3", 2)]
    );
    assert_eq!(
        board(
            &w,
            Period::Month {
                year: 2025,
                month: 2
            }
        ),
        vec![s("s2", "3", 1)]
    );
    assert_eq!(
        board(
            &w,
            Period::Week(IsoWeek {
                year: 2025,
                week: 10
            })
        ),
        vec![s("s3", "4", 1)]
    );
}

#[test]
fn competition_ranks_and_percentiles() {
    let lb = Leaderboard::from_totals(
        [
            ("a", "10"),
            ("b", "7.5"),
            ("c", "7.5"),
            ("d", "1"),
            ("e", "0"),
        ]
        .map(|(x, pts)| (m(x), p(pts))),
    );
    let ranks: Vec<u32> = lb.rows.iter().map(|r| r.rank).collect();
    assert_eq!(ranks, vec![1, 2, 2, 4, 5]);
    let a = lb.position(&m("a")).unwrap();
    assert_eq!((a.rank, a.of, a.percentile, a.top_percent), (1, 5, 90, 20));
    let c = lb.position(&m("c")).unwrap();
    assert_eq!((c.rank, c.percentile, c.top_percent), (2, 60, 40));
    let e = lb.position(&m("e")).unwrap();
    assert_eq!((e.rank, e.percentile, e.top_percent), (5, 10, 100));
    assert!(lb.position(&m("zz")).is_none());
}
