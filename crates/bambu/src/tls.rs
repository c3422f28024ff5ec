//! TLS for printers: trust the certificate seen at first contact.
//!
//! Printers present a certificate from Bambu's own CA whose CN is the serial,
//! not the IP, and the simulator presents a self-signed one. Rather than ship
//! CA bundles that change with each model, the client pins the SHA-256 of the
//! leaf certificate the first time it connects and refuses any other leaf
//! afterwards. Signatures are still checked by the ring provider, so a peer
//! must hold the pinned certificate's private key.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// The SHA-256 of a DER certificate.
pub type Fingerprint = [u8; 32];

/// The pinned certificate fingerprint of one printer, shared between its
/// connections (MQTT, FTPS): empty until the first handshake, fixed after.
#[derive(Clone, Default)]
pub struct CertPin(Arc<Mutex<Option<Fingerprint>>>);

impl CertPin {
    /// No pin yet: the next verified handshake records one.
    pub fn new() -> CertPin {
        CertPin::default()
    }

    /// A pin restored from storage.
    pub fn pinned(fingerprint: Fingerprint) -> CertPin {
        CertPin(Arc::new(Mutex::new(Some(fingerprint))))
    }

    /// The pinned fingerprint, if any (to persist it).
    pub fn get(&self) -> Option<Fingerprint> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pinned fingerprint as lowercase hex.
    pub fn hex(&self) -> Option<String> {
        self.get().map(hex::encode)
    }

    /// Forgets the pin (the user confirmed the printer's certificate changed).
    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Checks a leaf against the pin: `true` if it matches or nothing is pinned yet.
    fn admits(&self, fingerprint: &Fingerprint) -> bool {
        self.get().is_none_or(|pinned| pinned == *fingerprint)
    }

    /// Records the fingerprint if nothing is pinned yet; `false` if another is pinned.
    fn record(&self, fingerprint: Fingerprint) -> bool {
        let mut pin = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match *pin {
            None => {
                *pin = Some(fingerprint);
                true
            }
            Some(pinned) => pinned == fingerprint,
        }
    }
}

impl fmt::Debug for CertPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CertPin").field(&self.hex()).finish()
    }
}

/// The SHA-256 of a DER certificate.
pub fn fingerprint(certificate: &[u8]) -> Fingerprint {
    Sha256::digest(certificate).into()
}

/// The leaf did not match the pinned fingerprint.
#[derive(Debug, thiserror::Error)]
#[error("printer certificate {seen} does not match the pinned {pinned}")]
pub struct PinMismatch {
    /// The pinned fingerprint, hex.
    pub pinned: String,
    /// The presented fingerprint, hex.
    pub seen: String,
}

/// A [`ServerCertVerifier`] that pins the leaf certificate at first contact.
///
/// The pin is recorded only after the handshake signature verified against
/// the certificate, so a peer that merely replays a certificate cannot set it.
#[derive(Debug)]
pub struct PinningVerifier {
    pin: CertPin,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinningVerifier {
    /// A verifier for one printer, using the ring provider's signature algorithms.
    pub fn new(pin: CertPin) -> PinningVerifier {
        PinningVerifier {
            pin,
            algorithms: provider().signature_verification_algorithms,
        }
    }

    fn check(&self, certificate: &CertificateDer<'_>) -> Result<Fingerprint, rustls::Error> {
        let seen = fingerprint(certificate);
        if self.pin.admits(&seen) {
            Ok(seen)
        } else {
            Err(self.mismatch(seen))
        }
    }

    fn mismatch(&self, seen: Fingerprint) -> rustls::Error {
        rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(
            PinMismatch {
                pinned: self.pin.hex().unwrap_or_default(),
                seen: hex::encode(seen),
            },
        ))))
    }

    fn commit(
        &self,
        certificate: &CertificateDer<'_>,
        verified: Result<HandshakeSignatureValid, rustls::Error>,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let verified = verified?;
        let seen = fingerprint(certificate);
        if self.pin.record(seen) {
            Ok(verified)
        } else {
            Err(self.mismatch(seen))
        }
    }
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The name is not checked: printers are reached by IP but the
        // certificate names the serial; the pin identifies the printer.
        self.check(end_entity)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let verified = rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms);
        self.commit(cert, verified)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let verified = rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms);
        self.commit(cert, verified)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The ring crypto provider every TLS config in this crate uses, so that no
/// process-wide default has to be installed.
///
/// Its cipher suites are ring's, with AES-128-GCM first: ring's order puts
/// AES-256-GCM first, and with AES-NI the 128-bit key (10 rounds to 14) is the
/// faster one for an FTPS upload's bulk data. Servers follow the client's order
/// by default (rustls, OpenSSL), so the client's list decides.
pub fn provider() -> CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    // A stable sort keeps ring's order within each group.
    provider
        .cipher_suites
        .sort_by_key(|suite| !is_aes_128_gcm(suite.suite()));
    provider
}

fn is_aes_128_gcm(suite: rustls::CipherSuite) -> bool {
    use rustls::CipherSuite::*;
    matches!(
        suite,
        TLS13_AES_128_GCM_SHA256
            | TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            | TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    )
}

/// A client config for one printer that pins its certificate in `pin`.
///
/// Use the same `Arc` for every connection to the printer: FTPS data
/// connections must resume the control connection's TLS session, and rustls
/// keeps sessions in the config.
/// Fails only if the provider lacks the default protocol versions (ring has them).
pub fn client_config(pin: CertPin) -> Result<Arc<ClientConfig>, rustls::Error> {
    let config = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinningVerifier::new(pin)))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::ServerConfig;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    fn server(serial: &str) -> (Arc<ServerConfig>, Vec<u8>) {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec![serial.to_owned()]).expect("params");
        let cert = params.self_signed(&key).expect("cert");
        let der = cert.der().to_vec();
        let config = ServerConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("server config");
        (Arc::new(config), der)
    }

    /// Serves one TLS echo of a byte on a fresh port.
    async fn serve_once(config: Arc<ServerConfig>) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((tcp, _)) = listener.accept().await {
                let acceptor = tokio_rustls::TlsAcceptor::from(config);
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut byte = [0u8; 1];
                    if tls.read_exact(&mut byte).await.is_ok() {
                        let _ = tls.write_all(&byte).await;
                        let _ = tls.shutdown().await;
                    }
                }
            }
        });
        addr
    }

    async fn connect(config: Arc<ClientConfig>, addr: std::net::SocketAddr) -> std::io::Result<()> {
        let tcp = TcpStream::connect(addr).await?;
        let connector = tokio_rustls::TlsConnector::from(config);
        let name = ServerName::try_from("127.0.0.1").expect("ip name");
        let mut tls = connector.connect(name, tcp).await?;
        tls.write_all(b"x").await?;
        let mut byte = [0u8; 1];
        tls.read_exact(&mut byte).await?;
        Ok(())
    }

    #[tokio::test]
    async fn the_first_certificate_is_pinned_and_a_different_one_refused() {
        let (good, good_der) = server("01P00A000000001");
        let (other, _) = server("01P00A000000001");
        let pin = CertPin::new();
        let config = client_config(pin.clone()).expect("config");

        connect(config.clone(), serve_once(good.clone()).await)
            .await
            .expect("first contact is accepted");
        assert_eq!(pin.get(), Some(fingerprint(&good_der)));

        connect(config.clone(), serve_once(good).await)
            .await
            .expect("the pinned certificate is accepted again");

        // A fresh config (no cached session) so the certificate is really presented.
        let error = connect(
            client_config(pin.clone()).expect("config"),
            serve_once(other).await,
        )
        .await
        .expect_err("a different certificate is refused");
        assert!(error.to_string().contains("PinMismatch"), "{error}");
        assert_eq!(pin.get(), Some(fingerprint(&good_der)), "pin unchanged");
    }

    #[tokio::test]
    async fn a_printer_connection_negotiates_aes_128_gcm() {
        let (server_config, _) = server("01P00A000000001");
        let addr = serve_once(server_config).await;
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let connector =
            tokio_rustls::TlsConnector::from(client_config(CertPin::new()).expect("config"));
        let name = ServerName::try_from("127.0.0.1").expect("ip name");
        let tls = connector.connect(name, tcp).await.expect("handshake");
        let suite = tls.get_ref().1.negotiated_cipher_suite().expect("suite");
        assert_eq!(suite.suite(), rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    }

    #[tokio::test]
    async fn a_restored_pin_refuses_the_first_certificate_if_it_differs() {
        let (server_config, der) = server("00M00A000000001");
        let pin = CertPin::pinned([7u8; 32]);
        assert!(
            connect(
                client_config(pin.clone()).expect("config"),
                serve_once(server_config.clone()).await
            )
            .await
            .is_err()
        );
        pin.clear();
        connect(
            client_config(pin.clone()).expect("config"),
            serve_once(server_config).await,
        )
        .await
        .expect("after clearing, first contact pins again");
        assert_eq!(pin.get(), Some(fingerprint(&der)));
    }
}
