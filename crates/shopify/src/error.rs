use std::time::Duration;

/// Everything that can go wrong between us and Shopify.
#[derive(Debug, thiserror::Error)]
pub enum ShopifyError {
    /// A webhook arrived without a header Shopify always sends.
    #[error("webhook header {0} is missing")]
    MissingHeader(&'static str),
    /// A webhook header is present but not readable text.
    #[error("webhook header {0} is not valid text")]
    BadHeader(&'static str),
    /// A topic this crate does not handle.
    #[error("unknown webhook topic {0:?}")]
    UnknownTopic(String),
    /// An order payload that does not have the shape Shopify documents.
    #[error("order payload: {0}")]
    Payload(String),
    /// A money amount that is not a non-negative decimal with at most two significant decimals.
    #[error("{0:?} is not an amount in cents (non-negative, at most 2 decimals)")]
    Amount(String),
    /// The access token was refused (HTTP 401 or 403).
    #[error("Shopify refused the access token")]
    Unauthorized,
    /// Still throttled after every retry.
    #[error("throttled by Shopify; gave up after waiting {waited:?}")]
    Throttled {
        /// Time spent waiting for the bucket across the retries.
        waited: Duration,
    },
    /// Shopify kept answering 5xx.
    #[error("Shopify answered HTTP {status} after retries")]
    Server {
        /// The last status seen.
        status: u16,
    },
    /// Any other HTTP status (404 shop not found, 402 shop frozen, 423 locked…).
    #[error("Shopify answered HTTP {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of the body, for the operator.
        body: String,
    },
    /// Top-level GraphQL errors (bad query, cost too high, access denied to a field…).
    #[error("Shopify GraphQL errors: {}", .0.join("; "))]
    GraphQl(Vec<String>),
    /// A mutation's `userErrors`: Shopify understood and refused.
    #[error("Shopify refused: {}", .0.join("; "))]
    UserErrors(Vec<String>),
    /// The order (or other object) does not exist in the shop.
    #[error("{0} not found in the shop")]
    NotFound(String),
    /// The response was not what the documented schema promises.
    #[error("unexpected response from Shopify: {0}")]
    Decode(String),
    /// The connection failed (DNS, TCP, TLS, timeout).
    #[error("request to Shopify failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The TLS client could not be set up.
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
    /// The client configuration is unusable.
    #[error("Shopify client configuration: {0}")]
    Config(String),
}
