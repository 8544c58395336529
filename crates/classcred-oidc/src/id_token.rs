//! ID token validation (OpenID Connect Core 1.0, 3.1.3.7): signature with a key of the
//! provider's JWKS (by `kid`; RS256 or ES256 only), `iss`, `aud`, `azp`, `exp`/`iat`/`nbf` with
//! a small leeway against the caller's clock, the attempt's `nonce`, and the member claim.

use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::VerifiedIdentity;

/// Clock skew tolerated on `exp`, `iat` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: i64 = 60;

/// Why an ID token was refused. Carries no claim values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("not a well-formed signed JWT")]
    Malformed,
    #[error("signed with an algorithm other than RS256 or ES256")]
    UnsupportedAlgorithm,
    #[error("no key of the provider's JWKS matches the token's kid and algorithm")]
    UnknownKey,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("issued by another issuer")]
    WrongIssuer,
    #[error("issued for another audience")]
    WrongAudience,
    #[error("issued to another authorized party (azp)")]
    WrongAuthorizedParty,
    #[error("expired")]
    Expired,
    #[error("issued in the future, or without iat")]
    BadIssuedAt,
    #[error("not valid yet (nbf)")]
    NotYetValid,
    #[error("the nonce is not this attempt's")]
    WrongNonce,
    #[error("no subject")]
    MissingSubject,
    #[error("the member claim is missing or not a string")]
    MissingMemberClaim,
}

/// What the token must say, for one login attempt.
pub(crate) struct Expected<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) nonce: &'a str,
    pub(crate) member_claim: &'a str,
    pub(crate) now: DateTime<Utc>,
}

/// Parse a JWKS leniently: keys this crate cannot use (encryption keys, other types) are left
/// out instead of failing the whole set.
pub(crate) fn parse_jwks(doc: &Value) -> Vec<Jwk> {
    doc.get("keys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                .filter(|k| !matches!(k.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature))
                .collect()
        })
        .unwrap_or_default()
}

/// The token's `kid`, if it has one (to decide whether a JWKS refresh may help).
pub(crate) fn key_id(token: &str) -> Result<Option<String>, IdTokenError> {
    Ok(jsonwebtoken::decode_header(token)
        .map_err(|_| IdTokenError::Malformed)?
        .kid)
}

fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let type_fits = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        _ => false,
    };
    let alg_fits = jwk
        .common
        .key_algorithm
        .as_ref()
        .is_none_or(|a| format!("{a:?}") == format!("{alg:?}"));
    type_fits && alg_fits
}

/// Validate `token` against `keys` and `expected`.
pub(crate) fn validate(
    token: &str,
    keys: &[Jwk],
    expected: &Expected<'_>,
) -> Result<VerifiedIdentity, IdTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(IdTokenError::UnsupportedAlgorithm);
    }
    let candidates: Vec<&Jwk> = keys
        .iter()
        .filter(|k| match &header.kid {
            Some(kid) => k.common.key_id.as_deref() == Some(kid.as_str()),
            None => true,
        })
        .filter(|k| fits(k, header.alg))
        .collect();
    if candidates.is_empty() {
        return Err(IdTokenError::UnknownKey);
    }
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.client_id]);
    // Times are checked below against the caller's clock, presence of claims too.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims.clear();
    let mut last = IdTokenError::BadSignature;
    for jwk in candidates {
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        match jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation) {
            Ok(data) => return check_claims(&data.claims, expected),
            Err(e) => {
                use jsonwebtoken::errors::ErrorKind;
                last = match e.kind() {
                    ErrorKind::InvalidSignature => IdTokenError::BadSignature,
                    ErrorKind::InvalidIssuer => return Err(IdTokenError::WrongIssuer),
                    ErrorKind::InvalidAudience => return Err(IdTokenError::WrongAudience),
                    _ => IdTokenError::Malformed,
                };
            }
        }
    }
    Err(last)
}

fn seconds(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    let v = claims.get(name)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

fn check_claims(
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<VerifiedIdentity, IdTokenError> {
    // jsonwebtoken checked iss and aud when present; both are required here.
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(IdTokenError::WrongIssuer)?;
    if issuer != expected.issuer {
        return Err(IdTokenError::WrongIssuer);
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(IdTokenError::WrongAudience);
    }
    match claims.get("azp").map(Value::as_str) {
        Some(Some(azp)) if azp == expected.client_id => {}
        Some(_) => return Err(IdTokenError::WrongAuthorizedParty),
        // Several audiences and no azp: nothing says the token was issued to this client.
        None if audiences.len() > 1 => return Err(IdTokenError::WrongAuthorizedParty),
        None => {}
    }
    let now = expected.now.timestamp();
    let exp = seconds(claims, "exp").ok_or(IdTokenError::Expired)?;
    if now > exp + LEEWAY_SECONDS {
        return Err(IdTokenError::Expired);
    }
    let iat = seconds(claims, "iat").ok_or(IdTokenError::BadIssuedAt)?;
    if iat > now + LEEWAY_SECONDS {
        return Err(IdTokenError::BadIssuedAt);
    }
    if seconds(claims, "nbf").is_some_and(|nbf| nbf > now + LEEWAY_SECONDS) {
        return Err(IdTokenError::NotYetValid);
    }
    let nonce = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
    if !bool::from(nonce.as_bytes().ct_eq(expected.nonce.as_bytes())) {
        return Err(IdTokenError::WrongNonce);
    }
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(IdTokenError::MissingSubject)?;
    let member_claim_value = claims
        .get(expected.member_claim)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(IdTokenError::MissingMemberClaim)?;
    Ok(VerifiedIdentity {
        issuer: issuer.to_string(),
        subject: subject.to_string(),
        member_claim_value: member_claim_value.to_string(),
    })
}

#[cfg(test)]
#[path = "id_token_tests.rs"]
mod tests;
