//! Shopify against a fake shop on loopback that speaks the Admin GraphQL wire format and
//! signs webhooks as Shopify does: connecting (credentials sealed, never returned), signed
//! webhooks that become orders once however often they are delivered (forged, replayed and
//! malformed ones change nothing), a sync that pages through the shop and survives its
//! throttling, webhook subscriptions, and fulfilments pushed back. The whole path runs on
//! a simulated printer through the real hub: webhook → order → jobs for the shortfall →
//! prints → stock → fulfilment in the shop.

use crate::common;
use crate::common::live;

use common::{Account, Answer, TestApp};
use serde_json::{Value, json};
use shopify::fake::{FakeShop, OrderSpec, op, sample_order_json};
use shopify::webhook::Topic;
use std::time::Duration;

/// The app secret the fake shop's webhooks are signed with.
const SECRET: &str = "shpss_the-apps-client-secret";

async fn drain(app: &TestApp) {
    server::workers::drain_until_idle(&app.state, Duration::from_secs(30))
        .await
        .unwrap();
}

/// A server that reaches the fake shop's Admin API.
async fn app_with(shop: &FakeShop, public_url: Option<&str>) -> TestApp {
    let base = shop.base_url();
    let public = public_url.map(str::to_string);
    TestApp::spawn_with(move |s| {
        s.shopify_api_url = Some(base);
        if public.is_some() {
            s.public_url = public;
        }
    })
    .await
}

/// Connects the farm to the fake shop.
async fn connect(app: &TestApp, owner: &Account, farm: &str, shop: &FakeShop) -> Answer {
    app.post(
        "/api/v1/integrations/shopify/connect",
        &owner.token,
        Some(farm),
        json!({ "shop_domain": shop.shop_domain(), "access_token": shop.access_token(),
                "webhook_secret": SECRET }),
    )
    .await
}

/// Delivers a webhook as Shopify would: `body` and `headers` to the farm's address.
async fn deliver(
    app: &TestApp,
    farm: &str,
    topic: &str,
    body: Vec<u8>,
    headers: &[(String, String)],
) -> Answer {
    let mut request = app
        .client
        .post(format!(
            "{}/webhooks/shopify/{farm}/orders/{topic}",
            app.base
        ))
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    TestApp::send(request).await
}

/// The farm's orders.
async fn orders(app: &TestApp, owner: &Account, farm: &str) -> Vec<Value> {
    let list = app
        .get("/api/v1/orders?limit=200", &owner.token, Some(farm))
        .await;
    list.expect(200);
    list.data().as_array().unwrap().clone()
}

#[tokio::test]
async fn a_shop_is_connected_with_credentials_that_are_tried_sealed_and_never_shown() {
    let shop = FakeShop::start().await.unwrap();
    let app = app_with(&shop, None).await;
    let (owner, farm) = app.signed_up_owner("vera").await;
    // A wrong token is refused by the shop, and nothing is kept.
    let wrong = app
        .post(
            "/api/v1/integrations/shopify/connect",
            &owner.token,
            Some(&farm),
            json!({ "shop_domain": shop.shop_domain(), "access_token": "shpat_wrong", "webhook_secret": SECRET }),
        )
        .await;
    wrong.expect(400);
    assert_eq!(wrong.fields(), vec!["access_token"]);
    let bad = app
        .post(
            "/api/v1/integrations/shopify/connect",
            &owner.token,
            Some(&farm),
            json!({ "shop_domain": "not a shop!", "access_token": "", "webhook_secret": SECRET }),
        )
        .await;
    bad.expect(400);
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(fields, ["access_token", "shop_domain"]);
    let none = app
        .get("/api/v1/integrations", &owner.token, Some(&farm))
        .await;
    assert_eq!(none.data().as_array().unwrap().len(), 0);

    let connected = connect(&app, &owner, &farm, &shop).await;
    connected.expect(200);
    assert_eq!(connected.data()["connected"], true);
    assert_eq!(connected.data()["shop"]["domain"], shop.shop_domain());
    let urls = connected.data()["webhook_urls"].as_array().unwrap();
    assert_eq!(urls.len(), 3);
    assert!(
        urls[0]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/webhooks/shopify/{farm}/orders/create"))
    );

    // No answer carries the token or the secret, and the database holds them sealed.
    for path in [
        "/api/v1/integrations",
        "/api/v1/integrations/shopify/settings",
        "/api/v1/integrations/shopify/status",
    ] {
        let answer = app.get(path, &owner.token, Some(&farm)).await;
        answer.expect(200);
        let text = answer.body.to_string();
        assert!(
            !text.contains(shop.access_token()),
            "{path} shows the token"
        );
        assert!(!text.contains(SECRET), "{path} shows the secret");
    }
    assert!(!connected.body.to_string().contains(shop.access_token()));
    let mut conn = app.state.store.conn().await.unwrap();
    let (sealed,): (String,) = sqlx::query_as(
        "SELECT credentials_encrypted FROM tenant_integrations WHERE tenant_id = $1",
    )
    .bind(&farm)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    assert!(!sealed.contains(shop.access_token()) && !sealed.contains(SECRET));

    // Settings change within their bounds; a viewer reads but doesn't connect.
    let set = app
        .put(
            "/api/v1/integrations/shopify/settings",
            &owner.token,
            Some(&farm),
            json!({ "auto_fulfill": true, "order_priority": 20 }),
        )
        .await;
    set.expect(200);
    assert_eq!(set.data()["auto_fulfill"], true);
    assert_eq!(set.data()["push_fulfilment"], true);
    let out_of_range = app
        .put(
            "/api/v1/integrations/shopify/settings",
            &owner.token,
            Some(&farm),
            json!({ "order_priority": 9000 }),
        )
        .await;
    out_of_range.expect(400);
    assert_eq!(out_of_range.fields(), vec!["order_priority"]);
    let viewer = app.signed_up("wes").await;
    app.add_member(&owner, &farm, &viewer, "viewer").await;
    connect(&app, &viewer, &farm, &shop).await.expect(403);

    // Disconnected, the shop's webhooks are no longer taken.
    app.post(
        "/api/v1/integrations/shopify/disconnect",
        &owner.token,
        Some(&farm),
        json!({}),
    )
    .await
    .expect(200);
    let order = sample_order_json(1001, "#1001", &[("ANY", 1, "5.00")]);
    let (body, headers) = FakeShop::signed_webhook(Topic::OrdersCreate, &order, SECRET.as_bytes());
    deliver(&app, &farm, "create", body, &headers)
        .await
        .expect(404);
    app.stop().await;
}

#[tokio::test]
async fn a_signed_webhook_becomes_one_order_and_forged_replayed_or_malformed_ones_change_nothing() {
    let shop = FakeShop::start().await.unwrap();
    let app = app_with(&shop, None).await;
    let (owner, farm) = app.signed_up_owner("xena").await;
    let mug = app.sample_sku(&owner, &farm, "MUG-BLUE", 1, 1).await;
    connect(&app, &owner, &farm, &shop).await.expect(200);

    let order = sample_order_json(
        5_000_000_000_000_001,
        "#1001",
        &[("mug-blue", 3, "12.50"), ("NO-SUCH", 1, "3.00")],
    );
    let (body, headers) = FakeShop::signed_webhook(Topic::OrdersCreate, &order, SECRET.as_bytes());

    // Forged: the body changed after signing, or signed with another secret, or unsigned.
    let mut changed = body.clone();
    let at = changed.iter().position(|b| *b == b'3').unwrap();
    changed[at] = b'9';
    let forged = deliver(&app, &farm, "create", changed, &headers).await;
    forged.expect(401);
    assert_eq!(forged.code(), "INVALID_SIGNATURE");
    let (other_body, other_headers) =
        FakeShop::signed_webhook(Topic::OrdersCreate, &order, b"someone else's secret");
    deliver(&app, &farm, "create", other_body, &other_headers)
        .await
        .expect(401);
    let unsigned: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("x-shopify-hmac-sha256"))
        .cloned()
        .collect();
    deliver(&app, &farm, "create", body.clone(), &unsigned)
        .await
        .expect(401);
    // Signed, but not an order; signed, but without its delivery id.
    let junk = b"{\"not\": \"an order\"}".to_vec();
    let (_, mut junk_headers) =
        FakeShop::signed_webhook(Topic::OrdersCreate, &json!({}), SECRET.as_bytes());
    for (name, value) in junk_headers.iter_mut() {
        if name.eq_ignore_ascii_case("x-shopify-hmac-sha256") {
            *value = shopify::webhook::sign(SECRET.as_bytes(), &junk);
        }
    }
    let malformed = deliver(&app, &farm, "create", junk, &junk_headers).await;
    malformed.expect(400);
    let no_id: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("x-shopify-webhook-id"))
        .cloned()
        .collect();
    deliver(&app, &farm, "create", body.clone(), &no_id)
        .await
        .expect(400);
    // To a farm that doesn't exist, or the wrong topic's address.
    deliver(
        &app,
        "00000000-0000-0000-0000-000000000000",
        "create",
        body.clone(),
        &headers,
    )
    .await
    .expect(404);
    deliver(&app, &farm, "cancelled", body.clone(), &headers)
        .await
        .expect(400);
    drain(&app).await;
    assert!(
        orders(&app, &owner, &farm).await.is_empty(),
        "nothing refused made an order"
    );

    // The real delivery, then Shopify's retry of it.
    let taken = deliver(&app, &farm, "create", body.clone(), &headers).await;
    taken.expect(200);
    assert_eq!(taken.data()["duplicate"], false);
    let again = deliver(&app, &farm, "create", body.clone(), &headers).await;
    again.expect(200);
    assert_eq!(again.data()["duplicate"], true);
    drain(&app).await;
    let all = orders(&app, &owner, &farm).await;
    assert_eq!(all.len(), 1, "one order however often it is delivered");
    let made = &all[0];
    assert_eq!(made["platform"], "shopify");
    assert_eq!(made["external_id"], "5000000000000001");
    assert_eq!(
        made["items"][0]["product_sku_id"],
        mug.as_str(),
        "matched loosely"
    );
    assert_eq!(made["items"][0]["unit_price"], 1250);
    assert!(
        made["items"][1]["product_sku_id"].is_null(),
        "unmatched, kept"
    );
    assert_eq!(made["items"][1]["sku"], "NO-SUCH");
    // 1 in stock, 3 ordered: 2 prints queued for the line.
    let id = made["id"].as_str().unwrap();
    let one = app
        .get(&format!("/api/v1/orders/{id}"), &owner.token, Some(&farm))
        .await;
    assert_eq!(one.data()["jobs"].as_array().unwrap().len(), 2);
    // The new order reached the log.
    let status = app
        .get(
            "/api/v1/integrations/shopify/status",
            &owner.token,
            Some(&farm),
        )
        .await;
    assert_eq!(status.data()["webhooks"]["received_last_24h"], 1);
    let runs = status.data()["recent_runs"].as_array().unwrap();
    assert!(
        runs.iter()
            .any(|r| r["operation_type"] == "INSERT" && r["status"] == "SUCCESS")
    );

    // Shopify cancels it: the order is cancelled and its queued prints with it.
    let (body, headers) =
        FakeShop::signed_webhook(Topic::OrdersCancelled, &order, SECRET.as_bytes());
    deliver(&app, &farm, "cancelled", body, &headers)
        .await
        .expect(200);
    drain(&app).await;
    let cancelled = app
        .get(&format!("/api/v1/orders/{id}"), &owner.token, Some(&farm))
        .await;
    assert_eq!(cancelled.data()["status"], "cancelled");
    assert!(
        cancelled.data()["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["status"] == "cancelled")
    );
    let health = app
        .client
        .get(format!("{}/webhooks/health", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_sync_pages_through_the_shop_despite_its_throttling_and_takes_each_order_once() {
    let shop = FakeShop::start().await.unwrap();
    for n in 0..25u64 {
        shop.add_order(OrderSpec::new(
            7000 + n,
            &format!("#{}", 2000 + n),
            &[("TILE", 2, "4.00")],
        ));
    }
    let app = app_with(&shop, None).await;
    let (owner, farm) = app.signed_up_owner("yuki").await;
    app.sample_sku(&owner, &farm, "TILE", 4, 100).await;
    connect(&app, &owner, &farm, &shop).await.expect(200);
    // The shop throttles: one 429 with Retry-After, one THROTTLED answer.
    shop.throttle_next_http(1, 1);
    shop.throttle_next_graphql(1);
    let queued = app
        .post(
            "/api/v1/integrations/shopify/sync",
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    queued.expect(202);
    drain(&app).await;
    let all = orders(&app, &owner, &farm).await;
    assert_eq!(all.len(), 25);
    assert!(
        all.iter()
            .all(|o| o["platform"] == "shopify" && o["items"][0]["quantity"] == 2)
    );
    // Three pages of ten, and the two throttled tries again.
    assert!(shop.requests_for(op::ORDERS) >= 5, "{:?}", shop.requests());
    let status = app
        .get(
            "/api/v1/integrations/shopify/status",
            &owner.token,
            Some(&farm),
        )
        .await;
    assert!(status.data()["last_sync_at"].is_string());
    assert!(status.data()["last_error"].is_null());
    let runs = status.data()["recent_runs"].as_array().unwrap();
    assert!(
        runs.iter()
            .any(|r| r["operation_type"] == "SYNC" && r["status"] == "SUCCESS")
    );
    // A full sync again sees the same orders and takes none twice.
    app.post(
        "/api/v1/integrations/shopify/sync",
        &owner.token,
        Some(&farm),
        json!({ "full": true }),
    )
    .await
    .expect(202);
    drain(&app).await;
    assert_eq!(orders(&app, &owner, &farm).await.len(), 25);
    // A sync that is off is refused; a since that is no time too.
    let bad = app
        .post(
            "/api/v1/integrations/shopify/sync",
            &owner.token,
            Some(&farm),
            json!({ "since": "last tuesday" }),
        )
        .await;
    bad.expect(400);
    assert_eq!(bad.fields(), vec!["since"]);
    app.stop().await;
}

#[tokio::test]
async fn webhooks_are_subscribed_at_the_farms_address_and_fulfilments_are_pushed_back() {
    let shop = FakeShop::start().await.unwrap();
    let app = app_with(&shop, Some("https://farm.example")).await;
    let (owner, farm) = app.signed_up_owner("zora").await;
    app.sample_sku(&owner, &farm, "LAMP", 1, 10).await;
    connect(&app, &owner, &farm, &shop).await.expect(200);
    let enabled = app
        .put(
            "/api/v1/integrations/shopify/webhooks/enable",
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    enabled.expect(200);
    let subscribed = shop.subscriptions();
    assert_eq!(subscribed.len(), 3);
    assert!(
        subscribed
            .iter()
            .all(|s| s.callback_url.starts_with(&format!(
                "https://farm.example/webhooks/shopify/{farm}/orders/"
            )))
    );
    let listed = app
        .get(
            "/api/v1/integrations/shopify/webhooks",
            &owner.token,
            Some(&farm),
        )
        .await;
    assert!(
        listed.data()["wanted"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["subscribed"] == true)
    );
    // Enabling again subscribes nothing twice.
    app.put(
        "/api/v1/integrations/shopify/webhooks/enable",
        &owner.token,
        Some(&farm),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(shop.subscriptions().len(), 3);

    // An order the stock covers, with auto-fulfil on: fulfilled at once, pushed to the shop.
    app.put(
        "/api/v1/integrations/shopify/settings",
        &owner.token,
        Some(&farm),
        json!({ "auto_fulfill": true }),
    )
    .await
    .expect(200);
    shop.add_order(OrderSpec::new(8001, "#3001", &[("LAMP", 2, "20.00")]));
    let order = sample_order_json(8001, "#3001", &[("LAMP", 2, "20.00")]);
    let (body, headers) = FakeShop::signed_webhook(Topic::OrdersCreate, &order, SECRET.as_bytes());
    deliver(&app, &farm, "create", body, &headers)
        .await
        .expect(200);
    drain(&app).await;
    let all = orders(&app, &owner, &farm).await;
    assert_eq!(all[0]["status"], "fulfilled");
    let pushed = shop.fulfilments();
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].order_gid, "gid://shopify/Order/8001");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopify_order_is_printed_through_the_hub_and_fulfilled_back_to_the_shop() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let shop = FakeShop::start().await.unwrap();
    let app = app_with(&shop, None).await;
    let setup = live::Farm::new(&app, "abby", 400.0).await;
    let (owner, farm) = (&setup.owner, &setup.farm);
    let printer_id = setup.add_printer(&app, None).await;
    // KEY-YEL makes 2 a print and names the file the simulated A1 mini can print.
    let key = app.sample_sku(owner, farm, "KEY-YEL", 2, 0).await;
    connect(&app, owner, farm, &shop).await.expect(200);
    setup
        .put(
            &app,
            "/api/v1/integrations/shopify/settings",
            json!({ "auto_fulfill": true }),
        )
        .await
        .expect(200);
    let data = tempfile::tempdir().unwrap();
    let agent = live::RunningHub::start(setup.hub_config(&app, data.path()));
    setup.printer_ready(&app, &printer_id).await;

    // The shop sells 3: none in stock, so 2 prints of 2.
    shop.add_order(OrderSpec::new(9001, "#4001", &[("KEY-YEL", 3, "5.00")]));
    let order = sample_order_json(9001, "#4001", &[("KEY-YEL", 3, "5.00")]);
    let (body, headers) = FakeShop::signed_webhook(Topic::OrdersCreate, &order, SECRET.as_bytes());
    deliver(&app, farm, "create", body.clone(), &headers)
        .await
        .expect(200);
    drain(&app).await;
    let made = orders(&app, owner, farm).await;
    assert_eq!(made.len(), 1);
    let id = made[0]["id"].as_str().unwrap().to_string();
    let view = setup.get(&app, &format!("/api/v1/orders/{id}")).await;
    let jobs: Vec<String> = view.data()["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(jobs.len(), 2);

    // Each prints on the simulated printer through the hub; the bed is cleared between.
    for (n, job) in jobs.iter().enumerate() {
        if n > 0 {
            setup
                .put(
                    &app,
                    &format!("/api/v1/printers/{printer_id}/cleared"),
                    json!({ "cleared": true }),
                )
                .await
                .expect(200);
        }
        setup
            .assign_and_start(&app, job, &printer_id)
            .await
            .expect(200);
        setup.job_reaches(&app, job, "completed").await;
        drain(&app).await;
        if n == 0 {
            let halfway = setup.get(&app, &format!("/api/v1/orders/{id}")).await;
            assert_eq!(halfway.data()["status"], "processing");
        }
    }
    // The stock arrived, the order fulfilled itself, and the shop has its fulfilment.
    let done = setup.get(&app, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(done.data()["status"], "fulfilled");
    assert_eq!(done.data()["items"][0]["quantity_fulfilled"], 3);
    let stock = setup.get(&app, &format!("/api/v1/skus/{key}")).await;
    assert_eq!(stock.data()["stock_level"], 1, "4 printed, 3 sent");
    let pushed = shop.fulfilments();
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].order_gid, "gid://shopify/Order/9001");
    // Shopify's late retry of the first delivery changes nothing.
    let late = deliver(&app, farm, "create", body, &headers).await;
    assert_eq!(late.data()["duplicate"], true);
    drain(&app).await;
    assert_eq!(orders(&app, owner, farm).await.len(), 1);
    agent.stop().await;
    app.stop().await;
}
