//! The dashboard socket, `/ws/dashboard`.
//!
//! The browser sends [`ClientMessage::Auth`] with its session token within 30 s, then
//! [`ClientMessage::Subscribe`]. The server sends the farm's live events; a client that
//! falls behind gets [`ServerMessage::Resync`] and is closed, and reloads what it shows.

use crate::status::PrinterStatus;
use serde::{Deserialize, Serialize};

/// A browser must authenticate within this many seconds.
pub const AUTH_DEADLINE_SECS: u64 = 30;

/// What a browser sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The session token (from get-session) and, optionally, the farm.
    Auth {
        token: String,
        #[serde(default, alias = "tenantId", skip_serializing_if = "Option::is_none")]
        tenant_id: Option<String>,
    },
    /// Printers to follow (empty: all of the farm) and printers to stop following. A
    /// printer is named by the farm's number (as the original's client does) or its id.
    Subscribe {
        #[serde(default)]
        printers: Vec<String>,
        #[serde(default)]
        unsubscribe: Unsubscribe,
    },
    /// Keep-alive.
    Ping,
}

/// What a subscribe stops following: printers named beside `printers`, or, as the
/// original's client sends it, `true` for "the printers listed in `printers`".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Unsubscribe {
    /// `true`: stop following the printers in `printers` (instead of following them).
    Listed(bool),
    /// These printers.
    Printers(Vec<String>),
}

impl Default for Unsubscribe {
    fn default() -> Self {
        Unsubscribe::Printers(Vec::new())
    }
}

/// What the server sends to a browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Messages live briefly and move once; boxing the status would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    AuthSuccess {
        tenant_id: String,
    },
    /// Authentication failed: `error` is what the original's client reads, `message` the same.
    AuthError {
        error: String,
        message: String,
    },
    /// A printer's status; `printer_id` is the farm's printer number (as text, as the
    /// original sent it), `printer_uuid` the printer's id.
    PrinterStatus(PrinterStatus),
    JobUpdate {
        job_id: String,
        status: domain::jobs::JobStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        progress_percentage: Option<i64>,
        /// The farm's printer number, as text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        printer_id: Option<String>,
        /// The printer's id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        printer_uuid: Option<String>,
        /// The file's transfer to the printer, in percent (while it is sent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_progress: Option<i64>,
    },
    HubStatus {
        hub_id: String,
        is_online: bool,
    },
    /// A printer's record changed (bed cleared, maintenance, edits, order; the printer is
    /// absent when several changed): an addition to the original's messages. `printer_id`
    /// is the farm's number as text, `printer_uuid` the printer's id, as in statuses.
    PrinterUpdated {
        printer_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        printer_uuid: Option<String>,
        change: String,
    },
    /// The farm's settings changed (an addition to the original's messages).
    FarmUpdated {
        company_name: String,
        auto_dispatch: bool,
    },
    /// What a hub found when asked to look for printers.
    PrinterDiscovered {
        hub_id: String,
        printers: Vec<crate::hub::DiscoveredPrinter>,
    },
    InventoryAlert {
        sku_id: String,
        sku: String,
        current_stock: i64,
        threshold: i64,
    },
    /// A material (filament, packaging, component, part) fell to its low threshold: an
    /// addition to the original's messages, sent once per fall like `inventory_alert`.
    MaterialAlert {
        /// filament, packaging, component or part.
        material_kind: String,
        material_id: String,
        /// Its name, or colour and type for filament.
        name: String,
        /// Grams (filament) or units left.
        remaining: f64,
        threshold: f64,
        /// `g` or `units`.
        unit: String,
    },
    NewOrder {
        order_id: String,
        order_number: String,
        platform: String,
        total_items: i64,
    },
    /// A worklist task appeared or moved: the floor's lists refresh it.
    TaskUpdated {
        task_id: String,
        task_type: String,
        status: String,
        priority: String,
        title: String,
        /// The printer it is about, by id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        printer_id: Option<String>,
    },
    /// The client fell behind and missed messages: reload, then reconnect.
    Resync {
        reason: String,
    },
    /// A message the server could not take.
    Error {
        code: String,
        message: String,
        /// When, RFC 3339.
        timestamp: String,
    },
    Pong,
}

impl ServerMessage {
    /// An authentication failure saying `text`.
    pub fn auth_error(text: impl Into<String>) -> ServerMessage {
        let message = text.into();
        ServerMessage::AuthError {
            error: message.clone(),
            message,
        }
    }

    /// The id of the printer the message is about, for per-printer coalescing (its
    /// `printer_uuid`; `printer_id` where a message carries only that).
    pub fn printer_id(&self) -> Option<&str> {
        match self {
            ServerMessage::PrinterStatus(status) => {
                Some(status.printer_uuid.as_deref().unwrap_or(&status.printer_id))
            }
            ServerMessage::JobUpdate {
                printer_id,
                printer_uuid,
                ..
            }
            | ServerMessage::PrinterUpdated {
                printer_id,
                printer_uuid,
                ..
            } => printer_uuid.as_deref().or(printer_id.as_deref()),
            _ => None,
        }
    }

    /// The farm's number of the printer the message is about, as text, when it carries one.
    pub fn printer_number(&self) -> Option<&str> {
        match self {
            ServerMessage::PrinterStatus(status) if status.printer_uuid.is_some() => {
                Some(&status.printer_id)
            }
            ServerMessage::JobUpdate {
                printer_id,
                printer_uuid: Some(_),
                ..
            }
            | ServerMessage::PrinterUpdated {
                printer_id,
                printer_uuid: Some(_),
                ..
            } => printer_id.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_browser_messages_of_the_original_client_parse() {
        let auth: ClientMessage =
            serde_json::from_value(json!({ "type": "auth", "token": "t" })).unwrap();
        assert_eq!(
            auth,
            ClientMessage::Auth {
                token: "t".into(),
                tenant_id: None
            }
        );
        let all: ClientMessage =
            serde_json::from_value(json!({ "type": "subscribe", "printers": [] })).unwrap();
        assert_eq!(
            all,
            ClientMessage::Subscribe {
                printers: vec![],
                unsubscribe: Unsubscribe::default()
            }
        );
        let leave: ClientMessage = serde_json::from_value(
            json!({ "type": "subscribe", "printers": ["3"], "unsubscribe": true }),
        )
        .unwrap();
        assert_eq!(
            leave,
            ClientMessage::Subscribe {
                printers: vec!["3".into()],
                unsubscribe: Unsubscribe::Listed(true)
            }
        );
    }

    #[test]
    fn server_messages_are_flat_with_their_type() {
        let alert = ServerMessage::InventoryAlert {
            sku_id: "s".into(),
            sku: "KEY".into(),
            current_stock: 2,
            threshold: 5,
        };
        assert_eq!(
            serde_json::to_value(alert).unwrap(),
            json!({ "type": "inventory_alert", "sku_id": "s", "sku": "KEY", "current_stock": 2, "threshold": 5 })
        );
        let status = ServerMessage::PrinterStatus(PrinterStatus {
            printer_id: "p".into(),
            status: domain::printers::PrinterStatus::Idle,
            ..Default::default()
        });
        assert_eq!(
            serde_json::to_value(status).unwrap(),
            json!({ "type": "printer_status", "printer_id": "p", "status": "idle" })
        );
    }
}
