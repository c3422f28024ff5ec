//! `printfarm loadtest` at a tiny scale, each scenario against the real binary: figures
//! come out (deliveries, latencies, memory). Timing is never asserted — that is what the
//! figures are for.

use serde_json::Value;
use std::process::Command;

/// Runs `printfarm loadtest <args> --json` and returns its JSON line.
fn loadtest(args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_printfarm"))
        .arg("loadtest")
        .args(args)
        .arg("--json")
        .env_remove("RUST_LOG")
        .output()
        .expect("printfarm runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "loadtest {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let line = stdout.lines().last().expect("a JSON line last");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{stdout}"))
}

fn number(value: &Value, path: &str) -> f64 {
    path.split('.')
        .fold(value, |v, key| &v[key])
        .as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number in {value}"))
}

/// What both live scenarios must show: reports went out, deliveries came back timed,
/// nothing was lost, and the server's memory was read.
fn assert_live(report: &Value) {
    assert!(number(report, "reports_sent") > 0.0, "{report}");
    assert!(number(report, "deliveries") > 0.0, "{report}");
    assert!(number(report, "latency.count") > 0.0, "{report}");
    assert!(number(report, "latency.p99_ms") > 0.0, "{report}");
    assert!(number(report, "server_memory.peak_mib") > 0.0, "{report}");
    assert_eq!(number(report, "hubs_lost"), 0.0, "{report}");
    assert_eq!(number(report, "hub_errors"), 0.0, "{report}");
    assert!(report["checks"].as_array().is_some_and(|c| !c.is_empty()));
}

#[test]
fn the_server_scenario_times_reports_to_dashboards_and_reads_server_memory() {
    let report = loadtest(&[
        "server",
        "--hubs",
        "2",
        "--printers-per-hub",
        "2",
        "--dashboards",
        "2",
        "--duration",
        "2",
        "--warmup",
        "1",
    ]);
    assert_eq!(report["scenario"], "server");
    assert_eq!(report["printers"], 4);
    assert_live(&report);
}

#[test]
fn the_fanout_scenario_counts_deliveries_across_dashboards() {
    let report = loadtest(&[
        "fanout",
        "--dashboards",
        "3",
        "--hubs",
        "1",
        "--printers-per-hub",
        "2",
        "--rate",
        "20",
        "--duration",
        "2",
        "--warmup",
        "1",
    ]);
    assert_eq!(report["scenario"], "fanout");
    assert_live(&report);
}

#[test]
fn the_hub_scenario_reads_the_agents_memory_with_its_printers_connected() {
    let report = loadtest(&["hub", "--printers", "2", "--duration", "2"]);
    assert_eq!(report["scenario"], "hub");
    let run = &report["runs"][0];
    assert_eq!(run["printers"], 2);
    assert!(number(run, "memory.end_mib") > 0.0, "{report}");
    assert!(number(run, "memory.hwm_mib") > 0.0, "{report}");
}

#[test]
fn the_ftps_scenario_compares_an_upload_with_a_plain_copy() {
    let report = loadtest(&["ftps", "--size-mib", "1", "--rounds", "1"]);
    assert_eq!(report["scenario"], "ftps");
    assert!(number(&report, "plain.median_mb_s") > 0.0, "{report}");
    assert!(number(&report, "ftps.median_mb_s") > 0.0, "{report}");
    assert!(number(&report, "ratio") > 0.0, "{report}");
}

#[test]
fn the_crash_scenario_kills_the_server_under_writes_and_finds_every_acknowledged_write() {
    let report = loadtest(&["crash", "--rounds", "2", "--writers", "2", "--load", "0.5"]);
    assert_eq!(report["scenario"], "crash");
    assert_eq!(number(&report, "rounds"), 2.0);
    assert!(number(&report, "acknowledged") > 0.0, "{report}");
    // Durability is a property, not a timing: nothing acknowledged may go missing.
    assert_eq!(number(&report, "lost"), 0.0, "{report}");
    assert_eq!(number(&report, "duplicate_numbers"), 0.0, "{report}");
    assert_eq!(number(&report, "ready.count"), 2.0, "{report}");
}
