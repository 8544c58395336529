//! The demo class's store: three items an Instructor would offer, and a few purchases by the
//! students with the most points to spend (approved, one waiting for approval, one rejected
//! and refunded), all through `classcred_service::store` like the dashboard and chat.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use classcred_engine::{Points, PurchaseStatus};
use classcred_service::store::{buy, decide, save_item, ItemInput};
use classcred_store::{CommunityId, MemberRowId, Role, Store};

fn item(name: &str, description: &str, price: i64) -> ItemInput {
    ItemInput {
        name: name.into(),
        description: description.into(),
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

/// Adds the items and purchases (the class's points come first: run after the timeline).
pub(super) async fn fill(
    store: &Store,
    cid: &CommunityId,
    admin: &MemberRowId,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let at = |hours: i64| now - Duration::hours(hours);
    let mut deadline = item(
        "Deadline +24h",
        "One more day for one homework, approved by the instructor.",
        5,
    );
    deadline.needs_approval = true;
    deadline.per_student_limit = Some(2);
    let mut quiz = item(
        "Drop lowest quiz",
        "Your lowest quiz score does not count.",
        12,
    );
    quiz.stock = Some(5);
    quiz.per_student_limit = Some(1);
    let mut office = item(
        "Extra office hour slot",
        "15 minutes one-on-one with the instructor.",
        3,
    );
    office.stock = Some(10);
    for (i, input) in [deadline, quiz, office].into_iter().enumerate() {
        save_item(store, cid, admin, None, input, at(72 - i as i64))
            .await
            .context("adding the demo's store items")?;
    }
    // The students with the most to spend.
    let mut tx = store.begin().await?;
    let mut students: Vec<(i64, MemberRowId)> = tx
        .for_community(cid)
        .balances()
        .await?
        .into_iter()
        .filter(|b| b.role == Role::Student)
        .map(|b| (b.spendable_milli, b.member_id))
        .collect();
    tx.rollback().await?;
    students.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.as_str().cmp(b.1.as_str())));
    let mut pending = Vec::new();
    for (n, (_, member)) in students.iter().take(5).enumerate() {
        let what = match n {
            0 | 3 => "2",
            _ => "3",
        };
        buy(store, cid, member, what, at(48 - n as i64)).await?;
        let b = buy(store, cid, member, "1", at(30 - n as i64)).await?;
        if b.status == Some(PurchaseStatus::Pending) {
            pending.push(b.purchase_id);
        }
    }
    // The instructor approves two, rejects one; the others wait in the queue.
    for (n, id) in pending.iter().take(3).enumerate() {
        let approve = n != 1;
        let reason = (!approve).then_some("Only for homework 4, sorry.");
        decide(store, cid, admin, id, approve, reason, at(20 - n as i64)).await?;
    }
    Ok(())
}
