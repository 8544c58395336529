//! Edits diff against what the message already awarded; deletes reverse everything.

use crate::support::*;
use classcred_engine::*;

const T0: &str = "2025-03-04T09:00:00Z";
const T1: &str = "2025-03-04T09:01:00Z";
const T2: &str = "2025-03-04T09:02:00Z";
const T3: &str = "2025-03-04T09:03:00Z";

#[test]
fn edit_adding_a_recipient_awards_them() {
    let mut w = World::new();
    w.post_id("M", "s1", &["s2"], 1, T0);
    let o = w.edit("M", "s1", &["s2", "s3"], 1, T1);
    assert_eq!(count_kind(&o, EntryKind::Award), 1);
    assert_eq!(count_kind(&o, EntryKind::Reversal), 0);
    assert_eq!(w.earned("s3"), p("1"));
    assert_eq!(w.earned("s2"), p("1"));
}

#[test]
fn edit_removing_a_recipient_reverses_theirs() {
    let mut w = World::new();
    w.post_id("M", "s1", &["s2", "s3"], 2, T0);
    let o = w.edit("M", "s1", &["s2"], 2, T1);
    assert_eq!(count_kind(&o, EntryKind::Reversal), 2);
    assert!(o
        .entries
        .iter()
        .all(|e| e.member == m("s3") && e.amount == p("-1")));
    assert_eq!(w.earned("s3"), p("0"));
    assert_eq!(w.quota_used("s1", T1), 2, "same-day reversal refunds quota");
}

#[test]
fn edit_changing_the_fire_count_adds_or_reverses_the_difference() {
    let mut w = World::new();
    w.post_id("M", "s1", &["s2"], 1, T0);
    w.edit("M", "s1", &["s2"], 3, T1);
    assert_eq!(w.earned("s2"), p("3"));
    let o = w.edit("M", "s1", &["s2"], 1, T2);
    assert_eq!(count_kind(&o, EntryKind::Reversal), 2);
    // Newest units are taken back first.
    let units: Vec<&str> = o.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>();
    assert_eq!(units, vec!["msg:M/s2/1/reversal", "msg:M/s2/2/reversal"]);
    assert_eq!(w.earned("s2"), p("1"));
    // Adding back uses fresh unit indices, never reusing a key.
    let o = w.edit("M", "s1", &["s2"], 2, T3);
    assert_eq!(o.entries[0].key.as_str(), "msg:M/s2/3/award");
    assert_eq!(w.earned("s2"), p("2"));
}

#[test]
fn edit_additions_need_quota_but_removals_always_apply() {
    let mut w = World::new();
    w.post_id("M", "s1", &["s2", "s3"], 2, T0); // 4 used
                                                // New text: drop s3 (refund 2), add s4 and s5 with 2 each (needs 4; 3 left).
    let o = w.edit("M", "s1", &["s2", "s4", "s5"], 2, T1);
    assert_eq!(count_kind(&o, EntryKind::Reversal), 2);
    assert_eq!(count_kind(&o, EntryKind::Award), 0);
    assert!(matches!(
        notices_to(&o, "s1")[..],
        [NoticeKind::QuotaExceeded {
            requested: 4,
            remaining: 3,
            daily_quota: 5
        }]
    ));
    assert_eq!(w.earned("s3"), p("0"));
    assert_eq!(w.earned("s4"), p("0"));
    // A later edit that fits is awarded.
    let o = w.edit("M", "s1", &["s2", "s4"], 2, T2);
    assert_eq!(count_kind(&o, EntryKind::Award), 2);
    assert_eq!(w.earned("s4"), p("2"));
}

#[test]
fn stale_and_duplicate_edits_are_ignored() {
    let mut w = World::new();
    w.post_id("M", "s1", &["s2"], 1, T0);
    let late = w.edit("M", "s1", &["s3"], 1, T2);
    assert_eq!(w.earned("s3"), p("1"));
    assert!(w.edit("M", "s1", &["s3"], 1, T2).is_empty(), "duplicate");
    assert!(
        w.edit("M", "s1", &["s4"], 1, T1).is_empty(),
        "older than the applied edit"
    );
    assert!(!late.is_empty());
    assert_eq!(w.earned("s4"), p("0"));
}

#[test]
fn an_edit_seen_before_its_post_acts_as_the_post() {
    let mut w = World::new();
    let o = w.edit("M", "s1", &["s2"], 2, T1);
    assert_eq!(count_kind(&o, EntryKind::Award), 2);
    assert!(
        w.post_id("M", "s1", &["s3"], 1, T0).is_empty(),
        "the late post is stale"
    );
    assert_eq!(w.earned("s2"), p("2"));
    assert_eq!(w.earned("s3"), p("0"));
}

#[test]
fn an_edit_adding_fire_to_a_plain_message_gives_at_edit_time() {
    let mut w = World::new();
    w.post_id("M", "s1", &["s2"], 0, "2025-03-04T23:00:00Z");
    let o = w.edit("M", "s1", &["s2"], 1, "2025-03-05T01:00:00Z");
    assert_eq!(
        o.entries[0].quota_day.map(|d| d.to_string()).as_deref(),
        Some("2025-03-05")
    );
}

#[test]
fn delete_reverses_everything_once() {
    let mut w = World::with(CommunitySettings {
        daily_quota: 100,
        ..CommunitySettings::default()
    });
    w.post_id("M", "s1", &["s2", "s3"], 20, T0);
    assert_eq!(w.earned("s2"), p("17.5"));
    let o = w.delete("M", T1);
    assert_eq!(count_kind(&o, EntryKind::Reversal), 40);
    assert_eq!(w.earned("s2"), p("0"));
    assert_eq!(w.earned("s3"), p("0"));
    assert!(w.delete("M", T1).is_empty(), "duplicate delete");
    assert!(
        w.edit("M", "s1", &["s2"], 1, T2).is_empty(),
        "edits after delete are ignored"
    );
    assert!(
        w.post_id("M", "s1", &["s2"], 1, T0).is_empty(),
        "redelivered post after delete"
    );
    // Append-only: the awards are still in the ledger next to their reversals.
    assert_eq!(
        w.state
            .ledger()
            .iter()
            .filter(|e| e.kind == EntryKind::Award)
            .count(),
        40
    );
}

#[test]
fn delete_before_post_leaves_a_tombstone() {
    let mut w = World::new();
    w.delete("M", T1);
    assert!(w.post_id("M", "s1", &["s2"], 1, T0).is_empty());
    assert_eq!(w.earned("s2"), p("0"));
}

#[test]
fn feed_shows_reversals_to_the_recipient() {
    let mut w = World::new();
    w.post_id("M", "s1", &["s2"], 2, T0);
    let o = w.delete("M", T1);
    assert!(o.feed.iter().any(|f| f.audience == Audience::Member(m("s2"))
        && matches!(&f.kind, FeedKind::FireReversed { units: 2, amount, .. } if *amount == p("2"))));
}
