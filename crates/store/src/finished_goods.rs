//! Finished goods: stock per SKU, increased by finished prints.
//!
//! One stock truth: a SKU's units are counted here. `product_skus.stock_level` is the same
//! number, written by [`refresh_status`] in the statement's transaction whenever a good
//! changes (the original's client reads it on SKUs); a SKU without a good yet holds its
//! starting count, which its good takes when it is created.

use crate::catalogue::SkuForPrint;
use crate::{Conn, StoreResult};
use domain::TenantId;
use domain::stock::Stock;
use serde::Serialize;

/// A finished-goods row.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FinishedGood {
    pub id: String,
    pub tenant_id: String,
    pub product_sku_id: String,
    pub print_job_id: Option<String>,
    pub sku: String,
    pub color: String,
    pub material: String,
    pub current_stock: i64,
    pub low_stock_threshold: i64,
    pub quantity_per_sku: i64,
    pub unit_price: i64,
    pub requires_assembly: i64,
    pub quantity_assembled: i64,
    pub quantity_needs_assembly: i64,
    pub status: String,
    pub assembly_status: String,
    pub is_active: i64,
    pub created_at: String,
    pub updated_at: String,
}

macro_rules! columns {
    () => {
        "id, tenant_id, product_sku_id, print_job_id, sku, color, material, current_stock, low_stock_threshold,
         quantity_per_sku, unit_price, requires_assembly, quantity_assembled, quantity_needs_assembly, status,
         assembly_status, is_active, created_at, updated_at"
    };
}

impl FinishedGood {
    /// Its stock figures for the domain's arithmetic.
    pub fn stock(&self) -> Stock {
        Stock {
            ready: self.current_stock,
            needs_assembly: self.quantity_needs_assembly,
            low_threshold: self.low_stock_threshold,
        }
    }
}

/// Adds `units` printed by `job_id` to the SKU's finished goods, creating the row on the
/// SKU's first print. Run inside a transaction: the increment is one atomic UPDATE, so two
/// prints finishing at once both count.
pub async fn add_printed(
    conn: &mut Conn,
    tenant: &TenantId,
    sku: &SkuForPrint,
    material: &str,
    job_id: &str,
    units: i64,
    now: &str,
) -> StoreResult<FinishedGood> {
    let requires_assembly = sku.requires_assembly == 1;
    sqlx::query(
        "INSERT INTO finished_goods (id, tenant_id, product_sku_id, sku, color, material, current_stock,
            low_stock_threshold, quantity_per_sku, unit_price, requires_assembly, status, created_at, updated_at)
         SELECT $1, $2, $3, $4, $5, $6, s.stock_level, $7, $8, $9, $10, 'out_of_stock', $11, $11
         FROM product_skus s WHERE s.tenant_id = $2 AND s.id = $3
         ON CONFLICT (tenant_id, product_sku_id) DO NOTHING",
    )
    .bind(crate::new_id())
    .bind(tenant.as_str())
    .bind(&sku.id)
    .bind(&sku.sku)
    .bind(&sku.color)
    .bind(sku.filament_type.as_deref().unwrap_or(material))
    .bind(sku.low_stock_threshold)
    .bind(sku.quantity)
    .bind(sku.price.unwrap_or(0))
    .bind(i64::from(requires_assembly))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let added = Stock::default().add_printed(units, requires_assembly);
    let sql = concat!(
        "UPDATE finished_goods SET current_stock = current_stock + $3,
            quantity_needs_assembly = quantity_needs_assembly + $4, print_job_id = $5, updated_at = $6
         WHERE tenant_id = $1 AND product_sku_id = $2 RETURNING ",
        columns!()
    );
    let good = sqlx::query_as::<_, FinishedGood>(sql)
        .bind(tenant.as_str())
        .bind(&sku.id)
        .bind(added.ready)
        .bind(added.needs_assembly)
        .bind(job_id)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    refresh_status(conn, &good).await
}

/// Writes the statuses a good's figures give (`domain::stock::Stock::status`), and its ready
/// units and threshold onto its SKU: every change of a good passes here, so the two agree.
async fn refresh_status(conn: &mut Conn, good: &FinishedGood) -> StoreResult<FinishedGood> {
    sqlx::query(
        "UPDATE product_skus SET stock_level = $3, low_stock_threshold = $4
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(&good.tenant_id)
    .bind(&good.product_sku_id)
    .bind(good.current_stock)
    .bind(good.low_stock_threshold)
    .execute(&mut *conn)
    .await?;
    let status = good.stock().status();
    let assembly_status = if good.quantity_needs_assembly > 0 {
        "needs_assembly"
    } else {
        good.assembly_status.as_str()
    };
    // Most moves keep the statuses: a statement fewer on the hot path of every adjustment.
    if good.status == status.as_str() && good.assembly_status == assembly_status {
        return Ok(good.clone());
    }
    let sql = concat!(
        "UPDATE finished_goods SET status = $2, assembly_status = $3 WHERE id = $1 RETURNING ",
        columns!()
    );
    Ok(sqlx::query_as::<_, FinishedGood>(sql)
        .bind(&good.id)
        .bind(status.as_str())
        .bind(assembly_status)
        .fetch_one(&mut *conn)
        .await?)
}

/// One finished good of the farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<FinishedGood> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM finished_goods WHERE tenant_id = $1 AND id = $2"
    );
    Ok(sqlx::query_as::<_, FinishedGood>(sql)
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?)
}

/// The finished good of the farm's SKU `sku_id`.
pub async fn of_sku(conn: &mut Conn, tenant: &TenantId, sku_id: &str) -> StoreResult<FinishedGood> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM finished_goods WHERE tenant_id = $1 AND product_sku_id = $2"
    );
    Ok(sqlx::query_as::<_, FinishedGood>(sql)
        .bind(tenant.as_str())
        .bind(sku_id)
        .fetch_one(&mut *conn)
        .await?)
}

/// The good of the farm's SKU `sku_id`, started from the SKU (its count, threshold, price
/// and assembly need) when it has none yet; `NotFound` when the farm has no such SKU.
pub async fn of_sku_or_start(
    conn: &mut Conn,
    tenant: &TenantId,
    sku_id: &str,
    now: &str,
) -> StoreResult<FinishedGood> {
    let started = sqlx::query(
        "INSERT INTO finished_goods (id, tenant_id, product_sku_id, sku, color, material, current_stock,
            low_stock_threshold, quantity_per_sku, unit_price, requires_assembly, status, created_at, updated_at)
         SELECT $1, s.tenant_id, s.id, s.sku, s.color, COALESCE(s.filament_type, 'PLA'), s.stock_level,
            s.low_stock_threshold, s.quantity, COALESCE(s.price, 0), p.requires_assembly, 'out_of_stock', $3, $3
         FROM product_skus s JOIN products p ON p.id = s.product_id AND p.tenant_id = s.tenant_id
         WHERE s.tenant_id = $2 AND s.id = $4
         ON CONFLICT (tenant_id, product_sku_id) DO NOTHING",
    )
    .bind(crate::new_id())
    .bind(tenant.as_str())
    .bind(now)
    .bind(sku_id)
    .execute(&mut *conn)
    .await?;
    let good = of_sku(conn, tenant, sku_id).await?;
    // Only a good just started needs its statuses written; an existing one has them.
    if started.rows_affected() == 1 {
        return refresh_status(conn, &good).await;
    }
    Ok(good)
}

/// Gives the good of SKU `sku_id` (if it has one) the SKU's new threshold.
pub async fn follow_sku(
    conn: &mut Conn,
    tenant: &TenantId,
    sku_id: &str,
    threshold: i64,
    now: &str,
) -> StoreResult<()> {
    let sql = concat!(
        "UPDATE finished_goods SET low_stock_threshold = $3, updated_at = $4
         WHERE tenant_id = $1 AND product_sku_id = $2 RETURNING ",
        columns!()
    );
    let good = sqlx::query_as::<_, FinishedGood>(sql)
        .bind(tenant.as_str())
        .bind(sku_id)
        .bind(threshold)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(good) = good {
        refresh_status(conn, &good).await?;
    }
    Ok(())
}

/// Moves a good's ready stock by `change` in one statement (concurrent adjustments all
/// count) and its status with it; `Err(the good as it is)` when it would go below zero
/// (nothing changed), `NotFound` when the farm has no such good.
pub async fn add_ready(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    change: i64,
    now: &str,
) -> StoreResult<Result<FinishedGood, FinishedGood>> {
    let sql = concat!(
        "UPDATE finished_goods SET current_stock = current_stock + $3, updated_at = $4
         WHERE tenant_id = $1 AND id = $2 AND current_stock + $3 >= 0 RETURNING ",
        columns!()
    );
    let moved = sqlx::query_as::<_, FinishedGood>(sql)
        .bind(tenant.as_str())
        .bind(id)
        .bind(change)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
    match moved {
        Some(good) => Ok(Ok(refresh_status(conn, &good).await?)),
        // Refused, or missing (then `get` says so).
        None => Ok(Err(get(conn, tenant, id).await?)),
    }
}

/// Holds the good's row until the transaction ends (PostgreSQL's row lock; SQLite's one
/// writer holds everything already), so sharing a SKU's stock among orders runs one at a
/// time; returns the good as it is under the lock.
pub async fn lock(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<FinishedGood> {
    let sql = concat!(
        "UPDATE finished_goods SET updated_at = updated_at WHERE tenant_id = $1 AND id = $2 RETURNING ",
        columns!()
    );
    Ok(sqlx::query_as::<_, FinishedGood>(sql)
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?)
}

/// Sets a good's low-stock threshold, and its status with it.
pub async fn set_threshold(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    threshold: i64,
    now: &str,
) -> StoreResult<FinishedGood> {
    let sql = concat!(
        "UPDATE finished_goods SET low_stock_threshold = $3, updated_at = $4
         WHERE tenant_id = $1 AND id = $2 RETURNING ",
        columns!()
    );
    let good = sqlx::query_as::<_, FinishedGood>(sql)
        .bind(tenant.as_str())
        .bind(id)
        .bind(threshold)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    refresh_status(conn, &good).await
}

/// The farm's stock in figures.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct StockFigures {
    /// Finished goods (one per SKU).
    pub total_items: i64,
    /// Units ready to sell.
    pub total_units: i64,
    /// Units printed and waiting for assembly.
    pub needs_assembly_units: i64,
    /// Goods at or below their threshold with some stock.
    pub low_stock: i64,
    /// Goods with nothing ready.
    pub out_of_stock: i64,
    /// What the ready units sell for, in cents.
    pub stock_value: i64,
}

/// The farm's stock in figures.
pub async fn figures(conn: &mut Conn, tenant: &TenantId) -> StoreResult<StockFigures> {
    Ok(sqlx::query_as::<_, StockFigures>(
        "SELECT CAST(COUNT(*) AS BIGINT) AS total_items,
                CAST(COALESCE(SUM(current_stock), 0) AS BIGINT) AS total_units,
                CAST(COALESCE(SUM(quantity_needs_assembly), 0) AS BIGINT) AS needs_assembly_units,
                CAST(COALESCE(SUM(CASE WHEN current_stock > 0 AND current_stock <= low_stock_threshold THEN 1 ELSE 0 END), 0) AS BIGINT) AS low_stock,
                CAST(COALESCE(SUM(CASE WHEN current_stock <= 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS out_of_stock,
                CAST(COALESCE(SUM(current_stock * unit_price), 0) AS BIGINT) AS stock_value
         FROM finished_goods WHERE tenant_id = $1 AND is_active = 1",
    )
    .bind(tenant.as_str())
    .fetch_one(&mut *conn)
    .await?)
}

/// The farm's finished goods, by SKU.
pub async fn list(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<FinishedGood>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM finished_goods WHERE tenant_id = $1 ORDER BY sku, id"
    );
    Ok(sqlx::query_as::<_, FinishedGood>(sql)
        .bind(tenant.as_str())
        .fetch_all(&mut *conn)
        .await?)
}

/// A page of the farm's finished goods (by SKU code) and how many there are.
pub async fn list_page(
    conn: &mut Conn,
    tenant: &TenantId,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<FinishedGood>, i64)> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM finished_goods WHERE tenant_id = $1 ORDER BY sku, id LIMIT $2 OFFSET $3"
    );
    let rows = sqlx::query_as::<_, FinishedGood>(sql)
        .bind(tenant.as_str())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let (total,): (i64,) =
        sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM finished_goods WHERE tenant_id = $1")
            .bind(tenant.as_str())
            .fetch_one(&mut *conn)
            .await?;
    Ok((rows, total))
}

/// The farm's finished goods at or below their low-stock threshold.
pub async fn low(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<FinishedGood>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM finished_goods WHERE tenant_id = $1 AND is_active = 1 AND current_stock <= low_stock_threshold
          ORDER BY current_stock, sku, id"
    );
    Ok(sqlx::query_as::<_, FinishedGood>(sql)
        .bind(tenant.as_str())
        .fetch_all(&mut *conn)
        .await?)
}

/// A finished good's values as a client sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoodFields {
    /// At or below this many ready units, stock is low.
    pub low_stock_threshold: i64,
    /// What one unit sells for, in cents.
    pub unit_price: i64,
    /// Counted in stock figures and lists.
    pub is_active: bool,
}

/// Starts the stock of the farm's SKU `sku` by hand with `units` ready (the SKU's own count
/// when `None`; its colour, material and assembly need come from the SKU);
/// `Conflict { field: "product_sku_id" }` when the SKU has its row already.
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    sku: &SkuForPrint,
    units: Option<i64>,
    fields: &GoodFields,
    now: &str,
) -> StoreResult<FinishedGood> {
    let sql = concat!(
        "INSERT INTO finished_goods (id, tenant_id, product_sku_id, sku, color, material, current_stock,
            low_stock_threshold, quantity_per_sku, unit_price, requires_assembly, is_active, status,
            created_at, updated_at)
         SELECT $1, $2, $3, $4, $5, $6, COALESCE($7, s.stock_level), $8, $9, $10, $11, $12, 'active', $13, $13
         FROM product_skus s WHERE s.tenant_id = $2 AND s.id = $3 RETURNING ",
        columns!()
    );
    let good = sqlx::query_as::<_, FinishedGood>(sql)
        .bind(crate::new_id())
        .bind(tenant.as_str())
        .bind(&sku.id)
        .bind(&sku.sku)
        .bind(&sku.color)
        .bind(sku.filament_type.as_deref().unwrap_or("PLA"))
        .bind(units)
        .bind(fields.low_stock_threshold)
        .bind(sku.quantity)
        .bind(fields.unit_price)
        .bind(sku.requires_assembly)
        .bind(i64::from(fields.is_active))
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| match crate::StoreError::from(e) {
            crate::StoreError::Conflict { .. } => crate::StoreError::Conflict {
                field: "product_sku_id".into(),
            },
            other => other,
        })?;
    refresh_status(conn, &good).await
}

/// Changes a good's price, threshold and whether it is active (its units move only by
/// prints, assembly and adjustments).
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    fields: &GoodFields,
    now: &str,
) -> StoreResult<FinishedGood> {
    let sql = concat!(
        "UPDATE finished_goods SET low_stock_threshold = $3, unit_price = $4, is_active = $5, updated_at = $6
         WHERE tenant_id = $1 AND id = $2 RETURNING ",
        columns!()
    );
    let good = sqlx::query_as::<_, FinishedGood>(sql)
        .bind(tenant.as_str())
        .bind(id)
        .bind(fields.low_stock_threshold)
        .bind(fields.unit_price)
        .bind(i64::from(fields.is_active))
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    refresh_status(conn, &good).await
}

/// Removes a good that holds no units; `Ok(false)` when it holds some (nothing removed).
pub async fn delete_empty(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<bool> {
    let done = sqlx::query(
        "DELETE FROM finished_goods WHERE tenant_id = $1 AND id = $2
           AND current_stock = 0 AND quantity_needs_assembly = 0 AND quantity_assembled = 0",
    )
    .bind(tenant.as_str())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        get(conn, tenant, id).await?;
        return Ok(false);
    }
    Ok(true)
}

/// One SKU's stock as the stock page lists it: its finished good's counts, or the SKU's
/// own starting count while it has no good yet.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StockRow {
    /// The SKU's id.
    pub sku_id: String,
    /// Its code.
    pub sku: String,
    /// Its product's name.
    pub product_name: String,
    /// Its colour's name.
    pub color: String,
    /// Its colour as `#RRGGBB`, if known.
    pub hex_code: Option<String>,
    /// Its finished good, once its stock has moved.
    pub good_id: Option<String>,
    /// Units ready to sell.
    pub ready: i64,
    /// Units printed and waiting for assembly.
    pub needs_assembly: i64,
    /// Units assembled.
    pub assembled: i64,
    /// At or below this many ready units, stock is low.
    pub threshold: i64,
}

impl StockRow {
    /// Its figures for the domain's arithmetic.
    pub fn stock(&self) -> Stock {
        Stock {
            ready: self.ready,
            needs_assembly: self.needs_assembly,
            low_threshold: self.threshold,
        }
    }
}

/// A page of the farm's stock, one row per SKU by code (`low_only`: those at or below their
/// threshold), and how many rows match in all. Paged in SQL: a farm of thousands of SKUs
/// reads one page.
pub async fn stock_page(
    conn: &mut Conn,
    tenant: &TenantId,
    low_only: bool,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<StockRow>, i64)> {
    const FROM: &str = "product_skus s
         JOIN products p ON p.id = s.product_id AND p.tenant_id = s.tenant_id
         LEFT JOIN finished_goods g ON g.tenant_id = s.tenant_id AND g.product_sku_id = s.id
         WHERE s.tenant_id = $1
           AND ($2 = 0 OR COALESCE(g.current_stock, s.stock_level) <= COALESCE(g.low_stock_threshold, s.low_stock_threshold))";
    let sql = format!(
        "SELECT s.id AS sku_id, s.sku, p.name AS product_name, s.color, s.hex_code, g.id AS good_id,
                COALESCE(g.current_stock, s.stock_level) AS ready,
                COALESCE(g.quantity_needs_assembly, 0) AS needs_assembly,
                COALESCE(g.quantity_assembled, 0) AS assembled,
                COALESCE(g.low_stock_threshold, s.low_stock_threshold) AS threshold
         FROM {FROM} ORDER BY s.sku, s.id LIMIT $3 OFFSET $4"
    );
    let rows = sqlx::query_as::<_, StockRow>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(i64::from(low_only))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let count = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {FROM}");
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count))
        .bind(tenant.as_str())
        .bind(i64::from(low_only))
        .fetch_one(&mut *conn)
        .await?;
    Ok((rows, total))
}

/// Moves `units` of a good from waiting for assembly to ready (and counts them assembled),
/// in one statement that never takes `quantity_needs_assembly` below zero; `None` when
/// fewer units wait than that (nothing changed).
pub async fn assemble(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    units: i64,
    now: &str,
) -> StoreResult<Option<FinishedGood>> {
    let sql = concat!(
        "UPDATE finished_goods SET quantity_needs_assembly = quantity_needs_assembly - $3,
            current_stock = current_stock + $3, quantity_assembled = quantity_assembled + $3,
            assembly_status = CASE WHEN quantity_needs_assembly - $3 > 0 THEN 'needs_assembly'
                ELSE 'assembled' END,
            updated_at = $4
         WHERE tenant_id = $1 AND id = $2 AND quantity_needs_assembly >= $3 RETURNING ",
        columns!()
    );
    let moved = sqlx::query_as::<_, FinishedGood>(sql)
        .bind(tenant.as_str())
        .bind(id)
        .bind(units)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
    match moved {
        Some(good) => Ok(Some(refresh_status(conn, &good).await?)),
        None => Ok(None),
    }
}
