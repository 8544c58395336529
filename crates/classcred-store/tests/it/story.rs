//! One storage story, run against SQLite and (when configured) PostgreSQL.

use crate::common;

use classcred_store::testing::TestDb;
use classcred_store::{InboxInsert, NewLedgerEntry, NewMessage, Role, StoreError};

#[tokio::test]
async fn storage_story_on_every_backend() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let store = db.store().await;
        assert_eq!(store.backend_name(), backend);
        store.ping().await.unwrap();
        // Migrating twice is harmless.
        store.migrate().await.unwrap();

        let cid = common::community(&store, "CS101", "T1").await;
        let other = common::community(&store, "CS102", "T2").await;
        let mut tx = store.begin().await.unwrap();
        let ada = tx
            .for_community(&cid)
            .upsert_member(&common::member("U1", Role::Admin, "Ada"))
            .await
            .unwrap();
        let bob = tx
            .for_community(&cid)
            .upsert_member(&common::member("U2", Role::Student, "Bob"))
            .await
            .unwrap();
        // Upsert by platform id keeps the id and updates the profile; role and kind change only
        // through engine events.
        let mut bob2 = common::member("U2", Role::Instructor, "Robert");
        bob2.profile.email = Some("Robert@Example.edu".into());
        assert_eq!(
            tx.for_community(&cid).upsert_member(&bob2).await.unwrap(),
            bob
        );
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let members = tx.for_community(&cid).list_members().await.unwrap();
        assert_eq!(members.len(), 2, "{backend}");
        let got = tx.for_community(&cid).member(&bob).await.unwrap();
        assert_eq!(got.role, Role::Student);
        assert_eq!(got.profile.name.as_deref(), Some("Robert"));
        // Blind-index lookup is case-insensitive on email.
        let by_email = tx
            .for_community(&cid)
            .member_by_email("robert@example.EDU")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_email.id, bob);
        assert!(tx
            .for_community(&cid)
            .member_by_email("nobody@example.edu")
            .await
            .unwrap()
            .is_none());
        let by_uid = tx
            .for_community(&cid)
            .member_by_platform_id("U1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_uid.id, ada);
        // Tenancy: a member id from this community is not found in another.
        assert!(matches!(
            tx.for_community(&other).member(&ada).await,
            Err(StoreError::NotFound { .. })
        ));
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let m1 = tx
            .for_community(&cid)
            .insert_message(&NewMessage {
                platform_message_id: "1700000000.000100".into(),
                channel_id: "C1".into(),
                author_member_id: Some(ada.to_string()),
                thread_id: None,
                text: "<@U2> thanks :fire:".into(),
                posted_at: 1_700_000_000_000,
            })
            .await
            .unwrap();
        let again = tx
            .for_community(&cid)
            .insert_message(&NewMessage {
                platform_message_id: "1700000000.000100".into(),
                channel_id: "C1".into(),
                author_member_id: Some(ada.to_string()),
                thread_id: None,
                text: "changed".into(),
                posted_at: 1_700_000_000_000,
            })
            .await
            .unwrap();
        assert_eq!(m1, again);
        let msgs = tx.for_community(&cid).list_messages().await.unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].text.as_deref(), Some("<@U2> thanks :fire:"));

        // Inbox: one row per platform event id.
        let first = tx
            .for_community(&cid)
            .insert_inbox("slack", "Ev1", "message", b"{\"k\":1}", 1)
            .await
            .unwrap();
        let InboxInsert::Stored(inbox_id) = first else {
            panic!("first delivery stored")
        };
        assert_eq!(
            tx.for_community(&cid)
                .insert_inbox("slack", "Ev1", "message", b"{}", 1)
                .await
                .unwrap(),
            InboxInsert::Duplicate
        );
        tx.for_community(&cid)
            .mark_inbox_processed(&inbox_id)
            .await
            .unwrap();
        let ev = tx.for_community(&cid).inbox_event(&inbox_id).await.unwrap();
        assert_eq!(ev.payload, b"{\"k\":1}");
        assert!(ev.processed_at.is_some());

        // Ledger: idempotency key is unique per community; totals derive from entries.
        let entry = |key: &str, amount| NewLedgerEntry {
            member_id: bob.to_string(),
            kind: "award".into(),
            amount_milli: amount,
            idempotency_key: key.into(),
            giver_member_id: Some(ada.to_string()),
            giver_role: None,
            source_ref: Some("1700000000.000100".into()),
            quota_day: Some("2023-11-14".into()),
            iso_week: Some("2023-W46".into()),
            quota_units: 0,
            fire_units: 0,
            note: Some("thanks".into()),
            occurred_at: 1_700_000_000_000,
        };
        assert!(tx
            .for_community(&cid)
            .insert_ledger_entry(&entry("m1/U2/0", 1000))
            .await
            .unwrap());
        assert!(!tx
            .for_community(&cid)
            .insert_ledger_entry(&entry("m1/U2/0", 1000))
            .await
            .unwrap());
        assert!(tx
            .for_community(&cid)
            .insert_ledger_entry(&entry("m1/U2/1", 500))
            .await
            .unwrap());
        assert_eq!(
            tx.for_community(&cid).ledger_totals().await.unwrap(),
            vec![(bob.clone(), 1500)]
        );
        assert_eq!(
            tx.for_community(&cid).ledger().await.unwrap()[0]
                .entry
                .note
                .as_deref(),
            Some("thanks")
        );
        tx.commit().await.unwrap();

        // A rolled-back transaction leaves nothing.
        let mut tx = store.begin().await.unwrap();
        tx.for_community(&cid)
            .upsert_member(&common::member("U9", Role::Student, "Ghost"))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(tx
            .for_community(&cid)
            .member_by_platform_id("U9")
            .await
            .unwrap()
            .is_none());
        // Communities: by team, list, disable records the time once.
        assert_eq!(
            tx.community_by_team("slack", "T1")
                .await
                .unwrap()
                .unwrap()
                .id,
            cid
        );
        assert_eq!(tx.list_communities().await.unwrap().len(), 2);
        tx.disable_community(&cid).await.unwrap();
        let c = tx.community(&cid).await.unwrap();
        assert_eq!(c.state, classcred_store::CommunityState::Disabled);
        assert!(c.disabled_at.is_some());
        tx.commit().await.unwrap();
        store.close().await;
    }
}
