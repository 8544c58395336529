//! Daily quota: units, all-or-nothing, local-midnight resets (DST), limit-instructors, refunds.

use crate::support::*;
use classcred_engine::*;

#[test]
fn default_quota_is_five_units_then_refused_with_what_is_left() {
    let mut w = World::new();
    w.post("s1", &["s2", "s3"], 2, "2025-03-04T09:00:00Z"); // 4 units
    let (_, o) = w.post("s1", &["s2", "s3"], 1, "2025-03-04T10:00:00Z"); // asks 2, 1 left
    assert!(
        o.entries.is_empty(),
        "asking for more than what is left gives nothing"
    );
    assert_eq!(
        notices_to(&o, "s1"),
        vec![NoticeKind::QuotaExceeded {
            requested: 2,
            remaining: 1,
            daily_quota: 5
        }]
    );
    let (_, o) = w.post("s1", &["s2"], 1, "2025-03-04T11:00:00Z");
    assert_eq!(count_kind(&o, EntryKind::Award), 1);
    assert_eq!(w.quota_used("s1", "2025-03-04T11:00:00Z"), 5);
    let (_, o) = w.post("s1", &["s2"], 1, "2025-03-04T12:00:00Z");
    assert!(o.entries.is_empty());
    assert_eq!(w.earned("s2"), p("3"));
    assert_eq!(w.earned("s3"), p("2"));
}

#[test]
fn quota_debits_are_reported_per_giver_and_day() {
    let mut w = World::new();
    let (_, o) = w.post("s1", &["s2", "s3"], 2, "2025-03-04T09:00:00Z");
    let d = o.quota_debits();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].giver.clone(), d[0].units), (m("s1"), 4));
    assert_eq!(d[0].day.to_string(), "2025-03-04");
}

/// Uses the whole quota just after local midnight, then probes the last second of the day
/// (refused) and the first second of the next day (allowed).
fn check_midnight(tz: &str, first: &str, last_second: &str, next_midnight: &str) {
    let mut w = World::in_tz(tz);
    let (_, o) = w.post("s1", &["s2"], 5, first);
    assert_eq!(count_kind(&o, EntryKind::Award), 5, "{tz} {first}");
    let (_, o) = w.post("s1", &["s3"], 1, last_second);
    assert!(
        o.entries.is_empty(),
        "{tz}: {last_second} is still the same quota day"
    );
    let (_, o) = w.post("s1", &["s3"], 5, next_midnight);
    assert_eq!(
        count_kind(&o, EntryKind::Award),
        5,
        "{tz}: {next_midnight} is a new quota day"
    );
}

#[test]
fn resets_at_local_midnight_on_an_ordinary_day() {
    check_midnight(
        "America/New_York",
        "2025-01-15T00:00:00-05:00",
        "2025-01-15T23:59:59-05:00",
        "2025-01-16T00:00:00-05:00",
    );
}

#[test]
fn resets_at_local_midnight_on_new_york_short_day() {
    // 9 March 2025: clocks spring forward, the day is 23 hours long.
    check_midnight(
        "America/New_York",
        "2025-03-09T00:00:00-05:00",
        "2025-03-09T23:59:59-04:00",
        "2025-03-10T00:00:00-04:00",
    );
}

#[test]
fn resets_at_local_midnight_on_new_york_long_day() {
    // 2 November 2025: clocks fall back, the day is 25 hours long.
    check_midnight(
        "America/New_York",
        "2025-11-02T00:00:00-04:00",
        "2025-11-02T23:59:59-05:00",
        "2025-11-03T00:00:00-05:00",
    );
}

#[test]
fn resets_at_local_midnight_on_berlin_short_and_long_days() {
    check_midnight(
        "Europe/Berlin",
        "2025-03-30T00:00:00+01:00",
        "2025-03-30T23:59:59+02:00",
        "2025-03-31T00:00:00+02:00",
    );
    check_midnight(
        "Europe/Berlin",
        "2025-10-26T00:00:00+02:00",
        "2025-10-26T23:59:59+01:00",
        "2025-10-27T00:00:00+01:00",
    );
}

#[test]
fn the_quota_day_is_local_not_utc() {
    // 23:30 in New York is already the next day in UTC; it must still count on the local day.
    let mut w = World::in_tz("America/New_York");
    w.post("s1", &["s2"], 5, "2025-01-15T08:00:00-05:00");
    let (_, o) = w.post("s1", &["s2"], 1, "2025-01-15T23:30:00-05:00");
    assert!(
        o.entries.is_empty(),
        "04:30 UTC on the 16th is still the 15th in New York"
    );
    assert_eq!(w.day("2025-01-15T23:30:00-05:00").to_string(), "2025-01-15");
}

#[test]
fn quota_zero_with_limit_off_means_only_instructors_give() {
    let mut w = World::with(CommunitySettings {
        daily_quota: 0,
        ..CommunitySettings::default()
    });
    let (_, o) = w.post("s1", &["s2"], 1, "2025-03-04T09:00:00Z");
    assert!(o.entries.is_empty());
    let n = notices_to(&o, "s1");
    assert_eq!(
        n,
        vec![NoticeKind::QuotaExceeded {
            requested: 1,
            remaining: 0,
            daily_quota: 0
        }]
    );
    assert!(n[0].to_string().contains("Only instructors"));
    let (_, o) = w.post("ta", &["s2", "s3"], 5, "2025-03-04T09:00:00Z");
    assert_eq!(count_kind(&o, EntryKind::Award), 10);
    let (_, o) = w.post("admin", &["s2"], 1, "2025-03-04T09:00:00Z");
    assert_eq!(count_kind(&o, EntryKind::Award), 1);
}

#[test]
fn instructors_are_unlimited_unless_limit_instructors() {
    let mut w = World::new();
    let (_, o) = w.post("ta", &["s2", "s3", "s4"], 4, "2025-03-04T09:00:00Z");
    assert_eq!(count_kind(&o, EntryKind::Award), 12);
    assert_eq!(
        notices_to(&o, "ta"),
        vec![NoticeKind::FireGiven {
            recipients: 3,
            units: 12,
            remaining: None
        }]
    );

    let mut w = World::with(CommunitySettings {
        limit_instructors: true,
        ..CommunitySettings::default()
    });
    let (_, o) = w.post("ta", &["s2", "s3", "s4"], 4, "2025-03-04T09:00:00Z");
    assert!(o.entries.is_empty());
    let (_, o) = w.post("admin", &["s2"], 5, "2025-03-04T09:00:00Z");
    assert_eq!(count_kind(&o, EntryKind::Award), 5);
    let (_, o) = w.post("admin", &["s2"], 1, "2025-03-04T09:00:00Z");
    assert!(o.entries.is_empty());
}

#[test]
fn reversal_refunds_quota_only_on_the_same_quota_day() {
    let mut w = World::new();
    let (a, _) = w.post("s1", &["s2"], 5, "2025-03-04T09:00:00Z");
    let o = w.delete(&a, "2025-03-04T18:00:00Z");
    assert!(o.entries.iter().all(|e| e.quota_units == -1));
    assert_eq!(w.quota_used("s1", "2025-03-04T18:00:00Z"), 0);
    let (_, o) = w.post("s1", &["s3"], 5, "2025-03-04T19:00:00Z");
    assert_eq!(
        count_kind(&o, EntryKind::Award),
        5,
        "refunded quota can be given again"
    );

    let (b, _) = w.post("s1", &["s4"], 5, "2025-03-05T09:00:00Z");
    let o = w.delete(&b, "2025-03-06T09:00:00Z");
    assert!(o.entries.iter().all(|e| e.quota_units == 0));
    assert_eq!(
        w.quota_used("s1", "2025-03-05T12:00:00Z"),
        5,
        "yesterday is not refunded"
    );
    assert_eq!(w.quota_used("s1", "2025-03-06T12:00:00Z"), 0);
    assert_eq!(w.earned("s4"), p("0"));
}

fn change_quota(w: &mut World, by: &str, quota: u32, at: &str) -> Outcome {
    let mut settings = w.settings.clone();
    settings.daily_quota = quota;
    w.send(Event::SettingsChanged(SettingsChanged {
        settings,
        by: m(by),
        occurred_at: t(at),
    }))
}

#[test]
fn an_admins_quota_change_binds_later_gives_of_the_same_day() {
    let mut w = World::new();
    w.post("s1", &["s2"], 5, "2025-03-04T09:00:00Z");
    let (_, o) = w.post("s1", &["s2"], 1, "2025-03-04T10:00:00Z");
    assert!(o.entries.is_empty(), "quota 5 used up");

    let o = change_quota(&mut w, "admin", 8, "2025-03-04T11:00:00Z");
    assert_eq!(o.settings.as_ref().map(|s| s.daily_quota), Some(8));
    assert!(o.entries.is_empty() && !o.is_empty());
    let (_, o) = w.post("s1", &["s2"], 3, "2025-03-04T12:00:00Z");
    assert_eq!(count_kind(&o, EntryKind::Award), 3, "3 more fit under 8");
    assert_eq!(w.earned("s2"), p("8"));

    // The same settings again change nothing.
    assert!(change_quota(&mut w, "admin", 8, "2025-03-04T13:00:00Z").is_empty());
}

#[test]
fn settings_changes_need_an_admin_and_valid_settings() {
    let mut w = World::new();
    for who in ["ta", "s1"] {
        let o = change_quota(&mut w, who, 9, "2025-03-04T11:00:00Z");
        assert!(o.settings.is_none(), "{who}");
        assert!(matches!(
            notices_to(&o, who).as_slice(),
            [NoticeKind::Refused { .. }]
        ));
    }
    let o = change_quota(
        &mut w,
        "admin",
        settings::MAX_DAILY_QUOTA + 1,
        "2025-03-04T11:00:00Z",
    );
    assert!(o.settings.is_none());
    assert!(matches!(
        notices_to(&o, "admin").as_slice(),
        [NoticeKind::Refused { reason }] if reason.contains("daily_quota")
    ));
    assert_eq!(w.settings.daily_quota, 5);
}
