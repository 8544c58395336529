//! The relying party served in-process on port 0 with a recording hook, and a "browser" (an
//! HTTP client that keeps cookies and follows redirects one by one) that walks the provider's
//! automatic login.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use classcred_oidc::routes::{router, OidcRoutes, SignInHook, SignInRefusal};
use classcred_oidc::{OidcClient, OidcConfig, VerifiedIdentity};
use classcred_store::Store;
use reqwest::header::{LOCATION, SET_COOKIE};
use secrecy::{SecretBox, SecretString};
use tokio::net::TcpListener;
use url::Url;

use crate::provider::{self, Provider};

/// Answers what it was told, so tests read the outcome from the response.
#[derive(Clone)]
pub struct EchoHook;

impl SignInHook for EchoHook {
    async fn signed_in(&self, identity: VerifiedIdentity) -> Response {
        let VerifiedIdentity {
            issuer,
            subject,
            member_claim_value,
        } = identity;
        format!("signed in: member={member_claim_value} sub={subject} iss={issuer}").into_response()
    }

    fn refused(&self, refusal: SignInRefusal) -> Response {
        (StatusCode::FORBIDDEN, format!("refused: {refusal:?}")).into_response()
    }
}

pub struct App {
    pub base: Url,
    pub client: Arc<OidcClient>,
    pub provider: Provider,
}

pub fn config(issuer: &str, client_id: &str) -> OidcConfig {
    OidcConfig {
        scopes: vec!["openid".into(), "slack".into()],
        member_claim: "https://slack.com/user_id".into(),
        ..OidcConfig::new(issuer, client_id, SecretString::from("test-secret"))
    }
}

/// Start the provider and the relying party (client `client_id` of the provider). `None` when
/// the provider is not installed here (the test is skipped, loudly).
pub async fn start(store: Store, client_id: &str) -> Option<App> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let provider = provider::start(base.join("/auth/oidc/callback").unwrap().as_str()).await?;
    let client = Arc::new(
        OidcClient::discover(config(&provider.issuer, client_id), &base)
            .await
            .unwrap(),
    );
    let routes = OidcRoutes {
        client: client.clone(),
        store,
        cookie_key: Arc::new(SecretBox::new(Box::new([7u8; 32]))),
        secure_cookie: false,
        hook: EchoHook,
    };
    let app: axum::Router = router(routes);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Some(App {
        base,
        client,
        provider,
    })
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(from: &Url, response: &reqwest::Response) -> Url {
    assert!(
        response.status().is_redirection(),
        "{from} answered {}",
        response.status()
    );
    let to = response.headers()[LOCATION].to_str().unwrap();
    from.join(to).unwrap()
}

/// Log in at the provider as `account` from `authorize`; returns the URL the provider sends
/// the browser back to (our callback with `code` and `state`), without opening it.
pub async fn login_at_provider(
    browser: &reqwest::Client,
    authorize: Url,
    account: &str,
    app: &App,
) -> Url {
    let mut url = authorize;
    url.query_pairs_mut().append_pair("login_hint", account);
    for _ in 0..10 {
        let response = browser.get(url.clone()).send().await.unwrap();
        let next = location(&url, &response);
        if next.origin() == app.base.origin() {
            return next;
        }
        url = next;
    }
    panic!("the provider did not send the browser back within 10 redirects");
}

/// Open `/auth/oidc/start`: the authorization URL and the attempt cookie (`name=value`).
pub async fn start_login(browser: &reqwest::Client, app: &App) -> (Url, String) {
    let start = app.base.join("/auth/oidc/start").unwrap();
    let response = browser.get(start.clone()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/auth/oidc/callback",
        "Max-Age=600",
    ] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_string();
    (location(&start, &response), pair)
}

/// GET `url` and return status and body.
pub async fn open(browser: &reqwest::Client, url: Url) -> (StatusCode, String) {
    let response = browser.get(url).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}
