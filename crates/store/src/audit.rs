//! The farm's audit log: who changed what, when, from where.

use crate::{Conn, StoreResult};
use domain::TenantId;
use serde::Serialize;

/// One change to record.
#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    /// Who made it (none for the system).
    pub user_id: Option<&'a str>,
    /// What was done (`member.invited`, `member.role_changed`, ...).
    pub action: &'a str,
    /// The table changed.
    pub table_name: Option<&'a str>,
    /// The row changed.
    pub record_id: Option<&'a str>,
    /// Values before, as JSON.
    pub old_values: Option<serde_json::Value>,
    /// Values after, as JSON.
    pub new_values: Option<serde_json::Value>,
    /// The client's address.
    pub ip_address: Option<&'a str>,
    /// The client's user agent.
    pub user_agent: Option<&'a str>,
}

/// A recorded change, as listed.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    /// Id.
    pub id: String,
    /// Who.
    pub user_id: Option<String>,
    /// What.
    pub action: String,
    /// Which table.
    pub table_name: Option<String>,
    /// Which row.
    pub record_id: Option<String>,
    /// Before (JSON text).
    pub old_values: Option<String>,
    /// After (JSON text).
    pub new_values: Option<String>,
    /// From which address.
    pub ip_address: Option<String>,
    /// When.
    pub created_at: String,
}

/// Records a change in the farm's audit log (in the caller's transaction).
pub async fn record(
    conn: &mut Conn,
    tenant: &TenantId,
    entry: Entry<'_>,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_logs (id, tenant_id, user_id, action, table_name, record_id, old_values, new_values, ip_address, user_agent, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(crate::new_ordered_id())
    .bind(tenant.as_str())
    .bind(entry.user_id)
    .bind(entry.action)
    .bind(entry.table_name)
    .bind(entry.record_id)
    .bind(entry.old_values.map(|v| v.to_string()))
    .bind(entry.new_values.map(|v| v.to_string()))
    .bind(entry.ip_address)
    .bind(entry.user_agent)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The farm's most recent audit rows, newest first.
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<AuditRow>, i64)> {
    let rows = sqlx::query_as::<_, AuditRow>(
        "SELECT id, user_id, action, table_name, record_id, old_values, new_values, ip_address, created_at
         FROM audit_logs WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(tenant.as_str())
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let (total,): (i64,) =
        sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_logs WHERE tenant_id = $1")
            .bind(tenant.as_str())
            .fetch_one(&mut *conn)
            .await?;
    Ok((rows, total))
}
