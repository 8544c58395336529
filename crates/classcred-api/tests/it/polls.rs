//! `GET /api/v1/polls`: the token's community's polls with their results, never voters.

use classcred_service::polls::{create, vote, Draft};
use classcred_store::testing::TestDb;

use crate::support::{now, world};

#[tokio::test]
async fn polls_and_results_stay_in_their_community() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db).await;
        let (id, _) = create(
            &w.store,
            &w.a.id,
            &w.a.members[0],
            &Draft {
                kind: "poll".into(),
                question: "Which topic next?".into(),
                options: "Graphs\nTrees".into(),
                anonymous: Some("on".into()),
                ..Draft::default()
            },
            now(),
        )
        .await
        .unwrap();
        vote(&w.store, &w.a.id, &w.a.members[1], &id, "2", None, now())
            .await
            .unwrap();

        let list = w.json("/api/v1/polls", &w.a.token).await;
        let p = &list["polls"][0];
        assert_eq!(p["poll_id"], id.as_str(), "{b}");
        assert_eq!(p["number"], 1, "{b}");
        assert_eq!(p["kind"], "poll", "{b}");
        assert_eq!(p["question"], "Which topic next?", "{b}");
        assert_eq!(p["anonymous"], true, "{b}");
        assert_eq!(p["options"][1]["text"], "Trees", "{b}");
        assert_eq!(p["options"][1]["votes"], 1, "{b}");
        assert_eq!(p["votes"], 1, "{b}");
        assert!(
            !list.to_string().contains(w.a.members[1].as_str()),
            "{b}: no voter"
        );
        let other = w.json("/api/v1/polls", &w.b.token).await;
        assert_eq!(other["polls"].as_array().unwrap().len(), 0, "{b}");
    }
}
