//! Activities: what each event records for custom reward rules and firsts, and that
//! redeliveries and refusals record nothing.

use std::sync::Arc;

use crate::support::{m, posted, t, World};
use classcred_engine::*;

/// The activities `e` records against the world's state, then applies it.
fn did(w: &mut World, e: Event) -> Vec<(String, ActivityKind)> {
    let (_, acts) = apply_with_activities(&w.settings, &w.state, &e);
    w.send(e);
    acts.into_iter()
        .map(|a| (a.member.to_string(), a.kind))
        .collect()
}

fn a(s: &str) -> Arc<str> {
    s.into()
}

fn in_thread(id: &str, root: &str, author: &str, at: &str, question: bool) -> Event {
    Event::MessagePosted(MessagePosted {
        platform_message_id: id.into(),
        author: m(author),
        mentions: Vec::new(),
        fire_count: 0,
        text: "text".into(),
        thread: Some(root.into()),
        channel: Some("C1".into()),
        occurred_at: t(at),
        is_question: question,
    })
}

#[test]
fn posts_fire_answers_accepts_and_purchases_are_recorded_once() {
    let mut w = World::new();
    // A post giving fire to two classmates: the author posted, each recipient received fire.
    let acts = did(
        &mut w,
        posted("C1:1", "s1", &["s2", "s3"], 1, "2026-11-02T09:00:00Z"),
    );
    assert_eq!(
        acts,
        vec![
            (
                "s1".to_owned(),
                ActivityKind::Posted {
                    message: a("C1:1"),
                    channel: None,
                    thread: None
                }
            ),
            (
                "s2".to_owned(),
                ActivityKind::ReceivedFire {
                    giver: m("s1"),
                    message: a("C1:1")
                }
            ),
            (
                "s3".to_owned(),
                ActivityKind::ReceivedFire {
                    giver: m("s1"),
                    message: a("C1:1")
                }
            ),
        ]
    );
    // Redelivered: nothing.
    assert!(did(
        &mut w,
        posted("C1:1", "s1", &["s2", "s3"], 1, "2026-11-02T09:00:00Z")
    )
    .is_empty());

    // A question (its own thread root), an answer by someone else, the asker's accept.
    let q = in_thread("C1:10", "C1:10", "s4", "2026-11-02T10:00:00Z", true);
    let acts = did(&mut w, q);
    assert_eq!(
        acts,
        vec![(
            "s4".to_owned(),
            ActivityKind::Posted {
                message: a("C1:10"),
                channel: Some(a("C1")),
                thread: None
            }
        )]
    );
    let acts = did(
        &mut w,
        in_thread("C1:11", "C1:10", "s5", "2026-11-02T10:01:00Z", false),
    );
    assert!(acts.contains(&(
        "s5".to_owned(),
        ActivityKind::Answered {
            question: a("C1:10"),
            answer: a("C1:11")
        }
    )));
    assert!(acts.contains(&(
        "s5".to_owned(),
        ActivityKind::Posted {
            message: a("C1:11"),
            channel: Some(a("C1")),
            thread: Some(a("C1:10"))
        }
    )));
    // The asker replying in their own thread is a post, not an answer.
    let acts = did(
        &mut w,
        in_thread("C1:12", "C1:10", "s4", "2026-11-02T10:02:00Z", false),
    );
    assert_eq!(acts.len(), 1);
    let accept = Event::AnswerAccepted(AnswerAccepted {
        question: "C1:10".into(),
        answer: "C1:11".into(),
        by: m("s4"),
        occurred_at: t("2026-11-02T10:03:00Z"),
    });
    assert_eq!(
        did(&mut w, accept.clone()),
        vec![(
            "s5".to_owned(),
            ActivityKind::AnswerAccepted {
                question: a("C1:10"),
                answer: a("C1:11")
            }
        )]
    );
    assert!(did(&mut w, accept).is_empty());

    // A purchase: recorded when accepted; a refused one (not enough points) records nothing.
    let item = StoreItem {
        item_id: "item-1".into(),
        number: 1,
        name: "Deadline +24h".into(),
        description: String::new(),
        price: Points::from_whole(1),
        stock: None,
        per_student_limit: None,
        available_from: None,
        available_until: None,
        needs_approval: false,
        enabled: true,
        archived: false,
    };
    w.send(Event::StoreItemSaved(StoreItemSaved {
        item,
        by: m("ta"),
        occurred_at: t("2026-11-02T11:00:00Z"),
    }));
    let buy = |id: &str, who: &str| {
        Event::PurchaseRequested(PurchaseRequested {
            purchase_id: id.into(),
            member: m(who),
            item_id: "item-1".into(),
            occurred_at: t("2026-11-02T12:00:00Z"),
        })
    };
    let id = "0190b1d2-0000-7000-8000-000000000001";
    assert_eq!(
        did(&mut w, buy(id, "s2")),
        vec![(
            "s2".to_owned(),
            ActivityKind::Bought {
                purchase: a(id),
                item: a("item-1")
            }
        )]
    );
    assert!(did(&mut w, buy("0190b1d2-0000-7000-8000-000000000002", "s9")).is_empty());
}
