//! Orders as Shopify sends them (the REST-shaped webhook payload and the GraphQL order node),
//! both normalised into our one view, [`OrderIn`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use crate::ShopifyError;
use crate::money::cents;

/// An order as we take it in, whichever way it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderIn {
    /// Shopify's numeric order id, as text (it exceeds 2^53, so never a float).
    pub external_id: String,
    /// The GraphQL id, e.g. `gid://shopify/Order/820982911946154508`.
    pub gid: String,
    /// The name the shop shows, e.g. `#1001`.
    pub name: String,
    /// The customer's full name, or the shipping name when there is no customer.
    pub customer_name: Option<String>,
    /// The order's email, else the customer's.
    pub customer_email: Option<String>,
    /// The order's phone, else the customer's.
    pub customer_phone: Option<String>,
    /// Where it ships, when it ships.
    pub shipping_address: Option<ShippingAddress>,
    /// When the order was placed.
    pub created_at: DateTime<Utc>,
    /// When the order last changed, when known.
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether the order was cancelled in Shopify.
    pub cancelled: bool,
    /// The shop's currency code, e.g. `USD`; all amounts below are in it.
    pub currency: String,
    /// What the customer pays, in cents.
    pub total_cents: i64,
    /// Line prices after discounts, before shipping and tax, in cents.
    pub subtotal_cents: i64,
    /// Tax, in cents.
    pub tax_cents: i64,
    /// Discounts, in cents.
    pub discount_cents: i64,
    /// Shipping, in cents.
    pub shipping_cents: i64,
    /// Shopify's payment status, lower case (`paid`, `pending`, `refunded`…).
    pub financial_status: Option<String>,
    /// Shopify's fulfilment status, lower case (`fulfilled`, `partial`, `unfulfilled`…).
    pub fulfillment_status: Option<String>,
    /// The customer's note.
    pub note: Option<String>,
    /// What was ordered.
    pub lines: Vec<LineIn>,
}

/// One ordered line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIn {
    /// Shopify's numeric line item id, as text.
    pub external_id: String,
    /// The GraphQL id, e.g. `gid://shopify/LineItem/466157049`.
    pub gid: String,
    /// The variant's SKU; `None` when the merchant left it blank.
    pub sku: Option<String>,
    /// The product title.
    pub title: String,
    /// The variant title (colour, size…), when the product has variants.
    pub variant_title: Option<String>,
    /// How many were ordered.
    pub quantity: u32,
    /// The price of one, before discounts, in cents.
    pub unit_price_cents: i64,
}

/// A shipping address, in Shopify's parts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ShippingAddress {
    /// The recipient.
    #[serde(default)]
    pub name: Option<String>,
    /// Street line 1.
    #[serde(default)]
    pub address1: Option<String>,
    /// Street line 2.
    #[serde(default)]
    pub address2: Option<String>,
    /// Town or city.
    #[serde(default)]
    pub city: Option<String>,
    /// State, county or province.
    #[serde(default)]
    pub province: Option<String>,
    /// Post code.
    #[serde(default)]
    pub zip: Option<String>,
    /// Country name.
    #[serde(default)]
    pub country: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The webhook payload (REST shape).

/// The order JSON of the `orders/*` webhooks; unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookOrder {
    /// Numeric id.
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    /// GraphQL id.
    #[serde(default)]
    pub admin_graphql_api_id: Option<String>,
    /// Display name, e.g. `#1001`.
    pub name: String,
    /// Shop-wide order number, e.g. 1001.
    #[serde(default)]
    pub order_number: Option<u64>,
    /// Contact email.
    #[serde(default)]
    pub email: Option<String>,
    /// Contact phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Placed at (RFC 3339).
    pub created_at: String,
    /// Changed at (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Cancelled at, when cancelled.
    #[serde(default)]
    pub cancelled_at: Option<String>,
    /// Shop currency.
    pub currency: String,
    /// Total, decimal string.
    pub total_price: String,
    /// Subtotal, decimal string.
    #[serde(default)]
    pub subtotal_price: Option<String>,
    /// Tax, decimal string.
    #[serde(default)]
    pub total_tax: Option<String>,
    /// Discounts, decimal string.
    #[serde(default)]
    pub total_discounts: Option<String>,
    /// Shipping in shop and presentment money.
    #[serde(default)]
    pub total_shipping_price_set: Option<MoneySet>,
    /// The customer, absent for some draft and POS orders.
    #[serde(default)]
    pub customer: Option<WebhookCustomer>,
    /// Where it ships.
    #[serde(default)]
    pub shipping_address: Option<ShippingAddress>,
    /// What was ordered.
    #[serde(default)]
    pub line_items: Vec<WebhookLineItem>,
    /// Payment status.
    #[serde(default)]
    pub financial_status: Option<String>,
    /// Fulfilment status (null when unfulfilled).
    #[serde(default)]
    pub fulfillment_status: Option<String>,
    /// Customer note.
    #[serde(default)]
    pub note: Option<String>,
}

/// `{shop_money, presentment_money}`; we read the shop's money.
#[derive(Debug, Clone, Deserialize)]
pub struct MoneySet {
    /// The amount in the shop's currency.
    pub shop_money: Money,
}

/// `{amount, currency_code}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Money {
    /// Decimal string.
    pub amount: String,
    /// Currency code.
    #[serde(default)]
    pub currency_code: Option<String>,
}

/// The customer of a webhook order.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WebhookCustomer {
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
}

/// A line item of a webhook order.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookLineItem {
    /// Numeric id.
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    /// GraphQL id (missing from some `orders/updated` deliveries).
    #[serde(default)]
    pub admin_graphql_api_id: Option<String>,
    /// SKU, blank or null when the merchant set none.
    #[serde(default)]
    pub sku: Option<String>,
    /// Product title.
    pub title: String,
    /// Product and variant title together.
    #[serde(default)]
    pub name: Option<String>,
    /// Variant title.
    #[serde(default)]
    pub variant_title: Option<String>,
    /// Quantity ordered.
    pub quantity: u32,
    /// Unit price, decimal string.
    pub price: String,
    /// Variant id (null for custom items).
    #[serde(default, deserialize_with = "optional_id_text")]
    pub variant_id: Option<String>,
    /// Product id (null for custom items).
    #[serde(default, deserialize_with = "optional_id_text")]
    pub product_id: Option<String>,
}

impl OrderIn {
    /// Parses and normalises the raw body of an `orders/*` webhook (verify it first).
    pub fn from_webhook(raw_body: &[u8]) -> Result<OrderIn, ShopifyError> {
        let order: WebhookOrder =
            serde_json::from_slice(raw_body).map_err(|e| ShopifyError::Payload(e.to_string()))?;
        OrderIn::try_from(order)
    }
}

impl TryFrom<WebhookOrder> for OrderIn {
    type Error = ShopifyError;

    fn try_from(o: WebhookOrder) -> Result<OrderIn, ShopifyError> {
        let customer = o.customer.unwrap_or_default();
        let shipping_cents = match &o.total_shipping_price_set {
            Some(set) => cents(&set.shop_money.amount)?,
            None => 0,
        };
        let lines = o
            .line_items
            .into_iter()
            .map(|l| {
                Ok(LineIn {
                    gid: l
                        .admin_graphql_api_id
                        .unwrap_or_else(|| format!("gid://shopify/LineItem/{}", l.id)),
                    external_id: l.id,
                    sku: non_blank(l.sku),
                    title: l.title,
                    variant_title: non_blank(l.variant_title),
                    quantity: l.quantity,
                    unit_price_cents: cents(&l.price)?,
                })
            })
            .collect::<Result<Vec<_>, ShopifyError>>()?;
        Ok(OrderIn {
            gid: o
                .admin_graphql_api_id
                .unwrap_or_else(|| format!("gid://shopify/Order/{}", o.id)),
            external_id: o.id,
            name: o.name,
            customer_name: full_name(customer.first_name, customer.last_name)
                .or_else(|| o.shipping_address.as_ref().and_then(|a| a.name.clone())),
            customer_email: non_blank(o.email).or(non_blank(customer.email)),
            customer_phone: non_blank(o.phone).or(non_blank(customer.phone)),
            shipping_address: o.shipping_address,
            created_at: time(&o.created_at)?,
            updated_at: o.updated_at.as_deref().map(time).transpose()?,
            cancelled: o.cancelled_at.is_some(),
            currency: o.currency,
            total_cents: cents(&o.total_price)?,
            subtotal_cents: optional_cents(o.subtotal_price.as_deref())?,
            tax_cents: optional_cents(o.total_tax.as_deref())?,
            discount_cents: optional_cents(o.total_discounts.as_deref())?,
            shipping_cents,
            financial_status: o.financial_status.map(|s| s.to_lowercase()),
            fulfillment_status: o.fulfillment_status.map(|s| s.to_lowercase()),
            note: non_blank(o.note),
            lines,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The GraphQL order node (what `orders(...)` returns).

/// An `Order` node as the Admin GraphQL API returns it for our `orders` query.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderNode {
    /// GraphQL id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Contact email.
    #[serde(default)]
    pub email: Option<String>,
    /// Contact phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Placed at.
    pub created_at: String,
    /// Changed at.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Cancelled at, when cancelled.
    #[serde(default)]
    pub cancelled_at: Option<String>,
    /// Shop currency.
    pub currency_code: String,
    /// Total.
    pub total_price_set: MoneyBag,
    /// Subtotal.
    #[serde(default)]
    pub subtotal_price_set: Option<MoneyBag>,
    /// Tax.
    #[serde(default)]
    pub total_tax_set: Option<MoneyBag>,
    /// Discounts.
    #[serde(default)]
    pub total_discounts_set: Option<MoneyBag>,
    /// Shipping.
    #[serde(default)]
    pub total_shipping_price_set: Option<MoneyBag>,
    /// The customer.
    #[serde(default)]
    pub customer: Option<NodeCustomer>,
    /// Where it ships.
    #[serde(default)]
    pub shipping_address: Option<ShippingAddress>,
    /// Payment status enum, e.g. `PAID`.
    #[serde(default)]
    pub display_financial_status: Option<String>,
    /// Fulfilment status enum, e.g. `UNFULFILLED`.
    #[serde(default)]
    pub display_fulfillment_status: Option<String>,
    /// Customer note.
    #[serde(default)]
    pub note: Option<String>,
    /// The first page of line items.
    pub line_items: LineItemConnection,
}

/// `MoneyBag { shopMoney { amount currencyCode } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyBag {
    /// In the shop's currency.
    pub shop_money: MoneyV2,
}

/// `MoneyV2 { amount currencyCode }`; `amount` is a Decimal, sent as a string.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyV2 {
    /// Decimal string.
    pub amount: String,
    /// Currency code.
    #[serde(default)]
    pub currency_code: Option<String>,
}

/// The customer of an order node.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeCustomer {
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// `{ emailAddress }`.
    #[serde(default)]
    pub default_email_address: Option<EmailAddress>,
    /// `{ phoneNumber }`.
    #[serde(default)]
    pub default_phone_number: Option<PhoneNumber>,
}

/// `CustomerEmailAddress { emailAddress }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailAddress {
    /// The address.
    #[serde(default)]
    pub email_address: Option<String>,
}

/// `CustomerPhoneNumber { phoneNumber }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    /// The number.
    #[serde(default)]
    pub phone_number: Option<String>,
}

/// A page of line items.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItemConnection {
    /// Whether more lines follow, and from where.
    #[serde(default)]
    pub page_info: Option<PageInfo>,
    /// The lines.
    pub nodes: Vec<LineItemNode>,
}

/// `pageInfo { hasNextPage endCursor }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// Whether another page exists.
    pub has_next_page: bool,
    /// The cursor to ask for it with.
    #[serde(default)]
    pub end_cursor: Option<String>,
}

/// A `LineItem` node.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItemNode {
    /// GraphQL id.
    pub id: String,
    /// SKU.
    #[serde(default)]
    pub sku: Option<String>,
    /// Product title.
    pub title: String,
    /// Variant title.
    #[serde(default)]
    pub variant_title: Option<String>,
    /// Quantity ordered.
    pub quantity: u32,
    /// Unit price before discounts.
    pub original_unit_price_set: MoneyBag,
}

impl TryFrom<LineItemNode> for LineIn {
    type Error = ShopifyError;

    fn try_from(l: LineItemNode) -> Result<LineIn, ShopifyError> {
        Ok(LineIn {
            external_id: numeric_id(&l.id)?,
            unit_price_cents: cents(&l.original_unit_price_set.shop_money.amount)?,
            gid: l.id,
            sku: non_blank(l.sku),
            title: l.title,
            variant_title: non_blank(l.variant_title),
            quantity: l.quantity,
        })
    }
}

impl TryFrom<OrderNode> for OrderIn {
    type Error = ShopifyError;

    fn try_from(o: OrderNode) -> Result<OrderIn, ShopifyError> {
        let customer = o.customer.unwrap_or_default();
        let amount = |bag: Option<&MoneyBag>| match bag {
            Some(bag) => cents(&bag.shop_money.amount),
            None => Ok(0),
        };
        let lines = o
            .line_items
            .nodes
            .into_iter()
            .map(LineIn::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OrderIn {
            external_id: numeric_id(&o.id)?,
            total_cents: cents(&o.total_price_set.shop_money.amount)?,
            subtotal_cents: amount(o.subtotal_price_set.as_ref())?,
            tax_cents: amount(o.total_tax_set.as_ref())?,
            discount_cents: amount(o.total_discounts_set.as_ref())?,
            shipping_cents: amount(o.total_shipping_price_set.as_ref())?,
            gid: o.id,
            name: o.name,
            customer_name: full_name(customer.first_name, customer.last_name)
                .or_else(|| o.shipping_address.as_ref().and_then(|a| a.name.clone())),
            customer_email: non_blank(o.email).or(non_blank(
                customer.default_email_address.and_then(|e| e.email_address),
            )),
            customer_phone: non_blank(o.phone).or(non_blank(
                customer.default_phone_number.and_then(|p| p.phone_number),
            )),
            shipping_address: o.shipping_address,
            created_at: time(&o.created_at)?,
            updated_at: o.updated_at.as_deref().map(time).transpose()?,
            cancelled: o.cancelled_at.is_some(),
            currency: o.currency_code,
            financial_status: o.display_financial_status.map(|s| s.to_lowercase()),
            fulfillment_status: o.display_fulfillment_status.map(|s| s.to_lowercase()),
            note: non_blank(o.note),
            lines,
        })
    }
}

/// The numeric tail of a GraphQL id (`gid://shopify/Order/123` → `123`).
pub fn numeric_id(gid: &str) -> Result<String, ShopifyError> {
    let tail = gid.rsplit('/').next().unwrap_or_default();
    // Some gids carry a query string (`…/123?session=…`); the id is before it.
    let tail = tail.split('?').next().unwrap_or_default();
    if gid.starts_with("gid://shopify/")
        && !tail.is_empty()
        && tail.bytes().all(|b| b.is_ascii_digit())
    {
        Ok(tail.to_owned())
    } else {
        Err(ShopifyError::Payload(format!(
            "{gid:?} is not a Shopify id"
        )))
    }
}

fn time(text: &str) -> Result<DateTime<Utc>, ShopifyError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ShopifyError::Payload(format!("time {text:?}: {e}")))
}

fn optional_cents(amount: Option<&str>) -> Result<i64, ShopifyError> {
    amount.map(cents).transpose().map(|c| c.unwrap_or(0))
}

fn non_blank(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

fn full_name(first: Option<String>, last: Option<String>) -> Option<String> {
    let name = [non_blank(first), non_blank(last)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

/// Shopify ids arrive as JSON numbers (beyond 2^53, so not through f64) or, rarely, strings.
fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match IdText::deserialize(d)? {
        IdText::Number(n) => Ok(n.to_string()),
        IdText::Text(s) => Ok(s),
    }
}

fn optional_id_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<IdText>::deserialize(d)?.map(|id| match id {
        IdText::Number(n) => n.to_string(),
        IdText::Text(s) => s,
    }))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IdText {
    Number(u64),
    Text(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_come_from_the_gid_tail() {
        assert_eq!(
            numeric_id("gid://shopify/Order/820982911946154508").unwrap(),
            "820982911946154508"
        );
        assert_eq!(numeric_id("gid://shopify/LineItem/1?x=y").unwrap(), "1");
        assert!(numeric_id("820982911946154508").is_err());
        assert!(numeric_id("gid://shopify/Order/").is_err());
    }

    #[test]
    fn a_minimal_payload_with_nulls_still_parses() {
        let body = br##"{"id": 1, "name": "#1", "created_at": "2026-01-01T00:00:00Z",
            "currency": "EUR", "total_price": "0.00", "customer": null,
            "shipping_address": null, "email": null, "line_items": [],
            "some_future_field": {"x": 1}}"##;
        let order = OrderIn::from_webhook(body).unwrap();
        assert_eq!(order.gid, "gid://shopify/Order/1");
        assert_eq!(order.customer_name, None);
        assert!(order.lines.is_empty());
        assert!(!order.cancelled);
    }

    #[test]
    fn a_payload_with_a_negative_price_is_refused() {
        let body = br##"{"id": 1, "name": "#1", "created_at": "2026-01-01T00:00:00Z",
            "currency": "EUR", "total_price": "-1.00", "line_items": []}"##;
        assert!(matches!(
            OrderIn::from_webhook(body),
            Err(ShopifyError::Amount(_))
        ));
    }

    #[test]
    fn a_body_that_is_not_an_order_is_a_payload_error() {
        assert!(matches!(
            OrderIn::from_webhook(b"[]"),
            Err(ShopifyError::Payload(_))
        ));
        assert!(matches!(
            OrderIn::from_webhook(b"{"),
            Err(ShopifyError::Payload(_))
        ));
    }
}
