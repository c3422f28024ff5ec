//! Outgoing webhooks: signed JSON posts to a farm's URL.
//!
//! Every post carries `X-PrintFarm-Signature: t=<unix seconds>,v1=<hex>`, where `v1` is
//! HMAC-SHA256 under the channel's signing secret of `"<t>.<body>"`. A receiver recomputes
//! it and refuses a timestamp more than five minutes old ([`verify`]), which stops both
//! forgeries and replays. `X-PrintFarm-Delivery` is the same on every retry of one
//! delivery, for receivers to drop duplicates.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub use proto::webhook::{SIGNATURE_HEADER, TOLERANCE_SECONDS, sign, verify};

/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A new signing secret: 32 random bytes, hex, with a prefix that says what it is.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

/// Whether an address is in the farm's own network rather than the internet (loopback,
/// private, link-local, unique-local, unspecified, multicast, or broadcast).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                // 100.64.0.0/10, carrier-grade NAT.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Why a webhook was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL can't be used (bad, or an address the server may not call).
    #[error("{0}")]
    Refused(String),
    /// The receiver could not be reached or timed out.
    #[error("{0}")]
    Unreachable(String),
    /// The receiver answered with a status other than 2xx.
    #[error("the receiver answered {0}")]
    Status(u16),
}

impl WebhookError {
    /// The receiver's HTTP status, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            WebhookError::Status(s) => Some(*s),
            _ => None,
        }
    }
}

/// One post to make.
#[derive(Debug, Clone, Copy)]
pub struct Post<'a> {
    /// Where to.
    pub url: &'a str,
    /// The channel's signing secret.
    pub secret: &'a str,
    /// The event's name (`X-PrintFarm-Event`).
    pub event: &'a str,
    /// The delivery's id (`X-PrintFarm-Delivery`).
    pub delivery_id: &'a str,
    /// The JSON body, as sent and signed.
    pub body: &'a [u8],
}

/// Posts a webhook: the host is resolved first and, unless `private_ok`, every address it
/// names must be public; the connection goes to the checked address (no second lookup to
/// rebind), redirects are not followed. Returns the receiver's status.
pub async fn post(post: Post<'_>, private_ok: bool, now: i64) -> Result<u16, WebhookError> {
    let url = reqwest::Url::parse(post.url)
        .map_err(|e| WebhookError::Refused(format!("bad URL: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| WebhookError::Refused("the URL has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| WebhookError::Refused("the URL has no port".into()))?;
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| WebhookError::Unreachable(format!("{host}: {e}")))?
        .collect();
    let Some(first) = addresses.first().copied() else {
        return Err(WebhookError::Unreachable(format!("{host}: no address")));
    };
    if !private_ok && addresses.iter().any(|a| is_private(a.ip())) {
        return Err(WebhookError::Refused(format!(
            "{host} is a private or local address, which this server does not call"
        )));
    }
    let tls = crate::outbound::tls_config().map_err(WebhookError::Unreachable)?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .resolve(&host, first)
        .build()
        .map_err(|e| WebhookError::Unreachable(e.to_string()))?;
    let answer = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, "PrintFarm-Webhooks/1")
        .header("x-printfarm-event", post.event)
        .header("x-printfarm-delivery", post.delivery_id)
        .header(SIGNATURE_HEADER, sign(post.secret, now, post.body))
        .body(post.body.to_vec())
        .send()
        .await
        .map_err(|e| WebhookError::Unreachable(without_url(&e)))?;
    let status = answer.status().as_u16();
    if answer.status().is_success() {
        Ok(status)
    } else {
        Err(WebhookError::Status(status))
    }
}

/// A transport error without the URL (which may carry a token).
fn without_url(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "the receiver did not answer in time"
    } else if err.is_connect() {
        "could not connect to the receiver"
    } else {
        "the request failed"
    };
    kind.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_told_from_public_ones() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.10",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "0.0.0.0",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "2606:4700::1111"] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }
}
