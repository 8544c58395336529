//! Firsts storage (migration 0026) on both backends: announcement posts and first responses
//! are written once (a second write changes nothing), read back through their community's
//! scope only, counted by place, refuse a member of another community (composite key on
//! PostgreSQL, triggers on SQLite), and go with the community's erasure.

use crate::common;
use classcred_store::recognition::{AnnouncementPostRow, FirstResponseRow};
use classcred_store::testing::TestDb;
use classcred_store::Role;

fn response(member: &classcred_store::MemberRowId, place: Option<i64>) -> FirstResponseRow {
    FirstResponseRow {
        target_kind: "announcement".into(),
        target_id: "ann-1".into(),
        member_id: member.clone(),
        place,
        bonus_milli: if place == Some(1) { 1000 } else { 0 },
        occurred_at: 10,
    }
}

#[tokio::test]
async fn first_responses_are_written_once_and_stay_in_their_community() {
    for db in TestDb::all().await {
        let b = db.backend();
        let store = db.store().await;
        let ca = common::community(&store, "A", "TA").await;
        let cb = common::community(&store, "B", "TB").await;
        let mut tx = store.begin().await.unwrap();
        let mut sa = tx.for_community(&ca);
        let ada = sa
            .upsert_member(&common::member("UA", Role::Student, "Ada"))
            .await
            .unwrap();
        let ted = sa
            .upsert_member(&common::member("UT", Role::Instructor, "Ted"))
            .await
            .unwrap();
        let post = AnnouncementPostRow {
            platform_message_id: "C1:100".into(),
            announcement_id: "ann-1".into(),
            channel: "C1".into(),
            posted_at: 5,
        };
        sa.insert_announcement_post(&post).await.unwrap();
        sa.insert_announcement_post(&AnnouncementPostRow {
            announcement_id: "other".into(),
            ..post.clone()
        })
        .await
        .unwrap();
        sa.insert_first_response(&response(&ada, Some(1)))
            .await
            .unwrap();
        sa.insert_first_response(&response(&ada, Some(7)))
            .await
            .unwrap();
        sa.insert_first_response(&response(&ted, None))
            .await
            .unwrap();
        assert_eq!(
            sa.announcement_of_message("C1:100")
                .await
                .unwrap()
                .as_deref(),
            Some("ann-1"),
            "{b}: the first write stands"
        );
        assert!(sa
            .has_first_response("announcement", "ann-1", &ada)
            .await
            .unwrap());
        assert_eq!(
            sa.first_places("announcement", "ann-1").await.unwrap(),
            1,
            "{b}"
        );
        assert_eq!(
            sa.responses_by(&ada, "announcement").await.unwrap(),
            1,
            "{b}"
        );
        assert_eq!(
            sa.responses_by(&ted, "announcement").await.unwrap(),
            0,
            "{b}"
        );
        let rows = sa
            .first_responses_to("announcement", "ann-1")
            .await
            .unwrap();
        assert_eq!(
            rows.iter().map(|r| r.place).collect::<Vec<_>>(),
            vec![Some(1), None],
            "{b}: students by place, then staff"
        );
        assert_eq!(sa.all_first_responses().await.unwrap().len(), 2, "{b}");

        let mut sb = tx.for_community(&cb);
        assert_eq!(
            sb.announcement_of_message("C1:100").await.unwrap(),
            None,
            "{b}"
        );
        assert!(!sb
            .has_first_response("announcement", "ann-1", &ada)
            .await
            .unwrap());
        assert_eq!(
            sb.first_places("announcement", "ann-1").await.unwrap(),
            0,
            "{b}"
        );
        assert!(sb.all_first_responses().await.unwrap().is_empty(), "{b}");
        assert!(sb.announcement_posts().await.unwrap().is_empty(), "{b}");
        tx.commit().await.unwrap();

        // A row of community B naming a member of A is refused.
        let mut tx = store.begin().await.unwrap();
        let err = tx
            .for_community(&cb)
            .insert_first_response(&response(&ada, Some(1)))
            .await
            .unwrap_err();
        assert!(
            err.to_string().to_lowercase().contains("foreign key"),
            "{b}: {err}"
        );
        tx.rollback().await.unwrap();

        // Erasing community A removes its rows.
        store.erase_community(&ca, &mut |_, _| {}).await.unwrap();
        for table in ["first_response", "announcement_post"] {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM {table} WHERE community_id = $1"
            ))
            .bind(&ca)
            .fetch_one(store.pool())
            .await
            .unwrap();
            assert_eq!(n, 0, "{b}: {table}");
        }
        store.close().await;
    }
}
