//! Stand-in hubs: one task per hub socket, speaking the hub protocol as the agent does
//! (signed `hub_hello`, acks for commands, heartbeats) and reporting its printers'
//! statuses at a steady pace.

use super::{Phase, Shared};
use crate::error::{Error, Result};
use futures::{SinkExt, StreamExt};
use proto::hub::{
    HEARTBEAT_SECS, HubToServer, ServerNotice, ServerToHub, hello_key, hello_signature,
};
use proto::status::{FilamentSlot, PrinterStatus, Temperatures};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::{Interval, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// How long a hub may take from connecting to `hub_welcome`.
const WELCOME_DEADLINE: Duration = Duration::from_secs(30);

/// One stand-in hub.
#[derive(Debug, Clone)]
pub struct HubSpec {
    /// Its registered id.
    pub id: String,
    /// Its secret.
    pub secret: String,
    /// Its printers' serials.
    pub serials: Vec<String>,
    /// Whether statuses carry `gcode_state`.
    pub gcode_state: bool,
    /// Send every printer's report at each tick, in one write.
    pub batch: bool,
    /// Time between two ticks (unbatched, each tick reports the next printer).
    pub period: Duration,
    /// Its first report's delay after `go`, spreading hubs evenly over the period.
    pub offset: Duration,
}

/// What one hub did.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Reports sent in the measured window.
    pub sent_in_window: u64,
    /// Reports sent in all.
    pub sent: u64,
    /// Commands acknowledged.
    pub acks: u64,
    /// Error notices from the server.
    pub errors: u64,
    /// Sockets closed before the end (0 or 1 for one hub).
    pub lost: u64,
    /// The first error notice or early close, in words.
    pub first_problem: Option<String>,
}

impl Stats {
    /// Adds another hub's figures.
    pub fn merge(&mut self, other: Stats) {
        self.sent_in_window += other.sent_in_window;
        self.sent += other.sent;
        self.acks += other.acks;
        self.errors += other.errors;
        self.lost += other.lost;
        if self.first_problem.is_none() {
            self.first_problem = other.first_problem;
        }
    }

    fn problem(&mut self, what: String) {
        if self.first_problem.is_none() {
            self.first_problem = Some(what);
        }
    }
}

type Socket = WebSocketStream<TcpStream>;

/// The JSON of one printer's `printer_status` up to its timestamp: each report only
/// appends the digits and the closing brace, so reporting costs one small allocation.
fn status_prefix(serial: &str, n: usize, gcode_state: bool) -> String {
    let status = PrinterStatus {
        printer_id: serial.to_string(),
        status: domain::printers::PrinterStatus::Printing,
        is_connected: Some(true),
        progress_percentage: Some((n % 100) as i64),
        current_layer: Some((n % 250) as i64),
        total_layers: Some(250),
        temperatures: Some(Temperatures {
            nozzle: Some(219.5),
            nozzle_target: Some(220.0),
            bed: Some(59.8),
            bed_target: Some(60.0),
            chamber: Some(31.0),
        }),
        gcode_state: gcode_state.then(|| "RUNNING".to_string()),
        filaments: vec![FilamentSlot {
            slot: 0,
            filament_type: Some("PLA".into()),
            colour: Some("F7D959FF".into()),
            remaining: Some(80),
        }],
        // The timestamp goes here; left out so it can be appended last.
        remaining_time_seconds: None,
        ..PrinterStatus::default()
    };
    let mut json = serde_json::to_string(&HubToServer::PrinterStatus(status)).unwrap_or_default();
    // `{…}` → `{…,"remaining_time_seconds":`
    json.pop();
    json.push_str(",\"remaining_time_seconds\":");
    json
}

/// Runs one hub until the run closes: connect (at most `connects` at once), say on
/// `ready` whether it was welcomed, then report, ack and beat until told to stop.
pub async fn run(
    addr: SocketAddr,
    spec: HubSpec,
    shared: Arc<Shared>,
    mut phase: watch::Receiver<Phase>,
    connects: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<Result<(), String>>,
) -> Stats {
    let mut stats = Stats::default();
    let connected = {
        let _permit = connects.acquire().await;
        tokio::time::timeout(WELCOME_DEADLINE, connect(addr, &spec, &mut stats)).await
    };
    let mut socket = match connected {
        Ok(Ok(socket)) => {
            let _ = ready.send(Ok(()));
            socket
        }
        Ok(Err(error)) => {
            let _ = ready.send(Err(format!("hub {}: {error}", spec.id)));
            return stats;
        }
        Err(_) => {
            let _ = ready.send(Err(format!(
                "hub {}: no hub_welcome within {} s",
                spec.id,
                WELCOME_DEADLINE.as_secs()
            )));
            return stats;
        }
    };
    let prefixes: Vec<String> = spec
        .serials
        .iter()
        .enumerate()
        .map(|(n, serial)| status_prefix(serial, n, spec.gcode_state))
        .collect();
    let beat_every = Duration::from_secs(HEARTBEAT_SECS);
    let mut heartbeat = tokio::time::interval_at((Instant::now() + beat_every).into(), beat_every);
    let mut reports: Option<Interval> = None;
    let mut next_printer = 0usize;
    loop {
        tokio::select! {
            incoming = socket.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(frame))) => {
                        stats.lost += 1;
                        stats.problem(format!("hub {}: the server closed the socket: {frame:?}", spec.id));
                        break;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => {
                        stats.lost += 1;
                        stats.problem(format!("hub {}: {error}", spec.id));
                        break;
                    }
                    None => {
                        stats.lost += 1;
                        stats.problem(format!("hub {}: the socket ended", spec.id));
                        break;
                    }
                };
                if let Some(reply) = answer(&text, &spec.id, &mut stats)
                    && socket.send(reply).await.is_err()
                {
                    stats.lost += 1;
                    break;
                }
            }
            _ = heartbeat.tick() => {
                let beat = Message::Text(Utf8Bytes::from_static(r#"{"type":"heartbeat"}"#));
                if socket.send(beat).await.is_err() {
                    stats.lost += 1;
                    break;
                }
            }
            _ = tick(&mut reports) => {
                let count = if spec.batch { prefixes.len() } else { 1 };
                let mut failed = false;
                for _ in 0..count {
                    let stamp = shared.clock.now_us();
                    let prefix = &prefixes[next_printer];
                    next_printer = (next_printer + 1) % prefixes.len();
                    let mut text = String::with_capacity(prefix.len() + 21);
                    text.push_str(prefix);
                    // Writing to a String cannot fail.
                    let _ = write!(text, "{stamp}}}");
                    // `feed` gathers in the write buffer; the flush below writes once.
                    if socket.feed(Message::Text(text.into())).await.is_err() {
                        failed = true;
                        break;
                    }
                    stats.sent += 1;
                    if shared.window.get().is_some_and(|w| w.contains(stamp)) {
                        stats.sent_in_window += 1;
                    }
                }
                if failed || socket.flush().await.is_err() {
                    stats.lost += 1;
                    stats.problem(format!("hub {}: sending a status failed", spec.id));
                    break;
                }
            }
            changed = phase.changed() => {
                let now = if changed.is_err() { Phase::Closing } else { *phase.borrow_and_update() };
                match now {
                    Phase::Connecting => {}
                    Phase::Reporting { go } => {
                        let mut every = tokio::time::interval_at((go + spec.offset).into(), spec.period);
                        // Behind schedule (a busy machine): report late rather than in bursts.
                        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
                        reports = Some(every);
                    }
                    Phase::Draining => reports = None,
                    Phase::Closing => {
                        let _ = socket.close(None).await;
                        return stats;
                    }
                }
            }
        }
    }
    // Lost early: wait for the end so the run's bookkeeping stays simple.
    while phase.changed().await.is_ok() {
        if *phase.borrow_and_update() == Phase::Closing {
            break;
        }
    }
    stats
}

/// The next report tick, or never while not reporting.
async fn tick(reports: &mut Option<Interval>) {
    match reports {
        Some(every) => {
            every.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// The answer to a server message, if it needs one: commands are acknowledged.
fn answer(text: &str, hub: &str, stats: &mut Stats) -> Option<Message> {
    match serde_json::from_str::<ServerToHub>(text) {
        Ok(ServerToHub::Command(command)) => {
            stats.acks += 1;
            let ack = HubToServer::CommandAck {
                command_id: command.command_id,
                success: true,
                error: None,
                frame: None,
            };
            serde_json::to_string(&ack)
                .ok()
                .map(|json| Message::Text(json.into()))
        }
        Ok(ServerToHub::Notice(ServerNotice::Error { code, message })) => {
            stats.errors += 1;
            stats.problem(format!(
                "hub {hub}: the server refused a message: {code}: {message}"
            ));
            None
        }
        Ok(ServerToHub::Notice(_)) => None,
        Err(error) => {
            stats.errors += 1;
            stats.problem(format!(
                "hub {hub}: unreadable server message ({error}): {text}"
            ));
            None
        }
    }
}

/// Opens the hub socket and says hello; returns once the server welcomed the hub.
async fn connect(addr: SocketAddr, spec: &HubSpec, stats: &mut Stats) -> Result<Socket> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(Error::io(format!("connect hub {} to {addr}", spec.id)))?;
    // Statuses are small and latency is the figure: no Nagle delay.
    stream
        .set_nodelay(true)
        .map_err(Error::io("set TCP_NODELAY"))?;
    let url = format!("ws://{addr}/ws/hub/{}", spec.id);
    let (mut socket, _) = tokio_tungstenite::client_async_with_config(
        url.as_str(),
        stream,
        Some(super::socket_config()),
    )
    .await
    .map_err(Error::socket(format!("open {url}")))?;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let key = hello_key(&spec.secret);
    let hello = HubToServer::HubHello {
        hub_id: spec.id.clone(),
        firmware_version: concat!("printfarm-loadtest/", env!("CARGO_PKG_VERSION")).into(),
        hardware_version: None,
        mac_address: None,
        timestamp,
        signature: hello_signature(&key, &spec.id, timestamp, &nonce),
        nonce,
    };
    let hello = serde_json::to_string(&hello)
        .map_err(|e| Error::Protocol(format!("hub_hello does not serialise: {e}")))?;
    socket
        .send(Message::Text(hello.into()))
        .await
        .map_err(Error::socket("send hub_hello"))?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerToHub>(&text) {
                Ok(ServerToHub::Notice(ServerNotice::HubWelcome { .. })) => return Ok(socket),
                _ => {
                    if let Some(reply) = answer(&text, &spec.id, stats) {
                        socket
                            .send(reply)
                            .await
                            .map_err(Error::socket("acknowledge a command"))?;
                    }
                }
            },
            Some(Ok(Message::Close(frame))) => {
                return Err(Error::Protocol(format!(
                    "the server closed the socket instead of welcoming the hub: {frame:?}"
                )));
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(Error::socket("wait for hub_welcome")(error)),
            None => {
                return Err(Error::Protocol(
                    "the socket ended before hub_welcome".into(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_with_its_timestamp_appended_is_a_printer_status_the_hub_protocol_reads() {
        let mut text = status_prefix("LT0000001P0002", 7, true);
        text.push_str("123456789}");
        let HubToServer::PrinterStatus(status) = serde_json::from_str(&text).unwrap() else {
            panic!("not a printer_status: {text}");
        };
        assert_eq!(status.printer_id, "LT0000001P0002");
        assert_eq!(status.remaining_time_seconds, Some(123_456_789));
        assert_eq!(status.gcode_state.as_deref(), Some("RUNNING"));
        let without = status_prefix("LT0000001P0002", 7, false);
        assert!(!without.contains("gcode_state"));
    }

    #[test]
    fn commands_are_acknowledged_and_error_notices_counted() {
        let mut stats = Stats::default();
        let command = r#"{"type":"configure_printer","command_id":"c1","expires_at":1,"action":"add",
            "printer":{"id":"p","serial_number":"S","connection_type":"lan"}}"#;
        let Some(Message::Text(ack)) = answer(command, "h", &mut stats) else {
            panic!("no ack");
        };
        let ack: serde_json::Value = serde_json::from_str(&ack).unwrap();
        assert_eq!(ack["type"], "command_ack");
        assert_eq!(ack["command_id"], "c1");
        assert_eq!(ack["success"], true);
        let refused = r#"{"type":"error","code":"BAD_MESSAGE","message":"no"}"#;
        assert!(answer(refused, "h", &mut stats).is_none());
        assert_eq!((stats.acks, stats.errors), (1, 1));
        assert!(stats.first_problem.unwrap().contains("BAD_MESSAGE"));
    }
}
