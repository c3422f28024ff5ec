//! A farm's sales-platform integrations (`tenant_integrations`), their order links
//! (`shopify_orders_sync`) and their run log (`sync_logs`). Credentials are stored sealed
//! by the caller (`secrets::Cipher`); this module never sees them in the clear.

use crate::{Conn, StoreResult};
use domain::TenantId;
use serde::Serialize;

/// An integration row (its sealed credentials included: never send it as it is).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Integration {
    pub id: String,
    pub tenant_id: String,
    pub platform: String,
    pub credentials_encrypted: String,
    pub is_enabled: i64,
    pub sync_enabled: i64,
    pub webhook_enabled: i64,
    pub last_sync_at: Option<String>,
    pub last_error: Option<String>,
    /// JSON.
    pub settings: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, tenant_id, platform, credentials_encrypted, is_enabled, sync_enabled,
    webhook_enabled, last_sync_at, last_error, settings, created_at, updated_at";

/// The farm's integrations.
pub async fn list(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<Integration>> {
    let sql =
        format!("SELECT {COLUMNS} FROM tenant_integrations WHERE tenant_id = $1 ORDER BY platform");
    Ok(sqlx::query_as::<_, Integration>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .fetch_all(&mut *conn)
        .await?)
}

/// The farm's integration with `platform`, if it has one.
pub async fn get(
    conn: &mut Conn,
    tenant: &TenantId,
    platform: &str,
) -> StoreResult<Option<Integration>> {
    let sql =
        format!("SELECT {COLUMNS} FROM tenant_integrations WHERE tenant_id = $1 AND platform = $2");
    Ok(sqlx::query_as::<_, Integration>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(platform)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Connects `platform` with sealed credentials (a new connection replaces the old one's
/// credentials, keeps its settings, and is enabled).
pub async fn connect(
    conn: &mut Conn,
    tenant: &TenantId,
    platform: &str,
    sealed: &str,
    now: &str,
) -> StoreResult<Integration> {
    let sql = format!(
        "INSERT INTO tenant_integrations (id, tenant_id, platform, credentials_encrypted, is_enabled,
            sync_enabled, webhook_enabled, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 1, 1, 0, $5, $5)
         ON CONFLICT (tenant_id, platform) DO UPDATE SET credentials_encrypted = $4, is_enabled = 1,
            last_error = NULL, updated_at = $5
         RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as::<_, Integration>(sqlx::AssertSqlSafe(sql))
        .bind(crate::new_id())
        .bind(tenant.as_str())
        .bind(platform)
        .bind(sealed)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// Forgets the integration's credentials and turns it off; `false` when there was none.
pub async fn disconnect(
    conn: &mut Conn,
    tenant: &TenantId,
    platform: &str,
    now: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE tenant_integrations SET credentials_encrypted = '', is_enabled = 0,
            webhook_enabled = 0, updated_at = $3
         WHERE tenant_id = $1 AND platform = $2",
    )
    .bind(tenant.as_str())
    .bind(platform)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes the integration's switches and settings.
pub async fn set_settings(
    conn: &mut Conn,
    id: &str,
    sync_enabled: bool,
    webhook_enabled: bool,
    settings: &str,
    now: &str,
) -> StoreResult<Integration> {
    let sql = format!(
        "UPDATE tenant_integrations SET sync_enabled = $2, webhook_enabled = $3, settings = $4,
            updated_at = $5 WHERE id = $1 RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as::<_, Integration>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(i64::from(sync_enabled))
        .bind(i64::from(webhook_enabled))
        .bind(settings)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// Records how the integration's last run went (`error` `None`: it worked).
pub async fn record_run(
    conn: &mut Conn,
    id: &str,
    error: Option<&str>,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE tenant_integrations SET last_error = $2,
            last_sync_at = CASE WHEN $2 IS NULL THEN $3 ELSE last_sync_at END, updated_at = $3
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A link between a Shopify order and the farm's order.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ShopifyOrderLink {
    pub id: String,
    pub tenant_id: String,
    pub shopify_order_id: String,
    pub shopify_order_number: String,
    pub local_order_id: Option<String>,
    pub sync_status: String,
    pub sync_error: Option<String>,
    pub shopify_created_at: Option<String>,
    pub synced_at: Option<String>,
    pub updated_at: String,
}

/// Claims the link of Shopify order `shopify_id` for the farm; `false` when it exists
/// already (another delivery or the sync took the order first).
pub async fn claim_shopify_order(
    conn: &mut Conn,
    tenant: &TenantId,
    shopify_id: &str,
    number: &str,
    created_at: Option<&str>,
    now: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO shopify_orders_sync (id, tenant_id, shopify_order_id, shopify_order_number,
            sync_status, shopify_created_at, synced_at, updated_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6)
         ON CONFLICT (tenant_id, shopify_order_id) DO NOTHING",
    )
    .bind(crate::new_id())
    .bind(tenant.as_str())
    .bind(shopify_id)
    .bind(number)
    .bind(created_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records where Shopify order `shopify_id` went (`local` order, or skipped/error with why).
pub async fn settle_shopify_order(
    conn: &mut Conn,
    tenant: &TenantId,
    shopify_id: &str,
    local: Option<&str>,
    status: &str,
    error: Option<&str>,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE shopify_orders_sync SET local_order_id = COALESCE($3, local_order_id),
            sync_status = $4, sync_error = $5, synced_at = $6, updated_at = $6
         WHERE tenant_id = $1 AND shopify_order_id = $2",
    )
    .bind(tenant.as_str())
    .bind(shopify_id)
    .bind(local)
    .bind(status)
    .bind(error)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One run of an integration, as the log lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SyncLog {
    pub id: String,
    pub tenant_id: Option<String>,
    pub operation_type: Option<String>,
    pub table_name: Option<String>,
    pub record_id: Option<String>,
    pub status: Option<String>,
    pub error_message: Option<String>,
    pub created_at: String,
}

/// What one run did, for the log.
#[derive(Debug, Clone, Copy)]
pub struct NewSyncLog<'a> {
    /// INSERT, UPDATE, DELETE, SYNC or ERROR.
    pub operation: &'a str,
    /// The table it touched (`orders`).
    pub table: &'a str,
    /// The row (or the platform's id) it touched.
    pub record: Option<&'a str>,
    /// SUCCESS, FAILED, PENDING or SKIPPED.
    pub status: &'a str,
    /// What went wrong, or what it did.
    pub message: Option<&'a str>,
}

/// Logs one run of an integration.
pub async fn log(
    conn: &mut Conn,
    tenant: &TenantId,
    entry: NewSyncLog<'_>,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sync_logs (id, tenant_id, operation_type, table_name, record_id, status,
            error_message, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(crate::new_ordered_id())
    .bind(tenant.as_str())
    .bind(entry.operation)
    .bind(entry.table)
    .bind(entry.record)
    .bind(entry.status)
    .bind(entry.message)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The farm's latest `limit` log entries, newest first.
pub async fn recent_logs(
    conn: &mut Conn,
    tenant: &TenantId,
    limit: i64,
) -> StoreResult<Vec<SyncLog>> {
    Ok(sqlx::query_as::<_, SyncLog>(
        "SELECT id, tenant_id, operation_type, table_name, record_id, status, error_message, created_at
         FROM sync_logs WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(tenant.as_str())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// Webhook deliveries the farm took since `since`, and the newest one's time.
pub async fn deliveries_since(
    conn: &mut Conn,
    tenant: &TenantId,
    platform: &str,
    since: &str,
) -> StoreResult<(i64, Option<String>)> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM webhook_deliveries
         WHERE tenant_id = $1 AND platform = $2 AND received_at >= $3",
    )
    .bind(tenant.as_str())
    .bind(platform)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    let (last,): (Option<String>,) = sqlx::query_as(
        "SELECT MAX(received_at) FROM webhook_deliveries WHERE tenant_id = $1 AND platform = $2",
    )
    .bind(tenant.as_str())
    .bind(platform)
    .fetch_one(&mut *conn)
    .await?;
    Ok((count, last))
}

/// Records a webhook delivery by its sender's id; `false` when it was taken before.
pub async fn take_delivery(
    conn: &mut Conn,
    tenant: &TenantId,
    platform: &str,
    delivery_id: &str,
    topic: &str,
    now: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO webhook_deliveries (tenant_id, platform, delivery_id, topic, received_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, platform, delivery_id) DO NOTHING",
    )
    .bind(tenant.as_str())
    .bind(platform)
    .bind(delivery_id)
    .bind(topic)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
