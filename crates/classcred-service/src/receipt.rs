//! Signed erasure receipts.
//!
//! A receipt says what an erasure did — the request, the target (a member *row id* or the
//! whole community, never a name or platform id), the tables and row counts, the times — and is
//! signed with the server's Ed25519 receipt-signing key (`classcred-signing.key`, beside the
//! master key). The signature covers the canonical bytes: the compact JSON of every field but
//! `signature`, in the struct's field order. A receipt file is the pretty JSON
//! [`Receipt::to_file_text`] writes; [`verify`] re-renders the parsed receipt and requires the
//! file to be exactly that, so that any changed byte — even in whitespace — fails.

use std::collections::BTreeMap;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The receipt format version.
pub const RECEIPT_VERSION: u32 = 1;

/// File name of the signing key, beside the master key file.
pub const SIGNING_KEY_FILE_NAME: &str = "classcred-signing.key";

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("receipt is not valid JSON of the receipt format: {0}")]
    Malformed(String),
    #[error("receipt bytes differ from the signed form (the file was changed)")]
    NotCanonical,
    #[error("receipt was signed by key {found}, not by the expected key {expected}")]
    WrongKey { expected: String, found: String },
    #[error("signature does not match the receipt (the receipt was changed or forged)")]
    BadSignature,
    #[error("key file {path}: {why}")]
    KeyFile { path: String, why: String },
}

/// What was erased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptTarget {
    /// `member` or `community`.
    pub kind: String,
    /// The member's row id (pseudonymous), for a member erasure.
    pub member_id: Option<String>,
}

/// A signed erasure receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub version: u32,
    pub request_id: String,
    pub community_id: String,
    pub target: ReceiptTarget,
    /// `admin`, `student_request`, `retention` or `operator`.
    pub origin: String,
    /// Table → rows erased or scrubbed.
    pub tables: BTreeMap<String, u64>,
    /// RFC 3339 times (UTC, milliseconds).
    pub requested_at: String,
    pub started_at: String,
    pub finished_at: String,
    pub signing_key_id: String,
    /// Base64 Ed25519 signature over [`Receipt::canonical_bytes`]; empty before signing.
    #[serde(default)]
    pub signature: String,
}

impl Receipt {
    /// The signed bytes: compact JSON of every field but the signature.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Body<'a> {
            version: u32,
            request_id: &'a str,
            community_id: &'a str,
            target: &'a ReceiptTarget,
            origin: &'a str,
            tables: &'a BTreeMap<String, u64>,
            requested_at: &'a str,
            started_at: &'a str,
            finished_at: &'a str,
            signing_key_id: &'a str,
        }
        let body = Body {
            version: self.version,
            request_id: &self.request_id,
            community_id: &self.community_id,
            target: &self.target,
            origin: &self.origin,
            tables: &self.tables,
            requested_at: &self.requested_at,
            started_at: &self.started_at,
            finished_at: &self.finished_at,
            signing_key_id: &self.signing_key_id,
        };
        // Serialising plain strings, integers and a BTreeMap cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// The receipt as a file holds it: pretty JSON and a final newline.
    pub fn to_file_text(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The server's receipt-signing key.
pub struct ReceiptSigner {
    key: SigningKey,
}

impl std::fmt::Debug for ReceiptSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptSigner")
            .field("key_id", &self.key_id())
            .finish()
    }
}

impl ReceiptSigner {
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        Self {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Parse a key file's text: base64 of the 32-byte Ed25519 seed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|_| "not base64".to_string())?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "not 32 bytes (an Ed25519 seed)".to_string())?;
        Ok(Self {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The key file's text.
    pub fn encode(&self) -> String {
        B64.encode(self.key.to_bytes())
    }

    pub fn load(path: &Path) -> Result<Self, ReceiptError> {
        let err = |why: String| ReceiptError::KeyFile {
            path: path.display().to_string(),
            why,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::parse(&text).map_err(err)
    }

    /// Write a new key file (mode 0600, never overwriting) and return the key.
    pub fn create(path: &Path) -> Result<Self, ReceiptError> {
        use std::io::Write;
        let err = |why: String| ReceiptError::KeyFile {
            path: path.display().to_string(),
            why,
        };
        let signer = Self::generate();
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(|e| err(e.to_string()))?;
        f.write_all(format!("{}\n", signer.encode()).as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| err(e.to_string()))?;
        Ok(signer)
    }

    pub fn public_key(&self) -> ReceiptPublicKey {
        ReceiptPublicKey(self.key.verifying_key())
    }

    pub fn key_id(&self) -> String {
        self.public_key().key_id()
    }

    /// Set the signing key id and sign.
    pub fn sign(&self, mut receipt: Receipt) -> Receipt {
        receipt.signing_key_id = self.key_id();
        let sig = self.key.sign(&receipt.canonical_bytes());
        receipt.signature = B64.encode(sig.to_bytes());
        receipt
    }
}

/// The public half, to verify receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptPublicKey(VerifyingKey);

impl ReceiptPublicKey {
    /// Parse base64 of the 32-byte Ed25519 public key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|_| "public key is not base64".to_string())?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "public key is not 32 bytes".to_string())?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| "not an Ed25519 public key".to_string())
    }

    pub fn encode(&self) -> String {
        B64.encode(self.0.to_bytes())
    }

    /// `ed25519:` and the first 16 hex digits of the SHA-256 of the public key.
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.0.to_bytes());
        format!("ed25519:{}", hex::encode(&digest[..8]))
    }
}

/// Verify a receipt file's bytes against the expected public key: the bytes must be exactly
/// the receipt's file form, signed by that key.
pub fn verify(bytes: &[u8], key: &ReceiptPublicKey) -> Result<Receipt, ReceiptError> {
    let receipt: Receipt =
        serde_json::from_slice(bytes).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
    let text = receipt.to_file_text();
    let exact = bytes == text.as_bytes() || bytes == text.trim_end_matches('\n').as_bytes();
    if !exact {
        return Err(ReceiptError::NotCanonical);
    }
    if receipt.signing_key_id != key.key_id() {
        return Err(ReceiptError::WrongKey {
            expected: key.key_id(),
            found: receipt.signing_key_id.clone(),
        });
    }
    let sig_bytes: [u8; 64] = B64
        .decode(&receipt.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(ReceiptError::BadSignature)?;
    key.0
        .verify(
            &receipt.canonical_bytes(),
            &Signature::from_bytes(&sig_bytes),
        )
        .map_err(|_| ReceiptError::BadSignature)?;
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(signer: &ReceiptSigner) -> Receipt {
        signer.sign(Receipt {
            version: RECEIPT_VERSION,
            request_id: "0190-req".into(),
            community_id: "0190-com".into(),
            target: ReceiptTarget {
                kind: "member".into(),
                member_id: Some("0190-mem".into()),
            },
            origin: "admin".into(),
            tables: BTreeMap::from([("member".to_string(), 1), ("message".to_string(), 3)]),
            requested_at: "2026-01-01T00:00:00.000Z".into(),
            started_at: "2026-01-08T00:00:00.000Z".into(),
            finished_at: "2026-01-08T00:00:01.000Z".into(),
            signing_key_id: String::new(),
            signature: String::new(),
        })
    }

    #[test]
    fn a_signed_receipt_verifies() {
        let signer = ReceiptSigner::generate();
        let r = sample(&signer);
        let text = r.to_file_text();
        let back = verify(text.as_bytes(), &signer.public_key()).unwrap();
        assert_eq!(back, r);
        assert!(!text.contains("\"signature\": \"\""));
    }

    #[test]
    fn every_changed_byte_fails() {
        let signer = ReceiptSigner::generate();
        let text = sample(&signer).to_file_text();
        let bytes = text.as_bytes();
        for i in 0..bytes.len() {
            let mut changed = bytes.to_vec();
            changed[i] ^= 0x01;
            assert!(
                verify(&changed, &signer.public_key()).is_err(),
                "flipping byte {i} ({:?}) still verified",
                bytes[i] as char
            );
        }
    }

    #[test]
    fn a_changed_count_resigned_by_another_key_fails() {
        let signer = ReceiptSigner::generate();
        let other = ReceiptSigner::generate();
        let mut r = sample(&signer);
        r.tables.insert("member".into(), 0);
        let forged = other.sign(r);
        assert!(matches!(
            verify(forged.to_file_text().as_bytes(), &signer.public_key()),
            Err(ReceiptError::WrongKey { .. })
        ));
        // The same forgery claiming the right key id fails on the signature.
        let mut claimed = forged.clone();
        claimed.signing_key_id = signer.key_id();
        assert!(matches!(
            verify(claimed.to_file_text().as_bytes(), &signer.public_key()),
            Err(ReceiptError::BadSignature)
        ));
    }

    #[test]
    fn key_files_round_trip() {
        let dir = tempfile_dir();
        let path = dir.join("k");
        let s = ReceiptSigner::create(&path).unwrap();
        assert!(ReceiptSigner::create(&path).is_err(), "never overwrites");
        let again = ReceiptSigner::load(&path).unwrap();
        assert_eq!(s.key_id(), again.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let pk = ReceiptPublicKey::parse(&s.public_key().encode()).unwrap();
        assert_eq!(pk, s.public_key());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("classcred-receipt-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
