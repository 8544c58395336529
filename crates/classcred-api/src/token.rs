//! API tokens: `ccapi_` followed by 43 base64url characters (32 random bytes). Only the
//! SHA-256 of the whole token is stored; a request's token is found by looking its hash up
//! (an indexed equality match), so no comparison ever runs against the secret itself.
//! Creating and revoking a token are audited.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use classcred_store::audit::AuditRecord;
use classcred_store::{ApiTokenRecord, CommunityId, Store, StoreError};
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// What every token starts with, so a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "ccapi_";
const SECRET_BYTES: usize = 32;
/// Base64url (no padding) length of [`SECRET_BYTES`].
const SECRET_CHARS: usize = 43;

/// An API token as presented by a client or just generated. Never printed by `Debug`.
#[derive(Debug)]
pub struct ApiToken(SecretString);

impl ApiToken {
    /// A new random token.
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(SecretString::from(format!(
            "{TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    /// A token presented by a client: `None` unless it has the token's shape (prefix, length,
    /// alphabet), so garbage is refused before any database lookup.
    pub fn parse(presented: &str) -> Option<Self> {
        let secret = presented.strip_prefix(TOKEN_PREFIX)?;
        let shaped = secret.len() == SECRET_CHARS
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        shaped.then(|| Self(SecretString::from(presented.to_string())))
    }

    /// Lowercase hex SHA-256 of the whole token: what the store keeps and looks up.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.expose_secret().as_bytes()))
    }

    /// The token text, to show once to whoever created it.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

/// Create a token for `community_id` labelled `name`, recording `actor` (e.g. `operator:cli`)
/// in the audit log. Returns the stored record and the token, which exists nowhere else.
pub async fn create_token(
    store: &Store,
    community_id: &CommunityId,
    name: &str,
    actor: &str,
) -> Result<(ApiTokenRecord, ApiToken), StoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(StoreError::Invalid(
            "a token name must have 1 to 100 characters".into(),
        ));
    }
    let token = ApiToken::generate();
    let mut tx = store.begin().await?;
    // Fails with NotFound for an unknown community before anything is written.
    tx.community(community_id).await?;
    let record = tx
        .for_community(community_id)
        .insert_api_token(name, &token.hash())
        .await?;
    tx.audit(&AuditRecord {
        community_id: Some(community_id.clone()),
        actor: actor.to_string(),
        action: "api_token.create".into(),
        subject: Some(format!("api_token:{}", record.id)),
        details: serde_json::json!({}),
    })
    .await?;
    tx.commit().await?;
    Ok((record, token))
}

/// Revoke a live token of `community_id`; `false` (nothing written) when the community has
/// no live token with that id.
pub async fn revoke_token(
    store: &Store,
    community_id: &CommunityId,
    token_id: &str,
    actor: &str,
) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    if !tx
        .for_community(community_id)
        .revoke_api_token(token_id)
        .await?
    {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.audit(&AuditRecord {
        community_id: Some(community_id.clone()),
        actor: actor.to_string(),
        action: "api_token.revoke".into(),
        subject: Some(format!("api_token:{token_id}")),
        details: serde_json::json!({}),
    })
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A community's tokens (never their secrets), oldest first.
pub async fn list_tokens(
    store: &Store,
    community_id: &CommunityId,
) -> Result<Vec<ApiTokenRecord>, StoreError> {
    let mut tx = store.begin().await?;
    tx.community(community_id).await?;
    let tokens = tx.for_community(community_id).list_api_tokens().await?;
    tx.commit().await?;
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_differ() {
        let a = ApiToken::generate();
        let b = ApiToken::generate();
        let text = a.secret().expose_secret();
        assert!(text.starts_with(TOKEN_PREFIX));
        assert_eq!(text.len(), TOKEN_PREFIX.len() + SECRET_CHARS);
        assert_ne!(text, b.secret().expose_secret());
        let parsed = ApiToken::parse(text).unwrap();
        assert_eq!(parsed.hash(), a.hash());
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash().len(), 64);
    }

    #[test]
    fn malformed_tokens_are_refused_without_lookup() {
        let good = ApiToken::generate();
        let text = good.secret().expose_secret();
        for bad in [
            "",
            "ccapi_",
            &text[TOKEN_PREFIX.len()..],
            &text[..text.len() - 1],
            &format!("{text}A"),
            &format!("xxapi_{}", &text[TOKEN_PREFIX.len()..]),
            &format!("{}!", &text[..text.len() - 1]),
        ] {
            assert!(ApiToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_does_not_print_the_token() {
        let t = ApiToken::generate();
        assert!(!format!("{t:?}").contains(t.secret().expose_secret()));
    }
}
