//! The hub command link: routes send a command to a hub and wait for its ack.
//!
//! In one process this is a map from hub id to the task that owns the hub's socket
//! (the hub socket registers itself when a hub connects). With several server
//! processes the same interface becomes a request on the hub's NATS subject; routes
//! don't change.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a hub has to acknowledge a command.
pub const ACK_DEADLINE: Duration = Duration::from_secs(30);

/// What a printer is told to do (the hub protocol's `printer_command.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterAction {
    /// Pause the print.
    Pause,
    /// Resume a paused print.
    Resume,
    /// Stop (cancel) the print.
    Stop,
    /// Mark the bed cleared on the printer side.
    ClearBed,
    /// Chamber light on.
    LightOn,
    /// Chamber light off.
    LightOff,
}

/// A command for a hub, as it goes over the hub socket.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HubCommand {
    /// Start (add) or stop (remove) managing a printer.
    ConfigurePrinter {
        /// add, remove or update.
        action: &'static str,
        /// The printer's id, serial, address and connection type (and access code when adding).
        printer: serde_json::Value,
    },
    /// Download a file and start printing one of its plates.
    PrintCommand {
        /// The printer's serial number.
        printer_id: String,
        /// The job, for progress reports.
        job_id: String,
        /// A signed download link (1 hour).
        file_url: String,
        /// The file's name on the printer.
        file_name: String,
        /// The plate to print (`Metadata/plate_<N>.gcode`).
        plate_index: i64,
    },
    /// Look for printers announcing themselves on the LAN.
    DiscoverPrinters,
    /// Act on the hub itself.
    HubCommand {
        /// `disconnect` or `gpio_set`.
        action: &'static str,
        /// The pin, for `gpio_set`.
        #[serde(skip_serializing_if = "Option::is_none")]
        gpio_pin: Option<u8>,
        /// The level, for `gpio_set`.
        #[serde(skip_serializing_if = "Option::is_none")]
        gpio_state: Option<bool>,
    },
    /// Act on a printer.
    PrinterCommand {
        /// The printer's serial number.
        printer_id: String,
        /// What to do.
        action: PrinterAction,
    },
}

/// Why a command did not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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

/// A command on its way to a hub's socket task, with where to send the ack.
#[derive(Debug)]
pub struct Outgoing {
    /// The command.
    pub command: HubCommand,
    /// Receives `Ok(())` or the hub's reason for refusing.
    pub ack: oneshot::Sender<Result<(), String>>,
}

/// Routes commands to connected hubs.
#[derive(Debug, Default)]
pub struct HubLink {
    sessions: Mutex<HashMap<String, mpsc::Sender<Outgoing>>>,
}

impl HubLink {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::Sender<Outgoing>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers the socket task of a hub that connected; a newer socket replaces an older one.
    pub fn attach(&self, hub_id: &str) -> mpsc::Receiver<Outgoing> {
        let (tx, rx) = mpsc::channel(64);
        self.lock().insert(hub_id.to_string(), tx);
        rx
    }

    /// Forgets a hub whose socket closed.
    pub fn detach(&self, hub_id: &str) {
        self.lock().remove(hub_id);
    }

    /// Whether a socket from the hub is open.
    pub fn is_connected(&self, hub_id: &str) -> bool {
        self.lock().get(hub_id).is_some_and(|tx| !tx.is_closed())
    }

    /// Sends a command and waits for the hub's ack (at most `ACK_DEADLINE`).
    pub async fn send(&self, hub_id: &str, command: HubCommand) -> Result<(), CommandError> {
        let sender = self
            .lock()
            .get(hub_id)
            .cloned()
            .ok_or(CommandError::HubOffline)?;
        let (ack, answer) = oneshot::channel();
        sender
            .send(Outgoing { command, ack })
            .await
            .map_err(|_| CommandError::HubOffline)?;
        match tokio::time::timeout(ACK_DEADLINE, answer).await {
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
        let mut inbox = link.attach("hub-1");
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
        link.detach("hub-1");
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
