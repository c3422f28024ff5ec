//! Orders through the API: numbers per farm, lines matched to SKUs (exactly, loosely, or
//! kept and flagged), stock shared oldest order first, print jobs queued for what stock
//! can't cover (never counted for two orders), fulfilment from stock refused when short,
//! cancelling that leaves printing jobs alone, and orders that fulfil themselves as their
//! prints complete.

use crate::common;

use common::{Account, TestApp};
use serde_json::{Value, json};
use std::time::Duration;

/// A farm with `sample-a.3mf` and a product made from it.
struct Shop {
    owner: Account,
    farm: String,
    product: String,
}

async fn shop(app: &TestApp, name: &str) -> Shop {
    let (owner, farm) = app.signed_up_owner(name).await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let product = app
        .post(
            "/api/v1/products",
            &owner.token,
            Some(&farm),
            json!({ "name": "Benchy", "print_file_id": file }),
        )
        .await;
    product.expect(201);
    Shop {
        product: product.data()["id"].as_str().unwrap().to_string(),
        owner,
        farm,
    }
}

impl Shop {
    async fn get(&self, app: &TestApp, path: &str) -> common::Answer {
        app.get(path, &self.owner.token, Some(&self.farm)).await
    }

    async fn post(&self, app: &TestApp, path: &str, body: Value) -> common::Answer {
        app.post(path, &self.owner.token, Some(&self.farm), body)
            .await
    }

    async fn put(&self, app: &TestApp, path: &str, body: Value) -> common::Answer {
        app.put(path, &self.owner.token, Some(&self.farm), body)
            .await
    }

    /// A SKU of the product: `per_print` units a print, `stock` in stock; returns its id.
    async fn sku(&self, app: &TestApp, code: &str, per_print: i64, stock: i64) -> String {
        let sku = self
            .post(
                app,
                &format!("/api/v1/products/{}/skus", self.product),
                json!({ "sku": code, "color": "Yellow", "filament_type": "PLA", "quantity": per_print,
                        "stock_level": stock, "price": 1250 }),
            )
            .await;
        sku.expect(201);
        sku.data()["id"].as_str().unwrap().to_string()
    }

    async fn order(&self, app: &TestApp, body: Value) -> Value {
        let order = self.post(app, "/api/v1/orders", body).await;
        order.expect(201);
        order.data().clone()
    }

    async fn stock(&self, app: &TestApp, sku: &str) -> i64 {
        let sku = self.get(app, &format!("/api/v1/skus/{sku}")).await;
        sku.expect(200);
        sku.data()["stock_level"].as_i64().unwrap()
    }

    /// Records the job's print as printed: it reached the printer and finished.
    async fn complete(&self, app: &TestApp, job: &str) {
        let mut conn = app.state.store.conn().await.unwrap();
        sqlx::query("UPDATE print_jobs SET status = 'printing' WHERE id = $1")
            .bind(job)
            .execute(&mut *conn)
            .await
            .unwrap();
        drop(conn);
        self.post(app, &format!("/api/v1/jobs/{job}/complete"), json!({}))
            .await
            .expect(200);
    }
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

async fn drain(app: &TestApp) {
    server::workers::drain_until_idle(&app.state, Duration::from_secs(20))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_order_takes_stock_first_and_queues_prints_for_the_rest() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, "olive").await;
    let red = shop.sku(&app, "BENCHY-RED", 2, 3).await;
    let order = shop
        .order(
            &app,
            json!({ "customer_name": "Ada Lovelace", "customer_email": "ada@example.com",
                    "shipping_cost": 500, "priority": 20,
                    "items": [
                        { "sku": "benchy red", "quantity": 7, "unit_price": 1000 },
                        { "sku": "NOT-A-SKU", "product_name": "Mystery box", "quantity": 1, "unit_price": 300 },
                    ] }),
        )
        .await;
    assert_eq!(order["order_number"], "ORD-00001");
    assert_eq!(order["platform"], "manual");
    assert_eq!(order["total_revenue"], 7 * 1000 + 300 + 500);
    assert_eq!(order["total_items"], 8);
    // Matched loosely to BENCHY-RED; 3 in stock are its share, 4 are short: 2 prints of 2.
    let line = &order["items"][0];
    assert_eq!(line["product_sku_id"], red.as_str());
    assert_eq!(line["sku"], "BENCHY-RED");
    assert_eq!(line["cover"]["from_stock"], 3);
    assert_eq!(line["cover"]["incoming"], 4);
    assert_eq!(line["cover"]["short"], 0);
    assert_eq!(line["ready"], false);
    // The unknown code is kept and flagged, never dropped.
    let unmatched = &order["items"][1];
    assert_eq!(unmatched["matched"], false);
    assert_eq!(unmatched["sku"], "NOT-A-SKU");
    assert!(
        unmatched["notes"]
            .as_str()
            .unwrap()
            .contains("match it by hand")
    );
    let queued = ids(&order["jobs_queued"]);
    assert_eq!(queued.len(), 2);
    assert_eq!(order["status"], "processing", "it is being printed for");

    let id = order["id"].as_str().unwrap();
    let one = shop.get(&app, &format!("/api/v1/orders/{id}")).await;
    one.expect(200);
    let jobs = one.data()["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    for job in jobs {
        assert_eq!(job["order_id"], id);
        assert_eq!(job["order_item_id"], line["id"]);
        assert_eq!(job["product_sku_id"], red.as_str());
        assert_eq!(job["status"], "queued");
        assert_eq!(job["quantity_per_print"], 2);
    }
    // The dispatcher ranks them with the order's bonus and its own priority (20).
    let tenant = domain::TenantId::parse(&shop.farm).unwrap();
    let mut conn = app.state.store.conn().await.unwrap();
    let waiting = store::jobs::queued_for_dispatch(&mut conn, &tenant)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(waiting.len(), 2);
    assert!(waiting.iter().all(|j| j.order_priority == Some(20)));
    // The job list filters by order.
    let listed = shop.get(&app, &format!("/api/v1/jobs?order_id={id}")).await;
    assert_eq!(listed.data().as_array().unwrap().len(), 2);
    // Nothing was taken from stock yet.
    assert_eq!(shop.stock(&app, &red).await, 3);
    // The next order of the farm is the next number.
    let next = shop
        .order(
            &app,
            json!({ "customer_name": "Grace", "items": [{ "product_sku_id": red, "quantity": 1 }] }),
        )
        .await;
    assert_eq!(next["order_number"], "ORD-00002");
    assert_eq!(next["items"][0]["unit_price"], 1250, "the SKU's price");
    app.stop().await;
}

#[tokio::test]
async fn two_orders_short_on_one_sku_never_count_the_same_prints() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, "pat").await;
    // A print makes 4; nothing in stock.
    let sku = shop.sku(&app, "TILE", 4, 0).await;
    let first = shop
        .order(
            &app,
            json!({ "customer_name": "A", "items": [{ "sku": "TILE", "quantity": 1 }] }),
        )
        .await;
    assert_eq!(ids(&first["jobs_queued"]).len(), 1);
    // The first order's print makes 3 more than it needs: they are not the second's.
    let second = shop
        .order(
            &app,
            json!({ "customer_name": "B", "items": [{ "sku": "TILE", "quantity": 1 }] }),
        )
        .await;
    assert_eq!(ids(&second["jobs_queued"]).len(), 1);
    assert_eq!(second["items"][0]["cover"]["incoming"], 4);

    // Many orders at once, 5 in stock: the five oldest are covered by stock, the others
    // queue one print each, and no unit or print is promised twice.
    let other = shop.sku(&app, "COASTER", 1, 5).await;
    let mut racing = Vec::new();
    for n in 0..8 {
        let body = json!({ "customer_name": format!("racer {n}"), "items": [{ "sku": "COASTER", "quantity": 1 }] });
        let (app, token, farm) = (&app, shop.owner.token.clone(), shop.farm.clone());
        racing.push(async move { app.post("/api/v1/orders", &token, Some(&farm), body).await });
    }
    let answers = futures::future::join_all(racing).await;
    let mut prints = 0;
    let mut numbers = Vec::new();
    for answer in &answers {
        answer.expect(201);
        prints += answer.data()["jobs_queued"].as_array().unwrap().len();
        numbers.push(answer.data()["order_number"].as_str().unwrap().to_string());
    }
    assert_eq!(prints, 3, "8 ordered, 5 in stock: 3 prints of 1");
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 8, "every order has its own number");
    let jobs = shop.get(&app, "/api/v1/jobs?limit=200&status=queued").await;
    let for_coaster = jobs
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["product_sku_id"] == other.as_str())
        .count();
    assert_eq!(for_coaster, 3);
    assert_eq!(shop.stock(&app, &sku).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn fulfilment_takes_stock_and_is_refused_naming_what_is_short() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, "quinn").await;
    let red = shop.sku(&app, "RED", 1, 5).await;
    let blue = shop.sku(&app, "BLUE", 1, 1).await;
    let order = shop
        .order(
            &app,
            json!({ "customer_name": "C", "items": [
                { "sku": "RED", "quantity": 2 }, { "sku": "BLUE", "quantity": 3 } ] }),
        )
        .await;
    let id = order["id"].as_str().unwrap().to_string();
    // BLUE has 1 of 3: the whole order is refused and nothing is taken.
    let refused = shop
        .post(&app, &format!("/api/v1/orders/{id}/fulfill"), json!({}))
        .await;
    refused.expect(409);
    assert_eq!(refused.code(), "INSUFFICIENT_STOCK");
    let short = &refused.body["error"]["details"]["short"];
    assert_eq!(short.as_array().unwrap().len(), 1);
    assert_eq!(short[0]["sku"], "BLUE");
    assert_eq!(short[0]["needed"], 3);
    assert_eq!(short[0]["available"], 1);
    assert_eq!(shop.stock(&app, &red).await, 5);
    assert_eq!(shop.stock(&app, &blue).await, 1);

    // One line by itself, part of it.
    let red_line = order["items"][0]["id"].as_str().unwrap();
    let part = shop
        .post(
            &app,
            &format!("/api/v1/orders/{id}/items/{red_line}/fulfill"),
            json!({ "quantity": 1 }),
        )
        .await;
    part.expect(200);
    assert_eq!(part.data()["items"][0]["fulfillment_status"], "partial");
    assert_eq!(part.data()["items"][0]["quantity_fulfilled"], 1);
    assert_eq!(shop.stock(&app, &red).await, 4);
    // More than is left of the line is a field error.
    let too_many = shop
        .post(
            &app,
            &format!("/api/v1/orders/{id}/items/{red_line}/fulfill"),
            json!({ "quantity": 5 }),
        )
        .await;
    too_many.expect(400);
    assert_eq!(too_many.fields(), vec!["quantity"]);

    // Stock arrives (by hand here); the rest goes out in one call.
    let good = shop
        .get(&app, &format!("/api/v1/inventory/by-sku/{blue}"))
        .await;
    let good = good.data()["id"].as_str().unwrap().to_string();
    shop.post(
        &app,
        &format!("/api/v1/inventory/{good}/adjust"),
        json!({ "adjustment": 2, "reason": "found in the back" }),
    )
    .await
    .expect(200);
    let done = shop
        .post(&app, &format!("/api/v1/orders/{id}/fulfill"), json!({}))
        .await;
    done.expect(200);
    assert_eq!(done.data()["status"], "fulfilled");
    // BLUE's 2 short units were queued when the order came; sent from stock, it needs
    // them no more.
    let jobs = done.data()["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(jobs.iter().all(|j| j["status"] == "cancelled"), "{jobs:?}");
    assert_eq!(shop.stock(&app, &red).await, 3);
    assert_eq!(shop.stock(&app, &blue).await, 0);
    // A fulfilled order is not fulfilled again, nor cancelled; it may ship.
    let again = shop
        .post(&app, &format!("/api/v1/orders/{id}/fulfill"), json!({}))
        .await;
    again.expect(409);
    let cancel = shop
        .put(
            &app,
            &format!("/api/v1/orders/{id}"),
            json!({ "status": "cancelled" }),
        )
        .await;
    cancel.expect(409);
    assert_eq!(cancel.code(), "INVALID_STATUS");
    let shipped = shop
        .put(
            &app,
            &format!("/api/v1/orders/{id}"),
            json!({ "status": "shipped", "tracking_number": "1Z999" }),
        )
        .await;
    shipped.expect(200);
    assert_eq!(shipped.data()["status"], "shipped");
    assert!(shipped.data()["shipped_at"].is_string());
    // The audit log has the fulfilment.
    let audit = shop
        .get(&app, &format!("/api/v1/tenants/{}/audit-log", shop.farm))
        .await;
    audit.expect(200);
    let actions: Vec<&str> = audit
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"order.fulfilled"), "{actions:?}");
    assert!(actions.contains(&"order.created"), "{actions:?}");
    app.stop().await;
}

#[tokio::test]
async fn cancelling_an_order_cancels_its_queued_jobs_and_leaves_a_printing_one() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, "rosa").await;
    shop.sku(&app, "MUG", 1, 0).await;
    let order = shop
        .order(
            &app,
            json!({ "customer_name": "D", "items": [{ "sku": "MUG", "quantity": 3 }] }),
        )
        .await;
    let jobs = ids(&order["jobs_queued"]);
    assert_eq!(jobs.len(), 3);
    // One of them is on a printer already.
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query("UPDATE print_jobs SET status = 'printing' WHERE id = $1")
        .bind(&jobs[0])
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let id = order["id"].as_str().unwrap();
    let cancelled = shop
        .put(
            &app,
            &format!("/api/v1/orders/{id}"),
            json!({ "status": "cancelled" }),
        )
        .await;
    cancelled.expect(200);
    assert_eq!(cancelled.data()["status"], "cancelled");
    let mut gone = ids(&cancelled.data()["jobs_cancelled"]);
    gone.sort();
    let mut expected = jobs[1..].to_vec();
    expected.sort();
    assert_eq!(gone, expected);
    let left = cancelled.data()["jobs_left"].as_array().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], jobs[0].as_str());
    assert_eq!(left[0]["status"], "printing");
    for job in &jobs[1..] {
        let job = shop.get(&app, &format!("/api/v1/jobs/{job}")).await;
        assert_eq!(job.data()["status"], "cancelled");
    }
    let printing = shop.get(&app, &format!("/api/v1/jobs/{}", jobs[0])).await;
    assert_eq!(printing.data()["status"], "printing");
    assert!(
        printing.data()["order_item_id"].is_null(),
        "its print goes to stock"
    );
    assert_eq!(
        cancelled.data()["items"][0]["fulfillment_status"],
        "cancelled"
    );
    // The cancelled jobs' events queue nothing new for a cancelled order.
    drain(&app).await;
    let queued = shop.get(&app, "/api/v1/jobs?status=queued").await;
    assert_eq!(queued.data().as_array().unwrap().len(), 0);
    app.stop().await;
}

#[tokio::test]
async fn an_order_fulfils_itself_as_its_prints_complete_and_replaces_a_failed_one() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, "sven").await;
    let sku = shop.sku(&app, "VASE", 2, 1).await;
    let order = shop
        .order(
            &app,
            json!({ "customer_name": "E", "auto_fulfill": true,
                    "items": [{ "sku": "VASE", "quantity": 5 }] }),
        )
        .await;
    let id = order["id"].as_str().unwrap().to_string();
    let jobs = ids(&order["jobs_queued"]);
    assert_eq!(jobs.len(), 2, "1 in stock, 4 short: 2 prints of 2");
    // The first print fails: a replacement is queued for the line.
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query("UPDATE print_jobs SET status = 'printing' WHERE id = $1")
        .bind(&jobs[0])
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    shop.post(
        &app,
        &format!("/api/v1/jobs/{}/fail", jobs[0]),
        json!({ "reason": "spaghetti" }),
    )
    .await
    .expect(200);
    drain(&app).await;
    let one = shop.get(&app, &format!("/api/v1/orders/{id}")).await;
    let live: Vec<String> = one.data()["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["status"] == "queued")
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(live.len(), 2, "the failed print was replaced");
    assert!(!live.contains(&jobs[0]));
    assert_eq!(one.data()["status"], "processing");
    // Both complete: 1 + 4 in stock covers the 5, and the order fulfils itself.
    shop.complete(&app, &live[0]).await;
    drain(&app).await;
    let halfway = shop.get(&app, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(halfway.data()["status"], "processing");
    assert_eq!(shop.stock(&app, &sku).await, 3);
    shop.complete(&app, &live[1]).await;
    drain(&app).await;
    let done = shop.get(&app, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(done.data()["status"], "fulfilled");
    assert_eq!(done.data()["items"][0]["quantity_fulfilled"], 5);
    assert_eq!(shop.stock(&app, &sku).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn orders_are_listed_filtered_counted_and_bad_input_is_refused() {
    let app = TestApp::spawn().await;
    let shop = shop(&app, "tove").await;
    shop.sku(&app, "CUP", 1, 100).await;
    for (name, qty) in [("Alice Smith", 1), ("Bob Jones", 2), ("Carol Smith", 3)] {
        shop.order(
            &app,
            json!({ "customer_name": name, "order_date": "2026-11-20",
                    "items": [{ "sku": "CUP", "quantity": qty, "unit_price": 1000 }] }),
        )
        .await;
    }
    let all = shop.get(&app, "/api/v1/orders?limit=2").await;
    all.expect(200);
    assert_eq!(all.body["meta"]["total"], 3);
    assert_eq!(all.data().as_array().unwrap().len(), 2);
    assert_eq!(
        all.data()[0]["customer_name"],
        "Carol Smith",
        "newest first"
    );
    assert_eq!(all.data()[0]["items"][0]["quantity"], 3);
    assert_eq!(all.data()[0]["total_items"], 3);
    let smiths = shop
        .get(
            &app,
            "/api/v1/orders?search=smith&sortBy=total_revenue&sortOrder=asc",
        )
        .await;
    let names: Vec<&str> = smiths
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["customer_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alice Smith", "Carol Smith"]);
    let pending = shop
        .get(&app, "/api/v1/orders?status=pending&platform=manual")
        .await;
    assert_eq!(pending.body["meta"]["total"], 3);
    let none = shop.get(&app, "/api/v1/orders?from=2026-11-21").await;
    assert_eq!(none.body["meta"]["total"], 0);
    let stats = shop.get(&app, "/api/v1/orders/stats").await;
    stats.expect(200);
    assert_eq!(stats.data()["total_orders"], 3);
    assert_eq!(stats.data()["pending"], 3);
    assert_eq!(stats.data()["total_revenue"], 6000);
    assert_eq!(stats.data()["units_to_fulfil"], 6);

    for (query, field) in [
        ("status=lost", "status"),
        ("platform=ebay", "platform"),
        ("sortBy=password", "sortBy"),
        ("from=yesterday", "from"),
    ] {
        let bad = shop.get(&app, &format!("/api/v1/orders?{query}")).await;
        bad.expect(400);
        assert_eq!(bad.fields(), vec![field], "{query}");
    }
    let bad = shop
        .post(
            &app,
            "/api/v1/orders",
            json!({ "customer_email": "nope", "platform": "ebay", "shipping_cost": -1,
                    "items": [{ "sku": "CUP", "quantity": 0 }] }),
        )
        .await;
    bad.expect(400);
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "customer_email",
            "customer_name",
            "items[0].quantity",
            "platform",
            "shipping_cost"
        ]
    );
    let empty = shop
        .post(
            &app,
            "/api/v1/orders",
            json!({ "customer_name": "F", "items": [] }),
        )
        .await;
    empty.expect(400);
    assert_eq!(empty.fields(), vec!["items"]);
    let listed = shop.get(&app, "/api/v1/orders").await;
    assert_eq!(
        listed.body["meta"]["total"], 3,
        "refused orders left nothing"
    );
    // A viewer reads but does not take orders; an unknown order is a 404.
    let viewer = app.signed_up("ulla").await;
    app.add_member(&shop.owner, &shop.farm, &viewer, "viewer")
        .await;
    let denied = app
        .post(
            "/api/v1/orders",
            &viewer.token,
            Some(&shop.farm),
            json!({ "customer_name": "G", "items": [{ "sku": "CUP", "quantity": 1 }] }),
        )
        .await;
    denied.expect(403);
    let missing = shop
        .get(&app, "/api/v1/orders/00000000-0000-0000-0000-000000000000")
        .await;
    missing.expect(404);
    assert_eq!(missing.code(), "ORDER_NOT_FOUND");
    // An admin deletes one.
    let first = all.data()[1]["id"].as_str().unwrap();
    let deleted = app
        .delete(
            &format!("/api/v1/orders/{first}"),
            &shop.owner.token,
            Some(&shop.farm),
        )
        .await;
    deleted.expect(200);
    let listed = shop.get(&app, "/api/v1/orders").await;
    assert_eq!(listed.body["meta"]["total"], 2);
    app.stop().await;
}
