//! Simulated Bambu Lab printers, many per process.
//!
//! Each printer has its own MQTT-over-TLS endpoint (`bblp` + access code,
//! self-signed certificate with the serial as CN), its own implicit-FTPS
//! endpoint that insists on TLS session reuse, a card in memory, and a print
//! simulation driven by the uploaded 3MF's plate prediction and layer count.
//! Faults are injected at runtime through [`PrinterHandle`].
//!
//! It is built to be light: one small hand-written MQTT server per printer
//! (no broker), one task per connection, one ticker per printer that does
//! nothing while nobody listens and nothing changes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sim::SimError> {
//! let farm = sim::Farm::start(sim::FarmConfig::mixed(5)).await?;
//! for printer in farm.printers() {
//!     println!("{} {} {}", printer.serial(), printer.mqtt_addr(), printer.ftps_addr());
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod camera_server;
mod certs;
mod ftps_server;
mod mqtt_server;
mod printer;
mod rtsps_server;
mod storage;

use std::collections::HashSet;
use std::future::Future;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bambu::Model;
use bambu::discovery::{Announcement, announce};
use rand::Rng;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_rustls::TlsAcceptor;

pub use ftps_server::DATA_BUFFER;
pub use printer::{PrinterHandle, PrinterInfo, PrinterStatus};
pub use storage::StoredFile;

/// One printer to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterSpec {
    /// Model.
    pub model: Model,
    /// Serial; generated from the model prefix when `None`.
    pub serial: Option<String>,
    /// Access code; 8 random digits when `None`.
    pub access_code: Option<String>,
    /// Display name; `sim-<model>-<n>` when `None`.
    pub name: Option<String>,
    /// MQTT port; 0 lets the OS choose.
    pub mqtt_port: u16,
    /// FTPS port; 0 lets the OS choose.
    pub ftps_port: u16,
    /// Camera port (6000 on a real P1/A1 for JPEG frames, 322 on an X1 for RTSPS); 0 lets
    /// the OS choose.
    pub camera_port: u16,
}

impl PrinterSpec {
    /// A printer of `model` with generated identity and OS-chosen ports.
    pub fn new(model: Model) -> PrinterSpec {
        PrinterSpec {
            model,
            serial: None,
            access_code: None,
            name: None,
            mqtt_port: 0,
            ftps_port: 0,
            camera_port: 0,
        }
    }
}

/// Where and how often printers announce themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnounceConfig {
    /// UDP target (real printers: 255.255.255.255:2021; tests: loopback).
    pub target: SocketAddr,
    /// Time between two rounds of announcements.
    pub interval: Duration,
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct FarmConfig {
    /// The printers.
    pub printers: Vec<PrinterSpec>,
    /// Address every endpoint listens on.
    pub bind_ip: IpAddr,
    /// Time between two status pushes (while something changes).
    pub report_interval: Duration,
    /// Simulated seconds per real second (60.0 = a minute per second).
    pub time_scale: f64,
    /// Card capacity per printer, bytes.
    pub storage_limit: u64,
    /// Concurrent MQTT clients per printer (P1/A1 take only a few); `None` = no limit.
    pub max_mqtt_clients: Option<usize>,
    /// Periodic discovery announcements; off when `None`.
    pub announce: Option<AnnounceConfig>,
}

impl FarmConfig {
    /// The given printers on 127.0.0.1, reports every second, real time,
    /// 256 MiB cards, no client limit, no announcements.
    pub fn new(printers: Vec<PrinterSpec>) -> FarmConfig {
        FarmConfig {
            printers,
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            report_interval: Duration::from_secs(1),
            time_scale: 1.0,
            storage_limit: 256 * 1024 * 1024,
            max_mqtt_clients: None,
            announce: None,
        }
    }

    /// `count` printers cycling through X1C, P1S, P1P, A1, A1 mini.
    pub fn mixed(count: usize) -> FarmConfig {
        let models = [Model::X1C, Model::P1S, Model::P1P, Model::A1, Model::A1Mini];
        FarmConfig::new(
            (0..count)
                .map(|i| PrinterSpec::new(models[i % models.len()]))
                .collect(),
        )
    }

    /// `count` printers of one model.
    pub fn uniform(model: Model, count: usize) -> FarmConfig {
        FarmConfig::new((0..count).map(|_| PrinterSpec::new(model)).collect())
    }
}

/// Starting or running the simulator failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Binding a port or writing output failed.
    #[error("simulator i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Generating a certificate failed.
    #[error("certificate generation: {0}")]
    Certificate(rcgen::Error),
    /// Building a TLS config failed.
    #[error("TLS config: {0}")]
    Tls(rustls::Error),
    /// Two printers were given the same serial.
    #[error("duplicate serial {0}")]
    DuplicateSerial(String),
}

/// A running set of simulated printers. Dropping it stops them.
pub struct Farm {
    printers: Vec<PrinterHandle>,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for Farm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Farm")
            .field("printers", &self.printers.len())
            .finish()
    }
}

impl Farm {
    /// Binds every printer's endpoints and starts them. Must run inside a
    /// multi-threaded or current-thread tokio runtime.
    pub async fn start(config: FarmConfig) -> Result<Farm, SimError> {
        let (shutdown, _) = watch::channel(false);
        let mut printers = Vec::with_capacity(config.printers.len());
        let mut serials = HashSet::new();
        let mut rng = rand::rng();
        for (index, spec) in config.printers.iter().enumerate() {
            let serial = match &spec.serial {
                Some(serial) => serial.clone(),
                None => loop {
                    // Real serials: 3-char model prefix + 12 characters, e.g. 01P00A123456789.
                    let candidate = format!(
                        "{}00A{:09}",
                        spec.model.serial_prefix(),
                        rng.random_range(0..1_000_000_000u32)
                    );
                    if !serials.contains(&candidate) {
                        break candidate;
                    }
                },
            };
            if !serials.insert(serial.clone()) {
                return Err(SimError::DuplicateSerial(serial));
            }
            let access_code = spec
                .access_code
                .clone()
                .unwrap_or_else(|| format!("{:08}", rng.random_range(0..100_000_000u32)));
            let name = spec.name.clone().unwrap_or_else(|| {
                format!(
                    "sim-{}-{:03}",
                    spec.model.name().replace(' ', "-"),
                    index + 1
                )
            });
            let mqtt_listener =
                TcpListener::bind(SocketAddr::new(config.bind_ip, spec.mqtt_port)).await?;
            let ftps_listener =
                TcpListener::bind(SocketAddr::new(config.bind_ip, spec.ftps_port)).await?;
            // P1/A1 send JPEG frames on it, X1 printers H.264 over RTSPS.
            let camera_listener =
                TcpListener::bind(SocketAddr::new(config.bind_ip, spec.camera_port)).await?;
            let tls = certs::printer_tls(&serial)?;
            let info = PrinterInfo {
                serial,
                model: spec.model,
                model_code: spec.model.code(),
                name,
                access_code,
                ip: config.bind_ip,
                mqtt_port: mqtt_listener.local_addr()?.port(),
                ftps_port: ftps_listener.local_addr()?.port(),
                camera_port: Some(camera_listener.local_addr()?.port()),
            };
            let printer = Arc::new(printer::Printer::new(
                info,
                config.time_scale,
                config.storage_limit,
                config.max_mqtt_clients,
                -rng.random_range(35..75),
            ));
            tokio::spawn(mqtt_server::serve(
                printer.clone(),
                mqtt_listener,
                TlsAcceptor::from(tls.mqtt.clone()),
                shutdown.subscribe(),
            ));
            tokio::spawn(ftps_server::serve(
                printer.clone(),
                ftps_listener,
                TlsAcceptor::from(tls.ftps),
                shutdown.subscribe(),
            ));
            let camera_tls = TlsAcceptor::from(tls.mqtt.clone());
            if spec.model.is_x1_series() {
                tokio::spawn(rtsps_server::serve(
                    printer.clone(),
                    camera_listener,
                    camera_tls,
                    shutdown.subscribe(),
                ));
            } else {
                tokio::spawn(camera_server::serve(
                    printer.clone(),
                    camera_listener,
                    camera_tls,
                    shutdown.subscribe(),
                ));
            }
            tokio::spawn(ticker(
                printer.clone(),
                config.report_interval,
                shutdown.subscribe(),
            ));
            printers.push(PrinterHandle(printer));
        }
        if let Some(announce) = config.announce {
            let socket = UdpSocket::bind(SocketAddr::new(config.bind_ip, 0)).await?;
            if announce.target.ip().is_ipv4() && announce.target.ip() == Ipv4Addr::BROADCAST {
                socket.set_broadcast(true)?;
            }
            tokio::spawn(announcer(
                printers.clone(),
                socket,
                announce,
                shutdown.subscribe(),
            ));
        }
        Ok(Farm { printers, shutdown })
    }

    /// Every printer, in the order of the config.
    pub fn printers(&self) -> &[PrinterHandle] {
        &self.printers
    }

    /// The printer with this serial.
    pub fn printer(&self, serial: &str) -> Option<&PrinterHandle> {
        self.printers.iter().find(|p| p.serial() == serial)
    }

    /// Stops every endpoint, connection and ticker.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Advances a printer's simulation and pushes deltas every `interval`.
async fn ticker(
    printer: Arc<printer::Printer>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => printer.tick(),
            _ = shutdown.changed() => return,
        }
    }
}

/// The announcement a printer sends, with the simulator's ports added.
pub fn announcement(printer: &PrinterHandle) -> Announcement {
    let info = printer.info();
    Announcement {
        serial: info.serial.clone(),
        // Listening on all interfaces: let listeners use the datagram's source.
        ip: (!info.ip.is_unspecified()).then_some(info.ip),
        model_code: info.model_code.to_owned(),
        name: info.name.clone(),
        firmware: Some("01.08.00.00".to_owned()),
        signal_dbm: Some(-50),
        connect_mode: Some("lan".to_owned()),
        bind_state: Some("free".to_owned()),
        mqtt_port: Some(info.mqtt_port),
        ftps_port: Some(info.ftps_port),
    }
}

async fn announcer(
    printers: Vec<PrinterHandle>,
    socket: UdpSocket,
    config: AnnounceConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let announcements: Vec<Announcement> = printers.iter().map(announcement).collect();
    let mut ticks = tokio::time::interval(config.interval.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                for announcement in &announcements {
                    if let Err(error) = announce(&socket, config.target, announcement).await {
                        tracing::debug!(%error, "announcement not sent");
                    }
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Starts the farm, writes one JSON line per printer to stdout (serial,
/// model, access code, ports), and runs until Ctrl-C. For `printfarm sim`.
pub async fn run(config: FarmConfig) -> Result<(), SimError> {
    run_until(config, std::io::stdout(), async {
        // If the signal handler cannot be installed, run until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
    .await
}

/// [`run`] with the output and the stop signal given.
pub async fn run_until(
    config: FarmConfig,
    mut out: impl Write,
    stop: impl Future<Output = ()>,
) -> Result<(), SimError> {
    let farm = Farm::start(config).await?;
    for printer in farm.printers() {
        let line = serde_json::json!({
            "serial": printer.serial(),
            "model": printer.model().name(),
            "model_code": printer.model().code(),
            "name": printer.info().name,
            "access_code": printer.access_code(),
            "ip": printer.info().ip,
            "mqtt_port": printer.info().mqtt_port,
            "ftps_port": printer.info().ftps_port,
            "camera_port": printer.info().camera_port,
        });
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    stop.await;
    farm.shutdown();
    Ok(())
}
