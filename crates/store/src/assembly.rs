//! Assembly tasks: printed units of a product that need putting together before sale.

use crate::{Conn, StoreResult};
use domain::TenantId;
use serde::Serialize;

/// An assembly task.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AssemblyTask {
    pub id: String,
    pub tenant_id: String,
    pub finished_good_id: String,
    pub assigned_to: Option<String>,
    pub product_name: String,
    pub sku: String,
    pub quantity: i64,
    pub status: String,
    pub notes: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
}

macro_rules! columns {
    () => {
        "id, tenant_id, finished_good_id, assigned_to, product_name, sku, quantity, status, notes,
         created_at, updated_at, completed_at"
    };
}

/// Adds a pending assembly task for `quantity` units of a finished good.
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    finished_good_id: &str,
    product_name: &str,
    sku: &str,
    quantity: i64,
    now: &str,
) -> StoreResult<AssemblyTask> {
    let sql = concat!(
        "INSERT INTO assembly_tasks (id, tenant_id, finished_good_id, product_name, sku, quantity, status,
            created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) RETURNING ",
        columns!()
    );
    Ok(sqlx::query_as::<_, AssemblyTask>(sql)
        .bind(crate::new_id())
        .bind(tenant.as_str())
        .bind(finished_good_id)
        .bind(product_name)
        .bind(sku)
        .bind(quantity)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// The farm's assembly tasks, newest first.
pub async fn list(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<AssemblyTask>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM assembly_tasks WHERE tenant_id = $1 ORDER BY created_at DESC, id"
    );
    Ok(sqlx::query_as::<_, AssemblyTask>(sql)
        .bind(tenant.as_str())
        .fetch_all(&mut *conn)
        .await?)
}
