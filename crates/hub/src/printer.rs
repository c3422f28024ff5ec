//! One task per printer: MQTT over TLS, the merged report, status updates to the server,
//! and the requests other parts of the hub send to the printer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bambu::command::SequenceIds;
use bambu::report::{GcodeState, Incoming};
use bambu::tls::CertPin;
use bambu::{Command, PrinterState, Report, Response};
use proto::hub::HubToServer;
use proto::status::PrinterStatus;
use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, Packet, QoS};
use rustls::ClientConfig;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::outbox::Outbox;
use crate::status::{self, ACCESS_CODE_REFUSED, DEVELOPER_MODE_OFF, Link};
use crate::store::{StartedJob, Store};

/// Status updates that are not state changes go out at most this often.
const STATUS_INTERVAL: Duration = Duration::from_secs(1);
/// How often the task looks at throttled updates and unanswered requests.
const TICK: Duration = Duration::from_millis(250);
/// A connection attempt (TCP, TLS, CONNACK) that takes longer has failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Where and how to reach a printer. The access code lives only here, in memory.
#[derive(Clone, PartialEq, Eq)]
pub struct PrinterSettings {
    /// The printer's id in the farm.
    pub id: String,
    /// Serial number (MQTT topics, the key of everything on the hub).
    pub serial: String,
    /// Host or IP.
    pub host: String,
    /// MQTT-over-TLS port.
    pub mqtt_port: u16,
    /// Implicit-FTPS port.
    pub ftps_port: u16,
    /// Camera port (JPEG frames over TLS on P1/A1, RTSPS on X1).
    pub camera_port: u16,
    /// LAN access code.
    pub access_code: String,
}

impl std::fmt::Debug for PrinterSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The access code is a secret: never in logs.
        f.debug_struct("PrinterSettings")
            .field("id", &self.id)
            .field("serial", &self.serial)
            .field("host", &self.host)
            .field("mqtt_port", &self.mqtt_port)
            .field("ftps_port", &self.ftps_port)
            .field("camera_port", &self.camera_port)
            .finish_non_exhaustive()
    }
}

/// What the rest of the hub may know about a printer right now.
#[derive(Debug, Default)]
pub struct Live {
    /// MQTT is connected.
    pub connected: bool,
    /// Last `gcode_state`.
    pub gcode_state: Option<GcodeState>,
    /// Last `subtask_name`.
    pub subtask_name: Option<String>,
    /// An AMS is attached (print with `use_ams`).
    pub has_ams: bool,
    /// `fun` says commands must be signed.
    pub signature_required: bool,
    /// The job this hub started on the printer.
    pub job: Option<StartedJob>,
    /// The printer has been seen busy with `job` (until then a FINISH belongs to an older job).
    pub job_confirmed: bool,
    /// The job whose file is on its way to the printer.
    pub uploading: Option<String>,
}

impl Live {
    /// The job id to report with the current state, if the printer is on the hub's job.
    fn job_id(&self) -> Option<&str> {
        let job = self.job.as_ref()?;
        (self.subtask_name.as_deref() == Some(job.subtask_name.as_str()) && self.job_confirmed)
            .then_some(job.job_id.as_str())
    }
}

/// A request for the printer, answered once the printer has answered (or not, in time).
pub struct Request {
    /// What to publish.
    pub command: Command,
    /// How long to wait for the printer's answer before taking the publish as done.
    pub wait: Duration,
    /// `Ok` or why it failed, in words.
    pub reply: oneshot::Sender<Result<(), String>>,
}

/// The hub's side of a running printer task.
pub struct Printer {
    /// Where it is (updated by `configure_printer update`).
    pub settings: watch::Sender<PrinterSettings>,
    /// Requests for the printer.
    pub requests: mpsc::Sender<Request>,
    /// What it is doing.
    pub live: Arc<Mutex<Live>>,
    /// TLS for MQTT and FTPS, shared so FTPS data connections resume the session.
    pub tls: Arc<ClientConfig>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Printer {
    fn drop(&mut self) {
        // Removing a printer (or stopping the hub) ends its connection.
        self.task.abort();
    }
}

/// What every printer task shares with the hub.
#[derive(Clone)]
pub struct Context {
    /// Where statuses go.
    pub outbox: Outbox,
    /// Pins and jobs.
    pub store: Arc<Store>,
    /// Bumped when the server link is (re)established: send the status again.
    pub link_epoch: watch::Receiver<u64>,
    /// First reconnect delay.
    pub reconnect_initial: Duration,
}

/// Locks a printer's live state.
pub fn lock(live: &Mutex<Live>) -> MutexGuard<'_, Live> {
    live.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Printer {
    /// Starts the task for one printer.
    pub fn start(context: Context, settings: PrinterSettings) -> Result<Printer, rustls::Error> {
        let pin = context.store.pin(&settings.serial);
        let tls = bambu::tls::client_config(pin.clone())?;
        let live = Arc::new(Mutex::new(Live {
            job: context.store.job(&settings.serial),
            // A job remembered across a restart was seen printing before it was stored.
            job_confirmed: true,
            ..Live::default()
        }));
        let (settings_tx, settings_rx) = watch::channel(settings);
        let (requests, requests_rx) = mpsc::channel(16);
        let task = Task {
            context,
            settings: settings_rx,
            requests: requests_rx,
            live: live.clone(),
            tls: tls.clone(),
            pin,
            state: PrinterState::new(),
            reporter: Reporter::default(),
            link: Link::Offline,
        };
        Ok(Printer {
            settings: settings_tx,
            requests,
            live,
            tls,
            task: tokio::spawn(task.run()),
        })
    }

    /// Sends a command and waits for the printer's answer.
    pub async fn command(&self, command: Command, wait: Duration) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request {
                command,
                wait,
                reply,
            })
            .await
            .map_err(|_| "the printer is being removed".to_owned())?;
        answer
            .await
            .unwrap_or_else(|_| Err("the printer task stopped".to_owned()))
    }
}

/// Sends status updates: state changes at once, the rest at most once per second.
#[derive(Default)]
struct Reporter {
    sent: Option<PrinterStatus>,
    sent_at: Option<Instant>,
    pending: Option<PrinterStatus>,
}

impl Reporter {
    fn update(&mut self, outbox: &Outbox, status: PrinterStatus) {
        let urgent = self
            .sent
            .as_ref()
            .is_none_or(|sent| status::state_changed(sent, &status));
        if !urgent && self.sent.as_ref() == Some(&status) {
            self.pending = None;
            return;
        }
        let due = self
            .sent_at
            .is_none_or(|at| at.elapsed() >= STATUS_INTERVAL);
        if urgent || due {
            self.send(outbox, status);
        } else {
            self.pending = Some(status);
        }
    }

    fn flush(&mut self, outbox: &Outbox) {
        if self
            .sent_at
            .is_some_and(|at| at.elapsed() >= STATUS_INTERVAL)
            && let Some(status) = self.pending.take()
        {
            self.send(outbox, status);
        }
    }

    /// Sends the latest status again (the server link was re-established).
    fn resend(&mut self, outbox: &Outbox) {
        if let Some(status) = self.pending.take().or_else(|| self.sent.clone()) {
            self.send(outbox, status);
        }
    }

    fn send(&mut self, outbox: &Outbox, status: PrinterStatus) {
        self.pending = None;
        self.sent_at = Some(Instant::now());
        self.sent = Some(status.clone());
        outbox.send(HubToServer::PrinterStatus(status));
    }
}

struct Pending {
    reply: oneshot::Sender<Result<(), String>>,
    deadline: Instant,
    needs_developer_mode: bool,
}

/// Why a connection ended.
enum Ended {
    /// Reconnect after a backoff.
    Failed,
    /// The settings changed: reconnect now.
    Reconfigured,
}

struct Task {
    context: Context,
    settings: watch::Receiver<PrinterSettings>,
    requests: mpsc::Receiver<Request>,
    live: Arc<Mutex<Live>>,
    tls: Arc<ClientConfig>,
    pin: CertPin,
    state: PrinterState,
    reporter: Reporter,
    link: Link,
}

impl Task {
    async fn run(mut self) {
        let mut backoff = Backoff::new(self.context.reconnect_initial);
        self.report();
        loop {
            match self.connection(&mut backoff).await {
                Ended::Reconfigured => {
                    backoff.reset();
                    continue;
                }
                Ended::Failed => {}
            }
            let delay = backoff.next_delay();
            let serial = self.settings.borrow().serial.clone();
            tracing::debug!(%serial, delay_ms = delay.as_millis() as u64, "printer reconnect scheduled");
            let wake = tokio::time::sleep(delay);
            tokio::pin!(wake);
            loop {
                tokio::select! {
                    _ = &mut wake => break,
                    changed = self.settings.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        backoff.reset();
                        break;
                    }
                    request = self.requests.recv() => match request {
                        Some(request) => {
                            let _ = request.reply.send(Err(self.unreachable()));
                        }
                        None => return,
                    },
                    changed = self.context.link_epoch.changed() => {
                        if changed.is_ok() {
                            self.reporter.resend(&self.context.outbox);
                        }
                    }
                }
            }
        }
    }

    fn unreachable(&self) -> String {
        match &self.link {
            Link::Refused(reason) => reason.clone(),
            _ => "the printer is not connected".to_owned(),
        }
    }

    /// One MQTT connection, from connecting to its end.
    async fn connection(&mut self, backoff: &mut Backoff) -> Ended {
        let settings = self.settings.borrow_and_update().clone();
        let serial = settings.serial.clone();
        let client_id = format!("printfarm-hub-{:08x}", rand::random::<u32>());
        let options = bambu::mqtt::options(
            &client_id,
            &settings.host,
            settings.mqtt_port,
            &settings.access_code,
            self.tls.clone(),
        );
        let (client, event_loop) = AsyncClient::new(options, 32);
        let mut events = MqttEvents::spawn(event_loop);
        // Queued now, sent by the event loop right after CONNACK.
        let queued = client
            .try_subscribe(bambu::mqtt::report_topic(&serial), QoS::AtMostOnce)
            .and_then(|()| {
                client.try_publish(
                    bambu::mqtt::request_topic(&serial),
                    QoS::AtMostOnce,
                    false,
                    Command::Pushall.to_payload("0"),
                )
            });
        if let Err(error) = queued {
            tracing::warn!(%serial, %error, "could not queue the MQTT subscription");
            return Ended::Failed;
        }
        let ids = SequenceIds::new();
        let mut pending: HashMap<String, Pending> = HashMap::new();
        let mut ticks = tokio::time::interval(TICK);
        let connect_deadline = tokio::time::sleep(CONNECT_TIMEOUT);
        tokio::pin!(connect_deadline);
        let mut connected = false;
        let ended = loop {
            tokio::select! {
                event = events.next() => match event {
                    MqttEvent::Connected => {
                        connected = true;
                        backoff.reset();
                        if let Err(error) = self.context.store.save_pin(&serial, &self.pin) {
                            tracing::warn!(%serial, %error, "could not store the printer's certificate pin");
                        }
                        tracing::info!(%serial, host = %settings.host, "printer connected");
                        self.set_link(Link::Connected);
                    }
                    MqttEvent::Message(payload) => {
                        self.incoming(&payload, &mut pending);
                    }
                    MqttEvent::Failed(error) => {
                        self.connection_failed(&serial, connected, error);
                        break Ended::Failed;
                    }
                },
                _ = &mut connect_deadline, if !connected => {
                    tracing::info!(%serial, host = %settings.host, "printer did not answer in time");
                    self.set_link(Link::Offline);
                    break Ended::Failed;
                }
                request = self.requests.recv() => {
                    let Some(request) = request else {
                        break Ended::Failed;
                    };
                    if !connected {
                        let _ = request.reply.send(Err(self.unreachable()));
                        continue;
                    }
                    let sequence_id = ids.next_id();
                    let published = client.try_publish(
                        bambu::mqtt::request_topic(&serial),
                        QoS::AtMostOnce,
                        false,
                        request.command.to_payload(&sequence_id),
                    );
                    match published {
                        Ok(()) => {
                            tracing::debug!(%serial, command = request.command.name(), %sequence_id, "command sent");
                            pending.insert(sequence_id, Pending {
                                reply: request.reply,
                                deadline: Instant::now() + request.wait,
                                needs_developer_mode: request.command.needs_developer_mode(),
                            });
                        }
                        Err(error) => {
                            let _ = request.reply.send(Err(format!("could not send the command to the printer: {error}")));
                        }
                    }
                }
                _ = ticks.tick() => {
                    self.expire(&mut pending);
                    self.reporter.flush(&self.context.outbox);
                }
                changed = self.settings.changed() => {
                    if changed.is_err() {
                        break Ended::Failed;
                    }
                    if *self.settings.borrow() != settings {
                        tracing::info!(%serial, "printer settings changed; reconnecting");
                        break Ended::Reconfigured;
                    }
                }
                changed = self.context.link_epoch.changed() => {
                    if changed.is_ok() {
                        self.reporter.resend(&self.context.outbox);
                    }
                }
            }
        };
        for (_, waiting) in pending.drain() {
            let _ = waiting
                .reply
                .send(Err("lost the connection to the printer".to_owned()));
        }
        if matches!(self.link, Link::Connected) {
            self.set_link(Link::Offline);
        }
        ended
    }

    fn connection_failed(&mut self, serial: &str, was_connected: bool, error: ConnectionError) {
        let link = match &error {
            ConnectionError::ConnectionRefused(
                ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized,
            ) => Link::Refused(ACCESS_CODE_REFUSED.to_owned()),
            // rumqttc keeps the rustls error only in its Debug form.
            _ if format!("{error:?}").contains("PinMismatch") => Link::Refused(
                "the printer's certificate is not the one seen at first contact; \
                 if the printer was replaced, remove it from the hub and add it again"
                    .to_owned(),
            ),
            _ => Link::Offline,
        };
        match &link {
            Link::Refused(reason) => tracing::warn!(%serial, %reason, "printer refused the hub"),
            _ if was_connected => tracing::info!(%serial, %error, "printer connection lost"),
            _ => tracing::debug!(%serial, %error, "printer not reachable"),
        }
        self.set_link(link);
    }

    /// One message from the report topic.
    fn incoming(&mut self, payload: &[u8], pending: &mut HashMap<String, Pending>) {
        match self.state.apply_message(payload) {
            Ok(Incoming::Status(_)) => self.report(),
            Ok(Incoming::Response(response)) => {
                let Some(waiting) = response
                    .sequence_id
                    .as_ref()
                    .and_then(|id| pending.remove(id))
                else {
                    return;
                };
                let _ = waiting.reply.send(outcome(&response));
            }
            Ok(Incoming::Other { .. }) => {}
            Err(error) => {
                tracing::debug!(serial = %self.settings.borrow().serial, %error, "unreadable report ignored");
            }
        }
    }

    /// Requests the printer did not answer in time: the publish went out, so they count as
    /// done, unless the printer says it wants signed commands.
    fn expire(&mut self, pending: &mut HashMap<String, Pending>) {
        let now = Instant::now();
        let signature_required = lock(&self.live).signature_required;
        let expired: Vec<String> = pending
            .iter()
            .filter(|(_, waiting)| waiting.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(waiting) = pending.remove(&id) {
                let result = if waiting.needs_developer_mode && signature_required {
                    Err(DEVELOPER_MODE_OFF.to_owned())
                } else {
                    Ok(())
                };
                let _ = waiting.reply.send(result);
            }
        }
    }

    fn set_link(&mut self, link: Link) {
        if self.link != link {
            self.link = link;
            lock(&self.live).connected = self.link == Link::Connected;
            self.report();
        }
    }

    /// Updates the shared view of the printer and tells the server.
    fn report(&mut self) {
        let report: Report = self.state.report();
        let status = {
            let mut live = lock(&self.live);
            live.gcode_state = report.gcode_state;
            live.subtask_name = report.subtask_name.clone();
            live.has_ams = !report.ams.is_empty();
            live.signature_required = report.signature_required == Some(true);
            let on_our_job = live.job.as_ref().is_some_and(|job| {
                report.subtask_name.as_deref() == Some(job.subtask_name.as_str())
            });
            if on_our_job && report.gcode_state.is_some_and(GcodeState::is_busy) {
                live.job_confirmed = true;
            }
            status::printer_status(
                &self.settings.borrow().serial,
                &self.link,
                &report,
                live.job_id(),
            )
        };
        self.reporter.update(&self.context.outbox, status);
    }
}

/// What the MQTT event loop reports to the printer task.
enum MqttEvent {
    /// CONNACK accepted.
    Connected,
    /// A message on the report topic.
    Message(bytes::Bytes),
    /// The connection failed or ended.
    Failed(ConnectionError),
}

/// The MQTT event loop in its own task: `EventLoop::poll` must not be cancelled (a
/// cancelled poll restarts a TLS handshake in progress, or cuts a write in half), and the
/// printer task selects on many things.
struct MqttEvents {
    events: mpsc::Receiver<MqttEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl MqttEvents {
    fn spawn(mut event_loop: rumqttc::EventLoop) -> MqttEvents {
        let (sender, events) = mpsc::channel(64);
        let task = tokio::spawn(async move {
            loop {
                let event = match event_loop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => MqttEvent::Connected,
                    Ok(Event::Incoming(Packet::Publish(publish))) => {
                        MqttEvent::Message(publish.payload)
                    }
                    Ok(_) => continue,
                    Err(error) => {
                        let _ = sender.send(MqttEvent::Failed(error)).await;
                        return;
                    }
                };
                if sender.send(event).await.is_err() {
                    return;
                }
            }
        });
        MqttEvents { events, task }
    }

    /// The next event; the loop's end reads as a failure.
    async fn next(&mut self) -> MqttEvent {
        self.events
            .recv()
            .await
            .unwrap_or(MqttEvent::Failed(ConnectionError::RequestsDone))
    }
}

impl Drop for MqttEvents {
    fn drop(&mut self) {
        // Ends the connection with the task that owns it.
        self.task.abort();
    }
}

/// The printer's answer, in words when it is a refusal.
fn outcome(response: &Response) -> Result<(), String> {
    if response.is_success() {
        Ok(())
    } else if response.is_signature_refusal() {
        Err(DEVELOPER_MODE_OFF.to_owned())
    } else {
        Err(match &response.reason {
            Some(reason) => format!("the printer refused the command: {reason}"),
            None => format!("the printer refused the command ({})", response.result),
        })
    }
}
