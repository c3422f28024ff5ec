//! Measures the agent's resident memory with N simulated printers connected.
//!
//! `cargo run --release -p hub --example rss -- 20 200`
//!
//! The printers run in a child process (this example, `sim` mode) so that the figure is
//! the agent's (plus a small fake server), not the simulator's.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use proto::hub::{ConfigureAction, HubCommand, HubToServer, PrinterConfig};
use support::{FakeServer, RunningAgent, SECRET, command, config};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("sim") {
        let count: usize = args.get(1).map_or(Ok(20), |n| n.parse())?;
        return simulate(count);
    }
    if args.first().map(String::as_str) == Some("measure") {
        let count: usize = args.get(1).map_or(Ok(20), |n| n.parse())?;
        return measure(count);
    }
    let counts: Vec<usize> = if args.is_empty() {
        vec![20, 200]
    } else {
        args.iter().map(|a| a.parse()).collect::<Result<_, _>>()?
    };
    for count in counts {
        // A fresh process per count, so one run's peak does not hide the next.
        let status = Process::new(std::env::current_exe()?)
            .arg("measure")
            .arg(count.to_string())
            .status()?;
        anyhow::ensure!(status.success(), "measuring {count} printers failed");
    }
    Ok(())
}

/// Child: runs `count` printers and prints one JSON line per printer until stdin closes.
fn simulate(count: usize) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut config = sim::FarmConfig::mixed(count);
        config.report_interval = Duration::from_secs(1);
        sim::run_until(config, std::io::stdout(), async {
            // The parent closes our stdin when it is done (or dies).
            let _ = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                while std::io::stdin()
                    .read_line(&mut line)
                    .map(|n| n > 0)
                    .unwrap_or(false)
                {
                    line.clear();
                }
            })
            .await;
        })
        .await
    })?;
    Ok(())
}

#[derive(serde::Deserialize)]
struct SimPrinter {
    serial: String,
    access_code: String,
    ip: String,
    mqtt_port: u16,
    ftps_port: u16,
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix(field)
                    .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn measure(count: usize) -> anyhow::Result<()> {
    let mut child = Process::new(std::env::current_exe()?)
        .args(["sim", &count.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let printers: Vec<SimPrinter> = BufReader::new(stdout)
        .lines()
        .take(count)
        .map(|line| Ok(serde_json::from_str(&line?)?))
        .collect::<anyhow::Result<_>>()?;

    let server = FakeServer::start().await;
    let before = rss_kib("VmRSS:");
    let (mut hub_config, dir) = config(&server.url(), SECRET);
    for printer in &printers {
        hub_config.printers.insert(
            printer.serial.clone(),
            hub::PrinterOverride {
                host: Some(printer.ip.clone()),
                mqtt_port: Some(printer.mqtt_port),
                ftps_port: Some(printer.ftps_port),
                camera_port: None,
            },
        );
    }
    let agent = RunningAgent::start(hub_config, dir);
    let started = Instant::now();
    support::eventually("hello", Duration::from_secs(30), || {
        (server.welcomed() > 0).then_some(())
    })
    .await;
    for (n, printer) in printers.iter().enumerate() {
        server.send(command(
            &format!("add-{n}"),
            HubCommand::ConfigurePrinter {
                action: ConfigureAction::Add,
                printer: PrinterConfig {
                    id: format!("p{n}"),
                    serial_number: printer.serial.clone(),
                    access_code: Some(printer.access_code.clone()),
                    ip_address: Some(printer.ip.clone()),
                    connection_type: "lan".into(),
                    model: None,
                },
            },
        ));
    }
    let connected = |server: &FakeServer| {
        let mut serials = std::collections::HashSet::new();
        for (_, message) in server.messages() {
            if let HubToServer::PrinterStatus(status) = message
                && status.is_connected == Some(true)
            {
                serials.insert(status.printer_id);
            }
        }
        serials.len()
    };
    support::eventually("every printer connected", Duration::from_secs(120), || {
        (connected(&server) == count).then_some(())
    })
    .await;
    let all_connected = started.elapsed();
    // Steady state: a few report rounds after everyone is in.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss = rss_kib("VmRSS:");
    let peak = rss_kib("VmHWM:");
    println!(
        "{count} printers: RSS {:.1} MiB (before the agent {:.1} MiB, agent ≈ {:.1} MiB), peak {:.1} MiB, all connected in {:.1} s, {} messages received",
        rss as f64 / 1024.0,
        before as f64 / 1024.0,
        rss.saturating_sub(before) as f64 / 1024.0,
        peak as f64 / 1024.0,
        all_connected.as_secs_f64(),
        server.messages().len()
    );
    agent.stop().await;
    drop(child.stdin.take());
    let _ = child.wait();
    Ok(())
}
