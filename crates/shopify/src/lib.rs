//! Shopify's wire formats, and nothing about our database: webhook verification and headers,
//! order payloads normalised into [`order::OrderIn`], and an Admin GraphQL client that respects
//! Shopify's rate limits. With the `fake` feature, [`fake::FakeShop`] speaks the same wire format
//! on loopback for tests.

// The fake's documented-shape sample order is one large `json!` literal.
#![cfg_attr(feature = "fake", recursion_limit = "512")]

pub mod admin;
mod error;
pub mod money;
pub mod order;
pub mod webhook;

#[cfg(feature = "fake")]
pub mod fake;

pub use admin::{API_VERSION, Client, Config};
pub use error::ShopifyError;
pub use order::{LineIn, OrderIn};
