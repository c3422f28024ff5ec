//! End to end over real sockets: the server, the hub agent and a simulated printer.
//!
//! A farm registers a hub, the hub agent dials in and proves its secret, the printer
//! (simulated: MQTT over TLS, FTPS with session reuse) is configured on it and reports in;
//! a fixture 3MF is queued, assigned and started; the hub downloads it through its signed
//! link, sends it to the printer by FTPS and starts the plate; the printer prints on an
//! accelerated clock; the job completes from the printer's own reports; the print event
//! adds finished goods and a collection task; the dashboard saw it all, in order.

mod common;

use common::TestApp;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

async fn until(
    app: &TestApp,
    path: &str,
    token: &str,
    farm: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let answer = app.get(path, token, Some(farm)).await;
        if check(answer.data()) {
            return answer.data().clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never matched: {}",
            answer.data()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_plate_prints_on_a_simulated_printer_through_the_hub() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("erin").await;
    let tenant = domain::TenantId::parse(&farm).unwrap();

    // The printer: an A1 mini, which `sample-a.3mf` was sliced for.
    let mut sim_config = sim::FarmConfig::uniform(bambu::model::Model::A1Mini, 1);
    sim_config.time_scale = 400.0;
    sim_config.report_interval = Duration::from_millis(200);
    let printers = sim::Farm::start(sim_config).await.unwrap();
    let printer = &printers.printers()[0];

    let hub = app
        .post(
            "/api/v1/hubs/register",
            &owner.token,
            Some(&farm),
            json!({ "name": "Rack A" }),
        )
        .await;
    let hub_id = hub.data()["hub_id"].as_str().unwrap().to_string();
    let secret = hub.data()["secret"].as_str().unwrap().to_string();
    let added = app
        .post(
            "/api/v1/printers",
            &owner.token,
            Some(&farm),
            json!({ "name": "A1M-01", "model": "A1 mini", "serial_number": printer.serial(),
                    "access_code": printer.access_code(), "ip_address": "127.0.0.1", "nozzle_size": 0.4, "hub_id": hub_id }),
        )
        .await;
    added.expect(201);
    let printer_id = added.data()["id"].as_str().unwrap().to_string();

    // A SKU, so the finished print becomes stock.
    let now = store::now_text();
    let mut conn = app.state.store.conn().await.unwrap();
    let product = store::catalogue::create_product(
        &mut conn,
        &tenant,
        &store::catalogue::NewProduct {
            name: "Keychain",
            requires_assembly: false,
        },
        &now,
    )
    .await
    .unwrap();
    let sku = store::catalogue::create_sku(
        &mut conn,
        &tenant,
        &store::catalogue::NewSku {
            product_id: &product,
            sku: "KEY-YEL",
            color: "Yellow",
            filament_type: Some("PLA"),
            quantity: 2,
            price: Some(500),
            low_stock_threshold: 1,
        },
        &now,
    )
    .await
    .unwrap();
    drop(conn);

    // A dashboard follows the farm.
    let url = format!("{}/ws/dashboard", app.base.replacen("http", "ws", 1));
    let (mut dashboard, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let auth = json!({ "type": "auth", "token": owner.token, "tenant_id": farm });
    dashboard
        .send(Message::Text(auth.to_string().into()))
        .await
        .unwrap();
    let subscribe = json!({ "type": "subscribe", "printers": [] });
    dashboard
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    tokio::spawn(async move {
        while let Some(Ok(message)) = dashboard.next().await {
            if let Message::Text(text) = message {
                let _ = seen_tx.send(serde_json::from_str(&text).unwrap());
            }
        }
    });

    // The hub agent, told where the simulated printer listens.
    let data = tempfile::tempdir().unwrap();
    let mut config = hub::Config::new(app.base.clone(), hub_id.clone(), secret, data.path());
    config.discovery_listen = "127.0.0.1:0".parse().unwrap();
    config.reconnect_initial_ms = 100;
    config.printers.insert(
        printer.serial().to_string(),
        hub::config::PrinterOverride {
            host: Some("127.0.0.1".into()),
            mqtt_port: Some(printer.mqtt_addr().port()),
            ftps_port: Some(printer.ftps_addr().port()),
        },
    );
    let (stop_hub, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(hub::Agent::run(config, async move {
        let _ = stopped.await;
    }));

    // The printer comes online through the hub.
    until(
        &app,
        &format!("/api/v1/printers/{printer_id}"),
        &owner.token,
        &farm,
        |p| p["is_connected"] == 1 && p["status"] == "idle",
    )
    .await;

    // Queue, assign, start.
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            Some(&farm),
            json!({ "print_file_id": file, "product_sku_id": sku }),
        )
        .await;
    job.expect(201);
    let job_id = job.data()["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/jobs/{job_id}/assign"),
        &owner.token,
        Some(&farm),
        json!({ "printer_id": printer_id }),
    )
    .await
    .expect(200);
    let started = app
        .post(
            &format!("/api/v1/jobs/{job_id}/start"),
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    started.expect(200);

    // The printer prints it, and the job follows the printer to the end.
    let done = until(
        &app,
        &format!("/api/v1/jobs/{job_id}"),
        &owner.token,
        &farm,
        |j| j["status"] == "completed" || j["status"] == "failed",
    )
    .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["progress_percentage"], 100);
    let on_card = printer.files();
    let sent = on_card
        .iter()
        .find(|f| f.path.ends_with(".3mf"))
        .expect("the file is on the printer");
    assert_eq!(sent.size, common::fixture("sample-a.3mf").len() as u64);

    // The print event: stock and a task to collect the print.
    server::workers::drain_until_idle(&app.state, Duration::from_secs(20))
        .await
        .unwrap();
    let stock = app
        .get("/api/v1/inventory", &owner.token, Some(&farm))
        .await;
    assert_eq!(stock.data()[0]["current_stock"], 2);
    let tasks = app
        .get(
            "/api/v1/worklist?task_type=collection",
            &owner.token,
            Some(&farm),
        )
        .await;
    assert_eq!(tasks.data()[0]["printer_id"], printer_id.as_str());
    let bed = app
        .get(
            &format!("/api/v1/printers/{printer_id}"),
            &owner.token,
            Some(&farm),
        )
        .await;
    assert_eq!(bed.data()["cleared"], 0);

    // What the dashboard saw: the printer live, and the job's moves in order.
    let mut moves: Vec<String> = Vec::new();
    let mut printer_reports = 0;
    while let Ok(message) = seen_rx.try_recv() {
        match message["type"].as_str() {
            Some("printer_status") if message["printer_id"] == printer_id.as_str() => {
                printer_reports += 1
            }
            Some("job_update") if message["job_id"] == job_id.as_str() => {
                let status = message["status"].as_str().unwrap().to_string();
                if moves.last() != Some(&status) {
                    moves.push(status);
                }
            }
            _ => {}
        }
    }
    assert!(printer_reports > 0, "the dashboard saw the printer");
    assert_eq!(moves, ["processing", "uploaded", "printing", "completed"]);

    let _ = stop_hub.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), agent).await;
    app.stop().await;
}
