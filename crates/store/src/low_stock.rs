//! Whether a farm was told a stock is low (`low_stock_alerted` on SKUs and finished goods),
//! applied by `domain::stock::low_stock_alert`'s rule in one conditional update: two changes
//! landing at once alert once.

use crate::{Conn, StoreResult};
use domain::TenantId;

/// The counters of stock that alert when low.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// A SKU's `stock_level`.
    Sku,
    /// A finished good's `current_stock`.
    FinishedGood,
}

/// Records whether the counter `id` is low now; `true` when the farm must be told (it is
/// low and had not been told). Stock above its threshold makes the next fall alert again.
pub async fn note(
    conn: &mut Conn,
    counter: Counter,
    tenant: &TenantId,
    id: &str,
    is_low: bool,
) -> StoreResult<bool> {
    let sql = match counter {
        Counter::Sku => {
            "UPDATE product_skus SET low_stock_alerted = $3
             WHERE tenant_id = $1 AND id = $2 AND low_stock_alerted <> $3"
        }
        Counter::FinishedGood => {
            "UPDATE finished_goods SET low_stock_alerted = $3
             WHERE tenant_id = $1 AND id = $2 AND low_stock_alerted <> $3"
        }
    };
    let flipped = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(id)
        .bind(i64::from(is_low))
        .execute(&mut *conn)
        .await?;
    let (alert, _) = domain::stock::low_stock_alert(is_low, flipped.rows_affected() == 0);
    Ok(alert)
}
