//! 🔥 reactions give the message author one fire; removal reverses it.

use crate::support::*;
use classcred_engine::*;

const T0: &str = "2025-03-04T09:00:00Z";
const T1: &str = "2025-03-04T09:01:00Z";
const T2: &str = "2025-03-04T09:02:00Z";
const T3: &str = "2025-03-04T09:03:00Z";

#[test]
fn a_fire_reaction_gives_the_author_one_fire_and_removal_reverses_it() {
    let mut w = World::new();
    let o = w.react("M", "s1", "s2", T1);
    assert_eq!(count_kind(&o, EntryKind::Award), 1);
    assert_eq!(o.entries[0].key.as_str(), "react:M:s1/s2/0/award");
    assert_eq!(w.earned("s2"), p("1"));
    assert_eq!(w.quota_used("s1", T1), 1, "quota applies to reactions");
    let o = w.unreact("M", "s1", "s2", T2);
    assert_eq!(count_kind(&o, EntryKind::Reversal), 1);
    assert_eq!(w.earned("s2"), p("0"));
    assert_eq!(w.quota_used("s1", T2), 0);
    // Re-adding later gives again, with a fresh key.
    let o = w.react("M", "s1", "s2", T3);
    assert_eq!(o.entries[0].key.as_str(), "react:M:s1/s2/1/award");
    assert_eq!(w.earned("s2"), p("1"));
}

#[test]
fn duplicate_and_stale_reaction_deliveries_do_nothing() {
    let mut w = World::new();
    w.react("M", "s1", "s2", T1);
    assert!(w.react("M", "s1", "s2", T1).is_empty());
    w.unreact("M", "s1", "s2", T2);
    assert!(
        w.react("M", "s1", "s2", T1).is_empty(),
        "retry of the add after its removal"
    );
    assert!(w.unreact("M", "s1", "s2", T2).is_empty());
    assert_eq!(w.earned("s2"), p("0"));
}

#[test]
fn removal_seen_before_the_add_wins() {
    let mut w = World::new();
    w.unreact("M", "s1", "s2", T2);
    assert!(w.react("M", "s1", "s2", T1).is_empty());
    assert_eq!(w.earned("s2"), p("0"));
}

#[test]
fn reacting_to_your_own_message_is_refused() {
    let mut w = World::new();
    let o = w.react("M", "s1", "s1", T1);
    assert!(o.entries.is_empty());
    assert_eq!(notices_to(&o, "s1"), vec![NoticeKind::SelfFireRefused]);
}

#[test]
fn other_emoji_bots_and_the_switch() {
    let mut w = World::new();
    let mut r = reaction("M", "s1", "s2", T1);
    r.is_fire = false;
    assert!(w.send(Event::ReactionAdded(r)).is_empty());
    assert!(w.react("M", "s1", "bot", T1).entries.is_empty());

    let mut w = World::with(CommunitySettings {
        reactions_enabled: false,
        ..CommunitySettings::default()
    });
    assert!(w.react("M", "s1", "s2", T1).is_empty());
}

#[test]
fn reactions_respect_the_quota() {
    let mut w = World::new();
    w.post("s1", &["s3"], 5, T0);
    let o = w.react("M", "s1", "s2", T1);
    assert!(o.entries.is_empty());
    assert!(matches!(
        notices_to(&o, "s1")[..],
        [NoticeKind::QuotaExceeded {
            requested: 1,
            remaining: 0,
            ..
        }]
    ));
}

#[test]
fn deleting_a_message_reverses_its_reactions_and_blocks_new_ones() {
    let mut w = World::new();
    w.post_id("M", "s2", &["s3"], 1, T0);
    w.react("M", "s1", "s2", T1);
    w.react("M", "s4", "s2", T1);
    assert_eq!(w.earned("s2"), p("2"));
    let o = w.delete("M", T2);
    assert_eq!(count_kind(&o, EntryKind::Reversal), 3);
    assert_eq!(w.earned("s2"), p("0"));
    assert_eq!(w.earned("s3"), p("0"));
    assert!(w.react("M", "s5", "s2", T3).is_empty());
    assert!(w.unreact("M", "s1", "s2", T3).is_empty());
}
