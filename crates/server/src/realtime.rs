//! Farm events for live clients: what happened in a farm, published once and fanned out
//! to whoever follows that farm (the dashboard socket, the hubs page, tests).
//!
//! Events travel per farm, behind the [`FarmEvents`] trait (in one process, a pair of
//! broadcast channels per farm; with several nodes, a bus plugs in behind the same calls).
//! Printer statuses and other events go on separate channels: a status is state (the newest
//! wins), so a listener that fell behind on statuses takes the newest of each printer again
//! instead of being told to resync; only the other events, which are few, can force one.

use axum::extract::ws::Utf8Bytes;
use domain::TenantId;
use proto::dashboard::ServerMessage;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

/// The read buffer of each hub and dashboard socket. The default (128 KiB) is allocated
/// for every socket and cleared on every read; their messages are a few KiB at most
/// (larger ones still arrive whole), and 5,000 hub sockets held 840 MiB with the default.
pub const SOCKET_READ_BUFFER: usize = 8 * 1024;

/// Events other than statuses a slow listener may fall behind by before it must resync.
const EVENT_BACKLOG: usize = 1024;
/// Statuses a slow listener may fall behind by before it takes a fresh snapshot.
const STATUS_BACKLOG: usize = 4096;

/// One event of one farm, serialised once: a farm with a thousand dashboards still builds
/// each message one time, and every listener shares the copy (`Arc`).
#[derive(Debug)]
pub struct FarmEvent {
    /// The farm it belongs to.
    pub tenant: TenantId,
    /// The message.
    pub message: ServerMessage,
    /// The message as text, as it goes out on the socket.
    pub text: Utf8Bytes,
}

impl FarmEvent {
    /// The event of `message` in `tenant`.
    pub fn new(tenant: TenantId, message: ServerMessage) -> FarmEvent {
        let text = serde_json::to_string(&message).unwrap_or_default().into();
        FarmEvent {
            tenant,
            message,
            text,
        }
    }

    /// The printer it is about, if any.
    pub fn printer_id(&self) -> Option<&str> {
        self.message.printer_id()
    }

    /// Whether it is a printer status (state: the newest wins).
    pub fn is_status(&self) -> bool {
        matches!(self.message, ServerMessage::PrinterStatus(_))
    }
}

/// A listener of one farm: its statuses and its other events.
pub struct FarmSubscription {
    /// Printer statuses (on lag: take the newest of each printer again).
    pub statuses: broadcast::Receiver<Arc<FarmEvent>>,
    /// Every other event (on lag: resync).
    pub events: broadcast::Receiver<Arc<FarmEvent>>,
}

/// Publishing and following a farm's events: in one process, channels; with several
/// nodes, a message bus (each node forwards to its own listeners).
pub trait FarmEvents: Send + Sync + 'static {
    /// Delivers `message` to the farm's listeners, serialised once for all of them (and not
    /// at all when nobody listens).
    fn publish(&self, tenant: &TenantId, message: ServerMessage);
    /// Whether anyone follows the farm.
    fn has_listeners(&self, tenant: &TenantId) -> bool;
    /// Follows the farm's events published from now on.
    fn subscribe(&self, tenant: &TenantId) -> FarmSubscription;
}

/// The channels of one farm.
struct FarmChannel {
    statuses: broadcast::Sender<Arc<FarmEvent>>,
    events: broadcast::Sender<Arc<FarmEvent>>,
}

impl FarmChannel {
    fn listeners(&self) -> usize {
        self.statuses.receiver_count() + self.events.receiver_count()
    }
}

/// [`FarmEvents`] within one process: a pair of broadcast channels per followed farm.
#[derive(Default)]
pub struct LocalFarmEvents {
    farms: Mutex<HashMap<TenantId, FarmChannel>>,
}

impl LocalFarmEvents {
    fn farms(&self) -> MutexGuard<'_, HashMap<TenantId, FarmChannel>> {
        self.farms.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl FarmEvents for LocalFarmEvents {
    fn publish(&self, tenant: &TenantId, message: ServerMessage) {
        let is_status = matches!(message, ServerMessage::PrinterStatus(_));
        // One lock per event; the message is serialised after it is released.
        let sender = {
            let mut farms = self.farms();
            let Some(channel) = farms.get(tenant) else {
                return;
            };
            if channel.listeners() == 0 {
                // The last listener left: forget the farm's channels.
                farms.remove(tenant);
                return;
            }
            if is_status {
                channel.statuses.clone()
            } else {
                channel.events.clone()
            }
        };
        let _ = sender.send(Arc::new(FarmEvent::new(tenant.clone(), message)));
    }

    fn has_listeners(&self, tenant: &TenantId) -> bool {
        self.farms().get(tenant).is_some_and(|c| c.listeners() > 0)
    }

    fn subscribe(&self, tenant: &TenantId) -> FarmSubscription {
        let mut farms = self.farms();
        let channel = farms.entry(tenant.clone()).or_insert_with(|| FarmChannel {
            statuses: broadcast::channel(STATUS_BACKLOG).0,
            events: broadcast::channel(EVENT_BACKLOG).0,
        });
        FarmSubscription {
            statuses: channel.statuses.subscribe(),
            events: channel.events.subscribe(),
        }
    }
}

/// Farm events and the printers' newest live status, for the whole server.
pub struct Realtime {
    events: Box<dyn FarmEvents>,
    /// The newest status of each printer, per farm, for clients that just connected.
    statuses: Mutex<HashMap<TenantId, HashMap<String, proto::PrinterStatus>>>,
    /// Connected dashboards per farm.
    dashboards: Arc<Mutex<HashMap<TenantId, usize>>>,
    /// Cached answers to hot reads; every farm event makes the farm's stale.
    pub answers: crate::read_cache::ReadCache,
}

impl std::fmt::Debug for Realtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realtime").finish_non_exhaustive()
    }
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
        Realtime::new(Box::new(LocalFarmEvents::default()))
    }
}

impl Realtime {
    /// Live state over the given farm-event transport.
    pub fn new(events: Box<dyn FarmEvents>) -> Realtime {
        Realtime {
            events,
            statuses: Mutex::default(),
            dashboards: Arc::default(),
            answers: crate::read_cache::ReadCache::default(),
        }
    }

    fn statuses(&self) -> MutexGuard<'_, HashMap<TenantId, HashMap<String, proto::PrinterStatus>>> {
        self.statuses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes a message of the farm to its listeners; a printer status is also kept as
    /// the printer's newest.
    pub fn publish(&self, tenant: &TenantId, message: ServerMessage) {
        if let ServerMessage::PrinterStatus(status) = &message {
            // A status changes no cached answer (those are read from the database, which
            // the status writer changes, and it says so): no cache lock per report.
            let mut statuses = self.statuses();
            let kept = match statuses.get_mut(tenant) {
                Some(farm) => farm,
                None => statuses.entry(tenant.clone()).or_default(),
            };
            match kept.get_mut(&status.printer_id) {
                Some(newest) => newest.clone_from(status),
                None => {
                    kept.insert(status.printer_id.clone(), status.clone());
                }
            }
        } else {
            self.answers.farm_changed(tenant);
        }
        self.events.publish(tenant, message);
    }

    /// Keeps a printer's newest status and publishes it as `printer_status`.
    pub fn printer_status(&self, tenant: &TenantId, status: proto::PrinterStatus) {
        self.publish(tenant, ServerMessage::PrinterStatus(status));
    }

    /// The newest status of one printer of the farm, if it reported since the server started.
    pub fn printer(&self, tenant: &TenantId, printer_id: &str) -> Option<proto::PrinterStatus> {
        self.statuses()
            .get(tenant)
            .and_then(|farm| farm.get(printer_id))
            .cloned()
    }

    /// The newest status of each of the farm's printers, by printer id.
    pub fn printers_of(&self, tenant: &TenantId) -> HashMap<String, proto::PrinterStatus> {
        self.statuses().get(tenant).cloned().unwrap_or_default()
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

    /// Follows the farm's events published from now on.
    pub fn subscribe(&self, tenant: &TenantId) -> FarmSubscription {
        self.events.subscribe(tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn farm() -> TenantId {
        TenantId::from_stored(uuid::Uuid::new_v4().to_string())
    }

    fn status(printer: &str) -> ServerMessage {
        ServerMessage::PrinterStatus(proto::PrinterStatus {
            printer_id: printer.into(),
            status: "idle".into(),
            ..Default::default()
        })
    }

    #[test]
    fn a_listener_hears_only_its_own_farm() {
        let realtime = Realtime::default();
        let (a, b) = (farm(), farm());
        let mut of_a = realtime.subscribe(&a);
        realtime.printer_status(
            &b,
            proto::PrinterStatus {
                printer_id: "pb".into(),
                ..Default::default()
            },
        );
        realtime.publish(&a, status("pa"));
        realtime.publish(
            &a,
            ServerMessage::HubStatus {
                hub_id: "h".into(),
                is_online: true,
            },
        );
        let heard = of_a.statuses.try_recv().unwrap();
        assert_eq!(heard.printer_id(), Some("pa"));
        assert!(of_a.statuses.try_recv().is_err(), "nothing of farm b");
        assert!(matches!(
            of_a.events.try_recv().unwrap().message,
            ServerMessage::HubStatus { .. }
        ));
        assert_eq!(realtime.printers_of(&a).len(), 1);
        assert_eq!(
            realtime.printer(&b, "pb").map(|s| s.printer_id),
            Some("pb".into())
        );
        assert!(realtime.printer(&a, "pb").is_none());
    }

    #[test]
    fn a_burst_of_statuses_never_pushes_out_the_other_events() {
        let realtime = Realtime::default();
        let farm = farm();
        let mut listener = realtime.subscribe(&farm);
        realtime.publish(
            &farm,
            ServerMessage::HubStatus {
                hub_id: "h".into(),
                is_online: false,
            },
        );
        for n in 0..(STATUS_BACKLOG * 2) {
            realtime.publish(&farm, status(&format!("p{}", n % 50)));
        }
        // The statuses lagged (the listener takes a snapshot), the hub event is still there.
        assert!(matches!(
            listener.statuses.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
        assert!(listener.events.try_recv().is_ok());
        assert_eq!(realtime.printers_of(&farm).len(), 50);
    }

    #[test]
    fn a_farm_nobody_follows_keeps_no_channel() {
        let events = LocalFarmEvents::default();
        let farm = farm();
        let listener = events.subscribe(&farm);
        assert!(events.has_listeners(&farm));
        drop(listener);
        assert!(!events.has_listeners(&farm));
        events.publish(&farm, status("p"));
        assert!(events.farms().is_empty());
    }
}
