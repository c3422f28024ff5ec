//! Farm events across nodes: what one node publishes to its dashboards goes out on
//! `farm.<id>.events`, and every other node hands it to its own listeners, newest
//! statuses and read cache ([`Realtime::receive`]). That a farm's cached answers went stale
//! travels on the same subject; that every farm's did, on `farms.stale`.
//!
//! Events leave through a bounded channel drained by one task, so publishing stays
//! synchronous and cheap on the hot path. Whatever gathered while the last message went
//! out leaves together: one bus message per farm carries many events (up to
//! [`MAX_MESSAGE`] bytes), and of the statuses of one printer only the newest. Each event
//! travels as the text dashboards receive, which the other nodes send on as it came.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use domain::TenantId;
use futures::StreamExt;
use proto::dashboard::ServerMessage;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::realtime::{EventRelay, FarmEvent, Realtime};

/// Events waiting to leave before new ones are dropped (and counted).
const OUTBOX: usize = 65_536;
/// Events taken from the outbox at once.
const TAKE: usize = 4096;
/// The largest bus message this sends (NATS refuses over 1 MiB by default).
const MAX_MESSAGE: usize = 256 * 1024;
/// The subject every farm's staleness travels on.
const ALL_STALE: &str = "farms.stale";

fn farm_subject(tenant: &TenantId) -> String {
    format!("farm.{tenant}.events")
}

/// The farm a `farm.<id>.events` subject is about.
fn farm_of(subject: &str) -> Option<TenantId> {
    let id = subject.strip_prefix("farm.")?.strip_suffix(".events")?;
    TenantId::parse(id)
}

/// Something to tell the other nodes.
enum Outgoing {
    Event(Arc<FarmEvent>),
    Stale(Option<TenantId>),
}

/// The first line of a bus message: the node it came from, and whether the farm's cached
/// answers are stale. Each further line is one event, as dashboards receive it (compact
/// JSON has no raw newline), so a node reads each event once and sends on the same text.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    node: String,
    #[serde(default)]
    stale: bool,
}

/// A bus message read: its header and its events with their text.
fn read(payload: &[u8]) -> Result<(Header, Vec<(ServerMessage, String)>), String> {
    let mut lines = payload.split(|b| *b == b'\n');
    let header: Header = serde_json::from_slice(lines.next().unwrap_or_default())
        .map_err(|e| format!("header: {e}"))?;
    let mut events = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let text = std::str::from_utf8(line).map_err(|e| format!("event: {e}"))?;
        let message = serde_json::from_str(text).map_err(|e| format!("event: {e}"))?;
        events.push((message, text.to_string()));
    }
    Ok((header, events))
}

/// [`EventRelay`] over NATS.
pub struct NatsEventRelay {
    outbox: mpsc::Sender<Outgoing>,
    dropped: AtomicU64,
}

impl NatsEventRelay {
    fn put(&self, outgoing: Outgoing) {
        if self.outbox.try_send(outgoing).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "the bus is not keeping up: farm events for other nodes dropped"
                );
            }
        }
    }

    /// Events that could not be sent to the other nodes since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl EventRelay for NatsEventRelay {
    fn event(&self, event: &Arc<FarmEvent>) {
        self.put(Outgoing::Event(event.clone()));
    }

    fn stale(&self, tenant: Option<&TenantId>) {
        self.put(Outgoing::Stale(tenant.cloned()));
    }
}

/// Relays `realtime`'s events to the other nodes on `client` and theirs to it.
pub async fn relay(
    realtime: &Arc<Realtime>,
    client: async_nats::Client,
    node_id: String,
) -> Result<Arc<NatsEventRelay>, super::BusError> {
    let bus = |e: async_nats::SubscribeError| super::BusError(e.to_string());
    let farms = client.subscribe("farm.*.events").await.map_err(bus)?;
    let all = client.subscribe(ALL_STALE).await.map_err(bus)?;
    let (outbox, waiting) = mpsc::channel(OUTBOX);
    let relay = Arc::new(NatsEventRelay {
        outbox,
        dropped: AtomicU64::new(0),
    });
    tokio::spawn(send_out(client, node_id.clone(), waiting));
    tokio::spawn(take_in(
        Arc::downgrade(realtime),
        node_id,
        futures::stream::select(farms, all),
    ));
    realtime.relay_to(relay.clone());
    Ok(relay)
}

/// One farm's bus message being written: its events, one per line.
struct Draft {
    events: Vec<u8>,
    stale: bool,
}

impl Draft {
    fn new() -> Draft {
        Draft {
            events: Vec::new(),
            stale: false,
        }
    }

    fn push(&mut self, text: &[u8]) {
        self.events.push(b'\n');
        self.events.extend_from_slice(text);
    }

    fn body(&self, node_id: &str) -> Vec<u8> {
        let header = Header {
            node: node_id.to_string(),
            stale: self.stale,
        };
        let mut body = serde_json::to_vec(&header).unwrap_or_default();
        body.extend_from_slice(&self.events);
        body
    }
}

/// Sends what gathered in the outbox, one message per farm (split at [`MAX_MESSAGE`]).
async fn send_out(
    client: async_nats::Client,
    node_id: String,
    mut waiting: mpsc::Receiver<Outgoing>,
) {
    let mut taken = Vec::with_capacity(TAKE);
    while waiting.recv_many(&mut taken, TAKE).await > 0 {
        // Newest first, so that an older status of a printer already seen is skipped.
        let mut seen: HashSet<(TenantId, Arc<str>)> = HashSet::new();
        let mut kept = Vec::with_capacity(taken.len());
        let mut all_stale = false;
        for outgoing in taken.drain(..).rev() {
            match outgoing {
                Outgoing::Event(event) => {
                    if let Some(printer) = event.printer_key().filter(|_| event.is_status())
                        && !seen.insert((event.tenant.clone(), printer.clone()))
                    {
                        continue;
                    }
                    kept.push((event.tenant.clone(), Some(event)));
                }
                Outgoing::Stale(Some(tenant)) => kept.push((tenant, None)),
                Outgoing::Stale(None) => all_stale = true,
            }
        }
        let mut drafts: HashMap<TenantId, Draft> = HashMap::new();
        for (tenant, event) in kept.into_iter().rev() {
            let draft = drafts.entry(tenant.clone()).or_insert_with(Draft::new);
            let Some(event) = event else {
                draft.stale = true;
                continue;
            };
            let text = event.text().as_bytes();
            if !draft.events.is_empty() && draft.events.len() + text.len() > MAX_MESSAGE {
                let full = std::mem::replace(draft, Draft::new());
                publish(&client, farm_subject(&tenant), full.body(&node_id)).await;
            }
            draft.push(text);
        }
        for (tenant, draft) in drafts {
            publish(&client, farm_subject(&tenant), draft.body(&node_id)).await;
        }
        if all_stale {
            let mut body = Draft::new();
            body.stale = true;
            publish(&client, ALL_STALE.to_string(), body.body(&node_id)).await;
        }
    }
}

async fn publish(client: &async_nats::Client, subject: String, body: Vec<u8>) {
    if let Err(error) = client.publish(subject, body.into()).await {
        tracing::warn!(%error, "could not send farm events on the bus");
    }
}

/// Hands the other nodes' events to this node's listeners, until `realtime` is gone.
async fn take_in(
    realtime: Weak<Realtime>,
    node_id: String,
    mut messages: impl futures::Stream<Item = async_nats::Message> + Unpin,
) {
    while let Some(message) = messages.next().await {
        let Some(realtime) = realtime.upgrade() else {
            return;
        };
        let (header, events) = match read(&message.payload) {
            Ok(read) => read,
            Err(error) => {
                tracing::warn!(subject = %message.subject, %error, "an unreadable farm event on the bus");
                continue;
            }
        };
        if header.node == node_id {
            continue;
        }
        let Some(tenant) = farm_of(&message.subject) else {
            if header.stale {
                realtime.answers.anything_changed();
            }
            continue;
        };
        if header.stale {
            realtime.answers.farm_changed(&tenant);
        }
        for (event, text) in events {
            realtime.receive(&tenant, event, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_farm_is_read_back_from_its_subject() {
        let tenant = TenantId::parse("00000000-0000-4000-8000-000000000001").unwrap();
        assert_eq!(farm_of(&farm_subject(&tenant)), Some(tenant));
        assert_eq!(farm_of("farm.not-an-id.events"), None);
        assert_eq!(farm_of(ALL_STALE), None);
    }

    #[test]
    fn a_draft_is_the_message_a_node_reads() {
        let tenant = TenantId::parse("00000000-0000-4000-8000-000000000001").unwrap();
        let status = FarmEvent::new(
            tenant.clone(),
            ServerMessage::PrinterStatus(proto::PrinterStatus {
                printer_id: "7".into(),
                printer_uuid: Some("p-1".into()),
                status: domain::printers::PrinterStatus::Printing,
                progress_percentage: Some(42),
                ..Default::default()
            }),
        );
        let hub = FarmEvent::new(
            tenant,
            ServerMessage::HubStatus {
                hub_id: "h".into(),
                is_online: true,
            },
        );
        let mut draft = Draft::new();
        draft.stale = true;
        draft.push(status.text().as_bytes());
        draft.push(hub.text().as_bytes());
        let (header, events) = read(&draft.body("node-a")).unwrap();
        assert_eq!(header.node, "node-a");
        assert!(header.stale);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].0, status.message);
        assert_eq!(events[0].1, status.text().as_str(), "sent on as it came");
        assert_eq!(events[1].0, hub.message);
    }
}
