//! Each simulated printer's certificate: self-signed, CN = serial, like the
//! real ones (which are issued by Bambu's CA, also with the serial as CN).

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{NoServerSessionStorage, ServerSessionMemoryCache};

use crate::SimError;

/// The TLS configs of one printer: MQTT and FTPS present the same certificate.
pub(crate) struct PrinterTls {
    pub mqtt: Arc<ServerConfig>,
    pub ftps: Arc<ServerConfig>,
}

pub(crate) fn printer_tls(serial: &str) -> Result<PrinterTls, SimError> {
    // ECDSA P-256: generating a thousand takes well under a second.
    let key = rcgen::KeyPair::generate().map_err(SimError::Certificate)?;
    let mut params =
        rcgen::CertificateParams::new(vec![serial.to_owned()]).map_err(SimError::Certificate)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, serial);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "BBL Technologies Co., Ltd");
    let cert = params.self_signed(&key).map_err(SimError::Certificate)?;
    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let key_der = key.serialize_der();
    let build = || {
        ServerConfig::builder_with_provider(Arc::new(bambu::tls::provider()))
            .with_safe_default_protocol_versions()
            .map_err(SimError::Tls)?
            .with_no_client_auth()
            .with_single_cert(
                chain.clone(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der.clone())),
            )
            .map_err(SimError::Tls)
    };
    let mut mqtt = build()?;
    // MQTT clients never resume; no cache keeps a thousand printers light.
    mqtt.session_storage = Arc::new(NoServerSessionStorage {});
    mqtt.send_tls13_tickets = 0;
    let mut ftps = build()?;
    // Data connections must resume the control session (TLS 1.2 session id or
    // TLS 1.3 ticket). Each TLS 1.3 ticket is used once, so hand out enough for
    // a session's transfers; the cache is small because sessions are short.
    ftps.session_storage = ServerSessionMemoryCache::new(64);
    ftps.send_tls13_tickets = 8;
    Ok(PrinterTls {
        mqtt: Arc::new(mqtt),
        ftps: Arc::new(ftps),
    })
}
