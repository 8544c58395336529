//! The class store's rules: saving items, buying, deciding and cancelling purchases.
//!
//! Every check is made against the state the event sees (stock sold, the buyer's count of the
//! item, their spendable balance) and the reservation is written in the same outcome, so with
//! processing serialised per community a student can never overspend, stock can never be
//! oversold and a per-student limit can never be exceeded. A refused request is recorded too
//! (status `refused`, with the reason), so a redelivery changes nothing and chat can answer why.

use chrono::{DateTime, Utc};

use super::Ctx;
use crate::activity::ActivityKind;
use crate::ids::{MemberId, Role};
use crate::ledger::{EntryKind, LedgerEntry};
use crate::outcome::{Audience, FeedItem, FeedKind, NoticeKind};
use crate::points::Points;
use crate::state::StateView;
use crate::store::{
    purchase_key, valid_id, PurchaseCancelled, PurchaseDecided, PurchaseRecord, PurchaseRequested,
    PurchaseStatus, StoreItem, StoreItemSaved, MAX_REASON_CHARS,
};

fn refuse<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, to: &MemberId, reason: &str) {
    cx.notify(
        to,
        NoticeKind::Refused {
            reason: reason.to_owned(),
        },
    );
}

fn is_staff<S: StateView + ?Sized>(cx: &Ctx<'_, S>, id: &MemberId) -> bool {
    cx.state
        .member(id)
        .is_some_and(|m| m.role.is_staff() && m.can_give())
}

fn feed_both<S: StateView + ?Sized>(
    cx: &mut Ctx<'_, S>,
    member: &MemberId,
    at: DateTime<Utc>,
    kind: FeedKind,
) {
    cx.out.feed.push(FeedItem {
        audience: Audience::Community,
        occurred_at: at,
        kind: kind.clone(),
    });
    cx.feed_member(member, at, kind);
}

pub(super) fn item_saved<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &StoreItemSaved) {
    if !is_staff(cx, &e.by) {
        return refuse(
            cx,
            &e.by,
            "only an Instructor or Admin can manage the store",
        );
    }
    if let Err(problem) = e.item.validate() {
        return refuse(cx, &e.by, &format!("store item {problem}"));
    }
    let before = cx.state.store_item(&e.item.item_id);
    if before.as_ref() == Some(&e.item) {
        return;
    }
    if before.as_ref().is_some_and(|b| b.number != e.item.number) {
        return refuse(cx, &e.by, "an item keeps its number");
    }
    let sold = cx.state.item_sold(&e.item.item_id);
    if e.item.stock.is_some_and(|s| s < sold) {
        return refuse(
            cx,
            &e.by,
            &format!("store item stock: {sold} already sold; the stock cannot be lower"),
        );
    }
    cx.out.store_items.push(e.item.clone());
}

/// Why a request is refused, or `None` when it may go ahead.
fn refusal<S: StateView + ?Sized>(
    cx: &Ctx<'_, S>,
    e: &PurchaseRequested,
    item: Option<&StoreItem>,
) -> Option<String> {
    let buyer = cx.member(&e.member);
    if !buyer.is_student() {
        return Some(match buyer.role {
            Role::Student => "only people can buy from the store".to_owned(),
            _ => "only students buy from the store; Instructors and Admins manage it on the \
                  dashboard"
                .to_owned(),
        });
    }
    let Some(item) = item.filter(|i| !i.archived) else {
        return Some("there is no such item in the store".to_owned());
    };
    if !item.enabled {
        return Some("this item is not for sale at the moment".to_owned());
    }
    if !item.available_at(e.occurred_at) {
        return Some(match item.available_from {
            Some(f) if e.occurred_at < f => format!(
                "this item is on sale from {}",
                f.format("%Y-%m-%d %H:%M UTC")
            ),
            _ => "this item is no longer on sale".to_owned(),
        });
    }
    let sold = cx.state.item_sold(&item.item_id);
    if item.stock.is_some_and(|s| sold >= s) {
        return Some("this item is sold out".to_owned());
    }
    if let Some(limit) = item.per_student_limit {
        if cx.state.member_item_count(&e.member, &item.item_id) >= limit {
            return Some(format!(
                "you already have {limit} of this item (the most one student may have)"
            ));
        }
    }
    let spendable = cx.state.spendable(&e.member);
    if spendable < item.price {
        return Some(format!(
            "it costs {} points and you have {spendable} to spend",
            item.price
        ));
    }
    None
}

pub(super) fn requested<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &PurchaseRequested) {
    if !valid_id(&e.purchase_id) || cx.state.purchase(&e.purchase_id).is_some() {
        // A redelivery (or an id no service would make): nothing changes.
        return;
    }
    let item = cx.state.store_item(&e.item_id);
    let name = item.as_ref().map_or_else(String::new, |i| i.name.clone());
    let mut record = PurchaseRecord {
        purchase_id: e.purchase_id.clone(),
        member: e.member.clone(),
        item_id: e.item_id.clone(),
        price: item.as_ref().map_or(Points::ZERO, |i| i.price),
        status: PurchaseStatus::Refused,
        requested_at: e.occurred_at,
        decided_by: None,
        decided_at: None,
        reason: None,
    };
    if let Some(reason) = refusal(cx, e, item.as_ref()) {
        cx.notify(
            &e.member,
            NoticeKind::PurchaseRefused {
                item: name,
                reason: reason.clone(),
            },
        );
        record.reason = Some(reason);
        cx.out.purchases.push(record);
        return;
    }
    let Some(item) = item else { return };
    let pending = item.needs_approval;
    record.status = if pending {
        PurchaseStatus::Pending
    } else {
        PurchaseStatus::Approved
    };
    if !pending {
        record.decided_at = Some(e.occurred_at);
    }
    cx.out.entries.push(store_entry(
        &e.purchase_id,
        &e.member,
        EntryKind::Purchase,
        -item.price,
        None,
        e.occurred_at,
    ));
    cx.did(
        &e.member,
        e.occurred_at,
        ActivityKind::Bought {
            purchase: e.purchase_id.as_str().into(),
            item: e.item_id.as_str().into(),
        },
    );
    let spendable = cx.state.spendable(&e.member) - item.price;
    cx.notify(
        &e.member,
        NoticeKind::PurchaseMade {
            item: item.name.clone(),
            price: item.price,
            pending,
            spendable,
        },
    );
    feed_both(
        cx,
        &e.member,
        e.occurred_at,
        FeedKind::Purchase {
            member: e.member.clone(),
            purchase_id: e.purchase_id.clone(),
            item: item.name.clone(),
            price: item.price,
            status: record.status,
        },
    );
    cx.out.purchases.push(record);
}

fn store_entry(
    purchase_id: &str,
    member: &MemberId,
    kind: EntryKind,
    amount: Points,
    reason: Option<String>,
    at: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        key: purchase_key(purchase_id, member, kind),
        kind,
        member: member.clone(),
        amount,
        giver: None,
        giver_role: None,
        quota_day: None,
        iso_week: None,
        quota_units: 0,
        fire_units: 0,
        platform_message_id: None,
        reason,
        occurred_at: at,
    }
}

/// Ends a pending purchase: approved, rejected or cancelled (the last two refund).
fn settle<S: StateView + ?Sized>(
    cx: &mut Ctx<'_, S>,
    mut p: PurchaseRecord,
    status: PurchaseStatus,
    by: &MemberId,
    reason: Option<String>,
    at: DateTime<Utc>,
) {
    let item = cx
        .state
        .store_item(&p.item_id)
        .map_or_else(|| "an item".to_owned(), |i| i.name);
    p.status = status;
    p.decided_by = Some(by.clone());
    p.decided_at = Some(at);
    p.reason.clone_from(&reason);
    if status == PurchaseStatus::Approved {
        cx.notify(
            &p.member,
            NoticeKind::PurchaseApproved { item: item.clone() },
        );
        feed_both(
            cx,
            &p.member.clone(),
            at,
            FeedKind::PurchaseApproved {
                member: p.member.clone(),
                purchase_id: p.purchase_id.clone(),
                item,
            },
        );
    } else {
        cx.out.entries.push(store_entry(
            &p.purchase_id,
            &p.member,
            EntryKind::Refund,
            p.price,
            reason.clone(),
            at,
        ));
        let notice = if status == PurchaseStatus::Cancelled {
            NoticeKind::PurchaseCancelled {
                item: item.clone(),
                price: p.price,
            }
        } else {
            NoticeKind::PurchaseRejected {
                item: item.clone(),
                price: p.price,
                reason,
            }
        };
        cx.notify(&p.member, notice);
        feed_both(
            cx,
            &p.member.clone(),
            at,
            FeedKind::PurchaseRefunded {
                member: p.member.clone(),
                purchase_id: p.purchase_id.clone(),
                item,
                amount: p.price,
                status,
            },
        );
    }
    cx.out.purchases.push(p);
}

pub(super) fn decided<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &PurchaseDecided) {
    let Some(p) = cx.state.purchase(&e.purchase_id) else {
        return refuse(cx, &e.by, "there is no such purchase");
    };
    let target = if e.approve {
        PurchaseStatus::Approved
    } else {
        PurchaseStatus::Rejected
    };
    if p.status == target && p.decided_by.as_ref() == Some(&e.by) {
        // A redelivery of the same decision.
        return;
    }
    if !is_staff(cx, &e.by) {
        return refuse(
            cx,
            &e.by,
            "only an Instructor or Admin can decide purchases",
        );
    }
    if p.status != PurchaseStatus::Pending {
        return refuse(
            cx,
            &e.by,
            &format!("this purchase is already {}", p.status.as_str()),
        );
    }
    let reason = e
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(MAX_REASON_CHARS).collect::<String>());
    settle(cx, p, target, &e.by, reason, e.occurred_at);
}

pub(super) fn cancelled<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &PurchaseCancelled) {
    let Some(p) = cx.state.purchase(&e.purchase_id) else {
        return refuse(cx, &e.by, "there is no such purchase");
    };
    if p.member != e.by {
        return refuse(cx, &e.by, "only the buyer can cancel a purchase");
    }
    if p.status == PurchaseStatus::Cancelled {
        return;
    }
    if p.status != PurchaseStatus::Pending {
        return refuse(
            cx,
            &e.by,
            &format!(
                "this purchase is already {}; only pending ones can be cancelled",
                p.status.as_str()
            ),
        );
    }
    settle(cx, p, PurchaseStatus::Cancelled, &e.by, None, e.occurred_at);
}
