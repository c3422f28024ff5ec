//! What a run reports: a readable summary and one JSON line.

use crate::latency::LatencySummary;
use crate::live::LiveFigures;
use crate::scenarios::{
    crash::CrashReport, ftps::FtpsReport, hub::HubReport, seed_analytics::SeedReport,
};
use serde::Serialize;
use std::fmt::Write as _;

/// The figures of one scenario.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "scenario", rename_all = "snake_case")]
pub enum Report {
    /// `loadtest server`.
    Server(LiveReport),
    /// `loadtest fanout`.
    Fanout(LiveReport),
    /// `loadtest hub`.
    Hub(HubReport),
    /// `loadtest ftps`.
    Ftps(FtpsReport),
    /// `loadtest seed-analytics`.
    Seed(SeedReport),
    /// `loadtest crash`.
    Crash(CrashReport),
}

impl Report {
    /// A few lines for people.
    pub fn summary(&self) -> String {
        match self {
            Report::Server(live) => live.summary("server"),
            Report::Fanout(live) => live.summary("fanout"),
            Report::Hub(hub) => hub.summary(),
            Report::Ftps(ftps) => ftps.summary(),
            Report::Seed(seed) => seed.summary(),
            Report::Crash(crash) => crash.summary(),
        }
    }

    /// The figures as one line of JSON.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|error| {
            format!("{{\"error\":\"the report does not serialise: {error}\"}}")
        })
    }

    /// The targets and whether this run met them.
    pub fn checks(&self) -> &[Check] {
        match self {
            Report::Server(live) | Report::Fanout(live) => &live.checks,
            Report::Hub(hub) => &hub.checks,
            Report::Ftps(ftps) => &ftps.checks,
            Report::Crash(crash) => &crash.checks,
            // Seeding sets a benchmark up; it has no target of its own.
            Report::Seed(_) => &[],
        }
    }
}

/// One target and how the run compares.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// The target, in words ("p99 ≤ 50 ms").
    pub target: String,
    /// The measured value, in words.
    pub measured: String,
    /// Whether the measured value meets the target.
    pub met: bool,
    /// When the run's scale differs from the target's, the target's scale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_scale: Option<String>,
}

impl Check {
    /// A target of at most `limit`.
    pub fn at_most(target: &str, value: f64, limit: f64, unit: &str) -> Check {
        Check {
            target: target.to_string(),
            measured: format!("{value:.2} {unit}"),
            met: value <= limit,
            at_scale: None,
        }
    }

    /// A p99 latency target of at most `limit_ms`; nothing delivered misses it.
    pub fn p99(target: &str, latency: &LatencySummary, limit_ms: f64) -> Check {
        if latency.count == 0 {
            return Check {
                target: target.to_string(),
                measured: "nothing delivered".into(),
                met: false,
                at_scale: None,
            };
        }
        Check::at_most(target, latency.p99_ms, limit_ms, "ms")
    }

    /// A target of at least `limit`.
    pub fn at_least(target: &str, value: f64, limit: f64, unit: &str) -> Check {
        Check {
            target: target.to_string(),
            measured: format!("{value:.2} {unit}"),
            met: value >= limit,
            at_scale: None,
        }
    }

    /// Notes the scale the target is meant for, when the run was smaller.
    pub fn scale(mut self, smaller: bool, scale: &str) -> Check {
        if smaller {
            self.at_scale = Some(scale.to_string());
        }
        self
    }
}

/// Writes the checks under a summary.
pub(crate) fn write_checks(out: &mut String, checks: &[Check]) {
    for check in checks {
        let verdict = if check.met { "met" } else { "MISSED" };
        let _ = write!(
            out,
            "  target {}: {verdict} ({})",
            check.target, check.measured
        );
        if let Some(scale) = &check.at_scale {
            let _ = write!(out, " [the target is for {scale}; this run was smaller]");
        }
        out.push('\n');
    }
}

/// The figures of a live run (`server`, `fanout`) and its targets.
#[derive(Debug, Clone, Serialize)]
pub struct LiveReport {
    /// What was measured.
    #[serde(flatten)]
    pub figures: LiveFigures,
    /// The targets.
    pub checks: Vec<Check>,
}

impl LiveReport {
    fn summary(&self, name: &str) -> String {
        let f = &self.figures;
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{name}: {} hubs × {} printers = {} printers, {} dashboards, {} farm(s); statuses {} gcode_state{}",
            f.hubs,
            f.printers / f.hubs.max(1),
            f.printers,
            f.dashboards,
            f.farms,
            if f.gcode_state { "with" } else { "without" },
            if f.batch { ", batched per hub" } else { "" }
        );
        let _ = writeln!(
            out,
            "  set-up {:.1} s through the API; hubs welcomed in {:.1} s, dashboards subscribed in {:.1} s",
            f.setup_s, f.hubs_connect_s, f.dashboards_connect_s
        );
        let _ = writeln!(
            out,
            "  measured {:.0} s: {:.0} reports/s sent (asked {:.0}/s), {:.0} deliveries/s ({:.2} of one per report and dashboard)",
            f.window_s,
            f.reports_per_s,
            f.target_reports_per_s,
            f.deliveries_per_s,
            f.delivery_ratio
        );
        if f.deliveries == 0 {
            let _ = writeln!(
                out,
                "  nothing sent in the window arrived in time; {} deliveries of earlier reports did",
                f.deliveries_before_window
            );
        }
        let l = &f.latency;
        let _ = writeln!(
            out,
            "  report → dashboard: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms ({} deliveries)",
            l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms, l.count
        );
        let m = &f.server_memory;
        if f.nodes > 1 {
            let _ = writeln!(
                out,
                "  {} server nodes on one database and bus (memory: the first node's; CPU: all nodes')",
                f.nodes
            );
        }
        let _ = writeln!(
            out,
            "  server memory: {:.1} MiB with every socket open, peak {:.1} MiB under load, {:.1} MiB at the end (high-water {:.1} MiB, set-up included)",
            m.start_mib, m.peak_mib, m.end_mib, m.hwm_mib
        );
        let _ = writeln!(
            out,
            "  CPU: server {:.2} cores, load generator {:.2} cores (of {cores})",
            f.server_cpu_cores, f.loadgen_cpu_cores
        );
        let _ = write!(
            out,
            "  lost: {} hub sockets, {} dashboards ({} resyncs",
            f.hubs_lost, f.dashboards_lost, f.resyncs
        );
        if let Some(at) = f.first_resync_s {
            let _ = write!(out, ", the first {at:.1} s after the first report");
        }
        let _ = writeln!(out, "); {} refused hub messages", f.hub_errors);
        if let Some(problem) = &f.first_hub_problem {
            let _ = writeln!(out, "  first hub problem: {problem}");
        }
        write_checks(&mut out, &self.checks);
        out
    }
}
