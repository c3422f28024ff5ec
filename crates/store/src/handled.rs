//! Handled background events: the marker that makes an event's effects happen once.

use crate::{Conn, StoreResult};
use domain::TenantId;

/// Records that `event_id` was handled; `false` when it already was (do nothing then).
/// Run in the same transaction as the event's effects.
pub async fn mark(
    conn: &mut Conn,
    event_id: &str,
    queue: &str,
    tenant: Option<&TenantId>,
    now: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO handled_events (event_id, queue, tenant_id, handled_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event_id)
    .bind(queue)
    .bind(tenant.map(TenantId::as_str))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
