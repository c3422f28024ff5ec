//! The Admin API client against the fake shop: what a sync, a fulfilment push and the
//! "connect your shop" check each see.
//!
//! No test installs a process-wide rustls provider: the client brings its own ring config,
//! so `Client::new` must work without one.
#![cfg(feature = "fake")]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use shopify::admin::{MAX_ORDERS_PER_PAGE, Tracking};
use shopify::fake::{FakeShop, OrderSpec, op};
use shopify::webhook::Topic;
use shopify::{Client, Config, OrderIn, ShopifyError};

const MAX_WAIT: Duration = Duration::from_millis(200);

fn client_with_token(shop: &FakeShop, token: &str) -> Client {
    let mut config = Config::new(shop.shop_domain(), token);
    config.base_url = Some(shop.base_url());
    config.max_retries = 3;
    config.max_wait = MAX_WAIT;
    Client::new(config).unwrap()
}

fn client(shop: &FakeShop) -> Client {
    client_with_token(shop, shop.access_token())
}

async fn shop_with_orders(n: u64) -> FakeShop {
    let shop = FakeShop::start().await.unwrap();
    for id in 1..=n {
        shop.add_order(OrderSpec::new(
            1_000_000_000_000_000 + id,
            &format!("#{}", 1000 + id),
            &[("PLA-BLK-VASE", 1, "24.99"), ("PETG-CLR-COASTER", 2, "3.5")],
        ));
    }
    shop
}

/// Every order since `since`, page by page, as a sync does; returns the orders and page count.
async fn sync(client: &Client, since: Option<&str>) -> Result<(Vec<OrderIn>, u32), ShopifyError> {
    let mut orders = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = client.orders_page(cursor.as_deref(), since, 50).await?;
        pages += 1;
        orders.extend(page.orders);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((orders, pages)),
        }
    }
}

#[tokio::test]
async fn connecting_a_shop_reads_its_name_domain_and_currency() {
    let shop = FakeShop::start().await.unwrap();
    let info = client(&shop).shop().await.unwrap();
    assert_eq!(info.name, "PrintFarm Test Shop");
    assert_eq!(info.myshopify_domain, "printfarm-test.myshopify.com");
    assert_eq!(info.currency_code, "USD");
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized() {
    let shop = shop_with_orders(1).await;
    let client = client_with_token(&shop, "shpat_wrong");
    assert!(matches!(
        client.shop().await,
        Err(ShopifyError::Unauthorized)
    ));
    assert!(matches!(
        client.orders_page(None, None, 10).await,
        Err(ShopifyError::Unauthorized)
    ));
    // Refused at once: an auth failure is not retried.
    assert_eq!(shop.requests_for(op::SHOP), 1);
}

#[tokio::test]
async fn a_sync_pages_through_all_120_orders() {
    let shop = shop_with_orders(120).await;
    let (orders, pages) = sync(&client(&shop), None).await.unwrap();

    assert_eq!(orders.len(), 120);
    let ids: BTreeSet<_> = orders.iter().map(|o| o.external_id.clone()).collect();
    assert_eq!(ids.len(), 120, "an order came twice");
    // Asked for 50 a page; the client keeps each query under Shopify's 1000-point limit.
    assert_eq!(pages, 120 / MAX_ORDERS_PER_PAGE);
    assert_eq!(shop.requests_for(op::ORDERS), pages);

    let first = &orders[0];
    assert_eq!(first.external_id, "1000000000000001");
    assert_eq!(first.gid, "gid://shopify/Order/1000000000000001");
    assert_eq!(first.name, "#1001");
    assert_eq!(first.customer_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(first.lines.len(), 2);
    assert_eq!(first.lines[1].sku.as_deref(), Some("PETG-CLR-COASTER"));
    assert_eq!(first.lines[1].unit_price_cents, 350);
    assert_eq!(first.lines[1].quantity, 2);
    assert_eq!(first.subtotal_cents, 2499 + 700);
    assert_eq!(first.total_cents, 2499 + 700 + 499);
    assert_eq!(first.fulfillment_status.as_deref(), Some("unfulfilled"));
}

#[tokio::test]
async fn a_sync_since_a_time_sees_only_orders_changed_since() {
    let shop = shop_with_orders(3).await;
    shop.add_order(
        OrderSpec::new(77, "#1077", &[("VASE", 1, "9.00")]).updated_at("2026-12-02T08:00:00Z"),
    );
    let (orders, _) = sync(&client(&shop), Some("2026-12-01T00:00:00Z"))
        .await
        .unwrap();
    let names: Vec<_> = orders.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["#1077"]);
}

#[tokio::test]
async fn a_sync_keeps_going_past_an_order_it_cannot_take_in() {
    let shop = shop_with_orders(12).await;
    // A three-decimal price (as in KWD) is refused rather than rounded.
    shop.add_order(OrderSpec::new(3, "#1003", &[("VASE", 1, "1.005")]));

    let mut cursor = None;
    let mut orders = Vec::new();
    let mut rejected = Vec::new();
    loop {
        let page = client(&shop)
            .orders_page(cursor.as_deref(), None, 10)
            .await
            .unwrap();
        orders.extend(page.orders);
        rejected.extend(page.rejected);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }

    assert_eq!(orders.len(), 12);
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].gid, "gid://shopify/Order/3");
    assert_eq!(rejected[0].name, "#1003");
    assert!(
        rejected[0].reason.contains("1.005"),
        "{}",
        rejected[0].reason
    );
}

#[tokio::test]
async fn a_since_that_is_not_a_time_is_refused_before_asking_shopify() {
    let shop = shop_with_orders(1).await;
    let err = client(&shop)
        .orders_page(None, Some("yesterday' OR status:any"), 10)
        .await
        .unwrap_err();
    assert!(matches!(err, ShopifyError::Config(_)));
    assert_eq!(shop.requests_for(op::ORDERS), 0);
}

#[tokio::test]
async fn an_order_with_more_lines_than_a_page_arrives_whole() {
    let shop = FakeShop::start().await.unwrap();
    let skus: Vec<String> = (0..60).map(|n| format!("SKU-{n}")).collect();
    let lines: Vec<(&str, u32, &str)> = skus.iter().map(|s| (s.as_str(), 1, "1.00")).collect();
    shop.add_order(OrderSpec::new(5, "#1005", &lines));

    let page = client(&shop).orders_page(None, None, 10).await.unwrap();
    let order = &page.orders[0];
    assert_eq!(order.lines.len(), 60);
    let got: Vec<_> = order.lines.iter().filter_map(|l| l.sku.clone()).collect();
    assert_eq!(got, skus);
    assert_eq!(shop.requests_for(op::ORDER_LINES), 1);
}

#[tokio::test]
async fn a_sync_survives_http_429_with_retry_after() {
    let shop = shop_with_orders(25).await;
    shop.throttle_next_http(2, 1);

    let started = Instant::now();
    let (orders, pages) = sync(&client(&shop), None).await.unwrap();

    assert_eq!(orders.len(), 25);
    assert_eq!(pages, 3);
    // Two refused requests were sent again.
    assert_eq!(shop.requests_for(op::ORDERS), pages + 2);
    // Each wait was Retry-After (1 s) capped by max_wait.
    let elapsed = started.elapsed();
    assert!(elapsed >= 2 * MAX_WAIT, "did not wait: {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(2),
        "ignored max_wait: {elapsed:?}"
    );
}

#[tokio::test]
async fn a_sync_survives_throttled_graphql_responses() {
    let shop = shop_with_orders(25).await;
    shop.throttle_next_graphql(2);

    let (orders, pages) = sync(&client(&shop), None).await.unwrap();

    assert_eq!(orders.len(), 25);
    assert_eq!(shop.requests_for(op::ORDERS), pages + 2);
}

#[tokio::test]
async fn throttled_past_every_retry_is_reported_with_the_time_waited() {
    let shop = shop_with_orders(1).await;
    shop.throttle_next_graphql(100);

    let err = client(&shop).orders_page(None, None, 10).await.unwrap_err();

    let ShopifyError::Throttled { waited } = err else {
        panic!("expected Throttled, got {err:?}");
    };
    // Three retries, each waiting for the bucket (capped by max_wait).
    assert_eq!(waited, 3 * MAX_WAIT);
    assert_eq!(shop.requests_for(op::ORDERS), 4);
}

#[tokio::test]
async fn a_server_error_is_retried() {
    let shop = FakeShop::start().await.unwrap();
    shop.fail_next_http(2);
    assert!(client(&shop).shop().await.is_ok());
    assert_eq!(shop.requests_for(op::SHOP), 3);

    shop.fail_next_http(100);
    assert!(matches!(
        client(&shop).shop().await,
        Err(ShopifyError::Server { status: 503 })
    ));
}

#[tokio::test]
async fn an_empty_bucket_makes_the_next_call_wait_before_it_is_sent() {
    let shop = shop_with_orders(1).await;
    let client = client(&shop);
    shop.drain_bucket_next(1);
    client.orders_page(None, None, 10).await.unwrap();
    assert_eq!(client.throttle_status().unwrap().currently_available, 0.0);

    let started = Instant::now();
    client.orders_page(None, None, 10).await.unwrap();

    // The bucket needed ~9 s for this query's cost; the client waited, capped by max_wait,
    // instead of sending into a certain THROTTLED.
    assert!(started.elapsed() >= MAX_WAIT, "sent at once");
    assert_eq!(shop.requests_for(op::ORDERS), 2);
}

#[tokio::test]
async fn a_fulfilment_is_pushed_once_with_tracking() {
    let shop = FakeShop::start().await.unwrap();
    shop.add_order(OrderSpec::new(
        42,
        "#1042",
        &[("VASE", 2, "20.00"), ("COASTER", 4, "3.00")],
    ));
    let client = client(&shop);
    let tracking = Tracking {
        number: Some("RM123456789GB".into()),
        url: Some("https://track.example/RM123456789GB".into()),
        company: Some("Royal Mail".into()),
    };

    let first = client
        .fulfil("gid://shopify/Order/42", Some(tracking.clone()), true)
        .await
        .unwrap();
    assert!(!first.already_fulfilled);
    assert_eq!(first.fulfillment_ids.len(), 1);

    let fulfilments = shop.fulfilments();
    assert_eq!(fulfilments.len(), 1);
    assert_eq!(fulfilments[0].id, first.fulfillment_ids[0]);
    assert_eq!(fulfilments[0].order_gid, "gid://shopify/Order/42");
    assert_eq!(fulfilments[0].tracking.as_ref(), Some(&tracking));
    assert!(fulfilments[0].notify_customer);
    let quantities: Vec<u32> = fulfilments[0].lines.iter().map(|(_, q)| *q).collect();
    assert_eq!(quantities, [2, 4]);

    let again = client
        .fulfil("gid://shopify/Order/42", Some(tracking), true)
        .await
        .unwrap();
    assert!(again.already_fulfilled);
    assert!(again.fulfillment_ids.is_empty());
    assert_eq!(shop.fulfilments().len(), 1);
}

#[tokio::test]
async fn a_refused_fulfilment_reports_shopifys_reason() {
    let shop = FakeShop::start().await.unwrap();
    shop.add_order(OrderSpec::new(43, "#1043", &[("VASE", 1, "20.00")]));
    shop.reject_next_fulfilment("Fulfillment order is on hold.");

    let err = client(&shop)
        .fulfil("gid://shopify/Order/43", None, false)
        .await
        .unwrap_err();

    let ShopifyError::UserErrors(messages) = err else {
        panic!("expected UserErrors, got {err:?}");
    };
    assert_eq!(messages, ["fulfillment: Fulfillment order is on hold."]);
    assert!(shop.fulfilments().is_empty());
}

#[tokio::test]
async fn fulfilling_an_order_the_shop_does_not_have_is_not_found() {
    let shop = FakeShop::start().await.unwrap();
    let err = client(&shop)
        .fulfil("gid://shopify/Order/404", None, false)
        .await
        .unwrap_err();
    assert!(matches!(err, ShopifyError::NotFound(gid) if gid == "gid://shopify/Order/404"));
}

#[tokio::test]
async fn subscribing_the_order_topics_lists_them_and_refuses_duplicates() {
    let shop = FakeShop::start().await.unwrap();
    let client = client(&shop);
    let base = "https://farm.example/webhooks/shopify/7f1c";
    for topic in Topic::ALL {
        let url = format!("{base}/{}", topic.as_str());
        let created = client.subscribe(topic, &url).await.unwrap();
        assert_eq!(created.topic, topic.graphql_name());
        assert_eq!(created.callback_url, url);
    }

    let listed = client.webhook_subscriptions().await.unwrap();
    let topics: Vec<Topic> = listed
        .iter()
        .map(|s| Topic::parse(&s.topic).unwrap())
        .collect();
    assert_eq!(topics, Topic::ALL);
    assert_eq!(shop.subscriptions(), listed);

    let again = client
        .subscribe(Topic::OrdersCreate, &format!("{base}/orders/create"))
        .await;
    assert!(
        matches!(again, Err(ShopifyError::UserErrors(m)) if m[0].contains("already been taken"))
    );
    let plain = client
        .subscribe(Topic::OrdersCreate, "http://farm.example/hook")
        .await;
    assert!(matches!(plain, Err(ShopifyError::UserErrors(_))));
}
