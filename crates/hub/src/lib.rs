//! The hub agent: runs on a farm's LAN, dials out to the PrintFarm server over a
//! WebSocket, and drives Bambu Lab printers over MQTT/TLS and FTPS.
//!
//! - [`Agent::run`]: the whole agent until a shutdown signal.
//! - [`Config`]: the settings file (server, identity, data directory, overrides).
//! - Inside: the server link (`link`), one task per printer (`printer`), print
//!   starts (`job`), discovery, the outage buffer (`outbox`) and the pin store (`store`).

#![warn(missing_docs)]

mod agent;
mod backoff;
pub mod config;
mod discovery;
mod job;
mod link;
pub mod outbox;
mod printer;
pub mod status;
pub mod store;

use std::path::Path;

pub use agent::{Agent, HubError};
pub use config::{Config, ConfigError, PrinterOverride};

/// Loads the settings file at `path` and runs the agent until Ctrl-C
/// (for `printfarm hub --config hub.toml`).
pub async fn run_from_file(path: impl AsRef<Path>) -> Result<(), HubError> {
    let config = Config::load(path)?;
    Agent::run(config, async {
        // Without a signal handler, run until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
    .await
}
