//! One login attempt: the `state`, `nonce` and PKCE verifier generated for it, and the
//! authorization URL that carries `state`, `nonce` and the S256 challenge to the provider.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long a started login may take before its callback is refused.
pub const ATTEMPT_LIFETIME: Duration = Duration::minutes(10);

/// What the relying party remembers between `/start` and `/callback`. Holds secrets (the PKCE
/// verifier, the nonce): its `Debug` shows none of them.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) pkce_verifier: String,
    /// Unix seconds.
    pub(crate) expires_at: i64,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// 256 random bits, base64url without padding (43 characters: also a valid PKCE verifier).
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl PendingLogin {
    pub(crate) fn generate(now: DateTime<Utc>) -> Self {
        Self {
            state: random_token(),
            nonce: random_token(),
            pkce_verifier: random_token(),
            expires_at: (now + ATTEMPT_LIFETIME).timestamp(),
        }
    }

    /// The `state` sent to the provider (also the key under which its single use is recorded).
    pub fn state(&self) -> &str {
        &self.state
    }

    /// When the attempt stops being accepted (Unix seconds).
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    pub(crate) fn expired(&self, now: DateTime<Utc>) -> bool {
        now.timestamp() > self.expires_at
    }

    pub(crate) fn state_matches(&self, returned: &str) -> bool {
        bool::from(self.state.as_bytes().ct_eq(returned.as_bytes()))
    }

    /// `BASE64URL(SHA256(verifier))` (RFC 7636, 4.2).
    pub(crate) fn pkce_challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.pkce_verifier.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_attempt_has_fresh_secrets_and_the_rfc_7636_challenge() {
        let now = Utc::now();
        let a = PendingLogin::generate(now);
        let b = PendingLogin::generate(now);
        assert_ne!(a.state, b.state);
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.pkce_verifier, b.pkce_verifier);
        assert_eq!(a.state.len(), 43);
        assert!(a.state_matches(&a.state));
        assert!(!a.state_matches(&b.state));
        assert!(!a.state_matches(""));
        assert!(!format!("{a:?}").contains(&a.nonce));
        // RFC 7636, appendix B.
        let rfc = PendingLogin {
            pkce_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
            ..a
        };
        assert_eq!(
            rfc.pkce_challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(!rfc.expired(now + ATTEMPT_LIFETIME));
        assert!(rfc.expired(now + ATTEMPT_LIFETIME + Duration::seconds(1)));
    }
}
