//! The hub socket, `/ws/hub/{hub_id}`: one task per connected hub.
//!
//! The task owns the socket, the hub's pending commands (each with an id and a deadline)
//! and its silence timer. It authenticates the hub's hello (HMAC with the hub's key, a
//! 5-minute window, each nonce once), registers itself on the [`super::HubLink`] so routes
//! can send commands, configures the hub's printers, and turns what the hub reports into
//! farm state: printer status (in memory for dashboards; written to the database when it
//! changes), and job moves from file transfers and the printers' own state, which emit
//! the print events.

use super::link::{Attached, Outgoing};
use crate::app::App;
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiPath, SocketUpgrade};
use crate::farm::FarmResult;
use crate::farm::status::PrintReport;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::response::Response;
use domain::TenantId;
use domain::automation::Trigger;
use futures::{SinkExt, StreamExt};
use proto::PrinterStatus;
use proto::dashboard::ServerMessage;
use proto::hub::{self as wire, HubToServer, ServerNotice, ServerToHub, close};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use store::printers::{Printer, Reported};
use tokio::sync::oneshot;

/// How often the job's progress is written while it only creeps forward.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// How often `last_seen_at` is written for a hub that only sends heartbeats.
const SEEN_EVERY: Duration = Duration::from_secs(30);

/// GET /ws/hub/{hub_id} — a hub's socket. 404 for an unknown hub, 403 for an unclaimed one.
pub async fn connect(
    State(app): State<App>,
    ApiPath(hub_id): ApiPath<String>,
    client: crate::extract::ClientInfo,
    SocketUpgrade(upgrade): SocketUpgrade,
) -> Result<Response, ApiError> {
    // An address that keeps failing this hub's hello is turned away before the upgrade.
    app.throttle
        .secret_allowed(client.ip, &format!("hub:{hub_id}"))?;
    let mut conn = app.store.conn().await?;
    let hub = store::hubs::find(&mut conn, &hub_id)
        .await
        .or_not_found("HUB_NOT_FOUND", "hub")?;
    let tenant = hub
        .tenant_id
        .clone()
        .map(TenantId::from_stored)
        .ok_or_else(|| ApiError::Forbidden {
            code: "HUB_NOT_CLAIMED",
            message: "the hub is not claimed by a farm yet".into(),
        })?;
    let key = store::hubs::hello_key(&mut conn, &app.cipher, &hub_id).await?;
    drop(conn);
    let upgrade = upgrade.read_buffer_size(crate::realtime::SOCKET_READ_BUFFER);
    Ok(upgrade.on_upgrade(move |socket| async move {
        let session = Session {
            app,
            hub_id: hub.id.clone(),
            hub_name: hub.name.clone(),
            tenant,
            printers: HashMap::new(),
            pending: HashMap::new(),
            last_seen_written: Instant::now(),
            printers_loaded: None,
            address: client.ip,
        };
        session.run(socket, key).await;
    }))
}

/// What the session remembers about one printer between reports.
#[derive(Debug, Clone)]
struct Known {
    printer: Printer,
    reported: Option<Reported>,
    gcode_state: Option<String>,
    progress_written: Option<(i64, Instant)>,
    /// The database said the printer holds no job, and nothing changed since: its reports
    /// need no look-up (50,000 printers reporting progress asked 5,000 times a second).
    no_job: bool,
    /// The filament slots last reported: a change may close a filament-change task.
    filaments: Vec<proto::status::FilamentSlot>,
}

struct Session {
    app: App,
    hub_id: String,
    hub_name: Option<String>,
    tenant: TenantId,
    /// The hub's printers by serial number.
    printers: HashMap<String, Known>,
    /// Commands sent and not yet acknowledged: their deadline and who waits.
    pending: HashMap<String, Pending>,
    last_seen_written: Instant,
    printers_loaded: Option<Instant>,
    /// The hub's address as the server sees it (behind trusted proxies: the forwarded one).
    address: Option<std::net::IpAddr>,
}

/// A command waiting for its ack: until when, who waits, and who wants its frame.
struct Pending {
    deadline: Instant,
    ack: oneshot::Sender<Result<(), String>>,
    frame: Option<oneshot::Sender<wire::CameraFrame>>,
}

/// Who waits for a command's ack, and who for the frame it carries.
type Waiting = (
    oneshot::Sender<Result<(), String>>,
    Option<oneshot::Sender<wire::CameraFrame>>,
);

/// Why a session ended.
enum Ending {
    Close(u16, &'static str),
    Gone,
}

impl Session {
    async fn run(mut self, socket: WebSocket, key: [u8; 32]) {
        // Counted until its offline write is done, so a shutdown waits for it.
        let _running = self.app.hub_link.session_started();
        let (mut sink, mut stream) = socket.split();
        let hello = tokio::time::timeout(
            Duration::from_secs(wire::HELLO_DEADLINE_SECS),
            next_message(&mut stream),
        )
        .await;
        let hello = match hello {
            Ok(Some(HubToServer::HubHello { .. })) => hello.ok().flatten(),
            _ => None,
        };
        let Some(HubToServer::HubHello {
            hub_id,
            firmware_version,
            hardware_version,
            mac_address,
            timestamp,
            nonce,
            signature,
        }) = hello
        else {
            let _ = sink
                .send(close_frame(close::NO_HELLO, "hub_hello expected"))
                .await;
            return;
        };
        if hub_id != self.hub_id {
            let _ = sink
                .send(close_frame(
                    close::WRONG_HUB,
                    "hub id does not match the URL",
                ))
                .await;
            return;
        }
        let address = self.address.map(|ip| ip.to_string());
        let hello = store::hubs::HubHello {
            firmware_version: Some(&firmware_version),
            hardware_version: hardware_version.as_deref(),
            mac_address: mac_address.as_deref(),
            ip_address: address.as_deref(),
        };
        match self
            .accept_hello(&key, timestamp, &nonce, &signature, &hello)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                self.app
                    .throttle
                    .secret_failed(self.address, &format!("hub:{}", self.hub_id));
                tracing::warn!(hub_id = %self.hub_id, "hub hello refused");
                let _ = sink
                    .send(close_frame(close::BAD_SIGNATURE, "hello refused"))
                    .await;
                return;
            }
            Err(err) => {
                tracing::error!(hub_id = %self.hub_id, error = %err, "hub hello could not be checked");
                let _ = sink.send(close_frame(1011, "server error")).await;
                return;
            }
        }
        let Attached {
            generation,
            mut commands,
        } = self.app.hubs.attach_session(&self.hub_id);
        tracing::info!(hub_id = %self.hub_id, tenant_id = %self.tenant, "hub connected");
        tell_rules(
            &self.app,
            &self.tenant,
            Trigger::HubOnline,
            &self.hub_id,
            self.hub_facts(),
        );
        self.app.realtime.publish(
            &self.tenant,
            ServerMessage::HubStatus {
                hub_id: self.hub_id.clone(),
                is_online: true,
            },
        );
        let ending = self.serve(&mut sink, &mut stream, &mut commands).await;
        if let Ending::Close(code, reason) = ending {
            let _ = sink.send(close_frame(code, reason)).await;
        }
        self.app.hubs.detach(&self.hub_id, generation);
        // A newer socket of this hub may be serving already: then the hub is not offline.
        if !self.app.hubs.is_connected(&self.hub_id) {
            self.went_offline().await;
        }
        tracing::info!(hub_id = %self.hub_id, "hub disconnected");
    }

    /// Checks the hello's window, signature and nonce and, when it is good, marks the hub
    /// online on this node: one write transaction per hello, so that thousands of hubs
    /// reconnecting after a restart are welcomed quickly.
    async fn accept_hello(
        &self,
        key: &[u8],
        timestamp: i64,
        nonce: &str,
        signature: &str,
        hello: &store::hubs::HubHello<'_>,
    ) -> Result<bool, store::StoreError> {
        let skew = (chrono::Utc::now().timestamp() - timestamp).abs();
        if skew > wire::HELLO_WINDOW_SECS || nonce.is_empty() || nonce.len() > 128 {
            return Ok(false);
        }
        if !wire::verify_hello(key, &self.hub_id, timestamp, nonce, signature) {
            return Ok(false);
        }
        let now = store::now_text();
        let mut tx = self.app.store.begin().await?;
        if !store::hubs::use_nonce(&mut tx, &self.hub_id, nonce, &now).await? {
            return Ok(false);
        }
        store::hubs::came_online(&mut tx, &self.hub_id, &self.app.node_id, hello, &now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn serve(
        &mut self,
        sink: &mut futures::stream::SplitSink<WebSocket, Message>,
        stream: &mut futures::stream::SplitStream<WebSocket>,
        commands: &mut tokio::sync::mpsc::Receiver<Outgoing>,
    ) -> Ending {
        if self.app.hub_link.is_closing() {
            return Ending::Close(close::GOING_AWAY, "the server is shutting down");
        }
        let welcome = ServerToHub::Notice(ServerNotice::HubWelcome {
            hub_id: self.hub_id.clone(),
            hub_name: self.hub_name.clone(),
            tenant_id: self.tenant.to_string(),
            server_time: chrono::Utc::now().timestamp(),
        });
        if send(sink, &welcome).await.is_err() {
            return Ending::Gone;
        }
        if let Err(err) = self.load_printers().await {
            tracing::warn!(hub_id = %self.hub_id, error = %err, "hub printers not loaded");
        }
        let configs: Vec<_> = self
            .printers
            .values()
            .filter(|k| k.printer.is_active == 1)
            .map(|k| self.app.farm.printer_config(&k.printer))
            .collect();
        for printer in configs {
            let command = wire::HubCommand::ConfigurePrinter {
                action: wire::ConfigureAction::Add,
                printer,
            };
            if send(sink, &self.command(command, None)).await.is_err() {
                return Ending::Gone;
            }
        }
        let silence = Duration::from_secs(wire::SILENCE_LIMIT_SECS);
        let mut heard = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                incoming = stream.next() => {
                    let text = match incoming {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ending::Gone,
                        Some(Ok(_)) => { heard = Instant::now(); continue; }
                    };
                    heard = Instant::now();
                    match serde_json::from_str::<HubToServer>(text.as_str()) {
                        Ok(message) => {
                            if let Err(err) = self.handle(message).await {
                                tracing::warn!(hub_id = %self.hub_id, error = %err, "hub message not applied");
                            }
                        }
                        Err(err) => {
                            let error = ServerToHub::Notice(ServerNotice::Error {
                                code: "BAD_MESSAGE".into(),
                                message: format!("not a hub message: {err}"),
                            });
                            if send(sink, &error).await.is_err() {
                                return Ending::Gone;
                            }
                        }
                    }
                }
                outgoing = commands.recv() => {
                    // The link dropped our sender: the server is shutting down, or a newer
                    // socket of this hub took over.
                    let Some(Outgoing { command, ack, frame }) = outgoing else {
                        if self.app.hub_link.is_closing() {
                            return Ending::Close(close::GOING_AWAY, "the server is shutting down");
                        }
                        return Ending::Close(close::REPLACED, "replaced by a newer connection");
                    };
                    let disconnect = matches!(&command, wire::HubCommand::HubCommand { action, .. } if action == "disconnect");
                    if matches!(&command, wire::HubCommand::ConfigurePrinter { .. }) {
                        // The hub is about to report a printer this session may not know
                        // yet: its first report (an idle printer's only one) must find it.
                        self.printers_loaded = None;
                    }
                    if let wire::HubCommand::PrintCommand { printer_id, .. } = &command
                        && let Some(known) = self.printers.get_mut(printer_id)
                    {
                        // A job is on its way to the printer: its next reports are about it.
                        known.no_job = false;
                    }
                    let message = self.command(command, Some((ack, frame)));
                    if send(sink, &message).await.is_err() {
                        return Ending::Gone;
                    }
                    if disconnect {
                        // Give the hub a moment to ack before closing.
                        self.resolve_all(Ok(()));
                        return Ending::Close(close::DISCONNECT, "disconnect requested");
                    }
                }
                _ = tick.tick() => {
                    if heard.elapsed() > silence {
                        return Ending::Close(close::SILENT, "no message for 60 seconds");
                    }
                    let now = Instant::now();
                    self.pending.retain(|_, pending| pending.deadline > now);
                }
            }
        }
    }

    /// Wraps a command with a fresh id and deadline; remembers who waits for its ack.
    fn command(&mut self, command: wire::HubCommand, ack: Option<Waiting>) -> ServerToHub {
        let command_id = store::new_id();
        let deadline = super::link::ACK_DEADLINE;
        if let Some((ack, frame)) = ack {
            self.pending.insert(
                command_id.clone(),
                Pending {
                    deadline: Instant::now() + deadline,
                    ack,
                    frame,
                },
            );
        }
        ServerToHub::Command(wire::Command {
            command_id,
            expires_at: chrono::Utc::now().timestamp() + deadline.as_secs() as i64,
            command,
        })
    }

    fn resolve_all(&mut self, result: Result<(), String>) {
        for (_, pending) in self.pending.drain() {
            let _ = pending.ack.send(result.clone());
        }
    }

    async fn handle(&mut self, message: HubToServer) -> FarmResult<()> {
        match message {
            HubToServer::CommandAck {
                command_id,
                success,
                error,
                frame,
            } => {
                if let Some(pending) = self.pending.remove(&command_id) {
                    let result = if success {
                        Ok(())
                    } else {
                        Err(error.unwrap_or_else(|| "refused without a reason".into()))
                    };
                    // The frame first: whoever waits reads it as soon as the ack lands.
                    if let (Some(wants), Some(frame)) = (pending.frame, frame) {
                        let _ = wants.send(frame);
                    }
                    let _ = pending.ack.send(result);
                }
            }
            HubToServer::PrinterStatus(status) => self.on_status(status).await?,
            HubToServer::FileProgress {
                printer_id,
                job_id,
                stage,
                progress_percentage,
                error,
            } => {
                self.on_file_progress(&printer_id, &job_id, stage, progress_percentage, error)
                    .await?
            }
            HubToServer::PrinterDiscovered { printers } => {
                self.app.realtime.publish(
                    &self.tenant,
                    ServerMessage::PrinterDiscovered {
                        hub_id: self.hub_id.clone(),
                        printers,
                    },
                );
            }
            HubToServer::Heartbeat | HubToServer::HubHello { .. } => {}
        }
        if self.last_seen_written.elapsed() > SEEN_EVERY {
            self.last_seen_written = Instant::now();
            let mut conn = self.app.store.conn().await?;
            store::hubs::seen(&mut conn, &self.hub_id, &store::now_text()).await?;
        }
        Ok(())
    }

    /// Loads the hub's printers (again at most every few seconds, for a serial not yet known).
    async fn load_printers(&mut self) -> FarmResult<()> {
        if self
            .printers_loaded
            .is_some_and(|at| at.elapsed() < Duration::from_secs(5))
        {
            return Ok(());
        }
        self.printers_loaded = Some(Instant::now());
        let mut conn = self.app.store.conn().await?;
        let printers = store::printers::of_hub(&mut conn, &self.tenant, &self.hub_id).await?;
        let mut known = HashMap::new();
        for printer in printers {
            let Some(serial) = printer.serial_number.clone() else {
                continue;
            };
            let previous = self.printers.remove(&serial);
            known.insert(
                serial,
                Known {
                    printer,
                    reported: previous.as_ref().and_then(|p| p.reported.clone()),
                    gcode_state: previous.as_ref().and_then(|p| p.gcode_state.clone()),
                    progress_written: previous.as_ref().and_then(|p| p.progress_written),
                    no_job: previous.as_ref().is_some_and(|p| p.no_job),
                    filaments: previous
                        .as_ref()
                        .map(|p| p.filaments.clone())
                        .unwrap_or_default(),
                },
            );
        }
        self.printers = known;
        Ok(())
    }

    async fn on_status(&mut self, status: PrinterStatus) -> FarmResult<()> {
        if !self.printers.contains_key(&status.printer_id) {
            self.load_printers().await?;
        }
        // The hot path (every printer, every second): no copy of the printer row, one of the
        // report only when its job must be looked at.
        let Some(known) = self.printers.get_mut(&status.printer_id) else {
            tracing::debug!(hub_id = %self.hub_id, serial = %status.printer_id, "status of a printer the farm does not have on this hub");
            return Ok(());
        };
        let printer_id = known.printer.id.clone();
        let reported = reported(&status);
        let state_changed = known.gcode_state != status.gcode_state;
        if state_changed {
            known.gcode_state = status.gcode_state.clone();
        }
        let mut urgent = false;
        let before = known
            .reported
            .as_ref()
            .map_or(known.printer.status, |r| r.status);
        if let Some(trigger) = crate::automation::printer_trigger(before, reported.status) {
            // Rare (a printer came on or off line, or failed): off the hot path.
            let mut facts = crate::automation::printer_facts(&known.printer);
            if let Some(message) = &status.error_message {
                facts.insert("error_message".into(), message.as_str().into());
            }
            tell_rules(&self.app, &self.tenant, trigger, &printer_id, facts);
        }
        if known.reported.as_ref() != Some(&reported) {
            // Written behind, with every other changed printer of the node, at the next tick;
            // a printer in error is written at once (an operator must see it on any read).
            urgent = reported.status == domain::printers::PrinterStatus::Error;
            self.app
                .status_writer
                .record(&self.tenant, &printer_id, reported.clone());
            known.reported = Some(reported);
        }
        let look_at_job = status.gcode_state.is_some() && {
            let progress_due = known.progress_written.is_none_or(|(value, at)| {
                status.progress_percentage.is_some_and(|p| p != value)
                    && at.elapsed() >= PROGRESS_EVERY
            });
            let known_idle = known.no_job && status.job_id.is_none();
            state_changed || (progress_due && !known_idle)
        };
        if urgent {
            self.app.status_writer.flush(&self.app).await?;
        }
        if !status.filaments.is_empty() && known.filaments != status.filaments {
            known.filaments = status.filaments.clone();
            // Rare (someone loaded or used up a spool): off the hot path, in its own task.
            let (farm, tenant, id) = (
                self.app.farm.clone(),
                self.tenant.clone(),
                printer_id.clone(),
            );
            let loaded = crate::farm::launch::loaded_of(&status.filaments);
            tokio::spawn(async move {
                if let Err(err) = farm.filament_seen(&tenant, &id, &loaded).await {
                    tracing::warn!(tenant_id = %tenant, printer_id = %id, error = %err, "filament-change tasks not checked");
                }
            });
        }
        // Dashboards see every report (coalesced per client), keyed as they know the printer.
        if !look_at_job {
            self.app
                .realtime
                .printer_status(&self.tenant, &known.printer, status);
            return Ok(());
        }
        self.app
            .realtime
            .printer_status(&self.tenant, &known.printer, status.clone());
        self.drive_job(&status, &printer_id).await
    }

    /// Moves the printer's job along with what the printer itself says (its state changed,
    /// or its progress is due to be written).
    async fn drive_job(&mut self, status: &PrinterStatus, printer_id: &str) -> FarmResult<()> {
        let Some(state) = status.gcode_state.as_deref() else {
            return Ok(());
        };
        let mut conn = self.app.store.conn().await?;
        let found = store::jobs::active_on_printer(&mut conn, &self.tenant, printer_id).await?;
        drop(conn);
        if let Some(k) = self.printers.get_mut(&status.printer_id) {
            k.no_job = found.is_none();
        }
        let Some(job) = found else {
            // No job here: remember that this progress was looked at, or every report of an
            // idle printer would ask the database again (a state change still asks at once).
            if let Some(k) = self.printers.get_mut(&status.printer_id) {
                let value = status.progress_percentage.map_or(0, |p| p.clamp(0, 100));
                k.progress_written = Some((value, Instant::now()));
            }
            return Ok(());
        };
        // A hub that knows which job it printed must be talking about this one.
        if status.job_id.as_deref().is_some_and(|id| id != job.id) {
            return Ok(());
        }
        let reason = status
            .error_message
            .clone()
            .or_else(|| {
                status
                    .error_code
                    .as_ref()
                    .map(|c| format!("the printer reported error {c}"))
            })
            .unwrap_or_else(|| "the printer reported the print failed".into());
        let report = PrintReport {
            gcode_state: state,
            progress: status.progress_percentage,
            failure_reason: &reason,
        };
        self.app
            .farm
            .follow_printer(&self.tenant, job, report)
            .await?;
        let progress = status.progress_percentage.map(|p| p.clamp(0, 100));
        if let (Some(k), Some(value)) = (self.printers.get_mut(&status.printer_id), progress) {
            k.progress_written = Some((value, Instant::now()));
        }
        Ok(())
    }

    async fn on_file_progress(
        &mut self,
        serial: &str,
        job_id: &str,
        stage: wire::FileStage,
        progress: i64,
        error: Option<String>,
    ) -> FarmResult<()> {
        let mut conn = self.app.store.conn().await?;
        let job = match store::jobs::get(&mut conn, &self.tenant, job_id).await {
            Ok(job) => job,
            Err(store::StoreError::NotFound) => return Ok(()),
            Err(other) => return Err(other.into()),
        };
        drop(conn);
        // The job must be on the printer the hub talks about.
        let on_printer = self
            .printers
            .get(serial)
            .is_some_and(|k| job.printer_id.as_deref() == Some(k.printer.id.as_str()));
        if !on_printer {
            return Ok(());
        }
        self.app
            .farm
            .follow_file_stage(&self.tenant, &job, stage, progress, error)
            .await
    }

    /// The hub's own facts.
    fn hub_facts(&self) -> domain::automation::Facts {
        crate::automation::facts([
            ("hub_id", Some(self.hub_id.as_str().into())),
            ("hub_name", self.hub_name.clone().map(Into::into)),
        ])
    }

    async fn went_offline(&mut self) {
        self.resolve_all(Err("the hub disconnected".into()));
        for known in self.printers.values() {
            let before = known
                .reported
                .as_ref()
                .map_or(known.printer.status, |r| r.status);
            if before != domain::printers::PrinterStatus::Offline {
                let facts = crate::automation::printer_facts(&known.printer);
                tell_rules(
                    &self.app,
                    &self.tenant,
                    Trigger::PrinterOffline,
                    &known.printer.id,
                    facts,
                );
            }
        }
        tell_rules(
            &self.app,
            &self.tenant,
            Trigger::HubOffline,
            &self.hub_id,
            self.hub_facts(),
        );
        // The printers' offline state replaces whatever report of theirs waits to be
        // written, and is written now, before the hub's own row.
        for known in self.printers.values() {
            self.app.status_writer.record(
                &self.tenant,
                &known.printer.id,
                Reported {
                    status: domain::printers::PrinterStatus::Offline,
                    is_connected: false,
                    connection_error: None,
                    filament_type: None,
                    colour_hex: None,
                },
            );
        }
        if let Err(err) = self.app.status_writer.flush(&self.app).await {
            tracing::warn!(hub_id = %self.hub_id, error = %err, "printer offline states not written");
        }
        match self.app.store.conn().await {
            Ok(mut conn) => {
                if let Err(err) =
                    store::hubs::went_offline(&mut conn, &self.hub_id, &store::now_text()).await
                {
                    tracing::warn!(hub_id = %self.hub_id, error = %err, "hub offline state not written");
                }
            }
            Err(err) => {
                tracing::warn!(hub_id = %self.hub_id, error = %err, "hub offline state not written")
            }
        }
        for known in self.printers.values() {
            self.app.realtime.printer_status(
                &self.tenant,
                &known.printer,
                PrinterStatus {
                    status: domain::printers::PrinterStatus::Offline,
                    is_connected: Some(false),
                    ..Default::default()
                },
            );
        }
        self.app.realtime.publish(
            &self.tenant,
            ServerMessage::HubStatus {
                hub_id: self.hub_id.clone(),
                is_online: false,
            },
        );
    }
}

/// Tells the farm's rules and channels what happened to a printer or a hub, in a task of
/// its own (off the report's path).
fn tell_rules(
    app: &App,
    tenant: &TenantId,
    trigger: Trigger,
    subject: &str,
    facts: domain::automation::Facts,
) {
    let (farm, tenant) = (app.farm.clone(), tenant.clone());
    let key = format!("{subject}:{}", store::now_text());
    tokio::spawn(async move {
        if let Err(err) = crate::automation::happened(&farm, &tenant, trigger, &key, facts).await {
            tracing::warn!(tenant_id = %tenant, %trigger, error = %err, "automation event not queued");
        }
    });
}

/// What the farm keeps of a report.
fn reported(status: &PrinterStatus) -> Reported {
    // With one filament loaded (no AMS, or one tray), that is the printer's material;
    // with several, the job's own match is decided per slot later, so the columns stay.
    let single = (status.filaments.len() == 1).then(|| &status.filaments[0]);
    Reported {
        status: status.status,
        is_connected: status.is_connected.unwrap_or(true),
        connection_error: status.error_message.clone(),
        filament_type: single.and_then(|f| f.filament_type.clone()),
        colour_hex: single.and_then(|f| f.colour.clone()).map(|c| {
            let hex = c.trim_start_matches('#');
            format!("#{}", &hex[..hex.len().min(6)])
        }),
    }
}

async fn next_message(stream: &mut futures::stream::SplitStream<WebSocket>) -> Option<HubToServer> {
    loop {
        match stream.next().await? {
            Ok(Message::Text(text)) => return serde_json::from_str(text.as_str()).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn send(
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    message: &ServerToHub,
) -> Result<(), axum::Error> {
    let text = serde_json::to_string(message).map_err(axum::Error::new)?;
    sink.send(Message::Text(text.into())).await
}

fn close_frame(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}
