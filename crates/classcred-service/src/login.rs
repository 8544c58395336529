//! Dashboard login links: single-use, 5-minute, signed with the master key's login key.
//!
//! The token is `v1.hex(community).hex(member).expiry.nonce.mac` with
//! `mac = HMAC-SHA256(login key, domain ‖ community ‖ member ‖ expiry ‖ nonce)` (fields
//! length-prefixed). Nothing is stored when a link is issued and the token holds only opaque
//! ids: no name, email or platform id. [`consume_login_token`] verifies a token and remembers its
//! nonce (`login:` prefix, [`Tx::consume_nonce`]) in the caller's transaction, the one that also
//! creates the session, so a link signs in at most once. Platform-neutral: Slack's
//! `/cred dashboard`, `classcred admin login-link` and the demo all issue links here.

use classcred_crypto::LoginKey;
use classcred_store::{CommunityId, MemberRowId, Role, Tx};

/// How long a login link is valid: 5 minutes.
pub const LOGIN_TTL_SECS: i64 = 300;
/// Path of the dashboard's login endpoint the links point to (`?token=…`).
pub const LOGIN_PATH: &str = "/dashboard/login";
const DOMAIN: &[u8] = b"classcred/dashboard-login/v1";
/// Prefix of login nonces among the single-use nonces (OAuth states use none).
const NONCE_PREFIX: &str = "login:";

/// What a valid login token proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginClaims {
    /// The community the member logs in to.
    pub community_id: CommunityId,
    /// Our member id (not a platform user id).
    pub member_id: MemberRowId,
    /// Unix seconds after which the token is refused.
    pub expires_at: i64,
    /// Random nonce (hex), remembered until `expires_at` to make the link single-use.
    pub nonce: String,
}

/// A consumed login link: who signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub community_id: CommunityId,
    pub member_id: MemberRowId,
    /// The member's role now (not when the link was issued).
    pub role: Role,
}

/// Why a login token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Not a token of ours.
    #[error("malformed login token")]
    Malformed,
    /// Altered, or signed with another key.
    #[error("login token signature mismatch")]
    BadSignature,
    /// Older than its 5 minutes.
    #[error("login token expired")]
    Expired,
    /// Used before: links sign in once.
    #[error("login token already used")]
    Reused,
    /// The member is not (or no longer) a member of the token's community.
    #[error("login token names no member of its community")]
    UnknownMember,
}

fn tag(key: &LoginKey, community: &str, member: &str, expires_at: i64, nonce: &str) -> [u8; 32] {
    key.tag(&parts(community, member, &expires_at.to_string(), nonce))
}

fn parts<'a>(community: &'a str, member: &'a str, exp: &'a str, nonce: &'a str) -> [&'a [u8]; 5] {
    [
        DOMAIN,
        community.as_bytes(),
        member.as_bytes(),
        exp.as_bytes(),
        nonce.as_bytes(),
    ]
}

/// A fresh token for `member_id` of `community_id`, valid [`LOGIN_TTL_SECS`] from `now_unix`.
pub fn issue_login_token(
    key: &LoginKey,
    community_id: &CommunityId,
    member_id: &MemberRowId,
    now_unix: i64,
) -> String {
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let expires_at = now_unix.saturating_add(LOGIN_TTL_SECS);
    let mac = tag(
        key,
        community_id.as_str(),
        member_id.as_str(),
        expires_at,
        &nonce,
    );
    format!(
        "v1.{}.{}.{expires_at}.{nonce}.{}",
        hex::encode(community_id.as_str()),
        hex::encode(member_id.as_str()),
        hex::encode(mac)
    )
}

/// The full login link: `{public_url}/dashboard/login?token=…`.
pub fn issue_login_link(
    key: &LoginKey,
    public_url: &str,
    community_id: &CommunityId,
    member_id: &MemberRowId,
    now_unix: i64,
) -> String {
    format!(
        "{}{LOGIN_PATH}?token={}",
        public_url.trim_end_matches('/'),
        issue_login_token(key, community_id, member_id, now_unix)
    )
}

/// Verifies a token from a login link (signature and expiry; not single use: see
/// [`consume_login_token`]).
pub fn verify_login_token(
    key: &LoginKey,
    token: &str,
    now_unix: i64,
) -> Result<LoginClaims, LoginError> {
    let fields: Vec<&str> = token.split('.').collect();
    let [version, community, member, exp, nonce, mac] = fields.as_slice() else {
        return Err(LoginError::Malformed);
    };
    let hexish =
        |s: &str| !s.is_empty() && s.len() <= 512 && s.bytes().all(|c| c.is_ascii_hexdigit());
    if *version != "v1"
        || !hexish(community)
        || !hexish(member)
        || nonce.len() != 32
        || !hexish(nonce)
        || mac.len() != 64
        || !hexish(mac)
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
    let mac = hex::decode(mac).map_err(|_| LoginError::Malformed)?;
    if !key.verify(&parts(&community_id, &member_id, exp, nonce), &mac) {
        return Err(LoginError::BadSignature);
    }
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

/// Verifies `token`, checks that it names a member of its community, and consumes its nonce in
/// `tx`: create the session in the same transaction and commit it, so a link signs in once.
/// The outer error is the database's; the inner one says why the link is refused.
pub async fn consume_login_token(
    tx: &mut Tx<'_>,
    key: &LoginKey,
    token: &str,
    now_unix: i64,
) -> crate::Result<Result<SignIn, LoginError>> {
    let claims = match verify_login_token(key, token, now_unix) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let role = tx
        .for_community(&claims.community_id)
        .member_role_kind(&claims.member_id)
        .await?;
    let Some((role, _)) = role else {
        return Ok(Err(LoginError::UnknownMember));
    };
    let nonce = format!("{NONCE_PREFIX}{}", claims.nonce);
    if !tx
        .consume_nonce(&nonce, claims.expires_at, now_unix)
        .await?
    {
        return Ok(Err(LoginError::Reused));
    }
    Ok(Ok(SignIn {
        community_id: claims.community_id,
        member_id: claims.member_id,
        role,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LoginKey {
        LoginKey::from_bytes(*b"a login key of exactly 32 bytes!")
    }

    #[test]
    fn roundtrip_expiry_and_single_use_nonce() {
        let c = &CommunityId::parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap();
        let m = &MemberRowId::parse("0190a1b2-c3d4-7e5f-8a9b-aaaaaaaaaaaa").unwrap();
        let link = issue_login_link(&key(), "https://cc.example.org/", c, m, 1000);
        let token = link
            .strip_prefix("https://cc.example.org/dashboard/login?token=")
            .unwrap();
        let claims = verify_login_token(&key(), token, 1000).unwrap();
        assert_eq!(&claims.community_id, c);
        assert_eq!(&claims.member_id, m);
        assert_eq!(claims.expires_at, 1300);
        assert_eq!(claims.nonce.len(), 32);
        assert!(verify_login_token(&key(), token, 1300).is_ok());
        assert_eq!(
            verify_login_token(&key(), token, 1301),
            Err(LoginError::Expired)
        );
        let again = issue_login_token(&key(), c, m, 1000);
        assert_ne!(
            verify_login_token(&key(), &again, 1000).unwrap().nonce,
            claims.nonce,
            "every link has its own nonce"
        );
        // Nothing personal in the token: only the opaque ids, hex-encoded.
        assert!(!token.contains('@'));
    }

    #[test]
    fn a_signed_token_whose_ids_are_not_uuids_is_malformed() {
        let nonce = "0123456789abcdef0123456789abcdef";
        let mac = tag(&key(), "c1", "m1", 2000, nonce);
        let token = format!(
            "v1.{}.{}.2000.{nonce}.{}",
            hex::encode("c1"),
            hex::encode("m1"),
            hex::encode(mac)
        );
        assert_eq!(
            verify_login_token(&key(), &token, 1000),
            Err(LoginError::Malformed)
        );
    }

    #[test]
    fn tampering_is_refused() {
        let token = issue_login_token(
            &key(),
            &CommunityId::parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap(),
            &MemberRowId::parse("0190a1b2-c3d4-7e5f-8a9b-aaaaaaaaaaaa").unwrap(),
            1000,
        );
        let other = LoginKey::from_bytes(*b"another key, also 32 bytes long!");
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
                verify_login_token(&key(), &forged, 1000),
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
                verify_login_token(&key(), bad, 1000),
                Err(LoginError::Malformed),
                "{bad}"
            );
        }
    }
}
