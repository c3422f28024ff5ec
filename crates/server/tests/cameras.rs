//! Cameras through the API: settings with their errors named by field, credentials sealed
//! at rest and never answered, snapshots taken by the server from the camera's own URL
//! (an image, in time, not too large), another farm's cameras not found.

use crate::common;
use crate::common::live;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use common::{Account, TestApp};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The smallest bytes that read as a JPEG (start and end markers around a comment).
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x06, b'c', b'a', b'm', b'!', 0xFF, 0xD9,
];

/// A camera on 127.0.0.1:0: `/snap.jpg` a JPEG, `/private.jpg` the JPEG behind basic auth,
/// `/slow.jpg` one that never finishes, `/huge.jpg` 6 MiB, `/login` an HTML page,
/// `/away` a redirect to another host.
async fn camera_server() -> String {
    let app = Router::new()
        .route(
            "/snap.jpg",
            get(|| async { ([(header::CONTENT_TYPE, "image/jpeg")], JPEG) }),
        )
        .route(
            "/private.jpg",
            get(|headers: axum::http::HeaderMap| async move {
                // viewer:camera-secret
                let wanted = "Basic dmlld2VyOmNhbWVyYS1zZWNyZXQ=";
                if headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    == Some(wanted)
                {
                    ([(header::CONTENT_TYPE, "image/jpeg")], JPEG).into_response()
                } else {
                    StatusCode::UNAUTHORIZED.into_response()
                }
            }),
        )
        .route(
            "/slow.jpg",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                JPEG
            }),
        )
        .route(
            "/huge.jpg",
            get(|| async {
                let mut body = JPEG[..4].to_vec();
                body.resize(6 * 1024 * 1024, 0);
                ([(header::CONTENT_TYPE, "image/jpeg")], body)
            }),
        )
        .route(
            "/login",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "image/jpeg")],
                    "<html>please sign in</html>",
                )
            }),
        )
        .route(
            "/away",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://localhost:1/snap.jpg")],
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

struct Farm {
    owner: Account,
    farm: String,
}

impl Farm {
    async fn new(app: &TestApp, name: &str) -> Farm {
        let (owner, farm) = app.signed_up_owner(name).await;
        Farm { owner, farm }
    }

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

    /// Adds a camera; returns its id.
    async fn camera(&self, app: &TestApp, body: Value) -> String {
        let made = self.post(app, "/api/v1/cameras", body).await;
        made.expect(201);
        made.data()["id"].as_str().expect("camera id").to_string()
    }

    /// A snapshot: status, content type, bytes (and the JSON error when it failed).
    async fn snapshot(&self, app: &TestApp, id: &str) -> (u16, String, Vec<u8>, Value) {
        let response = app
            .request(
                reqwest::Method::GET,
                &format!("/api/v1/cameras/{id}/snapshot"),
                common::As::Bearer(&self.owner.token),
            )
            .header("x-tenant-id", &self.farm)
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = response.bytes().await.expect("body").to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, kind, bytes, body)
    }

    /// The stored row, behind the API.
    async fn row(&self, app: &TestApp, id: &str) -> store::cameras::Camera {
        let tenant = domain::TenantId::parse(&self.farm).expect("farm");
        let mut conn = app.state.store.conn().await.expect("conn");
        store::cameras::get(
            &mut conn,
            &tenant,
            &domain::CameraId::parse(id).expect("id"),
        )
        .await
        .expect("row")
    }
}

#[tokio::test]
async fn a_camera_is_added_read_changed_and_removed_with_its_errors_named() {
    let app = TestApp::spawn().await;
    let farm = Farm::new(&app, "cara").await;
    let printer = app
        .add_printer(
            &farm.owner,
            &farm.farm,
            json!({ "name": "P1S-01", "model": "P1S" }),
        )
        .await;

    let id = farm
        .camera(
            &app,
            json!({ "name": "Rack A", "camera_type": "mjpeg", "printer_id": printer,
                    "snapshot_url": "http://192.0.2.20/snap.jpg", "rotation": 90, "flip_horizontal": true }),
        )
        .await;
    let one = farm.get(&app, &format!("/api/v1/cameras/{id}")).await;
    one.expect(200);
    let camera = one.data();
    assert_eq!(camera["name"], "Rack A");
    assert_eq!(camera["camera_type"], "mjpeg");
    assert_eq!(camera["printer_id"], printer.as_str());
    assert_eq!(camera["rotation"], 90);
    assert_eq!(camera["flip_horizontal"], true);
    assert_eq!(camera["is_active"], true);
    assert_eq!(camera["is_online"], false);
    assert_eq!(camera["has_password"], false);

    // A change names only what changes; null clears.
    let changed = farm
        .put(
            &app,
            &format!("/api/v1/cameras/{id}"),
            json!({ "description": "door side", "printer_id": null }),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.data()["description"], "door side");
    assert_eq!(changed.data()["printer_id"], Value::Null);
    assert_eq!(changed.data()["rotation"], 90);

    let list = farm.get(&app, "/api/v1/cameras").await;
    list.expect(200);
    assert_eq!(list.data().as_array().map(Vec::len), Some(1));
    let filtered = farm.get(&app, "/api/v1/cameras?camera_type=ip").await;
    assert_eq!(filtered.data().as_array().map(Vec::len), Some(0));

    // Every wrong field at once, each named.
    let wrong = farm
        .post(
            &app,
            "/api/v1/cameras",
            json!({ "camera_type": "webcam", "snapshot_url": "file:///etc/passwd", "port": 70000,
                    "rotation": 45, "ip_address": "not an ip", "is_active": "maybe" }),
        )
        .await;
    wrong.expect(400);
    let mut fields = wrong.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "camera_type",
            "ip_address",
            "is_active",
            "name",
            "port",
            "rotation",
            "snapshot_url"
        ]
    );

    // A printer or hub of another farm (or none) is refused, naming the field.
    let other = Farm::new(&app, "otto").await;
    let foreign_printer = app
        .add_printer(
            &other.owner,
            &other.farm,
            json!({ "name": "X", "model": "P1S" }),
        )
        .await;
    let (foreign_hub, _) = app.register_hub(&other.owner, &other.farm, "O hub").await;
    let refused = farm
        .post(
            &app,
            "/api/v1/cameras",
            json!({ "name": "C", "printer_id": foreign_printer, "hub_id": foreign_hub }),
        )
        .await;
    refused.expect(400);
    let mut fields = refused.fields();
    fields.sort();
    assert_eq!(fields, ["hub_id", "printer_id"]);

    let status = farm
        .put(
            &app,
            &format!("/api/v1/cameras/{id}/status"),
            json!({ "is_online": true }),
        )
        .await;
    status.expect(200);
    assert_eq!(status.data()["is_online"], true);
    farm.put(&app, &format!("/api/v1/cameras/{id}/status"), json!({}))
        .await
        .expect(400);

    app.delete(
        &format!("/api/v1/cameras/{id}"),
        &farm.owner.token,
        Some(&farm.farm),
    )
    .await
    .expect(200);
    farm.get(&app, &format!("/api/v1/cameras/{id}"))
        .await
        .expect(404);
}

#[tokio::test]
async fn a_cameras_password_and_url_credential_are_sealed_and_never_answered() {
    let app = TestApp::spawn().await;
    let farm = Farm::new(&app, "sam").await;
    let base = camera_server().await;
    let host = base.trim_start_matches("http://");
    let id = farm
        .camera(
            &app,
            json!({ "name": "Door", "snapshot_url": format!("{base}/private.jpg"),
                    "stream_url": format!("rtsp://admin:stream-secret@{host}/live"),
                    "username": "viewer", "password": "camera-secret" }),
        )
        .await;
    let mut answers = vec![
        farm.get(&app, &format!("/api/v1/cameras/{id}")).await.body,
        farm.get(&app, "/api/v1/cameras").await.body,
    ];
    let one = &answers[0]["data"];
    assert_eq!(one["has_password"], true);
    assert_eq!(one["username"], "viewer");
    assert_eq!(one["stream_url"], format!("rtsp://admin:***@{host}/live"));

    // Sending the answer back keeps both secrets.
    let echoed = farm
        .put(
            &app,
            &format!("/api/v1/cameras/{id}"),
            json!({ "stream_url": one["stream_url"], "name": "Front door" }),
        )
        .await;
    echoed.expect(200);
    answers.push(echoed.body.clone());
    let row = farm.row(&app, &id).await;
    let password = row.password.clone().expect("sealed password");
    assert!(!password.contains("camera-secret"), "sealed: {password}");
    let stream = row.stream_url.clone().expect("stream url");
    assert!(stream.starts_with("sealed:"), "{stream}");
    assert!(!stream.contains("stream-secret"));

    // The password still opens: the camera behind basic auth gives its picture.
    let (status, kind, bytes, body) = farm.snapshot(&app, &id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(kind, "image/jpeg");
    assert_eq!(bytes, JPEG);

    for answer in &answers {
        let text = answer.to_string();
        assert!(!text.contains("camera-secret"), "{text}");
        assert!(!text.contains("stream-secret"), "{text}");
    }
    // Nor in the audit log.
    let tenant = domain::TenantId::parse(&farm.farm).unwrap();
    let mut conn = app.state.store.conn().await.unwrap();
    let rows: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT old_values, new_values FROM audit_logs WHERE tenant_id = $1 AND table_name = 'cameras'",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(!rows.is_empty());
    for (old, new) in rows {
        let text = format!("{old:?}{new:?}");
        assert!(!text.contains("secret"), "{text}");
    }
}

#[tokio::test]
async fn a_snapshot_comes_from_the_cameras_own_url_in_time_and_as_an_image() {
    let app = TestApp::spawn().await;
    let farm = Farm::new(&app, "ivy").await;
    let base = camera_server().await;

    let good = farm
        .camera(
            &app,
            json!({ "name": "Good", "snapshot_url": format!("{base}/snap.jpg") }),
        )
        .await;
    let (status, kind, bytes, _) = farm.snapshot(&app, &good).await;
    assert_eq!(status, 200);
    assert_eq!(kind, "image/jpeg");
    assert_eq!(bytes, JPEG);
    let seen = farm.get(&app, &format!("/api/v1/cameras/{good}")).await;
    assert_eq!(seen.data()["is_online"], true);
    assert!(seen.data()["last_snapshot_at"].is_string());
    assert_eq!(seen.data()["last_error"], Value::Null);
    // The cameras page asks for the same picture, live while it is looked at.
    let (status, page) = app.page("/cameras", &farm.owner, &farm.farm).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("data-camera=\"/api/v1/cameras/{good}/snapshot\"")),
        "{page}"
    );

    // A camera that does not finish in time: 504, and the camera is marked offline.
    let slow = farm
        .camera(
            &app,
            json!({ "name": "Slow", "snapshot_url": format!("{base}/slow.jpg") }),
        )
        .await;
    let started = Instant::now();
    let (status, _, _, body) = farm.snapshot(&app, &slow).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "CAMERA_TIMEOUT");
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    let seen = farm.get(&app, &format!("/api/v1/cameras/{slow}")).await;
    assert_eq!(seen.data()["is_online"], false);
    assert!(
        seen.data()["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("5 seconds")),
        "{}",
        seen.body
    );

    for (path, code) in [
        ("/huge.jpg", "SNAPSHOT_TOO_LARGE"),
        ("/login", "SNAPSHOT_NOT_AN_IMAGE"),
        ("/away", "CAMERA_HTTP_ERROR"),
        ("/private.jpg", "CAMERA_HTTP_ERROR"),
    ] {
        let id = farm
            .camera(
                &app,
                json!({ "name": path, "snapshot_url": format!("{base}{path}") }),
            )
            .await;
        let (status, _, _, body) = farm.snapshot(&app, &id).await;
        assert_eq!(status, 502, "{path}: {body}");
        assert_eq!(body["error"]["code"], code, "{path}");
        let seen = farm.get(&app, &format!("/api/v1/cameras/{id}")).await;
        assert_eq!(seen.data()["is_online"], false, "{path}");
        assert!(seen.data()["last_error"].is_string(), "{path}");
    }

    // Nothing listening: 502, and the error does not carry the URL's credential.
    let closed = farm
        .camera(
            &app,
            json!({ "name": "Closed", "snapshot_url": "http://cam:url-secret@127.0.0.1:1/snap.jpg" }),
        )
        .await;
    let (status, _, _, body) = farm.snapshot(&app, &closed).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "CAMERA_UNREACHABLE");
    let seen = farm.get(&app, &format!("/api/v1/cameras/{closed}")).await;
    assert!(!body.to_string().contains("url-secret"));
    assert!(
        !seen.body.to_string().contains("url-secret"),
        "{}",
        seen.body
    );

    // A camera without a URL, or switched off, is not fetched.
    let bare = farm.camera(&app, json!({ "name": "Bare" })).await;
    let (status, _, _, body) = farm.snapshot(&app, &bare).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "CAMERA_NOT_CONFIGURED");
    farm.put(
        &app,
        &format!("/api/v1/cameras/{good}"),
        json!({ "is_active": false }),
    )
    .await
    .expect(200);
    let (status, _, _, _) = farm.snapshot(&app, &good).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn another_farms_camera_is_not_found() {
    let app = TestApp::spawn().await;
    let farm = Farm::new(&app, "ann").await;
    let other = Farm::new(&app, "bert").await;
    let base = camera_server().await;
    let id = farm
        .camera(
            &app,
            json!({ "name": "Mine", "snapshot_url": format!("{base}/snap.jpg"), "password": "pw" }),
        )
        .await;
    for path in [
        format!("/api/v1/cameras/{id}"),
        format!("/api/v1/cameras/{id}/snapshot"),
    ] {
        let answer = other.get(&app, &path).await;
        answer.expect(404);
        assert_eq!(answer.code(), "CAMERA_NOT_FOUND");
    }
    other
        .put(
            &app,
            &format!("/api/v1/cameras/{id}"),
            json!({ "name": "Theirs" }),
        )
        .await
        .expect(404);
    app.delete(
        &format!("/api/v1/cameras/{id}"),
        &other.owner.token,
        Some(&other.farm),
    )
    .await
    .expect(404);
    assert_eq!(
        other
            .get(&app, "/api/v1/cameras")
            .await
            .data()
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    // Still there, unchanged, for its own farm.
    let mine = farm.get(&app, &format!("/api/v1/cameras/{id}")).await;
    assert_eq!(mine.data()["name"], "Mine");
}

/// A GET of an image as the owner of `farm`: status, content type, bytes.
async fn image(app: &TestApp, owner: &Account, farm: &str, path: &str) -> (u16, String, Vec<u8>) {
    let response = app
        .request(reqwest::Method::GET, path, common::As::Bearer(&owner.token))
        .header("x-tenant-id", farm)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, kind, response.bytes().await.expect("body").to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printers_own_camera_is_seen_through_its_hub_and_follows_the_print() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = TestApp::spawn().await;
    let setup = live::Farm::new(&app, "pia", 400.0).await;
    let printer_id = setup.add_printer(&app, None).await;
    let camera = setup
        .post(
            &app,
            "/api/v1/cameras",
            json!({ "name": "A1M-01 camera", "camera_type": "bambu", "printer_id": printer_id }),
        )
        .await;
    camera.expect(201);
    let camera_id = camera.data()["id"].as_str().unwrap().to_string();
    let data = tempfile::tempdir().unwrap();
    let agent = live::RunningHub::start(setup.hub_config(&app, data.path()));
    setup.printer_ready(&app, &printer_id).await;

    // Idle: a JPEG from the simulator's camera, through the hub, timed end to end.
    let started = Instant::now();
    let (status, kind, idle) = image(
        &app,
        &setup.owner,
        &setup.farm,
        &format!("/api/v1/printers/{printer_id}/camera/snapshot"),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&idle));
    assert_eq!(kind, "image/jpeg");
    assert!(idle.starts_with(&[0xFF, 0xD8]) && idle.ends_with(&[0xFF, 0xD9]));
    println!(
        "camera snapshot through the hub: {took:?}, {} bytes",
        idle.len()
    );
    // The target: one snapshot through the hub within 500 ms on loopback.
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let (status, _, _) = image(
            &app,
            &setup.owner,
            &setup.farm,
            &format!("/api/v1/printers/{printer_id}/camera/snapshot"),
        )
        .await;
        assert_eq!(status, 200);
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "20 snapshots through the hub: median {:?}, slowest {:?}",
        times[10], times[19]
    );
    assert!(times[10] < Duration::from_millis(500), "{times:?}");
    // The same picture through the camera's own route; it records the camera online.
    let (status, _, again) = image(
        &app,
        &setup.owner,
        &setup.farm,
        &format!("/api/v1/cameras/{camera_id}/snapshot"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(again, idle, "nothing changed on an idle printer");
    let seen = setup
        .get(&app, &format!("/api/v1/cameras/{camera_id}"))
        .await;
    assert_eq!(seen.data()["is_online"], true);
    assert!(seen.data()["last_snapshot_at"].is_string());

    // The printer's page shows the picture, which the page takes as an image with the
    // session cookie and the farm in the query.
    let browser = common::browser::Browser::new(&app);
    browser.sign_in(&setup.owner).await;
    browser
        .get(&format!("/printers/{printer_id}"))
        .await
        .expect(200)
        .shows(&format!(
            "data-camera=\"/api/v1/printers/{printer_id}/camera/snapshot\""
        ));
    let by_cookie = app
        .request(
            reqwest::Method::GET,
            &format!(
                "/api/v1/printers/{printer_id}/camera/snapshot?tenant={}&at=1",
                setup.farm
            ),
            common::As::Cookie(&setup.owner.token),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(by_cookie.status(), 200);
    assert_eq!(by_cookie.headers()["content-type"], "image/jpeg");

    // A print moves on: the picture follows.
    let job_id = setup.queue(&app, None).await;
    setup
        .assign_and_start(&app, &job_id, &printer_id)
        .await
        .expect(200);
    live::wait_for("the print to make progress", || {
        (setup.printer().status().percent >= 5).then_some(())
    })
    .await;
    let (status, kind, printing) = image(
        &app,
        &setup.owner,
        &setup.farm,
        &format!("/api/v1/cameras/{camera_id}/snapshot"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(kind, "image/jpeg");
    assert!(printing.starts_with(&[0xFF, 0xD8]));
    assert_ne!(printing, idle, "the picture changes with progress");

    // The hub gone: a clear error, and the camera marked offline.
    agent.stop().await;
    setup.hub_connected(&app, false).await;
    let answer = setup
        .get(&app, &format!("/api/v1/cameras/{camera_id}/snapshot"))
        .await;
    answer.expect(502);
    assert_eq!(answer.code(), "HUB_OFFLINE");
    let seen = setup
        .get(&app, &format!("/api/v1/cameras/{camera_id}"))
        .await;
    assert_eq!(seen.data()["is_online"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_access_code_gets_no_picture_from_the_printers_camera() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let farm = sim::Farm::start(sim::FarmConfig::uniform(bambu::model::Model::P1S, 1))
        .await
        .expect("simulator");
    let printer = &farm.printers()[0];
    let addr = printer.camera_addr().expect("a P1S has a camera");
    let tls = bambu::tls::client_config(bambu::tls::CertPin::new()).expect("tls");
    let frame = bambu::camera::fetch_frame(
        addr,
        printer.access_code(),
        tls.clone(),
        Duration::from_secs(5),
        bambu::camera::MAX_FRAME,
    )
    .await
    .expect("a frame");
    assert_eq!(frame, printer.camera_frame());
    let refused = bambu::camera::fetch_frame(
        addr,
        "00000000",
        tls,
        Duration::from_secs(5),
        bambu::camera::MAX_FRAME,
    )
    .await;
    assert!(
        matches!(refused, Err(bambu::camera::CameraError::Refused)),
        "{refused:?}"
    );
    // An X1 streams H.264 over RTSPS: one picture as a JPEG for its code, a refusal otherwise.
    let x1 = sim::Farm::start(sim::FarmConfig::uniform(bambu::model::Model::X1C, 1))
        .await
        .expect("simulator");
    let printer = &x1.printers()[0];
    let addr = printer.camera_addr().expect("an X1 has a camera");
    let tls = bambu::tls::client_config(bambu::tls::CertPin::new()).expect("tls");
    let frame = bambu::rtsps::fetch_frame(
        addr,
        printer.access_code(),
        tls.clone(),
        Duration::from_secs(5),
        bambu::camera::MAX_FRAME,
    )
    .await
    .expect("a picture");
    assert!(frame.starts_with(&[0xFF, 0xD8]) && frame.ends_with(&[0xFF, 0xD9]));
    let refused = bambu::rtsps::fetch_frame(
        addr,
        "00000000",
        tls,
        Duration::from_secs(5),
        bambu::camera::MAX_FRAME,
    )
    .await;
    assert!(
        matches!(refused, Err(bambu::rtsps::RtspsError::Refused)),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x1_printers_camera_is_seen_through_its_hub_as_a_jpeg() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = TestApp::spawn().await;
    let printers = sim::Farm::start(sim::FarmConfig::uniform(bambu::model::Model::X1C, 1))
        .await
        .expect("simulator");
    let setup = live::Farm::with_printers(&app, "xavi", printers).await;
    let printer = setup.printer();
    let printer_id = app
        .add_printer(
            &setup.owner,
            &setup.farm,
            json!({ "name": "X1C-01", "model": "X1C", "serial_number": printer.serial(),
                    "access_code": printer.access_code(), "ip_address": "127.0.0.1",
                    "nozzle_size": 0.4, "hub_id": setup.hub_id }),
        )
        .await;
    let data = tempfile::tempdir().unwrap();
    let agent = live::RunningHub::start(setup.hub_config(&app, data.path()));
    setup.printer_ready(&app, &printer_id).await;

    let started = Instant::now();
    let (status, kind, picture) = image(
        &app,
        &setup.owner,
        &setup.farm,
        &format!("/api/v1/printers/{printer_id}/camera/snapshot"),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&picture));
    assert_eq!(kind, "image/jpeg");
    assert!(picture.starts_with(&[0xFF, 0xD8]) && picture.ends_with(&[0xFF, 0xD9]));
    println!(
        "X1 camera snapshot through the hub: {took:?}, {} bytes",
        picture.len()
    );
    // The figure for the 500 ms target (printed, not asserted: a loaded machine
    // must not fail the suite): each snapshot is a new RTSPS session and a decoded frame.
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let (status, _, _) = image(
            &app,
            &setup.owner,
            &setup.farm,
            &format!("/api/v1/printers/{printer_id}/camera/snapshot"),
        )
        .await;
        assert_eq!(status, 200);
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "20 X1 snapshots through the hub: median {:?}, slowest {:?}",
        times[10], times[19]
    );
    agent.stop().await;
}
