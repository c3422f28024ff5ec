//! The orders and Shopify pages: as a browser without JavaScript sees them (the list and
//! its filters, an order's lines with their cover and its jobs, each role's buttons, the
//! Shopify page before and after connecting, never showing a credential), and one story
//! in headless Chromium: a Shopify order arrives by webhook while the orders page is open
//! and appears without a reload; the owner opens an order the stock covers and fulfils it.

use crate::common;

use common::browser::Browser;
use common::chrome::{chromium, click, driver, fill, screenshot, text_of, until};
use common::{Account, TestApp};

use serde_json::{Value, json};
use shopify::fake::{FakeShop, sample_order_json};
use shopify::webhook::Topic;

const SECRET: &str = "shpss_web-secret";

async fn order(app: &TestApp, owner: &Account, farm: &str, body: Value) -> Value {
    let made = app
        .post("/api/v1/orders", &owner.token, Some(farm), body)
        .await;
    made.expect(201);
    made.data().clone()
}

#[tokio::test]
async fn the_orders_pages_show_lines_cover_and_jobs_and_each_role_its_buttons() {
    let shop = FakeShop::start().await.unwrap();
    let shop_url = shop.base_url();
    let app = TestApp::spawn_with(|s| s.shopify_api_url = Some(shop_url)).await;
    let (owner, farm) = app.signed_up_owner("odile").await;
    app.sample_sku(&owner, &farm, "LAMP-1", 1, 5).await;
    app.sample_sku(&owner, &farm, "LAMP-2", 1, 0).await;
    let ready = order(
        &app,
        &owner,
        &farm,
        json!({ "customer_name": "Ready Rita", "items": [{ "sku": "LAMP-1", "quantity": 2, "unit_price": 1999 }] }),
    )
    .await;
    let printing = order(
        &app,
        &owner,
        &farm,
        json!({ "customer_name": "Waiting Walt", "items": [{ "sku": "LAMP-2", "quantity": 2 }, { "sku": "MYSTERY", "product_name": "Mystery", "quantity": 1 }] }),
    )
    .await;

    let browser = Browser::new(&app);
    browser.sign_in(&owner).await;
    let list = browser.get("/orders").await;
    list.expect(200)
        .shows("ORD-00001")
        .shows("ORD-00002")
        .shows("Ready Rita")
        .shows("Being printed")
        .shows("39.98");
    let filtered = browser.get("/orders?status=processing").await;
    filtered.expect(200).shows("Waiting Walt");
    assert!(
        !filtered.body.contains("Ready Rita"),
        "the filter keeps other orders out"
    );
    let searched = browser.get("/orders?search=rita").await;
    assert!(searched.body.contains("Ready Rita") && !searched.body.contains("Waiting Walt"));

    // The order the stock covers: ready lines and the fulfil button.
    let page = browser
        .get(&format!("/orders/{}", ready["id"].as_str().unwrap()))
        .await;
    page.expect(200)
        .shows("Ready to send")
        .shows("id=\"order-fulfil\"");
    // The one being printed: its jobs, the unmatched line flagged, no fulfil button.
    let page = browser
        .get(&format!("/orders/{}", printing["id"].as_str().unwrap()))
        .await;
    page.expect(200)
        .shows("Being printed")
        .shows("No SKU matched")
        .shows("Print jobs for this order")
        .shows("id=\"order-cancel\"");
    assert!(!page.body.contains("id=\"order-fulfil\""));
    assert_eq!(page.body.matches("data-job-id=").count(), 2);
    browser
        .get("/orders/00000000-0000-0000-0000-000000000000")
        .await
        .expect(404);

    // A viewer reads, and has no buttons.
    let viewer = app.signed_up("pia-viewer").await;
    app.add_member(&owner, &farm, &viewer, "viewer").await;
    let looking = Browser::new(&app);
    looking.sign_in(&viewer).await;
    let page = looking
        .get(&format!("/orders/{}", ready["id"].as_str().unwrap()))
        .await;
    page.expect(200).shows("Ready to send");
    assert!(!page.body.contains("order-fulfil") && !page.body.contains("order-cancel"));
    let shopify = looking.get("/shopify").await;
    shopify.expect(200).shows("No shop is connected");
    assert!(
        !shopify.body.contains("id=\"shop-connect\""),
        "only admins connect"
    );

    // The Shopify page: the connect form, then the shop, never its credentials.
    browser
        .get("/shopify")
        .await
        .expect(200)
        .shows("id=\"shop-connect\"");
    app.post(
        "/api/v1/integrations/shopify/connect",
        &owner.token,
        Some(&farm),
        json!({ "shop_domain": shop.shop_domain(), "access_token": shop.access_token(), "webhook_secret": SECRET }),
    )
    .await
    .expect(200);
    let connected = browser.get("/shopify").await;
    connected
        .expect(200)
        .shows(shop.shop_domain())
        .shows("id=\"shop-settings\"")
        .shows(&format!("/webhooks/shopify/{farm}/orders/create"));
    assert!(!connected.body.contains(shop.access_token()) && !connected.body.contains(SECRET));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopify_order_appears_live_and_the_owner_fulfils_an_order_in_the_browser() {
    let Some(driver) = driver().await else {
        return;
    };
    let shop = FakeShop::start().await.unwrap();
    let shop_url = shop.base_url();
    let app = TestApp::spawn_with(|s| s.shopify_api_url = Some(shop_url)).await;
    let (owner, farm) = app.signed_up_owner("quince").await;
    app.sample_sku(&owner, &farm, "LAMP-9", 1, 4).await;
    let client = chromium(&driver).await;
    let base = app.base.clone();
    client.goto(&format!("{base}/sign-in")).await.unwrap();
    fill(&client, "email", &owner.email).await;
    fill(&client, "password", common::PASSWORD).await;
    click(&client, "form.form button[type=submit]").await;
    until(&client, "the overview", &text_of("h1"), |v| {
        v == "quince farm"
    })
    .await;

    // The owner connects the shop on its page.
    client.goto(&format!("{base}/shopify")).await.unwrap();
    fill(&client, "shop-domain", shop.shop_domain()).await;
    fill(&client, "shop-token", shop.access_token()).await;
    fill(&client, "shop-secret", SECRET).await;
    click(&client, "#shop-connect button[type=submit]").await;
    until(
        &client,
        "the shop shown connected",
        "const e = document.getElementById('shop-connected'); return e ? e.dataset.connected : null;",
        |v| v == "1",
    )
    .await;

    // The orders page is open when a Shopify order arrives: it appears without a reload.
    client.goto(&format!("{base}/orders")).await.unwrap();
    until(&client, "the live socket", &text_of("#live-state"), |v| {
        v == "Live"
    })
    .await;
    client
        .execute("window.stillTheSamePage = true; return true;", vec![])
        .await
        .unwrap();
    let sold = sample_order_json(6001, "#6001", &[("LAMP-9", 3, "25.00")]);
    let (body, headers) = FakeShop::signed_webhook(Topic::OrdersCreate, &sold, SECRET.as_bytes());
    let mut request = app
        .client
        .post(format!("{base}/webhooks/shopify/{farm}/orders/create"))
        .body(body);
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    assert_eq!(request.send().await.unwrap().status(), 200);
    until(
        &client,
        "the new order said",
        &text_of("#order-news"),
        |v| {
            v.as_str()
                .is_some_and(|t| t.starts_with("New order ORD-00001 from shopify"))
        },
    )
    .await;
    until(
        &client,
        "the new order in the list",
        "return document.querySelectorAll('#order-list tr[data-order-id]').length;",
        |v| v == 1,
    )
    .await;
    let same = client
        .execute("return window.stillTheSamePage === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same, json!(true), "shown without a reload");
    screenshot(&client, "orders-live").await;

    // Its page: 4 in stock cover the 3; the owner fulfils it.
    click(&client, "#order-list tr[data-order-id] a").await;
    until(&client, "the order's page", &text_of("h1"), |v| {
        v == "Order ORD-00001"
    })
    .await;
    click(&client, "#order-fulfil").await;
    until(
        &client,
        "the order fulfilled",
        &text_of("#order-status"),
        |v| v == "Fulfilled",
    )
    .await;
    screenshot(&client, "order-fulfilled").await;
    let stock = app
        .get("/api/v1/skus?search=LAMP-9", &owner.token, Some(&farm))
        .await;
    assert_eq!(stock.data()[0]["stock_level"], 1);
    client.close().await.unwrap();
    app.stop().await;
}
