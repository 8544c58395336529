//! Fire in messages: N emojis × M distinct mentions, who may receive, duplicates.

use crate::support::*;
use classcred_engine::*;

const AT: &str = "2025-03-04T10:00:00Z";

#[test]
fn n_fires_times_m_mentions_gives_n_each() {
    let mut w = World::new();
    let (_, o) = w.post("s1", &["s2", "s3"], 2, AT);
    assert_eq!(count_kind(&o, EntryKind::Award), 4);
    assert_eq!(w.earned("s2"), p("2"));
    assert_eq!(w.earned("s3"), p("2"));
    assert_eq!(w.earned("s1"), p("0"));
    assert!(o
        .entries
        .iter()
        .all(|e| e.amount == Points::ONE && e.giver == Some(m("s1"))));
    assert_eq!(
        notices_to(&o, "s1"),
        vec![NoticeKind::FireGiven {
            recipients: 2,
            units: 4,
            remaining: Some(1)
        }]
    );
}

#[test]
fn duplicate_mentions_count_once() {
    let mut w = World::new();
    w.post("s1", &["s2", "s2", "s2"], 1, AT);
    assert_eq!(w.earned("s2"), p("1"));
    assert_eq!(w.quota_used("s1", AT), 1);
}

#[test]
fn self_fire_is_refused_privately_and_others_still_receive() {
    let mut w = World::new();
    let (_, o) = w.post("s1", &["s1", "s2"], 1, AT);
    assert_eq!(w.earned("s1"), p("0"));
    assert_eq!(w.earned("s2"), p("1"));
    assert!(notices_to(&o, "s1").contains(&NoticeKind::SelfFireRefused));

    let (_, o) = w.post("s3", &["s3"], 3, AT);
    assert!(o.entries.is_empty());
    assert_eq!(notices_to(&o, "s3"), vec![NoticeKind::SelfFireRefused]);
    assert_eq!(
        w.quota_used("s3", AT),
        0,
        "a refused self-fire spends no quota"
    );
}

#[test]
fn bots_and_the_app_never_receive_or_give() {
    let mut w = World::new();
    let (_, o) = w.post("s1", &["bot", "app", "s2"], 1, AT);
    assert_eq!(count_kind(&o, EntryKind::Award), 1);
    assert_eq!(w.earned("bot"), p("0"));
    assert_eq!(w.earned("app"), p("0"));
    assert_eq!(w.quota_used("s1", AT), 1);

    let (_, o) = w.post("bot", &["s2"], 1, AT);
    assert!(o.entries.is_empty());
}

#[test]
fn message_without_fire_or_without_mentions_does_nothing() {
    let mut w = World::new();
    let (id, o) = w.post("s1", &["s2"], 0, AT);
    assert!(o.is_empty());
    assert!(
        w.state.message(&id).is_none(),
        "no record for a message without fire"
    );
    let (_, o) = w.post("s1", &[], 2, AT);
    assert!(o.entries.is_empty());
    assert!(o.notices.is_empty());
}

#[test]
fn unknown_members_are_students_who_can_receive() {
    let mut w = World::new();
    w.post("s1", &["newcomer"], 1, AT);
    assert_eq!(w.earned("newcomer"), p("1"));
}

#[test]
fn a_redelivered_post_awards_nothing_and_says_nothing() {
    let mut w = World::new();
    let e = posted("C9:1", "s1", &["s2"], 2, AT);
    let first = w.send(e.clone());
    assert_eq!(first.entries.len(), 2);
    for _ in 0..3 {
        assert!(w.send(e.clone()).is_empty());
    }
    assert_eq!(w.earned("s2"), p("2"));
}

#[test]
fn refused_post_is_remembered_so_a_retry_cannot_succeed_later() {
    let mut w = World::new();
    let (a, _) = w.post("s1", &["s2"], 5, AT);
    let e = posted("C9:2", "s1", &["s3"], 1, "2025-03-04T10:01:00Z");
    assert!(w.send(e.clone()).entries.is_empty(), "quota is used up");
    w.delete(&a, "2025-03-04T10:02:00Z"); // same-day refund frees the quota
    assert!(
        w.send(e).is_empty(),
        "the retried delivery of the refused post stays refused"
    );
}

#[test]
fn idempotency_keys_name_message_recipient_and_unit() {
    let mut w = World::new();
    let o = w.post_id("C1:77.1", "s1", &["s2"], 2, AT);
    let keys: Vec<&str> = o.entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        vec!["msg:C1%3A77.1/s2/0/award", "msg:C1%3A77.1/s2/1/award"]
    );
    assert!(o
        .entries
        .iter()
        .all(|e| e.platform_message_id.as_deref() == Some("C1:77.1")));
}

#[test]
fn events_round_trip_through_json_with_text_kept() {
    let e = posted("C1:1", "s1", &["s2"], 1, AT);
    let json = serde_json::to_string(&e).unwrap();
    assert!(json.contains("\"type\":\"message_posted\"") && json.contains("thanks"));
    assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
}

#[test]
fn scanner_and_engine_together() {
    let mut w = World::new();
    let text = "<@s2> <@s3> great answer :fire: 🔥\n> quoted :fire:\n`:fire:`";
    let fires = count_fire_tokens(text, None);
    assert_eq!(fires, 2);
    w.post("s1", &["s2", "s3"], fires, AT);
    assert_eq!(w.earned("s2"), p("2"));
}
