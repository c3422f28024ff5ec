//! The dashboard socket, `/ws/dashboard`: a farm's live events, fanned out to browsers.
//!
//! A browser authenticates with its session token within 30 s, then subscribes to
//! printers (none named: all of the farm). Each connection has a bounded outbox written
//! by its own task, so a slow browser never slows the hub path or other browsers.
//! Printer statuses are coalesced per printer (the newest wins), and a browser that fell
//! behind on them takes the newest of each printer again: a burst of reports never forces a
//! resync. Any other message that finds the outbox full, or that the farm's channel dropped
//! before this browser read it, means the browser missed something: it is told to resync
//! and closed.

use crate::app::App;
use crate::envelope::{ApiResult, Envelope};
use crate::extract::{ApiQuery, SocketUpgrade};
use crate::realtime::{FarmEvent, FarmSubscription};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use axum::response::Response;
use domain::TenantId;
use futures::{SinkExt, StreamExt};
use proto::dashboard::{AUTH_DEADLINE_SECS, ClientMessage, ServerMessage, Unsubscribe};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, broadcast, mpsc};

/// Messages (other than printer statuses) a browser may have waiting.
const OUTBOX: usize = 256;

/// Close codes of the dashboard socket.
const CLOSE_UNAUTHENTICATED: u16 = 4001;
const CLOSE_LAGGING: u16 = 4008;

/// `?tenant=` on the socket URL.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SocketQuery {
    tenant: Option<String>,
}

/// GET /ws/dashboard — the live socket of the dashboard.
pub async fn connect(
    State(app): State<App>,
    ApiQuery(query): ApiQuery<SocketQuery>,
    SocketUpgrade(upgrade): SocketUpgrade,
) -> Response {
    upgrade
        .read_buffer_size(crate::realtime::SOCKET_READ_BUFFER)
        .on_upgrade(move |socket| session(app, socket, query.tenant))
}

/// GET /ws/dashboard/status — how many dashboards are connected, and to how many farms (signed-in users).
pub async fn status(State(app): State<App>, _signed_in: crate::auth::AuthUser) -> ApiResult<Value> {
    let (total, farms) = app.realtime.dashboards();
    Ok(Envelope::ok(
        json!({ "connections": total, "farms": farms }),
    ))
}

/// Who the socket belongs to once authenticated.
async fn authenticate(app: &App, token: &str, wanted: Option<String>) -> Result<TenantId, String> {
    let caller = crate::auth::session::caller_for_token(app, token)
        .await
        .map_err(|_| "the server could not check the session".to_string())?
        .ok_or("the session is not valid; sign in again")?;
    let mut conn = app
        .store
        .conn()
        .await
        .map_err(|_| "the server could not check the session".to_string())?;
    let user = caller.user.user_id();
    let tenant = match wanted.filter(|t| !t.is_empty()) {
        Some(t) => TenantId::parse(&t).ok_or("no such farm")?,
        None => {
            let farms = store::tenants::list_for_user(&mut conn, &user)
                .await
                .map_err(|_| "the server could not read your farms".to_string())?;
            let first = farms.first().ok_or("you are not a member of any farm")?;
            TenantId::from_stored(first.tenant.id.clone())
        }
    };
    match store::members::role_of(&mut conn, &tenant, &user).await {
        Ok(Some(_)) => Ok(tenant),
        Ok(None) => Err("you are not a member of this farm".into()),
        Err(_) => Err("the server could not check your membership".into()),
    }
}

async fn session(app: App, socket: WebSocket, query_tenant: Option<String>) {
    let (mut sink, mut stream) = socket.split();
    let first = tokio::time::timeout(Duration::from_secs(AUTH_DEADLINE_SECS), async {
        loop {
            match stream.next().await? {
                Ok(Message::Text(text)) => {
                    return serde_json::from_str::<ClientMessage>(text.as_str()).ok();
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    })
    .await;
    let Ok(Some(ClientMessage::Auth { token, tenant_id })) = first else {
        let _ = send(
            &mut sink,
            &ServerMessage::auth_error("send auth with your session token first"),
        )
        .await;
        let _ = sink
            .send(close(CLOSE_UNAUTHENTICATED, "not authenticated"))
            .await;
        return;
    };
    let tenant = match authenticate(&app, &token, tenant_id.or(query_tenant)).await {
        Ok(tenant) => tenant,
        Err(message) => {
            let _ = send(&mut sink, &ServerMessage::auth_error(message)).await;
            let _ = sink
                .send(close(CLOSE_UNAUTHENTICATED, "not authenticated"))
                .await;
            return;
        }
    };
    // Subscribe before answering, so nothing published after auth_success is missed.
    let events = app.realtime.subscribe(&tenant);
    if send(
        &mut sink,
        &ServerMessage::AuthSuccess {
            tenant_id: tenant.to_string(),
        },
    )
    .await
    .is_err()
    {
        return;
    }
    let _guard = app.realtime.dashboard_connected(&tenant);
    let outbox = Outbox::default();
    let (tx, rx) = mpsc::channel::<Message>(OUTBOX);
    let writer = tokio::spawn(write(sink, rx, outbox.clone()));
    let mut client = Client {
        tenant,
        subscribed: HashSet::new(),
        outbox,
        tx,
    };
    client.follow(&app, events, &mut stream).await;
    drop(client);
    let _ = writer.await;
}

/// Printer statuses waiting for the writer, newest per printer (keyed by the event's own
/// shared printer id: queueing a status allocates nothing per browser).
#[derive(Clone, Default)]
struct Outbox {
    statuses: Arc<Mutex<crate::realtime::Newest>>,
    ready: Arc<Notify>,
    /// Set when the browser fell behind: the writer sends the resync hint and closes.
    lagging: Arc<std::sync::atomic::AtomicBool>,
}

impl Outbox {
    fn put(&self, events: impl IntoIterator<Item = Arc<FarmEvent>>) {
        {
            let mut statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
            for event in events {
                if let Some(printer) = event.printer_key().cloned() {
                    // The older status it replaces is freed here, under the lock: one
                    // free, where collecting them to free later cost an allocation a put.
                    statuses.insert(printer, event);
                }
            }
        }
        self.ready.notify_one();
    }

    fn lag(&self) {
        self.lagging
            .store(true, std::sync::atomic::Ordering::Release);
        self.ready.notify_one();
    }

    fn is_lagging(&self) -> bool {
        self.lagging.load(std::sync::atomic::Ordering::Acquire)
    }

    fn take(&self) -> Vec<Arc<FarmEvent>> {
        let mut statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        // Keeps the map's room for the next batch.
        statuses.drain().map(|(_, event)| event).collect()
    }
}

/// Writes the outbox to the browser until the socket or the outbox closes.
async fn write(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Message>,
    outbox: Outbox,
) {
    loop {
        tokio::select! {
            message = rx.recv() => {
                let Some(message) = message else {
                    if outbox.is_lagging() {
                        send_resync(&mut sink).await;
                    }
                    break;
                };
                let closing = matches!(message, Message::Close(_));
                if sink.send(message).await.is_err() || closing {
                    break;
                }
            }
            _ = outbox.ready.notified() => {
                if outbox.is_lagging() {
                    return send_resync(&mut sink).await;
                }
                // One flush (one write to the socket) for everything waiting.
                for event in outbox.take() {
                    if sink.feed(Message::Text(event.text().clone())).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Tells a browser that fell behind to reload, past the queued messages, and closes.
async fn send_resync(sink: &mut futures::stream::SplitSink<WebSocket, Message>) {
    let hint =
        json!({ "type": "resync", "reason": "the browser fell behind; reload and reconnect" });
    let _ = sink.send(Message::Text(hint.to_string().into())).await;
    let _ = sink.send(close(CLOSE_LAGGING, "fell behind; resync")).await;
}

struct Client {
    tenant: TenantId,
    /// Printers followed, by the farm's number or id, as the browser named them; empty
    /// means all.
    subscribed: HashSet<String>,
    outbox: Outbox,
    tx: mpsc::Sender<Message>,
}

impl Client {
    fn follows(&self, event: &FarmEvent) -> bool {
        let named = |key: Option<&str>| key.is_some_and(|k| self.subscribed.contains(k));
        self.subscribed.is_empty() || named(event.printer_id()) || named(event.printer_number())
    }

    /// Follows or stops following printers, as a subscribe asks.
    fn subscribe(&mut self, printers: Vec<String>, unsubscribe: Unsubscribe) {
        match unsubscribe {
            Unsubscribe::Listed(true) => {
                for printer in &printers {
                    self.subscribed.remove(printer);
                }
            }
            Unsubscribe::Listed(false) => self.subscribed.extend(printers),
            Unsubscribe::Printers(leaving) => {
                self.subscribed.extend(printers);
                for printer in &leaving {
                    self.subscribed.remove(printer);
                }
            }
        }
    }

    /// Queues a message; `false` when the browser has fallen behind.
    fn queue(&self, message: Utf8Bytes) -> bool {
        match self.tx.try_send(Message::Text(message)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => false,
            Err(mpsc::error::TrySendError::Closed(_)) => true,
        }
    }

    fn resync(&self) {
        self.outbox.lag();
    }

    /// Sends the latest status of every followed printer (after auth or a subscribe).
    fn snapshot(&self, app: &App) {
        let newest = app.realtime.status_events_of(&self.tenant);
        self.outbox
            .put(newest.into_iter().filter(|e| self.follows(e)));
    }

    async fn follow(
        &mut self,
        app: &App,
        events: FarmSubscription,
        stream: &mut futures::stream::SplitStream<WebSocket>,
    ) {
        let FarmSubscription {
            mut statuses,
            mut events,
        } = events;
        loop {
            tokio::select! {
                status = statuses.recv() => match status {
                    Ok(batch) => self
                        .outbox
                        .put(batch.iter().filter(|e| self.follows(e)).cloned()),
                    // Statuses are state: the newest of each printer replaces what was missed.
                    Err(broadcast::error::RecvError::Lagged(_)) => self.snapshot(app),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                event = events.recv() => match event {
                    Ok(event) => {
                        let skip = matches!(event.message, ServerMessage::JobUpdate { .. })
                            && !self.follows(&event);
                        if !skip && !self.queue(event.text().clone()) {
                            self.resync();
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.resync();
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                incoming = stream.next() => {
                    let text = match incoming {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                        Some(Ok(_)) => continue,
                    };
                    match serde_json::from_str::<ClientMessage>(text.as_str()) {
                        Ok(ClientMessage::Subscribe { printers, unsubscribe }) => {
                            self.subscribe(printers, unsubscribe);
                            self.snapshot(app);
                        }
                        Ok(ClientMessage::Ping) => {
                            self.queue(json!({ "type": "pong" }).to_string().into());
                        }
                        Ok(ClientMessage::Auth { .. }) => {}
                        Err(err) => {
                            let error = ServerMessage::Error {
                                code: "INVALID_MESSAGE".into(),
                                message: format!("not a dashboard message: {err}"),
                                timestamp: domain::time::format(chrono::Utc::now()),
                            };
                            self.queue(serde_json::to_string(&error).unwrap_or_default().into());
                        }
                    }
                }
                _ = self.tx.closed() => return,
            }
        }
    }
}

async fn send(
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    message: &ServerMessage,
) -> Result<(), axum::Error> {
    let text = serde_json::to_string(message).map_err(axum::Error::new)?;
    sink.send(Message::Text(text.into())).await
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::Param;
    use axum::http::Method as M;
    crate::api::Routes::new()
        .add(
            M::GET,
            "/ws/dashboard",
            Public,
            "The dashboard's live socket (WebSocket; send auth with the session token first)",
            connect,
        )
        .query(&[("tenant", Param::Uuid)])
        .add(
            M::GET,
            "/ws/dashboard/status",
            Signed,
            "How many dashboards are connected",
            status,
        )
}
