//! Poll rows on both backends: texts sealed and read back, one vote per member (replaced on a
//! new vote), anonymous votes kept under a blind index without member id or time, tenancy, and
//! member erasure removing the member's own votes and debate participation.

use crate::common;

use classcred_store::polls::{PollRow, Voter};
use classcred_store::testing::TestDb;
use classcred_store::{CommunityId, MemberRowId, Role, Store};
use sqlx::Row;

fn poll(id: &str, by: &MemberRowId, anonymous: bool) -> PollRow {
    PollRow {
        poll_id: id.into(),
        number: 0,
        kind: "poll".into(),
        question: "Which topic next?".into(),
        options: vec!["Graphs".into(), "Trees".into()],
        anonymous,
        live_results: false,
        channel_id: Some("C1".into()),
        closes_at: None,
        created_by: by.clone(),
        created_at: 10,
        posted_message_id: None,
        closed_at: None,
        closed_by: None,
    }
}

async fn members(store: &Store, cid: &CommunityId) -> Vec<MemberRowId> {
    let mut tx = store.begin().await.unwrap();
    let mut out = Vec::new();
    for (uid, role, name) in [
        ("UT", Role::Instructor, "Tess"),
        ("U1", Role::Student, "Ana"),
        ("U2", Role::Student, "Ben"),
    ] {
        out.push(
            tx.for_community(cid)
                .upsert_member(&common::member(uid, role, name))
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    out
}

#[tokio::test]
async fn votes_are_one_per_member_and_anonymous_ones_name_nobody() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let backend = db.backend();
        let a = common::community(&store, "A", "TA").await;
        let b = common::community(&store, "B", "TB").await;
        let m = members(&store, &a).await;
        let mut tx = store.begin().await.unwrap();
        let mut s = tx.for_community(&a);
        s.upsert_poll(&poll("open", &m[0], false)).await.unwrap();
        s.upsert_poll(&poll("anon", &m[0], true)).await.unwrap();
        // Numbers in the order written; a second write only changes post and close.
        let mut again = poll("open", &m[0], false);
        again.posted_message_id = Some("C1:1.0".into());
        again.closed_at = Some(20);
        again.closed_by = Some(m[0].clone());
        again.question = "ignored".into();
        s.upsert_poll(&again).await.unwrap();
        let open = s.poll("open").await.unwrap().unwrap();
        assert_eq!(open.number, 1, "{backend}");
        assert_eq!(open.question, "Which topic next?", "{backend}");
        assert_eq!(open.options, vec!["Graphs", "Trees"], "{backend}");
        assert_eq!(
            open.posted_message_id.as_deref(),
            Some("C1:1.0"),
            "{backend}"
        );
        assert_eq!(open.closed_at, Some(20), "{backend}");
        assert_eq!(s.poll_by_number(2).await.unwrap().unwrap().poll_id, "anon");

        for (poll_id, voter) in [
            ("open", Voter::Member(&m[1])),
            ("anon", Voter::Anonymous(&m[1])),
        ] {
            s.save_poll_vote(poll_id, voter, 0, 30).await.unwrap();
            s.save_poll_vote(poll_id, voter, 1, 31).await.unwrap();
            assert_eq!(
                s.poll_vote(poll_id, voter).await.unwrap(),
                Some(1),
                "{backend}"
            );
        }
        s.save_poll_vote("anon", Voter::Anonymous(&m[2]), 0, 32)
            .await
            .unwrap();
        assert_eq!(s.poll_counts("anon").await.unwrap(), vec![(0, 1), (1, 1)]);
        assert_eq!(s.poll_counts("open").await.unwrap(), vec![(1, 1)]);
        // Only the vote that is not anonymous counts for the member, and names them.
        assert_eq!(s.polls_voted(&m[1]).await.unwrap(), 1, "{backend}");
        assert_eq!(s.member_votes(&m[1]).await.unwrap().len(), 1);
        assert_eq!(
            s.poll_vote("anon", Voter::Member(&m[1])).await.unwrap(),
            None
        );
        s.add_debater("open", &m[2], 40).await.unwrap();
        s.add_debater("open", &m[2], 41).await.unwrap();
        assert!(s.is_debater("open", &m[2]).await.unwrap());
        assert_eq!(s.debater_counts().await.unwrap(), vec![("open".into(), 1)]);
        tx.commit().await.unwrap();

        let rows = sqlx::query(
            "SELECT member_id, voter_bidx, voted_at FROM poll_vote WHERE poll_id = 'anon'",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert_eq!(rows.len(), 2, "{backend}");
        for r in &rows {
            assert!(r
                .try_get::<Option<String>, _>("member_id")
                .unwrap()
                .is_none());
            assert!(r.try_get::<Option<i64>, _>("voted_at").unwrap().is_none());
            assert!(r
                .try_get::<Option<Vec<u8>>, _>("voter_bidx")
                .unwrap()
                .is_some_and(|b| !b.is_empty()));
        }

        // Another community sees none of it, and cannot take over the id.
        let mb = members(&store, &b).await;
        let mut tx = store.begin().await.unwrap();
        let mut s = tx.for_community(&b);
        assert!(s.poll("open").await.unwrap().is_none());
        assert!(s.polls(10).await.unwrap().is_empty());
        assert!(s.upsert_poll(&poll("open", &mb[0], false)).await.is_err());
        tx.rollback().await.unwrap();

        // Erasing the member removes their own votes and participation; anonymous ones stay.
        store.erase_member(&a, &m[1]).await.unwrap();
        store.erase_member(&a, &m[2]).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let mut s = tx.for_community(&a);
        assert_eq!(s.poll_counts("open").await.unwrap(), vec![], "{backend}");
        assert_eq!(s.poll_counts("anon").await.unwrap(), vec![(0, 1), (1, 1)]);
        assert!(s.debater_counts().await.unwrap().is_empty());
        tx.commit().await.unwrap();
    }
}
