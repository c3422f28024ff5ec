//! End to end over real sockets: the server, the hub agent and a simulated printer.
//!
//! A farm registers a hub, the hub agent dials in and proves its secret, the printer
//! (simulated: MQTT over TLS, FTPS with session reuse) is configured on it and reports in;
//! a fixture 3MF is queued, assigned and started; the hub downloads it through its signed
//! link, sends it to the printer by FTPS and starts the plate; the printer prints on an
//! accelerated clock; the job completes from the printer's own reports; the print event
//! adds finished goods and a collection task; the dashboard saw it all, in order.

use crate::common;
use crate::common::live;

use common::TestApp;
use futures::{SinkExt, StreamExt};
use live::{Farm, RunningHub};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_plate_prints_on_a_simulated_printer_through_the_hub() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = TestApp::spawn().await;
    // The printer: an A1 mini, which `sample-a.3mf` was sliced for.
    let setup = Farm::new(&app, "erin", 400.0).await;
    let (owner, farm) = (&setup.owner, &setup.farm);
    let printer = setup.printer();
    let printer_id = setup.add_printer(&app, None).await;
    // A SKU, so the finished print becomes stock.
    let sku = setup.sku(&app).await;

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
    let agent = RunningHub::start(setup.hub_config(&app, data.path()));

    // The printer comes online through the hub.
    setup.printer_ready(&app, &printer_id).await;

    // Queue, assign, start.
    let job_id = setup.queue(&app, Some(&sku)).await;
    setup
        .assign_and_start(&app, &job_id, &printer_id)
        .await
        .expect(200);

    // The printer prints it, and the job follows the printer to the end.
    let done = setup.job_reaches(&app, &job_id, "completed").await;
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
    let stock = app.get("/api/v1/inventory", &owner.token, Some(farm)).await;
    assert_eq!(stock.data()[0]["current_stock"], 2);
    let tasks = app
        .get(
            "/api/v1/worklist?task_type=collection",
            &owner.token,
            Some(farm),
        )
        .await;
    assert_eq!(tasks.data()[0]["printer_id"], printer_id.as_str());
    let bed = app
        .get(
            &format!("/api/v1/printers/{printer_id}"),
            &owner.token,
            Some(farm),
        )
        .await;
    assert_eq!(bed.data()["cleared"], 0);

    // What the dashboard saw: the printer live, and the job's moves in order.
    let mut moves: Vec<String> = Vec::new();
    let mut printer_reports = 0;
    while let Ok(message) = seen_rx.try_recv() {
        match message["type"].as_str() {
            Some("printer_status") if message["printer_uuid"] == printer_id.as_str() => {
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

    agent.stop().await;
    app.stop().await;
}

/// The dispatcher's loop on a real printer: with auto-dispatch on, a queued job starts on the
/// printer's cleared bed; when that print finishes the bed holds it, so the next job waits
/// until an operator marks the bed cleared, and then starts.
/// The open task of `task_type`, once the farm has made it.
async fn open_task(app: &TestApp, setup: &Farm, task_type: &str) -> Value {
    let list = setup
        .until(
            app,
            &format!("/api/v1/worklist?task_type={task_type}&status=open"),
            |tasks| tasks.as_array().is_some_and(|t| !t.is_empty()),
        )
        .await;
    list[0].clone()
}

/// The operator's loop on the floor: a finished print makes a collection task, completing
/// it clears the bed and the next job starts; a job whose filament no printer holds asks
/// for it to be loaded (naming the tray), and the printer's report of the spool loaded
/// closes that task and starts the job from that tray.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collecting_a_print_and_loading_a_filament_start_the_next_jobs() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = TestApp::spawn().await;
    let setup = Farm::new(&app, "dina", 400.0).await;
    let printer_id = setup.add_printer(&app, None).await;
    // What the printer holds, as `sample-a.3mf` was sliced for.
    setup
        .put(
            &app,
            &format!("/api/v1/printers/{printer_id}"),
            json!({ "current_filament_type": "PLA", "current_color_hex": "#F7D959",
                    "current_build_plate": "textured_plate" }),
        )
        .await
        .expect(200);
    let data = tempfile::tempdir().unwrap();
    let agent = RunningHub::start(setup.hub_config(&app, data.path()));
    setup.printer_ready(&app, &printer_id).await;
    setup
        .put(
            &app,
            &format!("/api/v1/tenants/{}", setup.farm),
            json!({ "auto_dispatch": true }),
        )
        .await
        .expect(200);

    let first = setup.queue(&app, None).await;
    let file = setup
        .get(&app, &format!("/api/v1/jobs/{first}"))
        .await
        .data()["print_file_id"]
        .as_str()
        .unwrap()
        .to_string();
    let queued = setup
        .post(&app, "/api/v1/jobs", json!({ "print_file_id": file }))
        .await;
    queued.expect(201);
    let second = queued.data()["id"].as_str().unwrap().to_string();
    let done = setup.job_reaches(&app, &first, "completed").await;
    assert_eq!(done["printer_id"], printer_id.as_str());
    let waiting = setup.get(&app, &format!("/api/v1/jobs/{second}")).await;
    assert_eq!(
        waiting.data()["status"],
        "queued",
        "never on a bed that holds a print"
    );

    // The collection task says what to take from which printer; completing it frees the bed.
    let collect = open_task(&app, &setup, "collection").await;
    assert_eq!(collect["printer_id"], printer_id.as_str());
    assert!(
        collect["title"].as_str().unwrap().contains("A1M-01"),
        "{collect}"
    );
    let completed = setup
        .post(
            &app,
            &format!(
                "/api/v1/worklist/{}/complete",
                collect["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    completed.expect(200);
    assert_eq!(completed.data()["status"], "completed");
    assert!(completed.data()["completed_at"].is_string());
    let next = setup
        .until(&app, &format!("/api/v1/jobs/{second}"), |j| {
            j["status"] != "queued"
        })
        .await;
    assert_eq!(next["printer_id"], printer_id.as_str(), "{next}");
    setup.job_reaches(&app, &second, "completed").await;

    // A green job: no tray holds green PLA, so once the bed is clear the farm asks for it.
    let green = setup
        .post(
            &app,
            "/api/v1/jobs",
            json!({ "print_file_id": file, "filament_type": "PLA", "color": "#00AE42" }),
        )
        .await;
    green.expect(201);
    let green = green.data()["id"].as_str().unwrap().to_string();
    setup
        .put(
            &app,
            &format!("/api/v1/printers/{printer_id}/cleared"),
            json!({ "cleared": true }),
        )
        .await
        .expect(200);
    let change = open_task(&app, &setup, "filament_change").await;
    assert_eq!(change["printer_id"], printer_id.as_str());
    assert!(
        change["title"].as_str().unwrap().contains("#00AE42"),
        "{change}"
    );
    // The simulated AMS has trays 1, 2 and 4 loaded: the empty third tray is named.
    assert!(
        change["subtitle"]
            .as_str()
            .unwrap()
            .contains("AMS 1 tray 3"),
        "{change}"
    );
    assert_eq!(
        setup
            .get(&app, &format!("/api/v1/jobs/{green}"))
            .await
            .data()["status"],
        "queued"
    );

    // An operator loads the spool; the printer's report closes the task by itself and the
    // job starts, printing from that tray.
    setup.printer().load_filament(2, "PLA", "#00AE42");
    setup
        .until(
            &app,
            &format!("/api/v1/worklist/{}", change["id"].as_str().unwrap()),
            |task| task["status"] == "completed",
        )
        .await;
    setup.job_reaches(&app, &green, "completed").await;
    assert_eq!(setup.printer().last_ams_mapping(), vec![2]);
    agent.stop().await;
    app.stop().await;
}

/// A printer added to a hub that is online is taken on by the hub at once: it reports in
/// and is ready to print without the hub reconnecting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_added_while_its_hub_is_online_comes_online_without_a_hub_restart() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = TestApp::spawn().await;
    let setup = Farm::new(&app, "olly", 400.0).await;
    let data = tempfile::tempdir().unwrap();
    let agent = RunningHub::start(setup.hub_config(&app, data.path()));
    setup.hub_connected(&app, true).await;
    let printer_id = setup.add_printer(&app, None).await;
    let ready = setup.printer_ready(&app, &printer_id).await;
    assert_eq!(ready["is_connected"], 1);
    agent.stop().await;
    app.stop().await;
}
