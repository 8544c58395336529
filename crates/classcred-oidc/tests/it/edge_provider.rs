//! What the real provider cannot be made to do on demand, with a small provider served
//! in-process on loopback: keys rotated after discovery, `client_secret_post`, endpoints on
//! another origin, oversized and redirected answers.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use classcred_oidc::{IdTokenError, OidcClient, OidcError};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use url::Url;

use crate::app::config;

struct Key {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

fn key(kid: &str) -> Key {
    let pair = rcgen::KeyPair::generate().unwrap();
    let raw = pair.public_key_raw();
    Key {
        kid: kid.into(),
        encoding: EncodingKey::from_ec_der(&pair.serialize_der()),
        jwk: json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&raw[1..33]), "y": URL_SAFE_NO_PAD.encode(&raw[33..65]),
        }),
    }
}

#[derive(Default)]
struct Idp {
    issuer: String,
    discovery: Value,
    published: Vec<Value>,
    signing: Option<Key>,
    nonce: String,
    token_requests: Vec<Vec<(String, String)>>,
    jwks_fetches: usize,
}

type Shared = Arc<Mutex<Idp>>;

async fn discovery(State(idp): State<Shared>) -> Response {
    let doc = idp.lock().unwrap().discovery.clone();
    match doc.get("redirect_to").and_then(Value::as_str) {
        Some(to) => (StatusCode::FOUND, [("location", to.to_string())]).into_response(),
        None => Json(doc).into_response(),
    }
}

async fn jwks(State(idp): State<Shared>) -> Json<Value> {
    let mut idp = idp.lock().unwrap();
    idp.jwks_fetches += 1;
    Json(json!({ "keys": idp.published }))
}

async fn token(State(idp): State<Shared>, Form(form): Form<Vec<(String, String)>>) -> Json<Value> {
    let mut idp = idp.lock().unwrap();
    idp.token_requests.push(form);
    let signing = idp.signing.as_ref().unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": idp.issuer, "aud": "rp", "sub": "s-1", "iat": now, "exp": now + 300,
        "nonce": idp.nonce, "oid": "00000000-0000-0000-0000-000000000042",
    });
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(signing.kid.clone());
    let id_token = jsonwebtoken::encode(&header, &claims, &signing.encoding).unwrap();
    Json(json!({ "access_token": "at", "token_type": "Bearer", "id_token": id_token }))
}

/// Serve the provider; `discovery` gets the issuer and returns the discovery document.
async fn serve(discovery_doc: impl Fn(&str) -> Value) -> (String, Shared) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let idp = Arc::new(Mutex::new(Idp {
        discovery: discovery_doc(&issuer),
        issuer: issuer.clone(),
        ..Idp::default()
    }));
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .with_state(idp.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (issuer, idp)
}

fn document(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
    })
}

fn base() -> Url {
    Url::parse("https://classcred.example.edu").unwrap()
}

#[tokio::test]
async fn keys_rotated_after_discovery_are_fetched_again_but_not_for_every_unknown_kid() {
    let (issuer, idp) = serve(document).await;
    let (k2, k3) = (key("k2"), key("k3"));
    idp.lock().unwrap().published = vec![key("k1").jwk];
    let mut cfg = config(&issuer, "rp");
    cfg.member_claim = "oid".into();
    let client = OidcClient::discover(cfg, &base()).await.unwrap();
    assert_eq!(idp.lock().unwrap().jwks_fetches, 1);

    // The provider rotates: k1 is gone, tokens are signed with k2.
    {
        let mut idp = idp.lock().unwrap();
        idp.published = vec![k2.jwk.clone()];
        idp.signing = Some(k2);
    }
    let now = chrono::Utc::now();
    let (authorize, pending) = client.begin(now);
    let param = |name: &str| {
        authorize
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    idp.lock().unwrap().nonce = param("nonce");
    let identity = client
        .finish(&pending, "code-1", &param("state"), now)
        .await
        .unwrap();
    assert_eq!(
        identity.member_claim_value,
        "00000000-0000-0000-0000-000000000042"
    );
    assert_eq!(idp.lock().unwrap().jwks_fetches, 2);

    // The token request: client_secret_post (all the document offers), the code, the redirect
    // URI and the verifier whose S256 is the challenge sent.
    let form = idp.lock().unwrap().token_requests[0].clone();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(field("client_id").as_deref(), Some("rp"));
    assert_eq!(field("client_secret").as_deref(), Some("test-secret"));
    assert_eq!(field("code").as_deref(), Some("code-1"));
    assert_eq!(field("grant_type").as_deref(), Some("authorization_code"));
    assert_eq!(
        field("redirect_uri").as_deref(),
        Some("https://classcred.example.edu/auth/oidc/callback")
    );
    let verifier = field("code_verifier").unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        param("code_challenge")
    );

    // A token under a kid nobody published, right after: no new fetch, refused.
    idp.lock().unwrap().signing = Some(k3);
    let (authorize, pending) = client.begin(now);
    let state = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    idp.lock().unwrap().nonce = authorize
        .query_pairs()
        .find(|(k, _)| k == "nonce")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let err = client
        .finish(&pending, "code-2", &state, now)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::IdToken(IdTokenError::UnknownKey)),
        "{err:?}"
    );
    assert_eq!(idp.lock().unwrap().jwks_fetches, 2);
}

#[tokio::test]
async fn endpoints_on_another_origin_are_refused() {
    for (field, what) in [
        ("jwks_uri", "jwks_uri"),
        ("token_endpoint", "token_endpoint"),
        ("authorization_endpoint", "authorization_endpoint"),
    ] {
        let (issuer, idp) = serve(move |issuer| {
            let mut doc = document(issuer);
            // The same host on another port is another origin.
            doc[field] = json!("http://127.0.0.1:9/elsewhere");
            doc
        })
        .await;
        idp.lock().unwrap().published = vec![key("k1").jwk];
        let err = OidcClient::discover(config(&issuer, "rp"), &base())
            .await
            .unwrap_err();
        assert!(
            matches!(err, OidcError::ForeignOrigin { what: w } if w == what),
            "{field}: {err:?}"
        );
        assert_eq!(idp.lock().unwrap().jwks_fetches, 0, "{field}");
    }
}

#[tokio::test]
async fn oversized_redirected_or_incomplete_documents_are_refused() {
    let (issuer, _) = serve(|issuer| {
        let mut doc = document(issuer);
        doc["padding"] = json!("x".repeat(classcred_oidc::MAX_BODY_BYTES));
        doc
    })
    .await;
    let err = OidcClient::discover(config(&issuer, "rp"), &base())
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::TooLarge { .. }), "{err:?}");

    // A redirect is not followed (it could lead off the issuer's origin).
    let (issuer, _) =
        serve(|_| json!({ "redirect_to": "http://127.0.0.1:9/.well-known/openid-configuration" }))
            .await;
    let err = OidcClient::discover(config(&issuer, "rp"), &base())
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::Status { status: 302, .. }),
        "{err:?}"
    );

    // No PKCE S256 on offer.
    let (issuer, _) = serve(|issuer| {
        let mut doc = document(issuer);
        doc["code_challenge_methods_supported"] = json!(["plain"]);
        doc
    })
    .await;
    let err = OidcClient::discover(config(&issuer, "rp"), &base())
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::Metadata(_)), "{err:?}");
}
