//! `loadtest server`: a real server with H hub sockets of P printers each, every printer
//! reporting once a second, and D dashboards; report → dashboard latency, deliveries/s
//! and the server's memory.
//!
//! The target: 50,000 printers over 5,000 hub sockets with p99 ≤ 50 ms and the
//! server's resident memory ≤ 500 MB (`--hubs 5000 --printers-per-hub 10`). The defaults
//! are a tenth of a percent of that, to run anywhere in seconds.

use crate::error::Result;
use crate::live::{self, Plan};
use crate::process::Children;
use crate::report::{Check, LiveReport};
use std::time::Duration;

/// The scale.
const TARGET_PRINTERS: usize = 50_000;
const TARGET_HUBS: usize = 5_000;
/// The limits.
const TARGET_P99_MS: f64 = 50.0;
const TARGET_RSS_MIB: f64 = 500.0;

/// Options of `loadtest server`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerOptions {
    /// Hub sockets (the target: 5000; each costs a file descriptor here and in the server).
    #[arg(long, default_value_t = 50)]
    pub hubs: usize,
    /// Printers behind each hub (the target: 10).
    #[arg(long, default_value_t = 10)]
    pub printers_per_hub: usize,
    /// Dashboard sockets, spread over the farms.
    #[arg(long, default_value_t = 10)]
    pub dashboards: usize,
    /// Farms (accounts) the hubs and dashboards are spread over.
    #[arg(long, default_value_t = 1)]
    pub farms: usize,
    /// Milliseconds between two reports of one printer (the hub agent reports every 1000).
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
    /// Seconds measured.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Seconds of reporting before the measurement (the first report of each printer is
    /// written to the database).
    #[arg(long, default_value_t = 5.0)]
    pub warmup: f64,
    /// Leave `gcode_state` out of the statuses (the hub agent sends it; without it the
    /// server skips its per-report job check, isolating the socket path).
    #[arg(long)]
    pub no_gcode_state: bool,
    /// Each hub sends all its printers' reports at once, in one write, once per interval:
    /// lighter for the load generator (use it when it cannot keep the asked rate),
    /// burstier for the server than real hubs.
    #[arg(long)]
    pub batch: bool,
    /// The server's database (default: a fresh SQLite file in a temporary directory).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Server nodes sharing the database (PostgreSQL) and `--bus`; hubs and dashboards are
    /// spread over them, each dashboard on another node than most of its farm's hubs.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// The NATS server the nodes share (with `--nodes` above 1).
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub bus: String,
}

/// Runs the scenario against a fresh server.
pub async fn run(options: &ServerOptions, children: &Children) -> Result<LiveReport> {
    let plan = Plan {
        farms: options.farms,
        hubs: options.hubs,
        printers_per_hub: options.printers_per_hub,
        dashboards: options.dashboards,
        report_interval: Duration::from_millis(options.interval_ms),
        warmup: crate::seconds(options.warmup, "--warmup")?,
        duration: crate::seconds(options.duration, "--duration")?,
        gcode_state: !options.no_gcode_state,
        batch: options.batch,
    };
    let nodes = (options.nodes > 1).then(|| live::Nodes {
        count: options.nodes,
        bus: options.bus.clone(),
    });
    if !options.bus.starts_with("nats://127.") && nodes.is_some() {
        return Err(crate::error::Error::Invalid(
            "the load test talks to loopback only: --bus must be nats://127.…".into(),
        ));
    }
    let figures = live::run_on_fresh_nodes(
        children,
        options.database_url.as_deref(),
        nodes.as_ref(),
        &plan,
    )
    .await?;
    let smaller = figures.printers < TARGET_PRINTERS || figures.hubs < TARGET_HUBS;
    let scale = "50,000 printers over 5,000 hub sockets";
    let checks = vec![
        Check::p99(
            "report → dashboard p99 ≤ 50 ms",
            &figures.latency,
            TARGET_P99_MS,
        )
        .scale(smaller, scale),
        Check::at_most(
            "server resident memory ≤ 500 MiB (peak)",
            figures.server_memory.peak_mib,
            TARGET_RSS_MIB,
            "MiB",
        )
        .scale(smaller, scale),
    ];
    Ok(LiveReport { figures, checks })
}
