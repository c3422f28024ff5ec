//! Worklist tasks: what operators do next (collect a print, assemble, change filament).

use crate::{Conn, StoreResult};
use domain::TenantId;
use serde::Serialize;

/// A worklist task.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Task {
    pub id: String,
    pub tenant_id: String,
    pub assembly_task_id: Option<String>,
    pub printer_id: Option<String>,
    pub assigned_to: Option<String>,
    pub title: String,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    pub task_type: String,
    pub priority: String,
    pub status: String,
    pub estimated_time_minutes: Option<i64>,
    pub actual_time_minutes: Option<i64>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub due_date: Option<String>,
    /// JSON text.
    pub metadata: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

macro_rules! columns {
    () => {
        "id, tenant_id, assembly_task_id, printer_id, assigned_to, title, subtitle, description, task_type,
         priority, status, estimated_time_minutes, actual_time_minutes, started_at, completed_at, due_date,
         metadata, created_at, updated_at"
    };
}

/// A new task.
#[derive(Debug, Clone, Default)]
pub struct NewTask<'a> {
    /// collection, assembly, filament_change, maintenance or quality_check.
    pub task_type: &'a str,
    pub title: &'a str,
    pub subtitle: Option<&'a str>,
    pub description: Option<&'a str>,
    /// low, medium or high.
    pub priority: &'a str,
    pub printer_id: Option<&'a str>,
    pub assembly_task_id: Option<&'a str>,
    pub estimated_time_minutes: Option<i64>,
    pub metadata: Option<&'a serde_json::Value>,
}

/// Adds a pending task.
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    task: &NewTask<'_>,
    now: &str,
) -> StoreResult<Task> {
    let sql = concat!(
        "INSERT INTO worklist_tasks (id, tenant_id, assembly_task_id, printer_id, title, subtitle, description,
            task_type, priority, status, estimated_time_minutes, metadata, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12, $12) RETURNING ",
        columns!()
    );
    Ok(sqlx::query_as::<_, Task>(sql)
        .bind(crate::new_id())
        .bind(tenant.as_str())
        .bind(task.assembly_task_id)
        .bind(task.printer_id)
        .bind(task.title)
        .bind(task.subtitle)
        .bind(task.description)
        .bind(task.task_type)
        .bind(task.priority)
        .bind(task.estimated_time_minutes)
        .bind(task.metadata.map(|m| m.to_string()))
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// The farm's tasks, newest first, optionally of one type and status.
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    task_type: Option<&str>,
    status: Option<&str>,
) -> StoreResult<Vec<Task>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM worklist_tasks WHERE tenant_id = $1 AND ($2 IS NULL OR task_type = $2)
           AND ($3 IS NULL OR status = $3)
         ORDER BY created_at DESC, id"
    );
    Ok(sqlx::query_as::<_, Task>(sql)
        .bind(tenant.as_str())
        .bind(task_type)
        .bind(status)
        .fetch_all(&mut *conn)
        .await?)
}

/// Completes the pending collection tasks of a printer whose bed was cleared.
pub async fn complete_collections(
    conn: &mut Conn,
    tenant: &TenantId,
    printer_id: &str,
    now: &str,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE worklist_tasks SET status = 'completed', completed_at = $3, updated_at = $3
         WHERE tenant_id = $1 AND printer_id = $2 AND task_type = 'collection' AND status IN ('pending', 'in_progress')",
    )
    .bind(tenant.as_str())
    .bind(printer_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
