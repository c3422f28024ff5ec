//! Checks for the health endpoints.

use crate::{Conn, StoreResult};

/// Runs a trivial query.
pub async fn ping(conn: &mut Conn) -> StoreResult<()> {
    sqlx::query("SELECT 1").execute(&mut *conn).await?;
    Ok(())
}

/// One queue's backlog: messages due and waiting, being handled, dead, and the oldest due
/// message's time to run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Backlog {
    /// Pending messages whose time has come.
    pub due: i64,
    /// Messages a worker holds.
    pub running: i64,
    /// Messages that used their last attempt.
    pub dead: i64,
    /// When the oldest due message was to run.
    pub oldest_due: Option<String>,
}

impl Backlog {
    /// Seconds the oldest due message has waited at `now` (0 when none is due).
    pub fn oldest_due_seconds(&self, now: chrono::DateTime<chrono::Utc>) -> f64 {
        self.oldest_due
            .as_deref()
            .and_then(domain::time::parse)
            .map_or(0.0, |due| {
                (now - due).num_milliseconds().max(0) as f64 / 1000.0
            })
    }
}

#[derive(sqlx::FromRow)]
struct BacklogRow {
    due: i64,
    running: i64,
    dead: i64,
    oldest_due: Option<String>,
}

/// The backlog of `queue` at `now`: four ranges of the queue's `(queue, status, run_at)`
/// index, never a scan of the messages done long ago.
pub async fn queue_backlog(conn: &mut Conn, queue: &str, now: &str) -> StoreResult<Backlog> {
    let row = sqlx::query_as::<_, BacklogRow>(
        "SELECT
            CAST((SELECT COUNT(*) FROM queue_messages WHERE queue = $1 AND status = 'pending' AND run_at <= $2) AS BIGINT) AS due,
            CAST((SELECT COUNT(*) FROM queue_messages WHERE queue = $1 AND status = 'running') AS BIGINT) AS running,
            CAST((SELECT COUNT(*) FROM queue_messages WHERE queue = $1 AND status = 'dead') AS BIGINT) AS dead,
            (SELECT MIN(run_at) FROM queue_messages WHERE queue = $1 AND status = 'pending' AND run_at <= $2) AS oldest_due",
    )
    .bind(queue)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Backlog {
        due: row.due,
        running: row.running,
        dead: row.dead,
        oldest_due: row.oldest_due,
    })
}
