//! The class store: reservations, approval, rejection, cancellation, stock and limits, and a
//! property test over random sequences of item saves, purchases and decisions.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use crate::support::{m, t, World};
use classcred_engine::*;

fn item(id: &str, number: u32, price: i64) -> StoreItem {
    StoreItem {
        item_id: id.into(),
        number,
        name: format!("Item {number}"),
        description: String::new(),
        price: Points::from_whole(price),
        stock: None,
        per_student_limit: None,
        available_from: None,
        available_until: None,
        needs_approval: false,
        enabled: true,
        archived: false,
    }
}

fn save(w: &mut World, by: &str, item: StoreItem) -> Outcome {
    w.send(Event::StoreItemSaved(StoreItemSaved {
        item,
        by: m(by),
        occurred_at: t("2020-01-02T00:00:00Z"),
    }))
}

fn give(w: &mut World, who: &str, points: i64) {
    w.send(Event::PointsAdjusted(PointsAdjusted {
        adjustment_id: format!("seed-{who}-{points}"),
        by: m("admin"),
        member: m(who),
        amount: Points::from_whole(points),
        reason: "seed".into(),
        occurred_at: t("2020-01-02T00:00:00Z"),
    }));
}

fn buy(w: &mut World, id: &str, who: &str, item: &str) -> Outcome {
    w.send(Event::PurchaseRequested(PurchaseRequested {
        purchase_id: id.into(),
        member: m(who),
        item_id: item.into(),
        occurred_at: t("2020-01-03T00:00:00Z"),
    }))
}

fn decide(w: &mut World, id: &str, by: &str, approve: bool) -> Outcome {
    w.send(Event::PurchaseDecided(PurchaseDecided {
        purchase_id: id.into(),
        by: m(by),
        approve,
        reason: Some("  not this week ".into()),
        occurred_at: t("2020-01-04T00:00:00Z"),
    }))
}

fn status(w: &World, id: &str) -> Option<PurchaseStatus> {
    w.state.purchase(id).map(|p| p.status)
}

fn refused_reason(o: &Outcome) -> String {
    o.notices
        .iter()
        .find_map(|n| match &n.kind {
            NoticeKind::PurchaseRefused { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn a_purchase_reserves_and_approval_keeps_the_debit() {
    let mut w = World::new();
    let mut i = item("i1", 1, 4);
    i.needs_approval = true;
    save(&mut w, "ta", i);
    give(&mut w, "s1", 10);
    let o = buy(&mut w, "p1", "s1", "i1");
    assert_eq!(status(&w, "p1"), Some(PurchaseStatus::Pending));
    assert!(o
        .notices
        .iter()
        .any(|n| matches!(n.kind, NoticeKind::PurchaseMade { pending: true, .. })));
    let b = w.state.balance(&m("s1"));
    assert_eq!(
        (b.earned, b.spendable),
        (Points::from_whole(10), Points::from_whole(6))
    );
    decide(&mut w, "p1", "ta", true);
    assert_eq!(status(&w, "p1"), Some(PurchaseStatus::Approved));
    let b = w.state.balance(&m("s1"));
    assert_eq!(
        (b.earned, b.spendable),
        (Points::from_whole(10), Points::from_whole(6))
    );
    // A second decision changes nothing and is refused.
    let o = decide(&mut w, "p1", "admin", false);
    assert!(o.entries.is_empty());
    assert_eq!(status(&w, "p1"), Some(PurchaseStatus::Approved));
}

#[test]
fn rejection_and_cancellation_refund() {
    let mut w = World::new();
    let mut i = item("i1", 1, 4);
    i.needs_approval = true;
    save(&mut w, "admin", i);
    give(&mut w, "s1", 10);
    buy(&mut w, "p1", "s1", "i1");
    buy(&mut w, "p2", "s1", "i1");
    assert_eq!(w.state.balance(&m("s1")).spendable, Points::from_whole(2));
    let o = decide(&mut w, "p1", "ta", false);
    assert_eq!(o.entries.len(), 1);
    assert_eq!(o.entries[0].kind, EntryKind::Refund);
    assert_eq!(o.entries[0].reason.as_deref(), Some("not this week"));
    assert_eq!(status(&w, "p1"), Some(PurchaseStatus::Rejected));
    // Only the buyer cancels.
    let o = w.send(Event::PurchaseCancelled(PurchaseCancelled {
        purchase_id: "p2".into(),
        by: m("s2"),
        occurred_at: t("2020-01-05T00:00:00Z"),
    }));
    assert!(o.entries.is_empty());
    w.send(Event::PurchaseCancelled(PurchaseCancelled {
        purchase_id: "p2".into(),
        by: m("s1"),
        occurred_at: t("2020-01-05T00:00:00Z"),
    }));
    assert_eq!(status(&w, "p2"), Some(PurchaseStatus::Cancelled));
    let b = w.state.balance(&m("s1"));
    assert_eq!(
        (b.earned, b.spendable),
        (Points::from_whole(10), Points::from_whole(10))
    );
    // Students cannot decide.
    buy(&mut w, "p3", "s1", "i1");
    let o = decide(&mut w, "p3", "s2", true);
    assert!(matches!(o.notices[0].kind, NoticeKind::Refused { .. }));
    assert_eq!(status(&w, "p3"), Some(PurchaseStatus::Pending));
}

#[test]
fn refusals_say_why_and_reserve_nothing() {
    let mut w = World::new();
    let mut i = item("i1", 1, 5);
    i.stock = Some(1);
    save(&mut w, "ta", i);
    let mut lim = item("i2", 2, 1);
    lim.per_student_limit = Some(1);
    save(&mut w, "ta", lim);
    let mut later = item("i3", 3, 1);
    later.available_from = Some(t("2021-01-01T00:00:00Z"));
    save(&mut w, "ta", later);
    give(&mut w, "s1", 20);
    give(&mut w, "s2", 3);
    assert!(refused_reason(&buy(&mut w, "a", "s2", "i1")).contains("you have 3 to spend"));
    assert!(refused_reason(&buy(&mut w, "b", "ta", "i1")).contains("only students"));
    assert!(refused_reason(&buy(&mut w, "c", "s1", "nope")).contains("no such item"));
    assert!(refused_reason(&buy(&mut w, "d", "s1", "i3")).contains("on sale from 2021-01-01"));
    assert!(refused_reason(&buy(&mut w, "e", "s1", "i1")).is_empty());
    assert!(refused_reason(&buy(&mut w, "f", "s1", "i1")).contains("sold out"));
    assert!(refused_reason(&buy(&mut w, "g", "s1", "i2")).is_empty());
    assert!(refused_reason(&buy(&mut w, "h", "s1", "i2")).contains("already have 1"));
    assert_eq!(status(&w, "f"), Some(PurchaseStatus::Refused));
    assert_eq!(w.state.balance(&m("s1")).spendable, Points::from_whole(14));
    // A redelivered request changes nothing.
    assert!(buy(&mut w, "e", "s1", "i1").is_empty());
    // Students cannot manage items; stock cannot drop below what was sold.
    let o = save(&mut w, "s1", item("i9", 9, 1));
    assert!(o.store_items.is_empty());
    let mut i = item("i2", 2, 1);
    i.stock = Some(0);
    assert!(save(&mut w, "ta", i).store_items.is_empty());
}

// ---- property test -------------------------------------------------------------------------

const STUDENTS: [&str; 3] = ["s1", "s2", "s3"];
const ACTORS: [&str; 5] = ["s1", "s2", "s3", "ta", "admin"];

#[derive(Debug, Clone)]
enum Op {
    Save {
        item: usize,
        price: i64,
        stock: Option<u32>,
        limit: Option<u32>,
        approval: bool,
        enabled: bool,
    },
    Earn {
        who: usize,
        points: i64,
    },
    Buy {
        who: usize,
        item: usize,
    },
    Decide {
        purchase: usize,
        by: usize,
        approve: bool,
    },
    Cancel {
        purchase: usize,
        by: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0usize..3, 1i64..8, proptest::option::of(0u32..4), proptest::option::of(1u32..3), any::<bool>(), prop::bool::weighted(0.85))
            .prop_map(|(item, price, stock, limit, approval, enabled)| Op::Save { item, price, stock, limit, approval, enabled }),
        2 => (0usize..3, 1i64..10).prop_map(|(who, points)| Op::Earn { who, points }),
        5 => (0usize..5, 0usize..4).prop_map(|(who, item)| Op::Buy { who, item }),
        3 => (0usize..40, 0usize..5, any::<bool>()).prop_map(|(purchase, by, approve)| Op::Decide { purchase, by, approve }),
        2 => (0usize..40, 0usize..5).prop_map(|(purchase, by)| Op::Cancel { purchase, by }),
    ]
}

fn events(ops: &[Op]) -> Vec<Event> {
    let start = t("2020-01-02T00:00:00Z");
    let mut out = Vec::new();
    let mut buys = 0usize;
    for (n, o) in ops.iter().enumerate() {
        let at: DateTime<Utc> = start + Duration::minutes(n as i64);
        out.push(match o {
            Op::Save {
                item: i,
                price,
                stock,
                limit,
                approval,
                enabled,
            } => {
                let mut it = item(&format!("i{i}"), *i as u32 + 1, *price);
                it.stock = *stock;
                it.per_student_limit = *limit;
                it.needs_approval = *approval;
                it.enabled = *enabled;
                Event::StoreItemSaved(StoreItemSaved {
                    item: it,
                    by: m(if n % 2 == 0 { "ta" } else { "admin" }),
                    occurred_at: at,
                })
            }
            Op::Earn { who, points } => Event::PointsAdjusted(PointsAdjusted {
                adjustment_id: format!("adj{n}"),
                by: m("admin"),
                member: m(STUDENTS[*who]),
                amount: Points::from_whole(*points),
                reason: "work".into(),
                occurred_at: at,
            }),
            Op::Buy { who, item } => {
                buys += 1;
                Event::PurchaseRequested(PurchaseRequested {
                    purchase_id: format!("p{}", buys - 1),
                    member: m(ACTORS[*who]),
                    item_id: format!("i{item}"),
                    occurred_at: at,
                })
            }
            Op::Decide {
                purchase,
                by,
                approve,
            } => Event::PurchaseDecided(PurchaseDecided {
                purchase_id: format!("p{purchase}"),
                by: m(ACTORS[*by]),
                approve: *approve,
                reason: None,
                occurred_at: at,
            }),
            Op::Cancel { purchase, by } => Event::PurchaseCancelled(PurchaseCancelled {
                purchase_id: format!("p{purchase}"),
                by: m(ACTORS[*by]),
                occurred_at: at,
            }),
        });
    }
    out
}

/// The invariants that must hold after every event.
fn check(w: &World) -> Result<(), TestCaseError> {
    let purchases = w.state.purchases();
    let mut sold: HashMap<&str, u32> = HashMap::new();
    let mut held: HashMap<(&str, &str), u32> = HashMap::new();
    for p in &purchases {
        if p.status.counts() {
            *sold.entry(&p.item_id).or_default() += 1;
            *held.entry((p.member.as_str(), &p.item_id)).or_default() += 1;
        }
    }
    for it in w.state.store_items() {
        let n = sold.get(it.item_id.as_str()).copied().unwrap_or(0);
        prop_assert_eq!(n, w.state.item_sold(&it.item_id));
        if let Some(stock) = it.stock {
            prop_assert!(
                n <= stock,
                "item {} oversold: {} > {}",
                it.item_id,
                n,
                stock
            );
        }
        // (Per-student limits are checked at each purchase, in `accepted_within_limits`: an
        // Instructor may lower a limit below what a student already holds.)
        let _ = &held;
    }
    for s in STUDENTS {
        let b = w.state.balance(&m(s));
        prop_assert!(
            b.spendable >= Points::ZERO,
            "{} overspent: {}",
            s,
            b.spendable
        );
        // spendable = earned − reserved/debited (pending + approved) + nothing else.
        let reserved: Points = purchases
            .iter()
            .filter(|p| p.member.as_str() == s && p.status.counts())
            .map(|p| p.price)
            .sum();
        prop_assert_eq!(b.spendable, b.earned - reserved);
        // …and equals the sum of the member's ledger entries.
        prop_assert_eq!(b, Balance::of(&m(s), w.state.ledger()));
    }
    // Staff never hold a counting purchase.
    for p in &purchases {
        if ["ta", "admin"].contains(&p.member.as_str()) {
            prop_assert_eq!(p.status, PurchaseStatus::Refused);
        }
    }
    Ok(())
}

/// Sends `e`; when it is a request that was accepted, the item had a unit left, the buyer was
/// under the item's limit and could pay, all in the state just before.
fn accepted_within_limits(w: &mut World, e: &Event) -> Result<(), TestCaseError> {
    let Event::PurchaseRequested(r) = e else {
        w.send(e.clone());
        return Ok(());
    };
    let item = w.state.store_item(&r.item_id);
    let sold = w.state.item_sold(&r.item_id);
    let held = w.state.member_item_count(&r.member, &r.item_id);
    let spendable = w.state.spendable(&r.member);
    w.send(e.clone());
    let accepted = w
        .state
        .purchase(&r.purchase_id)
        .is_some_and(|p| p.status.counts());
    if accepted {
        let item = item.unwrap();
        prop_assert!(
            item.stock.is_none_or(|s| sold < s),
            "oversold {}",
            item.item_id
        );
        prop_assert!(
            item.per_student_limit.is_none_or(|l| held < l),
            "limit of {} broken",
            item.item_id
        );
        prop_assert!(spendable >= item.price, "overspent");
        prop_assert!(item.enabled && !item.archived);
        prop_assert!(STUDENTS.contains(&r.member.as_str()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_store_never_overspends_oversells_or_breaks_a_limit(ops in proptest::collection::vec(op(), 1..80)) {
        let evs = events(&ops);
        let mut w = World::new();
        for e in &evs {
            accepted_within_limits(&mut w, e)?;
            check(&w)?;
        }
        // Replay: the same events (through JSON, as the inbox keeps them) from scratch.
        let mut again = World::new();
        for e in &evs {
            let json = serde_json::to_string(e).unwrap();
            again.send(serde_json::from_str(&json).unwrap());
        }
        for s in STUDENTS {
            prop_assert_eq!(w.state.balance(&m(s)), again.state.balance(&m(s)));
        }
        prop_assert_eq!(w.state.purchases(), again.state.purchases());
        prop_assert_eq!(w.state.ledger(), again.state.ledger());
        // Redelivering a purchase request changes nothing (the service's inbox also keeps one
        // row per delivery id, so no event is applied twice there).
        for e in evs.iter().filter(|e| matches!(e, Event::PurchaseRequested(_))) {
            let o = w.send(e.clone());
            prop_assert!(o.is_empty(), "a redelivered request changed something");
        }
    }
}
