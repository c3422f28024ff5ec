//! Hub commands across nodes: each node answers on `hub.<id>.cmd` for the hubs whose
//! sockets it holds, and sends a command for any other hub as a request on that subject.
//!
//! Which hubs are connected anywhere is announced on `hubs.presence` (when a socket opens
//! or closes, and again every [`ANNOUNCE_EVERY`] for each hub held), so `is_connected`
//! stays a cheap, synchronous lookup; a node that stops announcing a hub (it died) is
//! forgotten after [`PRESENCE_TTL`]. A starting node asks on `hubs.presence.ask` and every
//! node announces what it holds at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::hubs::link::{ACK_DEADLINE, Attached, CameraFrame};
use crate::hubs::{CommandError, HubCommand, HubCommands, HubLink};

/// How often a node says again which hubs it holds.
pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(5);
/// How long a hub another node announced counts as connected without a new announcement.
pub const PRESENCE_TTL: Duration = Duration::from_secs(15);
/// The subject of presence announcements.
const PRESENCE: &str = "hubs.presence";
/// The subject a starting node asks on.
const PRESENCE_ASK: &str = "hubs.presence.ask";

fn command_subject(hub_id: &str) -> String {
    format!("hub.{hub_id}.cmd")
}

/// A command sent to the node holding the hub.
#[derive(Debug, Serialize, Deserialize)]
struct CommandRequest {
    command: HubCommand,
    /// Milliseconds the sender waits for the ack.
    deadline_ms: u64,
    /// Whether the sender wants the frame the ack carries (a camera snapshot).
    want_frame: bool,
}

/// The answer of the node holding the hub.
#[derive(Debug, Serialize, Deserialize)]
struct CommandReply {
    result: Result<Option<CameraFrame>, CommandError>,
}

/// A node's word on one hub.
#[derive(Debug, Serialize, Deserialize)]
struct Presence {
    hub_id: String,
    node_id: String,
    connected: bool,
}

/// Tells the other nodes that `node_id` holds (or no longer holds) the hub's socket.
async fn announce_presence(
    client: &async_nats::Client,
    hub_id: &str,
    node_id: &str,
    connected: bool,
) {
    let word = Presence {
        hub_id: hub_id.to_string(),
        node_id: node_id.to_string(),
        connected,
    };
    if let Ok(body) = serde_json::to_vec(&word)
        && let Err(error) = client.publish(PRESENCE, body.into()).await
    {
        tracing::warn!(hub_id, %error, "could not announce a hub on the bus");
    }
}

/// Hub commands through NATS, with this node's own sockets in `local`.
pub struct NatsHubCommands {
    local: Arc<HubLink>,
    client: async_nats::Client,
    node_id: String,
    /// Hubs other nodes hold: hub id → (node id, last announced).
    remote: Mutex<HashMap<String, (String, Instant)>>,
    /// Hubs this node answers for: hub id → (socket generation, the answering task).
    serving: Mutex<HashMap<String, (u64, tokio::task::JoinHandle<()>)>>,
}

impl std::fmt::Debug for NatsHubCommands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsHubCommands")
            .field("node_id", &self.node_id)
            .finish_non_exhaustive()
    }
}

impl NatsHubCommands {
    /// Starts following presence on `client` and asks the other nodes what they hold.
    pub async fn start(
        local: Arc<HubLink>,
        client: async_nats::Client,
        node_id: String,
    ) -> Result<Arc<NatsHubCommands>, super::BusError> {
        let this = Arc::new(NatsHubCommands {
            local,
            client,
            node_id,
            remote: Mutex::default(),
            serving: Mutex::default(),
        });
        let bus = |e: async_nats::SubscribeError| super::BusError(e.to_string());
        let presence = this.client.subscribe(PRESENCE).await.map_err(bus)?;
        let asks = this.client.subscribe(PRESENCE_ASK).await.map_err(bus)?;
        tokio::spawn(follow_presence(
            Arc::downgrade(&this),
            presence,
            this.node_id.clone(),
        ));
        tokio::spawn(announce(Arc::downgrade(&this), asks));
        this.client
            .publish(PRESENCE_ASK, Vec::new().into())
            .await
            .map_err(|e| super::BusError(e.to_string()))?;
        Ok(this)
    }

    fn serving(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (u64, tokio::task::JoinHandle<()>)>> {
        self.serving.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn remote(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.remote.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn publish_presence(&self, hub_id: &str, connected: bool) {
        announce_presence(&self.client, hub_id, &self.node_id, connected).await;
    }

    /// Asks the node holding the hub to run `command`; `HubOffline` when none answers.
    async fn remote_exchange(
        &self,
        hub_id: &str,
        command: HubCommand,
        deadline: Duration,
        want_frame: bool,
    ) -> Result<Option<CameraFrame>, CommandError> {
        let request = CommandRequest {
            command,
            deadline_ms: u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
            want_frame,
        };
        let body = serde_json::to_vec(&request)
            .map_err(|e| CommandError::Refused(format!("the command could not be sent: {e}")))?;
        // The holder waits `deadline` for the hub; the request a little longer for its reply.
        let asked = async_nats::Request::new()
            .payload(body.into())
            .timeout(Some(deadline + Duration::from_secs(1)));
        let answer = self
            .client
            .send_request(command_subject(hub_id), asked)
            .await
            .map_err(|e| match e.kind() {
                async_nats::RequestErrorKind::NoResponders => CommandError::HubOffline,
                async_nats::RequestErrorKind::TimedOut => CommandError::Timeout,
                _ => CommandError::Refused(format!("the bus: {e}")),
            })?;
        serde_json::from_slice::<CommandReply>(&answer.payload)
            .map_err(|e| CommandError::Refused(format!("an unreadable answer from the bus: {e}")))?
            .result
    }
}

/// Keeps the map of hubs other nodes hold.
async fn follow_presence(
    this: std::sync::Weak<NatsHubCommands>,
    mut presence: async_nats::Subscriber,
    node_id: String,
) {
    while let Some(message) = presence.next().await {
        let Some(this) = this.upgrade() else {
            return;
        };
        let Ok(word) = serde_json::from_slice::<Presence>(&message.payload) else {
            continue;
        };
        if word.node_id == node_id {
            continue;
        }
        let mut remote = this.remote();
        if word.connected {
            remote.insert(word.hub_id, (word.node_id, Instant::now()));
        } else if remote
            .get(&word.hub_id)
            .is_some_and(|(n, _)| *n == word.node_id)
        {
            remote.remove(&word.hub_id);
        }
    }
}

/// Announces the hubs this node holds: when asked, and every [`ANNOUNCE_EVERY`].
async fn announce(this: std::sync::Weak<NatsHubCommands>, mut asks: async_nats::Subscriber) {
    let mut every = tokio::time::interval(ANNOUNCE_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            ask = asks.next() => if ask.is_none() { return },
        }
        let Some(this) = this.upgrade() else {
            return;
        };
        let held: Vec<String> = this.serving().keys().cloned().collect();
        for hub_id in held {
            this.publish_presence(&hub_id, true).await;
        }
    }
}

/// Answers `hub.<id>.cmd` for a hub whose socket this node holds, until aborted.
async fn answer_for(
    local: Arc<HubLink>,
    client: async_nats::Client,
    hub_id: String,
    mut requests: async_nats::Subscriber,
) {
    while let Some(message) = requests.next().await {
        let Some(reply) = message.reply.clone() else {
            continue;
        };
        let result = match serde_json::from_slice::<CommandRequest>(&message.payload) {
            Ok(request) => {
                let deadline = Duration::from_millis(request.deadline_ms).min(ACK_DEADLINE);
                if request.want_frame {
                    local.request(&hub_id, request.command, deadline).await
                } else {
                    local.send(&hub_id, request.command).await.map(|()| None)
                }
            }
            Err(e) => Err(CommandError::Refused(format!("an unreadable command: {e}"))),
        };
        // The socket closed meanwhile (the hub may be moving to another node, which then
        // answers too): say nothing, so that the other node's answer is the one taken.
        if result == Err(CommandError::HubOffline) {
            continue;
        }
        let Ok(body) = serde_json::to_vec(&CommandReply { result }) else {
            continue;
        };
        if let Err(error) = client.publish(reply, body.into()).await {
            tracing::warn!(hub_id, %error, "could not answer a command on the bus");
        }
    }
}

impl HubCommands for NatsHubCommands {
    fn send<'a>(
        &'a self,
        hub_id: &'a str,
        command: HubCommand,
    ) -> futures::future::BoxFuture<'a, Result<(), CommandError>> {
        Box::pin(async move {
            if self.local.is_connected(hub_id) {
                return self.local.send(hub_id, command).await;
            }
            self.remote_exchange(hub_id, command, ACK_DEADLINE, false)
                .await
                .map(|_| ())
        })
    }

    fn request<'a>(
        &'a self,
        hub_id: &'a str,
        command: HubCommand,
        deadline: Duration,
    ) -> futures::future::BoxFuture<'a, Result<Option<CameraFrame>, CommandError>> {
        Box::pin(async move {
            if self.local.is_connected(hub_id) {
                return self.local.request(hub_id, command, deadline).await;
            }
            self.remote_exchange(hub_id, command, deadline, true).await
        })
    }

    fn is_connected(&self, hub_id: &str) -> bool {
        self.local.is_connected(hub_id)
            || self
                .remote()
                .get(hub_id)
                .is_some_and(|(_, seen)| seen.elapsed() < PRESENCE_TTL)
    }

    fn attach_session(&self, hub_id: &str) -> Attached {
        let attached = self.local.attach_session(hub_id);
        let local = self.local.clone();
        let client = self.client.clone();
        let hub = hub_id.to_string();
        let node_id = self.node_id.clone();
        let task = tokio::spawn(async move {
            let requests = match client.subscribe(command_subject(&hub)).await {
                Ok(requests) => requests,
                Err(error) => {
                    tracing::warn!(hub_id = %hub, %error, "could not answer for a hub on the bus");
                    return;
                }
            };
            // Announced only once this node answers on the hub's subject.
            announce_presence(&client, &hub, &node_id, true).await;
            answer_for(local, client, hub, requests).await;
        });
        if let Some((_, old)) = self
            .serving()
            .insert(hub_id.to_string(), (attached.generation, task))
        {
            old.abort();
        }
        self.remote().remove(hub_id);
        attached
    }

    fn detach(&self, hub_id: &str, generation: u64) {
        self.local.detach(hub_id, generation);
        let mut serving = self.serving();
        if serving.get(hub_id).is_some_and(|(g, _)| *g == generation)
            && let Some((_, task)) = serving.remove(hub_id)
        {
            task.abort();
            drop(serving);
            let (client, hub, node_id) = (
                self.client.clone(),
                hub_id.to_string(),
                self.node_id.clone(),
            );
            tokio::spawn(async move {
                announce_presence(&client, &hub, &node_id, false).await;
            });
        }
    }
}
