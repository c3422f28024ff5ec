//! Shopify webhooks: the HMAC check on the raw body, the delivery headers and the order topics.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use http::HeaderMap;
use sha2::Sha256;

use crate::ShopifyError;

type HmacSha256 = hmac::Hmac<Sha256>;

/// `X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of the raw body with the app's secret.
pub const HMAC_HEADER: &str = "x-shopify-hmac-sha256";
/// `X-Shopify-Topic`, e.g. `orders/create`.
pub const TOPIC_HEADER: &str = "x-shopify-topic";
/// `X-Shopify-Shop-Domain`, e.g. `farm.myshopify.com`.
pub const SHOP_DOMAIN_HEADER: &str = "x-shopify-shop-domain";
/// `X-Shopify-Webhook-Id`: the same on every retry of one delivery (use it to deduplicate).
pub const WEBHOOK_ID_HEADER: &str = "x-shopify-webhook-id";
/// `X-Shopify-API-Version`: the version the payload was serialised with.
pub const API_VERSION_HEADER: &str = "x-shopify-api-version";
/// `X-Shopify-Triggered-At`: when the event happened (RFC 3339).
pub const TRIGGERED_AT_HEADER: &str = "x-shopify-triggered-at";
/// `X-Shopify-Event-Id`: the event behind the delivery (several webhooks may share one).
pub const EVENT_ID_HEADER: &str = "x-shopify-event-id";

/// Whether `hmac_header` is Shopify's signature of `raw_body` under `secret`.
///
/// Checks the bytes as received, before any JSON parsing (re-serialised JSON would not match),
/// and compares in constant time. A header that is not base64 is simply a refusal.
pub fn verify(secret: &[u8], raw_body: &[u8], hmac_header: &str) -> bool {
    let Ok(claimed) = STANDARD.decode(hmac_header.trim()) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    mac.update(raw_body);
    mac.verify_slice(&claimed).is_ok()
}

/// Shopify's signature of `raw_body` under `secret`, base64 as in the header.
pub fn sign(secret: &[u8], raw_body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail; an empty tag would never verify.
    let tag = match HmacSha256::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(raw_body);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    };
    STANDARD.encode(tag)
}

/// The order topics we subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `orders/create`.
    OrdersCreate,
    /// `orders/updated`.
    OrdersUpdated,
    /// `orders/cancelled`.
    OrdersCancelled,
}

impl Topic {
    /// Every topic, in subscription order.
    pub const ALL: [Topic; 3] = [
        Topic::OrdersCreate,
        Topic::OrdersUpdated,
        Topic::OrdersCancelled,
    ];

    /// The webhook header spelling, e.g. `orders/create`.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::OrdersCreate => "orders/create",
            Topic::OrdersUpdated => "orders/updated",
            Topic::OrdersCancelled => "orders/cancelled",
        }
    }

    /// The GraphQL `WebhookSubscriptionTopic` value, e.g. `ORDERS_CREATE`.
    pub fn graphql_name(self) -> &'static str {
        match self {
            Topic::OrdersCreate => "ORDERS_CREATE",
            Topic::OrdersUpdated => "ORDERS_UPDATED",
            Topic::OrdersCancelled => "ORDERS_CANCELLED",
        }
    }

    /// Reads either spelling (`orders/create` or `ORDERS_CREATE`).
    pub fn parse(text: &str) -> Result<Topic, ShopifyError> {
        let text = text.trim();
        Topic::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(text) || t.graphql_name() == text)
            .ok_or_else(|| ShopifyError::UnknownTopic(text.to_owned()))
    }
}

impl std::str::FromStr for Topic {
    type Err = ShopifyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Topic::parse(s)
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The headers of one webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// What happened.
    pub topic: Topic,
    /// The shop it happened in, e.g. `farm.myshopify.com`.
    pub shop_domain: String,
    /// The delivery's id: retries of one delivery repeat it, so it deduplicates.
    pub webhook_id: String,
    /// The API version the payload follows.
    pub api_version: String,
    /// When the event was triggered; absent on deliveries older than the header.
    pub triggered_at: Option<String>,
    /// The event id, when Shopify sends one.
    pub event_id: Option<String>,
    /// The base64 signature, to pass to [`verify`] with the raw body.
    pub hmac: String,
}

impl Delivery {
    /// Reads the delivery headers; a missing one is an error that names it.
    pub fn from_headers(headers: &HeaderMap) -> Result<Delivery, ShopifyError> {
        let required = |name: &'static str| -> Result<String, ShopifyError> {
            optional(headers, name)?.ok_or(ShopifyError::MissingHeader(canonical(name)))
        };
        Ok(Delivery {
            hmac: required(HMAC_HEADER)?,
            topic: Topic::parse(&required(TOPIC_HEADER)?)?,
            shop_domain: required(SHOP_DOMAIN_HEADER)?,
            webhook_id: required(WEBHOOK_ID_HEADER)?,
            api_version: required(API_VERSION_HEADER)?,
            triggered_at: optional(headers, TRIGGERED_AT_HEADER)?,
            event_id: optional(headers, EVENT_ID_HEADER)?,
        })
    }
}

fn optional(headers: &HeaderMap, name: &'static str) -> Result<Option<String>, ShopifyError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| ShopifyError::BadHeader(canonical(name)))?
                .trim();
            Ok((!text.is_empty()).then(|| text.to_owned()))
        }
    }
}

/// The header's name as Shopify documents it, for error messages.
fn canonical(name: &'static str) -> &'static str {
    match name {
        HMAC_HEADER => "X-Shopify-Hmac-Sha256",
        TOPIC_HEADER => "X-Shopify-Topic",
        SHOP_DOMAIN_HEADER => "X-Shopify-Shop-Domain",
        WEBHOOK_ID_HEADER => "X-Shopify-Webhook-Id",
        API_VERSION_HEADER => "X-Shopify-API-Version",
        TRIGGERED_AT_HEADER => "X-Shopify-Triggered-At",
        EVENT_ID_HEADER => "X-Shopify-Event-Id",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const SECRET: &[u8] = b"hush";

    #[test]
    fn verify_accepts_the_signature_of_the_exact_body() {
        let body = br##"{"id":1,"name":"#1001"}"##;
        assert!(verify(SECRET, body, &sign(SECRET, body)));
    }

    #[test]
    fn verify_matches_an_independently_computed_hmac() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let expected = "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=";
        assert_eq!(sign(b"Jefe", b"what do ya want for nothing?"), expected);
        assert!(verify(b"Jefe", b"what do ya want for nothing?", expected));
    }

    #[test]
    fn verify_refuses_a_changed_body() {
        let body = br#"{"total_price":"10.00"}"#;
        let signature = sign(SECRET, body);
        assert!(!verify(SECRET, br#"{"total_price":"0.01"}"#, &signature));
        // Whitespace matters too: the signature is over the raw bytes.
        assert!(!verify(SECRET, br#"{"total_price": "10.00"}"#, &signature));
    }

    #[test]
    fn verify_refuses_a_wrong_secret() {
        let body = b"{}";
        assert!(!verify(b"other", body, &sign(SECRET, body)));
    }

    #[test]
    fn verify_refuses_a_header_that_is_not_base64() {
        assert!(!verify(SECRET, b"{}", "not base64!!"));
        assert!(!verify(SECRET, b"{}", ""));
        // Valid base64 of the wrong length is refused too.
        assert!(!verify(SECRET, b"{}", "AAAA"));
    }

    #[test]
    fn topics_parse_both_spellings_and_refuse_others() {
        assert_eq!(Topic::parse("orders/create").unwrap(), Topic::OrdersCreate);
        assert_eq!(
            Topic::parse("orders/updated").unwrap(),
            Topic::OrdersUpdated
        );
        assert_eq!(
            Topic::parse("ORDERS_CANCELLED").unwrap(),
            Topic::OrdersCancelled
        );
        assert!(matches!(
            Topic::parse("products/create"),
            Err(ShopifyError::UnknownTopic(t)) if t == "products/create"
        ));
    }

    fn headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in [
            ("X-Shopify-Hmac-Sha256", "c2ln"),
            ("X-Shopify-Topic", "orders/create"),
            ("X-Shopify-Shop-Domain", "farm.myshopify.com"),
            (
                "X-Shopify-Webhook-Id",
                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            ),
            ("X-Shopify-API-Version", "2026-10"),
            ("X-Shopify-Triggered-At", "2026-12-03T10:00:00.000Z"),
        ] {
            h.insert(name, HeaderValue::from_static(value));
        }
        h
    }

    #[test]
    fn a_delivery_reads_the_documented_headers() {
        let d = Delivery::from_headers(&headers()).unwrap();
        assert_eq!(d.topic, Topic::OrdersCreate);
        assert_eq!(d.shop_domain, "farm.myshopify.com");
        assert_eq!(d.webhook_id, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
        assert_eq!(d.api_version, "2026-10");
        assert_eq!(d.triggered_at.as_deref(), Some("2026-12-03T10:00:00.000Z"));
        assert_eq!(d.event_id, None);
        assert_eq!(d.hmac, "c2ln");
    }

    #[test]
    fn a_missing_header_is_named_in_the_error() {
        let mut h = headers();
        h.remove("x-shopify-webhook-id");
        let err = Delivery::from_headers(&h).unwrap_err();
        assert!(matches!(
            err,
            ShopifyError::MissingHeader("X-Shopify-Webhook-Id")
        ));
        assert!(err.to_string().contains("X-Shopify-Webhook-Id"));

        let mut h = headers();
        h.remove("x-shopify-hmac-sha256");
        assert!(matches!(
            Delivery::from_headers(&h),
            Err(ShopifyError::MissingHeader("X-Shopify-Hmac-Sha256"))
        ));
    }

    #[test]
    fn a_delivery_without_triggered_at_is_still_read() {
        let mut h = headers();
        h.remove("x-shopify-triggered-at");
        assert_eq!(Delivery::from_headers(&h).unwrap().triggered_at, None);
    }
}
