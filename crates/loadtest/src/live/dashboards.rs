//! Stand-in dashboards: sockets that authenticate, subscribe to their whole farm and
//! time every `printer_status` they receive.
//!
//! A few tasks read all dashboards (each a share of the sockets, polled together), so a
//! thousand dashboards cost a thousand sockets but not a thousand tasks, and each task
//! records into its own histogram without sharing.

use super::{Phase, Shared};
use crate::api::Account;
use crate::error::{Error, Result};
use crate::latency::Latencies;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// How long authentication may take.
const AUTH_DEADLINE: Duration = Duration::from_secs(30);
/// How often a reader tells the run that deliveries are still arriving, microseconds.
const MARK_EVERY_US: u64 = 10_000;
/// The field that carries a report's send instant (see the module `live`).
const STAMP_KEY: &str = "\"remaining_time_seconds\":";

/// An open, subscribed dashboard socket.
pub type Socket = WebSocketStream<TcpStream>;

/// What a group of dashboards received.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Latency of deliveries of reports sent in the window.
    pub latencies: Latencies,
    /// Deliveries of reports sent in the window.
    pub deliveries: u64,
    /// Deliveries of reports sent before the window (warm-up, the subscribe snapshot).
    pub early: u64,
    /// `resync` messages (the server found the dashboard behind and closed it).
    pub resyncs: u64,
    /// When the first `resync` arrived, clock microseconds.
    pub first_resync_us: Option<u64>,
    /// Sockets that ended before the run closed them.
    pub lost: u64,
    /// Other messages (hub status, job updates).
    pub other: u64,
    /// When this reader last refreshed [`Shared::last_delivery_us`].
    marked_us: Option<u64>,
}

impl Stats {
    /// Nothing received yet.
    pub fn new() -> Result<Stats> {
        Ok(Stats {
            latencies: Latencies::new()?,
            deliveries: 0,
            early: 0,
            resyncs: 0,
            first_resync_us: None,
            lost: 0,
            other: 0,
            marked_us: None,
        })
    }

    /// Adds another group's figures.
    pub fn merge(&mut self, other: &Stats) {
        self.latencies.merge(&other.latencies);
        self.deliveries += other.deliveries;
        self.early += other.early;
        self.resyncs += other.resyncs;
        self.first_resync_us = match (self.first_resync_us, other.first_resync_us) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.lost += other.lost;
        self.other += other.other;
    }

    /// Counts one message received at `now_us`.
    fn observe(&mut self, text: &str, now_us: u64, shared: &Shared) {
        match stamp(text) {
            Some(sent) => match shared.window.get() {
                Some(window) if window.contains(sent) => {
                    self.deliveries += 1;
                    self.latencies.record_us(now_us.saturating_sub(sent));
                    // A shared store per message would bounce its cache line between cores.
                    if self
                        .marked_us
                        .is_none_or(|marked| now_us.saturating_sub(marked) >= MARK_EVERY_US)
                    {
                        self.marked_us = Some(now_us);
                        shared.last_delivery_us.store(now_us, Ordering::Relaxed);
                    }
                }
                Some(window) if sent >= window.end_us => {}
                _ => self.early += 1,
            },
            None if text.contains("\"resync\"") => {
                self.resyncs += 1;
                self.first_resync_us.get_or_insert(now_us);
            }
            None => self.other += 1,
        }
    }
}

/// The send instant a `printer_status` carries, without parsing the whole message
/// (the load generator must stay cheap next to the server it measures).
fn stamp(text: &str) -> Option<u64> {
    let at = text.find(STAMP_KEY)? + STAMP_KEY.len();
    let rest = &text[at..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

/// Opens a dashboard socket as the account, authenticates and subscribes to all of its
/// farm's printers.
pub async fn connect(addr: SocketAddr, account: &Account) -> Result<Socket> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(Error::io(format!("connect a dashboard to {addr}")))?;
    stream
        .set_nodelay(true)
        .map_err(Error::io("set TCP_NODELAY"))?;
    let url = format!("ws://{addr}/ws/dashboard");
    let (mut socket, _) = tokio_tungstenite::client_async_with_config(
        url.as_str(),
        stream,
        Some(super::socket_config()),
    )
    .await
    .map_err(Error::socket(format!("open {url}")))?;
    let auth = json!({ "type": "auth", "token": account.token, "tenant_id": account.farm });
    socket
        .send(Message::Text(auth.to_string().into()))
        .await
        .map_err(Error::socket("send auth"))?;
    tokio::time::timeout(AUTH_DEADLINE, authenticated(&mut socket))
        .await
        .map_err(|_| Error::timeout("the dashboard's auth_success", AUTH_DEADLINE))??;
    let subscribe = json!({ "type": "subscribe", "printers": [] });
    socket
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .map_err(Error::socket("send subscribe"))?;
    Ok(socket)
}

async fn authenticated(socket: &mut Socket) -> Result<()> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let message: Value = serde_json::from_str(&text).unwrap_or_default();
                match message["type"].as_str() {
                    Some("auth_success") => return Ok(()),
                    Some("auth_error") => {
                        return Err(Error::Protocol(format!(
                            "the dashboard socket refused the session: {}",
                            message["message"]
                        )));
                    }
                    _ => {}
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(Error::Protocol(format!(
                    "the dashboard socket closed during auth: {frame:?}"
                )));
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(Error::socket("wait for auth_success")(error)),
            None => {
                return Err(Error::Protocol(
                    "the dashboard socket ended during auth".into(),
                ));
            }
        }
    }
}

/// Reads a group of dashboards until the run closes, then closes them.
pub async fn read(
    sockets: Vec<Socket>,
    mut stats: Stats,
    shared: Arc<Shared>,
    mut phase: watch::Receiver<Phase>,
) -> Result<Stats> {
    let opened = sockets.len();
    let mut all = futures::stream::select_all(sockets);
    let mut any_open = opened > 0;
    loop {
        tokio::select! {
            incoming = all.next(), if any_open => match incoming {
                Some(Ok(Message::Text(text))) => stats.observe(&text, shared.clock.now_us(), &shared),
                // Errors end that socket; `select_all` drops it on its next poll.
                Some(_) => {}
                None => any_open = false,
            },
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow_and_update() == Phase::Closing {
                    break;
                }
            }
        }
    }
    stats.lost = (opened - all.len()) as u64;
    for socket in all.iter_mut() {
        let _ = socket.close(None).await;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{Clock, Window};
    use std::sync::OnceLock;

    #[test]
    fn the_stamp_is_found_wherever_the_server_puts_it() {
        assert_eq!(
            stamp(r#"{"printer_id":"p","remaining_time_seconds":12345,"status":"printing"}"#),
            Some(12345)
        );
        assert_eq!(
            stamp(r#"{"type":"printer_status","remaining_time_seconds":7}"#),
            Some(7)
        );
        assert_eq!(stamp(r#"{"type":"hub_status","is_online":true}"#), None);
    }

    #[test]
    fn deliveries_count_only_for_reports_sent_in_the_window() {
        let shared = Shared {
            clock: Clock::start(),
            window: OnceLock::new(),
            last_delivery_us: Default::default(),
        };
        let _ = shared.window.set(Window {
            start_us: 1_000,
            end_us: 2_000,
        });
        let mut stats = Stats::new().unwrap();
        let status =
            |us: u64| format!(r#"{{"type":"printer_status","remaining_time_seconds":{us}}}"#);
        stats.observe(&status(500), 600, &shared);
        stats.observe(&status(1_500), 1_750, &shared);
        stats.observe(&status(2_500), 2_600, &shared);
        stats.observe(r#"{"type":"resync","reason":"behind"}"#, 3_000, &shared);
        stats.observe(r#"{"type":"hub_status"}"#, 3_000, &shared);
        assert_eq!(
            (stats.early, stats.deliveries, stats.resyncs, stats.other),
            (1, 1, 1, 1)
        );
        assert_eq!(stats.first_resync_us, Some(3_000));
        assert_eq!(stats.latencies.summary().max_ms, 0.25);
        assert_eq!(shared.last_delivery_us.load(Ordering::Relaxed), 1_750);
    }
}
