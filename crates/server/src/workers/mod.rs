//! Background workers: consumers of the durable queue and the auto-dispatcher.
//!
//! Work is found two ways: a wake-up from the request that queued it (same process, no
//! delay), and a poll every few seconds (work queued by another process, retries that
//! came due, leases that ran out). [`drain_until_idle`] runs the same code to completion
//! for tests.

pub mod print_events;

use crate::app::App;
use chrono::Utc;
use domain::TenantId;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;
use store::queue::{AfterFailure, Message};
use tokio::sync::Notify;
use tracing::Instrument;

/// How long a claimed message is ours before another worker may take it.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);
/// How often the queue is polled when nothing wakes the worker.
const POLL: Duration = Duration::from_secs(2);

/// Signals between request handlers and the background workers.
#[derive(Debug, Default)]
pub struct Background {
    queued: Notify,
    dispatch_wanted: Mutex<HashSet<TenantId>>,
    dispatch: Notify,
}

impl Background {
    /// Work was committed to the queue: wake the queue worker.
    pub fn work_queued(&self) {
        self.queued.notify_one();
    }

    /// Something changed that may let a farm's queued jobs start (a bed cleared, a job queued).
    pub fn dispatch_wanted(&self, tenant: &TenantId) {
        self.wanted().insert(tenant.clone());
        self.dispatch.notify_one();
    }

    fn wanted(&self) -> std::sync::MutexGuard<'_, HashSet<TenantId>> {
        self.dispatch_wanted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The farms that asked for a dispatch pass since the last call.
    pub(crate) fn take_dispatch_wanted(&self) -> Vec<TenantId> {
        self.wanted().drain().collect()
    }

    /// Waits until a dispatch is wanted.
    pub(crate) async fn dispatch_woken(&self) {
        self.dispatch.notified().await;
    }
}

/// What went wrong handling a message.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// The database failed; worth retrying.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A rule of the farm failed underneath (the database, mostly); worth retrying.
    #[error(transparent)]
    Farm(#[from] crate::farm::FarmError),
    /// A service outside the farm (Shopify) failed or refused; worth retrying.
    #[error("{0}")]
    External(String),
    /// The message can't be understood; retrying won't help, but it is kept as a dead letter.
    #[error("bad message: {0}")]
    BadMessage(String),
}

/// The delay before attempt `attempts + 1`: 2, 4, 8 … seconds, at most 5 minutes.
pub fn backoff(attempts: i64) -> chrono::Duration {
    let exponent = attempts.clamp(1, 16) as u32;
    chrono::Duration::seconds((1_i64 << exponent).min(300))
}

/// A name for this process's worker, unique enough to tell claims apart.
fn worker_name() -> String {
    format!("worker-{}-{}", std::process::id(), &store::new_id()[..8])
}

/// The queues the worker reads, first first: print events before automation, then
/// notifications, then Shopify work, so a farm's own prints never wait behind a shop's
/// backlog or a slow webhook receiver.
pub const QUEUES: [&str; 4] = [
    crate::jobs::PRINT_EVENTS,
    crate::automation::AUTOMATION,
    crate::notify::NOTIFICATIONS,
    crate::shopify::SHOPIFY_SYNC,
];

/// Claims and handles one message of any queue; `false` when none was due.
async fn run_one(app: &App, worker: &str) -> Result<bool, store::StoreError> {
    for queue in QUEUES {
        let Some(message) = app.queue.claim(queue, worker, LEASE).await? else {
            continue;
        };
        // Every line logged while handling it names the message, its farm and its job.
        let job_id = serde_json::from_str::<serde_json::Value>(&message.payload)
            .ok()
            .and_then(|p| p["job_id"].as_str().map(str::to_string));
        let span = tracing::info_span!(
            "message",
            queue = %message.queue,
            message_id = %message.id,
            tenant_id = message.tenant_id.as_deref().unwrap_or("-"),
            job_id = job_id.as_deref().unwrap_or("-"),
        );
        async {
            let handled = match queue {
                crate::shopify::SHOPIFY_SYNC => {
                    crate::shopify::sync::handle(app, &message, worker).await
                }
                crate::automation::AUTOMATION => {
                    crate::automation::engine::handle(app, &message, worker).await
                }
                crate::notify::NOTIFICATIONS => crate::notify::deliver(app, &message, worker).await,
                _ => print_events::handle(app, &message, worker).await,
            };
            if let Err(err) = handled {
                record_failure(app, &message, worker, &err).await?;
            }
            Ok::<(), store::StoreError>(())
        }
        .instrument(span)
        .await?;
        return Ok(true);
    }
    Ok(false)
}

/// Retries a failed message later, or dead-letters it after its last attempt.
async fn record_failure(
    app: &App,
    message: &Message,
    worker: &str,
    err: &WorkError,
) -> Result<(), store::StoreError> {
    let retry_at = Utc::now() + backoff(message.attempts);
    let after = app
        .queue
        .fail(message, worker, &err.to_string(), retry_at)
        .await?;
    match after {
        AfterFailure::Dead => {
            tracing::error!(queue = %message.queue, message_id = %message.id, attempts = message.attempts, error = %err, "message dead-lettered")
        }
        AfterFailure::Retry => {
            tracing::warn!(queue = %message.queue, message_id = %message.id, attempts = message.attempts, %retry_at, error = %err, "message will be retried")
        }
        AfterFailure::Lost => {
            tracing::warn!(queue = %message.queue, message_id = %message.id, "claim lost while failing")
        }
    }
    Ok(())
}

/// Handles queued messages until none is due or running (a retry waiting for its time
/// does not count) — for tests;
/// gives up after `deadline`. Returns how many this call handled.
pub async fn drain_until_idle(app: &App, deadline: Duration) -> Result<usize, store::StoreError> {
    let worker = worker_name();
    let until = tokio::time::Instant::now() + deadline;
    let mut handled = 0;
    loop {
        if run_one(app, &worker).await? {
            handled += 1;
            continue;
        }
        // Another worker may hold a claim: wait for it to finish.
        let mut depth = 0;
        for queue in QUEUES {
            depth += app.queue.due_or_running(queue).await?;
        }
        if depth == 0 || tokio::time::Instant::now() >= until {
            return Ok(handled);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs the queue worker until `stop` fires.
pub fn spawn(
    app: App,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let worker = worker_name();
        loop {
            // Handle everything due, then sleep until woken or the next poll.
            loop {
                match run_one(&app, &worker).await {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(err) => {
                        tracing::warn!(error = %err, "queue worker could not claim work");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = app.background.queued.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_five_minutes() {
        assert_eq!(backoff(1), chrono::Duration::seconds(2));
        assert_eq!(backoff(2), chrono::Duration::seconds(4));
        assert_eq!(backoff(4), chrono::Duration::seconds(16));
        assert_eq!(backoff(9), chrono::Duration::seconds(300));
        assert_eq!(backoff(1000), chrono::Duration::seconds(300));
        assert_eq!(backoff(-3), chrono::Duration::seconds(2));
    }
}
