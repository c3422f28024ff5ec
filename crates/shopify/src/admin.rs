//! The Admin GraphQL API client: shop check, order paging, fulfilments and webhook
//! subscriptions, all behind one request loop that respects Shopify's rate limits.
//!
//! Shopify limits by query cost: each app and shop pair has a bucket (`maximumAvailable`) that
//! refills at `restoreRate` points a second, and every response reports it in
//! `extensions.cost.throttleStatus`. A query asking more than the bucket holds comes back as
//! HTTP 200 with an error whose `extensions.code` is `THROTTLED`; bursts past the edge may also
//! meet HTTP 429 with `Retry-After`. We wait as Shopify says (capped by `max_wait`) and retry,
//! and after a success we wait before the next call when the bucket is below that call's cost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::ShopifyError;
use crate::order::{LineIn, LineItemConnection, OrderIn, OrderNode, PageInfo};
use crate::webhook::Topic;

/// The Admin API version we speak: 2026-10, the newest stable quarterly release (stable since
/// 1 October 2026, supported until October 2027). Older versions than the supported four fall
/// forward silently, so bump this each year before that happens.
pub const API_VERSION: &str = "2026-10";

/// The most orders one `orders` query asks for. Shopify refuses a single query whose requested
/// cost is over 1000 points, and connections cost `first ×` their nodes: with
/// [`LINES_PER_ORDER`] lines an order costs about 90 points, so 10 orders (~902) fit.
pub const MAX_ORDERS_PER_PAGE: u32 = 10;

/// Line items fetched with each order; an order with more gets the rest in follow-up queries.
/// Keep in step with `lineItems(first: 25)` in the orders query.
pub const LINES_PER_ORDER: u32 = 25;

/// How to reach one shop.
#[derive(Clone)]
pub struct Config {
    /// The shop's `*.myshopify.com` domain.
    pub shop_domain: String,
    /// The Admin API access token (`shpat_…`); never logged.
    pub access_token: String,
    /// The API version in the URL, normally [`API_VERSION`].
    pub api_version: String,
    /// Where to send requests instead of `https://{shop_domain}` (tests point it at the fake).
    pub base_url: Option<String>,
    /// Retries after a throttle or a 5xx before giving up.
    pub max_retries: u32,
    /// The longest single wait for the bucket, `Retry-After` or a backoff.
    pub max_wait: Duration,
}

impl Config {
    /// A config for a real shop with the defaults: [`API_VERSION`], 5 retries, 10 s waits.
    pub fn new(shop_domain: impl Into<String>, access_token: impl Into<String>) -> Config {
        Config {
            shop_domain: shop_domain.into(),
            access_token: access_token.into(),
            api_version: API_VERSION.to_owned(),
            base_url: None,
            max_retries: 5,
            max_wait: Duration::from_secs(10),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("shop_domain", &self.shop_domain)
            .field("access_token", &"<redacted>")
            .field("api_version", &self.api_version)
            .field("base_url", &self.base_url)
            .field("max_retries", &self.max_retries)
            .field("max_wait", &self.max_wait)
            .finish()
    }
}

/// The shop, as `shop { name myshopifyDomain currencyCode }` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopInfo {
    /// The shop's name.
    pub name: String,
    /// Its `*.myshopify.com` domain.
    pub myshopify_domain: String,
    /// Its currency, e.g. `USD`.
    pub currency_code: String,
}

/// One page of orders and where the next starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersPage {
    /// The orders, oldest change first.
    pub orders: Vec<OrderIn>,
    /// Orders on this page we could not take in (kept apart so one odd order, say in a
    /// three-decimal currency, does not stop the sync); the cursor still moves past them.
    pub rejected: Vec<RejectedOrder>,
    /// The cursor for the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// An order of a page that did not normalise, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedOrder {
    /// Its GraphQL id.
    pub gid: String,
    /// Its display name, e.g. `#1001`.
    pub name: String,
    /// What was wrong with it.
    pub reason: String,
}

/// The tracking to attach to a fulfilment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tracking {
    /// The carrier's tracking number.
    pub number: Option<String>,
    /// A tracking page.
    pub url: Option<String>,
    /// The carrier, e.g. `Royal Mail` (Shopify recognises its known carriers by name).
    pub company: Option<String>,
}

/// What a fulfilment push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfilResult {
    /// The fulfilments created, one per open fulfilment order.
    pub fulfillment_ids: Vec<String>,
    /// Nothing was left to fulfil (pushed before, or fulfilled in Shopify by hand).
    pub already_fulfilled: bool,
}

/// A webhook subscription of this app in the shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Its GraphQL id.
    pub id: String,
    /// The GraphQL topic, e.g. `ORDERS_CREATE` (see [`Topic::parse`]).
    pub topic: String,
    /// Where Shopify delivers it (the `uri` field).
    pub callback_url: String,
}

/// The query cost bucket, as the last response reported it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    /// The bucket's size.
    pub maximum_available: f64,
    /// Points in the bucket when the response was made.
    pub currently_available: f64,
    /// Points restored each second.
    pub restore_rate: f64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cost {
    requested_query_cost: f64,
    throttle_status: ThrottleStatus,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Value>,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
struct Extensions {
    #[serde(default)]
    cost: Option<Cost>,
}

#[derive(Default)]
struct Bucket {
    last: Option<(ThrottleStatus, Instant)>,
    // The requested cost each operation had last time: the estimate for its next call.
    costs: HashMap<&'static str, f64>,
}

/// An Admin GraphQL API client for one shop; cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: String,
    access_token: String,
    max_retries: u32,
    max_wait: Duration,
    bucket: Arc<Mutex<Bucket>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

enum Failure {
    Throttled,
    Server(u16),
}

impl Client {
    /// A client for the shop in `config`.
    pub fn new(config: Config) -> Result<Client, ShopifyError> {
        let domain = config.shop_domain.trim();
        if domain.is_empty() || domain.contains(['/', ' ', '?', '#', '@']) {
            return Err(ShopifyError::Config(format!(
                "shop domain {domain:?} is not a bare domain like farm.myshopify.com"
            )));
        }
        if config.access_token.trim().is_empty() {
            return Err(ShopifyError::Config("the access token is empty".into()));
        }
        let version = config.api_version.trim();
        if version.is_empty() || version.contains('/') {
            return Err(ShopifyError::Config(format!(
                "API version {version:?} is not like {API_VERSION}"
            )));
        }
        let base = match &config.base_url {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                url.trim_end_matches('/').to_owned()
            }
            Some(url) => {
                return Err(ShopifyError::Config(format!(
                    "base URL {url:?} is not http(s)"
                )));
            }
            None => format!("https://{domain}"),
        };
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls()?)
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Client {
            http,
            endpoint: format!("{base}/admin/api/{version}/graphql.json"),
            access_token: config.access_token,
            max_retries: config.max_retries,
            max_wait: config.max_wait,
            bucket: Arc::default(),
        })
    }

    /// The URL every query is posted to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The bucket as the last response reported it.
    pub fn throttle_status(&self) -> Option<ThrottleStatus> {
        self.bucket().last.map(|(status, _)| status)
    }

    /// The shop's name, domain and currency; checks the credentials on connect.
    pub async fn shop(&self) -> Result<ShopInfo, ShopifyError> {
        #[derive(Deserialize)]
        struct Data {
            shop: ShopInfo,
        }
        let data: Data = self.call("shop", SHOP_QUERY, json!({})).await?;
        Ok(data.shop)
    }

    /// One page of orders changed at or after `updated_since` (RFC 3339), oldest change first.
    ///
    /// `first` is clamped to 1..=[`MAX_ORDERS_PER_PAGE`] (Shopify's single-query cost limit);
    /// pass the previous page's `next_cursor` as `after` for the next one.
    pub async fn orders_page(
        &self,
        after: Option<&str>,
        updated_since: Option<&str>,
        first: u32,
    ) -> Result<OrdersPage, ShopifyError> {
        #[derive(Deserialize)]
        struct Data {
            orders: Orders,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Orders {
            page_info: PageInfo,
            nodes: Vec<OrderNode>,
        }
        // Parsed and written again, so nothing but a time reaches Shopify's search syntax.
        let since = updated_since
            .map(|since| {
                DateTime::parse_from_rfc3339(since)
                    .map(|t| {
                        t.with_timezone(&Utc)
                            .to_rfc3339_opts(SecondsFormat::Secs, true)
                    })
                    .map_err(|_| ShopifyError::Config(format!("{since:?} is not an RFC 3339 time")))
            })
            .transpose()?;
        let variables = json!({
            "first": first.clamp(1, MAX_ORDERS_PER_PAGE),
            "after": after,
            "query": since.map(|since| format!("updated_at:>='{since}'")),
        });
        let data: Data = self.call("orders", ORDERS_QUERY, variables).await?;
        let mut orders = Vec::with_capacity(data.orders.nodes.len());
        let mut rejected = Vec::new();
        for node in data.orders.nodes {
            let more = match &node.line_items.page_info {
                Some(PageInfo {
                    has_next_page: true,
                    end_cursor: Some(cursor),
                }) => Some(cursor.clone()),
                _ => None,
            };
            let (gid, name) = (node.id.clone(), node.name.clone());
            let mut order = match OrderIn::try_from(node) {
                Ok(order) => order,
                Err(e) => {
                    tracing::warn!(order = %gid, error = %e, "Shopify order not taken in");
                    rejected.push(RejectedOrder {
                        gid,
                        name,
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            if let Some(cursor) = more {
                order
                    .lines
                    .extend(self.remaining_lines(&gid, cursor).await?);
            }
            orders.push(order);
        }
        let page_info = data.orders.page_info;
        Ok(OrdersPage {
            orders,
            rejected,
            next_cursor: page_info.end_cursor.filter(|_| page_info.has_next_page),
        })
    }

    /// The line items of an order after `cursor` (orders with more than [`LINES_PER_ORDER`]).
    async fn remaining_lines(
        &self,
        order_gid: &str,
        mut cursor: String,
    ) -> Result<Vec<LineIn>, ShopifyError> {
        #[derive(Deserialize)]
        struct Data {
            order: Option<LinesOf>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct LinesOf {
            line_items: LineItemConnection,
        }
        let mut lines = Vec::new();
        loop {
            let variables = json!({ "id": order_gid, "after": cursor });
            let data: Data = self
                .call("orderLines", ORDER_LINES_QUERY, variables)
                .await?;
            let connection = data
                .order
                .ok_or_else(|| ShopifyError::NotFound(order_gid.to_owned()))?
                .line_items;
            for node in connection.nodes {
                lines.push(LineIn::try_from(node)?);
            }
            match connection.page_info {
                Some(PageInfo {
                    has_next_page: true,
                    end_cursor: Some(next),
                }) => cursor = next,
                _ => return Ok(lines),
            }
        }
    }

    /// Marks everything still open on the order as fulfilled, with tracking.
    ///
    /// Reads the order's fulfilment orders and creates one fulfilment for each that is open
    /// with quantity remaining (Shopify wants one location per fulfilment). An order with
    /// nothing open answers `already_fulfilled: true`, so pushing twice is harmless. If one of
    /// several fulfilment orders is refused, those before it stay fulfilled and a second push
    /// does only the rest.
    pub async fn fulfil(
        &self,
        order_gid: &str,
        tracking: Option<Tracking>,
        notify_customer: bool,
    ) -> Result<FulfilResult, ShopifyError> {
        #[derive(Deserialize)]
        struct Data {
            order: Option<OrderFulfillmentOrders>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct OrderFulfillmentOrders {
            fulfillment_orders: Nodes<FulfillmentOrder>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct FulfillmentOrder {
            id: String,
            status: String,
            line_items: Nodes<FulfillmentOrderLine>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct FulfillmentOrderLine {
            id: String,
            remaining_quantity: u32,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Created {
            fulfillment_create: Payload,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Payload {
            fulfillment: Option<IdOnly>,
            #[serde(default)]
            user_errors: Vec<UserError>,
        }

        let data: Data = self
            .call(
                "fulfillmentOrders",
                FULFILLMENT_ORDERS_QUERY,
                json!({ "id": order_gid }),
            )
            .await?;
        let order = data
            .order
            .ok_or_else(|| ShopifyError::NotFound(order_gid.to_owned()))?;
        let tracking_info =
            tracking.map(|t| json!({ "number": t.number, "url": t.url, "company": t.company }));
        let mut fulfillment_ids = Vec::new();
        for fo in order.fulfillment_orders.nodes {
            // Only these statuses accept a fulfilment; scheduled, on hold, closed and
            // cancelled ones are not ours to push.
            if fo.status != "OPEN" && fo.status != "IN_PROGRESS" {
                continue;
            }
            let lines: Vec<Value> = fo
                .line_items
                .nodes
                .iter()
                .filter(|l| l.remaining_quantity > 0)
                .map(|l| json!({ "id": l.id, "quantity": l.remaining_quantity }))
                .collect();
            if lines.is_empty() {
                continue;
            }
            let mut fulfillment = json!({
                "lineItemsByFulfillmentOrder": [{
                    "fulfillmentOrderId": fo.id,
                    "fulfillmentOrderLineItems": lines,
                }],
                "notifyCustomer": notify_customer,
            });
            if let Some(info) = &tracking_info {
                fulfillment["trackingInfo"] = info.clone();
            }
            let created: Created = self
                .call(
                    "fulfillmentCreate",
                    FULFILLMENT_CREATE_MUTATION,
                    json!({ "fulfillment": fulfillment }),
                )
                .await?;
            let payload = created.fulfillment_create;
            if !payload.user_errors.is_empty() {
                return Err(user_errors(payload.user_errors));
            }
            let created = payload.fulfillment.ok_or_else(|| {
                ShopifyError::Decode("fulfillmentCreate returned no fulfillment".into())
            })?;
            fulfillment_ids.push(created.id);
        }
        Ok(FulfilResult {
            already_fulfilled: fulfillment_ids.is_empty(),
            fulfillment_ids,
        })
    }

    /// This app's webhook subscriptions in the shop (the first 100).
    pub async fn webhook_subscriptions(&self) -> Result<Vec<Subscription>, ShopifyError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            webhook_subscriptions: Nodes<SubscriptionNode>,
        }
        let data: Data = self
            .call(
                "webhookSubscriptions",
                WEBHOOK_SUBSCRIPTIONS_QUERY,
                json!({}),
            )
            .await?;
        Ok(data
            .webhook_subscriptions
            .nodes
            .into_iter()
            .map(Subscription::from)
            .collect())
    }

    /// Subscribes `callback_url` (https) to `topic`, as JSON.
    pub async fn subscribe(
        &self,
        topic: Topic,
        callback_url: &str,
    ) -> Result<Subscription, ShopifyError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            webhook_subscription_create: Payload,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Payload {
            webhook_subscription: Option<SubscriptionNode>,
            #[serde(default)]
            user_errors: Vec<UserError>,
        }
        let variables = json!({
            "topic": topic.graphql_name(),
            "webhookSubscription": { "uri": callback_url, "format": "JSON" },
        });
        let data: Data = self
            .call(
                "webhookSubscriptionCreate",
                WEBHOOK_SUBSCRIBE_MUTATION,
                variables,
            )
            .await?;
        let payload = data.webhook_subscription_create;
        if !payload.user_errors.is_empty() {
            return Err(user_errors(payload.user_errors));
        }
        payload
            .webhook_subscription
            .map(Subscription::from)
            .ok_or_else(|| {
                ShopifyError::Decode("webhookSubscriptionCreate returned no subscription".into())
            })
    }

    /// Posts one query, waiting and retrying through throttles and 5xx, and decodes `data`.
    async fn call<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        query: &str,
        variables: Value,
    ) -> Result<T, ShopifyError> {
        let body = json!({ "query": query, "variables": variables });
        // A mutation that timed out may have been applied: only resend one that never left.
        let is_mutation = query.trim_start().starts_with("mutation");
        let mut waited = Duration::ZERO;
        let mut failure = Failure::Throttled;
        let mut waited_just_now = false;
        for attempt in 0..=self.max_retries {
            let last_attempt = attempt == self.max_retries;
            if !waited_just_now {
                let pause = self.pause_for_bucket(operation);
                if !pause.is_zero() {
                    tracing::debug!(
                        operation,
                        wait_ms = pause.as_millis() as u64,
                        "waiting for Shopify's query cost bucket to refill"
                    );
                    tokio::time::sleep(pause).await;
                    waited += pause;
                }
            }
            waited_just_now = false;
            let sent = self
                .http
                .post(&self.endpoint)
                .header("X-Shopify-Access-Token", &self.access_token)
                .json(&body)
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(e) if (e.is_connect() || (e.is_timeout() && !is_mutation)) && !last_attempt => {
                    let pause = self.backoff(attempt);
                    tracing::warn!(operation, attempt, error = %e, "Shopify unreachable; retrying");
                    tokio::time::sleep(pause).await;
                    waited_just_now = true;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let status = response.status().as_u16();
            match status {
                200..=299 => {}
                401 | 403 => return Err(ShopifyError::Unauthorized),
                429 => {
                    failure = Failure::Throttled;
                    let pause = retry_after(response.headers()).min(self.max_wait);
                    tracing::warn!(
                        operation,
                        attempt,
                        wait_ms = pause.as_millis() as u64,
                        "Shopify answered 429; waiting Retry-After"
                    );
                    if !last_attempt {
                        tokio::time::sleep(pause).await;
                        waited += pause;
                        waited_just_now = true;
                    }
                    continue;
                }
                500..=599 => {
                    failure = Failure::Server(status);
                    tracing::warn!(operation, attempt, status, "Shopify answered 5xx; retrying");
                    if !last_attempt {
                        tokio::time::sleep(self.backoff(attempt)).await;
                        waited_just_now = true;
                    }
                    continue;
                }
                _ => {
                    let text = response.text().await.unwrap_or_default();
                    return Err(ShopifyError::Status {
                        status,
                        body: text.chars().take(300).collect(),
                    });
                }
            }
            let envelope: Envelope = response
                .json()
                .await
                .map_err(|e| ShopifyError::Decode(e.to_string()))?;
            let cost = envelope.extensions.and_then(|e| e.cost);
            if let Some(cost) = cost {
                self.record(operation, cost);
            }
            if let Some(errors) = envelope.errors {
                if !is_throttled(&errors) {
                    return Err(ShopifyError::GraphQl(messages(&errors)));
                }
                failure = Failure::Throttled;
                let pause = cost
                    .map_or(Duration::from_secs(1), refill_time)
                    .min(self.max_wait);
                tracing::warn!(
                    operation,
                    attempt,
                    wait_ms = pause.as_millis() as u64,
                    "Shopify throttled the query; waiting for the bucket"
                );
                if !last_attempt {
                    tokio::time::sleep(pause).await;
                    waited += pause;
                    waited_just_now = true;
                }
                continue;
            }
            let data = envelope
                .data
                .ok_or_else(|| ShopifyError::Decode("the response has no data".into()))?;
            return serde_json::from_value(data).map_err(|e| ShopifyError::Decode(e.to_string()));
        }
        Err(match failure {
            Failure::Throttled => ShopifyError::Throttled { waited },
            Failure::Server(status) => ShopifyError::Server { status },
        })
    }

    fn bucket(&self) -> std::sync::MutexGuard<'_, Bucket> {
        // A panic elsewhere cannot leave the bucket inconsistent: it is two plain values.
        self.bucket.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, operation: &'static str, cost: Cost) {
        let mut bucket = self.bucket();
        bucket.last = Some((cost.throttle_status, Instant::now()));
        bucket.costs.insert(operation, cost.requested_query_cost);
    }

    /// How long to wait so the bucket holds what `operation` cost last time.
    fn pause_for_bucket(&self, operation: &'static str) -> Duration {
        let bucket = self.bucket();
        let (Some((status, at)), Some(&cost)) = (bucket.last, bucket.costs.get(operation)) else {
            return Duration::ZERO;
        };
        let refilled =
            status.currently_available + status.restore_rate * at.elapsed().as_secs_f64();
        let available = refilled.min(status.maximum_available);
        if available >= cost || status.restore_rate <= 0.0 {
            return Duration::ZERO;
        }
        seconds((cost - available) / status.restore_rate).min(self.max_wait)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        (Duration::from_millis(250) * 2u32.saturating_pow(attempt.min(10))).min(self.max_wait)
    }
}

#[derive(Deserialize)]
struct Nodes<T> {
    nodes: Vec<T>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Deserialize)]
struct SubscriptionNode {
    id: String,
    topic: String,
    uri: String,
}

impl From<SubscriptionNode> for Subscription {
    fn from(n: SubscriptionNode) -> Subscription {
        Subscription {
            id: n.id,
            topic: n.topic,
            callback_url: n.uri,
        }
    }
}

#[derive(Deserialize)]
struct UserError {
    #[serde(default)]
    field: Option<Vec<String>>,
    message: String,
}

fn user_errors(errors: Vec<UserError>) -> ShopifyError {
    ShopifyError::UserErrors(
        errors
            .into_iter()
            .map(|e| match e.field {
                Some(field) if !field.is_empty() => format!("{}: {}", field.join("."), e.message),
                _ => e.message,
            })
            .collect(),
    )
}

fn is_throttled(errors: &Value) -> bool {
    errors.as_array().is_some_and(|list| {
        list.iter()
            .any(|e| e.pointer("/extensions/code").and_then(Value::as_str) == Some("THROTTLED"))
    })
}

fn messages(errors: &Value) -> Vec<String> {
    match errors {
        Value::String(text) => vec![text.clone()],
        Value::Array(list) => list
            .iter()
            .map(|e| {
                let message = e.get("message").and_then(Value::as_str).unwrap_or("error");
                match e.pointer("/extensions/code").and_then(Value::as_str) {
                    Some(code) => format!("{code}: {message}"),
                    None => message.to_owned(),
                }
            })
            .collect(),
        other => vec![other.to_string()],
    }
}

/// The time the bucket needs to hold the throttled query's cost again.
fn refill_time(cost: Cost) -> Duration {
    let status = cost.throttle_status;
    if status.restore_rate <= 0.0 {
        return Duration::from_secs(1);
    }
    seconds((cost.requested_query_cost - status.currently_available) / status.restore_rate)
}

/// `Retry-After` in seconds (Shopify sends e.g. `2.0`); one second when absent or unreadable.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(1), seconds)
}

fn seconds(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 {
        Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)
    } else {
        Duration::ZERO
    }
}

/// TLS for shops: the platform's trust store, verified with the ring provider.
fn tls() -> Result<rustls::ClientConfig, ShopifyError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth())
}

const SHOP_QUERY: &str = "query Shop { shop { name myshopifyDomain currencyCode } }";

const ORDERS_QUERY: &str = r#"query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id name email phone createdAt updatedAt cancelledAt currencyCode note
      displayFinancialStatus displayFulfillmentStatus
      totalPriceSet { shopMoney { amount currencyCode } }
      subtotalPriceSet { shopMoney { amount currencyCode } }
      totalTaxSet { shopMoney { amount currencyCode } }
      totalDiscountsSet { shopMoney { amount currencyCode } }
      totalShippingPriceSet { shopMoney { amount currencyCode } }
      customer {
        firstName lastName
        defaultEmailAddress { emailAddress }
        defaultPhoneNumber { phoneNumber }
      }
      shippingAddress { name address1 address2 city province zip country }
      lineItems(first: 25) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id sku title variantTitle quantity
          originalUnitPriceSet { shopMoney { amount currencyCode } }
        }
      }
    }
  }
}"#;

const ORDER_LINES_QUERY: &str = r#"query OrderLines($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id sku title variantTitle quantity
        originalUnitPriceSet { shopMoney { amount currencyCode } }
      }
    }
  }
}"#;

// Five fulfilment orders of 100 lines request ~517 points, inside the 1000-point query limit.
const FULFILLMENT_ORDERS_QUERY: &str = r#"query FulfillmentOrders($id: ID!) {
  order(id: $id) {
    fulfillmentOrders(first: 5) {
      nodes {
        id status
        lineItems(first: 100) { nodes { id remainingQuantity } }
      }
    }
  }
}"#;

const FULFILLMENT_CREATE_MUTATION: &str = r#"mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}"#;

const WEBHOOK_SUBSCRIPTIONS_QUERY: &str = r#"query WebhookSubscriptions {
  webhookSubscriptions(first: 100) { nodes { id topic uri } }
}"#;

// `uri` replaced the HTTPS-only `callbackUrl` in 2025-10.
const WEBHOOK_SUBSCRIBE_MUTATION: &str = r#"mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_query_waits_for_its_cost_to_refill() {
        let cost = Cost {
            requested_query_cost: 752.0,
            throttle_status: ThrottleStatus {
                maximum_available: 1000.0,
                currently_available: 552.0,
                restore_rate: 100.0,
            },
        };
        assert_eq!(refill_time(cost), Duration::from_secs(2));
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_defaults_to_one() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), Duration::from_secs(1));
        h.insert(reqwest::header::RETRY_AFTER, "2.0".parse().unwrap());
        assert_eq!(retry_after(&h), Duration::from_secs(2));
        h.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), Duration::from_secs(1));
    }

    #[test]
    fn the_config_debug_never_shows_the_token() {
        let config = Config::new("farm.myshopify.com", "shpat_secret");
        assert!(!format!("{config:?}").contains("shpat_secret"));
        let client = Client::new(config).unwrap();
        assert!(!format!("{client:?}").contains("shpat_secret"));
        assert_eq!(
            client.endpoint(),
            "https://farm.myshopify.com/admin/api/2026-10/graphql.json"
        );
    }

    #[test]
    fn a_client_refuses_a_domain_that_is_a_url() {
        let config = Config::new("https://farm.myshopify.com/admin", "t");
        assert!(matches!(Client::new(config), Err(ShopifyError::Config(_))));
    }
}
