//! The signature of PrintFarm's outgoing webhooks, for the server that signs them and any
//! receiver that checks them.
//!
//! Every post carries `X-PrintFarm-Signature: t=<unix seconds>,v1=<hex>`, where `v1` is
//! HMAC-SHA256 under the channel's signing secret of `"<t>.<body>"`. A receiver recomputes
//! it and refuses a timestamp more than five minutes away ([`verify`]), which stops both
//! forgeries and replays.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-printfarm-signature";
/// How long a receiver should accept a signature for.
pub const TOLERANCE_SECONDS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// The signature header's value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Whether `header` is a valid signature of `body` under `secret`, made within the
/// tolerance of `now` (unix seconds): what a receiver checks.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let Some(t) = timestamp else {
        return false;
    };
    // abs_diff: a timestamp near i64::MIN must not overflow into "within tolerance".
    if now.abs_diff(t) > TOLERANCE_SECONDS.unsigned_abs() {
        return false;
    }
    signatures.iter().any(|given| {
        let Ok(given) = hex::decode(given) else {
            return false;
        };
        let mut mac =
            HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        // Constant-time comparison.
        mac.verify_slice(&given).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_body_secret_and_time() {
        let body = br#"{"event":"print_failed"}"#;
        let header = sign("whsec_x", 1_000_000, body);
        assert!(header.starts_with("t=1000000,v1="));
        assert!(verify("whsec_x", &header, body, 1_000_100));
        assert!(!verify("whsec_y", &header, body, 1_000_100));
        assert!(!verify("whsec_x", &header, b"{}", 1_000_100));
        // Replayed after the tolerance.
        assert!(!verify(
            "whsec_x",
            &header,
            body,
            1_000_000 + TOLERANCE_SECONDS + 1
        ));
        assert!(!verify("whsec_x", "v1=00", body, 1_000_000));
        assert!(!verify("whsec_x", "t=1000000,v1=zz", body, 1_000_000));
    }

    #[test]
    fn a_timestamp_at_the_edge_of_the_integers_is_refused_without_overflow() {
        let body = b"{}";
        let header = sign("whsec_x", i64::MIN, body);
        assert!(!verify("whsec_x", &header, body, 1_000_000));
        let header = sign("whsec_x", i64::MAX, body);
        assert!(!verify("whsec_x", &header, body, i64::MIN));
    }
}
