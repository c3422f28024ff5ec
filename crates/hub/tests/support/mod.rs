//! A fake PrintFarm server (hub socket), a tiny file server, and a running agent, all on
//! loopback, for the hub's tests and its RSS example.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use proto::hub::{
    Command, HubCommand, HubToServer, ServerNotice, ServerToHub, close, hello_key, verify_hello,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

pub const HUB_ID: &str = "hub-test-1";
pub const SECRET: &str = "correct horse battery staple";

/// The fixture 3MF's path (tests run from the crate directory).
pub fn fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/3mf/sample-a.3mf"
    ))
}

/// Waits for `check` to give a value, polling, up to `timeout`.
pub async fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the fake server saw.
#[derive(Default)]
pub struct Seen {
    /// Every message after a good hello, in order, with the connection number.
    pub messages: Mutex<Vec<(usize, HubToServer)>>,
    /// Hellos accepted.
    pub welcomed: AtomicUsize,
    /// Hellos refused (bad signature).
    pub refused: AtomicUsize,
}

/// A fake server speaking the hub socket.
pub struct FakeServer {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
    up: Arc<AtomicBool>,
    to_hub: Arc<Mutex<Option<mpsc::UnboundedSender<Message>>>>,
    kick: watch::Sender<u64>,
}

impl FakeServer {
    pub async fn start() -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Seen::default());
        let up = Arc::new(AtomicBool::new(true));
        let to_hub = Arc::new(Mutex::new(None));
        let kick = watch::channel(0u64).0;
        let server = FakeServer {
            addr,
            seen: seen.clone(),
            up: up.clone(),
            to_hub: to_hub.clone(),
            kick: kick.clone(),
        };
        tokio::spawn(async move {
            let mut connection = 0usize;
            while let Ok((tcp, _)) = listener.accept().await {
                if !up.load(Ordering::SeqCst) {
                    // Down: the TCP connection is refused the hard way.
                    drop(tcp);
                    continue;
                }
                connection += 1;
                let seen = seen.clone();
                let to_hub = to_hub.clone();
                let kicked = kick.subscribe();
                tokio::spawn(serve(tcp, connection, seen, to_hub, kicked));
            }
        });
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends a command to the connected hub.
    pub fn send(&self, command: Command) {
        let text = serde_json::to_string(&ServerToHub::Command(command)).expect("json");
        let sender = self.to_hub.lock().expect("lock").clone();
        sender
            .expect("a hub is connected")
            .send(Message::text(text))
            .expect("connection alive");
    }

    /// Takes the server down: drops the current connection and refuses new ones.
    pub fn go_down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.to_hub.lock().expect("lock").take();
        self.kick.send_modify(|k| *k += 1);
    }

    /// Brings the server back.
    pub fn come_back(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    pub fn messages(&self) -> Vec<(usize, HubToServer)> {
        self.seen.messages.lock().expect("lock").clone()
    }

    pub fn welcomed(&self) -> usize {
        self.seen.welcomed.load(Ordering::SeqCst)
    }

    /// The ack for `command_id`, once it arrived.
    pub fn ack(&self, command_id: &str) -> Option<(bool, Option<String>)> {
        self.messages().into_iter().find_map(|(_, m)| match m {
            HubToServer::CommandAck {
                command_id: id,
                success,
                error,
                ..
            } if id == command_id => Some((success, error)),
            _ => None,
        })
    }

    /// Waits for the ack of `command_id`.
    pub async fn wait_ack(&self, command_id: &str, timeout: Duration) -> (bool, Option<String>) {
        eventually(&format!("ack of {command_id}"), timeout, || {
            self.ack(command_id)
        })
        .await
    }

    /// Statuses for one printer, in order.
    pub fn statuses(&self, serial: &str) -> Vec<proto::status::PrinterStatus> {
        self.messages()
            .into_iter()
            .filter_map(|(_, m)| match m {
                HubToServer::PrinterStatus(s) if s.printer_id == serial => Some(s),
                _ => None,
            })
            .collect()
    }

    /// Waits for a status of `serial` that satisfies `check`, returning it.
    pub async fn wait_status(
        &self,
        serial: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&proto::status::PrinterStatus) -> bool,
    ) -> proto::status::PrinterStatus {
        eventually(what, timeout, || {
            self.statuses(serial).into_iter().find(|s| check(s))
        })
        .await
    }
}

async fn serve(
    tcp: tokio::net::TcpStream,
    connection: usize,
    seen: Arc<Seen>,
    to_hub: Arc<Mutex<Option<mpsc::UnboundedSender<Message>>>>,
    mut kicked: watch::Receiver<u64>,
) {
    let Ok(mut socket) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let Some(Ok(Message::Text(first))) = socket.next().await else {
        return;
    };
    let hello: HubToServer = serde_json::from_str(&first).expect("hello is a hub message");
    let HubToServer::HubHello {
        hub_id,
        timestamp,
        nonce,
        signature,
        ..
    } = hello
    else {
        panic!("first message is not hub_hello: {first}");
    };
    let key = hello_key(SECRET);
    if hub_id != HUB_ID || !verify_hello(&key, &hub_id, timestamp, &nonce, &signature) {
        seen.refused.fetch_add(1, Ordering::SeqCst);
        let frame = CloseFrame {
            code: CloseCode::from(close::BAD_SIGNATURE),
            reason: "bad signature".into(),
        };
        let _ = socket.close(Some(frame)).await;
        return;
    }
    let welcome = ServerToHub::Notice(ServerNotice::HubWelcome {
        hub_id: HUB_ID.into(),
        hub_name: Some("test hub".into()),
        tenant_id: "tenant-1".into(),
        server_time: timestamp,
    });
    let welcome = serde_json::to_string(&welcome).expect("json");
    if socket.send(Message::text(welcome)).await.is_err() {
        return;
    }
    let (sender, mut outgoing) = mpsc::unbounded_channel();
    *to_hub.lock().expect("lock") = Some(sender);
    seen.welcomed.fetch_add(1, Ordering::SeqCst);
    kicked.mark_unchanged();
    loop {
        tokio::select! {
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let message: HubToServer = serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("hub sent something unreadable ({e}): {text}"));
                    seen.messages.lock().expect("lock").push((connection, message));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            message = outgoing.recv() => match message {
                Some(message) => {
                    if socket.send(message).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            _ = kicked.changed() => return,
        }
    }
}

/// A command that expires in a minute.
pub fn command(id: &str, command: HubCommand) -> Command {
    Command {
        command_id: id.into(),
        expires_at: now() + 60,
        command,
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Serves `body` at any path but `/missing` (404), HTTP/1.1 with a Content-Length.
pub async fn file_server(body: Arc<Vec<u8>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request);
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                if path.starts_with("/missing") {
                    let _ = tcp
                        .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                    return;
                }
                let header = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                if tcp.write_all(header.as_bytes()).await.is_ok() {
                    // In pieces, like a real download.
                    for chunk in body.chunks(64 * 1024) {
                        if tcp.write_all(chunk).await.is_err() {
                            return;
                        }
                    }
                    let _ = tcp.shutdown().await;
                }
            });
        }
    });
    addr
}

/// A running agent; dropping it stops the agent.
pub struct RunningAgent {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<Result<(), hub::HubError>>,
    pub data_dir: tempfile::TempDir,
}

impl RunningAgent {
    pub fn start(config: hub::Config, data_dir: tempfile::TempDir) -> RunningAgent {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(hub::Agent::run(config, async move {
            let _ = stopped.await;
        }));
        RunningAgent {
            stop: Some(stop),
            task,
            data_dir,
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = &mut self.task;
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A config for the fake server at `server`, with a fresh data directory.
pub fn config(server: &str, secret: &str) -> (hub::Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = hub::Config::new(server, HUB_ID, secret, dir.path().join("data"));
    config.reconnect_initial_ms = 100;
    config.discovery_seconds = 1.0;
    (config, dir)
}

/// Points the hub at a simulated printer's ports.
pub fn override_printer(config: &mut hub::Config, printer: &sim::PrinterHandle) {
    config.printers.insert(
        printer.serial().to_owned(),
        hub::PrinterOverride {
            host: Some(printer.mqtt_addr().ip().to_string()),
            mqtt_port: Some(printer.mqtt_addr().port()),
            ftps_port: Some(printer.ftps_addr().port()),
            camera_port: printer.camera_addr().map(|a| a.port()),
        },
    );
}

/// `configure_printer add` for a simulated printer with the given access code.
pub fn add_printer(id: &str, printer: &sim::PrinterHandle, access_code: &str) -> Command {
    command(
        id,
        HubCommand::ConfigurePrinter {
            action: proto::hub::ConfigureAction::Add,
            printer: proto::hub::PrinterConfig {
                id: format!("farm-{}", printer.serial()),
                serial_number: printer.serial().to_owned(),
                access_code: Some(access_code.to_owned()),
                ip_address: Some("192.0.2.1".into()),
                connection_type: "lan".into(),
                model: Some(printer.model().name().to_owned()),
            },
        },
    )
}
