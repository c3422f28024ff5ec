//! The server link: one WebSocket, dialled out, kept up with backoff, authenticated with
//! `hub_hello`, kept alive with heartbeats, fed from the outbox.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use proto::hub::{
    HEARTBEAT_SECS, HELLO_DEADLINE_SECS, HubToServer, SILENCE_LIMIT_SECS, ServerNotice,
    ServerToHub, close, hello_key, hello_signature,
};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::agent::{Hub, unix_now};
use crate::backoff::Backoff;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connecting (TCP, TLS, upgrade) that takes longer has failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// How a session ended.
enum Ended {
    /// The hub is stopping.
    Shutdown,
    /// Anything else: try again after a backoff.
    Retry,
}

/// Keeps the link up until `stop` turns true.
pub(crate) async fn run(hub: Arc<Hub>, mut stop: watch::Receiver<bool>) {
    let mut backoff = Backoff::new(Duration::from_millis(hub.config.reconnect_initial_ms));
    loop {
        if let Ended::Shutdown = session(&hub, &mut backoff, &mut stop).await {
            return;
        }
        let delay = backoff.next_delay();
        tracing::debug!(
            delay_ms = delay.as_millis() as u64,
            "server reconnect scheduled"
        );
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stopping(&mut stop) => return,
        }
    }
}

/// Resolves once the hub is stopping (the guard `wait_for` returns must not live on).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

async fn session(hub: &Arc<Hub>, backoff: &mut Backoff, stop: &mut watch::Receiver<bool>) -> Ended {
    let connected = tokio::select! {
        connected = connect(hub) => connected,
        _ = stopping(stop) => return Ended::Shutdown,
    };
    let mut socket = match connected {
        Ok(socket) => socket,
        Err(reason) => {
            tracing::warn!(%reason, "cannot reach the server");
            return Ended::Retry;
        }
    };
    let welcomed = tokio::select! {
        welcomed = hello(hub, &mut socket) => welcomed,
        _ = stopping(stop) => return Ended::Shutdown,
    };
    if let Err(reason) = welcomed {
        tracing::warn!(%reason, "the server did not welcome the hub");
        return Ended::Retry;
    }
    backoff.reset();
    // Printers send their current status again: the server marked them offline meanwhile.
    hub.link_epoch.send_modify(|epoch| *epoch += 1);
    connected_loop(hub, &mut socket, stop).await
}

async fn connect(hub: &Hub) -> Result<Socket, String> {
    let url = hub.config.socket_url().map_err(|e| e.to_string())?;
    let connector = if url.starts_with("wss://") {
        Connector::Rustls(hub.server_tls.clone())
    } else {
        Connector::Plain
    };
    let attempt =
        tokio_tungstenite::connect_async_tls_with_config(url.as_str(), None, true, Some(connector));
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Err(_) => Err(format!(
            "no answer from {url} in {}s",
            CONNECT_TIMEOUT.as_secs()
        )),
        Ok(Ok((socket, _))) => {
            tracing::debug!(%url, "server socket open");
            Ok(socket)
        }
        Ok(Err(tungstenite::Error::Http(response))) => Err(match response.status().as_u16() {
            404 => format!("the server does not know hub {:?} (404)", hub.config.hub_id),
            403 => format!(
                "hub {:?} is not claimed by a farm yet (403); claim it in the web app",
                hub.config.hub_id
            ),
            status => format!("the server refused the socket ({status})"),
        }),
        Ok(Err(error)) => Err(format!("connecting to {url}: {error}")),
    }
}

/// Sends `hub_hello` and waits for `hub_welcome`.
async fn hello(hub: &Arc<Hub>, socket: &mut Socket) -> Result<(), String> {
    let config = &hub.config;
    let timestamp = unix_now();
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let key = hello_key(&config.hub_secret);
    let hello = HubToServer::HubHello {
        hub_id: config.hub_id.clone(),
        firmware_version: config.firmware_version.clone(),
        hardware_version: None,
        mac_address: None,
        timestamp,
        signature: hello_signature(&key, &config.hub_id, timestamp, &nonce),
        nonce,
    };
    send(socket, &hello).await?;
    let deadline = Instant::now() + Duration::from_secs(HELLO_DEADLINE_SECS * 2);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| "no hub_welcome in time".to_owned())?;
        match message {
            Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerToHub>(&text) {
                Ok(ServerToHub::Notice(ServerNotice::HubWelcome {
                    hub_name,
                    tenant_id,
                    server_time,
                    ..
                })) => {
                    let skew = server_time - unix_now();
                    tracing::info!(hub_name = hub_name.as_deref().unwrap_or(""), %tenant_id, skew_secs = skew, "connected to the server");
                    return Ok(());
                }
                Ok(ServerToHub::Notice(ServerNotice::Error { code, message })) => {
                    tracing::warn!(%code, %message, "the server refused the hello");
                }
                Ok(ServerToHub::Command(command)) => hub.receive(command),
                Ok(ServerToHub::Notice(_)) => {}
                Err(error) => tracing::debug!(%error, "unreadable server message ignored"),
            },
            Some(Ok(Message::Close(frame))) => return Err(closed(frame.as_ref())),
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(format!("socket error: {error}")),
            None => return Err("the server closed the socket".to_owned()),
        }
    }
}

/// The connected link: send what the outbox holds, take commands, keep alive.
async fn connected_loop(
    hub: &Arc<Hub>,
    socket: &mut Socket,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    let heartbeat_every = Duration::from_secs(HEARTBEAT_SECS);
    let mut heartbeat = tokio::time::interval_at(Instant::now() + heartbeat_every, heartbeat_every);
    let mut last_heard = Instant::now();
    let mut sent_since_heartbeat = false;
    loop {
        match drain(hub, socket).await {
            Ok(sent) => sent_since_heartbeat |= sent,
            Err(reason) => {
                tracing::warn!(%reason, "lost the server link while sending");
                return Ended::Retry;
            }
        }
        let dropped = hub.outbox.queue().take_dropped();
        if dropped > 0 {
            tracing::warn!(dropped, "outage buffer full; oldest messages dropped");
        }
        tokio::select! {
            _ = hub.outbox.ready() => {}
            message = socket.next() => {
                last_heard = Instant::now();
                match message {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerToHub>(&text) {
                        Ok(ServerToHub::Command(command)) => hub.receive(command),
                        Ok(ServerToHub::Notice(ServerNotice::HubConfig { hub_name })) => {
                            tracing::info!(hub_name = hub_name.as_deref().unwrap_or(""), "hub settings changed");
                        }
                        Ok(ServerToHub::Notice(ServerNotice::Error { code, message })) => {
                            tracing::warn!(%code, %message, "the server refused a message");
                        }
                        Ok(ServerToHub::Notice(ServerNotice::HubWelcome { .. })) => {}
                        Err(error) => tracing::debug!(%error, "unreadable server message ignored"),
                    },
                    Some(Ok(Message::Close(frame))) => {
                        let reason = closed(frame.as_ref());
                        tracing::warn!(%reason, "the server closed the link");
                        return Ended::Retry;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        tracing::warn!(%error, "server link failed");
                        return Ended::Retry;
                    }
                    None => {
                        tracing::warn!("the server closed the link");
                        return Ended::Retry;
                    }
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > Duration::from_secs(SILENCE_LIMIT_SECS) {
                    tracing::warn!("no word from the server in {SILENCE_LIMIT_SECS}s; reconnecting");
                    return Ended::Retry;
                }
                if !sent_since_heartbeat && let Err(reason) = send(socket, &HubToServer::Heartbeat).await {
                    tracing::warn!(%reason, "lost the server link");
                    return Ended::Retry;
                }
                sent_since_heartbeat = false;
                // The pong proves the server is alive even when it has nothing to say.
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return Ended::Retry;
                }
            }
            _ = hub.disconnect.notified() => {
                // Let the ack of the disconnect command go out first.
                let _ = drain(hub, socket).await;
                tracing::info!("disconnecting on the server's request");
                goodbye(socket, CloseCode::Normal, "disconnect requested").await;
                return Ended::Retry;
            }
            _ = stopping(stop) => {
                let _ = drain(hub, socket).await;
                goodbye(socket, CloseCode::Away, "hub stopping").await;
                return Ended::Shutdown;
            }
        }
    }
}

/// Sends everything queued; `Ok(true)` if anything was sent. A message that could not be
/// sent goes back to the outbox for the next connection.
async fn drain(hub: &Hub, socket: &mut Socket) -> Result<bool, String> {
    let mut sent = false;
    loop {
        let next = hub.outbox.queue().pop();
        let Some((position, message)) = next else {
            return Ok(sent);
        };
        if let Err(reason) = send(socket, &message).await {
            hub.outbox.queue().restore(position, message);
            return Err(reason);
        }
        sent = true;
    }
}

async fn send(socket: &mut Socket, message: &HubToServer) -> Result<(), String> {
    let text = serde_json::to_string(message).map_err(|e| e.to_string())?;
    socket
        .send(Message::text(text))
        .await
        .map_err(|error| format!("socket error: {error}"))
}

async fn goodbye(socket: &mut Socket, code: CloseCode, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.close(Some(frame))).await;
}

/// The close frame in words; a refused hello is logged as an error the user must fix.
fn closed(frame: Option<&CloseFrame>) -> String {
    let Some(frame) = frame else {
        return "the server closed the socket".to_owned();
    };
    let code = u16::from(frame.code);
    let reason = frame.reason.as_str();
    match code {
        close::BAD_SIGNATURE => {
            tracing::error!(code, %reason, "the server refused the hub's signature: check hub_secret in the hub config, and that the hub's clock is right");
            format!("signature refused ({code})")
        }
        close::WRONG_HUB => {
            tracing::error!(code, %reason, "the server says this socket belongs to another hub: check hub_id in the hub config");
            format!("wrong hub id ({code})")
        }
        close::NO_HELLO => format!("hello refused or too late ({code}): {reason}"),
        close::SILENT => format!("the server heard nothing for too long ({code})"),
        close::REPLACED => format!("replaced by a newer connection of this hub ({code})"),
        close::DISCONNECT => format!("the server asked the hub to disconnect ({code})"),
        _ => format!("closed ({code}): {reason}"),
    }
}
