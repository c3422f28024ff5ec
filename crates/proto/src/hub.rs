//! The hub socket, `/ws/hub/{hub_id}`.
//!
//! The hub connects, then proves it knows its secret with [`HubToServer::HubHello`]: an
//! HMAC-SHA256 over `hub_id:timestamp:nonce` ([`hello_signature`]). The server answers
//! [`ServerToHub::HubWelcome`] and a `configure_printer` for each printer the hub manages.
//! Every command carries a `command_id` and an `expires_at`; the hub answers each with
//! [`HubToServer::CommandAck`] and refuses a command that has expired or that it already ran.
//!
//! The HMAC key is SHA-256 of the hub secret ([`hello_key`]). The server keeps neither the
//! secret nor the key in the clear: the key is sealed with the server's encryption key
//! (`store::hubs`), so a copy of the database is no hub credential.

use crate::status::PrinterStatus;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A hub must say hello within this many seconds of connecting (close code 4001).
pub const HELLO_DEADLINE_SECS: u64 = 10;
/// A hub silent for this long is offline (close code 4002).
pub const SILENCE_LIMIT_SECS: u64 = 60;
/// How often a hub sends a heartbeat when it has nothing else to say.
pub const HEARTBEAT_SECS: u64 = 20;
/// A hello's timestamp may differ from the server's clock by at most this much.
pub const HELLO_WINDOW_SECS: i64 = 300;

/// Close codes of the hub socket.
pub mod close {
    /// No `hub_hello` in time, or a bad one.
    pub const NO_HELLO: u16 = 4001;
    /// Silent for too long.
    pub const SILENT: u16 = 4002;
    /// The hello names another hub than the URL.
    pub const WRONG_HUB: u16 = 4003;
    /// The signature, timestamp or nonce was refused.
    pub const BAD_SIGNATURE: u16 = 4004;
    /// A newer socket from the same hub replaced this one.
    pub const REPLACED: u16 = 4005;
    /// The server asked the hub to disconnect.
    pub const DISCONNECT: u16 = 4006;
    /// The server is shutting down (WebSocket's "going away"): reconnect, to it or another.
    pub const GOING_AWAY: u16 = 1001;
}

/// The HMAC key for a hub secret: SHA-256 of the secret (the server's stored hash, hex-decoded).
pub fn hello_key(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The hello signature: hex HMAC-SHA256 over `hub_id:timestamp:nonce`.
pub fn hello_signature(key: &[u8], hub_id: &str, timestamp: i64, nonce: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{hub_id}:{timestamp}:{nonce}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a hello signature in constant time.
pub fn verify_hello(
    key: &[u8],
    hub_id: &str,
    timestamp: i64,
    nonce: &str,
    signature: &str,
) -> bool {
    let Ok(given) = hex::decode(signature) else {
        return false;
    };
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{hub_id}:{timestamp}:{nonce}").as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// Stage of a file on its way to a printer (the domain's own).
pub use domain::jobs::FileStage;

/// A printer found on the LAN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveredPrinter {
    pub serial_number: String,
    pub ip_address: String,
    /// The model name ("P1S") or code when unknown.
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What a hub sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Messages live briefly and move once; boxing the status would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HubToServer {
    /// First message: who the hub is, and proof that it knows its secret.
    HubHello {
        hub_id: String,
        firmware_version: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hardware_version: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mac_address: Option<String>,
        /// Unix seconds.
        timestamp: i64,
        /// Random, never reused.
        nonce: String,
        /// [`hello_signature`].
        signature: String,
    },
    /// A printer's status (merged from its reports).
    PrinterStatus(PrinterStatus),
    /// A print file's way to a printer.
    FileProgress {
        /// The printer's serial.
        printer_id: String,
        job_id: String,
        stage: FileStage,
        progress_percentage: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The answer to a command.
    CommandAck {
        command_id: String,
        success: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// The picture a `camera_snapshot` asked for (absent for every other command).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        frame: Option<CameraFrame>,
    },
    /// Printers heard announcing themselves.
    PrinterDiscovered { printers: Vec<DiscoveredPrinter> },
    /// Nothing else to say; the hub is alive.
    Heartbeat,
}

/// The largest camera frame a hub sends (bytes, before base64): a P1/A1 frame is
/// 1280×720, about 100–200 KiB; the cap keeps one ack from crowding the socket.
pub const MAX_CAMERA_FRAME_BYTES: usize = 2 * 1024 * 1024;

/// One picture from a printer's camera, in a command ack.
///
/// The hub socket carries JSON text messages, each command answered by one ack; the
/// frame rides in that ack as base64 (a third larger, ~200 KiB for a real frame) so it
/// needs no second channel, no binary framing and no correlation of its own, and an
/// outage buffer keeps it in order with everything else. Frames are asked for one at a
/// time, on demand, so the overhead is paid only while someone looks.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CameraFrame {
    /// `image/jpeg`.
    pub content_type: String,
    /// The image, standard base64.
    pub data: String,
}

impl std::fmt::Debug for CameraFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The picture itself is noise in a log line.
        f.debug_struct("CameraFrame")
            .field("content_type", &self.content_type)
            .field("base64_len", &self.data.len())
            .finish()
    }
}

/// What a printer is told to do (`printer_command.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterAction {
    Pause,
    Resume,
    Stop,
    /// The bed was cleared (the hub may tell the printer, if it can).
    ClearBed,
    LightOn,
    LightOff,
}

/// add, remove or update a printer on the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigureAction {
    Add,
    Remove,
    Update,
}

/// A printer as the hub needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrinterConfig {
    /// The printer's id in the farm.
    pub id: String,
    pub serial_number: String,
    /// Present when adding or updating; the hub keeps it, the server never logs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    pub connection_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// A command for a hub, before it gets its id and deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HubCommand {
    /// Start (add), change (update) or stop (remove) managing a printer.
    ConfigurePrinter {
        action: ConfigureAction,
        printer: PrinterConfig,
    },
    /// Download a file and print one of its plates.
    PrintCommand {
        /// The printer's serial number.
        printer_id: String,
        job_id: String,
        /// A signed download link.
        file_url: String,
        file_name: String,
        /// The plate to print (`Metadata/plate_<N>.gcode`).
        plate_index: i64,
        /// The filament slot that holds the job's filament (AMS unit × 4 + tray, or 254 for
        /// the external spool); absent when the server does not know the slots.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ams_slot: Option<u32>,
    },
    /// Act on a printer.
    PrinterCommand {
        /// The printer's serial number.
        printer_id: String,
        action: PrinterAction,
    },
    /// Take one picture from the printer's camera and send it back in the ack.
    CameraSnapshot {
        /// The printer's serial number.
        printer_id: String,
    },
    /// Listen for printers announcing themselves.
    DiscoverPrinters,
    /// Act on the hub itself: `disconnect` or `gpio_set`.
    HubCommand {
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gpio_pin: Option<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gpio_state: Option<bool>,
    },
}

/// A command as sent: the command with its id and deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub command_id: String,
    /// Unix seconds after which the hub must refuse it (a stale command after an outage).
    pub expires_at: i64,
    #[serde(flatten)]
    pub command: HubCommand,
}

/// What the server sends that is not a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerNotice {
    /// The hello was accepted.
    HubWelcome {
        hub_id: String,
        hub_name: Option<String>,
        tenant_id: String,
        /// Unix seconds.
        server_time: i64,
    },
    /// The hub's settings changed.
    HubConfig { hub_name: Option<String> },
    /// Something the hub sent was refused.
    Error { code: String, message: String },
}

/// Anything the server sends to a hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ServerToHub {
    /// A command to run and acknowledge.
    Command(Command),
    /// Anything else.
    Notice(ServerNotice),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_hello_signed_with_the_secret_verifies_and_nothing_else_does() {
        let key = hello_key("hub_secret");
        let signature = hello_signature(&key, "hub-1", 1_700_000_000, "n1");
        assert!(verify_hello(&key, "hub-1", 1_700_000_000, "n1", &signature));
        assert!(!verify_hello(
            &key,
            "hub-2",
            1_700_000_000,
            "n1",
            &signature
        ));
        assert!(!verify_hello(
            &key,
            "hub-1",
            1_700_000_001,
            "n1",
            &signature
        ));
        assert!(!verify_hello(
            &key,
            "hub-1",
            1_700_000_000,
            "n2",
            &signature
        ));
        assert!(!verify_hello(
            &hello_key("other"),
            "hub-1",
            1_700_000_000,
            "n1",
            &signature
        ));
        assert!(!verify_hello(&key, "hub-1", 1_700_000_000, "n1", "not hex"));
        // The key is SHA-256 of the secret: the server keeps it (sealed), never the secret.
        assert_eq!(hex::encode(key), hex::encode(Sha256::digest(b"hub_secret")));
    }

    #[test]
    fn commands_go_out_flat_with_their_id_and_deadline() {
        let command = ServerToHub::Command(Command {
            command_id: "c1".into(),
            expires_at: 1_700_000_030,
            command: HubCommand::PrinterCommand {
                printer_id: "01P00A123456789".into(),
                action: PrinterAction::LightOn,
            },
        });
        let wire = serde_json::to_value(&command).unwrap();
        assert_eq!(
            wire,
            json!({ "type": "printer_command", "command_id": "c1", "expires_at": 1_700_000_030,
                    "printer_id": "01P00A123456789", "action": "light_on" })
        );
        let back: ServerToHub = serde_json::from_value(wire).unwrap();
        assert_eq!(back, command);
        let welcome: ServerToHub = serde_json::from_value(json!({
            "type": "hub_welcome", "hub_id": "h", "hub_name": null, "tenant_id": "t", "server_time": 1
        }))
        .unwrap();
        assert!(matches!(
            welcome,
            ServerToHub::Notice(ServerNotice::HubWelcome { .. })
        ));
    }

    #[test]
    fn hub_messages_read_as_the_original_wrote_them() {
        let status: HubToServer = serde_json::from_value(json!({
            "type": "printer_status", "printer_id": "01P00A123456789", "status": "printing",
            "progress_percentage": 42, "temperatures": { "nozzle": 220.0, "bed": 60.0 }, "extra": 1
        }))
        .unwrap();
        let HubToServer::PrinterStatus(status) = status else {
            panic!("not a status")
        };
        assert_eq!(status.progress_percentage, Some(42));
        assert_eq!(status.temperatures.unwrap().bed, Some(60.0));
        let ack: HubToServer = serde_json::from_value(
            json!({ "type": "command_ack", "command_id": "c1", "success": false, "error": "no" }),
        )
        .unwrap();
        assert_eq!(
            ack,
            HubToServer::CommandAck {
                command_id: "c1".into(),
                success: false,
                error: Some("no".into()),
                frame: None,
            }
        );
        let heartbeat = serde_json::to_value(HubToServer::Heartbeat).unwrap();
        assert_eq!(heartbeat, json!({ "type": "heartbeat" }));
    }
}
