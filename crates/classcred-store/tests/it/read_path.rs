//! Issue 13: request-path lookups run in read-only transactions (`Store::begin_read`) that do
//! not take SQLite's write lock, and see every committed change at once (no cache): a
//! community disabled or erased by another process is seen as such by the next lookup.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use classcred_crypto::MasterKey;
use classcred_store::testing::TestDb;
use classcred_store::{CommunityState, SystemClock};

#[tokio::test]
async fn a_lookup_does_not_wait_for_an_open_write_transaction() {
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    let community = common::community(&store, "Physics", "TREAD").await;
    // The write lock is held (BEGIN IMMEDIATE on the only writer connection) and stays held.
    let mut writer = store.begin().await.unwrap();
    writer.disable_community(&community).await.unwrap();
    // A plain `begin()` here would wait for the writer connection for the acquire timeout
    // (30 s); the guard only turns such a hang into a failure.
    let looked_up = tokio::time::timeout(Duration::from_secs(20), async {
        let mut tx = store.begin_read().await.unwrap();
        let c = tx.community_by_team("slack", "TREAD").await.unwrap();
        tx.commit().await.unwrap();
        c
    })
    .await
    .expect("the read-only lookup waited for the write lock");
    // Uncommitted: the lookup sees the last commit, an active community.
    assert_eq!(looked_up.unwrap().state, CommunityState::Active);
    writer.commit().await.unwrap();
    let mut tx = store.begin_read().await.unwrap();
    let c = tx
        .community_by_team("slack", "TREAD")
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        c.state,
        CommunityState::Disabled,
        "seen at once after commit"
    );
}

#[tokio::test]
async fn disabled_or_erased_elsewhere_is_seen_by_the_next_lookup() {
    for db in TestDb::all().await {
        let key = MasterKey::generate();
        let server = db
            .store_with(
                MasterKey::parse(&key.encode()).unwrap(),
                Arc::new(SystemClock),
            )
            .await;
        // Another process (an operator's CLI) on the same database.
        let cli = db
            .store_with(
                MasterKey::parse(&key.encode()).unwrap(),
                Arc::new(SystemClock),
            )
            .await;
        let a = common::community(&server, "A", "TA").await;
        let b = common::community(&server, "B", "TB").await;
        let lookup = |team: &'static str| {
            let server = server.clone();
            async move {
                let mut tx = server.begin_read().await.unwrap();
                let c = tx.community_by_team("slack", team).await.unwrap().unwrap();
                tx.commit().await.unwrap();
                c.state
            }
        };
        assert_eq!(
            lookup("TA").await,
            CommunityState::Active,
            "{}",
            db.backend()
        );
        assert_eq!(
            lookup("TB").await,
            CommunityState::Active,
            "{}",
            db.backend()
        );

        let mut tx = cli.begin().await.unwrap();
        tx.disable_community(&a).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            lookup("TA").await,
            CommunityState::Disabled,
            "{}",
            db.backend()
        );

        cli.erase_community(&b, &mut |_, _| {}).await.unwrap();
        let mut tx = server.begin_read().await.unwrap();
        let erased = tx.community_by_team("slack", "TB").await.unwrap();
        tx.commit().await.unwrap();
        assert!(
            erased.is_none_or(|c| c.state == CommunityState::Erased),
            "{}: an erased community is refused",
            db.backend()
        );
    }
}

#[tokio::test]
async fn writing_through_a_read_only_transaction_fails() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let community = common::community(&store, "Physics", "TRO").await;
        let mut tx = store.begin_read().await.unwrap();
        assert!(
            tx.disable_community(&community).await.is_err(),
            "{}",
            db.backend()
        );
        drop(tx);
        let mut tx = store.begin_read().await.unwrap();
        let c = tx.community_by_team("slack", "TRO").await.unwrap().unwrap();
        tx.commit().await.unwrap();
        assert_eq!(c.state, CommunityState::Active, "{}", db.backend());
    }
}
