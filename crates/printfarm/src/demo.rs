//! `printfarm demo`: a live farm in one process — the server, a hub agent and twelve
//! simulated printers on an accelerated clock — with a demo account whose farm prints
//! continuously: jobs are queued, the auto-dispatcher starts them on cleared beds, prints
//! finish, and a stand-in operator clears each bed a few seconds later.
//!
//! Everything is wired through the same public interfaces a real farm uses (the HTTP API,
//! the hub socket, MQTT/FTPS to the printers), so the demo shows the product, not a mock.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The demo's two plates, sliced by Bambu Studio (from the original farm's files).
const SAMPLE_A: &[u8] = include_bytes!("../demo/sample-a.3mf");
const SAMPLE_D: &[u8] = include_bytes!("../demo/sample-d.3mf");

/// The demo login.
pub const EMAIL: &str = "demo@printfarm.local";
/// The demo password.
pub const PASSWORD: &str = "print-farm-demo";

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where the server listens.
    pub listen: SocketAddr,
    /// A fresh data directory (a new temporary one when `None`).
    pub data_dir: Option<PathBuf>,
    /// How many simulated printers.
    pub printers: usize,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// Seconds before the stand-in operator clears a finished bed.
    pub clear_after: Duration,
}

/// One kind of print the demo farm makes: a file, the printers sliced for, their filament.
struct Line {
    file_name: &'static str,
    bytes: &'static [u8],
    model: bambu::model::Model,
    model_name: &'static str,
    filament: &'static str,
    colour: &'static str,
}

const LINES: [Line; 2] = [
    Line {
        file_name: "keychain-a1mini.3mf",
        bytes: SAMPLE_A,
        model: bambu::model::Model::A1Mini,
        model_name: "A1 mini",
        filament: "PLA",
        colour: "#F7D959",
    },
    Line {
        file_name: "keychain-a1-petg.3mf",
        bytes: SAMPLE_D,
        model: bambu::model::Model::A1,
        model_name: "A1",
        filament: "PETG",
        colour: "#F7D959",
    },
];

/// A small API client with the demo user's session.
struct Api {
    base: String,
    client: reqwest::Client,
    token: String,
    farm: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("x-tenant-id", &self.farm);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await?, &format!("{method} {path}")).await
    }
}

async fn answer(response: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{what}: {status} {}", body["error"]["message"]);
    }
    Ok(body["data"].clone())
}

/// Runs the demo until `stop` completes.
pub async fn run(
    options: DemoOptions,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let data_dir = match &options.data_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("printfarm-demo-{}", std::process::id())),
    };
    if data_dir.join("printfarm.db").exists() {
        bail!(
            "{} already holds a farm; the demo needs a fresh data directory",
            data_dir.display()
        );
    }
    let mut settings = server::Settings::load(None)?;
    settings.listen = options.listen;
    settings.data_dir = data_dir.clone();
    settings.database_url = None;
    // The sign-in page offers the demo account with one click: open the URL, press the button.
    settings.demo_sign_in = Some(server::settings::DemoSignIn {
        email: EMAIL.into(),
        password: PASSWORD.into(),
    });
    let server = server::Server::bind(settings).await?;
    let addr = server.local_addr()?;
    let base = format!("http://{addr}");
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async move {
        let _ = server_stopped.await;
    }));

    let client = reqwest::Client::new();
    let registered = answer(
        client
            .post(format!("{base}/api/v1/auth/register"))
            .json(&json!({ "email": EMAIL, "password": PASSWORD, "name": "Demo Operator", "company_name": "Demo Print Farm" }))
            .send()
            .await?,
        "register the demo account",
    )
    .await?;
    let api = Api {
        base: base.clone(),
        client,
        token: registered["token"]
            .as_str()
            .context("a session token")?
            .to_string(),
        farm: registered["tenant"]["id"]
            .as_str()
            .context("a farm id")?
            .to_string(),
    };
    let hub = api
        .call(
            reqwest::Method::POST,
            "/api/v1/hubs/register",
            Some(json!({ "name": "Demo hub" })),
        )
        .await?;
    let hub_id = hub["hub_id"].as_str().context("a hub id")?.to_string();
    let secret = hub["secret"].as_str().context("a hub secret")?.to_string();

    // The printers: half of them for each line.
    let specs: Vec<sim::PrinterSpec> = (0..options.printers)
        .map(|i| sim::PrinterSpec::new(LINES[i % LINES.len()].model))
        .collect();
    let mut farm_config = sim::FarmConfig::new(specs);
    farm_config.time_scale = options.time_scale;
    let simulated = sim::Farm::start(farm_config).await?;
    let mut overrides = std::collections::HashMap::new();
    for (i, printer) in simulated.printers().iter().enumerate() {
        let line = &LINES[i % LINES.len()];
        api.call(
            reqwest::Method::POST,
            "/api/v1/printers",
            Some(json!({
                "name": format!("{}-{:02}", line.model_name.replace(' ', ""), i + 1),
                "model": line.model_name, "serial_number": printer.serial(), "access_code": printer.access_code(),
                "ip_address": printer.mqtt_addr().ip().to_string(), "nozzle_size": 0.4, "hub_id": hub_id,
                "current_filament_type": line.filament, "current_color_hex": line.colour,
            })),
        )
        .await?;
        overrides.insert(
            printer.serial().to_string(),
            hub::PrinterOverride {
                host: Some(printer.mqtt_addr().ip().to_string()),
                mqtt_port: Some(printer.mqtt_addr().port()),
                ftps_port: Some(printer.ftps_addr().port()),
                camera_port: printer.camera_addr().map(|a| a.port()),
            },
        );
    }
    let mut files = Vec::new();
    for line in &LINES {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(line.bytes.to_vec()).file_name(line.file_name),
        );
        let uploaded = answer(
            api.client
                .post(format!("{base}/api/v1/files"))
                .bearer_auth(&api.token)
                .header("x-tenant-id", &api.farm)
                .multipart(form)
                .send()
                .await?,
            "upload a demo file",
        )
        .await?;
        files.push(uploaded["id"].as_str().context("a file id")?.to_string());
    }
    api.call(
        reqwest::Method::PUT,
        &format!("/api/v1/tenants/{}", api.farm),
        Some(json!({ "auto_dispatch": true })),
    )
    .await?;

    // The hub agent, told where the simulated printers listen.
    let hub_dir = data_dir.join("hub");
    let mut config = hub::Config::new(base.clone(), hub_id, secret, hub_dir);
    config.discovery_listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.printers = overrides;
    let (stop_hub, hub_stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(hub::Agent::run(config, async move {
        let _ = hub_stopped.await;
    }));

    println!("PrintFarm demo is running: open {base}/printers in a browser");
    println!("  press \"Open the demo farm\" (or sign in as {EMAIL} / {PASSWORD})");
    println!(
        "  {} simulated printers at {}× speed; data in {}",
        options.printers,
        options.time_scale,
        data_dir.display()
    );
    println!(
        "  the farm's live socket: {}/ws/dashboard (send {{\"type\":\"auth\",\"token\":…}})",
        base.replacen("http", "ws", 1)
    );

    let operator = operate(&api, &files, options.printers, options.clear_after);
    tokio::select! {
        result = operator => { if let Err(err) = result { tracing::error!(error = %err, "the demo operator stopped"); } }
        () = stop => {}
    }
    let _ = stop_hub.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), agent).await;
    simulated.shutdown();
    let _ = stop_server.send(());
    serving.await??;
    Ok(())
}

/// The stand-in operator: keeps the queue filled and clears finished beds after a while.
async fn operate(
    api: &Api,
    files: &[String],
    printers: usize,
    clear_after: Duration,
) -> anyhow::Result<()> {
    let mut waiting_since: std::collections::HashMap<String, std::time::Instant> =
        Default::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut next_file = 0;
    loop {
        tick.tick().await;
        let queued = api
            .call(
                reqwest::Method::GET,
                "/api/v1/jobs?status=queued&limit=100",
                None,
            )
            .await?;
        let queued = queued.as_array().map_or(0, Vec::len);
        for _ in queued..printers {
            let file = &files[next_file % files.len()];
            next_file += 1;
            api.call(
                reqwest::Method::POST,
                "/api/v1/jobs",
                Some(json!({ "print_file_id": file })),
            )
            .await?;
        }
        // Each finished print leaves a "collect" task; the operator takes the print off
        // the bed a little later and marks the bed cleared (which completes the task).
        let tasks = api
            .call(
                reqwest::Method::GET,
                "/api/v1/worklist?task_type=collection&status=pending",
                None,
            )
            .await?;
        let mut pending = std::collections::HashSet::new();
        for task in tasks.as_array().into_iter().flatten() {
            let Some(printer) = task["printer_id"].as_str() else {
                continue;
            };
            pending.insert(printer.to_string());
            let since = *waiting_since
                .entry(printer.to_string())
                .or_insert_with(std::time::Instant::now);
            if since.elapsed() >= clear_after {
                api.call(
                    reqwest::Method::PUT,
                    &format!("/api/v1/printers/{printer}/cleared"),
                    Some(json!({ "cleared": true })),
                )
                .await?;
            }
        }
        waiting_since.retain(|printer, _| pending.contains(printer));
    }
}
