//! The demo class's polls: one closed poll with votes (results shown) and one open debate with
//! sides chosen, through `classcred_service::polls` like the dashboard and chat.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use classcred_service::polls::{close, create, vote, Draft};
use classcred_store::{CommunityId, MemberRowId, Role, Store};

/// Adds the polls (run after the roster exists).
pub(super) async fn fill(
    store: &Store,
    cid: &CommunityId,
    admin: &MemberRowId,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let at = |hours: i64| now - Duration::hours(hours);
    let mut tx = store.begin().await?;
    let mut students: Vec<MemberRowId> = tx
        .for_community(cid)
        .balances()
        .await?
        .into_iter()
        .filter(|b| b.role == Role::Student)
        .map(|b| b.member_id)
        .collect();
    tx.rollback().await?;
    students.sort_by(|a, b| a.as_str().cmp(b.as_str()));

    let (poll, _) = create(
        store,
        cid,
        admin,
        &Draft {
            kind: "poll".into(),
            question: "Which topic should the review session cover?".into(),
            options: "Recursion\nGraphs\nDynamic programming".into(),
            ..Draft::default()
        },
        at(100),
    )
    .await
    .context("adding the demo's poll")?;
    for (n, member) in students.iter().take(9).enumerate() {
        let option = ["3", "2", "3", "1", "3", "2", "3", "1", "2"][n];
        vote(store, cid, member, &poll, option, None, at(99 - n as i64)).await?;
    }
    close(store, cid, admin, &poll, at(80)).await?;

    let (debate, _) = create(
        store,
        cid,
        admin,
        &Draft {
            kind: "debate".into(),
            question: "Should the final project be done in pairs?".into(),
            options: "Yes, in pairs\nNo, alone".into(),
            live_results: Some("on".into()),
            ..Draft::default()
        },
        at(10),
    )
    .await
    .context("adding the demo's debate")?;
    for (n, member) in students.iter().take(5).enumerate() {
        let side = if n % 3 == 0 { "2" } else { "1" };
        vote(store, cid, member, &debate, side, None, at(9 - n as i64)).await?;
    }
    Ok(())
}
