//! Serving HTTPS directly, with a certificate and key given as PEM files
//! (`tls_certificate`, `tls_private_key`).
//!
//! The files are read again when either changes (checked every few seconds), so a
//! certificate renewed by certbot or acme.sh is served from the next connection on with
//! no restart. A renewal that does not load (a half-written file, a key that does not
//! match) is logged and the certificate in use kept: a bad renewal never takes the farm
//! off line.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// How often the files are looked at for a renewal.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Why the certificate could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Only one of the two files is set.
    #[error("tls_certificate and tls_private_key go together: set both or neither")]
    HalfSet,
    /// A file could not be read or holds no PEM of the kind needed.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS: {0}")]
    Config(String),
    /// The key does not fit the certificate, or rustls refused them.
    #[error("the certificate in {certificate} and the key in {key} do not go together: {reason}")]
    Mismatch {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's words.
        reason: String,
    },
}

/// The certificate the server presents, swapped in place when its files change.
#[derive(Debug)]
pub struct Certificate {
    certificate: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificate {
    /// Loads the certificate the settings name; none when HTTPS is not configured.
    pub fn from_settings(
        certificate: Option<&Path>,
        key: Option<&Path>,
    ) -> Result<Option<Arc<Certificate>>, TlsError> {
        match (certificate, key) {
            (None, None) => Ok(None),
            (Some(certificate), Some(key)) => {
                let loaded = load(certificate, key)?;
                Ok(Some(Arc::new(Certificate {
                    certificate: certificate.to_path_buf(),
                    key: key.to_path_buf(),
                    current: RwLock::new(Arc::new(loaded)),
                })))
            }
            _ => Err(TlsError::HalfSet),
        }
    }

    /// The acceptor for incoming connections (HTTP/1.1 only, as the server speaks).
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    /// Reads the files again when they change, until `stop` turns true.
    pub fn spawn_reloader(
        self: &Arc<Self>,
        mut stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut seen = this.modified();
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(CHECK_EVERY) => {}
                    _ = stop.changed() => return,
                }
                let now = this.modified();
                if now == seen {
                    continue;
                }
                match load(&this.certificate, &this.key) {
                    Ok(loaded) => {
                        seen = now;
                        *this.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
                        tracing::info!(certificate = %this.certificate.display(), "the TLS certificate was renewed");
                    }
                    // Half-written by a renewal, perhaps: try again at the next check.
                    Err(err) => {
                        tracing::error!(error = %err, "the renewed TLS certificate did not load; serving the one before")
                    }
                }
            }
        })
    }

    fn modified(&self) -> (Option<SystemTime>, Option<SystemTime>) {
        let at = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        (at(&self.certificate), at(&self.key))
    }
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

fn load(certificate: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let file_error = |path: &Path, reason: String| TlsError::File {
        path: path.to_path_buf(),
        reason,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certificate)
        .map_err(|e| file_error(certificate, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_error(certificate, e.to_string()))?;
    if chain.is_empty() {
        return Err(file_error(certificate, "no CERTIFICATE block in it".into()));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| file_error(key, e.to_string()))?;
    CertifiedKey::from_der(chain, private, &rustls::crypto::ring::default_provider()).map_err(|e| {
        TlsError::Mismatch {
            certificate: certificate.to_path_buf(),
            key: key.to_path_buf(),
            reason: e.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem_pair(name: &str) -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    #[test]
    fn a_certificate_and_its_key_load_and_a_foreign_key_is_refused_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pem_pair("farm.example");
        let (_, other_key) = pem_pair("other.example");
        let [c, k, o] = ["cert.pem", "key.pem", "other.pem"].map(|n| dir.path().join(n));
        std::fs::write(&c, cert).unwrap();
        std::fs::write(&k, key).unwrap();
        std::fs::write(&o, other_key).unwrap();
        assert!(
            Certificate::from_settings(Some(&c), Some(&k))
                .unwrap()
                .is_some()
        );
        assert!(Certificate::from_settings(None, None).unwrap().is_none());
        let half = Certificate::from_settings(Some(&c), None).unwrap_err();
        assert!(matches!(half, TlsError::HalfSet));
        let mismatch = Certificate::from_settings(Some(&c), Some(&o)).unwrap_err();
        assert!(matches!(mismatch, TlsError::Mismatch { .. }), "{mismatch}");
        let not_pem = Certificate::from_settings(Some(&k), Some(&k)).unwrap_err();
        assert!(not_pem.to_string().contains("no CERTIFICATE"), "{not_pem}");
        let missing = Certificate::from_settings(Some(&dir.path().join("nope.pem")), Some(&k));
        assert!(missing.unwrap_err().to_string().contains("nope.pem"));
    }
}
