//! Levels, badges (automatic, weekly, hand-made), manual adjustments.

use crate::support::*;
use classcred_engine::*;

fn has(w: &World, who: &str, badge: BuiltinBadge) -> bool {
    w.state.has_badge(&m(who), &badge.id(), "once")
}

fn quota_100() -> World {
    World::with(CommunitySettings {
        daily_quota: 100,
        ..CommunitySettings::default()
    })
}

#[test]
fn level_up_is_announced_once_and_never_taken_back() {
    let mut w = quota_100();
    let (_, o) = w.post("s1", &["s2"], 9, "2025-03-04T09:00:00Z");
    assert!(o.levels.is_empty());
    let (id, o) = w.post("s1", &["s2"], 1, "2025-03-04T09:01:00Z");
    assert_eq!(
        o.levels,
        vec![LevelChange {
            member: m("s2"),
            level: 1
        }]
    );
    assert!(notices_to(&o, "s2").contains(&NoticeKind::LevelUp {
        level: 1,
        name: "Spark".into()
    }));
    w.delete(&id, "2025-03-04T09:02:00Z");
    assert_eq!(w.state.level(&m("s2")), 1, "levels are not taken back");
    let (_, o) = w.post("s1", &["s2"], 1, "2025-03-04T09:03:00Z");
    assert!(
        o.levels.is_empty(),
        "reaching level 1 again is not announced again"
    );
}

#[test]
fn a_big_jump_announces_the_highest_level_reached() {
    let mut w = quota_100();
    let (_, o) = w.post("ta", &["s2"], 30, "2025-03-04T09:00:00Z");
    assert_eq!(
        o.levels,
        vec![LevelChange {
            member: m("s2"),
            level: 2
        }]
    );
}

#[test]
fn staff_never_level_up_or_win_badges() {
    let mut w = quota_100();
    let (_, o) = w.post("s1", &["ta", "admin"], 12, "2025-03-04T09:00:00Z");
    assert!(o.levels.is_empty());
    assert!(o.badges.is_empty());
    assert_eq!(w.earned("ta"), p("12"), "staff still earn points");
}

#[test]
fn first_fire_badge() {
    let mut w = World::new();
    let (_, o) = w.post("s1", &["s2"], 1, "2025-03-04T09:00:00Z");
    assert!(has(&w, "s2", BuiltinBadge::FirstFire));
    assert!(o
        .badges
        .iter()
        .any(|b| b.member == m("s2") && b.badge == BuiltinBadge::FirstFire.id()));
    assert!(notices_to(&o, "s2")
        .iter()
        .any(|n| matches!(n, NoticeKind::BadgeWon { name, .. } if name == "First Spark")));
    let (_, o) = w.post("s3", &["s2"], 1, "2025-03-04T09:00:00Z");
    assert!(o.badges.is_empty(), "won once");
}

#[test]
fn disabled_badges_are_not_won() {
    let mut settings = CommunitySettings::default();
    settings.badges.insert(BuiltinBadge::FirstFire.id(), false);
    let mut w = World::with(settings);
    w.post("s1", &["s2"], 1, "2025-03-04T09:00:00Z");
    assert!(!has(&w, "s2", BuiltinBadge::FirstFire));
    assert!(!catalog(&w.settings)[0].enabled);
}

#[test]
fn recognised_by_ten_different_classmates() {
    let mut w = World::new();
    for i in 3..=11 {
        w.post(&format!("s{i}"), &["s2"], 2, "2025-03-04T09:00:00Z");
    }
    w.post("ta", &["s2"], 1, "2025-03-04T09:00:00Z"); // staff do not count
    assert!(
        !has(&w, "s2", BuiltinBadge::RecognisedByTen),
        "9 classmates so far"
    );
    w.post("s3", &["s2"], 1, "2025-03-04T10:00:00Z"); // same classmate again
    assert!(!has(&w, "s2", BuiltinBadge::RecognisedByTen));
    let (_, o) = w.post("s12", &["s2"], 1, "2025-03-04T09:00:00Z");
    assert!(has(&w, "s2", BuiltinBadge::RecognisedByTen));
    assert!(o.feed.iter().any(|f| f.audience == Audience::Community
        && matches!(&f.kind, FeedKind::BadgeWon { member, .. } if member == &m("s2"))));
}

#[test]
fn gave_fire_to_ten_different_people() {
    let mut w = World::new();
    w.post(
        "s1",
        &["s2", "s3", "s4", "s5", "s6"],
        1,
        "2025-03-01T09:00:00Z",
    );
    w.post(
        "s1",
        &["s7", "s8", "s9", "s10", "s2"],
        1,
        "2025-03-02T09:00:00Z",
    );
    assert!(!has(&w, "s1", BuiltinBadge::GaveToTen), "9 distinct so far");
    w.post("s1", &["s11"], 1, "2025-03-03T09:00:00Z");
    assert!(has(&w, "s1", BuiltinBadge::GaveToTen));
}

#[test]
fn gave_fire_on_five_consecutive_quota_days() {
    let mut w = World::in_tz("America/New_York");
    for d in [3, 4, 6, 7] {
        w.post("s1", &["s2"], 1, &format!("2025-03-{d:02}T20:00:00-05:00"));
    }
    assert!(
        !has(&w, "s1", BuiltinBadge::FiveDayStreak),
        "gap on the 5th"
    );
    // The 5th, filled in late (23:59:59 local, which is already the 6th in UTC).
    let (_, o) = w.post("s1", &["s2"], 1, "2025-03-05T23:59:59-05:00");
    assert!(has(&w, "s1", BuiltinBadge::FiveDayStreak));
    assert!(o
        .badges
        .iter()
        .any(|b| b.badge == BuiltinBadge::FiveDayStreak.id()));
}

#[test]
fn a_streak_needs_fire_actually_given() {
    let mut w = World::new();
    for d in 3..=7 {
        // Only self-fire: refused, so no giving day.
        w.post("s1", &["s1"], 1, &format!("2025-03-{d:02}T09:00:00Z"));
    }
    assert!(!has(&w, "s1", BuiltinBadge::FiveDayStreak));
}

#[test]
fn top_recogniser_of_a_closed_week_with_ties() {
    let mut w = World::in_tz("Europe/Berlin");
    let week = IsoWeek {
        year: 2025,
        week: 10,
    }; // 3-9 March
    w.post("s1", &["s2", "s3"], 2, "2025-03-03T09:00:00+01:00"); // s1: 4
    w.post("s4", &["s2"], 4, "2025-03-09T23:30:00+01:00"); // s4: 4
    w.post("s5", &["s2"], 3, "2025-03-05T09:00:00+01:00"); // s5: 3
    w.post("ta", &["s2"], 9, "2025-03-05T09:00:00+01:00"); // staff: excluded
    w.post("s6", &["s2"], 5, "2025-03-10T00:00:00+01:00"); // next week
    let before_end = t("2025-03-09T23:59:59+01:00");
    assert!(matches!(
        close_week(&w.settings, &w.state, week, before_end),
        Err(WeekError::NotClosed { .. })
    ));
    let o = close_week(&w.settings, &w.state, week, t("2025-03-10T00:00:00+01:00")).unwrap();
    let winners: Vec<_> = o
        .badges
        .iter()
        .map(|b| (b.member.clone(), b.instance.clone()))
        .collect();
    assert_eq!(
        winners,
        vec![(m("s1"), "2025-W10".into()), (m("s4"), "2025-W10".into())]
    );
    w.state.apply_outcome(&o);
    let again = close_week(&w.settings, &w.state, week, t("2025-03-12T00:00:00Z")).unwrap();
    assert!(again.badges.is_empty(), "closing twice awards nothing new");
}

#[test]
fn top_recogniser_counts_only_standing_fire() {
    let mut w = World::new();
    let week = IsoWeek {
        year: 2025,
        week: 10,
    };
    let (big, _) = w.post("s1", &["s2"], 5, "2025-03-03T09:00:00Z");
    w.post("s3", &["s2"], 2, "2025-03-03T09:00:00Z");
    w.delete(&big, "2025-03-03T10:00:00Z");
    let o = close_week(&w.settings, &w.state, week, t("2025-03-20T00:00:00Z")).unwrap();
    assert_eq!(o.badges.len(), 1);
    assert_eq!(o.badges[0].member, m("s3"));
    let empty = close_week(
        &w.settings,
        &w.state,
        IsoWeek {
            year: 2025,
            week: 2,
        },
        t("2025-03-20T00:00:00Z"),
    )
    .unwrap();
    assert!(empty.badges.is_empty(), "nobody wins a week without fire");
}

fn with_custom_badge() -> World {
    let mut settings = CommunitySettings::default();
    settings.custom_badges.push(CustomBadge {
        id: BadgeId::new("helper"),
        name: "Helpful Human".into(),
        description: "Stayed late to help".into(),
    });
    World::with(settings)
}

fn grant(w: &mut World, by: &str, to: &str, badge: &str) -> Outcome {
    w.send(Event::BadgeGranted(BadgeGranted {
        by: m(by),
        member: m(to),
        badge: BadgeId::new(badge),
        occurred_at: t("2025-03-04T09:00:00Z"),
    }))
}

#[test]
fn admins_award_custom_badges_by_hand() {
    let mut w = with_custom_badge();
    let o = grant(&mut w, "admin", "s1", "helper");
    assert_eq!(o.badges.len(), 1);
    assert_eq!(o.badges[0].by, Some(m("admin")));
    assert!(grant(&mut w, "admin", "s1", "helper").is_empty(), "once");
    for (by, to, badge) in [
        ("s2", "s3", "helper"),
        ("ta", "s3", "helper"),
        ("admin", "ta", "helper"),
        ("admin", "s3", "nope"),
        ("admin", "s3", "first_fire"),
    ] {
        let o = grant(&mut w, by, to, badge);
        assert!(o.badges.is_empty(), "{by} {to} {badge}");
        assert!(matches!(
            notices_to(&o, by)[..],
            [NoticeKind::Refused { .. }]
        ));
    }
    w.settings.badges.insert(BadgeId::new("helper"), false);
    assert!(grant(&mut w, "admin", "s4", "helper").badges.is_empty());
    assert!(catalog(&w.settings).iter().any(|b| b.custom && !b.enabled));
}

fn adjust(w: &mut World, id: &str, by: &str, to: &str, amount: &str, reason: &str) -> Outcome {
    w.send(Event::PointsAdjusted(PointsAdjusted {
        adjustment_id: id.into(),
        by: m(by),
        member: m(to),
        amount: p(amount),
        reason: reason.into(),
        occurred_at: t("2025-03-04T09:00:00Z"),
    }))
}

#[test]
fn manual_adjustments_need_an_admin_and_a_reason() {
    let mut w = World::new();
    let o = adjust(&mut w, "a1", "admin", "s1", "12.5", "bonus for the demo");
    assert_eq!(o.entries.len(), 1);
    assert_eq!(o.entries[0].kind, EntryKind::Adjustment);
    assert_eq!(o.entries[0].reason.as_deref(), Some("bonus for the demo"));
    assert_eq!(w.earned("s1"), p("12.5"));
    assert_eq!(o.levels.len(), 1, "adjustments can level up");
    assert!(adjust(&mut w, "a1", "admin", "s1", "12.5", "bonus for the demo").is_empty());
    assert!(adjust(&mut w, "a2", "admin", "s1", "1", "  ")
        .entries
        .is_empty());
    assert!(adjust(&mut w, "a3", "ta", "s1", "1", "why not")
        .entries
        .is_empty());
    assert!(adjust(&mut w, "a4", "admin", "s1", "0", "nothing")
        .entries
        .is_empty());
    adjust(&mut w, "a5", "admin", "s1", "-2.5", "correction");
    assert_eq!(w.earned("s1"), p("10"));
}

#[test]
fn balances_earned_and_spendable() {
    let mut w = World::new();
    w.post("s1", &["s2"], 3, "2025-03-04T09:00:00Z");
    let mut b = w.state.balance(&m("s2"));
    let purchase = LedgerEntry {
        key: IdempotencyKey::from_stored("store:1"),
        kind: EntryKind::Purchase,
        member: m("s2"),
        amount: p("-2"),
        giver: None,
        giver_role: None,
        quota_day: None,
        iso_week: None,
        quota_units: 0,
        fire_units: 0,
        platform_message_id: None,
        reason: None,
        occurred_at: t("2025-03-04T10:00:00Z"),
    };
    b.add(&purchase);
    assert_eq!(b.earned, p("3"));
    assert_eq!(b.spendable, p("1"));
    let refund = LedgerEntry {
        kind: EntryKind::Refund,
        amount: p("2"),
        ..purchase.clone()
    };
    b.add(&refund);
    assert_eq!(
        b,
        Balance {
            earned: p("3"),
            spendable: p("3")
        }
    );
}

#[test]
fn roles_change_only_by_an_admin() {
    let mut w = World::new();
    let o = w.send(Event::RoleChanged(RoleChanged {
        member: m("s1"),
        role: Role::Instructor,
        by: Some(m("s2")),
        occurred_at: t("2025-03-04T09:00:00Z"),
    }));
    assert!(o.members.is_empty());
    w.send(Event::RoleChanged(RoleChanged {
        member: m("s1"),
        role: Role::Instructor,
        by: Some(m("admin")),
        occurred_at: t("2025-03-04T09:00:00Z"),
    }));
    assert_eq!(
        w.state.member(&m("s1")).map(|i| i.role),
        Some(Role::Instructor)
    );
    let (_, o) = w.post("s1", &["s2"], 8, "2025-03-04T10:00:00Z");
    assert_eq!(count_kind(&o, EntryKind::Award), 8, "now unlimited");
    // A member turned into a bot by a profile change can no longer receive.
    w.send(Event::ProfileChanged(ProfileChanged {
        member: m("s3"),
        display_name: Some("Helper Bot".into()),
        kind: MemberKind::Bot,
        occurred_at: t("2025-03-04T09:00:00Z"),
    }));
    let (_, o) = w.post("s4", &["s3"], 1, "2025-03-04T10:00:00Z");
    assert!(o.entries.is_empty());
}
