//! `printfarm loadtest`: measures the live farm's scale figures on this machine, over
//! loopback only (127.0.0.1).
//!
//! Scenarios, one module each under [`scenarios`]:
//! - `server`: a real server (a child `printfarm serve`) with H hub sockets of P printers
//!   each reporting once a second and D dashboards; report → dashboard latency,
//!   deliveries/s and the server's resident memory.
//! - `fanout`: one farm, many dashboards, a few hubs at a given report rate; deliveries/s
//!   and latency.
//! - `hub`: the hub agent (a child `printfarm hub`) with N simulated printers; its memory.
//! - `ftps`: FTPS upload speed to a simulated printer against a plain TCP copy.
//! - `crash`: SIGKILL of the server under writes, 20 times: acknowledged writes kept,
//!   order numbers never handed out twice, the time back to ready.
//! - `seed-analytics`: not a measurement but its set-up: a year of a large farm written
//!   straight into a database, for `bench/analytics.sh`.
//!
//! Figures are measured, never asserted: a run that misses a target still reports.
//! The server and the hub agent run as child processes of the executable passed to
//! [`run`], so their memory is theirs alone; the load generator shares the machine's
//! cores with them, which the CPU figures show.
//!
//! Linux only: memory and CPU time come from `/proc`.

// Defined before the modules so that they all see it.
/// Progress for the person watching, on stderr (stdout carries the results).
macro_rules! note {
    ($($arg:tt)*) => {
        eprintln!("loadtest: {}", format_args!($($arg)*))
    };
}

pub mod api;
pub mod error;
pub mod latency;
pub mod live;
pub mod process;
pub mod report;
pub mod scenarios;

pub use error::{Error, Result};
pub use report::Report;

use clap::{Args, Subcommand};
use std::path::Path;

/// Options of `printfarm loadtest`.
#[derive(Debug, Clone, Args)]
pub struct LoadtestArgs {
    /// Also print the figures as one JSON line (the last line of stdout).
    #[arg(long, global = true)]
    pub json: bool,
    /// `RUST_LOG` of the child processes (server, hub agent); their logs go to files in
    /// the run's temporary directory.
    #[arg(long, global = true, default_value = "warn")]
    pub child_log: String,
    /// Keep the run's temporary directory (server data, settings, logs) for a look afterwards.
    #[arg(long, global = true)]
    pub keep: bool,
    /// The scenario.
    #[command(subcommand)]
    pub scenario: Scenario,
}

/// What to measure.
#[derive(Debug, Clone, Subcommand)]
pub enum Scenario {
    /// Hub sockets and dashboards against a real server: latency, deliveries/s, server memory.
    Server(scenarios::server::ServerOptions),
    /// Many dashboards of one farm: deliveries/s and latency.
    Fanout(scenarios::fanout::FanoutOptions),
    /// The hub agent's memory with simulated printers.
    Hub(scenarios::hub::HubOptions),
    /// FTPS upload speed to a simulated printer against a plain TCP copy.
    Ftps(scenarios::ftps::FtpsOptions),
    /// Writes a year of a large farm into its database, for the analytics benchmark.
    SeedAnalytics(scenarios::seed_analytics::SeedOptions),
    /// SIGKILL of the server under writes, again and again: nothing acknowledged lost,
    /// nothing twice, the time back to ready.
    Crash(scenarios::crash::CrashOptions),
}

/// Runs the scenario. `exe` is the `printfarm` executable, started as `serve` and `hub`.
pub async fn run(args: &LoadtestArgs, exe: &Path) -> Result<Report> {
    let children = process::Children {
        exe: exe.to_path_buf(),
        log_filter: args.child_log.clone(),
        keep_dir: args.keep,
    };
    match &args.scenario {
        Scenario::Server(options) => scenarios::server::run(options, &children)
            .await
            .map(Report::Server),
        Scenario::Fanout(options) => scenarios::fanout::run(options, &children)
            .await
            .map(Report::Fanout),
        Scenario::Hub(options) => scenarios::hub::run(options, &children)
            .await
            .map(Report::Hub),
        Scenario::Ftps(options) => scenarios::ftps::run(options).await.map(Report::Ftps),
        Scenario::SeedAnalytics(options) => scenarios::seed_analytics::run(options)
            .await
            .map(Report::Seed),
        Scenario::Crash(options) => scenarios::crash::run(options, &children)
            .await
            .map(Report::Crash),
    }
}

/// A duration flag in seconds (fractions allowed).
pub(crate) fn seconds(value: f64, flag: &str) -> Result<std::time::Duration> {
    if (0.0..1e7).contains(&value) {
        Ok(std::time::Duration::from_secs_f64(value))
    } else {
        Err(Error::Invalid(format!(
            "{flag} must be a number of seconds, not {value}"
        )))
    }
}
