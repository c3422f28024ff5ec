//! Farm events for live clients: what happened in a farm, published once and fanned out
//! to whoever listens (the dashboard socket, tests).

use domain::TenantId;
use serde_json::Value;
use tokio::sync::broadcast;

/// How many events a slow listener may fall behind before it misses some (and must resync).
const BACKLOG: usize = 1024;

/// One event of one farm: a dashboard message (`{"type": ..., ...}`).
#[derive(Debug, Clone)]
pub struct FarmEvent {
    /// The farm it belongs to.
    pub tenant: TenantId,
    /// The message as clients receive it.
    pub message: Value,
}

/// The in-process publisher of farm events.
#[derive(Debug)]
pub struct Realtime {
    sender: broadcast::Sender<FarmEvent>,
}

impl Default for Realtime {
    fn default() -> Self {
        Realtime {
            sender: broadcast::channel(BACKLOG).0,
        }
    }
}

impl Realtime {
    /// Publishes to every listener; nobody listening is fine.
    pub fn publish(&self, tenant: &TenantId, message: Value) {
        let _ = self.sender.send(FarmEvent {
            tenant: tenant.clone(),
            message,
        });
    }

    /// A new listener, receiving events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<FarmEvent> {
        self.sender.subscribe()
    }
}
