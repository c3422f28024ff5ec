//! Farm events for live clients: what happened in a farm, published once and fanned out
//! to whoever follows that farm (the dashboard socket, the hubs page, tests).
//!
//! Events travel per farm, behind the [`FarmEvents`] trait (in one process, channels per
//! farm; with several nodes, a bus plugs in behind the same calls). Printer statuses and
//! other events go separately: a status is state (the newest wins), so a farm's statuses
//! are coalesced per printer and sent in batches, at most every few milliseconds (a
//! dashboard of 50,000 printers wakes 100 times a second, not 50,000), and a listener that
//! fell behind on them takes the newest of each printer again instead of being told to
//! resync; only the other events, which are few, can force one.

use axum::extract::ws::Utf8Bytes;
use domain::TenantId;
use proto::dashboard::ServerMessage;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use store::printers::Printer;
use tokio::sync::{Notify, broadcast};

/// The read buffer of each hub and dashboard socket. The default (128 KiB) is allocated
/// for every socket and cleared on every read; their messages are a few KiB at most
/// (larger ones still arrive whole), and 5,000 hub sockets held 840 MiB with the default.
pub const SOCKET_READ_BUFFER: usize = 8 * 1024;

/// Events other than statuses a slow listener may fall behind by before it must resync.
const EVENT_BACKLOG: usize = 1024;
/// Status batches a slow listener may fall behind by (at least five seconds of them)
/// before it takes a fresh snapshot.
const STATUS_BACKLOG: usize = 1024;

/// The farm's number of `printer` as text, as the dashboard socket names printers (the
/// original's client matches its cards on it); its id where it has no number yet.
pub fn printer_number(printer: &Printer) -> String {
    printer
        .printer_id
        .map_or_else(|| printer.id.clone(), |n| n.to_string())
}

/// A report as dashboards see it: `printer_id` the farm's number, `printer_uuid` the id.
pub fn shown_as(printer: &Printer, mut status: proto::PrinterStatus) -> proto::PrinterStatus {
    status.printer_id = printer_number(printer);
    status.printer_uuid = Some(printer.id.clone());
    status
}

/// One event of one farm, serialised once, when first needed: a farm with a thousand
/// dashboards still builds each message one time, and every listener shares the copy
/// (`Arc`); a status nobody reads is never serialised.
#[derive(Debug)]
pub struct FarmEvent {
    /// The farm it belongs to.
    pub tenant: TenantId,
    /// The message.
    pub message: ServerMessage,
    /// The printer it is about, shared by every listener that keys on it.
    printer: Option<Arc<str>>,
    /// The message as text, as it goes out on the socket.
    text: OnceLock<Utf8Bytes>,
}

impl FarmEvent {
    /// The event of `message` in `tenant`.
    pub fn new(tenant: TenantId, message: ServerMessage) -> FarmEvent {
        FarmEvent {
            printer: message.printer_id().map(Arc::from),
            tenant,
            message,
            text: OnceLock::new(),
        }
    }

    /// The printer it is about, if any.
    pub fn printer_id(&self) -> Option<&str> {
        self.printer.as_deref()
    }

    /// The printer it is about, as a shared key.
    pub fn printer_key(&self) -> Option<&Arc<str>> {
        self.printer.as_ref()
    }

    /// The farm's number of the printer it is about, as text, when it carries one.
    pub fn printer_number(&self) -> Option<&str> {
        self.message.printer_number()
    }

    /// Whether it is a printer status (state: the newest wins).
    pub fn is_status(&self) -> bool {
        matches!(self.message, ServerMessage::PrinterStatus(_))
    }

    /// The message as it goes out on a socket.
    pub fn text(&self) -> &Utf8Bytes {
        self.text.get_or_init(|| {
            serde_json::to_string(&self.message)
                .unwrap_or_default()
                .into()
        })
    }
}

/// The status an event carries, if it is one.
fn status_of(event: &FarmEvent) -> Option<&proto::PrinterStatus> {
    match &event.message {
        ServerMessage::PrinterStatus(status) => Some(status),
        _ => None,
    }
}

/// The newest status event of each printer, by the event's own printer id.
pub type Newest = HashMap<Arc<str>, Arc<FarmEvent>>;

/// Statuses of one farm sent together: the newest of each printer that reported since the
/// batch before (a dashboard wakes once per batch, not once per report).
pub type StatusBatch = Arc<[Arc<FarmEvent>]>;

/// A listener of one farm: its statuses and its other events.
pub struct FarmSubscription {
    /// Printer statuses, in batches (on lag: take the newest of each printer again).
    pub statuses: broadcast::Receiver<StatusBatch>,
    /// Every other event (on lag: resync).
    pub events: broadcast::Receiver<Arc<FarmEvent>>,
}

/// Publishing and following a farm's events: in one process, channels; with several
/// nodes, a message bus (each node forwards to its own listeners).
pub trait FarmEvents: Send + Sync + 'static {
    /// Delivers `event` to its farm's listeners (dropped when nobody listens).
    fn publish(&self, event: Arc<FarmEvent>);
    /// Follows the farm's events published from now on.
    fn subscribe(&self, tenant: &TenantId) -> FarmSubscription;
}

/// How long a farm's statuses gather before the next batch goes out; the first status
/// after a quiet spell goes at once. It bounds the wake-ups of each dashboard (at most
/// 100 a second, however many printers report) at a cost of at most this much latency.
const BATCH_EVERY: Duration = Duration::from_millis(10);
/// How often a farm's batcher with nothing to send checks that someone still listens.
const IDLE_CHECK: Duration = Duration::from_secs(10);

/// The statuses of one farm waiting for the next batch, newest per printer.
#[derive(Default)]
struct Batcher {
    pending: Mutex<Newest>,
    ready: Notify,
}

impl Batcher {
    fn put(&self, event: Arc<FarmEvent>) {
        let Some(printer) = event.printer_key().cloned() else {
            return;
        };
        let replaced = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(printer, event);
        drop(replaced);
        self.ready.notify_one();
    }

    fn take(&self) -> Vec<Arc<FarmEvent>> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.drain().map(|(_, event)| event).collect()
    }
}

/// The channels of one farm.
struct FarmChannel {
    statuses: broadcast::Sender<StatusBatch>,
    events: broadcast::Sender<Arc<FarmEvent>>,
    batcher: Arc<Batcher>,
}

impl FarmChannel {
    fn listeners(&self) -> usize {
        self.statuses.receiver_count() + self.events.receiver_count()
    }
}

type Farms = Arc<Mutex<HashMap<TenantId, FarmChannel>>>;

fn lock(farms: &Farms) -> MutexGuard<'_, HashMap<TenantId, FarmChannel>> {
    farms.lock().unwrap_or_else(|p| p.into_inner())
}

/// [`FarmEvents`] within one process: per followed farm, a broadcast channel of status
/// batches (filled by the farm's batcher task) and one of other events.
#[derive(Default)]
pub struct LocalFarmEvents {
    farms: Farms,
}

impl LocalFarmEvents {
    fn farms(&self) -> MutexGuard<'_, HashMap<TenantId, FarmChannel>> {
        lock(&self.farms)
    }
}

impl FarmEvents for LocalFarmEvents {
    fn publish(&self, event: Arc<FarmEvent>) {
        // One lock per event; the hand-over happens after it is released.
        enum To {
            Batcher(Arc<Batcher>),
            Events(broadcast::Sender<Arc<FarmEvent>>),
        }
        let to = {
            let mut farms = self.farms();
            let Some(channel) = farms.get(&event.tenant) else {
                return;
            };
            if channel.listeners() == 0 {
                // The last listener left: forget the farm's channels.
                farms.remove(&event.tenant);
                return;
            }
            if event.is_status() {
                To::Batcher(channel.batcher.clone())
            } else {
                To::Events(channel.events.clone())
            }
        };
        match to {
            To::Batcher(batcher) => batcher.put(event),
            To::Events(sender) => {
                let _ = sender.send(event);
            }
        }
    }

    /// Must be called within the server's runtime: a farm's first listener starts its batcher.
    fn subscribe(&self, tenant: &TenantId) -> FarmSubscription {
        let mut farms = self.farms();
        let channel = farms.entry(tenant.clone()).or_insert_with(|| {
            let channel = FarmChannel {
                statuses: broadcast::channel(STATUS_BACKLOG).0,
                events: broadcast::channel(EVENT_BACKLOG).0,
                batcher: Arc::default(),
            };
            tokio::spawn(send_batches(
                self.farms.clone(),
                tenant.clone(),
                channel.batcher.clone(),
                channel.statuses.clone(),
            ));
            channel
        });
        FarmSubscription {
            statuses: channel.statuses.subscribe(),
            events: channel.events.subscribe(),
        }
    }
}

/// Sends a farm's waiting statuses as one batch, at most every [`BATCH_EVERY`], until the
/// farm has no listener left (then forgets its channels, unless newer ones replaced them).
async fn send_batches(
    farms: Farms,
    tenant: TenantId,
    batcher: Arc<Batcher>,
    statuses: broadcast::Sender<StatusBatch>,
) {
    loop {
        let _ = tokio::time::timeout(IDLE_CHECK, batcher.ready.notified()).await;
        if statuses.receiver_count() == 0 {
            let mut farms = lock(&farms);
            // Checked again under the lock: a listener may have just subscribed.
            if statuses.receiver_count() == 0 {
                if farms
                    .get(&tenant)
                    .is_some_and(|c| Arc::ptr_eq(&c.batcher, &batcher))
                {
                    farms.remove(&tenant);
                }
                return;
            }
        }
        let batch = batcher.take();
        if !batch.is_empty() {
            let _ = statuses.send(batch.into());
            tokio::time::sleep(BATCH_EVERY).await;
        }
    }
}

/// What this node tells the other nodes sharing a bus: its farm events, and that cached
/// answers went stale. One node keeps none (`Realtime` then relays nothing).
///
/// The relay sits beside [`FarmEvents`], not behind it: an event from another node must
/// also land in this node's newest statuses and cache, which live here, so the bus hands
/// it to [`Realtime::receive`] rather than straight to the listeners.
pub trait EventRelay: Send + Sync + 'static {
    /// Sends `event` to the other nodes.
    fn event(&self, event: &Arc<FarmEvent>);
    /// Tells the other nodes that the farm's cached answers (every farm's: `None`) are stale.
    fn stale(&self, tenant: Option<&TenantId>);
}

/// Farm events and the printers' newest live status, for the whole server.
pub struct Realtime {
    events: Box<dyn FarmEvents>,
    /// The other nodes, when several share a bus.
    relay: OnceLock<Arc<dyn EventRelay>>,
    /// The newest status event of each printer, per farm, for clients that just connected
    /// or fell behind (shared, serialised at most once).
    statuses: Mutex<HashMap<TenantId, Newest>>,
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
            relay: OnceLock::new(),
            statuses: Mutex::default(),
            dashboards: Arc::default(),
            answers: crate::read_cache::ReadCache::default(),
        }
    }

    fn statuses(&self) -> MutexGuard<'_, HashMap<TenantId, Newest>> {
        self.statuses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends this node's events and cache changes to the other nodes from now on (set once).
    pub fn relay_to(&self, relay: Arc<dyn EventRelay>) {
        let _ = self.relay.set(relay);
    }

    /// Publishes a message of the farm to its listeners, here and on the other nodes; a
    /// printer status is also kept as the printer's newest.
    pub fn publish(&self, tenant: &TenantId, message: ServerMessage) {
        let event = Arc::new(FarmEvent::new(tenant.clone(), message));
        if let Some(relay) = self.relay.get() {
            relay.event(&event);
        }
        self.deliver(event);
    }

    /// An event another node published, with the text it was sent as: kept and delivered
    /// here, not relayed again.
    pub fn receive(&self, tenant: &TenantId, message: ServerMessage, text: String) {
        let event = FarmEvent::new(tenant.clone(), message);
        let _ = event.text.set(text.into());
        self.deliver(Arc::new(event));
    }

    /// Something in `tenant` changed: its cached answers are stale, here and on the other nodes.
    pub fn farm_changed(&self, tenant: &TenantId) {
        self.answers.farm_changed(tenant);
        if let Some(relay) = self.relay.get() {
            relay.stale(Some(tenant));
        }
    }

    /// Something changed in a farm not known here: every cached answer is stale, everywhere.
    pub fn anything_changed(&self) {
        self.answers.anything_changed();
        if let Some(relay) = self.relay.get() {
            relay.stale(None);
        }
    }

    /// Keeps a status as its printer's newest (any other event makes the farm's cached
    /// answers stale) and hands the event to this node's listeners.
    fn deliver(&self, event: Arc<FarmEvent>) {
        let tenant = &event.tenant;
        if let Some(printer) = event.printer_key().filter(|_| event.is_status()) {
            // A status changes no cached answer (those are read from the database, which
            // the status writer changes, and it says so): no cache lock per report.
            let replaced = {
                let mut statuses = self.statuses();
                let kept = match statuses.get_mut(tenant) {
                    Some(farm) => farm,
                    None => statuses.entry(tenant.clone()).or_default(),
                };
                match kept.get_mut(printer) {
                    Some(newest) => Some(std::mem::replace(newest, event.clone())),
                    None => kept.insert(printer.clone(), event.clone()),
                }
            };
            // Freed after the lock.
            drop(replaced);
        } else {
            self.answers.farm_changed(tenant);
        }
        self.events.publish(event);
    }

    /// Keeps a printer's newest status and publishes it as `printer_status`, keyed as
    /// dashboards know the printer (see [`shown_as`]).
    pub fn printer_status(
        &self,
        tenant: &TenantId,
        printer: &Printer,
        status: proto::PrinterStatus,
    ) {
        self.publish(
            tenant,
            ServerMessage::PrinterStatus(shown_as(printer, status)),
        );
    }

    /// The newest status of one printer of the farm, if it reported since the server started.
    pub fn printer(&self, tenant: &TenantId, printer_id: &str) -> Option<proto::PrinterStatus> {
        let event = self.statuses().get(tenant)?.get(printer_id)?.clone();
        status_of(&event).cloned()
    }

    /// The newest status of each of the farm's printers, by printer id.
    pub fn printers_of(&self, tenant: &TenantId) -> HashMap<String, proto::PrinterStatus> {
        let statuses = self.statuses();
        let Some(farm) = statuses.get(tenant) else {
            return HashMap::new();
        };
        farm.iter()
            .filter_map(|(printer, event)| {
                status_of(event).map(|s| (printer.to_string(), s.clone()))
            })
            .collect()
    }

    /// The newest status event of each of the farm's printers (cheap: shared copies), for a
    /// client that starts or fell behind.
    pub fn status_events_of(&self, tenant: &TenantId) -> Vec<Arc<FarmEvent>> {
        self.statuses()
            .get(tenant)
            .map(|farm| farm.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Printers whose newest status (from any node) says they are connected.
    pub fn printers_connected(&self) -> usize {
        self.statuses()
            .values()
            .flat_map(|farm| farm.values())
            .filter(|event| status_of(event).is_some_and(|s| s.is_connected == Some(true)))
            .count()
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

    fn status(printer: &str, progress: i64) -> ServerMessage {
        ServerMessage::PrinterStatus(proto::PrinterStatus {
            printer_id: printer.into(),
            status: domain::printers::PrinterStatus::Printing,
            progress_percentage: Some(progress),
            ..Default::default()
        })
    }

    fn hub_event() -> ServerMessage {
        ServerMessage::HubStatus {
            hub_id: "h".into(),
            is_online: true,
        }
    }

    /// The next batch, within a deadline.
    async fn next_batch(listener: &mut FarmSubscription) -> StatusBatch {
        tokio::time::timeout(Duration::from_secs(5), listener.statuses.recv())
            .await
            .expect("a batch within 5 s")
            .expect("the channel open")
    }

    fn progress_of(event: &FarmEvent) -> Option<i64> {
        status_of(event).and_then(|s| s.progress_percentage)
    }

    #[tokio::test]
    async fn a_listener_hears_only_its_own_farm() {
        let realtime = Realtime::default();
        let (a, b) = (farm(), farm());
        let mut of_a = realtime.subscribe(&a);
        realtime.publish(&b, status("pb", 1));
        realtime.publish(&a, status("pa", 2));
        realtime.publish(&a, hub_event());
        let batch = next_batch(&mut of_a).await;
        let printers: Vec<_> = batch.iter().filter_map(|e| e.printer_id()).collect();
        assert_eq!(printers, ["pa"], "nothing of farm b");
        assert!(matches!(
            of_a.events.recv().await.unwrap().message,
            ServerMessage::HubStatus { .. }
        ));
        assert_eq!(realtime.printers_of(&a).len(), 1);
        assert_eq!(
            realtime.printer(&b, "pb").map(|s| s.printer_id),
            Some("pb".into())
        );
        assert!(realtime.printer(&a, "pb").is_none());
    }

    #[tokio::test]
    async fn a_burst_of_statuses_arrives_coalesced_newest_last_and_never_pushes_out_events() {
        let realtime = Realtime::default();
        let farm = farm();
        let mut listener = realtime.subscribe(&farm);
        realtime.publish(&farm, hub_event());
        let reports = 20_000;
        for n in 0..reports {
            realtime.publish(&farm, status(&format!("p{}", n % 50), n));
        }
        // Whatever the batching, the newest report of every printer arrives, in far fewer
        // batches than reports, and the hub event is still there.
        let mut newest: HashMap<String, i64> = HashMap::new();
        let mut batches = 0;
        while newest.len() < 50 || newest.values().any(|&p| p < reports - 50) {
            for event in next_batch(&mut listener).await.iter() {
                let printer = event.printer_id().unwrap().to_string();
                let progress = progress_of(event).unwrap();
                let before = newest.insert(printer, progress);
                assert!(
                    before.is_none_or(|b| b < progress),
                    "never an older report after a newer one"
                );
            }
            batches += 1;
        }
        assert!(
            batches < reports / 10,
            "{batches} batches for {reports} reports"
        );
        assert!(listener.events.try_recv().is_ok());
        assert_eq!(realtime.printers_of(&farm).len(), 50);
        let kept = realtime.printer(&farm, "p7").unwrap();
        assert_eq!(kept.progress_percentage, Some(reports - 50 + 7));
    }

    #[tokio::test]
    async fn a_farm_nobody_follows_keeps_no_channel() {
        let events = LocalFarmEvents::default();
        let farm = farm();
        let listener = events.subscribe(&farm);
        assert!(events.farms().get(&farm).is_some_and(|c| c.listeners() > 0));
        drop(listener);
        assert!(events.farms().get(&farm).is_none_or(|c| c.listeners() == 0));
        events.publish(Arc::new(FarmEvent::new(farm.clone(), status("p", 1))));
        assert!(events.farms().is_empty());
        // Following it again starts afresh, and hears what is published.
        let mut again = events.subscribe(&farm);
        events.publish(Arc::new(FarmEvent::new(farm.clone(), status("p", 2))));
        let batch = next_batch(&mut again).await;
        assert_eq!(progress_of(&batch[0]), Some(2));
    }

    #[test]
    fn an_event_is_serialised_once_and_only_when_read() {
        let event = FarmEvent::new(farm(), status("p", 3));
        assert!(event.text.get().is_none());
        let text = event.text().clone();
        assert!(
            text.as_str().contains("\"printer_status\""),
            "{}",
            text.as_str()
        );
        assert!(std::ptr::eq(event.text().as_str(), event.text().as_str()));
    }
}
