//! Slack request signatures (`v0`): verifying that a request came from Slack.
//!
//! Slack signs every Events API, slash-command and interactivity request with the app's signing
//! secret: `X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + raw_body))` and
//! `X-Slack-Request-Timestamp: <unix seconds>`. The key is the secret's UTF-8 bytes (never
//! hex- or base64-decoded), the body is the raw bytes before any parsing, the comparison is
//! constant-time, and a timestamp more than 300 s away from now (either direction) is refused.
//!
//! The only unsigned Slack request is a slash-command `ssl_check=1`
//! ([`crate::command::is_ssl_check`]). Everything else must pass [`verify`] before it is parsed.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::fmt;

/// Header carrying the request's Unix timestamp (lower-case, as HTTP libraries normalise it).
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// Header carrying `v0=<hex signature>`.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// Largest accepted distance between the request timestamp and now, in seconds (Slack's rule;
/// exactly 300 s is accepted, 301 s is not).
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// The app's signing secret. Never printed: `Debug` shows a placeholder.
#[derive(Clone)]
pub struct SigningSecret(SecretString);

impl SigningSecret {
    /// Wraps a signing secret as it appears in the Slack app settings.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(SecretString::from(secret.into()))
    }

    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(self.0.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length")
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret([REDACTED])")
    }
}

/// Why a request's signature was refused. Every variant means "answer 401".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A required header is absent (the header's name is given).
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// The timestamp header is not a decimal integer.
    #[error("bad request timestamp")]
    BadTimestamp,
    /// The timestamp is more than [`MAX_CLOCK_SKEW_SECS`] away from now.
    #[error("stale request timestamp ({skew_secs} s from now)")]
    Stale {
        /// `now - timestamp` (negative when the timestamp is in the future).
        skew_secs: i64,
    },
    /// The signature header is not `v0=` followed by 64 hex digits.
    #[error("malformed signature header")]
    MalformedSignature,
    /// The signature does not match the body.
    #[error("signature mismatch")]
    Mismatch,
}

fn parse_timestamp(ts: &str) -> Result<i64, SignatureError> {
    if ts.is_empty() || ts.len() > 15 || !ts.bytes().all(|c| c.is_ascii_digit()) {
        return Err(SignatureError::BadTimestamp);
    }
    ts.parse().map_err(|_| SignatureError::BadTimestamp)
}

fn mac_for(secret: &SigningSecret, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = secret.mac();
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The signature headers, checked before the body is read: present, well-formed and fresh.
#[derive(Debug, Clone)]
pub struct SignedHeaders {
    timestamp: String,
    expected: Vec<u8>,
}

impl SignedHeaders {
    /// Checks the raw values of [`TIMESTAMP_HEADER`] and [`SIGNATURE_HEADER`] (`None` when
    /// absent) against the caller's clock, without the body.
    pub fn check(
        timestamp: Option<&str>,
        signature: Option<&str>,
        now_unix: i64,
    ) -> Result<Self, SignatureError> {
        let timestamp = timestamp.ok_or(SignatureError::MissingHeader(TIMESTAMP_HEADER))?;
        let signature = signature.ok_or(SignatureError::MissingHeader(SIGNATURE_HEADER))?;
        let ts = parse_timestamp(timestamp.trim())?;
        let skew_secs = now_unix.saturating_sub(ts);
        if skew_secs.unsigned_abs() > MAX_CLOCK_SKEW_SECS.unsigned_abs() {
            return Err(SignatureError::Stale { skew_secs });
        }
        let hex_sig = signature
            .trim()
            .strip_prefix("v0=")
            .ok_or(SignatureError::MalformedSignature)?;
        if hex_sig.len() != 64 {
            return Err(SignatureError::MalformedSignature);
        }
        let expected = hex::decode(hex_sig).map_err(|_| SignatureError::MalformedSignature)?;
        Ok(Self {
            timestamp: timestamp.trim().to_owned(),
            expected,
        })
    }

    /// Verifies the body against the checked headers (constant-time comparison).
    pub fn verify_body(&self, secret: &SigningSecret, body: &[u8]) -> Result<(), SignatureError> {
        mac_for(secret, &self.timestamp, body)
            .verify_slice(&self.expected)
            .map_err(|_| SignatureError::Mismatch)
    }
}

/// Verifies a Slack request.
///
/// `timestamp` and `signature` are the raw values of [`TIMESTAMP_HEADER`] and
/// [`SIGNATURE_HEADER`] (`None` when absent); `body` is the raw request body; `now_unix` is the
/// current time from the caller's clock. The HTTP layer runs the two halves separately
/// ([`SignedHeaders::check`] before reading the body, then [`SignedHeaders::verify_body`]).
pub fn verify(
    secret: &SigningSecret,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), SignatureError> {
    SignedHeaders::check(timestamp, signature, now_unix)?.verify_body(secret, body)
}

/// Computes the `X-Slack-Signature` value for a body, as Slack would. Used by tests and by
/// tooling that replays recorded requests; the server itself only verifies.
pub fn sign(secret: &SigningSecret, timestamp: &str, body: &[u8]) -> String {
    let tag = mac_for(secret, timestamp, body).finalize().into_bytes();
    format!("v0={}", hex::encode(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's published test vector (PLATFORMS.md §1.1).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const NOW: i64 = 1_531_420_618;

    fn secret() -> SigningSecret {
        SigningSecret::new(SECRET)
    }

    #[test]
    fn official_vector_signs_and_verifies() {
        assert_eq!(sign(&secret(), TS, BODY.as_bytes()), SIG);
        assert_eq!(
            verify(&secret(), Some(TS), Some(SIG), BODY.as_bytes(), NOW),
            Ok(())
        );
    }

    #[test]
    fn clock_skew_boundaries() {
        let ok = |now| verify(&secret(), Some(TS), Some(SIG), BODY.as_bytes(), now);
        assert_eq!(ok(NOW + 300), Ok(()));
        assert_eq!(ok(NOW - 300), Ok(()));
        assert_eq!(ok(NOW + 301), Err(SignatureError::Stale { skew_secs: 301 }));
        assert_eq!(
            ok(NOW - 301),
            Err(SignatureError::Stale { skew_secs: -301 })
        );
    }

    #[test]
    fn tampering_and_missing_headers() {
        let mut body = BODY.as_bytes().to_vec();
        body[10] ^= 1;
        assert_eq!(
            verify(&secret(), Some(TS), Some(SIG), &body, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                &SigningSecret::new("other"),
                Some(TS),
                Some(SIG),
                BODY.as_bytes(),
                NOW
            ),
            Err(SignatureError::Mismatch)
        );
        // Same signature, other timestamp inside the window: the timestamp is signed too.
        assert_eq!(
            verify(
                &secret(),
                Some("1531420619"),
                Some(SIG),
                BODY.as_bytes(),
                NOW
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&secret(), None, Some(SIG), BODY.as_bytes(), NOW),
            Err(SignatureError::MissingHeader(TIMESTAMP_HEADER))
        );
        assert_eq!(
            verify(&secret(), Some(TS), None, BODY.as_bytes(), NOW),
            Err(SignatureError::MissingHeader(SIGNATURE_HEADER))
        );
    }

    #[test]
    fn malformed_inputs_are_typed_errors() {
        let v = |ts: &str, sig: &str| verify(&secret(), Some(ts), Some(sig), b"", NOW);
        for ts in [
            "",
            "abc",
            "-5",
            "+1531420618",
            "1531420618.5",
            "99999999999999999999",
        ] {
            assert_eq!(v(ts, SIG), Err(SignatureError::BadTimestamp), "{ts:?}");
        }
        for sig in [
            "",
            "v0=",
            "v1=abcd",
            "a2114d57",
            &SIG.replace("v0=", "v0=zz")[..67],
        ] {
            assert_eq!(
                v(TS, sig),
                Err(SignatureError::MalformedSignature),
                "{sig:?}"
            );
        }
        // Non-UTF-8 bodies are just bytes here: they fail (or pass) on the MAC alone.
        let sig = sign(&secret(), TS, &[0xff, 0xfe]);
        assert_eq!(
            verify(&secret(), Some(TS), Some(&sig), &[0xff, 0xfe], NOW),
            Ok(())
        );
    }

    #[test]
    fn secret_is_not_printed() {
        assert_eq!(format!("{:?}", secret()), "SigningSecret([REDACTED])");
    }
}
