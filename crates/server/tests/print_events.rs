//! What a finished or failed print does to the farm (stock, tasks, alerts, failures), once
//! however often its event is delivered; and the auto-dispatcher, which starts the best
//! queued job on an idle printer whose bed was confirmed cleared, and never twice.

use crate::common;

use common::{Account, TestApp};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;

/// Stands in for a connected hub's socket task: acks every command and reports it.
fn acking_hub(app: &TestApp, hub_id: &str) -> mpsc::UnboundedReceiver<Value> {
    let mut inbox = app.state.hub_link.attach(hub_id);
    let (seen, commands) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(outgoing) = inbox.recv().await {
            let _ = seen.send(serde_json::to_value(&outgoing.command).unwrap());
            let _ = outgoing.ack.send(Ok(()));
        }
    });
    commands
}

/// A farm with a hub and one connected A1 mini loaded with the yellow PLA of `sample-a.3mf`.
struct Farm {
    owner: Account,
    farm: String,
    printer: String,
    /// `sample-a.3mf`, uploaded.
    file: String,
    commands: mpsc::UnboundedReceiver<Value>,
}

async fn farm(app: &TestApp) -> Farm {
    let (owner, farm) = app.signed_up_owner("pia").await;
    let hub = app
        .post(
            "/api/v1/hubs/register",
            &owner.token,
            Some(&farm),
            json!({ "name": "Rack A" }),
        )
        .await;
    let hub_id = hub.data()["hub_id"].as_str().unwrap().to_string();
    let printer = app
        .post(
            "/api/v1/printers",
            &owner.token,
            Some(&farm),
            json!({ "name": "A1M-01", "model": "A1 mini", "serial_number": "0300AA000000002", "nozzle_size": 0.4,
                    "current_filament_type": "PLA", "current_color_hex": "#F7D959", "hub_id": hub_id }),
        )
        .await;
    printer.expect(201);
    let printer = printer.data()["id"].as_str().unwrap().to_string();
    // The hub reports the printer online (the hub socket does this in the live farm).
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query("UPDATE printers SET is_connected = 1 WHERE id = $1")
        .bind(&printer)
        .execute(&mut *conn)
        .await
        .unwrap();
    let commands = acking_hub(app, &hub_id);
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    Farm {
        file,
        owner,
        farm,
        printer,
        commands,
    }
}

/// A product with one SKU; returns the SKU id.
async fn sku(
    app: &TestApp,
    farm: &str,
    name: &str,
    code: &str,
    units: i64,
    threshold: i64,
    assembly: bool,
) -> String {
    let tenant = domain::TenantId::parse(farm).unwrap();
    let now = store::now_text();
    let mut conn = app.state.store.conn().await.unwrap();
    let product = store::catalogue::create_product(
        &mut conn,
        &tenant,
        &store::catalogue::NewProduct {
            name,
            requires_assembly: assembly,
        },
        &now,
    )
    .await
    .unwrap();
    store::catalogue::create_sku(
        &mut conn,
        &tenant,
        &store::catalogue::NewSku {
            product_id: &product,
            sku: code,
            color: "Yellow",
            filament_type: Some("PLA"),
            quantity: units,
            price: Some(1299),
            low_stock_threshold: threshold,
        },
        &now,
    )
    .await
    .unwrap()
}

impl Farm {
    async fn call(&self, app: &TestApp, method: &str, path: &str, body: Value) -> common::Answer {
        match method {
            "GET" => app.get(path, &self.owner.token, Some(&self.farm)).await,
            "PUT" => {
                app.put(path, &self.owner.token, Some(&self.farm), body)
                    .await
            }
            _ => {
                app.post(path, &self.owner.token, Some(&self.farm), body)
                    .await
            }
        }
    }

    /// Queues `sample-a.3mf` for the SKU, prints it on the farm's printer and completes it.
    async fn print_and_complete(&mut self, app: &TestApp, sku: &str) -> String {
        let job = self.print_to(app, sku, 40).await;
        self.call(
            app,
            "POST",
            &format!("/api/v1/jobs/{job}/complete"),
            json!({}),
        )
        .await
        .expect(200);
        job
    }

    /// Queues `sample-a.3mf` for the SKU and prints it on the farm's printer to `progress` %.
    async fn print_to(&mut self, app: &TestApp, sku: &str, progress: i64) -> String {
        let file = &self.file;
        let job = self
            .call(
                app,
                "POST",
                "/api/v1/jobs",
                json!({ "print_file_id": file, "product_sku_id": sku }),
            )
            .await;
        job.expect(201);
        let job = job.data()["id"].as_str().unwrap().to_string();
        self.call(
            app,
            "PUT",
            &format!("/api/v1/printers/{}/cleared", self.printer),
            json!({ "cleared": true }),
        )
        .await
        .expect(200);
        self.call(
            app,
            "POST",
            &format!("/api/v1/jobs/{job}/assign"),
            json!({ "printer_id": self.printer }),
        )
        .await
        .expect(200);
        self.call(app, "POST", &format!("/api/v1/jobs/{job}/start"), json!({}))
            .await
            .expect(200);
        // Edits of the printer tell the hub too (`configure_printer`); the start is next.
        loop {
            let command = self.commands.recv().await.unwrap();
            if command["type"] == "print_command" {
                break;
            }
            assert_eq!(command["type"], "configure_printer", "{command}");
        }
        // The hub reports the file on the printer; then progress starts the print.
        let mut conn = app.state.store.conn().await.unwrap();
        sqlx::query("UPDATE print_jobs SET status = 'uploaded' WHERE id = $1")
            .bind(&job)
            .execute(&mut *conn)
            .await
            .unwrap();
        self.call(
            app,
            "PUT",
            &format!("/api/v1/jobs/{job}/progress"),
            json!({ "progress_percentage": progress }),
        )
        .await
        .expect(200);
        job
    }
}

async fn drain(app: &TestApp) {
    server::workers::drain_until_idle(&app.state, Duration::from_secs(20))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_completed_print_adds_stock_and_tasks_and_alerts_once() {
    let app = TestApp::spawn().await;
    let mut farm = farm(&app).await;
    let tenant = domain::TenantId::parse(&farm.farm).unwrap();
    let mut alerts = app.state.realtime.subscribe(&tenant).events;
    let keychain = sku(&app, &farm.farm, "Keychain", "KEY-YEL", 4, 10, false).await;

    let job = farm.print_and_complete(&app, &keychain).await;
    drain(&app).await;

    let stock = farm.call(&app, "GET", "/api/v1/inventory", json!({})).await;
    stock.expect(200);
    let goods = stock.data().as_array().unwrap();
    assert_eq!(goods.len(), 1);
    assert_eq!(goods[0]["sku"], "KEY-YEL");
    assert_eq!(
        goods[0]["current_stock"], 4,
        "one print makes the SKU's 4 units"
    );
    assert_eq!(goods[0]["status"], "low_stock");
    assert_eq!(goods[0]["print_job_id"], job.as_str());
    let low = farm
        .call(&app, "GET", "/api/v1/inventory/alerts", json!({}))
        .await;
    assert_eq!(low.data()[0]["sku_id"], keychain.as_str());
    // The farm's other events (printer and job changes) come too; the alert is among them.
    let alert = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = alerts.recv().await.unwrap();
            if let proto::dashboard::ServerMessage::InventoryAlert { .. } = event.message {
                return serde_json::from_str::<serde_json::Value>(event.text().as_str()).unwrap();
            }
        }
    })
    .await
    .expect("an inventory alert");
    assert_eq!(alert["type"], "inventory_alert");
    assert_eq!(alert["sku"], "KEY-YEL");
    assert_eq!(alert["current_stock"], 4);
    assert_eq!(alert["threshold"], 10);

    let tasks = farm
        .call(
            &app,
            "GET",
            "/api/v1/worklist?task_type=collection",
            json!({}),
        )
        .await;
    let tasks = tasks.data().as_array().unwrap().clone();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["printer_id"], farm.printer.as_str());
    assert_eq!(tasks[0]["status"], "pending");
    assert!(
        tasks[0]["title"].as_str().unwrap().contains("Keychain"),
        "{}",
        tasks[0]["title"]
    );
    let printer = farm
        .call(
            &app,
            "GET",
            &format!("/api/v1/printers/{}", farm.printer),
            json!({}),
        )
        .await;
    assert_eq!(
        printer.data()["cleared"],
        0,
        "the print is on the bed until someone clears it"
    );
    let done = farm
        .call(&app, "GET", &format!("/api/v1/jobs/{job}"), json!({}))
        .await;
    assert!(done.data()["actual_print_time_minutes"].is_i64());

    // The same event delivered again (a lost lease, a replayed dead letter) changes nothing.
    let tenant = domain::TenantId::parse(&farm.farm).unwrap();
    let mut conn = app.state.store.conn().await.unwrap();
    let (payload,): (String,) = sqlx::query_as(
        "SELECT payload FROM queue_messages WHERE tenant_id = $1 AND payload LIKE '%job_completed%'",
    )
    .bind(&farm.farm)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let payload: Value = serde_json::from_str(&payload).unwrap();
    store::queue::enqueue(
        &mut conn,
        "print-events",
        Some(&tenant),
        &payload,
        None,
        None,
        &store::now_text(),
    )
    .await
    .unwrap();
    drop(conn);
    drain(&app).await;
    let again = farm.call(&app, "GET", "/api/v1/inventory", json!({})).await;
    assert_eq!(again.data()[0]["current_stock"], 4);
    let tasks = farm.call(&app, "GET", "/api/v1/worklist", json!({})).await;
    assert_eq!(tasks.data().as_array().unwrap().len(), 1);

    // Clearing the bed completes the collection task.
    farm.call(
        &app,
        "PUT",
        &format!("/api/v1/printers/{}/cleared", farm.printer),
        json!({ "cleared": true }),
    )
    .await
    .expect(200);
    let tasks = farm
        .call(&app, "GET", "/api/v1/worklist?status=completed", json!({}))
        .await;
    assert_eq!(tasks.data().as_array().unwrap().len(), 1);
    let bad = farm
        .call(&app, "GET", "/api/v1/worklist?status=someday", json!({}))
        .await;
    bad.expect(400);
    assert_eq!(bad.fields(), vec!["status"]);
    app.stop().await;
}

/// Adds a spool of filament to the farm; returns its id.
async fn spool(farm: &Farm, app: &TestApp, hex: &str, grams: f64, threshold: f64) -> String {
    let spool = farm
        .call(
            app,
            "POST",
            "/api/v1/materials/filament",
            json!({ "type": "PLA", "hex_code": hex, "remaining_grams": grams, "low_threshold": threshold }),
        )
        .await;
    spool.expect(201);
    spool.data()["id"].as_str().unwrap().to_string()
}

fn grams(answer: &common::Answer) -> f64 {
    answer.data()["remaining_grams"].as_f64().unwrap()
}

#[tokio::test]
async fn a_completed_print_adds_finished_goods_and_spends_its_filament() {
    let app = TestApp::spawn().await;
    let mut farm = farm(&app).await;
    let tenant = domain::TenantId::parse(&farm.farm).unwrap();
    let mut events = app.state.realtime.subscribe(&tenant).events;
    let keychain = sku(&app, &farm.farm, "Keychain", "KEY-YEL", 4, 0, false).await;
    // sample-a.3mf's plate uses 3.57 g of yellow PLA (#F7D959). The farm has an open spool
    // of it, a fresh one, and a black one.
    let open = spool(&farm, &app, "#f7d959", 100.0, 93.0).await;
    let fresh = spool(&farm, &app, "#F7D959", 1000.0, 93.0).await;
    let black = spool(&farm, &app, "#000000", 500.0, 93.0).await;

    let job = farm.print_and_complete(&app, &keychain).await;
    drain(&app).await;
    let spent = farm
        .call(
            &app,
            "GET",
            &format!("/api/v1/materials/filament/{open}"),
            json!({}),
        )
        .await;
    spent.expect(200);
    assert!((grams(&spent) - 96.43).abs() < 1e-6, "{}", spent.body);
    let usage = spent.data()["usage"].as_array().unwrap();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0]["print_job_id"], job.as_str());
    assert!((usage[0]["usage_amount"].as_f64().unwrap() - 3.57).abs() < 1e-6);
    for (other, left) in [(&fresh, 1000.0), (&black, 500.0)] {
        let untouched = farm
            .call(
                &app,
                "GET",
                &format!("/api/v1/materials/filament/{other}"),
                json!({}),
            )
            .await;
        assert_eq!(
            grams(&untouched),
            left,
            "only the open spool of the plate's filament"
        );
    }
    // The print is stock, counted once: the SKU and its finished good say the same.
    let good = farm
        .call(
            &app,
            "GET",
            &format!("/api/v1/inventory/by-sku/{keychain}"),
            json!({}),
        )
        .await;
    assert_eq!(good.data()["current_stock"], 4);
    let sku = farm
        .call(&app, "GET", &format!("/api/v1/skus/{keychain}"), json!({}))
        .await;
    assert_eq!(sku.data()["stock_level"], 4);

    // (Each print starts by clearing the bed.) The second print takes the spool to its threshold: one alert; the third, none more.
    farm.print_and_complete(&app, &keychain).await;
    drain(&app).await;
    farm.print_and_complete(&app, &keychain).await;
    drain(&app).await;
    let mut material_alerts = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let proto::dashboard::ServerMessage::MaterialAlert { .. } = event.message {
            material_alerts.push(serde_json::from_str::<Value>(event.text().as_str()).unwrap());
        }
    }
    assert_eq!(material_alerts.len(), 1, "{material_alerts:?}");
    assert_eq!(material_alerts[0]["type"], "material_alert");
    assert_eq!(material_alerts[0]["material_id"], open.as_str());
    assert_eq!(material_alerts[0]["unit"], "g");
    assert!((material_alerts[0]["remaining"].as_f64().unwrap() - 92.86).abs() < 1e-6);
    let low = farm
        .call(
            &app,
            "GET",
            "/api/v1/materials/filament?low_stock=true",
            json!({}),
        )
        .await;
    assert_eq!(low.data().as_array().unwrap().len(), 1);
    assert_eq!(low.data()[0]["status"], "low");
    let stock = farm
        .call(&app, "GET", &format!("/api/v1/skus/{keychain}"), json!({}))
        .await;
    assert_eq!(stock.data()["stock_level"], 12);

    // A print that fails at 40 % spent 40 % of its filament.
    let before = grams(
        &farm
            .call(
                &app,
                "GET",
                &format!("/api/v1/materials/filament/{open}"),
                json!({}),
            )
            .await,
    );
    let failed = farm.print_to(&app, &keychain, 40).await;
    farm.call(
        &app,
        "POST",
        &format!("/api/v1/jobs/{failed}/fail"),
        json!({ "reason": "spaghetti" }),
    )
    .await
    .expect(200);
    drain(&app).await;
    let after = farm
        .call(
            &app,
            "GET",
            &format!("/api/v1/materials/filament/{open}"),
            json!({}),
        )
        .await;
    assert!(
        (before - grams(&after) - 3.57 * 0.4).abs() < 1e-6,
        "{before} then {}",
        after.body
    );
    assert_eq!(after.data()["usage"][0]["print_job_id"], failed.as_str());
    assert_eq!(after.data()["usage"][0]["reason"], "print failed at 40%");
    let stock = farm
        .call(&app, "GET", &format!("/api/v1/skus/{keychain}"), json!({}))
        .await;
    assert_eq!(
        stock.data()["stock_level"],
        12,
        "a failed print makes no stock"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_product_that_needs_assembly_waits_for_it_and_a_failure_is_recorded() {
    let app = TestApp::spawn().await;
    let mut farm = farm(&app).await;
    let lamp = sku(&app, &farm.farm, "Lamp", "LAMP-YEL", 2, 0, true).await;
    farm.print_and_complete(&app, &lamp).await;
    drain(&app).await;

    let stock = farm.call(&app, "GET", "/api/v1/inventory", json!({})).await;
    assert_eq!(stock.data()[0]["current_stock"], 0);
    assert_eq!(stock.data()[0]["quantity_needs_assembly"], 2);
    assert_eq!(stock.data()[0]["status"], "needs_assembly");
    let assembly = farm.call(&app, "GET", "/api/v1/assembly", json!({})).await;
    assert_eq!(assembly.data()[0]["sku"], "LAMP-YEL");
    assert_eq!(assembly.data()[0]["quantity"], 2);
    assert_eq!(assembly.data()[0]["status"], "pending");
    let task = farm
        .call(
            &app,
            "GET",
            "/api/v1/worklist?task_type=assembly",
            json!({}),
        )
        .await;
    assert_eq!(task.data()[0]["assembly_task_id"], assembly.data()[0]["id"]);

    // A failed print: its failure is recorded with its kind, and its bed needs clearing.
    let file = &farm.file;
    let job = farm
        .call(
            &app,
            "POST",
            "/api/v1/jobs",
            json!({ "print_file_id": file }),
        )
        .await;
    let job = job.data()["id"].as_str().unwrap().to_string();
    farm.call(
        &app,
        "PUT",
        &format!("/api/v1/printers/{}/cleared", farm.printer),
        json!({ "cleared": true }),
    )
    .await
    .expect(200);
    farm.call(
        &app,
        "POST",
        &format!("/api/v1/jobs/{job}/assign"),
        json!({ "printer_id": farm.printer }),
    )
    .await
    .expect(200);
    farm.call(
        &app,
        "POST",
        &format!("/api/v1/jobs/{job}/start"),
        json!({}),
    )
    .await
    .expect(200);
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query(
        "UPDATE print_jobs SET status = 'printing', progress_percentage = 63 WHERE id = $1",
    )
    .bind(&job)
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    farm.call(
        &app,
        "POST",
        &format!("/api/v1/jobs/{job}/fail"),
        json!({ "reason": "Filament runout on AMS slot 2" }),
    )
    .await
    .expect(200);
    drain(&app).await;
    let tenant = domain::TenantId::parse(&farm.farm).unwrap();
    let mut conn = app.state.store.conn().await.unwrap();
    let failures = store::failures::list(&mut conn, &tenant).await.unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].failure_type, "filament_runout");
    assert_eq!(failures[0].print_job_id.as_deref(), Some(job.as_str()));
    assert_eq!(
        failures[0].printer_id.as_deref(),
        Some(farm.printer.as_str())
    );
    assert_eq!(failures[0].progress_at_failure, Some(63));
    drop(conn);
    let printer = farm
        .call(
            &app,
            "GET",
            &format!("/api/v1/printers/{}", farm.printer),
            json!({}),
        )
        .await;
    assert_eq!(printer.data()["cleared"], 0);
    app.stop().await;
}

#[tokio::test]
async fn a_bad_sku_is_refused_and_a_dead_event_can_be_read_retried_and_purged() {
    let app = TestApp::spawn().await;
    let farm = farm(&app).await;
    let file = &farm.file;
    let (other, other_farm) = app.signed_up_owner("oz").await;
    let foreign = sku(&app, &other_farm, "Theirs", "THEIRS", 1, 0, false).await;
    let refused = farm
        .call(
            &app,
            "POST",
            "/api/v1/jobs",
            json!({ "print_file_id": file, "product_sku_id": foreign }),
        )
        .await;
    refused.expect(400);
    assert_eq!(refused.fields(), vec!["product_sku_id"]);

    // A print event that can't be understood dies after its attempts and waits for an admin.
    let tenant = domain::TenantId::parse(&farm.farm).unwrap();
    let mut conn = app.state.store.conn().await.unwrap();
    let id = store::queue::enqueue(
        &mut conn,
        "print-events",
        Some(&tenant),
        &json!({ "event": "garbled" }),
        None,
        None,
        &store::now_text(),
    )
    .await
    .unwrap()
    .unwrap();
    sqlx::query("UPDATE queue_messages SET attempts = max_attempts - 1 WHERE id = $1")
        .bind(&id)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    drain(&app).await;
    let dead = farm.call(&app, "GET", "/api/v1/admin/dlq", json!({})).await;
    dead.expect(200);
    assert_eq!(dead.data()[0]["id"], id.as_str());
    assert_eq!(dead.data()[0]["original_queue"], "print-events");
    assert_eq!(dead.data()[0]["payload"]["event"], "garbled");
    assert!(
        dead.data()[0]["error_message"]
            .as_str()
            .unwrap()
            .contains("bad message")
    );
    let stats = farm
        .call(&app, "GET", "/api/v1/admin/dlq/stats", json!({}))
        .await;
    assert_eq!(stats.data()["by_queue"]["print-events"], 1);
    let theirs = app
        .get(
            &format!("/api/v1/admin/dlq/{id}"),
            &other.token,
            Some(&other_farm),
        )
        .await;
    theirs.expect(404);

    farm.call(
        &app,
        "POST",
        &format!("/api/v1/admin/dlq/{id}/retry"),
        json!({}),
    )
    .await
    .expect(200);
    drain(&app).await;
    // Fresh attempts: it is retried with backoff, not dead at once.
    let still = farm.call(&app, "GET", "/api/v1/admin/dlq", json!({})).await;
    assert_eq!(still.data().as_array().unwrap().len(), 0);
    let purged = farm
        .call(&app, "POST", "/api/v1/admin/dlq/purge", json!({}))
        .await;
    assert_eq!(purged.data()["purged"], 0);
    app.stop().await;
}

/// Waits (with a deadline) until the job has `status`.
async fn job_reaches(app: &TestApp, farm: &Farm, job: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let answer = farm
            .call(app, "GET", &format!("/api/v1/jobs/{job}"), json!({}))
            .await;
        if answer.data()["status"] == status {
            return answer.data().clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {job} never became {status}: {}",
            answer.data()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn the_dispatcher_starts_the_best_job_only_on_a_cleared_bed_and_never_twice() {
    let app = TestApp::spawn().await;
    let mut farm = farm(&app).await;
    let tenant = domain::TenantId::parse(&farm.farm).unwrap();
    let cleared = |on: bool| json!({ "cleared": on });
    let bed = format!("/api/v1/printers/{}/cleared", farm.printer);
    farm.call(&app, "PUT", &bed, cleared(false))
        .await
        .expect(200);
    let queue = |priority: &'static str| {
        let body = json!({ "print_file_id": farm.file, "priority": priority });
        let farm = &farm;
        let app = &app;
        async move {
            let job = farm.call(app, "POST", "/api/v1/jobs", body).await;
            job.expect(201);
            job.data()["id"].as_str().unwrap().to_string()
        }
    };
    let low = queue("low").await;
    let urgent = queue("urgent").await;

    // The bed holds the last print: nothing starts, and the job says why.
    let pass = server::dispatch::run(&app.state, &tenant).await.unwrap();
    assert!(pass.started.is_empty());
    assert_eq!(pass.waiting, 2);
    let waiting = farm
        .call(&app, "GET", &format!("/api/v1/jobs/{urgent}"), json!({}))
        .await;
    let reason: Value =
        serde_json::from_str(waiting.data()["wait_reason"].as_str().unwrap()).unwrap();
    assert_eq!(reason["reason"], "bed_not_cleared");

    // Two dispatchers race for the one cleared bed: exactly one job starts, the urgent one.
    farm.call(&app, "PUT", &bed, cleared(true))
        .await
        .expect(200);
    let (a, b) = tokio::join!(
        server::dispatch::run(&app.state, &tenant),
        server::dispatch::run(&app.state, &tenant)
    );
    let started: Vec<_> = a
        .unwrap()
        .started
        .into_iter()
        .chain(b.unwrap().started)
        .collect();
    assert_eq!(started, vec![(urgent.clone(), farm.printer.clone())]);
    let command = farm.commands.recv().await.unwrap();
    assert_eq!(command["type"], "print_command");
    assert_eq!(command["job_id"], urgent.as_str());
    assert!(farm.commands.try_recv().is_err(), "one print command only");
    job_reaches(&app, &farm, &urgent, "processing").await;
    // An operator marking the bed cleared while the job is on its way changes nothing.
    farm.call(&app, "PUT", &bed, cleared(true))
        .await
        .expect(200);
    let pass = server::dispatch::run(&app.state, &tenant).await.unwrap();
    assert!(pass.started.is_empty());

    // With auto-dispatch on, the finished print's bed being cleared starts the next job.
    let on = farm
        .call(
            &app,
            "PUT",
            &format!("/api/v1/tenants/{}", farm.farm),
            json!({ "auto_dispatch": true }),
        )
        .await;
    on.expect(200);
    assert_eq!(on.data()["auto_dispatch"], 1);
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query("UPDATE print_jobs SET status = 'printing' WHERE id = $1")
        .bind(&urgent)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    farm.call(
        &app,
        "POST",
        &format!("/api/v1/jobs/{urgent}/complete"),
        json!({}),
    )
    .await
    .expect(200);
    drain(&app).await;
    let printer = farm
        .call(
            &app,
            "GET",
            &format!("/api/v1/printers/{}", farm.printer),
            json!({}),
        )
        .await;
    assert_eq!(printer.data()["cleared"], 0);
    let still = farm
        .call(&app, "GET", &format!("/api/v1/jobs/{low}"), json!({}))
        .await;
    assert_eq!(
        still.data()["status"],
        "queued",
        "never on a bed that holds a print"
    );
    farm.call(&app, "PUT", &bed, cleared(true))
        .await
        .expect(200);
    let next = job_reaches(&app, &farm, &low, "processing").await;
    assert_eq!(next["printer_id"], farm.printer.as_str());
    let command = farm.commands.recv().await.unwrap();
    assert_eq!(command["job_id"], low.as_str());
    app.stop().await;
}

/// The one open task of a type, as the worklist lists it.
async fn open_task(app: &TestApp, farm: &Farm, task_type: &str) -> Value {
    let list = farm
        .call(
            app,
            "GET",
            &format!("/api/v1/worklist?task_type={task_type}&status=open"),
            json!({}),
        )
        .await;
    let tasks = list.data().as_array().unwrap().clone();
    assert_eq!(tasks.len(), 1, "one open {task_type} task: {tasks:?}");
    tasks[0].clone()
}

#[tokio::test]
async fn closing_tasks_moves_what_they_stand_for_assembly_to_stock_and_maintenance_due_by_hours() {
    let app = TestApp::spawn().await;
    let mut farm = farm(&app).await;
    // Maintenance every hour of printing, so one long print makes it due.
    let printer_path = format!("/api/v1/printers/{}", farm.printer);
    let set = farm
        .call(
            &app,
            "PUT",
            &printer_path,
            json!({ "maintenance_interval_hours": 1 }),
        )
        .await;
    set.expect(200);
    assert_eq!(set.data()["maintenance_interval_hours"], 1);
    let bad = farm
        .call(
            &app,
            "PUT",
            &printer_path,
            json!({ "maintenance_interval_hours": -3 }),
        )
        .await;
    bad.expect(400);
    assert_eq!(bad.fields(), vec!["maintenance_interval_hours"]);

    // A 90-minute print of a lamp that needs assembly.
    let lamp = sku(&app, &farm.farm, "Lamp", "LAMP-YEL", 2, 0, true).await;
    let job = farm.print_to(&app, &lamp, 50).await;
    let started = domain::time::format(chrono::Utc::now() - chrono::Duration::minutes(90));
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query("UPDATE print_jobs SET time_started = $2 WHERE id = $1")
        .bind(&job)
        .bind(&started)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    farm.call(
        &app,
        "POST",
        &format!("/api/v1/jobs/{job}/complete"),
        json!({}),
    )
    .await
    .expect(200);
    drain(&app).await;

    // Maintenance fell due: one task for the printer, saying why.
    let maintain = open_task(&app, &farm, "maintenance").await;
    assert_eq!(maintain["printer_id"], farm.printer.as_str());
    assert!(
        maintain["subtitle"]
            .as_str()
            .unwrap()
            .contains("1 print hours"),
        "{maintain}"
    );

    // Collection: starting it stamps the start; completing it clears the bed.
    let collect = open_task(&app, &farm, "collection").await;
    let id = collect["id"].as_str().unwrap();
    let started = farm
        .call(
            &app,
            "PUT",
            &format!("/api/v1/worklist/{id}/status"),
            json!({ "status": "in_progress" }),
        )
        .await;
    started.expect(200);
    assert!(started.data()["started_at"].is_string());
    let printer = farm.call(&app, "GET", &printer_path, json!({})).await;
    assert_eq!(printer.data()["cleared"], 0);
    let done = farm
        .call(
            &app,
            "POST",
            &format!("/api/v1/worklist/{id}/complete"),
            json!({ "actual_time_minutes": 3 }),
        )
        .await;
    done.expect(200);
    assert_eq!(done.data()["status"], "completed");
    assert_eq!(done.data()["actual_time_minutes"], 3);
    let printer = farm.call(&app, "GET", &printer_path, json!({})).await;
    assert_eq!(
        printer.data()["cleared"],
        1,
        "collecting the print clears the bed"
    );
    // A closed task stays closed.
    let again = farm
        .call(
            &app,
            "PUT",
            &format!("/api/v1/worklist/{id}/status"),
            json!({ "status": "pending" }),
        )
        .await;
    again.expect(409);
    assert_eq!(again.code(), "TASK_CLOSED");

    // Assembly: started from the assembly list, its worklist task follows; completing moves
    // the two units from needs-assembly to ready stock.
    let assembly = farm
        .call(&app, "GET", "/api/v1/assembly?status=pending", json!({}))
        .await;
    let assembly_id = assembly.data()[0]["id"].as_str().unwrap().to_string();
    // Its instructions: none written yet, then the SKU's published article.
    let how = format!("/api/v1/assembly/{assembly_id}/wiki");
    let none = farm.call(&app, "GET", &how, json!({})).await;
    none.expect(200);
    assert!(none.data()["article"].is_null());
    let article = farm
        .call(
            &app,
            "POST",
            "/api/v1/wiki",
            json!({ "title": "Assembling the lamp", "sku_id": lamp, "content": "1. Fit the **shade**" }),
        )
        .await;
    article.expect(201);
    let article_id = article.data()["id"].as_str().unwrap();
    farm.call(
        &app,
        "POST",
        &format!("/api/v1/wiki/{article_id}/publish"),
        json!({}),
    )
    .await
    .expect(200);
    let guide = farm.call(&app, "GET", &how, json!({})).await;
    assert_eq!(guide.data()["article"]["title"], "Assembling the lamp");
    assert!(
        guide.data()["article"]["content_html"]
            .as_str()
            .unwrap()
            .contains("<strong>shade</strong>"),
        "{}",
        guide.data()
    );
    // The assembly page shows it with its how-to and its buttons.
    let (status, page) = app.page("/assembly", &farm.owner, &farm.farm).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("id=\"assembly-{assembly_id}\"")),
        "{page}"
    );
    assert!(page.contains("How to assemble") && page.contains("/api/v1/assembly/"));
    farm.call(
        &app,
        "PUT",
        &format!("/api/v1/assembly/{assembly_id}"),
        json!({ "status": "in_progress" }),
    )
    .await
    .expect(200);
    let assemble = open_task(&app, &farm, "assembly").await;
    assert_eq!(assemble["status"], "in_progress");
    let completed = farm
        .call(
            &app,
            "POST",
            &format!("/api/v1/assembly/{assembly_id}/complete"),
            json!({}),
        )
        .await;
    completed.expect(200);
    assert_eq!(completed.data()["units_moved"], 2);
    assert_eq!(completed.data()["task"]["status"], "completed");
    assert!(completed.data()["task"]["completed_at"].is_string());
    let stock = farm.call(&app, "GET", "/api/v1/inventory", json!({})).await;
    assert_eq!(stock.data()[0]["current_stock"], 2);
    assert_eq!(stock.data()[0]["quantity_needs_assembly"], 0);
    assert_eq!(stock.data()[0]["quantity_assembled"], 2);
    let task = farm
        .call(
            &app,
            "GET",
            &format!("/api/v1/worklist/{}", assemble["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(task.data()["status"], "completed");
    let twice = farm
        .call(
            &app,
            "POST",
            &format!("/api/v1/assembly/{assembly_id}/complete"),
            json!({}),
        )
        .await;
    twice.expect(409);
    assert_eq!(twice.code(), "ASSEMBLY_COMPLETED");

    // An assembly of more than waits moves only what waits: stock never goes below zero.
    let extra = farm
        .call(
            &app,
            "POST",
            "/api/v1/assembly",
            json!({ "sku_id": lamp, "quantity": 5 }),
        )
        .await;
    extra.expect(201);
    assert!(extra.data()["worklist_task_id"].is_string());
    let extra_id = extra.data()["id"].as_str().unwrap();
    // Completing its worklist task completes the assembly.
    let moved = farm
        .call(
            &app,
            "POST",
            &format!(
                "/api/v1/worklist/{}/complete",
                extra.data()["worklist_task_id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    moved.expect(200);
    let extra = farm
        .call(
            &app,
            "GET",
            &format!("/api/v1/assembly/{extra_id}"),
            json!({}),
        )
        .await;
    assert_eq!(extra.data()["status"], "completed");
    let stock = farm.call(&app, "GET", "/api/v1/inventory", json!({})).await;
    assert_eq!(
        stock.data()[0]["current_stock"],
        2,
        "nothing waited: nothing moved"
    );
    assert_eq!(stock.data()[0]["quantity_needs_assembly"], 0);
    let stats = farm
        .call(&app, "GET", "/api/v1/assembly/stats", json!({}))
        .await;
    assert_eq!(stats.data()["completed"], 2);
    assert_eq!(stats.data()["units_needing_assembly"], 0);

    // Maintenance done through its task: recorded, and the next 30 minutes make none due.
    farm.call(
        &app,
        "PUT",
        &format!(
            "/api/v1/worklist/{}/status",
            maintain["id"].as_str().unwrap()
        ),
        json!({ "status": "completed" }),
    )
    .await
    .expect(200);
    let printer = farm.call(&app, "GET", &printer_path, json!({})).await;
    assert!(printer.data()["last_maintenance_date"].is_string());
    assert_eq!(
        printer.data()["print_minutes_at_maintenance"],
        printer.data()["total_print_time"]
    );
    farm.print_and_complete(&app, &lamp).await;
    drain(&app).await;
    let due = farm
        .call(
            &app,
            "GET",
            "/api/v1/worklist?task_type=maintenance&status=open",
            json!({}),
        )
        .await;
    assert_eq!(due.data().as_array().unwrap().len(), 0);
    app.stop().await;
}
