//! A fake Shopify shop on loopback that speaks the Admin GraphQL wire format our client uses,
//! plus a webhook signer and a documented-shape `orders/create` payload. For tests only
//! (cargo feature `fake`): it recognises our operations by their query text, not by parsing
//! GraphQL, and answers with every field whatever the selection.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::admin::{API_VERSION, Subscription, Tracking};
use crate::money::{cents, decimal};
use crate::webhook::{self, Topic};

/// The fake shop's `myshopify.com` domain.
pub const FAKE_DOMAIN: &str = "printfarm-test.myshopify.com";
/// The fake bucket's size, as a Shopify Plus shop reports it.
pub const MAXIMUM_AVAILABLE: f64 = 2000.0;
/// The fake bucket's restore rate, points a second.
pub const RESTORE_RATE: f64 = 100.0;
/// Shopify's refusal of a bad token, word for word.
pub const INVALID_TOKEN_BODY: &str =
    r#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#;

/// The operation names [`FakeShop::requests`] counts under.
pub mod op {
    /// `shop { … }`.
    pub const SHOP: &str = "shop";
    /// `orders(…)`.
    pub const ORDERS: &str = "orders";
    /// The follow-up line items of one order.
    pub const ORDER_LINES: &str = "orderLines";
    /// An order's `fulfillmentOrders`.
    pub const FULFILLMENT_ORDERS: &str = "fulfillmentOrders";
    /// `fulfillmentCreate`.
    pub const FULFILLMENT_CREATE: &str = "fulfillmentCreate";
    /// `webhookSubscriptions`.
    pub const WEBHOOK_SUBSCRIPTIONS: &str = "webhookSubscriptions";
    /// `webhookSubscriptionCreate`.
    pub const WEBHOOK_SUBSCRIPTION_CREATE: &str = "webhookSubscriptionCreate";
    /// Anything else.
    pub const UNKNOWN: &str = "unknown";
}

/// An order to hold in the fake shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSpec {
    /// Numeric id (may exceed 2^53, like Shopify's).
    pub id: u64,
    /// Display name, e.g. `#1001`.
    pub name: String,
    /// Contact email.
    pub email: Option<String>,
    /// Customer given and family names.
    pub customer: Option<(String, String)>,
    /// Shop currency.
    pub currency: String,
    /// Placed at (RFC 3339).
    pub created_at: String,
    /// Changed at (RFC 3339): what `updated_at:>=` filters and pages sort on.
    pub updated_at: String,
    /// Whether cancelled.
    pub cancelled: bool,
    /// Shipping, decimal string.
    pub shipping_price: String,
    /// What was ordered.
    pub lines: Vec<LineSpec>,
}

/// A line of an [`OrderSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineSpec {
    /// Numeric line item id.
    pub id: u64,
    /// SKU, if any.
    pub sku: Option<String>,
    /// Product title.
    pub title: String,
    /// Quantity.
    pub quantity: u32,
    /// Unit price, decimal string.
    pub price: String,
}

impl OrderSpec {
    /// An order with lines of `(sku, quantity, unit price)`; line ids are `id * 1000 + n`.
    pub fn new(id: u64, name: &str, lines: &[(&str, u32, &str)]) -> OrderSpec {
        OrderSpec {
            id,
            name: name.to_owned(),
            email: Some(format!("customer{id}@example.com")),
            customer: Some(("Ada".into(), "Lovelace".into())),
            currency: "USD".into(),
            created_at: "2026-11-01T09:00:00Z".into(),
            updated_at: "2026-11-01T09:00:00Z".into(),
            cancelled: false,
            shipping_price: "4.99".into(),
            lines: lines
                .iter()
                .enumerate()
                .map(|(n, (sku, quantity, price))| LineSpec {
                    id: id.wrapping_mul(1000).wrapping_add(n as u64 + 1),
                    sku: (!sku.is_empty()).then(|| (*sku).to_owned()),
                    title: format!("Printed {sku}"),
                    quantity: *quantity,
                    price: (*price).to_owned(),
                })
                .collect(),
        }
    }

    /// The same order, changed at `updated_at`.
    pub fn updated_at(mut self, updated_at: &str) -> OrderSpec {
        self.updated_at = updated_at.to_owned();
        self
    }

    fn gid(&self) -> String {
        format!("gid://shopify/Order/{}", self.id)
    }

    fn subtotal_cents(&self) -> i64 {
        self.lines
            .iter()
            .map(|l| cents(&l.price).unwrap_or(0) * i64::from(l.quantity))
            .sum()
    }
}

/// A fulfilment the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeFulfilment {
    /// The fulfilment's id.
    pub id: String,
    /// The order it fulfils.
    pub order_gid: String,
    /// The tracking sent with it.
    pub tracking: Option<Tracking>,
    /// Whether the customer was to be told.
    pub notify_customer: bool,
    /// Fulfilment order line item ids and quantities.
    pub lines: Vec<(String, u32)>,
}

struct HeldOrder {
    spec: OrderSpec,
    remaining: Vec<u32>,
}

impl HeldOrder {
    fn fulfillment_order_status(&self) -> &'static str {
        if self.spec.cancelled {
            "CANCELLED"
        } else if self.remaining.iter().all(|&r| r == 0) {
            "CLOSED"
        } else if self
            .remaining
            .iter()
            .zip(&self.spec.lines)
            .all(|(&r, l)| r == l.quantity)
        {
            "OPEN"
        } else {
            "IN_PROGRESS"
        }
    }
}

#[derive(Default)]
struct Shop {
    token: String,
    orders: Vec<HeldOrder>,
    http_throttles: u32,
    retry_after_secs: u64,
    graphql_throttles: u32,
    server_errors: u32,
    low_bucket: u32,
    reject_fulfilments: Option<String>,
    fulfilments: Vec<FakeFulfilment>,
    subscriptions: Vec<Subscription>,
    requests: BTreeMap<String, u32>,
    next_id: u64,
}

type Shared = Arc<Mutex<Shop>>;

/// A fake shop serving `POST /admin/api/{version}/graphql.json` on `127.0.0.1`.
pub struct FakeShop {
    addr: SocketAddr,
    token: String,
    shop: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeShop {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeShop {
    /// Starts a fake shop on a free loopback port.
    pub async fn start() -> std::io::Result<FakeShop> {
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let token = format!("shpat_fake{nanos:x}");
        let shop: Shared = Arc::new(Mutex::new(Shop {
            token: token.clone(),
            next_id: 1,
            ..Shop::default()
        }));
        let router = Router::new()
            .route("/admin/api/{version}/graphql.json", post(graphql))
            .with_state(shop.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "fake shop stopped");
            }
        });
        Ok(FakeShop {
            addr,
            token,
            shop,
            server,
        })
    }

    /// `http://127.0.0.1:{port}`: the client's `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The access token the fake accepts.
    pub fn access_token(&self) -> &str {
        &self.token
    }

    /// The fake's shop domain.
    pub fn shop_domain(&self) -> &'static str {
        FAKE_DOMAIN
    }

    /// Holds an order (replacing one with the same id).
    pub fn add_order(&self, spec: OrderSpec) {
        let mut shop = self.lock();
        shop.orders.retain(|o| o.spec.id != spec.id);
        let remaining = spec.lines.iter().map(|l| l.quantity).collect();
        shop.orders.push(HeldOrder { spec, remaining });
    }

    /// Answers the next `n` requests with HTTP 429 and `Retry-After: retry_after_secs`.
    pub fn throttle_next_http(&self, n: u32, retry_after_secs: u64) {
        let mut shop = self.lock();
        shop.http_throttles = n;
        shop.retry_after_secs = retry_after_secs;
    }

    /// Answers the next `n` requests with 200 and a `THROTTLED` error, the bucket nearly empty.
    pub fn throttle_next_graphql(&self, n: u32) {
        self.lock().graphql_throttles = n;
    }

    /// Answers the next `n` requests with HTTP 503.
    pub fn fail_next_http(&self, n: u32) {
        self.lock().server_errors = n;
    }

    /// Reports an empty bucket (`currentlyAvailable: 0`) in the next `n` successful answers.
    pub fn drain_bucket_next(&self, n: u32) {
        self.lock().low_bucket = n;
    }

    /// Refuses the next `fulfillmentCreate` with this `userErrors` message.
    pub fn reject_next_fulfilment(&self, message: &str) {
        self.lock().reject_fulfilments = Some(message.to_owned());
    }

    /// The fulfilments created so far.
    pub fn fulfilments(&self) -> Vec<FakeFulfilment> {
        self.lock().fulfilments.clone()
    }

    /// The webhook subscriptions created so far.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.lock().subscriptions.clone()
    }

    /// Requests received per operation (see [`op`]), throttled and refused ones included.
    pub fn requests(&self) -> BTreeMap<String, u32> {
        self.lock().requests.clone()
    }

    /// Requests received for one operation.
    pub fn requests_for(&self, operation: &str) -> u32 {
        self.lock().requests.get(operation).copied().unwrap_or(0)
    }

    /// A webhook delivery as Shopify sends it: the body and its headers, signed with `secret`.
    pub fn signed_webhook(
        topic: Topic,
        order_json: &Value,
        secret: &[u8],
    ) -> (Vec<u8>, Vec<(String, String)>) {
        let body = serde_json::to_vec(order_json).unwrap_or_default();
        let digest = Sha256::digest([topic.as_str().as_bytes(), &body].concat());
        let webhook_id = uuid_like(&digest[..16]);
        let event_id = uuid_like(&digest[16..32]);
        let mut headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("X-Shopify-Topic".to_owned(), topic.as_str().to_owned()),
            (
                "X-Shopify-Hmac-Sha256".to_owned(),
                webhook::sign(secret, &body),
            ),
            ("X-Shopify-Shop-Domain".to_owned(), FAKE_DOMAIN.to_owned()),
            ("X-Shopify-Webhook-Id".to_owned(), webhook_id),
            ("X-Shopify-Event-Id".to_owned(), event_id),
            ("X-Shopify-API-Version".to_owned(), API_VERSION.to_owned()),
            (
                "X-Shopify-Triggered-At".to_owned(),
                Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            ),
        ];
        if let Some(id) = order_json.get("id") {
            headers.push(("X-Shopify-Order-Id".to_owned(), id.to_string()));
        }
        (body, headers)
    }

    /// The `(name, value)` pairs of [`FakeShop::signed_webhook`] as a header map.
    pub fn header_map(headers: &[(String, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                map.insert(name, value);
            }
        }
        map
    }

    fn lock(&self) -> MutexGuard<'_, Shop> {
        lock(&self.shop)
    }
}

fn lock(shop: &Shared) -> MutexGuard<'_, Shop> {
    shop.lock().unwrap_or_else(|e| e.into_inner())
}

fn uuid_like(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// An `orders/create` payload with the structure and field names of Shopify's documented
/// sample, filled with our values; lines are `(sku, quantity, unit price)`.
pub fn sample_order_json(id: u64, name: &str, lines: &[(&str, u32, &str)]) -> Value {
    let money = |amount: &str| {
        json!({
            "shop_money": { "amount": amount, "currency_code": "USD" },
            "presentment_money": { "amount": amount, "currency_code": "USD" },
        })
    };
    let subtotal: i64 = lines
        .iter()
        .map(|(_, qty, price)| cents(price).unwrap_or(0) * i64::from(*qty))
        .sum();
    let shipping = 1000;
    let subtotal_text = decimal(subtotal);
    let total_text = decimal(subtotal + shipping);
    let line_items: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(n, (sku, quantity, price))| {
            let line_id = id.wrapping_mul(1000).wrapping_add(n as u64 + 1);
            json!({
                "id": line_id,
                "admin_graphql_api_id": format!("gid://shopify/LineItem/{line_id}"),
                "attributed_staffs": [],
                "current_quantity": quantity,
                "fulfillable_quantity": quantity,
                "fulfillment_service": "manual",
                "fulfillment_status": null,
                "gift_card": false,
                "grams": 100,
                "name": format!("Printed {sku} - Black"),
                "price": price,
                "price_set": money(price),
                "product_exists": true,
                "product_id": 788032119674292922u64,
                "properties": [],
                "quantity": quantity,
                "requires_shipping": true,
                "sku": sku,
                "taxable": true,
                "title": format!("Printed {sku}"),
                "total_discount": "0.00",
                "total_discount_set": money("0.00"),
                "variant_id": 642667041472713922u64,
                "variant_inventory_management": "shopify",
                "variant_title": "Black",
                "vendor": null,
                "tax_lines": [],
                "duties": [],
                "discount_allocations": [],
            })
        })
        .collect();
    let address = |first: &str, last: &str, street: &str| {
        json!({
            "first_name": first,
            "address1": street,
            "phone": "555-555-0100",
            "city": "Springfield",
            "zip": "40003",
            "province": "Kentucky",
            "country": "United States",
            "last_name": last,
            "address2": null,
            "company": null,
            "latitude": null,
            "longitude": null,
            "name": format!("{first} {last}"),
            "country_code": "US",
            "province_code": "KY",
        })
    };
    json!({
        "id": id,
        "admin_graphql_api_id": format!("gid://shopify/Order/{id}"),
        "app_id": null,
        "browser_ip": null,
        "buyer_accepts_marketing": true,
        "cancel_reason": null,
        "cancelled_at": null,
        "cart_token": null,
        "checkout_id": null,
        "checkout_token": null,
        "client_details": null,
        "closed_at": null,
        "confirmation_number": null,
        "confirmed": false,
        "contact_email": "ada@example.com",
        "created_at": "2026-11-30T10:15:00-05:00",
        "currency": "USD",
        "current_subtotal_price": subtotal_text,
        "current_subtotal_price_set": money(&subtotal_text),
        "current_total_discounts": "0.00",
        "current_total_discounts_set": money("0.00"),
        "current_total_duties_set": null,
        "current_total_price": total_text,
        "current_total_price_set": money(&total_text),
        "current_total_tax": "0.00",
        "current_total_tax_set": money("0.00"),
        "customer_locale": "en",
        "device_id": null,
        "discount_codes": [],
        "email": "ada@example.com",
        "estimated_taxes": false,
        "financial_status": "paid",
        "fulfillment_status": null,
        "landing_site": null,
        "landing_site_ref": null,
        "location_id": null,
        "merchant_of_record_app_id": null,
        "name": name,
        "note": null,
        "note_attributes": [],
        "number": id % 100_000,
        "order_number": 1000 + id % 100_000,
        "order_status_url": format!("https://{FAKE_DOMAIN}/orders/{id}/authenticate?key=sample"),
        "original_total_duties_set": null,
        "payment_gateway_names": ["visa", "bogus"],
        "phone": null,
        "presentment_currency": "USD",
        "processed_at": "2026-11-30T10:15:00-05:00",
        "reference": null,
        "referring_site": null,
        "source_identifier": null,
        "source_name": "web",
        "source_url": null,
        "subtotal_price": subtotal_text,
        "subtotal_price_set": money(&subtotal_text),
        "tags": "",
        "tax_exempt": false,
        "tax_lines": [],
        "taxes_included": false,
        "test": true,
        "token": "123456abcd",
        "total_discounts": "0.00",
        "total_discounts_set": money("0.00"),
        "total_line_items_price": subtotal_text,
        "total_line_items_price_set": money(&subtotal_text),
        "total_outstanding": "0.00",
        "total_price": total_text,
        "total_price_set": money(&total_text),
        "total_shipping_price_set": money(&decimal(shipping)),
        "total_tax": "0.00",
        "total_tax_set": money("0.00"),
        "total_tip_received": "0.00",
        "total_weight": 0,
        "updated_at": "2026-11-30T10:15:00-05:00",
        "user_id": null,
        "billing_address": address("Ada", "Lovelace", "12 Billing Street"),
        "customer": {
            "id": 115310627314723954u64,
            "email": "ada@example.com",
            "created_at": null,
            "updated_at": null,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "state": "disabled",
            "note": null,
            "verified_email": true,
            "multipass_identifier": null,
            "tax_exempt": false,
            "phone": null,
            "currency": "USD",
            "tax_exemptions": [],
            "admin_graphql_api_id": "gid://shopify/Customer/115310627314723954",
            "default_address": address("Ada", "Lovelace", "12 Elm Street"),
        },
        "discount_applications": [],
        "fulfillments": [],
        "line_items": line_items,
        "payment_terms": null,
        "refunds": [],
        "shipping_address": address("Ada", "Lovelace", "12 Shipping Street"),
        "shipping_lines": [{
            "id": 271878346596884015u64,
            "carrier_identifier": null,
            "code": null,
            "discounted_price": decimal(shipping),
            "discounted_price_set": money(&decimal(shipping)),
            "is_removed": false,
            "phone": null,
            "price": decimal(shipping),
            "price_set": money(&decimal(shipping)),
            "requested_fulfillment_service_id": null,
            "source": "shopify",
            "title": "Generic Shipping",
            "tax_lines": [],
            "discount_allocations": [],
        }],
    })
}

// ---------------------------------------------------------------------------------------------
// The server side.

async fn graphql(State(shop): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return answer(StatusCode::BAD_REQUEST, json!({"errors": "Bad Request"})),
    };
    let query = request
        .get("query")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let variables = request.get("variables").cloned().unwrap_or(Value::Null);
    let operation = operation(query);
    let mut shop = lock(&shop);
    *shop.requests.entry(operation.to_owned()).or_default() += 1;

    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(shop.token.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            [("content-type", "application/json")],
            INVALID_TOKEN_BODY,
        )
            .into_response();
    }
    if shop.http_throttles > 0 {
        shop.http_throttles -= 1;
        let retry_after = shop.retry_after_secs.to_string();
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("content-type", "application/json".to_owned()),
                ("retry-after", retry_after),
            ],
            r#"{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}"#,
        )
            .into_response();
    }
    if shop.server_errors > 0 {
        shop.server_errors -= 1;
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"errors": "Service Unavailable"}),
        );
    }
    let requested = requested_cost(operation, query, &variables);
    if requested > 1000.0 {
        return answer(
            StatusCode::OK,
            json!({
                "errors": [{
                    "message": format!("Query cost is {requested}, which exceeds the single query max cost limit (1000)."),
                    "extensions": { "code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": 1000 },
                }],
            }),
        );
    }
    if shop.graphql_throttles > 0 {
        shop.graphql_throttles -= 1;
        return answer(
            StatusCode::OK,
            json!({
                "errors": [{
                    "message": "Throttled",
                    "extensions": {
                        "code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/rate-limits",
                    },
                }],
                "extensions": { "cost": cost(requested, None, requested / 4.0) },
            }),
        );
    }
    let data = match operation {
        op::SHOP => Ok(json!({
            "shop": {
                "name": "PrintFarm Test Shop",
                "myshopifyDomain": FAKE_DOMAIN,
                "currencyCode": "USD",
            }
        })),
        op::ORDERS => Ok(shop.orders_page(query, &variables)),
        op::ORDER_LINES => Ok(shop.order_lines(&variables)),
        op::FULFILLMENT_ORDERS => Ok(shop.fulfillment_orders(&variables)),
        op::FULFILLMENT_CREATE => Ok(shop.fulfillment_create(&variables)),
        op::WEBHOOK_SUBSCRIPTIONS => Ok(json!({
            "webhookSubscriptions": {
                "nodes": shop.subscriptions.iter().map(|s| json!({
                    "id": s.id, "topic": s.topic, "uri": s.callback_url,
                })).collect::<Vec<_>>(),
            }
        })),
        op::WEBHOOK_SUBSCRIPTION_CREATE => Ok(shop.subscribe(&variables)),
        _ => Err("the fake shop does not know this operation"),
    };
    match data {
        Ok(data) => {
            // A rough actual cost: what was asked, less what did not come back.
            let actual = (requested / 2.0).ceil().max(1.0);
            let available = if shop.low_bucket > 0 {
                shop.low_bucket -= 1;
                0.0
            } else {
                MAXIMUM_AVAILABLE - actual
            };
            answer(
                StatusCode::OK,
                json!({
                    "data": data,
                    "extensions": { "cost": cost(requested, Some(actual), available) },
                }),
            )
        }
        Err(message) => answer(
            StatusCode::OK,
            json!({ "errors": [{ "message": message }] }),
        ),
    }
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn cost(requested: f64, actual: Option<f64>, available: f64) -> Value {
    json!({
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": {
            "maximumAvailable": MAXIMUM_AVAILABLE,
            "currentlyAvailable": available,
            "restoreRate": RESTORE_RATE,
        },
    })
}

/// Which of our operations a query is, by its text (mutations first: their text names more).
fn operation(query: &str) -> &'static str {
    if query.contains("fulfillmentCreate") {
        op::FULFILLMENT_CREATE
    } else if query.contains("webhookSubscriptionCreate") {
        op::WEBHOOK_SUBSCRIPTION_CREATE
    } else if query.contains("webhookSubscriptions") {
        op::WEBHOOK_SUBSCRIPTIONS
    } else if query.contains("fulfillmentOrders") {
        op::FULFILLMENT_ORDERS
    } else if query.contains("orders(") {
        op::ORDERS
    } else if query.contains("order(") && query.contains("lineItems(") {
        op::ORDER_LINES
    } else if query.contains("shop {") {
        op::SHOP
    } else {
        op::UNKNOWN
    }
}

/// The `first:` literal after `field(` in the query text.
fn first_of(query: &str, field: &str) -> u64 {
    query
        .find(&format!("{field}(first: "))
        .map(|at| &query[at + field.len() + 8..])
        .and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or(0)
}

/// Shopify's requested cost: objects cost 1, a connection 2 plus `first ×` its node.
fn requested_cost(operation: &str, query: &str, variables: &Value) -> f64 {
    let lines = first_of(query, "lineItems") as f64;
    let cost = match operation {
        op::SHOP => 1.0,
        op::ORDERS => {
            let first = variables.get("first").and_then(Value::as_u64).unwrap_or(0) as f64;
            // Order 1, five money bags at 2 each, customer with email and phone 3, address 1.
            2.0 + first * (15.0 + 2.0 + lines * 3.0)
        }
        op::ORDER_LINES => 1.0 + 2.0 + lines * 3.0,
        op::FULFILLMENT_ORDERS => {
            let orders = first_of(query, "fulfillmentOrders") as f64;
            1.0 + 2.0 + orders * (1.0 + 2.0 + lines)
        }
        op::WEBHOOK_SUBSCRIPTIONS => 2.0 + first_of(query, "webhookSubscriptions") as f64,
        _ => 10.0,
    };
    cost.max(1.0)
}

fn cursor(updated_at: &str, id: u64) -> String {
    STANDARD.encode(json!({ "last_id": id, "last_value": updated_at }).to_string())
}

fn read_cursor(text: &str) -> Option<(DateTime<Utc>, u64)> {
    let bytes = STANDARD.decode(text).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    Some((
        time(value.get("last_value")?.as_str()?)?,
        value.get("last_id")?.as_u64()?,
    ))
}

fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn money_bag(cents: i64, currency: &str) -> Value {
    json!({ "shopMoney": { "amount": decimal(cents), "currencyCode": currency } })
}

impl Shop {
    fn orders_page(&self, query: &str, variables: &Value) -> Value {
        let first = variables.get("first").and_then(Value::as_u64).unwrap_or(0) as usize;
        let lines_first = first_of(query, "lineItems") as usize;
        let since = variables
            .get("query")
            .and_then(Value::as_str)
            .and_then(|q| q.strip_prefix("updated_at:>="))
            .and_then(|t| time(t.trim_matches(|c| c == '\'' || c == '"')));
        let after = variables
            .get("after")
            .and_then(Value::as_str)
            .and_then(read_cursor);
        let mut matching: Vec<(DateTime<Utc>, &HeldOrder)> = self
            .orders
            .iter()
            .filter_map(|o| Some((time(&o.spec.updated_at)?, o)))
            .filter(|(at, _)| since.is_none_or(|since| *at >= since))
            .filter(|(at, o)| after.is_none_or(|after| (*at, o.spec.id) > after))
            .collect();
        matching.sort_by_key(|(at, o)| (*at, o.spec.id));
        let has_next_page = matching.len() > first;
        let page: Vec<&HeldOrder> = matching.iter().take(first).map(|(_, o)| *o).collect();
        json!({
            "orders": {
                "pageInfo": {
                    "hasNextPage": has_next_page,
                    "endCursor": page.last().map(|o| cursor(&o.spec.updated_at, o.spec.id)),
                },
                "nodes": page.iter().map(|o| order_node(o, lines_first)).collect::<Vec<_>>(),
            }
        })
    }

    fn order(&self, gid: &str) -> Option<&HeldOrder> {
        self.orders.iter().find(|o| o.spec.gid() == gid)
    }

    fn order_lines(&self, variables: &Value) -> Value {
        let gid = variables
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(order) = self.order(gid) else {
            return json!({ "order": null });
        };
        let after = variables
            .get("after")
            .and_then(Value::as_str)
            .and_then(|c| STANDARD.decode(c).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
        json!({ "order": { "lineItems": line_connection(&order.spec, after, 100) } })
    }

    fn fulfillment_orders(&self, variables: &Value) -> Value {
        let gid = variables
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(order) = self.order(gid) else {
            return json!({ "order": null });
        };
        let lines: Vec<Value> = order
            .spec
            .lines
            .iter()
            .zip(&order.remaining)
            .map(|(l, r)| {
                json!({
                    "id": format!("gid://shopify/FulfillmentOrderLineItem/{}", l.id),
                    "remainingQuantity": r,
                })
            })
            .collect();
        json!({
            "order": {
                "fulfillmentOrders": {
                    "nodes": [{
                        "id": format!("gid://shopify/FulfillmentOrder/{}", order.spec.id),
                        "status": order.fulfillment_order_status(),
                        "lineItems": { "nodes": lines },
                    }],
                }
            }
        })
    }

    fn fulfillment_create(&mut self, variables: &Value) -> Value {
        let refuse = |message: String| {
            json!({
                "fulfillmentCreate": {
                    "fulfillment": null,
                    "userErrors": [{ "field": ["fulfillment"], "message": message }],
                }
            })
        };
        if let Some(message) = self.reject_fulfilments.take() {
            return refuse(message);
        }
        let input = variables.get("fulfillment").cloned().unwrap_or(Value::Null);
        let groups = input
            .get("lineItemsByFulfillmentOrder")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut order_gid = None;
        let mut fulfilled = Vec::new();
        for group in &groups {
            let fo_id = group
                .get("fulfillmentOrderId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(index) = self
                .orders
                .iter()
                .position(|o| format!("gid://shopify/FulfillmentOrder/{}", o.spec.id) == fo_id)
            else {
                return refuse(format!("Fulfillment order {fo_id} does not exist."));
            };
            let order = &mut self.orders[index];
            let status = order.fulfillment_order_status();
            if status != "OPEN" && status != "IN_PROGRESS" {
                return refuse(format!(
                    "Fulfillment order {fo_id} has an unfulfillable status= {}.",
                    status.to_lowercase()
                ));
            }
            let asked: Vec<(String, u32)> = match group
                .get("fulfillmentOrderLineItems")
                .and_then(Value::as_array)
            {
                // No lines named: every remaining line of the fulfilment order, as Shopify does.
                None => order
                    .spec
                    .lines
                    .iter()
                    .zip(&order.remaining)
                    .map(|(l, r)| {
                        (
                            format!("gid://shopify/FulfillmentOrderLineItem/{}", l.id),
                            *r,
                        )
                    })
                    .collect(),
                Some(lines) => lines
                    .iter()
                    .map(|l| {
                        (
                            l.get("id")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned(),
                            l.get("quantity").and_then(Value::as_u64).unwrap_or(0) as u32,
                        )
                    })
                    .collect(),
            };
            for (line_gid, quantity) in &asked {
                let Some(n) = order.spec.lines.iter().position(|l| {
                    format!("gid://shopify/FulfillmentOrderLineItem/{}", l.id) == *line_gid
                }) else {
                    return refuse(format!(
                        "Fulfillment order line item {line_gid} does not exist."
                    ));
                };
                if *quantity > order.remaining[n] {
                    return refuse(
                        "Invalid fulfillment order line item quantity requested.".into(),
                    );
                }
            }
            for (line_gid, quantity) in &asked {
                if let Some(n) = order.spec.lines.iter().position(|l| {
                    format!("gid://shopify/FulfillmentOrderLineItem/{}", l.id) == *line_gid
                }) {
                    order.remaining[n] -= quantity;
                }
            }
            order_gid = Some(order.spec.gid());
            fulfilled.extend(asked);
        }
        let Some(order_gid) = order_gid else {
            return refuse("Line items by fulfillment order can't be blank.".into());
        };
        let tracking = input
            .get("trackingInfo")
            .filter(|t| t.is_object())
            .map(|t| {
                let text = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_owned);
                Tracking {
                    number: text("number"),
                    url: text("url"),
                    company: text("company"),
                }
            });
        let id = format!("gid://shopify/Fulfillment/{}", self.next_id);
        self.next_id += 1;
        self.fulfilments.push(FakeFulfilment {
            id: id.clone(),
            order_gid,
            tracking,
            notify_customer: input
                .get("notifyCustomer")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            lines: fulfilled,
        });
        json!({
            "fulfillmentCreate": {
                "fulfillment": { "id": id, "status": "SUCCESS" },
                "userErrors": [],
            }
        })
    }

    fn subscribe(&mut self, variables: &Value) -> Value {
        let topic = variables
            .get("topic")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let input = variables.get("webhookSubscription");
        let uri = input
            .and_then(|i| i.get("uri").or_else(|| i.get("callbackUrl")))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let refuse = |message: &str| {
            json!({
                "webhookSubscriptionCreate": {
                    "webhookSubscription": null,
                    "userErrors": [{ "field": ["webhookSubscription", "callbackUrl"], "message": message }],
                }
            })
        };
        if Topic::parse(topic).is_err()
            && !topic.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        {
            return refuse("Topic is invalid");
        }
        if !uri.starts_with("https://") {
            return refuse("Address protocol http:// is not supported");
        }
        if self
            .subscriptions
            .iter()
            .any(|s| s.topic == topic && s.callback_url == uri)
        {
            return refuse("Address for this topic has already been taken");
        }
        let subscription = Subscription {
            id: format!("gid://shopify/WebhookSubscription/{}", self.next_id),
            topic: topic.to_owned(),
            callback_url: uri.to_owned(),
        };
        self.next_id += 1;
        self.subscriptions.push(subscription.clone());
        json!({
            "webhookSubscriptionCreate": {
                "webhookSubscription": {
                    "id": subscription.id, "topic": subscription.topic, "uri": subscription.callback_url,
                },
                "userErrors": [],
            }
        })
    }
}

fn line_connection(spec: &OrderSpec, offset: usize, first: usize) -> Value {
    let nodes: Vec<Value> = spec
        .lines
        .iter()
        .skip(offset)
        .take(first)
        .map(|l| {
            json!({
                "id": format!("gid://shopify/LineItem/{}", l.id),
                "sku": l.sku,
                "title": l.title,
                "variantTitle": null,
                "quantity": l.quantity,
                // Verbatim, as Shopify's Decimal scalar sends it ("3.5", "12.30").
                "originalUnitPriceSet": {
                    "shopMoney": { "amount": l.price, "currencyCode": spec.currency },
                },
            })
        })
        .collect();
    let end = offset + nodes.len();
    json!({
        "pageInfo": {
            "hasNextPage": end < spec.lines.len(),
            "endCursor": (!nodes.is_empty()).then(|| STANDARD.encode(end.to_string())),
        },
        "nodes": nodes,
    })
}

fn order_node(order: &HeldOrder, lines_first: usize) -> Value {
    let spec = &order.spec;
    let subtotal = spec.subtotal_cents();
    let shipping = cents(&spec.shipping_price).unwrap_or(0);
    let currency = spec.currency.as_str();
    json!({
        "id": spec.gid(),
        "name": spec.name,
        "email": spec.email,
        "phone": null,
        "createdAt": spec.created_at,
        "updatedAt": spec.updated_at,
        "cancelledAt": spec.cancelled.then(|| spec.updated_at.clone()),
        "currencyCode": currency,
        "note": null,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": match order.fulfillment_order_status() {
            "CLOSED" => "FULFILLED",
            "IN_PROGRESS" => "PARTIALLY_FULFILLED",
            _ => "UNFULFILLED",
        },
        "totalPriceSet": money_bag(subtotal + shipping, currency),
        "subtotalPriceSet": money_bag(subtotal, currency),
        "totalTaxSet": money_bag(0, currency),
        "totalDiscountsSet": money_bag(0, currency),
        "totalShippingPriceSet": money_bag(shipping, currency),
        "customer": spec.customer.as_ref().map(|(first, last)| json!({
            "firstName": first,
            "lastName": last,
            "defaultEmailAddress": spec.email.as_ref().map(|e| json!({ "emailAddress": e })),
            "defaultPhoneNumber": null,
        })),
        "shippingAddress": {
            "name": spec.customer.as_ref().map(|(f, l)| format!("{f} {l}")),
            "address1": "1 Filament Way",
            "address2": null,
            "city": "Springfield",
            "province": "Kentucky",
            "zip": "40003",
            "country": "United States",
        },
        "lineItems": line_connection(spec, 0, lines_first),
    })
}
