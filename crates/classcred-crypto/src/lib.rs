//! Envelope encryption for ClassCred.
//!
//! * A **master key** (key-encryption key, KEK) lives outside the database: in a file or an
//!   environment variable. It only ever wraps data keys.
//! * Each community has one **data key** (DEK), stored in the database only wrapped by the master
//!   key. The wrap is bound to the community id, so a wrapped key copied to another community
//!   does not unwrap.
//! * Every personal field is sealed with XChaCha20-Poly1305 under a key derived from the
//!   community's data key. The associated data names the community, table, column and row, so a
//!   ciphertext copied to another row (or column, or community) fails to open.
//! * Equality lookups on encrypted values (e.g. email) use a keyed **blind index**:
//!   HMAC-SHA256 under a second key derived from the data key.
//! * Destroying a community's wrapped data key makes all its personal data unreadable
//!   (crypto-shredding).
//!
//! XChaCha20-Poly1305 is chosen over AES-256-GCM because its 192-bit nonce makes random nonces
//! safe for any number of messages under one key; AES-GCM's 96-bit random nonce is limited to
//! about 2^32 messages per key.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

type HmacSha256 = Hmac<Sha256>;

/// Format version byte at the start of every ciphertext we write.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Length of a key in bytes (256 bits).
pub const KEY_LEN: usize = 32;

/// Errors from the crypto layer. None of them carries key material or plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("master key must be {KEY_LEN} bytes encoded as 64 hex characters or base64; got {0}")]
    BadMasterKeyEncoding(String),
    #[error("ciphertext is malformed (too short or unknown version)")]
    Malformed,
    #[error("decryption failed: the ciphertext was altered, moved to another row, or sealed under another key")]
    Decrypt,
    #[error("wrapped data key could not be unwrapped: wrong master key or key belongs to another community")]
    Unwrap,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// HMAC-SHA256 over length-prefixed parts, under a 32-byte key.
fn hmac(key: &[u8; KEY_LEN], parts: &[&[u8]]) -> [u8; 32] {
    // RFC 2104: a key shorter than the hash's 64-byte block is padded with zeros; doing it
    // here gives the same MAC as `new_from_slice(key)` without a fallible call.
    let mut block = [0u8; 64];
    block[..KEY_LEN].copy_from_slice(key);
    let mut mac = <HmacSha256 as KeyInit>::new(&block.into());
    block.zeroize();
    for p in parts {
        mac.update(&(p.len() as u64).to_be_bytes());
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn seal(key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce: [u8; NONCE_LEN] = random_bytes();
    // Encryption into a Vec can only fail when the plaintext exceeds the cipher's limit
    // (256 GiB for XChaCha20-Poly1305), which no field reaches; an empty ciphertext would be
    // refused as malformed by `open`, so nothing unreadable is ever stored silently.
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default();
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

fn open(key: &[u8; KEY_LEN], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != VERSION {
        return Err(CryptoError::Malformed);
    }
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce = XNonce::from_slice(&sealed[1..1 + NONCE_LEN]);
    cipher
        .decrypt(
            nonce,
            Payload {
                msg: &sealed[1 + NONCE_LEN..],
                aad,
            },
        )
        .map_err(|_| CryptoError::Decrypt)
}

/// The master key (KEK). Never printed; zeroised on drop.
pub struct MasterKey {
    key: SecretBox<[u8; KEY_LEN]>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(id={}, [REDACTED])", self.id())
    }
}

impl MasterKey {
    /// A fresh random master key.
    pub fn generate() -> Self {
        Self::from_bytes(random_bytes())
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self {
            key: SecretBox::new(Box::new(bytes)),
        }
    }

    /// Parse the textual form written by [`MasterKey::encode`]: 64 hex characters, or standard
    /// base64 of 32 bytes. Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        use base64::Engine;
        let t = text.trim();
        let mut bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(t).map_err(|_| CryptoError::BadMasterKeyEncoding("invalid hex".into()))?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(|_| {
                    CryptoError::BadMasterKeyEncoding(format!(
                        "{} characters that are neither 64 hex digits nor base64",
                        t.len()
                    ))
                })?
        };
        if bytes.len() != KEY_LEN {
            let n = bytes.len();
            bytes.zeroize();
            return Err(CryptoError::BadMasterKeyEncoding(format!(
                "{n} bytes after decoding"
            )));
        }
        let mut arr = [0u8; KEY_LEN];
        arr.copy_from_slice(&bytes);
        bytes.zeroize();
        Ok(Self::from_bytes(arr))
    }

    /// Text form for a key file (64 lowercase hex characters), wiped from memory when dropped.
    pub fn encode(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.key.expose_secret()))
    }

    /// The key that authenticates the audit chain: HMAC-SHA256 of the master key under its own
    /// label, so it is independent of the data keys and of the public key id.
    pub fn audit_key(&self) -> AuditKey {
        AuditKey {
            key: SecretBox::new(Box::new(hmac(
                self.key.expose_secret(),
                &[b"classcred/audit-chain/v1"],
            ))),
        }
    }

    /// The key that seals the OpenID Connect attempt cookie (state, nonce, PKCE verifier):
    /// HMAC-SHA256 of the master key under its own label, independent of every other key.
    pub fn oidc_cookie_key(&self) -> SecretBox<[u8; 32]> {
        SecretBox::new(Box::new(hmac(
            self.key.expose_secret(),
            &[b"classcred/oidc-cookie/v1"],
        )))
    }

    /// The key that signs dashboard login links: HMAC-SHA256 of the master key under its own
    /// label, so every deployment (and the demo) signs links with no extra configuration, and
    /// the key is independent of the data keys, the audit key and the public key id.
    pub fn login_key(&self) -> LoginKey {
        LoginKey {
            key: SecretBox::new(Box::new(hmac(
                self.key.expose_secret(),
                &[b"classcred/login-link/v1"],
            ))),
        }
    }

    /// The key that signs full-export download links: HMAC-SHA256 of the master key under its
    /// own label (the same construction as [`MasterKey::login_key`], a different key).
    pub fn export_link_key(&self) -> LoginKey {
        LoginKey {
            key: SecretBox::new(Box::new(hmac(
                self.key.expose_secret(),
                &[b"classcred/export-link/v1"],
            ))),
        }
    }

    /// The key that seals free text a queued job must carry (a chat command's argument text,
    /// which can hold personal data, e.g. `privacy correct my name is …`): a [`DataKey`] from
    /// HMAC-SHA256 of the master key under its own label. Jobs are transient; a job sealed
    /// before a master-key rotation can no longer be opened and answers "try again".
    pub fn job_key(&self) -> DataKey {
        DataKey::from_bytes(hmac(self.key.expose_secret(), &[b"classcred/job-text/v1"]))
    }

    /// A public fingerprint of the key: the first 8 bytes of SHA-256 over a domain-separated
    /// HMAC of the key, as hex. Stored next to wrapped keys so a wrong master key is detected
    /// with a clear message instead of a decryption failure.
    pub fn id(&self) -> String {
        let tag = hmac(self.key.expose_secret(), &[b"classcred/master-key-id/v1"]);
        hex::encode(&Sha256::digest(tag)[..8])
    }

    fn wrap_aad(community_id: &str) -> Vec<u8> {
        format!("classcred/dek/v1/community={community_id}").into_bytes()
    }

    /// Wrap a community's data key for storage.
    pub fn wrap(&self, dek: &DataKey, community_id: &str) -> Vec<u8> {
        seal(
            self.key.expose_secret(),
            &Self::wrap_aad(community_id),
            dek.key.expose_secret(),
        )
    }

    /// Unwrap a stored data key; fails if the master key is wrong or the wrapped key belongs to
    /// another community.
    pub fn unwrap(&self, wrapped: &[u8], community_id: &str) -> Result<DataKey, CryptoError> {
        let mut raw = open(
            self.key.expose_secret(),
            &Self::wrap_aad(community_id),
            wrapped,
        )
        .map_err(|_| CryptoError::Unwrap)?;
        if raw.len() != KEY_LEN {
            raw.zeroize();
            return Err(CryptoError::Unwrap);
        }
        let mut arr = [0u8; KEY_LEN];
        arr.copy_from_slice(&raw);
        raw.zeroize();
        Ok(DataKey::from_bytes(arr))
    }
}

/// The audit chain's key, derived from the master key. Never printed; zeroised on drop.
pub struct AuditKey {
    key: SecretBox<[u8; KEY_LEN]>,
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey([REDACTED])")
    }
}

impl AuditKey {
    /// `HMAC-SHA256(audit key, prev_hash ‖ canonical)` (length-prefixed), as lowercase hex.
    /// Without the master key nobody can compute a valid link, so an entry rewritten (and every
    /// later hash recomputed) in the database no longer verifies.
    pub fn chain_hash(&self, prev_hash: &str, canonical: &[u8]) -> String {
        hex::encode(hmac(
            self.key.expose_secret(),
            &[prev_hash.as_bytes(), canonical],
        ))
    }
}

/// The key of dashboard login links, derived from the master key. Never printed; zeroised on
/// drop.
pub struct LoginKey {
    key: SecretBox<[u8; KEY_LEN]>,
}

impl fmt::Debug for LoginKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginKey([REDACTED])")
    }
}

impl Clone for LoginKey {
    fn clone(&self) -> Self {
        Self {
            key: SecretBox::new(Box::new(*self.key.expose_secret())),
        }
    }
}

impl LoginKey {
    /// A key from raw bytes (tests and tools; servers use [`MasterKey::login_key`]).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self {
            key: SecretBox::new(Box::new(bytes)),
        }
    }

    /// `HMAC-SHA256(login key, parts)` over length-prefixed parts.
    pub fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        hmac(self.key.expose_secret(), parts)
    }

    /// Whether `tag` is the tag of `parts`, compared in constant time.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let expected = self.tag(parts);
        tag.len() == expected.len()
            && expected
                .iter()
                .zip(tag)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// Where a sealed value lives. The associated data binds a ciphertext to exactly this place.
#[derive(Debug, Clone, Copy)]
pub struct FieldRef<'a> {
    pub community_id: &'a str,
    pub table: &'a str,
    pub column: &'a str,
    pub row_id: &'a str,
}

impl FieldRef<'_> {
    fn aad(&self) -> Vec<u8> {
        // Length-prefixed so that no two distinct places produce the same bytes.
        let mut out = b"classcred/field/v1".to_vec();
        for p in [self.community_id, self.table, self.column, self.row_id] {
            out.extend_from_slice(&(p.len() as u32).to_be_bytes());
            out.extend_from_slice(p.as_bytes());
        }
        out
    }
}

/// A community's data key (DEK). Never printed; zeroised on drop.
pub struct DataKey {
    key: SecretBox<[u8; KEY_LEN]>,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([REDACTED])")
    }
}

impl DataKey {
    pub fn generate() -> Self {
        Self::from_bytes(random_bytes())
    }

    fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self {
            key: SecretBox::new(Box::new(bytes)),
        }
    }

    fn subkey(&self, label: &[u8]) -> [u8; KEY_LEN] {
        hmac(
            self.key.expose_secret(),
            &[b"classcred/dek-subkey/v1", label],
        )
    }

    /// Seal a personal field's plaintext for the given place.
    pub fn seal(&self, at: FieldRef<'_>, plaintext: &[u8]) -> Vec<u8> {
        let mut k = self.subkey(b"field-encryption");
        let out = seal(&k, &at.aad(), plaintext);
        k.zeroize();
        out
    }

    /// Open a sealed field; fails if it was sealed for a different place or altered.
    pub fn open(&self, at: FieldRef<'_>, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut k = self.subkey(b"field-encryption");
        let out = open(&k, &at.aad(), sealed);
        k.zeroize();
        out
    }

    fn member_wrap_aad(community_id: &str, member_id: &str) -> Vec<u8> {
        format!("classcred/member-dek/v1/community={community_id}/member={member_id}").into_bytes()
    }

    /// Wrap a member's data key with this (community) data key. The wrapping binds the
    /// community and the member row id, so a wrapped key cannot be moved to another member.
    pub fn wrap_member_key(
        &self,
        member: &DataKey,
        community_id: &str,
        member_id: &str,
    ) -> Vec<u8> {
        let mut k = self.subkey(b"member-key-wrapping");
        let out = seal(
            &k,
            &Self::member_wrap_aad(community_id, member_id),
            member.key.expose_secret(),
        );
        k.zeroize();
        out
    }

    /// Unwrap a member's data key wrapped by [`DataKey::wrap_member_key`].
    pub fn unwrap_member_key(
        &self,
        wrapped: &[u8],
        community_id: &str,
        member_id: &str,
    ) -> Result<DataKey, CryptoError> {
        let mut k = self.subkey(b"member-key-wrapping");
        let opened = open(&k, &Self::member_wrap_aad(community_id, member_id), wrapped);
        k.zeroize();
        let mut raw = opened.map_err(|_| CryptoError::Unwrap)?;
        if raw.len() != KEY_LEN {
            raw.zeroize();
            return Err(CryptoError::Unwrap);
        }
        let mut arr = [0u8; KEY_LEN];
        arr.copy_from_slice(&raw);
        raw.zeroize();
        Ok(DataKey::from_bytes(arr))
    }

    /// Keyed blind index for equality lookups on an encrypted column. `column` separates
    /// indexes of different columns; callers normalise the value (e.g. lowercase emails) first.
    pub fn blind_index(&self, column: &str, value: &str) -> Vec<u8> {
        let mut k = self.subkey(b"blind-index");
        let out = hmac(&k, &[column.as_bytes(), value.as_bytes()]).to_vec();
        k.zeroize();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'a>(row: &'a str) -> FieldRef<'a> {
        FieldRef {
            community_id: "c1",
            table: "member",
            column: "email",
            row_id: row,
        }
    }

    #[test]
    fn field_roundtrip_and_binding() {
        let dek = DataKey::generate();
        let ct = dek.seal(at("r1"), b"ada@example.org");
        assert_eq!(dek.open(at("r1"), &ct).unwrap(), b"ada@example.org");
        assert_eq!(dek.open(at("r2"), &ct), Err(CryptoError::Decrypt));
        let other_col = FieldRef {
            column: "name",
            ..at("r1")
        };
        assert_eq!(dek.open(other_col, &ct), Err(CryptoError::Decrypt));
        let other_community = FieldRef {
            community_id: "c2",
            ..at("r1")
        };
        assert_eq!(dek.open(other_community, &ct), Err(CryptoError::Decrypt));
        assert_eq!(
            DataKey::generate().open(at("r1"), &ct),
            Err(CryptoError::Decrypt)
        );
        let mut tampered = ct.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(dek.open(at("r1"), &tampered), Err(CryptoError::Decrypt));
        assert_eq!(dek.open(at("r1"), &ct[..10]), Err(CryptoError::Malformed));
        // Two seals of the same value differ (random nonce).
        assert_ne!(ct, dek.seal(at("r1"), b"ada@example.org"));
    }

    #[test]
    fn wrap_is_bound_to_master_key_and_community() {
        let kek = MasterKey::generate();
        let dek = DataKey::generate();
        let wrapped = kek.wrap(&dek, "c1");
        let back = kek.unwrap(&wrapped, "c1").unwrap();
        let ct = dek.seal(at("r"), b"x");
        assert_eq!(back.open(at("r"), &ct).unwrap(), b"x");
        assert_eq!(kek.unwrap(&wrapped, "c2").unwrap_err(), CryptoError::Unwrap);
        assert_eq!(
            MasterKey::generate().unwrap(&wrapped, "c1").unwrap_err(),
            CryptoError::Unwrap
        );
    }

    #[test]
    fn master_key_text_forms() {
        let k = MasterKey::generate();
        let parsed = MasterKey::parse(&format!("  {}\n", k.encode().as_str())).unwrap();
        assert_eq!(parsed.id(), k.id());
        use base64::Engine;
        let b64 =
            base64::engine::general_purpose::STANDARD.encode(hex::decode(k.encode()).unwrap());
        assert_eq!(MasterKey::parse(&b64).unwrap().id(), k.id());
        assert!(matches!(
            MasterKey::parse("abcd"),
            Err(CryptoError::BadMasterKeyEncoding(_))
        ));
        assert!(!format!("{k:?}").contains(k.encode().as_str()));
        assert_ne!(MasterKey::generate().id(), k.id());
    }

    #[test]
    fn encoded_key_text_is_wiped_on_drop() {
        // The text form of a key is a `Zeroizing<String>`: its bytes are overwritten when it
        // is dropped (finding 17). This fails to compile if `encode` returns a plain String.
        let text: Zeroizing<String> = MasterKey::generate().encode();
        assert_eq!(text.len(), 64);
    }

    #[test]
    fn padded_hmac_equals_the_standard_construction() {
        // Key ids and blind indexes already stored must not change.
        let key = [7u8; KEY_LEN];
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&key).unwrap();
        mac.update(&3u64.to_be_bytes());
        mac.update(b"abc");
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(hmac(&key, &[b"abc"]), expected);
    }

    #[test]
    fn oidc_cookie_key_is_derived_and_separate() {
        let k = MasterKey::generate();
        let same = MasterKey::parse(&k.encode()).unwrap();
        let key = *k.oidc_cookie_key().expose_secret();
        assert_eq!(key, *same.oidc_cookie_key().expose_secret());
        assert_ne!(
            key,
            *MasterKey::generate().oidc_cookie_key().expose_secret()
        );
        let login = hmac(k.key.expose_secret(), &[b"classcred/login-link/v1"]);
        assert_ne!(key, login, "not the login key");
    }

    #[test]
    fn login_key_is_derived_separate_and_verifies_in_constant_time() {
        let k = MasterKey::generate();
        let same = MasterKey::parse(&k.encode()).unwrap();
        let tag = k.login_key().tag(&[b"c1", b"m1"]);
        assert_eq!(tag, same.login_key().tag(&[b"c1", b"m1"]));
        assert_ne!(tag, MasterKey::generate().login_key().tag(&[b"c1", b"m1"]));
        // Length prefixes: moving a byte between parts changes the tag.
        assert_ne!(tag, k.login_key().tag(&[b"c1m", b"1"]));
        // Not the audit key under another name.
        assert_ne!(
            hex::encode(tag),
            k.audit_key().chain_hash("", b"c1m1"),
            "own domain string"
        );
        assert!(k.login_key().verify(&[b"c1", b"m1"], &tag));
        assert!(!k.login_key().verify(&[b"c1", b"m2"], &tag));
        assert!(!k.login_key().verify(&[b"c1", b"m1"], &tag[..31]));
        assert!(k.login_key().clone().verify(&[b"c1", b"m1"], &tag));
        assert_eq!(format!("{:?}", k.login_key()), "LoginKey([REDACTED])");
    }

    #[test]
    fn audit_key_is_keyed_and_separate() {
        let k = MasterKey::generate();
        let same = MasterKey::parse(&k.encode()).unwrap();
        let a = k.audit_key().chain_hash("prev", b"entry");
        assert_eq!(a, same.audit_key().chain_hash("prev", b"entry"));
        assert_ne!(
            a,
            MasterKey::generate()
                .audit_key()
                .chain_hash("prev", b"entry")
        );
        assert_ne!(a, k.audit_key().chain_hash("prev2", b"entry"));
        assert_eq!(a.len(), 64);
        assert!(!format!("{:?}", k.audit_key()).contains(&a));
    }

    #[test]
    fn blind_index_is_deterministic_and_keyed() {
        let dek = DataKey::generate();
        assert_eq!(
            dek.blind_index("email", "a@b.c"),
            dek.blind_index("email", "a@b.c")
        );
        assert_ne!(
            dek.blind_index("email", "a@b.c"),
            dek.blind_index("name", "a@b.c")
        );
        assert_ne!(
            dek.blind_index("email", "a@b.c"),
            DataKey::generate().blind_index("email", "a@b.c")
        );
    }
}
