//! Hubs: the LAN agents that talk to printers. This module holds the command link
//! through which printer, job and hub routes reach a connected hub.

pub mod link;
pub mod routes;
pub mod socket;

pub use link::{CommandError, HubCommand, HubLink, PrinterAction};

use crate::error::ApiError;

/// The answer to a command that did not run: 409 `HUB_OFFLINE` (with `offline`, which
/// names the hub or printer), 503 on a missed ack, 409 `COMMAND_REFUSED` with the hub's reason.
pub fn command_failed(err: CommandError, offline: String) -> ApiError {
    match err {
        CommandError::HubOffline => ApiError::Conflict {
            code: "HUB_OFFLINE",
            field: None,
            message: offline,
        },
        CommandError::Timeout => ApiError::Unavailable(err.to_string()),
        CommandError::Refused(reason) => ApiError::Conflict {
            code: "COMMAND_REFUSED",
            field: None,
            message: reason,
        },
    }
}
