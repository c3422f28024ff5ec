//! Worklist tasks: what operators do next (collect a print, assemble, change filament,
//! maintain a printer, check quality).

use crate::{Conn, StoreError, StoreResult};
use domain::TenantId;
use domain::worklist::{TaskStatus, TaskType};
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

impl Task {
    /// Its status, typed (the column's CHECK keeps it one of them).
    pub fn status(&self) -> TaskStatus {
        self.status.parse().unwrap_or(TaskStatus::Pending)
    }

    /// Its type, typed (the column's CHECK keeps it one of them).
    pub fn task_type(&self) -> Option<TaskType> {
        self.task_type.parse().ok()
    }
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
    pub assigned_to: Option<&'a str>,
    pub due_date: Option<&'a str>,
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
        "INSERT INTO worklist_tasks (id, tenant_id, assembly_task_id, printer_id, assigned_to, title, subtitle,
            description, task_type, priority, status, estimated_time_minutes, due_date, metadata,
            created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12, $13, $14, $14) RETURNING ",
        columns!()
    );
    Ok(sqlx::query_as::<_, Task>(sql)
        .bind(crate::new_id())
        .bind(tenant.as_str())
        .bind(task.assembly_task_id)
        .bind(task.printer_id)
        .bind(task.assigned_to)
        .bind(task.title)
        .bind(task.subtitle)
        .bind(task.description)
        .bind(task.task_type)
        .bind(task.priority)
        .bind(task.estimated_time_minutes)
        .bind(task.due_date)
        .bind(task.metadata.map(|m| m.to_string()))
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// One task of the farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Task> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM worklist_tasks WHERE tenant_id = $1 AND id = $2"
    );
    sqlx::query_as::<_, Task>(sql)
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Filters of the worklist.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub task_type: Option<TaskType>,
    /// One status.
    pub status: Option<TaskStatus>,
    /// Only pending and in-progress tasks (the floor's view).
    pub open: bool,
    pub priority: Option<String>,
    pub printer_id: Option<String>,
    pub assigned_to: Option<String>,
    /// The floor's order (high priority first, then the oldest) instead of newest first.
    pub floor_order: bool,
}

const FILTER: &str = "tenant_id = $1
    AND ($2 IS NULL OR task_type = $2)
    AND ($3 IS NULL OR status = $3)
    AND ($4 = 0 OR status IN ('pending', 'in_progress'))
    AND ($5 IS NULL OR priority = $5)
    AND ($6 IS NULL OR printer_id = $6)
    AND ($7 IS NULL OR assigned_to = $7)";

/// A page of the farm's tasks, newest first, and how many match in all.
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    query: &TaskQuery,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Task>, i64)> {
    let order = if query.floor_order {
        "CASE priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, created_at, id"
    } else {
        "created_at DESC, id"
    };
    let sql = format!(
        "SELECT {} FROM worklist_tasks WHERE {FILTER} ORDER BY {order} LIMIT $8 OFFSET $9",
        columns!()
    );
    let rows = sqlx::query_as::<_, Task>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(query.task_type.map(|t| t.as_str()))
        .bind(query.status.map(|s| s.as_str()))
        .bind(i64::from(query.open))
        .bind(query.priority.as_deref())
        .bind(query.printer_id.as_deref())
        .bind(query.assigned_to.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let count = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM worklist_tasks WHERE {FILTER}");
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count))
        .bind(tenant.as_str())
        .bind(query.task_type.map(|t| t.as_str()))
        .bind(query.status.map(|s| s.as_str()))
        .bind(i64::from(query.open))
        .bind(query.priority.as_deref())
        .bind(query.printer_id.as_deref())
        .bind(query.assigned_to.as_deref())
        .fetch_one(&mut *conn)
        .await?;
    Ok((rows, total))
}

/// What people may change of a task (its status moves through [`set_clock`]).
#[derive(Debug, Clone, Default)]
pub struct TaskFields {
    pub task_type: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    pub priority: String,
    pub printer_id: Option<String>,
    pub assigned_to: Option<String>,
    pub due_date: Option<String>,
    pub estimated_time_minutes: Option<i64>,
    pub metadata: Option<String>,
}

impl TaskFields {
    /// The fields as they are on `task`.
    pub fn of(task: &Task) -> TaskFields {
        TaskFields {
            task_type: task.task_type.clone(),
            title: task.title.clone(),
            subtitle: task.subtitle.clone(),
            description: task.description.clone(),
            priority: task.priority.clone(),
            printer_id: task.printer_id.clone(),
            assigned_to: task.assigned_to.clone(),
            due_date: task.due_date.clone(),
            estimated_time_minutes: task.estimated_time_minutes,
            metadata: task.metadata.clone(),
        }
    }
}

/// Writes a task's fields; returns the task as it now is.
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    fields: &TaskFields,
    now: &str,
) -> StoreResult<Task> {
    let sql = concat!(
        "UPDATE worklist_tasks SET task_type = $3, title = $4, subtitle = $5, description = $6,
            priority = $7, printer_id = $8, assigned_to = $9, due_date = $10,
            estimated_time_minutes = $11, metadata = $12, updated_at = $13
         WHERE tenant_id = $1 AND id = $2 RETURNING ",
        columns!()
    );
    sqlx::query_as::<_, Task>(sql)
        .bind(tenant.as_str())
        .bind(id)
        .bind(&fields.task_type)
        .bind(&fields.title)
        .bind(fields.subtitle.as_deref())
        .bind(fields.description.as_deref())
        .bind(&fields.priority)
        .bind(fields.printer_id.as_deref())
        .bind(fields.assigned_to.as_deref())
        .bind(fields.due_date.as_deref())
        .bind(fields.estimated_time_minutes)
        .bind(fields.metadata.as_deref())
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)
}

/// A task's status and times as they are to be written.
#[derive(Debug, Clone)]
pub struct Clock {
    pub status: TaskStatus,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub actual_time_minutes: Option<i64>,
}

/// Moves a task from `from` (compare and set: `None` when another move came first).
pub async fn set_clock(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    from: TaskStatus,
    clock: &Clock,
    now: &str,
) -> StoreResult<Option<Task>> {
    let sql = concat!(
        "UPDATE worklist_tasks SET status = $4, started_at = $5, completed_at = $6,
            actual_time_minutes = $7, updated_at = $8
         WHERE tenant_id = $1 AND id = $2 AND status = $3 RETURNING ",
        columns!()
    );
    Ok(sqlx::query_as::<_, Task>(sql)
        .bind(tenant.as_str())
        .bind(id)
        .bind(from.as_str())
        .bind(clock.status.as_str())
        .bind(clock.started_at.as_deref())
        .bind(clock.completed_at.as_deref())
        .bind(clock.actual_time_minutes)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Removes a task; false when the farm has none with this id.
pub async fn delete(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM worklist_tasks WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Open (pending or in-progress) tasks of one type for a printer, oldest first.
pub async fn open_for_printer(
    conn: &mut Conn,
    tenant: &TenantId,
    printer_id: &str,
    task_type: TaskType,
) -> StoreResult<Vec<Task>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM worklist_tasks WHERE tenant_id = $1 AND printer_id = $2 AND task_type = $3
            AND status IN ('pending', 'in_progress') ORDER BY created_at, id"
    );
    Ok(sqlx::query_as::<_, Task>(sql)
        .bind(tenant.as_str())
        .bind(printer_id)
        .bind(task_type.as_str())
        .fetch_all(&mut *conn)
        .await?)
}

/// Tasks of one type across the farm that are open, or were cancelled since `since`
/// (what was asked lately, so that a rule asks nothing twice), oldest first.
pub async fn asked_lately(
    conn: &mut Conn,
    tenant: &TenantId,
    task_type: TaskType,
    since: &str,
) -> StoreResult<Vec<Task>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM worklist_tasks WHERE tenant_id = $1 AND task_type = $2
            AND (status IN ('pending', 'in_progress') OR (status = 'cancelled' AND updated_at >= $3))
          ORDER BY created_at, id"
    );
    Ok(sqlx::query_as::<_, Task>(sql)
        .bind(tenant.as_str())
        .bind(task_type.as_str())
        .bind(since)
        .fetch_all(&mut *conn)
        .await?)
}

/// The open worklist tasks that stand for an assembly task.
pub async fn open_of_assembly(
    conn: &mut Conn,
    tenant: &TenantId,
    assembly_task_id: &str,
) -> StoreResult<Vec<Task>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM worklist_tasks WHERE tenant_id = $1 AND assembly_task_id = $2
            AND status IN ('pending', 'in_progress') ORDER BY created_at, id"
    );
    Ok(sqlx::query_as::<_, Task>(sql)
        .bind(tenant.as_str())
        .bind(assembly_task_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// Counts of the farm's worklist.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskFigures {
    pub total: i64,
    pub pending: i64,
    pub in_progress: i64,
    pub completed: i64,
    pub cancelled: i64,
    /// Open tasks past their due date.
    pub overdue: i64,
    /// Completed since the start of today (UTC).
    pub completed_today: i64,
    /// Mean minutes of completed tasks that recorded them.
    pub average_minutes: Option<f64>,
    /// Open tasks by type.
    pub open_by_type: Vec<(String, i64)>,
    /// Open tasks by priority.
    pub open_by_priority: Vec<(String, i64)>,
}

/// The farm's worklist counts at `now` (`today` is the start of the day, same format).
pub async fn figures(
    conn: &mut Conn,
    tenant: &TenantId,
    now: &str,
    today: &str,
) -> StoreResult<TaskFigures> {
    let (total, pending, in_progress, completed, cancelled, overdue, completed_today, average): (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        Option<f64>,
    ) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN status = 'in_progress' THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN status IN ('pending', 'in_progress') AND due_date IS NOT NULL
                AND due_date < $2 THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN status = 'completed' AND completed_at >= $3 THEN 1 ELSE 0 END), 0)
                AS BIGINT),
            CAST(AVG(CASE WHEN status = 'completed' THEN actual_time_minutes END) AS DOUBLE PRECISION)
         FROM worklist_tasks WHERE tenant_id = $1",
    )
    .bind(tenant.as_str())
    .bind(now)
    .bind(today)
    .fetch_one(&mut *conn)
    .await?;
    let open_by = |column: &str| {
        format!(
            "SELECT {column}, CAST(COUNT(*) AS BIGINT) FROM worklist_tasks
             WHERE tenant_id = $1 AND status IN ('pending', 'in_progress') GROUP BY {column} ORDER BY {column}"
        )
    };
    let open_by_type: Vec<(String, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(open_by("task_type")))
            .bind(tenant.as_str())
            .fetch_all(&mut *conn)
            .await?;
    let open_by_priority: Vec<(String, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(open_by("priority")))
            .bind(tenant.as_str())
            .fetch_all(&mut *conn)
            .await?;
    Ok(TaskFigures {
        total,
        pending,
        in_progress,
        completed,
        cancelled,
        overdue,
        completed_today,
        average_minutes: average,
        open_by_type,
        open_by_priority,
    })
}
