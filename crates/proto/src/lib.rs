//! Wire messages of PrintFarm's two sockets, shared by the server, the hub agent and tests.
//!
//! - [`hub`]: `/ws/hub/{hub_id}`, between the server and a hub on a farm's LAN.
//! - [`dashboard`]: `/ws/dashboard`, from the server to browsers.
//!
//! Every message is a JSON object with a `type` field, as the original system sent them;
//! field names are the original's. Unknown fields are ignored, so either side may add
//! fields without breaking the other.

pub mod dashboard;
pub mod hub;
pub mod status;
pub mod webhook;

pub use status::{PrinterStatus, Temperatures};
