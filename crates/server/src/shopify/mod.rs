//! Shopify: a farm connects its shop (credentials sealed at rest, never returned), takes
//! its orders by webhook and by sync, and pushes fulfilments back. Everything that talks
//! to Shopify runs on the durable `shopify-sync` queue, never inside a request:
//!
//! - [`integrations`]: `/api/v1/integrations` (connect, settings, status, sync, webhooks);
//! - [`webhooks`]: `/webhooks/shopify/{tenant_id}/orders/{topic}`: verify the signature of
//!   the raw body, drop a repeated delivery, store and queue, answer at once;
//! - [`sync`]: the queue worker: a delivery becomes an order (`farm::orders`), a sync run
//!   pages through the shop's orders one page per message, a fulfilment goes back.
//!
//! The wire formats and the Admin API client are the `shopify` crate's.

pub mod integrations;
pub mod sync;
pub mod webhooks;

use crate::app::App;
use crate::error::ApiError;
use domain::TenantId;
use serde::{Deserialize, Serialize};
use store::integrations::Integration;

/// The queue Shopify work goes to.
pub const SHOPIFY_SYNC: &str = "shopify-sync";
/// The platform's name in `tenant_integrations`.
pub const PLATFORM: &str = "shopify";

/// What a farm gives to connect its shop (sealed as JSON, never sent back).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// `name.myshopify.com`.
    pub shop_domain: String,
    /// The Admin API access token of the farm's app.
    pub access_token: String,
    /// The app's client secret: Shopify signs webhooks with it.
    pub webhook_secret: String,
}

/// The context credentials are sealed in (a sealed value of one farm opens in no other).
pub fn sealing_context(tenant: &TenantId) -> String {
    format!("tenant/{tenant}/shopify")
}

/// How a farm's shop behaves, beyond the on/off switches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShopSettings {
    /// Orders from the shop fulfil themselves once stock covers every line.
    pub auto_fulfill: bool,
    /// Fulfilled orders are pushed back to the shop (fulfillment orders).
    pub push_fulfilment: bool,
    /// Shopify emails the customer when a fulfilment is pushed.
    pub notify_customer: bool,
    /// Points added to the priority of the shop's orders' jobs (0 to 200).
    pub order_priority: i64,
}

impl Default for ShopSettings {
    fn default() -> Self {
        ShopSettings {
            auto_fulfill: false,
            push_fulfilment: true,
            notify_customer: false,
            order_priority: 0,
        }
    }
}

/// A farm's connected shop: its row, opened credentials and settings.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The stored row.
    pub integration: Integration,
    /// The opened credentials.
    pub credentials: Credentials,
    /// Its settings.
    pub settings: ShopSettings,
}

impl Connection {
    /// An Admin API client for the shop (`shopify_api_url` overrides where it is).
    pub fn client(&self, app: &App) -> Result<shopify::Client, shopify::ShopifyError> {
        client_for(app, &self.credentials)
    }
}

/// An Admin API client with `credentials`.
pub fn client_for(
    app: &App,
    credentials: &Credentials,
) -> Result<shopify::Client, shopify::ShopifyError> {
    let mut config = shopify::Config::new(
        credentials.shop_domain.clone(),
        credentials.access_token.clone(),
    );
    config.base_url = app.settings.shopify_api_url.clone();
    shopify::Client::new(config)
}

/// The settings stored on a row (defaults for what is missing or unreadable).
pub fn settings_of(integration: &Integration) -> ShopSettings {
    integration
        .settings
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// The farm's connected shop, if it has one (a disconnected row is none).
pub async fn connection(
    app: &App,
    conn: &mut store::Conn,
    tenant: &TenantId,
) -> Result<Option<Connection>, ApiError> {
    let Some(integration) = store::integrations::get(conn, tenant, PLATFORM).await? else {
        return Ok(None);
    };
    if integration.is_enabled == 0 || integration.credentials_encrypted.is_empty() {
        return Ok(None);
    }
    let opened = app
        .farm
        .cipher
        .open(&integration.credentials_encrypted, &sealing_context(tenant))
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("shop credentials: {e}")))?;
    let credentials: Credentials = serde_json::from_str(&opened)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("shop credentials: {e}")))?;
    let settings = settings_of(&integration);
    Ok(Some(Connection {
        integration,
        credentials,
        settings,
    }))
}

/// Work for the `shopify-sync` queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SyncMessage {
    /// A verified webhook delivery: its topic and raw body.
    Webhook {
        /// `orders/create`, `orders/updated` or `orders/cancelled`.
        topic: String,
        /// Shopify's delivery id.
        delivery_id: String,
        /// The body as delivered (verified).
        body: String,
    },
    /// One page of a sync run: the orders changed since `since`, from `cursor`.
    Page {
        /// The run, for its log.
        run_id: String,
        /// Orders updated at or after (RFC 3339); all when `None`.
        since: Option<String>,
        /// Where the page starts; the first page when `None`.
        cursor: Option<String>,
        /// Pages taken before this one.
        page: u32,
        /// Orders taken so far in the run.
        taken: u32,
    },
    /// Push an order's fulfilment to the shop.
    Fulfil {
        /// The farm's order.
        order_id: String,
    },
}

/// The error of a Shopify call as the API answers it.
pub fn shopify_error(err: shopify::ShopifyError) -> ApiError {
    use shopify::ShopifyError as E;
    match err {
        E::Unauthorized => ApiError::field(
            "access_token",
            "Shopify refused these credentials (check the shop domain and the access token)",
        ),
        E::Config(message) => ApiError::field("shop_domain", message),
        other => ApiError::Unavailable(format!("Shopify did not answer as expected: {other}")),
    }
}
