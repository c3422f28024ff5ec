//! Shared setup of the end-to-end tests over real sockets: a farm with an owner, a hub
//! registered for it and a simulated printer on that hub; the hub agent itself; waiting
//! for what the API shows; and the job's moves as its print events recorded them.
//!
//! Included by the end-to-end test files next to `mod common;` with
//! `#[path = "common/live.rs"] mod live;`.
#![allow(dead_code)]

use crate::common::{Account, Answer, TestApp};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// How long anything end to end may take before a test gives up.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Polls `GET path` (as `token` in `farm`) until `check` holds; returns that answer's data.
pub async fn until(
    app: &TestApp,
    path: &str,
    token: &str,
    farm: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let answer = app.get(path, token, Some(farm)).await;
        if check(answer.data()) {
            return answer.data().clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never matched: {}",
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `check` until it gives a value, failing after [`DEADLINE`].
pub async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Simulated A1 minis (the model `sample-a.3mf` was sliced for) on loopback, reporting
/// every 200 ms, at `time_scale` simulated seconds per second.
pub async fn simulated_printers(count: usize, time_scale: f64) -> sim::Farm {
    let mut config = sim::FarmConfig::uniform(bambu::model::Model::A1Mini, count);
    config.time_scale = time_scale;
    config.report_interval = Duration::from_millis(200);
    sim::Farm::start(config).await.expect("simulated printers")
}

/// A hub's settings: the server, its identity, its data directory, and where the
/// simulated printers listen.
pub fn hub_config(
    server_url: &str,
    hub_id: &str,
    secret: &str,
    data_dir: &Path,
    printers: &[sim::PrinterHandle],
) -> hub::Config {
    let mut config = hub::Config::new(
        server_url.to_string(),
        hub_id.to_string(),
        secret.to_string(),
        data_dir,
    );
    config.discovery_listen = "127.0.0.1:0".parse().expect("address");
    config.reconnect_initial_ms = 100;
    for printer in printers {
        config.printers.insert(
            printer.serial().to_string(),
            hub::config::PrinterOverride {
                host: Some("127.0.0.1".into()),
                mqtt_port: Some(printer.mqtt_addr().port()),
                ftps_port: Some(printer.ftps_addr().port()),
                camera_port: printer.camera_addr().map(|a| a.port()),
            },
        );
    }
    config
}

/// A running hub agent ([`hub::Agent::run`]); dropping it asks it to stop.
pub struct RunningHub {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), hub::HubError>>>,
}

impl RunningHub {
    /// Starts the agent.
    pub fn start(config: hub::Config) -> RunningHub {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(hub::Agent::run(config, async move {
            let _ = stopped.await;
        }));
        RunningHub {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the agent (its shutdown future completes) and waits until it has stopped.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("the hub stops in time")
                .expect("the hub task")
                .expect("the hub ran");
        }
    }
}

impl Drop for RunningHub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A farm with its owner, one registered hub and its simulated printers.
pub struct Farm {
    pub owner: Account,
    /// The farm's id (the `X-Tenant-Id` header).
    pub farm: String,
    pub tenant: domain::TenantId,
    pub printers: sim::Farm,
    pub hub_id: String,
    pub secret: String,
}

impl Farm {
    /// Signs up `name` with a farm, starts one simulated printer at `time_scale` and
    /// registers a hub ("Rack A").
    pub async fn new(app: &TestApp, name: &str, time_scale: f64) -> Farm {
        Farm::with_printers(app, name, simulated_printers(1, time_scale).await).await
    }

    /// Signs up `name` with a farm of these simulated printers and registers a hub.
    pub async fn with_printers(app: &TestApp, name: &str, printers: sim::Farm) -> Farm {
        let (owner, farm) = app.signed_up_owner(name).await;
        let tenant = domain::TenantId::parse(&farm).expect("tenant id");
        let (hub_id, secret) = app.register_hub(&owner, &farm, "Rack A").await;
        Farm {
            hub_id,
            secret,
            owner,
            farm,
            tenant,
            printers,
        }
    }

    /// The (first) simulated printer.
    pub fn printer(&self) -> &sim::PrinterHandle {
        &self.printers.printers()[0]
    }

    /// Adds the simulated printer to the farm on the hub, with `access_code` (its own when
    /// `None`); returns its id.
    pub async fn add_printer(&self, app: &TestApp, access_code: Option<&str>) -> String {
        let printer = self.printer();
        app.add_printer(
            &self.owner,
            &self.farm,
            json!({ "name": "A1M-01", "model": "A1 mini", "serial_number": printer.serial(),
                    "access_code": access_code.unwrap_or(printer.access_code()),
                    "ip_address": "127.0.0.1", "nozzle_size": 0.4, "hub_id": self.hub_id }),
        )
        .await
    }

    /// The hub's settings, pointed at `app`, keeping its state in `data_dir`.
    pub fn hub_config(&self, app: &TestApp, data_dir: &Path) -> hub::Config {
        hub_config(
            &app.base,
            &self.hub_id,
            &self.secret,
            data_dir,
            self.printers.printers(),
        )
    }

    /// GET as the owner in the farm.
    pub async fn get(&self, app: &TestApp, path: &str) -> Answer {
        app.get(path, &self.owner.token, Some(&self.farm)).await
    }

    /// POST as the owner in the farm.
    pub async fn post(&self, app: &TestApp, path: &str, body: Value) -> Answer {
        app.post(path, &self.owner.token, Some(&self.farm), body)
            .await
    }

    /// PUT as the owner in the farm.
    pub async fn put(&self, app: &TestApp, path: &str, body: Value) -> Answer {
        app.put(path, &self.owner.token, Some(&self.farm), body)
            .await
    }

    /// Polls `GET path` until `check` holds.
    pub async fn until(&self, app: &TestApp, path: &str, check: impl Fn(&Value) -> bool) -> Value {
        until(app, path, &self.owner.token, &self.farm, check).await
    }

    /// Waits until the printer shows connected and idle through the API.
    pub async fn printer_ready(&self, app: &TestApp, printer_id: &str) -> Value {
        self.until(app, &format!("/api/v1/printers/{printer_id}"), |p| {
            p["is_connected"] == 1 && p["status"] == "idle"
        })
        .await
    }

    /// Waits until the server holds a socket of the hub (`connected` as the hub's
    /// connection endpoint says).
    pub async fn hub_connected(&self, app: &TestApp, connected: bool) {
        self.until(
            app,
            &format!("/api/v1/hubs/{}/connection", self.hub_id),
            |c| c["connected"] == connected,
        )
        .await;
    }

    /// Uploads `sample-a.3mf` and queues it (for `sku` when given); returns the job id.
    pub async fn queue(&self, app: &TestApp, sku: Option<&str>) -> String {
        let file = app
            .upload_fixture(&self.owner, &self.farm, "sample-a.3mf")
            .await;
        let mut body = json!({ "print_file_id": file });
        if let Some(sku) = sku {
            body["product_sku_id"] = json!(sku);
        }
        let job = self.post(app, "/api/v1/jobs", body).await;
        job.expect(201);
        job.data()["id"].as_str().expect("job id").to_string()
    }

    /// Assigns a job to a printer and starts it; returns the start's answer.
    pub async fn assign_and_start(&self, app: &TestApp, job_id: &str, printer_id: &str) -> Answer {
        self.post(
            app,
            &format!("/api/v1/jobs/{job_id}/assign"),
            json!({ "printer_id": printer_id }),
        )
        .await
        .expect(200);
        self.post(app, &format!("/api/v1/jobs/{job_id}/start"), json!({}))
            .await
    }

    /// Waits until the job's status is `status` (or it ended otherwise); returns the job.
    pub async fn job_reaches(&self, app: &TestApp, job_id: &str, status: &str) -> Value {
        let job = self
            .until(app, &format!("/api/v1/jobs/{job_id}"), |j| {
                j["status"] == status
                    || ["completed", "failed", "cancelled"]
                        .contains(&j["status"].as_str().unwrap_or(""))
            })
            .await;
        assert_eq!(job["status"], status, "{job}");
        job
    }

    /// A SKU ("KEY-YEL", 2 units a print) of a new product, so a finished print becomes stock.
    pub async fn sku(&self, app: &TestApp) -> String {
        let now = store::now_text();
        let mut conn = app.state.store.conn().await.expect("database");
        let product = store::catalogue::create_product(
            &mut conn,
            &self.tenant,
            &store::catalogue::NewProduct {
                name: "Keychain",
                requires_assembly: false,
            },
            &now,
        )
        .await
        .expect("product");
        store::catalogue::create_sku(
            &mut conn,
            &self.tenant,
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
        .expect("sku")
    }
}

/// One move of a job, as its print event recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobMove {
    pub event: String,
    pub from: String,
    pub to: String,
}

/// The job's moves in order, from the print events queued with each move. Moves within
/// one millisecond are put in the order they chain (each starts where the last ended).
pub async fn job_moves(app: &TestApp, job_id: &str) -> Vec<JobMove> {
    let mut conn = app.state.store.conn().await.expect("database");
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT payload, created_at FROM queue_messages WHERE queue = 'print-events' ORDER BY created_at, id",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("print events");
    let mut left: Vec<(String, JobMove)> = rows
        .into_iter()
        .filter_map(|(payload, at)| {
            let event: Value = serde_json::from_str(&payload).expect("a print event");
            (event["job_id"] == job_id).then(|| {
                let text = |key: &str| event[key].as_str().unwrap_or_default().to_string();
                (
                    at,
                    JobMove {
                        event: text("event"),
                        from: text("from"),
                        to: text("to"),
                    },
                )
            })
        })
        .collect();
    let mut moves: Vec<JobMove> = Vec::new();
    while !left.is_empty() {
        let first_at = left[0].0.clone();
        let chained = left
            .iter()
            .position(|(at, m)| *at == first_at && moves.last().is_some_and(|l| l.to == m.from))
            .unwrap_or(0);
        moves.push(left.remove(chained).1);
    }
    moves
}

/// The statuses a job went through: where it started, then each move's destination;
/// asserts that each move started where the previous one ended.
pub async fn job_statuses(app: &TestApp, job_id: &str) -> Vec<String> {
    let moves = job_moves(app, job_id).await;
    let mut statuses: Vec<String> = moves.first().map(|m| m.from.clone()).into_iter().collect();
    for m in &moves {
        assert_eq!(
            statuses.last(),
            Some(&m.from),
            "the moves do not chain: {moves:?}"
        );
        statuses.push(m.to.clone());
    }
    statuses
}
