//! Assembly tasks: printed units of a product that need putting together before sale.

use crate::{Conn, StoreError, StoreResult};
use domain::TenantId;
use domain::worklist::AssemblyStatus;
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

impl AssemblyTask {
    /// Its status, typed (the column's CHECK keeps it one of them).
    pub fn status(&self) -> AssemblyStatus {
        self.status.parse().unwrap_or(AssemblyStatus::Pending)
    }
}

macro_rules! columns {
    () => {
        "id, tenant_id, finished_good_id, assigned_to, product_name, sku, quantity, status, notes,
         created_at, updated_at, completed_at"
    };
}

/// A new assembly task.
#[derive(Debug, Clone, Default)]
pub struct NewAssembly<'a> {
    pub finished_good_id: &'a str,
    pub product_name: &'a str,
    pub sku: &'a str,
    pub quantity: i64,
    pub assigned_to: Option<&'a str>,
    pub notes: Option<&'a str>,
}

/// Adds a pending assembly task.
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    task: &NewAssembly<'_>,
    now: &str,
) -> StoreResult<AssemblyTask> {
    let sql = concat!(
        "INSERT INTO assembly_tasks (id, tenant_id, finished_good_id, assigned_to, product_name, sku, quantity,
            status, notes, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $9) RETURNING ",
        columns!()
    );
    Ok(sqlx::query_as::<_, AssemblyTask>(sql)
        .bind(crate::new_id())
        .bind(tenant.as_str())
        .bind(task.finished_good_id)
        .bind(task.assigned_to)
        .bind(task.product_name)
        .bind(task.sku)
        .bind(task.quantity)
        .bind(task.notes)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// One assembly task of the farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<AssemblyTask> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM assembly_tasks WHERE tenant_id = $1 AND id = $2"
    );
    sqlx::query_as::<_, AssemblyTask>(sql)
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Filters of the assembly list.
#[derive(Debug, Clone, Default)]
pub struct AssemblyQuery {
    pub status: Option<AssemblyStatus>,
    pub assigned_to: Option<String>,
    pub finished_good_id: Option<String>,
}

const FILTER: &str = "tenant_id = $1 AND ($2 IS NULL OR status = $2)
    AND ($3 IS NULL OR assigned_to = $3) AND ($4 IS NULL OR finished_good_id = $4)";

/// A page of the farm's assembly tasks, newest first, and how many match in all.
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    query: &AssemblyQuery,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<AssemblyTask>, i64)> {
    let sql = format!(
        "SELECT {} FROM assembly_tasks WHERE {FILTER} ORDER BY created_at DESC, id LIMIT $5 OFFSET $6",
        columns!()
    );
    let rows = sqlx::query_as::<_, AssemblyTask>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(query.status.map(|s| s.as_str()))
        .bind(query.assigned_to.as_deref())
        .bind(query.finished_good_id.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let count = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM assembly_tasks WHERE {FILTER}");
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count))
        .bind(tenant.as_str())
        .bind(query.status.map(|s| s.as_str()))
        .bind(query.assigned_to.as_deref())
        .bind(query.finished_good_id.as_deref())
        .fetch_one(&mut *conn)
        .await?;
    Ok((rows, total))
}

/// Writes who assembles, how many and the notes; returns the task as it now is.
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    assigned_to: Option<&str>,
    quantity: i64,
    notes: Option<&str>,
    now: &str,
) -> StoreResult<AssemblyTask> {
    let sql = concat!(
        "UPDATE assembly_tasks SET assigned_to = $3, quantity = $4, notes = $5, updated_at = $6
         WHERE tenant_id = $1 AND id = $2 RETURNING ",
        columns!()
    );
    sqlx::query_as::<_, AssemblyTask>(sql)
        .bind(tenant.as_str())
        .bind(id)
        .bind(assigned_to)
        .bind(quantity)
        .bind(notes)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Moves an assembly task from `from` to `to` (compare and set: `None` when another move
/// came first); completing stamps `completed_at`.
pub async fn set_status(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    from: AssemblyStatus,
    to: AssemblyStatus,
    now: &str,
) -> StoreResult<Option<AssemblyTask>> {
    let sql = concat!(
        "UPDATE assembly_tasks SET status = $4,
            completed_at = CASE WHEN $4 = 'completed' THEN $5 ELSE NULL END, updated_at = $5
         WHERE tenant_id = $1 AND id = $2 AND status = $3 RETURNING ",
        columns!()
    );
    Ok(sqlx::query_as::<_, AssemblyTask>(sql)
        .bind(tenant.as_str())
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Removes an assembly task; false when the farm has none with this id.
pub async fn delete(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM assembly_tasks WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts of the farm's assembly work.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AssemblyFigures {
    pub total: i64,
    pub pending: i64,
    pub in_progress: i64,
    pub completed: i64,
    /// Units in open tasks.
    pub units_waiting: i64,
    /// Units of tasks completed since the start of today (UTC).
    pub units_completed_today: i64,
    /// Units waiting for assembly in finished goods (the stock's own count).
    pub units_needing_assembly: i64,
}

/// The farm's assembly counts (`today` is the start of the day, stored format).
pub async fn figures(
    conn: &mut Conn,
    tenant: &TenantId,
    today: &str,
) -> StoreResult<AssemblyFigures> {
    let (total, pending, in_progress, completed, units_waiting, units_completed_today): (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
    ) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN status = 'in_progress' THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN status <> 'completed' THEN quantity ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN status = 'completed' AND completed_at >= $2 THEN quantity ELSE 0 END), 0)
                AS BIGINT)
         FROM assembly_tasks WHERE tenant_id = $1",
    )
    .bind(tenant.as_str())
    .bind(today)
    .fetch_one(&mut *conn)
    .await?;
    let (units_needing_assembly,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(quantity_needs_assembly), 0) AS BIGINT) FROM finished_goods
         WHERE tenant_id = $1",
    )
    .bind(tenant.as_str())
    .fetch_one(&mut *conn)
    .await?;
    Ok(AssemblyFigures {
        total,
        pending,
        in_progress,
        completed,
        units_waiting,
        units_completed_today,
        units_needing_assembly,
    })
}
