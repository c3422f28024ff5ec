//! Whether a farm was told a stock is low (`finished_goods.low_stock_alerted`: one flag per
//! SKU, since a SKU's units are counted once, by its finished good),
//! applied by `domain::stock::low_stock_alert`'s rule in one conditional update: two changes
//! landing at once alert once.

use crate::{Conn, StoreResult};
use domain::TenantId;

/// How the stock that alerts when low is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// By its SKU's id.
    Sku,
    /// By its finished good's id.
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
            "UPDATE finished_goods SET low_stock_alerted = $3
             WHERE tenant_id = $1 AND product_sku_id = $2 AND low_stock_alerted <> $3"
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
