//! Hubs: the LAN agents that talk to printers. This module holds the command link
//! through which printer, job and hub routes reach a connected hub.

pub mod discoveries;
pub mod link;
pub mod routes;
pub mod socket;

pub use link::{CommandError, HubCommand, HubCommands, HubLink, PrinterAction};
