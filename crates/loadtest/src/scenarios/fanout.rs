//! `loadtest fanout`: one farm, many dashboards, a few hubs reporting at a given total
//! rate; how many deliveries per second the server fans out, and how fast.
//!
//! The target: ≥ 300,000 deliveries/s with p99 ≤ 20 ms (the defaults: 1000
//! dashboards × 300 reports/s).

use crate::error::{Error, Result};
use crate::live::{self, Plan};
use crate::process::Children;
use crate::report::{Check, LiveReport};
use std::time::Duration;

/// The limits.
const TARGET_DELIVERIES_PER_S: f64 = 300_000.0;
const TARGET_P99_MS: f64 = 20.0;

/// Options of `loadtest fanout`.
#[derive(Debug, Clone, clap::Args)]
pub struct FanoutOptions {
    /// Dashboard sockets, all of the one farm.
    #[arg(long, default_value_t = 1000)]
    pub dashboards: usize,
    /// Hub sockets.
    #[arg(long, default_value_t = 4)]
    pub hubs: usize,
    /// Printers behind each hub.
    #[arg(long, default_value_t = 25)]
    pub printers_per_hub: usize,
    /// Reports per second from all printers together.
    #[arg(long, default_value_t = 300.0)]
    pub rate: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Seconds of reporting before the measurement.
    #[arg(long, default_value_t = 3.0)]
    pub warmup: f64,
    /// Leave `gcode_state` out of the statuses.
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
}

/// Runs the scenario against a fresh server.
pub async fn run(options: &FanoutOptions, children: &Children) -> Result<LiveReport> {
    if !(options.rate.is_finite() && options.rate > 0.0) {
        return Err(Error::Invalid("--rate must be a positive number".into()));
    }
    let printers = (options.hubs * options.printers_per_hub) as f64;
    let plan = Plan {
        farms: 1,
        hubs: options.hubs,
        printers_per_hub: options.printers_per_hub,
        dashboards: options.dashboards,
        // Each printer reports every printers/rate seconds, so all together send `rate`.
        report_interval: Duration::from_secs_f64((printers / options.rate).max(0.000_001)),
        warmup: crate::seconds(options.warmup, "--warmup")?,
        duration: crate::seconds(options.duration, "--duration")?,
        gcode_state: !options.no_gcode_state,
        batch: options.batch,
    };
    let figures =
        live::run_on_fresh_server(children, options.database_url.as_deref(), &plan).await?;
    // The target rate needs enough dashboards × reports to be reachable at all.
    let smaller =
        figures.target_reports_per_s * (figures.dashboards as f64) < TARGET_DELIVERIES_PER_S;
    let scale = "300 reports/s to 1000 dashboards";
    let checks = vec![
        Check::at_least(
            "≥ 300,000 deliveries/s",
            figures.deliveries_per_s,
            TARGET_DELIVERIES_PER_S,
            "deliveries/s",
        )
        .scale(smaller, scale),
        Check::p99(
            "report → dashboard p99 ≤ 20 ms",
            &figures.latency,
            TARGET_P99_MS,
        )
        .scale(smaller, scale),
    ];
    Ok(LiveReport { figures, checks })
}
