//! Per-farm numbers (a printer's number in its farm, order numbers): handed out by
//! a counter row that the transaction locks, so concurrent creates never draw the same one.

use crate::{Conn, StoreResult};
use domain::TenantId;

/// A per-farm sequence of numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequence {
    /// `printers.printer_id`: the number people call a printer by.
    Printer,
    /// `orders.order_number`: ORD-00042.
    Order,
}

impl Sequence {
    fn as_str(self) -> &'static str {
        match self {
            Sequence::Printer => "printer",
            Sequence::Order => "order",
        }
    }
}

/// The next number of `sequence` in the farm (1 first). Call it inside the transaction
/// that uses the number: the counter row stays locked until that transaction ends.
pub async fn next(conn: &mut Conn, tenant: &TenantId, sequence: Sequence) -> StoreResult<i64> {
    // A missing row is made first; on PostgreSQL a concurrent maker waits for this one.
    sqlx::query(
        "INSERT INTO tenant_counters (tenant_id, sequence, value) VALUES ($1, $2, 0)
         ON CONFLICT (tenant_id, sequence) DO NOTHING",
    )
    .bind(tenant.as_str())
    .bind(sequence.as_str())
    .execute(&mut *conn)
    .await?;
    let (value,): (i64,) = sqlx::query_as(
        "UPDATE tenant_counters SET value = value + 1
         WHERE tenant_id = $1 AND sequence = $2 RETURNING value",
    )
    .bind(tenant.as_str())
    .bind(sequence.as_str())
    .fetch_one(&mut *conn)
    .await?;
    Ok(value)
}
