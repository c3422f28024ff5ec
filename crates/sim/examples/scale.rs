//! Starts many simulated printers in one process and reports the time it
//! took and the resident memory, idle and with clients connected.
//!
//! `cargo run -p sim --example scale -- 1000 100` starts 1000 printers, then
//! connects an MQTT client (pushall, reports every second) to the first 100.

use std::time::{Duration, Instant};

use bambu::command::Command;
use bambu::tls::{CertPin, client_config};
use bambu::{mqtt, report::PrinterState};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use sim::{Farm, FarmConfig};

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(Ok(1000), |a| a.parse())?;
    let clients: usize = args.next().map_or(Ok(0), |a| a.parse())?;
    println!("rss before: {:.1} MiB", rss_mib());

    let started = Instant::now();
    let farm = Farm::start(FarmConfig::mixed(count)).await?;
    println!(
        "started {count} printers in {:.2} s; rss {:.1} MiB",
        started.elapsed().as_secs_f64(),
        rss_mib()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!("idle after 3 s: rss {:.1} MiB", rss_mib());

    if clients > 0 {
        let started = Instant::now();
        let (done_tx, mut done_rx) = tokio::sync::mpsc::channel(clients);
        let mut handles = Vec::new();
        for printer in farm.printers().iter().take(clients) {
            let addr = printer.mqtt_addr();
            let options = mqtt::options(
                &format!("scale-{}", printer.serial()),
                &addr.ip().to_string(),
                addr.port(),
                printer.access_code(),
                client_config(CertPin::new())?,
            );
            let (client, mut events) = AsyncClient::new(options, 16);
            let serial = printer.serial().to_owned();
            let done = done_tx.clone();
            client
                .subscribe(mqtt::report_topic(&serial), QoS::AtMostOnce)
                .await?;
            client
                .publish(
                    mqtt::request_topic(&serial),
                    QoS::AtLeastOnce,
                    false,
                    Command::Pushall.to_payload("1"),
                )
                .await?;
            handles.push(client);
            tokio::spawn(async move {
                let mut state = PrinterState::new();
                let mut reported = false;
                while let Ok(event) = events.poll().await {
                    if let Event::Incoming(Packet::Publish(p)) = event {
                        let _ = state.apply_message(&p.payload);
                        if !reported && state.gcode_state().is_some() {
                            reported = true;
                            let _ = done.send(()).await;
                        }
                    }
                }
            });
        }
        for _ in 0..clients {
            done_rx.recv().await;
        }
        println!(
            "{clients} clients connected and got their full report in {:.2} s; rss {:.1} MiB",
            started.elapsed().as_secs_f64(),
            rss_mib()
        );
    }
    farm.shutdown();
    Ok(())
}
