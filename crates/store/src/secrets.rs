//! Secrets at rest and bearer tokens.
//!
//! Tokens (sessions, API tokens, hub secrets, reset links) are 256 random bits; only
//! their SHA-256 is stored. Secrets that must be read back (printer access codes,
//! integration credentials, the farm's hub token) are sealed with AES-256-GCM, bound
//! to the farm and record they belong to.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// A new token: `prefix` followed by 256 random bits in URL-safe base64.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token: SHA-256, hex.
///
/// A plain hash is enough (no salt, no stretching): the token has 256 bits of entropy.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Why a sealed secret could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key is not 32 bytes of base64.
    #[error("the encryption key must be 32 bytes, base64-encoded")]
    BadKey,
    /// Wrong key, wrong record, or tampered data.
    #[error("a stored secret could not be decrypted (wrong key or tampered data)")]
    Undecryptable,
}

/// AES-256-GCM with the service's key.
#[derive(Clone)]
pub struct Cipher {
    aead: Aes256Gcm,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(***)")
    }
}

impl Cipher {
    /// A new random key, base64-encoded, for a fresh data directory.
    pub fn generate_key() -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    /// A cipher from a base64 key of 32 bytes.
    pub fn from_base64(key: &str) -> Result<Cipher, SecretError> {
        let bytes = STANDARD
            .decode(key.trim())
            .map_err(|_| SecretError::BadKey)?;
        let aead = Aes256Gcm::new_from_slice(&bytes).map_err(|_| SecretError::BadKey)?;
        Ok(Cipher { aead })
    }

    /// Seals `plain`, bound to `context` (e.g. `tenant/<id>/hub-token`): base64(nonce ‖ ciphertext).
    pub fn seal(&self, plain: &str, context: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .aead
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            // AES-GCM only fails on inputs of more than 64 GiB.
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        STANDARD.encode(out)
    }

    /// Opens what `seal` produced with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, SecretError> {
        let bytes = STANDARD
            .decode(sealed)
            .map_err(|_| SecretError::Undecryptable)?;
        if bytes.len() < 12 + 16 {
            return Err(SecretError::Undecryptable);
        }
        let (nonce, body) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| SecretError::Undecryptable)?;
        let plain = self
            .aead
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Undecryptable)?;
        String::from_utf8(plain).map_err(|_| SecretError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let a = new_token("pf_");
        let b = new_token("pf_");
        assert!(a.starts_with("pf_"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let cipher = Cipher::from_base64(&Cipher::generate_key()).unwrap();
        let sealed = cipher.seal("12345678", "tenant/a/printer/1");
        assert!(!sealed.contains("12345678"));
        assert_ne!(
            sealed,
            cipher.seal("12345678", "tenant/a/printer/1"),
            "nonce is random"
        );
        assert_eq!(
            cipher.open(&sealed, "tenant/a/printer/1").unwrap(),
            "12345678"
        );
        assert!(cipher.open(&sealed, "tenant/b/printer/1").is_err());
        let other = Cipher::from_base64(&Cipher::generate_key()).unwrap();
        assert!(other.open(&sealed, "tenant/a/printer/1").is_err());
        assert!(cipher.open("not base64!", "x").is_err());
    }

    #[test]
    fn a_key_must_be_32_bytes() {
        assert!(Cipher::from_base64("c2hvcnQ=").is_err());
        assert!(Cipher::from_base64("???").is_err());
    }
}
