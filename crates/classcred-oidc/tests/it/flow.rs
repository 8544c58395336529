//! The whole sign-in against the real provider: success with RS256 and ES256 ID tokens, and
//! every way a callback is refused (wrong state, replayed state, no attempt, provider error,
//! a token issued for another nonce).

use axum::http::StatusCode;
use classcred_oidc::{IdTokenError, OidcError};
use classcred_store::testing::TestDb;
use reqwest::header::COOKIE;

use crate::app::{browser, login_at_provider, open, start, start_login};

#[tokio::test]
async fn full_login_gives_the_verified_identity_with_rs256_and_es256() {
    for client_id in ["classcred-rs", "classcred-es"] {
        let db = TestDb::sqlite().await;
        let Some(app) = start(db.store().await, client_id).await else {
            return;
        };
        let browser = browser();
        let (authorize, _) = start_login(&browser, &app).await;
        // The authorization request carries what the flow needs.
        let params: std::collections::HashMap<_, _> =
            authorize.query_pairs().into_owned().collect();
        assert_eq!(params["response_type"], "code");
        assert_eq!(params["client_id"], client_id);
        assert_eq!(params["scope"], "openid slack");
        assert_eq!(params["code_challenge_method"], "S256");
        assert_eq!(params["code_challenge"].len(), 43);
        assert_eq!(params["redirect_uri"], app.client.redirect_uri().as_str());
        assert_ne!(params["state"], params["nonce"]);

        let callback = login_at_provider(&browser, authorize, "u042", &app).await;
        assert_eq!(callback.path(), "/auth/oidc/callback");
        let (status, body) = open(&browser, callback).await;
        assert_eq!(status, StatusCode::OK, "{client_id}: {body}");
        assert_eq!(
            body,
            format!(
                "signed in: member=U042 sub=u042 iss={}",
                app.provider.issuer
            ),
            "{client_id}"
        );
    }
}

#[tokio::test]
async fn a_wrong_state_is_refused() {
    let db = TestDb::sqlite().await;
    let Some(app) = start(db.store().await, "classcred-es").await else {
        return;
    };
    let browser = browser();
    let (authorize, _) = start_login(&browser, &app).await;
    let callback = login_at_provider(&browser, authorize, "U1", &app).await;
    let mut tampered = callback.clone();
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                format!("{v}x")
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(pairs);
    assert_eq!(
        open(&browser, tampered).await,
        (StatusCode::FORBIDDEN, String::from("refused: WrongState"))
    );
    // A callback with no state at all.
    let mut bare = callback.clone();
    bare.set_query(Some("code=abc"));
    // A fresh attempt cookie (the refused callback cleared the last one).
    start_login(&browser, &app).await;
    assert_eq!(
        open(&browser, bare).await,
        (StatusCode::FORBIDDEN, String::from("refused: WrongState"))
    );
}

#[tokio::test]
async fn a_replayed_state_is_refused_on_every_backend() {
    for db in TestDb::all().await {
        let b = db.backend();
        let Some(app) = start(db.store().await, "classcred-rs").await else {
            return;
        };
        let browser = browser();
        let (authorize, cookie) = start_login(&browser, &app).await;
        let callback = login_at_provider(&browser, authorize, "U7", &app).await;
        let (status, body) = open(&browser, callback.clone()).await;
        assert_eq!(status, StatusCode::OK, "{b}: {body}");
        // An attacker who captured the callback URL and the attempt cookie sends both again.
        let replay = reqwest::Client::new()
            .get(callback)
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(replay.status(), StatusCode::FORBIDDEN, "{b}");
        assert_eq!(
            replay.text().await.unwrap(),
            "refused: ReplayedState",
            "{b}"
        );
    }
}

#[tokio::test]
async fn a_callback_without_the_attempt_cookie_or_with_a_provider_error_is_refused() {
    let db = TestDb::sqlite().await;
    let Some(app) = start(db.store().await, "classcred-es").await else {
        return;
    };
    let browser = browser();
    let (authorize, cookie) = start_login(&browser, &app).await;
    let callback = login_at_provider(&browser, authorize, "U1", &app).await;
    // Another browser (no cookie) or a forged cookie cannot finish this attempt.
    let (status, body) = open(&reqwest::Client::new(), callback.clone()).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::FORBIDDEN, "refused: NoAttempt")
    );
    let forged = reqwest::Client::new()
        .get(callback.clone())
        .header(COOKIE, format!("{}A", cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.text().await.unwrap(), "refused: NoAttempt");
    // The provider reports an error (the person declined).
    let state: String = callback
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let mut declined = app.base.join("/auth/oidc/callback").unwrap();
    declined
        .query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair("state", &state);
    let (status, body) = open(&browser, declined).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::FORBIDDEN, "refused: ProviderDeclined")
    );
}

#[tokio::test]
async fn an_id_token_issued_for_another_nonce_is_refused() {
    let db = TestDb::sqlite().await;
    let Some(app) = start(db.store().await, "classcred-es").await else {
        return;
    };
    let browser = browser();
    let now = chrono::Utc::now();
    let (authorize, pending) = app.client.begin(now);
    // The authorization request is tampered with on its way: the provider sees another nonce.
    let mut tampered = authorize.clone();
    let pairs: Vec<(String, String)> = authorize
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "nonce" {
                "attacker-nonce".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(pairs);
    let callback = login_at_provider(&browser, tampered, "U1", &app).await;
    let get = |name: &str| {
        callback
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let refused = app
        .client
        .finish(&pending, &get("code"), &get("state"), now)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, OidcError::IdToken(IdTokenError::WrongNonce)),
        "{refused:?}"
    );

    // The untampered request from the same client succeeds (the test can tell them apart).
    let (authorize, pending) = app.client.begin(now);
    let callback = login_at_provider(&browser, authorize, "U1", &app).await;
    let get = |name: &str| {
        callback
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let identity = app
        .client
        .finish(&pending, &get("code"), &get("state"), now)
        .await
        .unwrap();
    assert_eq!(identity.member_claim_value, "U1");
    // The same code again: the provider refuses it (codes are single use).
    let again = app
        .client
        .finish(&pending, &get("code"), &get("state"), now)
        .await
        .unwrap_err();
    assert!(
        matches!(again, OidcError::TokenRefused { ref error } if error == "invalid_grant"),
        "{again:?}"
    );
}
