//! Dashboard login links from chat (`/cred dashboard`): single-use, 5-minute, signed.
//!
//! The token is `v1.hex(community).hex(member).expiry.nonce.mac` with
//! `mac = HMAC-SHA256(state secret, domain ‖ community ‖ member ‖ expiry ‖ nonce)` (fields
//! length-prefixed). Nothing is stored when a link is issued and the token holds only opaque
//! ids: no name, email or platform id. The dashboard verifies it with [`verify_login_token`]
//! and makes it single-use by remembering the returned nonce until `expires_at`.

use crate::oauth::StateSecret;
use classcred_store::{CommunityId, MemberRowId};
use hmac::Mac;

/// How long a login link is valid: 5 minutes.
pub const LOGIN_TTL_SECS: i64 = 300;
/// Path of the dashboard's login endpoint the links point to (`?token=…`).
pub const LOGIN_PATH: &str = "/dashboard/login";
const DOMAIN: &[u8] = b"classcred/dashboard-login/v1\0";

/// What a valid login token proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginClaims {
    /// The community the member logs in to.
    pub community_id: CommunityId,
    /// Our member id (not the Slack user id).
    pub member_id: MemberRowId,
    /// Unix seconds after which the token is refused.
    pub expires_at: i64,
    /// Random nonce (hex): remember it until `expires_at` to make the link single-use.
    pub nonce: String,
}

/// Why a login token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Not a token of ours.
    #[error("malformed login token")]
    Malformed,
    /// Altered, or signed with another secret.
    #[error("login token signature mismatch")]
    BadSignature,
    /// Older than its 5 minutes.
    #[error("login token expired")]
    Expired,
}

fn mac(
    secret: &StateSecret,
    community: &str,
    member: &str,
    expires_at: i64,
    nonce: &str,
) -> hmac::Hmac<sha2::Sha256> {
    let mut m = secret.keyed();
    m.update(DOMAIN);
    for part in [
        community.as_bytes(),
        member.as_bytes(),
        expires_at.to_string().as_bytes(),
        nonce.as_bytes(),
    ] {
        m.update(&(part.len() as u64).to_be_bytes());
        m.update(part);
    }
    m
}

/// A fresh token for `member_id` of `community_id`, valid [`LOGIN_TTL_SECS`] from `now_unix`.
pub fn issue_login_token(
    secret: &StateSecret,
    community_id: &CommunityId,
    member_id: &MemberRowId,
    now_unix: i64,
) -> String {
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let expires_at = now_unix.saturating_add(LOGIN_TTL_SECS);
    let tag = mac(
        secret,
        community_id.as_str(),
        member_id.as_str(),
        expires_at,
        &nonce,
    )
    .finalize()
    .into_bytes();
    format!(
        "v1.{}.{}.{expires_at}.{nonce}.{}",
        hex::encode(community_id.as_str()),
        hex::encode(member_id.as_str()),
        hex::encode(tag)
    )
}

/// The full login link: `{public_url}/dashboard/login?token=…`.
pub fn issue_login_link(
    secret: &StateSecret,
    public_url: &str,
    community_id: &CommunityId,
    member_id: &MemberRowId,
    now_unix: i64,
) -> String {
    format!(
        "{}{LOGIN_PATH}?token={}",
        public_url.trim_end_matches('/'),
        issue_login_token(secret, community_id, member_id, now_unix)
    )
}

/// Verifies a token from a login link.
pub fn verify_login_token(
    secret: &StateSecret,
    token: &str,
    now_unix: i64,
) -> Result<LoginClaims, LoginError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [version, community, member, exp, nonce, tag] = parts.as_slice() else {
        return Err(LoginError::Malformed);
    };
    let hexish =
        |s: &str| !s.is_empty() && s.len() <= 512 && s.bytes().all(|c| c.is_ascii_hexdigit());
    if *version != "v1"
        || !hexish(community)
        || !hexish(member)
        || nonce.len() != 32
        || !hexish(nonce)
        || tag.len() != 64
        || !hexish(tag)
        || exp.is_empty()
        || exp.len() > 15
        || !exp.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(LoginError::Malformed);
    }
    let text = |h: &str| {
        hex::decode(h)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(LoginError::Malformed)
    };
    let community_id = text(community)?;
    let member_id = text(member)?;
    let expires_at: i64 = exp.parse().map_err(|_| LoginError::Malformed)?;
    let tag = hex::decode(tag).map_err(|_| LoginError::Malformed)?;
    mac(secret, &community_id, &member_id, expires_at, nonce)
        .verify_slice(&tag)
        .map_err(|_| LoginError::BadSignature)?;
    if now_unix > expires_at {
        return Err(LoginError::Expired);
    }
    // Signed by us, so these are ids we issued; parsing them keeps the types honest.
    let community_id = CommunityId::parse(&community_id).map_err(|_| LoginError::Malformed)?;
    let member_id = MemberRowId::parse(&member_id).map_err(|_| LoginError::Malformed)?;
    Ok(LoginClaims {
        community_id,
        member_id,
        expires_at,
        nonce: (*nonce).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> StateSecret {
        StateSecret::new(b"a state secret of at least 32 bytes!".to_vec())
    }

    #[test]
    fn roundtrip_expiry_and_single_use_nonce() {
        let c = &CommunityId::parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap();
        let m = &MemberRowId::parse("0190a1b2-c3d4-7e5f-8a9b-aaaaaaaaaaaa").unwrap();
        let link = issue_login_link(&secret(), "https://cc.example.org/", c, m, 1000);
        let token = link
            .strip_prefix("https://cc.example.org/dashboard/login?token=")
            .unwrap();
        let claims = verify_login_token(&secret(), token, 1000).unwrap();
        assert_eq!(&claims.community_id, c);
        assert_eq!(&claims.member_id, m);
        assert_eq!(claims.expires_at, 1300);
        assert_eq!(claims.nonce.len(), 32);
        assert!(verify_login_token(&secret(), token, 1300).is_ok());
        assert_eq!(
            verify_login_token(&secret(), token, 1301),
            Err(LoginError::Expired)
        );
        let again = issue_login_token(&secret(), c, m, 1000);
        assert_ne!(
            verify_login_token(&secret(), &again, 1000).unwrap().nonce,
            claims.nonce,
            "every link has its own nonce"
        );
        // Nothing personal in the token: only the opaque ids, hex-encoded.
        assert!(!token.contains('@'));
    }

    #[test]
    fn a_signed_token_whose_ids_are_not_uuids_is_malformed() {
        let nonce = "0123456789abcdef0123456789abcdef";
        let tag = mac(&secret(), "c1", "m1", 2000, nonce)
            .finalize()
            .into_bytes();
        let token = format!(
            "v1.{}.{}.2000.{nonce}.{}",
            hex::encode("c1"),
            hex::encode("m1"),
            hex::encode(tag)
        );
        assert_eq!(
            verify_login_token(&secret(), &token, 1000),
            Err(LoginError::Malformed)
        );
    }

    #[test]
    fn tampering_is_refused() {
        let token = issue_login_token(
            &secret(),
            &CommunityId::parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap(),
            &MemberRowId::parse("0190a1b2-c3d4-7e5f-8a9b-aaaaaaaaaaaa").unwrap(),
            1000,
        );
        let other = StateSecret::new(b"another secret, also 32 bytes long".to_vec());
        assert_eq!(
            verify_login_token(&other, &token, 1000),
            Err(LoginError::BadSignature)
        );
        let p: Vec<&str> = token.split('.').collect();
        // Another member, a later expiry, another community: all break the MAC.
        for forged in [
            format!(
                "v1.{}.{}.{}.{}.{}",
                p[1],
                hex::encode("m2"),
                p[3],
                p[4],
                p[5]
            ),
            format!("v1.{}.{}.{}.{}.{}", p[1], p[2], 999_999, p[4], p[5]),
            format!(
                "v1.{}.{}.{}.{}.{}",
                hex::encode("c2"),
                p[2],
                p[3],
                p[4],
                p[5]
            ),
        ] {
            assert_eq!(
                verify_login_token(&secret(), &forged, 1000),
                Err(LoginError::BadSignature)
            );
        }
        for bad in [
            "",
            "v1",
            "v2.a.b.1.c.d",
            &token.replace("v1.", "v2."),
            &format!("{token}.x"),
            &format!("v1.zz.{}.{}.{}.{}", p[2], p[3], p[4], p[5]),
        ] {
            assert_eq!(
                verify_login_token(&secret(), bad, 1000),
                Err(LoginError::Malformed),
                "{bad}"
            );
        }
    }
}
