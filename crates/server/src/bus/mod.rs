//! Several server nodes on one NATS: the implementations of the seams that the single
//! machine keeps in process (ARCHITECTURE.md, "Several machines").
//!
//! - [`hub_commands::NatsHubCommands`]: a command for a hub whose socket another node holds
//!   is a request on `hub.<id>.cmd`; the node holding the socket answers with the ack.
//! - [`farm_events::relay`]: farm events (`farm.<id>.events`) and stale cached answers reach
//!   every node's dashboards and caches.
//!
//! Work that must happen once (queue messages, dispatch) needs no bus: nodes claim it in
//! the shared database (`FOR UPDATE SKIP LOCKED`, compare-and-set starts).
//!
//! The bus is chosen by the `bus` setting (`nats://host:4222`); without it everything stays
//! in process, as on one machine.

pub mod farm_events;
pub mod hub_commands;

pub use hub_commands::NatsHubCommands;

use std::time::Instant;

/// This node's connection to the bus, for `/health/detailed`.
#[derive(Debug, Clone)]
pub struct Bus {
    client: async_nats::Client,
    url: String,
}

impl Bus {
    /// The bus at `url`, reached through `client`.
    pub fn new(client: async_nats::Client, url: &str) -> Bus {
        Bus {
            client,
            url: url.to_string(),
        }
    }

    /// The client, for the parts that talk on the bus.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The server's address with its password hidden.
    pub fn address(&self) -> String {
        crate::settings::redact_url(&self.url)
    }

    /// A round trip to the NATS server, in milliseconds.
    pub async fn check(&self) -> Result<f64, BusError> {
        if self.client.connection_state() != async_nats::connection::State::Connected {
            return Err(BusError(format!("not connected to {}", self.address())));
        }
        let start = Instant::now();
        tokio::time::timeout(std::time::Duration::from_secs(2), self.client.flush())
            .await
            .map_err(|_| BusError("no answer within 2 s".into()))?
            .map_err(|e| BusError(e.to_string()))?;
        Ok(start.elapsed().as_secs_f64() * 1000.0)
    }
}

/// Why the bus could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("bus: {0}")]
pub struct BusError(pub String);

/// Connects to the NATS server of the `bus` setting (`nats://…`).
pub async fn connect(url: &str, node_id: &str) -> Result<async_nats::Client, BusError> {
    if !url.starts_with("nats://") && !url.starts_with("tls://") {
        return Err(BusError(format!(
            "'{url}' is not a NATS URL (nats://host:4222)"
        )));
    }
    async_nats::ConnectOptions::new()
        .name(format!("printfarm {node_id}"))
        // A node keeps serving its own hubs and dashboards while the bus is away.
        .retry_on_initial_connect()
        .connect(url)
        .await
        .map_err(|e| BusError(format!("{url}: {e}")))
}
