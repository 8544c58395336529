//! Member paging against a Connector that misbehaves: one that hands back the same continuation
//! token forever is stopped at the second sight of the token (the sync fails, to be retried,
//! instead of looping), and nothing is written.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::routing::{get, post};
use classcred_platform::MemberDirectory;
use serde_json::json;

use crate::server::{Server, TEAM};

/// A loopback Connector + token endpoint whose `pagedmembers` always answers one member and the
/// token `again`. Returns its base URL and the number of member pages served.
async fn looping_connector() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let pages = Arc::new(AtomicUsize::new(0));
    let p = pages.clone();
    let app = axum::Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(|| async {
                axum::Json(json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "t"}))
            }),
        )
        .route(
            "/_connector/v3/conversations/{id}/pagedmembers",
            get(move || {
                p.fetch_add(1, Ordering::SeqCst);
                async {
                    axum::Json(json!({"continuationToken": "again",
                        "members": [{"id": "29:alice", "name": "Alice"}]}))
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, pages)
}

#[tokio::test]
async fn a_connector_that_repeats_its_continuation_token_stops_the_sync() {
    let (base, pages) = looping_connector().await;
    let db = classcred_store::testing::TestDb::sqlite().await;
    let s = Server::start(db, Some(&base)).await;
    let mut added = crate::fixture("conversation_update_bot_added_team");
    added["serviceUrl"] = json!(format!("{base}/_connector"));
    added["from"] = json!({"id": "29:teacher"});
    assert_eq!(s.post(&added).await, 200);
    let community = s.community(TEAM).await.unwrap();
    let members_before = s.count("member").await;

    let err = s
        .state
        .directory()
        .sync_members(&s.store, &community)
        .await
        .expect_err("a looping Connector is an error");
    assert!(
        err.to_string()
            .contains("continuation token came back twice"),
        "{err}"
    );
    assert_eq!(pages.load(Ordering::SeqCst), 2, "stopped at the repeat");
    assert_eq!(
        s.count("member").await,
        members_before,
        "nothing written from an incomplete walk"
    );

    // Resolution stops as soon as the id is found: one page.
    let r = s
        .state
        .directory()
        .resolve(&s.store, &community, &["29:alice".to_owned()])
        .await
        .unwrap();
    assert!(matches!(&r[0], (_, classcred_service::Resolved::Member(_))));
    assert_eq!(pages.load(Ordering::SeqCst), 3);
}
