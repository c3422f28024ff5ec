//! A webhook as the server will take it: headers read, signature checked on the raw body,
//! then the order normalised.
#![cfg(feature = "fake")]

use chrono::{TimeZone, Utc};
use shopify::fake::{FakeShop, sample_order_json};
use shopify::webhook::{Delivery, Topic, verify};
use shopify::{OrderIn, ShopifyError};

const SECRET: &[u8] = b"shpss_webhook_secret";
const SAMPLE: &[u8] = include_bytes!("fixtures/orders-create.json");

#[test]
fn the_documented_sample_parses_into_cents_and_lines() {
    let order = OrderIn::from_webhook(SAMPLE).unwrap();

    // Ids beyond 2^53 survive exactly (a float would end in ...500).
    assert_eq!(order.external_id, "820982911946154508");
    assert_eq!(order.gid, "gid://shopify/Order/820982911946154508");
    assert_eq!(order.name, "#9999");
    assert_eq!(order.customer_name.as_deref(), Some("Grace Hopper"));
    assert_eq!(order.customer_email.as_deref(), Some("grace@example.com"));
    assert_eq!(order.customer_phone.as_deref(), Some("+15555550123"));
    assert_eq!(
        order.created_at,
        Utc.with_ymd_and_hms(2026, 11, 30, 15, 15, 0).unwrap()
    );
    assert!(!order.cancelled);
    assert_eq!(order.currency, "USD");
    assert_eq!(order.total_cents, 7810);
    assert_eq!(order.subtotal_cents, 6298);
    assert_eq!(order.tax_cents, 512);
    assert_eq!(order.discount_cents, 100);
    assert_eq!(order.shipping_cents, 1000);
    assert_eq!(order.financial_status.as_deref(), Some("paid"));
    assert_eq!(order.fulfillment_status, None);
    assert_eq!(order.note.as_deref(), Some("Gift wrap please"));

    let address = order.shipping_address.as_ref().unwrap();
    assert_eq!(address.name.as_deref(), Some("Steve Shipper"));
    assert_eq!(address.city.as_deref(), Some("Shippington"));
    assert_eq!(address.zip.as_deref(), Some("40003"));
    assert_eq!(address.address2, None);

    assert_eq!(order.lines.len(), 3);
    let vase = &order.lines[0];
    assert_eq!(vase.external_id, "487817672276298554");
    assert_eq!(vase.gid, "gid://shopify/LineItem/487817672276298554");
    assert_eq!(vase.sku.as_deref(), Some("PLA-BLK-VASE"));
    assert_eq!(vase.title, "Spiral vase");
    assert_eq!(vase.variant_title.as_deref(), Some("Matte black"));
    assert_eq!(vase.quantity, 2);
    assert_eq!(vase.unit_price_cents, 2499);
    // "3.5" is 350 cents, not 35.
    assert_eq!(order.lines[1].unit_price_cents, 350);
    assert_eq!(order.lines[1].quantity, 4);
    // A custom item with a blank SKU has none, so the caller won't match it to a product.
    assert_eq!(order.lines[2].sku, None);
    assert_eq!(order.lines[2].unit_price_cents, 0);
}

#[test]
fn a_signed_delivery_from_the_fake_verifies_and_parses() {
    let payload = sample_order_json(
        5_000_000_000_000_001,
        "#1001",
        &[
            ("PLA-RED-BENCHY", 3, "12.3"),
            ("PLA-BLU-BENCHY", 1, "12.30"),
        ],
    );
    let (body, headers) = FakeShop::signed_webhook(Topic::OrdersCreate, &payload, SECRET);

    let delivery = Delivery::from_headers(&FakeShop::header_map(&headers)).unwrap();
    assert_eq!(delivery.topic, Topic::OrdersCreate);
    assert_eq!(delivery.shop_domain, "printfarm-test.myshopify.com");
    assert_eq!(delivery.api_version, shopify::API_VERSION);
    assert!(delivery.triggered_at.is_some());
    assert!(verify(SECRET, &body, &delivery.hmac));

    let order = OrderIn::from_webhook(&body).unwrap();
    assert_eq!(order.external_id, "5000000000000001");
    assert_eq!(order.name, "#1001");
    assert_eq!(order.lines.len(), 2);
    assert_eq!(order.lines[0].sku.as_deref(), Some("PLA-RED-BENCHY"));
    assert_eq!(order.lines[0].unit_price_cents, 1230);
    assert_eq!(order.lines[1].unit_price_cents, 1230);
    assert_eq!(order.subtotal_cents, 4 * 1230);
    assert_eq!(order.total_cents, 4 * 1230 + order.shipping_cents);
}

#[test]
fn a_delivery_with_a_changed_body_or_another_secret_is_refused() {
    let payload = sample_order_json(7, "#1007", &[("VASE", 1, "10.00")]);
    let (body, headers) = FakeShop::signed_webhook(Topic::OrdersUpdated, &payload, SECRET);
    let delivery = Delivery::from_headers(&FakeShop::header_map(&headers)).unwrap();

    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("\"10.00\"", "\"0.01\"");
    assert_ne!(tampered.as_bytes(), body.as_slice());
    assert!(!verify(SECRET, tampered.as_bytes(), &delivery.hmac));
    assert!(!verify(b"another shop's secret", &body, &delivery.hmac));
    assert!(verify(SECRET, &body, &delivery.hmac));
}

#[test]
fn retries_of_one_delivery_share_its_webhook_id() {
    let payload = sample_order_json(8, "#1008", &[("VASE", 1, "10.00")]);
    let (_, first) = FakeShop::signed_webhook(Topic::OrdersCancelled, &payload, SECRET);
    let (_, again) = FakeShop::signed_webhook(Topic::OrdersCancelled, &payload, SECRET);
    let id = |h: &[(String, String)]| {
        Delivery::from_headers(&FakeShop::header_map(h))
            .unwrap()
            .webhook_id
    };
    assert_eq!(id(&first), id(&again));
}

#[test]
fn a_delivery_of_another_topic_is_named_in_the_error() {
    let payload = sample_order_json(9, "#1009", &[]);
    let (_, mut headers) = FakeShop::signed_webhook(Topic::OrdersCreate, &payload, SECRET);
    for (name, value) in &mut headers {
        if name == "X-Shopify-Topic" {
            *value = "products/update".into();
        }
    }
    assert!(matches!(
        Delivery::from_headers(&FakeShop::header_map(&headers)),
        Err(ShopifyError::UnknownTopic(t)) if t == "products/update"
    ));
}
