//! The store endpoints: items and purchases of the token's community only, filters, and bad
//! queries as JSON 400s.

use classcred_engine::Points;
use classcred_service::store::{buy, save_item, ItemInput};
use classcred_store::testing::TestDb;

use crate::support::{now, world};

#[tokio::test]
async fn store_items_and_purchases_stay_in_their_community() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db).await;
        let input = ItemInput {
            name: "Deadline +24h".into(),
            description: String::new(),
            price: Points::from_whole(1),
            stock: Some(4),
            per_student_limit: None,
            available_from: None,
            available_until: None,
            needs_approval: false,
            enabled: true,
            archived: false,
        };
        save_item(&w.store, &w.a.id, &w.a.members[0], None, input, now())
            .await
            .unwrap();
        let bought = buy(&w.store, &w.a.id, &w.a.members[1], "1", now())
            .await
            .unwrap();

        let items = w.json("/api/v1/store/items", &w.a.token).await;
        assert_eq!(items["items"][0]["name"], "Deadline +24h", "{b}");
        assert_eq!(items["items"][0]["sold"], 1, "{b}");
        assert_eq!(items["items"][0]["left"], 3, "{b}");
        assert_eq!(items["items"][0]["price_milli"], 1000, "{b}");
        let other = w.json("/api/v1/store/items", &w.b.token).await;
        assert_eq!(other["items"].as_array().unwrap().len(), 0, "{b}");

        let p = w
            .json("/api/v1/store/purchases?status=approved", &w.a.token)
            .await;
        assert_eq!(p["purchases"][0]["purchase_id"], bought.purchase_id, "{b}");
        assert_eq!(
            p["purchases"][0]["member_id"],
            w.a.members[1].to_string(),
            "{b}"
        );
        let mine = w
            .json(
                &format!("/api/v1/store/purchases?member_id={}", w.a.members[2]),
                &w.a.token,
            )
            .await;
        assert_eq!(mine["purchases"].as_array().unwrap().len(), 0, "{b}");
        let other = w.json("/api/v1/store/purchases", &w.b.token).await;
        assert_eq!(other["purchases"].as_array().unwrap().len(), 0, "{b}");

        for q in ["status=nope", "member_id=x", "limit=0"] {
            let r = w
                .get(&format!("/api/v1/store/purchases?{q}"), Some(&w.a.token))
                .await;
            assert_eq!(r.status(), 400, "{b}: {q}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["code"], "bad_request", "{b}: {q}");
        }
    }
}
