//! Hubs: the LAN agents that talk to printers. This module holds the command link
//! through which printer, job and hub routes reach a connected hub.

pub mod link;
pub mod routes;

pub use link::{CommandError, HubCommand, HubLink, PrinterAction};
