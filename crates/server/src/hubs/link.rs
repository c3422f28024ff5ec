//! The hub command link: routes send a command to a hub and wait for its ack.
//!
//! In one process this is a map from hub id to the task that owns the hub's socket
//! (the hub socket registers itself when a hub connects). With several server
//! processes the same interface becomes a request on the hub's NATS subject; routes
//! don't change.

pub use proto::hub::{CameraFrame, HubCommand, PrinterAction};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// How long a hub has to acknowledge a command.
pub const ACK_DEADLINE: Duration = Duration::from_secs(30);

/// Why a command did not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "error", content = "reason", rename_all = "snake_case")]
pub enum CommandError {
    /// No socket from this hub is open.
    #[error("the hub is offline")]
    HubOffline,
    /// The hub did not answer within the deadline.
    #[error("the hub did not acknowledge within {} seconds", ACK_DEADLINE.as_secs())]
    Timeout,
    /// The hub (or the printer) refused, with its reason.
    #[error("the hub refused: {0}")]
    Refused(String),
}

/// Commands to hubs: send one to a hub and await its ack, wherever its socket is held.
/// In one process, [`HubLink`]; with several nodes, a request on the hub's subject.
pub trait HubCommands: Send + Sync + 'static {
    /// Sends `command` to the hub and waits for its ack (at most [`ACK_DEADLINE`]).
    fn send<'a>(
        &'a self,
        hub_id: &'a str,
        command: HubCommand,
    ) -> futures::future::BoxFuture<'a, Result<(), CommandError>>;
    /// Sends `command` and waits for its ack, with the frame the ack carries (a camera
    /// snapshot's), at most `deadline`.
    fn request<'a>(
        &'a self,
        hub_id: &'a str,
        command: HubCommand,
        deadline: Duration,
    ) -> futures::future::BoxFuture<'a, Result<Option<CameraFrame>, CommandError>>;
    /// Whether a socket from the hub is open.
    fn is_connected(&self, hub_id: &str) -> bool;
    /// Registers the socket task of a hub that connected (a newer socket replaces an older one).
    fn attach_session(&self, hub_id: &str) -> Attached;
    /// Forgets a hub whose socket closed, unless a newer socket replaced it.
    fn detach(&self, hub_id: &str, generation: u64);
}

impl HubCommands for HubLink {
    fn send<'a>(
        &'a self,
        hub_id: &'a str,
        command: HubCommand,
    ) -> futures::future::BoxFuture<'a, Result<(), CommandError>> {
        Box::pin(HubLink::send(self, hub_id, command))
    }

    fn request<'a>(
        &'a self,
        hub_id: &'a str,
        command: HubCommand,
        deadline: Duration,
    ) -> futures::future::BoxFuture<'a, Result<Option<CameraFrame>, CommandError>> {
        Box::pin(HubLink::request(self, hub_id, command, deadline))
    }

    fn is_connected(&self, hub_id: &str) -> bool {
        HubLink::is_connected(self, hub_id)
    }

    fn attach_session(&self, hub_id: &str) -> Attached {
        HubLink::attach_session(self, hub_id)
    }

    fn detach(&self, hub_id: &str, generation: u64) {
        HubLink::detach(self, hub_id, generation)
    }
}

/// A command on its way to a hub's socket task, with where to send the ack.
#[derive(Debug)]
pub struct Outgoing {
    /// The command.
    pub command: HubCommand,
    /// Receives `Ok(())` or the hub's reason for refusing.
    pub ack: oneshot::Sender<Result<(), String>>,
    /// Receives the frame the ack carries, if the sender wants one (camera snapshots).
    pub frame: Option<oneshot::Sender<CameraFrame>>,
}

/// Routes commands to connected hubs.
#[derive(Debug)]
pub struct HubLink {
    sessions: Mutex<HashMap<String, (u64, mpsc::Sender<Outgoing>)>>,
    generations: std::sync::atomic::AtomicU64,
    /// Set when the server shuts down: hub sockets close with 1001 and write their hub offline.
    closing: AtomicBool,
    /// Hub socket tasks running (from the upgrade to their last write), for the shutdown to
    /// wait on: upgraded sockets outlive axum's graceful shutdown.
    running: Arc<watch::Sender<usize>>,
}

impl Default for HubLink {
    fn default() -> Self {
        HubLink {
            sessions: Mutex::default(),
            generations: std::sync::atomic::AtomicU64::default(),
            closing: AtomicBool::new(false),
            running: Arc::new(watch::channel(0).0),
        }
    }
}

/// Counts a hub socket task as running until dropped.
#[derive(Debug)]
pub struct Running(Arc<watch::Sender<usize>>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// A hub socket's place in the link: its commands, and its generation (to detach only itself).
#[derive(Debug)]
pub struct Attached {
    /// Tells this socket apart from a newer one of the same hub.
    pub generation: u64,
    /// Commands for the hub; closed when a newer socket of the hub attaches.
    pub commands: mpsc::Receiver<Outgoing>,
}

impl HubLink {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, mpsc::Sender<Outgoing>)>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers the socket task of a hub that connected; a newer socket replaces an older one.
    pub fn attach_session(&self, hub_id: &str) -> Attached {
        let (tx, commands) = mpsc::channel(64);
        let generation = self
            .generations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock().insert(hub_id.to_string(), (generation, tx));
        Attached {
            generation,
            commands,
        }
    }

    /// [`HubLink::attach_session`] for a stand-in hub in tests.
    pub fn attach(&self, hub_id: &str) -> mpsc::Receiver<Outgoing> {
        self.attach_session(hub_id).commands
    }

    /// Forgets a hub whose socket closed, unless a newer socket replaced it.
    pub fn detach(&self, hub_id: &str, generation: u64) {
        let mut sessions = self.lock();
        if sessions.get(hub_id).is_some_and(|(g, _)| *g == generation) {
            sessions.remove(hub_id);
        }
    }

    /// Hub sockets open on this node.
    pub fn connected(&self) -> usize {
        self.lock()
            .values()
            .filter(|(_, tx)| !tx.is_closed())
            .count()
    }

    /// Whether a socket from the hub is open.
    pub fn is_connected(&self, hub_id: &str) -> bool {
        self.lock()
            .get(hub_id)
            .is_some_and(|(_, tx)| !tx.is_closed())
    }

    /// Counts a hub socket task as running while the guard lives.
    pub fn session_started(&self) -> Running {
        self.running.send_modify(|n| *n += 1);
        Running(self.running.clone())
    }

    /// Whether the server is shutting down (a socket whose commands end then closes with 1001).
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
    }

    /// Closes every hub socket (each writes its hub offline) and waits, at most `within`,
    /// until their tasks are done: on shutdown, before the database pool closes, so no hub
    /// is left "online" by a server that stopped.
    pub async fn close_all(&self, within: Duration) {
        self.closing.store(true, Ordering::Relaxed);
        // Dropping the senders ends each session's command stream: its cue to close.
        self.lock().clear();
        let mut running = self.running.subscribe();
        if tokio::time::timeout(within, running.wait_for(|n| *n == 0))
            .await
            .is_err()
        {
            tracing::warn!(
                left = *running.borrow(),
                "hub sockets still closing at shutdown"
            );
        }
    }

    /// Sends a command and waits for the hub's ack (at most `ACK_DEADLINE`).
    pub async fn send(&self, hub_id: &str, command: HubCommand) -> Result<(), CommandError> {
        self.exchange(hub_id, command, ACK_DEADLINE, None).await
    }

    /// Sends a command and waits for its ack and the frame it carries (at most `deadline`).
    pub async fn request(
        &self,
        hub_id: &str,
        command: HubCommand,
        deadline: Duration,
    ) -> Result<Option<CameraFrame>, CommandError> {
        let (frame, picture) = oneshot::channel();
        self.exchange(hub_id, command, deadline, Some(frame))
            .await?;
        // The session hands the frame over before the ack, so it is there now if it came.
        Ok(picture.await.ok())
    }

    async fn exchange(
        &self,
        hub_id: &str,
        command: HubCommand,
        deadline: Duration,
        frame: Option<oneshot::Sender<CameraFrame>>,
    ) -> Result<(), CommandError> {
        let sender = self
            .lock()
            .get(hub_id)
            .map(|(_, tx)| tx.clone())
            .ok_or(CommandError::HubOffline)?;
        let (ack, answer) = oneshot::channel();
        sender
            .send(Outgoing {
                command,
                ack,
                frame,
            })
            .await
            .map_err(|_| CommandError::HubOffline)?;
        match tokio::time::timeout(deadline, answer).await {
            Err(_) => Err(CommandError::Timeout),
            Ok(Err(_)) => Err(CommandError::HubOffline),
            Ok(Ok(result)) => result.map_err(CommandError::Refused),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pause() -> HubCommand {
        HubCommand::PrinterCommand {
            printer_id: "01P00A123456789".into(),
            action: PrinterAction::Pause,
        }
    }

    #[test]
    fn an_older_socket_closing_does_not_detach_the_newer_one() {
        let link = HubLink::default();
        let old = link.attach_session("hub-1");
        let new = link.attach_session("hub-1");
        link.detach("hub-1", old.generation);
        assert!(link.is_connected("hub-1"));
        link.detach("hub-1", new.generation);
        assert!(!link.is_connected("hub-1"));
    }

    #[tokio::test]
    async fn a_command_to_a_hub_without_a_socket_fails_at_once() {
        let link = HubLink::default();
        assert_eq!(
            link.send("hub-1", pause()).await,
            Err(CommandError::HubOffline)
        );
        assert!(!link.is_connected("hub-1"));
    }

    #[tokio::test]
    async fn a_connected_hub_receives_the_command_and_its_ack_or_refusal_comes_back() {
        let link = std::sync::Arc::new(HubLink::default());
        let Attached {
            generation,
            commands: mut inbox,
        } = link.attach_session("hub-1");
        assert!(link.is_connected("hub-1"));
        let hub = tokio::spawn(async move {
            let first = inbox.recv().await.expect("a command");
            assert_eq!(first.command, pause());
            let _ = first.ack.send(Ok(()));
            let second = inbox.recv().await.expect("a command");
            let _ = second.ack.send(Err("developer mode is off".into()));
        });
        assert_eq!(link.send("hub-1", pause()).await, Ok(()));
        assert_eq!(
            link.send("hub-1", pause()).await,
            Err(CommandError::Refused("developer mode is off".into()))
        );
        hub.await.expect("hub task");
        link.detach("hub-1", generation);
        assert_eq!(
            link.send("hub-1", pause()).await,
            Err(CommandError::HubOffline)
        );
    }

    #[test]
    fn commands_serialise_as_the_hub_protocol_names_them() {
        let json = serde_json::to_value(pause()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "printer_command", "printer_id": "01P00A123456789", "action": "pause"})
        );
    }
}
