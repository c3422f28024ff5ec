//! Signed links: a token that grants one thing (download this file, upload that one)
//! until it expires, without a session — for hubs fetching files and for the
//! browser's plain `PUT` upload.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

/// The upload links being used on this node, so that two uploads racing on one link do
/// not both write its object (the second is refused until the first is done).
#[derive(Default)]
pub struct UploadsInFlight(std::sync::Mutex<std::collections::HashSet<String>>);

/// A link held by one upload; let go when dropped.
pub struct InFlight<'a> {
    set: &'a UploadsInFlight,
    file: String,
}

impl UploadsInFlight {
    /// Holds the link for file `file`, or `None` when another upload holds it.
    pub fn claim(&self, file: &str) -> Option<InFlight<'_>> {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        held.insert(file.to_string()).then(|| InFlight {
            set: self,
            file: file.to_string(),
        })
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut held = self.set.0.lock().unwrap_or_else(|p| p.into_inner());
        held.remove(&self.file);
    }
}

/// What a link lets its holder do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// `download` or `upload`.
    pub purpose: String,
    /// The farm.
    pub tenant: String,
    /// The file.
    pub file: String,
    /// For uploads: the file's name; for downloads: the object key.
    pub detail: String,
    /// Who asked for it (uploads are attributed to them).
    pub user: Option<String>,
    /// Unix seconds after which the link is refused.
    pub expires: i64,
}

/// Signs and checks links with a key derived from the service key.
#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(***)")
    }
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a link of ours, or altered.
    #[error("the link is not valid")]
    Invalid,
    /// Past its time.
    #[error("the link has expired; ask for a new one")]
    Expired,
}

impl LinkSigner {
    /// A signer whose key is derived from the service key (never the key itself).
    pub fn new(service_key: &str) -> Self {
        let digest = Sha256::digest(format!("printfarm signed links\n{service_key}").as_bytes());
        LinkSigner { key: digest.into() }
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        // HMAC takes keys of any length; 32 bytes never fails.
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(payload.as_bytes());
        mac
    }

    /// The token for a grant.
    pub fn sign(&self, grant: &Grant) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(grant).unwrap_or_default());
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The grant of a token, if it is ours, unaltered, for `purpose` and not expired at `now` (unix seconds).
    pub fn verify(&self, token: &str, purpose: &str, now: i64) -> Result<Grant, LinkError> {
        let (payload, signature) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| LinkError::Invalid)?;
        self.mac(payload)
            .verify_slice(&signature)
            .map_err(|_| LinkError::Invalid)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| LinkError::Invalid)?;
        let grant: Grant = serde_json::from_slice(&bytes).map_err(|_| LinkError::Invalid)?;
        if grant.purpose != purpose {
            return Err(LinkError::Invalid);
        }
        if grant.expires < now {
            return Err(LinkError::Expired);
        }
        Ok(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(expires: i64) -> Grant {
        Grant {
            purpose: "download".into(),
            tenant: "t".into(),
            file: "f".into(),
            detail: "t/files/f/a.3mf".into(),
            user: None,
            expires,
        }
    }

    #[test]
    fn a_link_works_until_it_expires_and_only_for_its_purpose() {
        let signer = LinkSigner::new("key");
        let token = signer.sign(&grant(100));
        assert_eq!(signer.verify(&token, "download", 100), Ok(grant(100)));
        assert_eq!(
            signer.verify(&token, "download", 101),
            Err(LinkError::Expired)
        );
        assert_eq!(signer.verify(&token, "upload", 50), Err(LinkError::Invalid));
    }

    #[test]
    fn an_altered_or_foreign_link_is_refused() {
        let signer = LinkSigner::new("key");
        let token = signer.sign(&grant(100));
        let (payload, signature) = token.split_once('.').unwrap();
        let mut forged = grant(100);
        forged.tenant = "other".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            signer.verify(&format!("{forged_payload}.{signature}"), "download", 0),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            LinkSigner::new("other key").verify(&token, "download", 0),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            signer.verify(payload, "download", 0),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            signer.verify("garbage", "download", 0),
            Err(LinkError::Invalid)
        );
    }
}
