//! What the server's own outgoing HTTPS calls share (camera snapshots, webhooks).

use std::sync::OnceLock;

/// TLS for outgoing calls: the platform's trust store with the ring provider, built once
/// (reading the trust store is slow) and cloned for each client.
pub fn tls_config() -> Result<rustls::ClientConfig, String> {
    static CONFIG: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            use rustls_platform_verifier::BuilderVerifierExt;
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .and_then(|b| b.with_platform_verifier())
                .map(|b| b.with_no_client_auth())
                .map_err(|e| e.to_string())
        })
        .clone()
}
