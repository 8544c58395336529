//! Gift tax per (giver, recipient, ISO week in the community timezone).

use crate::support::*;
use classcred_engine::*;

/// Gives `n` fires from `giver` to `to` spread over the days from Monday 3 March 2025,
/// at most five a day (the default quota).
fn give_in_week(w: &mut World, giver: &str, to: &str, n: u32) {
    let mut left = n;
    let mut day = 3;
    while left > 0 {
        let k = left.min(5);
        let (_, o) = w.post(giver, &[to], k, &format!("2025-03-{day:02}T12:00:00Z"));
        assert_eq!(count_kind(&o, EntryKind::Award) as u32, k);
        left -= k;
        day += 1;
    }
}

#[test]
fn twenty_two_fires_in_a_week_earn_exactly_17_7() {
    let mut w = World::new();
    give_in_week(&mut w, "s1", "s2", 22);
    assert_eq!(w.earned("s2"), Points::from_thousandths(17_700));
    assert_eq!(w.earned("s2").to_string(), "17.7");
    let entries: Vec<_> = w
        .state
        .ledger()
        .iter()
        .filter(|e| e.member == m("s2"))
        .collect();
    let awards = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Award)
        .count();
    let taxes: Vec<Points> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Tax)
        .map(|e| e.amount)
        .collect();
    assert_eq!(awards, 22);
    assert_eq!(taxes, [vec![p("-0.5"); 5], vec![p("-0.9"); 2]].concat());
    let taxed_feed: Points = w
        .state
        .feed()
        .iter()
        .filter_map(|f| match (&f.audience, &f.kind) {
            (Audience::Member(who), FeedKind::Taxed { amount, .. }) if who == &m("s2") => {
                Some(*amount)
            }
            _ => None,
        })
        .sum();
    assert_eq!(
        taxed_feed,
        p("4.3"),
        "the recipient sees every tax on their feed"
    );
    assert_eq!(w.state.balance(&m("s2")).spendable, p("17.7"));
}

#[test]
fn one_message_crossing_brackets_is_taxed_unit_by_unit() {
    let mut w = World::with(CommunitySettings {
        daily_quota: 100,
        ..CommunitySettings::default()
    });
    let (_, o) = w.post("s1", &["s2"], 22, "2025-03-04T12:00:00Z");
    assert_eq!(count_kind(&o, EntryKind::Tax), 7);
    assert_eq!(w.earned("s2"), p("17.7"));
}

#[test]
fn the_week_is_per_recipient_and_restarts_on_local_monday() {
    let mut w = World::with(CommunitySettings {
        daily_quota: 100,
        timezone: Timezone::parse("Europe/Berlin").unwrap(),
        ..CommunitySettings::default()
    });
    // Sunday 9 March 23:59 Berlin (22:59 UTC): 15 fires, all untaxed.
    w.post("s1", &["s2"], 15, "2025-03-09T23:59:00+01:00");
    // Another recipient has its own count.
    w.post("s1", &["s3"], 3, "2025-03-09T23:59:30+01:00");
    assert_eq!(w.earned("s3"), p("3"));
    // Monday 00:00 Berlin (still Sunday in UTC): a new week, untaxed again.
    let (_, o) = w.post("s1", &["s2"], 1, "2025-03-10T00:00:00+01:00");
    assert_eq!(count_kind(&o, EntryKind::Tax), 0);
    assert_eq!(
        o.entries[0].iso_week,
        Some(IsoWeek {
            year: 2025,
            week: 11
        })
    );
    assert_eq!(w.earned("s2"), p("16"));
}

#[test]
fn instructor_fire_is_untaxed_unless_applies_to_instructors() {
    let mut w = World::new();
    w.post("ta", &["s2"], 22, "2025-03-04T12:00:00Z");
    assert_eq!(w.earned("s2"), p("22"));

    let mut settings = CommunitySettings::default();
    settings.gift_tax.applies_to_instructors = true;
    let mut w = World::with(settings);
    w.post("ta", &["s2"], 22, "2025-03-04T12:00:00Z");
    assert_eq!(w.earned("s2"), p("17.7"));
}

#[test]
fn tax_can_be_disabled() {
    let mut settings = CommunitySettings::default();
    settings.gift_tax.enabled = false;
    let mut w = World::with(settings);
    give_in_week(&mut w, "s1", "s2", 22);
    assert_eq!(w.earned("s2"), p("22"));
    assert!(w.state.ledger().iter().all(|e| e.kind != EntryKind::Tax));
}

#[test]
fn brackets_are_editable() {
    let mut settings = CommunitySettings {
        daily_quota: 100,
        ..CommunitySettings::default()
    };
    settings.gift_tax.brackets = vec![
        TaxBracket {
            from: 1,
            rate_percent: 0,
        },
        TaxBracket {
            from: 3,
            rate_percent: 25,
        },
        TaxBracket {
            from: 5,
            rate_percent: 100,
        },
    ];
    let mut w = World::with(settings);
    w.post("s1", &["s2"], 6, "2025-03-04T12:00:00Z");
    // 1 + 1 + 0.75 + 0.75 + 0 + 0
    assert_eq!(w.earned("s2"), p("3.5"));
}

#[test]
fn reversing_taxed_units_takes_back_exactly_their_net() {
    let mut w = World::with(CommunitySettings {
        daily_quota: 100,
        ..CommunitySettings::default()
    });
    w.post("s1", &["s2"], 20, "2025-03-04T12:00:00Z");
    let (last, _) = w.post("s1", &["s2"], 2, "2025-03-04T12:01:00Z");
    assert_eq!(w.earned("s2"), p("17.7"));
    let o = w.delete(&last, "2025-03-04T12:02:00Z");
    let reversed: Points = o.entries.iter().map(|e| e.amount).sum();
    assert_eq!(reversed, p("-0.2"));
    assert_eq!(w.earned("s2"), p("17.5"));
    // The weekly count dropped back to 20: the next fire is the 21st again.
    let (_, o) = w.post("s1", &["s2"], 1, "2025-03-04T12:03:00Z");
    assert_eq!(o.entries.iter().map(|e| e.amount).sum::<Points>(), p("0.1"));
}
