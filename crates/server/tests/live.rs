//! Both sockets over real WebSockets: a hub proves its secret and drives a print from its
//! printer's reports, while a dashboard sees the printer and the job move, in order.

use crate::common;

use common::TestApp;
use futures::{SinkExt, StreamExt};
use proto::hub::{self as wire, HubToServer};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_url(app: &TestApp, path: &str) -> String {
    format!("{}{path}", app.base.replacen("http", "ws", 1))
}

async fn open(app: &TestApp, path: &str) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    tokio_tungstenite::connect_async(ws_url(app, path))
        .await
        .map(|(socket, _)| socket)
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next text message as JSON, or the close code; fails after a deadline.
async fn next(socket: &mut Socket) -> Result<Value, Option<u16>> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a message within the deadline");
        match message {
            Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => return Err(None),
        }
    }
}

/// The next message of `kind`, skipping others.
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let message = next(socket)
            .await
            .unwrap_or_else(|code| panic!("closed ({code:?}) waiting for {kind}"));
        if message["type"] == kind {
            return message;
        }
    }
}

fn hello(hub_id: &str, secret: &str, nonce: &str, timestamp: i64) -> Value {
    let signature = wire::hello_signature(&wire::hello_key(secret), hub_id, timestamp, nonce);
    serde_json::to_value(HubToServer::HubHello {
        hub_id: hub_id.into(),
        firmware_version: "1.0.0".into(),
        hardware_version: None,
        mac_address: None,
        timestamp,
        nonce: nonce.into(),
        signature,
    })
    .unwrap()
}

fn status(serial: &str, state: &str, gcode: &str, progress: i64) -> Value {
    json!({ "type": "printer_status", "printer_id": serial, "status": state, "is_connected": true,
            "gcode_state": gcode, "progress_percentage": progress,
            "temperatures": { "nozzle": 220.0, "nozzle_target": 220.0, "bed": 60.0, "bed_target": 60.0 } })
}

async fn eventually_json(
    app: &TestApp,
    path: &str,
    token: &str,
    farm: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
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
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_hub_proves_its_secret_and_its_printers_reports_drive_the_job_seen_live() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("hana").await;
    let (hub_id, secret) = app.register_hub(&owner, &farm, "Rack A").await;
    let serial = "0300AA000000002";
    let printer_id = app.add_printer(&owner, &farm, json!({ "name": "A1M-01", "model": "A1 mini", "serial_number": serial, "access_code": "12345678",
                    "nozzle_size": 0.4, "current_filament_type": "PLA", "current_color_hex": "#F7D959", "hub_id": hub_id })).await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            Some(&farm),
            json!({ "print_file_id": file }),
        )
        .await;
    let job_id = job.data()["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/jobs/{job_id}/assign"),
        &owner.token,
        Some(&farm),
        json!({ "printer_id": printer_id }),
    )
    .await
    .expect(200);

    // A dashboard of the farm.
    let mut dashboard = open(&app, "/ws/dashboard").await.unwrap();
    send(
        &mut dashboard,
        json!({ "type": "auth", "token": owner.token, "tenant_id": farm }),
    )
    .await;
    assert_eq!(next(&mut dashboard).await.unwrap()["type"], "auth_success");
    send(
        &mut dashboard,
        json!({ "type": "subscribe", "printers": [] }),
    )
    .await;

    // Unknown hubs are not found; a wrong secret, a stale timestamp or a replayed nonce is refused.
    match open(&app, "/ws/hub/pfhub-nobody").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404)
        }
        other => panic!("an unknown hub connected: {other:?}"),
    }
    let now = chrono::Utc::now().timestamp();
    for (bad, code) in [
        (
            hello(&hub_id, "pfhs_wrong", "n-1", now),
            wire::close::BAD_SIGNATURE,
        ),
        (
            hello(&hub_id, &secret, "n-2", now - 3600),
            wire::close::BAD_SIGNATURE,
        ),
        (
            hello("another-hub", &secret, "n-3", now),
            wire::close::WRONG_HUB,
        ),
        (json!({ "type": "heartbeat" }), wire::close::NO_HELLO),
    ] {
        let mut socket = open(&app, &format!("/ws/hub/{hub_id}")).await.unwrap();
        send(&mut socket, bad).await;
        assert_eq!(next(&mut socket).await, Err(Some(code)));
    }
    let mut hub = open(&app, &format!("/ws/hub/{hub_id}")).await.unwrap();
    send(&mut hub, hello(&hub_id, &secret, "n-ok", now)).await;
    let welcome = next(&mut hub).await.unwrap();
    assert_eq!(welcome["type"], "hub_welcome");
    assert_eq!(welcome["tenant_id"], farm.as_str());
    let configure = next_of(&mut hub, "configure_printer").await;
    assert_eq!(configure["action"], "add");
    assert_eq!(configure["printer"]["serial_number"], serial);
    assert_eq!(
        configure["printer"]["access_code"], "12345678",
        "the hub gets the code it needs"
    );
    send(
        &mut hub,
        json!({ "type": "command_ack", "command_id": configure["command_id"], "success": true }),
    )
    .await;
    let mut replay = open(&app, &format!("/ws/hub/{hub_id}")).await.unwrap();
    send(&mut replay, hello(&hub_id, &secret, "n-ok", now)).await;
    assert_eq!(
        next(&mut replay).await,
        Err(Some(wire::close::BAD_SIGNATURE)),
        "a nonce is good once"
    );
    let hub_state = app
        .get(
            &format!("/api/v1/hubs/{hub_id}/connection"),
            &owner.token,
            Some(&farm),
        )
        .await;
    assert_eq!(hub_state.data()["connected"], true);

    // The printer reports in: it is connected and idle, and the dashboard sees it by its farm id.
    send(&mut hub, status(serial, "idle", "IDLE", 0)).await;
    let seen = next_of(&mut dashboard, "printer_status").await;
    assert_eq!(seen["printer_uuid"], printer_id.as_str());
    assert_eq!(
        seen["printer_id"], "1",
        "the farm's number, as the old client reads it"
    );
    assert_eq!(seen["temperatures"]["bed"], 60.0);
    eventually_json(
        &app,
        &format!("/api/v1/printers/{printer_id}"),
        &owner.token,
        &farm,
        |p| p["is_connected"] == 1,
    )
    .await;

    // Start: the hub gets print_command and acks it.
    let starter = {
        let app_base = app.base.clone();
        let client = app.client.clone();
        let token = owner.token.clone();
        let farm = farm.clone();
        let job_id = job_id.clone();
        tokio::spawn(async move {
            client
                .post(format!("{app_base}/api/v1/jobs/{job_id}/start"))
                .bearer_auth(token)
                .header("x-tenant-id", farm)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let command = next_of(&mut hub, "print_command").await;
    assert_eq!(command["job_id"], job_id.as_str());
    assert_eq!(command["printer_id"], serial);
    assert!(command["expires_at"].as_i64().unwrap() > now);
    send(
        &mut hub,
        json!({ "type": "command_ack", "command_id": command["command_id"], "success": true }),
    )
    .await;
    assert_eq!(starter.await.unwrap(), 200);

    // The file travels, then the printer runs and finishes: the job follows, and so does the dashboard.
    for stage in ["downloading", "uploading", "complete"] {
        send(&mut hub, json!({ "type": "file_progress", "printer_id": serial, "job_id": job_id, "stage": stage, "progress_percentage": 100 })).await;
    }
    eventually_json(
        &app,
        &format!("/api/v1/jobs/{job_id}"),
        &owner.token,
        &farm,
        |j| j["status"] == "uploaded",
    )
    .await;
    send(&mut hub, status(serial, "printing", "RUNNING", 10)).await;
    eventually_json(
        &app,
        &format!("/api/v1/jobs/{job_id}"),
        &owner.token,
        &farm,
        |j| j["status"] == "printing",
    )
    .await;
    send(&mut hub, status(serial, "idle", "FINISH", 100)).await;
    let done = eventually_json(
        &app,
        &format!("/api/v1/jobs/{job_id}"),
        &owner.token,
        &farm,
        |j| j["status"] == "completed",
    )
    .await;
    assert_eq!(done["progress_percentage"], 100);
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("completed") {
        let update = next_of(&mut dashboard, "job_update").await;
        if update["job_id"] == job_id.as_str()
            && seen.last() != update["status"].as_str().map(str::to_string).as_ref()
        {
            seen.push(update["status"].as_str().unwrap().to_string());
        }
    }
    // processing: the file on its way (transfer progress), then the moves.
    assert_eq!(seen, ["processing", "uploaded", "printing", "completed"]);
    server::workers::drain_until_idle(&app.state, Duration::from_secs(20))
        .await
        .unwrap();
    let tasks = app
        .get(
            "/api/v1/worklist?task_type=collection",
            &owner.token,
            Some(&farm),
        )
        .await;
    assert_eq!(tasks.data().as_array().unwrap().len(), 1);

    // The hub goes away: it and its printer are offline, and the dashboard is told.
    hub.close(None).await.unwrap();
    let offline = next_of(&mut dashboard, "hub_status").await;
    assert_eq!(offline["is_online"], false);
    eventually_json(
        &app,
        &format!("/api/v1/printers/{printer_id}"),
        &owner.token,
        &farm,
        |p| p["is_connected"] == 0 && p["status"] == "offline",
    )
    .await;
    let pause = app
        .post(
            &format!("/api/v1/printers/{printer_id}/control"),
            &owner.token,
            Some(&farm),
            json!({ "action": "pause" }),
        )
        .await;
    pause.expect(409);
    assert_eq!(pause.code(), "HUB_OFFLINE");
    app.stop().await;
}

#[tokio::test]
async fn a_dashboard_must_authenticate_and_sees_only_its_farm() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("dora").await;
    let (stranger, _) = app.signed_up_owner("sam").await;

    let mut anonymous = open(&app, "/ws/dashboard").await.unwrap();
    send(
        &mut anonymous,
        json!({ "type": "subscribe", "printers": [] }),
    )
    .await;
    let refused = next(&mut anonymous).await.unwrap();
    assert_eq!(refused["type"], "auth_error");
    assert!(
        refused["error"].as_str().unwrap().contains("auth"),
        "the old client reads `error`: {refused}"
    );
    assert_eq!(refused["message"], refused["error"]);
    assert_eq!(next(&mut anonymous).await, Err(Some(4001)));

    let mut bad = open(&app, "/ws/dashboard").await.unwrap();
    send(
        &mut bad,
        json!({ "type": "auth", "token": "not-a-session" }),
    )
    .await;
    assert_eq!(next(&mut bad).await.unwrap()["type"], "auth_error");

    let mut outsider = open(&app, &format!("/ws/dashboard?tenant={farm}"))
        .await
        .unwrap();
    send(
        &mut outsider,
        json!({ "type": "auth", "token": stranger.token }),
    )
    .await;
    let refused = next(&mut outsider).await.unwrap();
    assert_eq!(refused["type"], "auth_error");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("not a member")
    );

    let mut mine = open(&app, &format!("/ws/dashboard?tenant={farm}"))
        .await
        .unwrap();
    send(&mut mine, json!({ "type": "auth", "token": owner.token })).await;
    assert_eq!(next(&mut mine).await.unwrap()["type"], "auth_success");
    let mut theirs = open(&app, "/ws/dashboard").await.unwrap();
    send(
        &mut theirs,
        json!({ "type": "auth", "token": stranger.token }),
    )
    .await;
    assert_eq!(next(&mut theirs).await.unwrap()["type"], "auth_success");
    let counted = app.get("/ws/dashboard/status", &owner.token, None).await;
    assert_eq!(counted.data()["connections"], 2);

    // An event of my farm reaches me and not the stranger, whose next message is their own pong.
    let tenant = domain::TenantId::parse(&farm).unwrap();
    app.state.realtime.publish(
        &tenant,
        proto::dashboard::ServerMessage::HubStatus {
            hub_id: "h1".into(),
            is_online: true,
        },
    );
    assert_eq!(next(&mut mine).await.unwrap()["hub_id"], "h1");
    send(&mut theirs, json!({ "type": "ping" })).await;
    assert_eq!(next(&mut theirs).await.unwrap()["type"], "pong");

    // A message the server cannot read is answered with its code and time, not dropped.
    send(&mut theirs, json!({ "type": "dance" })).await;
    let error = next(&mut theirs).await.unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["code"], "INVALID_MESSAGE");
    assert!(error["timestamp"].as_str().unwrap().starts_with("20"));
    app.stop().await;
}

#[tokio::test]
async fn the_old_client_follows_printers_by_the_farms_number() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olli").await;
    let mut printers = Vec::new();
    for name in ["P1S-01", "P1S-02"] {
        let id = app
            .add_printer(&owner, &farm, json!({ "name": name, "model": "P1S" }))
            .await;
        printers.push(app.printer_row(&farm, &id).await);
    }
    let tenant = domain::TenantId::parse(&farm).unwrap();
    let report = |printer: &store::printers::Printer, progress: i64| {
        app.state.realtime.printer_status(
            &tenant,
            printer,
            proto::PrinterStatus {
                printer_id: "ignored: the server keys it".into(),
                status: domain::printers::PrinterStatus::Printing,
                progress_percentage: Some(progress),
                ..Default::default()
            },
        )
    };
    let mut dashboard = open(&app, &format!("/ws/dashboard?tenant={farm}"))
        .await
        .unwrap();
    send(
        &mut dashboard,
        json!({ "type": "auth", "token": owner.token }),
    )
    .await;
    assert_eq!(next(&mut dashboard).await.unwrap()["type"], "auth_success");

    // Following printer number 2 (as text, as the old client sends it) shows only it.
    send(
        &mut dashboard,
        json!({ "type": "subscribe", "printers": ["2"] }),
    )
    .await;
    send(&mut dashboard, json!({ "type": "ping" })).await;
    assert_eq!(next_of(&mut dashboard, "pong").await["type"], "pong");
    report(&printers[0], 10);
    report(&printers[1], 20);
    let seen = next_of(&mut dashboard, "printer_status").await;
    assert_eq!(seen["printer_id"], "2");
    assert_eq!(seen["printer_uuid"], printers[1].id.as_str());
    assert_eq!(seen["progress_percentage"], 20);

    // `unsubscribe: true` stops following the printers listed; then every printer comes.
    send(
        &mut dashboard,
        json!({ "type": "subscribe", "printers": ["2"], "unsubscribe": true }),
    )
    .await;
    send(&mut dashboard, json!({ "type": "ping" })).await;
    assert_eq!(next_of(&mut dashboard, "pong").await["type"], "pong");
    report(&printers[0], 30);
    // The snapshot of both printers may come first; printer 1's new report comes in the end.
    loop {
        let seen = next_of(&mut dashboard, "printer_status").await;
        if seen["printer_id"] == "1" && seen["progress_percentage"] == 30 {
            break;
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_change_to_a_printers_record_or_the_farms_reaches_every_open_dashboard() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("bea").await;
    let printer = app
        .add_printer(&owner, &farm, json!({ "name": "P1S-01", "model": "P1S" }))
        .await;
    let mut dashboard = open(&app, &format!("/ws/dashboard?tenant={farm}"))
        .await
        .unwrap();
    send(
        &mut dashboard,
        json!({ "type": "auth", "token": owner.token }),
    )
    .await;
    assert_eq!(next(&mut dashboard).await.unwrap()["type"], "auth_success");

    // What the hub's reports do not carry still moves other browsers' cards.
    app.put(
        &format!("/api/v1/printers/{printer}/cleared"),
        &owner.token,
        Some(&farm),
        json!({ "cleared": true }),
    )
    .await
    .expect(200);
    let event = next_of(&mut dashboard, "printer_updated").await;
    assert_eq!(event["printer_uuid"], printer.as_str());
    assert_eq!(event["printer_id"], "1");
    assert_eq!(event["change"], "cleared");

    app.put(
        &format!("/api/v1/printers/{printer}/maintenance"),
        &owner.token,
        Some(&farm),
        json!({ "in_maintenance": true }),
    )
    .await
    .expect(200);
    assert_eq!(
        next_of(&mut dashboard, "printer_updated").await["change"],
        "maintenance"
    );

    app.put(
        "/api/v1/printers/order",
        &owner.token,
        Some(&farm),
        json!({ "printer_ids": [printer] }),
    )
    .await
    .expect(200);
    let moved = next_of(&mut dashboard, "printer_updated").await;
    assert_eq!(moved["change"], "order");
    assert!(moved["printer_id"].is_null());

    // The farm's own settings too: the dispatcher switched on shows on every overview.
    app.put(
        &format!("/api/v1/tenants/{farm}"),
        &owner.token,
        Some(&farm),
        json!({ "auto_dispatch": true }),
    )
    .await
    .expect(200);
    let farm_changed = next_of(&mut dashboard, "farm_updated").await;
    assert_eq!(farm_changed["auto_dispatch"], true);
    app.stop().await;
}

/// A server that stops closes its hub sockets ("going away") and writes each hub offline
/// before its database closes: the farm does not show a hub online that nobody serves.
#[tokio::test]
async fn a_stopping_server_closes_its_hub_sockets_and_leaves_the_hubs_offline() {
    let app = TestApp::spawn_apart().await;
    let (owner, farm) = app.signed_up_owner("hugo").await;
    let (hub_id, secret) = app.register_hub(&owner, &farm, "Rack A").await;
    let mut socket = open(&app, &format!("/ws/hub/{hub_id}")).await.unwrap();
    let now = chrono::Utc::now().timestamp();
    send(&mut socket, hello(&hub_id, &secret, "n-stop", now)).await;
    next_of(&mut socket, "hub_welcome").await;
    let online = app
        .get(&format!("/api/v1/hubs/{hub_id}"), &owner.token, Some(&farm))
        .await;
    assert_eq!(online.data()["is_online"], 1);

    let app = app.restart().await;
    // The hub was told the server is going away (and may reconnect to it or another).
    let closed = loop {
        match next(&mut socket).await {
            Ok(_) => continue,
            Err(code) => break code,
        }
    };
    assert_eq!(closed, Some(wire::close::GOING_AWAY));
    let after = app
        .get(&format!("/api/v1/hubs/{hub_id}"), &owner.token, Some(&farm))
        .await;
    assert_eq!(after.data()["is_online"], 0, "{}", after.data());
    app.stop().await;
}

/// A hello signed with a key read from the database: the stored value as it is, and as the
/// hex or base64 it might be taken for.
fn hello_signed_with(hub_id: &str, key: &[u8], nonce: &str) -> Value {
    let timestamp = chrono::Utc::now().timestamp();
    let signature = wire::hello_signature(key, hub_id, timestamp, nonce);
    serde_json::to_value(HubToServer::HubHello {
        hub_id: hub_id.into(),
        firmware_version: "1.0.0".into(),
        hardware_version: None,
        mac_address: None,
        timestamp,
        nonce: nonce.into(),
        signature,
    })
    .unwrap()
}

/// The hub's stored hello key, as a copy of the database shows it.
async fn stored_hello_key(app: &TestApp, hub_id: &str) -> String {
    let mut conn = app.state.store.conn().await.unwrap();
    let (stored,): (String,) = sqlx::query_as("SELECT hello_key_sealed FROM hubs WHERE id = $1")
        .bind(hub_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    stored
}

/// Whether a hub that knows its secret is welcomed.
async fn welcomed(app: &TestApp, hub_id: &str, secret: &str, nonce: &str) -> bool {
    let mut hub = open(app, &format!("/ws/hub/{hub_id}")).await.unwrap();
    send(
        &mut hub,
        hello_signed_with(hub_id, &wire::hello_key(secret), nonce),
    )
    .await;
    next(&mut hub)
        .await
        .is_ok_and(|m| m["type"] == "hub_welcome")
}

#[tokio::test]
async fn a_copy_of_the_database_opens_no_hub_socket() {
    use base64::Engine;
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("copy").await;
    let (hub_id, secret) = app.register_hub(&owner, &farm, "Rack C").await;
    let stored = stored_hello_key(&app, &hub_id).await;
    let mut keys = vec![stored.as_bytes().to_vec()];
    keys.extend(hex::decode(&stored).ok());
    keys.extend(
        base64::engine::general_purpose::STANDARD
            .decode(&stored)
            .ok(),
    );
    for (n, key) in keys.iter().enumerate() {
        let mut socket = open(&app, &format!("/ws/hub/{hub_id}")).await.unwrap();
        send(
            &mut socket,
            hello_signed_with(&hub_id, key, &format!("stolen-{n}")),
        )
        .await;
        assert_eq!(
            next(&mut socket).await,
            Err(Some(wire::close::BAD_SIGNATURE)),
            "a key read from the database ({n}) is refused"
        );
    }
    // The hub that knows its secret is welcomed.
    assert!(welcomed(&app, &hub_id, &secret, "real").await);
}

#[tokio::test]
async fn a_hub_key_stored_in_the_clear_by_an_older_version_is_sealed_at_start() {
    let app = TestApp::spawn_apart().await;
    let (owner, farm) = app.signed_up_owner("legacy").await;
    let (hub_id, secret) = app.register_hub(&owner, &farm, "Rack L").await;
    // What an older version wrote: SHA-256 of the secret, in hex.
    let plain = hex::encode(wire::hello_key(&secret));
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query("UPDATE hubs SET hello_key_sealed = $1 WHERE id = $2")
        .bind(&plain)
        .bind(&hub_id)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let app = app.restart().await;
    assert_ne!(
        stored_hello_key(&app, &hub_id).await,
        plain,
        "sealed at start"
    );
    assert!(welcomed(&app, &hub_id, &secret, "after").await);
}

#[tokio::test]
async fn the_hubs_of_a_server_node_that_died_read_offline_after_the_next_sweep() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("lease").await;
    let (live_hub, secret) = app.register_hub(&owner, &farm, "Rack Live").await;
    let (dead_hub, _) = app.register_hub(&owner, &farm, "Rack Dead").await;
    let printer = app
        .add_printer(
            &owner,
            &farm,
            json!({ "name": "P-dead", "model": "P1S", "serial_number": "01P00A000000009", "hub_id": dead_hub }),
        )
        .await;
    // A hub connected to this node.
    let mut hub = open(&app, &format!("/ws/hub/{live_hub}")).await.unwrap();
    send(
        &mut hub,
        hello(
            &live_hub,
            &secret,
            "lease-1",
            chrono::Utc::now().timestamp(),
        ),
    )
    .await;
    assert_eq!(next(&mut hub).await.unwrap()["type"], "hub_welcome");
    // What a node killed an hour ago left behind: its lease, its hub and printer "online".
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query(
        "INSERT INTO server_nodes (id, started_at, lease_until) VALUES ('dead-node', $1, $1)",
    )
    .bind("2026-01-01T00:00:00.000Z")
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query("UPDATE hubs SET is_online = 1, node_id = 'dead-node' WHERE id = $1")
        .bind(&dead_hub)
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE printers SET is_connected = 1, status = 'idle' WHERE id = $1")
        .bind(&printer)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let mut dashboard = open(&app, "/ws/dashboard").await.unwrap();
    send(
        &mut dashboard,
        json!({ "type": "auth", "token": owner.token, "tenant_id": farm }),
    )
    .await;
    assert_eq!(next(&mut dashboard).await.unwrap()["type"], "auth_success");

    let released = server::nodes::renew_and_sweep(&app.state).await.unwrap();
    assert_eq!(released, 1, "only the dead node's hub");
    let offline = next_of(&mut dashboard, "hub_status").await;
    assert_eq!(offline["hub_id"], dead_hub.as_str());
    assert_eq!(offline["is_online"], false);
    let dead = app
        .get(
            &format!("/api/v1/hubs/{dead_hub}"),
            &owner.token,
            Some(&farm),
        )
        .await;
    assert_eq!(dead.data()["is_online"], 0, "{}", dead.body);
    let p = app
        .get(
            &format!("/api/v1/printers/{printer}"),
            &owner.token,
            Some(&farm),
        )
        .await;
    assert_eq!(p.data()["is_connected"], 0);
    assert_eq!(p.data()["status"], "offline");
    let live = app
        .get(
            &format!("/api/v1/hubs/{live_hub}"),
            &owner.token,
            Some(&farm),
        )
        .await;
    assert_eq!(
        live.data()["is_online"],
        1,
        "the living node's hub stays online"
    );
    // The dead node is forgotten; a second sweep releases nothing.
    assert_eq!(server::nodes::renew_and_sweep(&app.state).await.unwrap(), 0);
}

#[tokio::test]
async fn an_address_that_keeps_giving_a_hub_a_wrong_secret_is_turned_away_and_good_hellos_never_count()
 {
    let app = TestApp::spawn_with(|s| {
        s.login_attempts_per_ip = 3;
        s.hub_provisioning_key = Some("factory-key".into());
    })
    .await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let (hub_id, secret) = app.register_hub(&owner, &farm, "Rack A").await;
    let now = chrono::Utc::now().timestamp();

    // Good hellos from the same address, more than the limit: all welcomed.
    for n in 0..5 {
        let mut hub = open(&app, &format!("/ws/hub/{hub_id}")).await.unwrap();
        send(&mut hub, hello(&hub_id, &secret, &format!("good-{n}"), now)).await;
        assert_eq!(next(&mut hub).await.unwrap()["type"], "hub_welcome");
    }
    // Three wrong secrets, then the address is refused before the upgrade, even with the
    // right one, and told when to come back.
    for n in 0..3 {
        let mut hub = open(&app, &format!("/ws/hub/{hub_id}")).await.unwrap();
        send(
            &mut hub,
            hello(&hub_id, "pfhs_wrong", &format!("bad-{n}"), now),
        )
        .await;
        assert_eq!(next(&mut hub).await, Err(Some(wire::close::BAD_SIGNATURE)));
    }
    match open(&app, &format!("/ws/hub/{hub_id}")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!("a failing address got a socket: {other:?}"),
    }
    // Another hub behind the same address is not held back by this one's wrong secret.
    let (other_id, other_secret) = app.register_hub(&owner, &farm, "Rack B").await;
    let mut other = open(&app, &format!("/ws/hub/{other_id}")).await.unwrap();
    send(&mut other, hello(&other_id, &other_secret, "other-1", now)).await;
    assert_eq!(next(&mut other).await.unwrap()["type"], "hub_welcome");
}

#[tokio::test]
async fn a_wrong_provisioning_key_is_counted_and_the_right_one_registers_until_the_limit() {
    let app = TestApp::spawn_with(|s| {
        s.login_attempts_per_ip = 2;
        s.hub_provisioning_key = Some("factory-key".into());
    })
    .await;
    let register = |key: &'static str| {
        app.client
            .post(format!("{}/api/v1/hubs/register", app.base))
            .header("x-provisioning-key", key)
            .send()
    };
    for _ in 0..4 {
        assert_eq!(register("factory-key").await.unwrap().status(), 201);
    }
    assert_eq!(register("guess-1").await.unwrap().status(), 403);
    assert_eq!(register("guess-2").await.unwrap().status(), 403);
    let held = register("factory-key").await.unwrap();
    assert_eq!(held.status(), 429);
    let body: Value = held.json().await.unwrap();
    assert_eq!(body["success"], false);
}
