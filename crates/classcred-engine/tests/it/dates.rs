//! Course dates: fire counts only between the start and the optional end date (local, inclusive).

use chrono::NaiveDate;

use crate::support::*;
use classcred_engine::*;

fn course(tz: &str, start: Option<(i32, u32, u32)>, end: Option<(i32, u32, u32)>) -> World {
    let date = |(y, mo, d)| NaiveDate::from_ymd_opt(y, mo, d).unwrap();
    World::with(CommunitySettings {
        timezone: Timezone::parse(tz).unwrap(),
        course_start: start.map(date),
        course_end: end.map(date),
        ..CommunitySettings::default()
    })
}

#[test]
fn before_the_start_nothing_is_awarded_and_the_giver_is_told() {
    let mut w = course("America/New_York", Some((2025, 1, 13)), None);
    let (_, o) = w.post("s1", &["s2"], 1, "2025-01-12T23:59:59-05:00");
    assert!(o.entries.is_empty());
    assert_eq!(
        notices_to(&o, "s1"),
        vec![NoticeKind::CourseNotStarted {
            starts: NaiveDate::from_ymd_opt(2025, 1, 13).unwrap()
        }]
    );
    assert!(notices_to(&o, "s1")[0].to_string().contains("not started"));
    assert_eq!(w.quota_used("s1", "2025-01-12T12:00:00-05:00"), 0);
    let (_, o) = w.post("s1", &["s2"], 1, "2025-01-13T00:00:00-05:00");
    assert_eq!(
        count_kind(&o, EntryKind::Award),
        1,
        "local midnight of the start date counts"
    );
}

#[test]
fn after_the_end_nothing_is_awarded_and_the_giver_is_told() {
    let mut w = course("Europe/Berlin", Some((2025, 1, 13)), Some((2025, 5, 2)));
    let (_, o) = w.post("s1", &["s2"], 1, "2025-05-02T23:59:59+02:00");
    assert_eq!(
        count_kind(&o, EntryKind::Award),
        1,
        "the end date is inclusive"
    );
    let (_, o) = w.post("s1", &["s2"], 1, "2025-05-03T00:00:00+02:00");
    assert!(o.entries.is_empty());
    let n = notices_to(&o, "s1");
    assert_eq!(
        n,
        vec![NoticeKind::CourseEnded {
            ended: NaiveDate::from_ymd_opt(2025, 5, 2).unwrap()
        }]
    );
    assert!(n[0].to_string().contains("has ended"));
}

#[test]
fn reactions_outside_the_course_are_refused_too() {
    let mut w = course("UTC", None, Some((2025, 5, 2)));
    let (id, _) = w.post("s2", &["s3"], 1, "2025-05-01T12:00:00Z");
    let o = w.react(&id, "s1", "s2", "2025-05-03T12:00:00Z");
    assert!(o.entries.is_empty());
    assert!(matches!(
        notices_to(&o, "s1")[..],
        [NoticeKind::CourseEnded { .. }]
    ));
}

#[test]
fn reversals_still_happen_after_the_end() {
    let mut w = course("UTC", None, Some((2025, 5, 2)));
    let (id, _) = w.post("s1", &["s2"], 2, "2025-05-02T12:00:00Z");
    let o = w.delete(&id, "2025-05-04T12:00:00Z");
    assert_eq!(count_kind(&o, EntryKind::Reversal), 2);
    assert_eq!(w.earned("s2"), p("0"));
}
