//! Tokens: stored as their SHA-256 only, listed without secrets, revoked once, audited.

use classcred_api::token::{create_token, list_tokens, revoke_token, ApiToken, TOKEN_PREFIX};
use classcred_store::testing::TestDb;
use classcred_store::CommunityId;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::support::class;

#[tokio::test]
async fn tokens_are_stored_hashed_listed_and_revoked_once() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let a = class(&store, "TA", 1).await;
        let b = class(&store, "TB", 1).await;
        let (record, token) = create_token(&store, &a.id, " gradebook ", "operator:test")
            .await
            .unwrap();
        let text = token.secret().expose_secret().to_string();
        assert!(text.starts_with(TOKEN_PREFIX), "{}", db.backend());
        assert_eq!(record.name, "gradebook");
        assert_eq!(record.community_id, a.id);

        // Only the SHA-256 of the whole token is in the database.
        let rows = sqlx::query("SELECT token_hash FROM api_token WHERE id = $1")
            .bind(&record.id)
            .fetch_all(store.pool())
            .await
            .unwrap();
        let stored: String = rows[0].try_get("token_hash").unwrap();
        assert_eq!(stored, hex::encode(Sha256::digest(text.as_bytes())));
        assert_eq!(stored, ApiToken::parse(&text).unwrap().hash());

        let listed = list_tokens(&store, &a.id).await.unwrap();
        assert_eq!(listed.len(), 2, "the seeded token and this one");
        assert!(listed
            .iter()
            .any(|t| t.id == record.id && t.revoked_at.is_none()));
        assert!(!serde_json::to_string(&listed).unwrap().contains(&text));

        // Another community cannot revoke it; its own community can, once.
        assert!(!revoke_token(&store, &b.id, &record.id, "operator:test")
            .await
            .unwrap());
        assert!(revoke_token(&store, &a.id, &record.id, "operator:test")
            .await
            .unwrap());
        assert!(!revoke_token(&store, &a.id, &record.id, "operator:test")
            .await
            .unwrap());
        let listed = list_tokens(&store, &a.id).await.unwrap();
        assert!(listed
            .iter()
            .any(|t| t.id == record.id && t.revoked_at.is_some()));

        let mut tx = store.begin().await.unwrap();
        let found = tx
            .api_token_by_hash(&ApiToken::parse(&text).unwrap().hash())
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        assert!(found.is_revoked());

        let actions: Vec<String> = sqlx::query("SELECT action FROM audit_entry ORDER BY seq")
            .fetch_all(store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get("action").unwrap())
            .collect();
        assert_eq!(
            actions.iter().filter(|a| *a == "api_token.create").count(),
            3,
            "two seeded tokens and this one"
        );
        assert_eq!(
            actions.iter().filter(|a| *a == "api_token.revoke").count(),
            1
        );
    }
}

#[tokio::test]
async fn tokens_need_a_known_community_and_a_name() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let unknown = CommunityId::parse("0190b2c4-5d6e-7f80-9a0b-1c2d3e4f5a6b").unwrap();
        assert!(create_token(&store, &unknown, "x", "operator:test")
            .await
            .is_err());
        let a = class(&store, "TA", 1).await;
        assert!(create_token(&store, &a.id, "  ", "operator:test")
            .await
            .is_err());
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_token")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(count, 1, "only the seeded token");
    }
}
