//! The durable queue: work that must not be lost (a job's completion, a failure), written
//! in the same transaction as the change that caused it and handled at least once by a
//! worker on any node, at most once in effect (consumers mark what they handled).
//!
//! It is a trait so that the workers and the farm service do not care where messages live.
//! [`DatabaseQueue`] keeps them in the farm's own database (`queue_messages`), which is
//! what makes "the change and its event commit together" hold; it serves one process and
//! several nodes alike (PostgreSQL claims skip locked rows). A broker-backed queue would
//! keep the same calls and relay from that table (an outbox).

use chrono::{DateTime, Utc};
use domain::TenantId;
use futures::future::BoxFuture;
use store::queue::{AfterFailure, Message};
use store::{Conn, Store, StoreResult};

/// A message to enqueue.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage<'a> {
    /// The queue it goes on (e.g. [`crate::farm::jobs::PRINT_EVENTS`]).
    pub queue: &'a str,
    /// The farm it belongs to, if any.
    pub tenant: Option<&'a TenantId>,
    /// What the consumer reads.
    pub payload: &'a serde_json::Value,
    /// With a key, the same event is enqueued once per queue.
    pub dedupe_key: Option<&'a str>,
    /// Attempts before it becomes a dead letter (`None`: the queue's default).
    pub max_attempts: Option<i64>,
}

/// Enqueueing, claiming and settling durable messages.
pub trait DurableQueue: Send + Sync + 'static {
    /// Adds `message` inside the caller's transaction `tx`, due now; returns its id, or
    /// `None` when its dedupe key was already queued.
    fn enqueue<'a>(
        &'a self,
        tx: &'a mut Conn,
        message: NewMessage<'a>,
        now: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<String>>>;

    /// Claims the next due message of `queue` for `worker` for `lease` (another worker may
    /// take it once the lease ends).
    fn claim<'a>(
        &'a self,
        queue: &'a str,
        worker: &'a str,
        lease: chrono::Duration,
    ) -> BoxFuture<'a, StoreResult<Option<Message>>>;

    /// Marks a claimed message done inside the transaction of its effects; `false` when the
    /// claim was lost (then the caller must not commit them).
    fn complete<'a>(
        &'a self,
        tx: &'a mut Conn,
        message: &'a Message,
        worker: &'a str,
        now: &'a str,
    ) -> BoxFuture<'a, StoreResult<bool>>;

    /// Records a failed attempt: retried at `retry_at`, or dead after its last attempt.
    fn fail<'a>(
        &'a self,
        message: &'a Message,
        worker: &'a str,
        error: &'a str,
        retry_at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<AfterFailure>>;

    /// Messages of `queue` due now or being handled (a retry waiting for its time is not).
    fn due_or_running<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, StoreResult<i64>>;
}

/// [`DurableQueue`] in the farm's database.
#[derive(Debug, Clone)]
pub struct DatabaseQueue {
    store: Store,
}

impl DatabaseQueue {
    /// The queue kept in `store`.
    pub fn new(store: Store) -> DatabaseQueue {
        DatabaseQueue { store }
    }
}

impl DurableQueue for DatabaseQueue {
    fn enqueue<'a>(
        &'a self,
        tx: &'a mut Conn,
        message: NewMessage<'a>,
        now: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<String>>> {
        Box::pin(store::queue::enqueue(
            tx,
            message.queue,
            message.tenant,
            message.payload,
            message.dedupe_key,
            message.max_attempts,
            now,
        ))
    }

    fn claim<'a>(
        &'a self,
        queue: &'a str,
        worker: &'a str,
        lease: chrono::Duration,
    ) -> BoxFuture<'a, StoreResult<Option<Message>>> {
        let now = Utc::now();
        Box::pin(store::queue::claim(
            &self.store,
            queue,
            worker,
            now,
            now + lease,
        ))
    }

    fn complete<'a>(
        &'a self,
        tx: &'a mut Conn,
        message: &'a Message,
        worker: &'a str,
        now: &'a str,
    ) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(store::queue::complete(tx, &message.id, worker, now))
    }

    fn fail<'a>(
        &'a self,
        message: &'a Message,
        worker: &'a str,
        error: &'a str,
        retry_at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<AfterFailure>> {
        Box::pin(async move {
            let mut conn = self.store.conn().await?;
            store::queue::fail(
                &mut conn,
                message,
                worker,
                error,
                &store::now_text(),
                &domain::time::format(retry_at),
            )
            .await
        })
    }

    fn due_or_running<'a>(&'a self, queue: &'a str) -> BoxFuture<'a, StoreResult<i64>> {
        Box::pin(async move {
            let mut conn = self.store.conn().await?;
            store::queue::due_or_running(&mut conn, queue, &store::now_text()).await
        })
    }
}
