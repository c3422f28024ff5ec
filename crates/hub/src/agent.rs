//! The agent: the server link, the printers, and the commands between them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bambu::Command;
use bambu::command::{LightMode, LightNode};
use proto::hub::{
    CameraFrame, Command as ServerCommand, ConfigureAction, HubCommand, HubToServer,
    MAX_CAMERA_FRAME_BYTES, PrinterAction, PrinterConfig,
};
use rustls::ClientConfig;
use tokio::sync::{Notify, watch};

use crate::config::{Config, ConfigError};
use crate::job::{self, PrintJob, Tools};
use crate::outbox::Outbox;
use crate::printer::{self, Printer, PrinterSettings};
use crate::store::{Store, StoreError};

/// How many command ids are remembered to refuse a command sent twice.
const RECENT_COMMANDS: usize = 4096;
/// How long a pause, resume, stop or light command waits for the printer's answer.
const CONTROL_ANSWER_WAIT: Duration = Duration::from_secs(5);
/// How long a camera has to give one frame (connect, TLS, auth, the frame; for an X1
/// also the RTSP requests, the wait for an IDR picture and its decoding).
const CAMERA_WAIT: Duration = Duration::from_secs(5);

/// The agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The settings are unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory is unusable.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// TLS could not be set up.
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
    /// The HTTP client could not be built.
    #[error("HTTP client setup failed: {0}")]
    Http(#[from] reqwest::Error),
}

/// The hub agent.
#[derive(Debug)]
pub struct Agent;

impl Agent {
    /// Runs the hub until `shutdown` completes: keeps the server link up, runs the
    /// printers the server configures, and answers its commands.
    pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), HubError> {
        config.validate()?;
        let hub = Hub::new(config)?;
        let (stop, stopped) = watch::channel(false);
        let link = tokio::spawn(crate::link::run(hub.clone(), stopped));
        shutdown.await;
        tracing::info!("hub stopping");
        stop.send_replace(true);
        // The link says goodbye to the server; do not hang on a dead socket.
        let _ = tokio::time::timeout(Duration::from_secs(5), link).await;
        hub.printers().clear();
        Ok(())
    }
}

/// State shared by the link, the printers and the command tasks.
pub(crate) struct Hub {
    pub config: Config,
    pub outbox: Outbox,
    pub store: Arc<Store>,
    pub http: reqwest::Client,
    /// TLS for the server (WebSocket and downloads): the OS trust store, ring only.
    pub server_tls: Arc<ClientConfig>,
    /// Asks the link to close (the `disconnect` hub command).
    pub disconnect: Notify,
    /// Bumped by the link on each welcome so printers send their status again.
    pub link_epoch: watch::Sender<u64>,
    printers: Mutex<HashMap<String, Arc<Printer>>>,
    recent: Mutex<RecentIds>,
    discovering: tokio::sync::Mutex<()>,
}

impl Hub {
    fn new(config: Config) -> Result<Arc<Hub>, HubError> {
        let store = Arc::new(Store::open(&config.data_dir)?);
        let server_tls = server_tls()?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*server_tls).clone())
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(120))
            .build()?;
        Ok(Arc::new(Hub {
            outbox: Outbox::new(config.outage_buffer),
            config,
            store,
            http,
            server_tls,
            disconnect: Notify::new(),
            link_epoch: watch::channel(0).0,
            printers: Mutex::new(HashMap::new()),
            recent: Mutex::new(RecentIds::default()),
            discovering: tokio::sync::Mutex::new(()),
        }))
    }

    fn printers(&self) -> MutexGuard<'_, HashMap<String, Arc<Printer>>> {
        self.printers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn printer(&self, serial: &str) -> Option<Arc<Printer>> {
        self.printers().get(serial).cloned()
    }

    /// Takes one command from the server: refuses it at once if it expired or was seen
    /// before, else runs it in its own task and acknowledges it when done.
    pub fn receive(self: &Arc<Hub>, command: ServerCommand) {
        let ServerCommand {
            command_id,
            expires_at,
            command,
        } = command;
        let fresh = self
            .recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(&command_id);
        if !fresh {
            tracing::info!(%command_id, "command refused: already received");
            self.ack(command_id, Err("duplicate".to_owned()));
            return;
        }
        if expires_at < unix_now() {
            tracing::info!(%command_id, expires_at, "command refused: expired");
            self.ack(command_id, Err("expired".to_owned()));
            return;
        }
        let hub = self.clone();
        tokio::spawn(async move {
            let result = hub.execute(command).await;
            hub.ack(command_id, result);
        });
    }

    fn ack(&self, command_id: String, result: Result<Option<CameraFrame>, String>) {
        let (success, error, frame) = match result {
            Ok(frame) => (true, None, frame),
            Err(error) => (false, Some(error), None),
        };
        self.outbox.send(HubToServer::CommandAck {
            command_id,
            success,
            error,
            frame,
        });
    }

    /// Runs a command; a camera snapshot answers with its frame.
    async fn execute(self: &Arc<Hub>, command: HubCommand) -> Result<Option<CameraFrame>, String> {
        if let HubCommand::CameraSnapshot { printer_id } = &command {
            return self.camera_snapshot(printer_id).await.map(Some);
        }
        self.run(command).await.map(|()| None)
    }

    /// One frame from a printer's camera, over TLS with the printer's pinned certificate
    /// (as MQTT and FTPS) and its access code: a P1/A1 sends JPEG frames, an X1 streams
    /// H.264 over RTSPS, of which one picture is decoded and made a JPEG.
    async fn camera_snapshot(&self, serial: &str) -> Result<CameraFrame, String> {
        let printer = self.printer(serial).ok_or_else(|| unknown(serial))?;
        let settings = printer.settings.borrow().clone();
        let addr = tokio::net::lookup_host((settings.host.as_str(), settings.camera_port))
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| format!("cannot resolve the printer's address {}", settings.host))?;
        let tls = printer.tls.clone();
        let jpeg = if streams_rtsps(serial) {
            bambu::rtsps::fetch_frame(
                addr,
                &settings.access_code,
                tls,
                CAMERA_WAIT,
                MAX_CAMERA_FRAME_BYTES,
            )
            .await
            .map_err(|error| error.to_string())?
        } else {
            bambu::camera::fetch_frame(
                addr,
                &settings.access_code,
                tls,
                CAMERA_WAIT,
                MAX_CAMERA_FRAME_BYTES,
            )
            .await
            .map_err(|error| error.to_string())?
        };
        use base64::Engine;
        Ok(CameraFrame {
            content_type: "image/jpeg".to_owned(),
            data: base64::engine::general_purpose::STANDARD.encode(jpeg),
        })
    }

    async fn run(self: &Arc<Hub>, command: HubCommand) -> Result<(), String> {
        match command {
            // Answered with a frame by `execute`.
            HubCommand::CameraSnapshot { .. } => {
                Err("camera_snapshot is answered with a frame".to_owned())
            }
            HubCommand::ConfigurePrinter { action, printer } => self.configure(action, printer),
            HubCommand::PrintCommand {
                printer_id,
                job_id,
                file_url,
                file_name,
                plate_index,
                ams_slot,
            } => {
                let printer = self
                    .printer(&printer_id)
                    .ok_or_else(|| unknown(&printer_id))?;
                let tools = Tools {
                    http: &self.http,
                    outbox: &self.outbox,
                    store: &self.store,
                };
                let job = PrintJob {
                    serial: printer_id,
                    job_id,
                    file_url,
                    file_name,
                    plate_index,
                    ams_slot,
                };
                job::print(tools, printer, job).await
            }
            HubCommand::PrinterCommand { printer_id, action } => {
                let printer = self
                    .printer(&printer_id)
                    .ok_or_else(|| unknown(&printer_id))?;
                let light = |mode| Command::Light {
                    node: LightNode::Chamber,
                    mode,
                };
                let command = match action {
                    PrinterAction::Pause => Command::Pause,
                    PrinterAction::Resume => Command::Resume,
                    PrinterAction::Stop => Command::Stop,
                    PrinterAction::LightOn => light(LightMode::On),
                    PrinterAction::LightOff => light(LightMode::Off),
                    // Bambu printers have no "bed cleared" input; the server keeps track.
                    PrinterAction::ClearBed => return Ok(()),
                };
                printer.command(command, CONTROL_ANSWER_WAIT).await
            }
            HubCommand::DiscoverPrinters => {
                // One listener at a time: a second bind of the port would split the datagrams.
                let _one = self.discovering.lock().await;
                let printers = crate::discovery::discover(
                    self.config.discovery_listen,
                    self.config.discovery_window(),
                )
                .await
                .map_err(|error| {
                    format!(
                        "cannot listen for printers on {}: {error}",
                        self.config.discovery_listen
                    )
                })?;
                tracing::info!(found = printers.len(), "discovery finished");
                self.outbox
                    .send(HubToServer::PrinterDiscovered { printers });
                Ok(())
            }
            HubCommand::HubCommand { action, .. } => match action.as_str() {
                "disconnect" => {
                    self.disconnect.notify_one();
                    Ok(())
                }
                "gpio_set" => Err("no GPIO on this hub".to_owned()),
                other => Err(format!("unknown hub action {other:?}")),
            },
        }
    }

    fn configure(&self, action: ConfigureAction, config: PrinterConfig) -> Result<(), String> {
        let serial = config.serial_number.clone();
        if serial.is_empty() {
            return Err("the printer has no serial number".to_owned());
        }
        if action == ConfigureAction::Remove {
            let removed = self.printers().remove(&serial);
            tracing::info!(%serial, known = removed.is_some(), "printer removed");
            return Ok(());
        }
        let mut printers = self.printers();
        if let Some(running) = printers.get(&serial) {
            let mut settings = running.settings.borrow().clone();
            self.apply(&mut settings, &config);
            running.settings.send_if_modified(|current| {
                let changed = *current != settings;
                *current = settings;
                changed
            });
            tracing::info!(%serial, "printer updated");
            return Ok(());
        }
        let access_code = config
            .access_code
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or("the printer's access code is missing")?;
        let mut settings = PrinterSettings {
            id: config.id.clone(),
            serial: serial.clone(),
            host: String::new(),
            mqtt_port: bambu::mqtt::PORT,
            ftps_port: bambu::ftps::PORT,
            camera_port: if streams_rtsps(&serial) {
                bambu::rtsps::PORT
            } else {
                bambu::camera::PORT
            },
            access_code,
        };
        self.apply(&mut settings, &config);
        if settings.host.is_empty() {
            return Err("the printer's IP address is missing".to_owned());
        }
        let context = printer::Context {
            outbox: self.outbox.clone(),
            store: self.store.clone(),
            link_epoch: self.link_epoch.subscribe(),
            reconnect_initial: Duration::from_millis(self.config.reconnect_initial_ms),
        };
        tracing::info!(%serial, host = %settings.host, "printer added");
        let printer = Printer::start(context, settings)
            .map_err(|error| format!("TLS setup for the printer failed: {error}"))?;
        printers.insert(serial, Arc::new(printer));
        Ok(())
    }

    /// Applies the server's view of a printer, then the local overrides.
    fn apply(&self, settings: &mut PrinterSettings, config: &PrinterConfig) {
        settings.id.clone_from(&config.id);
        if let Some(code) = config.access_code.as_ref().filter(|c| !c.is_empty()) {
            settings.access_code.clone_from(code);
        }
        if let Some(ip) = config.ip_address.as_ref().filter(|ip| !ip.is_empty()) {
            settings.host.clone_from(ip);
        }
        if let Some(local) = self.config.printers.get(&settings.serial) {
            if let Some(host) = &local.host {
                settings.host.clone_from(host);
            }
            settings.mqtt_port = local.mqtt_port.unwrap_or(settings.mqtt_port);
            settings.ftps_port = local.ftps_port.unwrap_or(settings.ftps_port);
            settings.camera_port = local.camera_port.unwrap_or(settings.camera_port);
        }
    }
}

/// X1 printers (told by their serial) stream their camera over RTSPS on port 322.
fn streams_rtsps(serial: &str) -> bool {
    bambu::Model::from_serial(serial).is_some_and(bambu::Model::is_x1_series)
}

fn unknown(serial: &str) -> String {
    format!("printer {serial} is not configured on this hub")
}

/// The TLS client config for the server: the platform's trust store with the ring provider.
fn server_tls() -> Result<Arc<ClientConfig>, rustls::Error> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let config = ClientConfig::builder_with_provider(Arc::new(bambu::tls::provider()))
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Seconds since the epoch.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The last few thousand command ids, to refuse a command the server sends twice.
#[derive(Debug, Default)]
struct RecentIds {
    order: VecDeque<String>,
    seen: HashSet<String>,
}

impl RecentIds {
    /// `false` if the id was seen before.
    fn insert(&mut self, id: &str) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        self.seen.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        while self.order.len() > RECENT_COMMANDS {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_ids_refuse_a_repeat_and_forget_the_oldest() {
        let mut recent = RecentIds::default();
        assert!(recent.insert("c1"));
        assert!(!recent.insert("c1"));
        for n in 0..RECENT_COMMANDS {
            recent.insert(&format!("x{n}"));
        }
        assert!(
            recent.insert("c1"),
            "forgotten after {RECENT_COMMANDS} others"
        );
        assert_eq!(recent.order.len(), RECENT_COMMANDS);
    }
}
