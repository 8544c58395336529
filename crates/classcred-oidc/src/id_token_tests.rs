//! ID token checks with locally generated ES256 keys (the real provider's tests, in
//! `tests/it`, cover RS256 and ES256 end to end).

use std::slice::from_ref;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{json, Value};

use super::*;

struct Signer {
    key: EncodingKey,
    jwk: Jwk,
    kid: String,
}

fn signer(kid: &str) -> Signer {
    let pair = rcgen::KeyPair::generate().unwrap();
    let raw = pair.public_key_raw();
    assert_eq!(raw.len(), 65, "uncompressed P-256 point");
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(&raw[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&raw[33..65]),
    });
    Signer {
        key: EncodingKey::from_ec_der(&pair.serialize_der()),
        jwk: serde_json::from_value(jwk).unwrap(),
        kid: kid.into(),
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap()
}

fn claims() -> Value {
    let t = now().timestamp();
    json!({
        "iss": "https://idp.example", "aud": "client-1", "sub": "sub-1",
        "iat": t, "exp": t + 300, "nonce": "n-1", "https://slack.com/user_id": "U1",
    })
}

fn sign(s: &Signer, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(s.kid.clone());
    jsonwebtoken::encode(&header, claims, &s.key).unwrap()
}

fn expected() -> Expected<'static> {
    Expected {
        issuer: "https://idp.example",
        client_id: "client-1",
        nonce: "n-1",
        member_claim: "https://slack.com/user_id",
        now: now(),
    }
}

fn with(change: &[(&str, Value)]) -> Value {
    let mut c = claims();
    for (k, v) in change {
        c[*k] = v.clone();
    }
    c
}

#[test]
fn a_good_token_gives_the_identity() {
    let s = signer("k1");
    let id = validate(&sign(&s, &claims()), from_ref(&s.jwk), &expected()).unwrap();
    assert_eq!(
        id,
        VerifiedIdentity {
            issuer: "https://idp.example".into(),
            subject: "sub-1".into(),
            member_claim_value: "U1".into(),
        }
    );
    // Several audiences are fine when azp names this client.
    let multi = with(&[
        ("aud", json!(["other", "client-1"])),
        ("azp", json!("client-1")),
    ]);
    assert!(validate(&sign(&s, &multi), from_ref(&s.jwk), &expected()).is_ok());
}

#[test]
fn every_broken_claim_is_refused_for_its_reason() {
    let s = signer("k1");
    let t = now().timestamp();
    let cases: Vec<(Value, IdTokenError)> = vec![
        (
            with(&[("iss", json!("https://evil.example"))]),
            IdTokenError::WrongIssuer,
        ),
        (
            with(&[("aud", json!("client-2"))]),
            IdTokenError::WrongAudience,
        ),
        (
            with(&[("aud", json!(["client-2", "client-3"]))]),
            IdTokenError::WrongAudience,
        ),
        (
            with(&[("azp", json!("client-2"))]),
            IdTokenError::WrongAuthorizedParty,
        ),
        (
            with(&[("aud", json!(["client-1", "other"]))]),
            IdTokenError::WrongAuthorizedParty,
        ),
        (with(&[("nonce", json!("n-2"))]), IdTokenError::WrongNonce),
        (with(&[("nonce", Value::Null)]), IdTokenError::WrongNonce),
        (
            with(&[("exp", json!(t - LEEWAY_SECONDS - 1))]),
            IdTokenError::Expired,
        ),
        (
            with(&[("iat", json!(t + LEEWAY_SECONDS + 1))]),
            IdTokenError::BadIssuedAt,
        ),
        (
            with(&[("nbf", json!(t + LEEWAY_SECONDS + 1))]),
            IdTokenError::NotYetValid,
        ),
        (with(&[("sub", json!(""))]), IdTokenError::MissingSubject),
        (
            with(&[("https://slack.com/user_id", json!(42))]),
            IdTokenError::MissingMemberClaim,
        ),
    ];
    for (claims, reason) in cases {
        let got = validate(&sign(&s, &claims), from_ref(&s.jwk), &expected());
        assert_eq!(got, Err(reason), "{claims}");
    }
    // Within the leeway, times pass.
    let late = with(&[("exp", json!(t - LEEWAY_SECONDS + 1))]);
    assert!(validate(&sign(&s, &late), from_ref(&s.jwk), &expected()).is_ok());
}

#[test]
fn signatures_are_checked_against_the_key_the_kid_names() {
    let s1 = signer("k1");
    let s2 = signer("k2");
    let token = sign(&s1, &claims());
    // Key rotated away: the kid is unknown.
    assert_eq!(
        validate(&token, from_ref(&s2.jwk), &expected()),
        Err(IdTokenError::UnknownKey)
    );
    // After rotation both keys are published: the kid picks the right one.
    assert!(validate(&token, &[s2.jwk.clone(), s1.jwk.clone()], &expected()).is_ok());
    // Another key under the same kid: the signature does not verify.
    let forged = signer("k1");
    assert_eq!(
        validate(&sign(&forged, &claims()), from_ref(&s1.jwk), &expected()),
        Err(IdTokenError::BadSignature)
    );
    // A changed payload under the original signature.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(with(&[("sub", json!("sub-2"))]).to_string());
    assert_eq!(
        validate(&parts.join("."), from_ref(&s1.jwk), &expected()),
        Err(IdTokenError::BadSignature)
    );
}

#[test]
fn other_algorithms_and_garbage_are_refused() {
    let s = signer("k1");
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"shared"),
    )
    .unwrap();
    assert_eq!(
        validate(&hs, from_ref(&s.jwk), &expected()),
        Err(IdTokenError::UnsupportedAlgorithm)
    );
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );
    assert_eq!(
        validate(&none, from_ref(&s.jwk), &expected()),
        Err(IdTokenError::Malformed)
    );
    assert_eq!(
        validate("x.y", from_ref(&s.jwk), &expected()),
        Err(IdTokenError::Malformed)
    );
}

#[test]
fn jwks_parsing_keeps_signing_keys_only() {
    let s = signer("k1");
    let mut enc = serde_json::to_value(&s.jwk).unwrap();
    enc["use"] = json!("enc");
    enc["kid"] = json!("k-enc");
    let doc = json!({ "keys": [serde_json::to_value(&s.jwk).unwrap(), enc, { "kty": "weird" }] });
    let keys = parse_jwks(&doc);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].common.key_id.as_deref(), Some("k1"));
}
