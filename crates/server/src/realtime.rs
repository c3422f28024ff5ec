//! Farm events for live clients: what happened in a farm, published once and fanned out
//! to whoever listens (the dashboard socket, tests).

use axum::extract::ws::Utf8Bytes;
use domain::TenantId;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// The read buffer of each hub and dashboard socket. The default (128 KiB) is allocated
/// for every socket and cleared on every read; their messages are a few KiB at most
/// (larger ones still arrive whole), and 5,000 hub sockets held 840 MiB with the default.
pub const SOCKET_READ_BUFFER: usize = 8 * 1024;

/// How many events a slow listener may fall behind before it misses some (and must resync).
const BACKLOG: usize = 1024;

/// One event of one farm: a dashboard message (`{"type": ..., ...}`). Listeners share one
/// copy (`Arc`), serialised once: a farm with a thousand dashboards still builds each
/// message one time.
#[derive(Debug)]
pub struct FarmEvent {
    /// The farm it belongs to.
    pub tenant: TenantId,
    /// The message's `type`.
    pub kind: String,
    /// The printer it is about, if any (for subscriptions and per-printer coalescing).
    pub printer_id: Option<String>,
    /// The message as clients receive it.
    pub message: Value,
    /// The message as text, as it goes out on the socket.
    pub text: Utf8Bytes,
}

/// The in-process publisher of farm events, and the printers' latest live status.
#[derive(Debug)]
pub struct Realtime {
    sender: broadcast::Sender<Arc<FarmEvent>>,
    /// The newest status of each printer (by its farm id), for clients that just connected.
    printers: Mutex<HashMap<String, (TenantId, proto::PrinterStatus)>>,
    /// Connected dashboards per farm.
    dashboards: Arc<Mutex<HashMap<TenantId, usize>>>,
    /// Cached answers to hot reads; every farm event makes the farm's stale.
    pub answers: crate::read_cache::ReadCache,
}

/// Counts a dashboard as connected until dropped.
pub struct DashboardGuard {
    tenant: TenantId,
    dashboards: Arc<Mutex<HashMap<TenantId, usize>>>,
}

impl Drop for DashboardGuard {
    fn drop(&mut self) {
        let mut dashboards = self.dashboards.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = dashboards.get_mut(&self.tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                dashboards.remove(&self.tenant);
            }
        }
    }
}

impl Default for Realtime {
    fn default() -> Self {
        Realtime {
            sender: broadcast::channel(BACKLOG).0,
            printers: Mutex::default(),
            dashboards: Arc::default(),
            answers: crate::read_cache::ReadCache::default(),
        }
    }
}

impl Realtime {
    /// Publishes to every listener; nobody listening is fine.
    pub fn publish(&self, tenant: &TenantId, message: Value) {
        self.answers.farm_changed(tenant);
        if self.sender.receiver_count() == 0 {
            return;
        }
        let kind = message["type"].as_str().unwrap_or_default().to_string();
        let printer_id = message["printer_id"].as_str().map(str::to_string);
        let text = Utf8Bytes::from(message.to_string());
        let _ = self.sender.send(Arc::new(FarmEvent {
            tenant: tenant.clone(),
            kind,
            printer_id,
            message,
            text,
        }));
    }

    /// Keeps a printer's newest status and publishes it as `printer_status`.
    pub fn printer_status(&self, tenant: &TenantId, status: proto::PrinterStatus) {
        let message = serde_json::to_value(proto::dashboard::ServerMessage::PrinterStatus(
            status.clone(),
        ))
        .unwrap_or_default();
        self.printers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(status.printer_id.clone(), (tenant.clone(), status));
        self.publish(tenant, message);
    }

    /// The newest status of one printer of the farm, if it reported since the server started.
    pub fn printer(&self, tenant: &TenantId, printer_id: &str) -> Option<proto::PrinterStatus> {
        self.printers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(printer_id)
            .filter(|(t, _)| t == tenant)
            .map(|(_, s)| s.clone())
    }

    /// The newest status of each of the farm's printers.
    pub fn printers_of(&self, tenant: &TenantId) -> Vec<proto::PrinterStatus> {
        self.printers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|(t, _)| t == tenant)
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// Counts a dashboard of `tenant` as connected while the guard lives.
    pub fn dashboard_connected(&self, tenant: &TenantId) -> DashboardGuard {
        *self
            .dashboards
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(tenant.clone())
            .or_default() += 1;
        DashboardGuard {
            tenant: tenant.clone(),
            dashboards: self.dashboards.clone(),
        }
    }

    /// Connected dashboards: in all, and how many farms have one.
    pub fn dashboards(&self) -> (usize, usize) {
        let dashboards = self.dashboards.lock().unwrap_or_else(|p| p.into_inner());
        (dashboards.values().sum(), dashboards.len())
    }

    /// A new listener, receiving events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<FarmEvent>> {
        self.sender.subscribe()
    }
}
