//! Everything the hub says to the server goes through the outbox. The server link drains
//! it while connected; while it is not, the outbox is the bounded outage buffer: the
//! newest `printer_status` of each printer (older ones are worthless) and a bounded FIFO
//! of everything else (acks, file progress, discoveries), oldest dropped first.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use proto::hub::HubToServer;
use tokio::sync::Notify;

/// A cheap handle to the hub's outgoing messages.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Notify,
}

/// The queue behind the outbox: messages in the order they were produced.
#[derive(Debug)]
pub struct Queue {
    next: u64,
    messages: BTreeMap<u64, HubToServer>,
    /// Where each printer's pending status sits in `messages`.
    statuses: HashMap<String, u64>,
    /// Positions of the other messages, oldest first.
    fifo: VecDeque<u64>,
    fifo_limit: usize,
    dropped: u64,
}

impl Queue {
    /// An empty queue keeping at most `fifo_limit` messages other than statuses.
    pub fn new(fifo_limit: usize) -> Queue {
        Queue {
            next: 0,
            messages: BTreeMap::new(),
            statuses: HashMap::new(),
            fifo: VecDeque::new(),
            fifo_limit: fifo_limit.max(1),
            dropped: 0,
        }
    }

    /// Adds a message: a status replaces the printer's pending one; others may push out the oldest.
    pub fn push(&mut self, message: HubToServer) {
        let position = self.next;
        self.next += 1;
        match &message {
            HubToServer::PrinterStatus(status) => {
                if let Some(old) = self.statuses.insert(status.printer_id.clone(), position) {
                    self.messages.remove(&old);
                }
            }
            _ => {
                self.fifo.push_back(position);
                while self.fifo.len() > self.fifo_limit {
                    if let Some(oldest) = self.fifo.pop_front() {
                        self.messages.remove(&oldest);
                        self.dropped += 1;
                    }
                }
            }
        }
        self.messages.insert(position, message);
    }

    /// Takes the oldest message, with its position (for [`Queue::restore`]).
    pub fn pop(&mut self) -> Option<(u64, HubToServer)> {
        let (position, message) = self.messages.pop_first()?;
        match &message {
            HubToServer::PrinterStatus(status) => {
                self.statuses.remove(&status.printer_id);
            }
            _ => {
                self.fifo.pop_front();
            }
        }
        Some((position, message))
    }

    /// Puts back a message that could not be sent, unless something newer replaced it.
    pub fn restore(&mut self, position: u64, message: HubToServer) {
        match &message {
            HubToServer::PrinterStatus(status) => {
                if self.statuses.contains_key(&status.printer_id) {
                    return;
                }
                self.statuses.insert(status.printer_id.clone(), position);
            }
            _ => {
                if self.fifo.len() >= self.fifo_limit {
                    self.dropped += 1;
                    return;
                }
                self.fifo.push_front(position);
            }
        }
        self.messages.insert(position, message);
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Messages dropped because the FIFO was full, since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }
}

impl Outbox {
    /// An outbox keeping at most `fifo_limit` non-status messages while disconnected.
    pub fn new(fifo_limit: usize) -> Outbox {
        Outbox {
            inner: Arc::new(Shared {
                queue: Mutex::new(Queue::new(fifo_limit)),
                ready: Notify::new(),
            }),
        }
    }

    /// Queues a message for the server.
    pub fn send(&self, message: HubToServer) {
        self.queue().push(message);
        self.inner.ready.notify_one();
    }

    /// Locks the queue (the link drains it).
    pub fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A panic elsewhere leaves plain data behind; keep going.
        self.inner
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until something may have been queued.
    pub async fn ready(&self) {
        self.inner.ready.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::hub::FileStage;
    use proto::status::PrinterStatus;

    fn status(serial: &str, word: &str) -> HubToServer {
        HubToServer::PrinterStatus(PrinterStatus {
            printer_id: serial.into(),
            status: word.parse().unwrap(),
            ..PrinterStatus::default()
        })
    }

    fn ack(id: &str) -> HubToServer {
        HubToServer::CommandAck {
            command_id: id.into(),
            success: true,
            error: None,
            frame: None,
        }
    }

    fn drain(queue: &mut Queue) -> Vec<HubToServer> {
        std::iter::from_fn(|| queue.pop().map(|(_, m)| m)).collect()
    }

    #[test]
    fn statuses_coalesce_to_the_newest_per_printer_and_keep_order() {
        let mut queue = Queue::new(10);
        queue.push(status("A", "idle"));
        queue.push(ack("c1"));
        queue.push(status("B", "idle"));
        queue.push(status("A", "printing"));
        assert_eq!(
            drain(&mut queue),
            vec![ack("c1"), status("B", "idle"), status("A", "printing")]
        );
    }

    #[test]
    fn the_fifo_is_bounded_and_drops_the_oldest_but_never_a_status() {
        let mut queue = Queue::new(2);
        queue.push(status("A", "idle"));
        for id in ["c1", "c2", "c3"] {
            queue.push(ack(id));
        }
        queue.push(HubToServer::FileProgress {
            printer_id: "A".into(),
            job_id: "j".into(),
            stage: FileStage::Complete,
            progress_percentage: 100,
            error: None,
        });
        assert_eq!(queue.take_dropped(), 2);
        let messages = drain(&mut queue);
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[0], status("A", "idle"));
        assert_eq!(messages[1], ack("c3"));
    }

    #[test]
    fn a_message_that_failed_to_send_goes_back_in_front_unless_superseded() {
        let mut queue = Queue::new(10);
        queue.push(ack("c1"));
        queue.push(status("A", "idle"));
        let (position, first) = queue.pop().expect("one");
        queue.restore(position, first);
        let (position, first) = queue.pop().expect("one");
        assert_eq!(first, ack("c1"));
        queue.restore(position, first);
        let (_, ack1) = queue.pop().expect("ack");
        let (position, old) = queue.pop().expect("status");
        queue.push(status("A", "printing"));
        queue.restore(position, old);
        assert_eq!(ack1, ack("c1"));
        assert_eq!(drain(&mut queue), vec![status("A", "printing")]);
    }
}
