//! Print jobs of a farm. Status changes are conditional on the status the caller saw,
//! so two requests (or two servers) can't both move the same job.

use crate::{Conn, StoreError, StoreResult};
use domain::TenantId;
use domain::jobs::{JobStatus, MoveRecord};
use serde::Serialize;

/// A print job row.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    pub tenant_id: String,
    pub printer_id: Option<String>,
    pub print_file_id: String,
    pub product_sku_id: Option<String>,
    pub submitted_by: Option<String>,
    pub file_name: String,
    #[sqlx(try_from = "String")]
    pub status: JobStatus,
    pub color: String,
    pub filament_type: String,
    pub material_type: String,
    pub number_of_units: i64,
    pub filament_needed_grams: Option<i64>,
    pub estimated_print_time_minutes: Option<i64>,
    pub actual_print_time_minutes: Option<i64>,
    pub progress_percentage: i64,
    pub printer_numeric_id: Option<i64>,
    pub priority: i64,
    pub failure_reason: Option<String>,
    pub time_submitted: Option<String>,
    pub time_started: Option<String>,
    pub time_completed: Option<String>,
    pub requires_assembly: i64,
    pub quantity_per_print: i64,
    pub product_id: Option<String>,
    pub product_name: Option<String>,
    pub sku_name: Option<String>,
    pub printer_model: Option<String>,
    pub printer_name: Option<String>,
    pub plate_index: i64,
    pub wait_reason: Option<String>,
    /// The order it was queued for, when it covers an order line's shortfall.
    pub order_id: Option<String>,
    /// That order line.
    pub order_item_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The printer's own id for the print (the Pi kept it; reports here match on the job's
    /// id sent with the print, so this stays null). Sent for the original's client.
    #[sqlx(skip)]
    pub bambu_job_id: Option<String>,
    /// When the Pi last polled the printer for this job (null: the hub pushes reports).
    #[sqlx(skip)]
    pub last_sync_time: Option<String>,
}

macro_rules! columns {
    () => {
        "id, tenant_id, printer_id, print_file_id, product_sku_id, submitted_by, file_name, status, color,
         filament_type, material_type, number_of_units, filament_needed_grams, estimated_print_time_minutes,
         actual_print_time_minutes, progress_percentage, printer_numeric_id, priority, failure_reason,
         time_submitted, time_started, time_completed, requires_assembly, quantity_per_print, product_id,
         product_name, sku_name, printer_model, printer_name, plate_index, wait_reason, order_id, order_item_id, created_at, updated_at"
    };
}

/// A new job's values.
#[derive(Debug, Clone, Default)]
pub struct NewJob {
    pub print_file_id: String,
    pub file_name: String,
    pub plate_index: i64,
    pub submitted_by: Option<String>,
    pub color: String,
    pub filament_type: String,
    pub material_type: String,
    pub number_of_units: i64,
    pub quantity_per_print: i64,
    pub filament_needed_grams: Option<i64>,
    pub estimated_print_time_minutes: Option<i64>,
    pub priority: i64,
    pub product_id: Option<String>,
    pub product_sku_id: Option<String>,
    pub product_name: Option<String>,
    pub sku_name: Option<String>,
    pub requires_assembly: bool,
    /// The order and line it covers, if any.
    pub order_id: Option<String>,
    pub order_item_id: Option<String>,
}

/// Queues a job.
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    job: &NewJob,
    now: &str,
) -> StoreResult<Job> {
    Ok(sqlx::query_as::<_, Job>(concat!(
        "INSERT INTO print_jobs (id, tenant_id, print_file_id, file_name, plate_index, submitted_by, status, color,
            filament_type, material_type, number_of_units, quantity_per_print, filament_needed_grams,
            estimated_print_time_minutes, priority, product_id, product_sku_id, product_name, sku_name,
            requires_assembly, order_id, order_item_id, progress_percentage, time_submitted, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $21, $22, 0, $20, $20, $20)
         RETURNING ",
        columns!()
    ))
    .bind(crate::new_id())
    .bind(tenant.as_str())
    .bind(&job.print_file_id)
    .bind(&job.file_name)
    .bind(job.plate_index)
    .bind(job.submitted_by.as_deref())
    .bind(&job.color)
    .bind(&job.filament_type)
    .bind(&job.material_type)
    .bind(job.number_of_units)
    .bind(job.quantity_per_print)
    .bind(job.filament_needed_grams)
    .bind(job.estimated_print_time_minutes)
    .bind(job.priority)
    .bind(job.product_id.as_deref())
    .bind(job.product_sku_id.as_deref())
    .bind(job.product_name.as_deref())
    .bind(job.sku_name.as_deref())
    .bind(i64::from(job.requires_assembly))
    .bind(now)
    .bind(job.order_id.as_deref())
    .bind(job.order_item_id.as_deref())
    .fetch_one(&mut *conn)
    .await?)
}

/// One job of the farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Job> {
    Ok(sqlx::query_as::<_, Job>(concat!(
        "SELECT ",
        columns!(),
        " FROM print_jobs WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.as_str())
    .bind(id)
    .fetch_one(&mut *conn)
    .await?)
}

/// The farm's jobs queued for order `order_id`, oldest first.
pub async fn of_order(conn: &mut Conn, tenant: &TenantId, order_id: &str) -> StoreResult<Vec<Job>> {
    Ok(sqlx::query_as::<_, Job>(concat!(
        "SELECT ",
        columns!(),
        " FROM print_jobs WHERE tenant_id = $1 AND order_id = $2 ORDER BY created_at, id"
    ))
    .bind(tenant.as_str())
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Stops a job counting for its order line (its order stays named, for the order's page).
pub async fn unlink_from_line(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE print_jobs SET order_item_id = NULL WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Filters of a job list.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    /// Any of these statuses (none: all).
    pub statuses: Vec<JobStatus>,
    pub printer_id: Option<String>,
    pub product_id: Option<String>,
    /// Only the jobs queued for this order.
    pub order_id: Option<String>,
    /// A column from `SORTABLE`.
    pub sort_by: &'static str,
    pub ascending: bool,
}

/// Columns a job list may be sorted by.
pub const SORTABLE: &[&str] = &[
    "created_at",
    "updated_at",
    "priority",
    "status",
    "time_submitted",
    "time_completed",
    "file_name",
];

/// A page of the farm's jobs and how many match.
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    q: &JobQuery,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Job>, i64)> {
    let sort_by = SORTABLE
        .iter()
        .find(|c| **c == q.sort_by)
        .copied()
        .unwrap_or("created_at");
    let direction = if q.ascending { "ASC" } else { "DESC" };
    // Statuses are few and come from a closed set; they are bound, padded to a fixed list.
    let mut statuses: Vec<&str> = q.statuses.iter().map(|s| s.as_str()).collect();
    statuses.resize(8, "");
    let any_status = i64::from(q.statuses.is_empty());
    let filter = "tenant_id = $1 AND ($2 = 1 OR status IN ($3, $4, $5, $6, $7, $8, $9, $10))
        AND ($11 IS NULL OR printer_id = $11) AND ($12 IS NULL OR product_id = $12)
        AND ($13 IS NULL OR order_id = $13)";
    let sql = format!(
        "SELECT {} FROM print_jobs WHERE {filter} ORDER BY {sort_by} {direction}, id LIMIT $14 OFFSET $15",
        columns!()
    );
    let mut query = sqlx::query_as::<_, Job>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(any_status);
    for s in &statuses {
        query = query.bind(*s);
    }
    let rows = query
        .bind(q.printer_id.as_deref())
        .bind(q.product_id.as_deref())
        .bind(q.order_id.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let count_sql = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM print_jobs WHERE {filter}");
    let mut count = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(count_sql))
        .bind(tenant.as_str())
        .bind(any_status);
    for s in &statuses {
        count = count.bind(*s);
    }
    let (total,) = count
        .bind(q.printer_id.as_deref())
        .bind(q.product_id.as_deref())
        .bind(q.order_id.as_deref())
        .fetch_one(&mut *conn)
        .await?;
    Ok((rows, total))
}

/// A queued job with what the dispatcher needs from its file and stock.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueuedForDispatch {
    pub id: String,
    pub printer_id: Option<String>,
    pub priority: i64,
    pub time_submitted: Option<String>,
    pub created_at: String,
    pub filament_type: String,
    pub color: String,
    pub requires_assembly: i64,
    pub wait_reason: Option<String>,
    /// The model the file was sliced for.
    pub printer_model_id: Option<String>,
    /// The nozzle the file was sliced for.
    pub nozzle_diameter: Option<f64>,
    /// 1 when the job's SKU is at or below its low-stock threshold.
    pub low_on_stock: i64,
    /// The order's own priority when the job was queued for an order.
    pub order_priority: Option<i64>,
}

/// The farm's queued jobs, for the dispatcher.
pub async fn queued_for_dispatch(
    conn: &mut Conn,
    tenant: &TenantId,
) -> StoreResult<Vec<QueuedForDispatch>> {
    Ok(sqlx::query_as::<_, QueuedForDispatch>(
        "SELECT j.id, j.printer_id, j.priority, j.time_submitted, j.created_at, j.filament_type, j.color,
                j.requires_assembly, j.wait_reason, f.printer_model_id, f.nozzle_diameter,
                CAST(CASE WHEN g.id IS NOT NULL AND g.current_stock <= g.low_stock_threshold THEN 1 ELSE 0 END AS BIGINT) AS low_on_stock,
                o.priority AS order_priority
         FROM print_jobs j
         JOIN print_files f ON f.id = j.print_file_id AND f.tenant_id = j.tenant_id
         LEFT JOIN finished_goods g ON g.tenant_id = j.tenant_id AND g.product_sku_id = j.product_sku_id
         LEFT JOIN orders o ON o.id = j.order_id
         WHERE j.tenant_id = $1 AND j.status = 'queued'
         ORDER BY j.created_at, j.id",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?)
}

/// The job that holds the printer (processing, uploaded, printing or paused), if any.
pub async fn active_on_printer(
    conn: &mut Conn,
    tenant: &TenantId,
    printer_id: &str,
) -> StoreResult<Option<Job>> {
    Ok(sqlx::query_as::<_, Job>(concat!(
        "SELECT ",
        columns!(),
        " FROM print_jobs WHERE tenant_id = $1 AND printer_id = $2
           AND status IN ('processing', 'uploaded', 'printing', 'paused')
         ORDER BY updated_at DESC LIMIT 1"
    ))
    .bind(tenant.as_str())
    .bind(printer_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Records how long a finished job printed, in minutes.
pub async fn set_actual_minutes(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    minutes: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE print_jobs SET actual_print_time_minutes = $3 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(minutes)
    .execute(&mut *conn)
    .await?;
    let day = crate::analytics::day_of_job(conn, tenant.as_str(), id).await?;
    crate::analytics::touch(conn, tenant.as_str(), &[day.as_deref()]).await
}

/// Moves a job from `from` to `to`; `Conflict { field: "status" }` when it is no longer in `from`.
pub async fn move_status(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    from: JobStatus,
    to: JobStatus,
    extra: &MoveRecord,
    now: &str,
) -> StoreResult<Job> {
    // The day it counted on before (a retry or a cancel takes it off that day).
    let before = crate::analytics::day_of_job(conn, tenant.as_str(), id).await?;
    let done = sqlx::query(
        "UPDATE print_jobs SET status = $4,
            failure_reason = CASE WHEN $9 = 1 THEN NULL ELSE COALESCE($5, failure_reason) END,
            progress_percentage = CASE WHEN $9 = 1 THEN 0 ELSE COALESCE($6, progress_percentage) END,
            time_started = CASE WHEN $7 = 1 THEN $10 WHEN $9 = 1 THEN NULL ELSE time_started END,
            time_completed = CASE WHEN $8 = 1 THEN $10 WHEN $9 = 1 THEN NULL ELSE time_completed END,
            printer_id = CASE WHEN $9 = 1 THEN NULL ELSE printer_id END,
            printer_numeric_id = CASE WHEN $9 = 1 THEN NULL ELSE printer_numeric_id END,
            printer_name = CASE WHEN $9 = 1 THEN NULL ELSE printer_name END,
            printer_model = CASE WHEN $9 = 1 THEN NULL ELSE printer_model END,
            updated_at = $10
         WHERE tenant_id = $1 AND id = $2 AND status = $3",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(extra.failure_reason.as_deref())
    .bind(extra.progress)
    .bind(i64::from(extra.started))
    .bind(i64::from(extra.completed))
    .bind(i64::from(extra.requeue))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict {
            field: "status".into(),
        });
    }
    let job = get(conn, tenant, id).await?;
    crate::analytics::touch(
        conn,
        tenant.as_str(),
        &[before.as_deref(), job.time_completed.as_deref()],
    )
    .await?;
    Ok(job)
}

/// Records progress of a printing job.
pub async fn set_progress(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    progress: i64,
    now: &str,
) -> StoreResult<Job> {
    let done = sqlx::query(
        "UPDATE print_jobs SET progress_percentage = $3, last_sync_time = $4, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(progress)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, tenant, id).await
}

/// Changes a queued job's priority, units or colour.
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    priority: Option<i64>,
    number_of_units: Option<i64>,
    color: Option<&str>,
    now: &str,
) -> StoreResult<Job> {
    let done = sqlx::query(
        "UPDATE print_jobs SET priority = COALESCE($3, priority), number_of_units = COALESCE($4, number_of_units),
            color = COALESCE($5, color), updated_at = $6
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(priority)
    .bind(number_of_units)
    .bind(color)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    let job = get(conn, tenant, id).await?;
    crate::analytics::touch(conn, tenant.as_str(), &[job.time_completed.as_deref()]).await?;
    Ok(job)
}

/// Deletes a job unless it holds a printer; `Conflict { field: "status" }` if it does.
pub async fn delete(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<()> {
    let day = crate::analytics::day_of_job(conn, tenant.as_str(), id).await?;
    let done = sqlx::query(
        "DELETE FROM print_jobs WHERE tenant_id = $1 AND id = $2
           AND status NOT IN ('processing', 'uploaded', 'printing', 'paused')",
    )
    .bind(tenant.as_str())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        get(conn, tenant, id).await?;
        return Err(StoreError::Conflict {
            field: "status".into(),
        });
    }
    crate::analytics::touch(conn, tenant.as_str(), &[day.as_deref()]).await
}

/// Counts of the farm's jobs by status.
pub async fn counts_by_status(
    conn: &mut Conn,
    tenant: &TenantId,
) -> StoreResult<Vec<(JobStatus, i64)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, CAST(COUNT(*) AS BIGINT) FROM print_jobs WHERE tenant_id = $1 GROUP BY status ORDER BY status",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(status, n)| Ok((crate::stored_enum(status)?, n)))
        .collect()
}

/// Assigns a queued job to a printer (or takes it off one with `None`).
pub async fn assign(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    printer: Option<&crate::printers::Printer>,
    now: &str,
) -> StoreResult<Job> {
    let done = sqlx::query(
        "UPDATE print_jobs SET printer_id = $3, printer_numeric_id = $4, printer_name = $5, printer_model = $6,
            wait_reason = NULL, updated_at = $7
         WHERE tenant_id = $1 AND id = $2 AND status = 'queued'",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(printer.map(|p| p.id.as_str()))
    .bind(printer.and_then(|p| p.printer_id))
    .bind(printer.map(|p| p.name.as_str()))
    .bind(printer.map(|p| p.model.as_str()))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        get(conn, tenant, id).await?;
        return Err(StoreError::Conflict {
            field: "status".into(),
        });
    }
    get(conn, tenant, id).await
}

/// Records why a queued job is waiting (JSON), or clears it.
pub async fn set_wait_reason(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    reason: Option<&str>,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE print_jobs SET wait_reason = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(reason)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The farm's jobs that completed or failed at or after `since`: (status, time_completed),
/// oldest first. The overview buckets them by hour.
pub async fn finished_since(
    conn: &mut Conn,
    tenant: &TenantId,
    since: &str,
) -> StoreResult<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT status, time_completed FROM print_jobs
         WHERE tenant_id = $1 AND status IN ('completed', 'failed')
           AND time_completed IS NOT NULL AND time_completed >= $2
         ORDER BY time_completed",
    )
    .bind(tenant.as_str())
    .bind(since)
    .fetch_all(&mut *conn)
    .await?)
}

/// The plate a job that holds a printer prints, with what its thumbnail's URL needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlateOnPrinter {
    pub printer_id: String,
    pub job_id: String,
    pub print_file_id: String,
    pub plate_index: i64,
    /// Set when the file was stored with a picture.
    pub thumbnail_r2_key: Option<String>,
    pub content_sha256: Option<String>,
    pub file_updated_at: String,
}

/// The plates of the farm's jobs that hold a printer (processing, uploaded, printing or
/// paused), oldest change first: where a printer holds two, the last one is its newest.
pub async fn plates_on_printers(
    conn: &mut Conn,
    tenant: &TenantId,
) -> StoreResult<Vec<PlateOnPrinter>> {
    Ok(sqlx::query_as::<_, PlateOnPrinter>(
        "SELECT j.printer_id, j.id AS job_id, j.print_file_id, j.plate_index,
                f.thumbnail_r2_key, f.content_sha256, f.updated_at AS file_updated_at
         FROM print_jobs j
         JOIN print_files f ON f.id = j.print_file_id AND f.tenant_id = j.tenant_id
         WHERE j.tenant_id = $1 AND j.printer_id IS NOT NULL
           AND j.status IN ('processing', 'uploaded', 'printing', 'paused')
         ORDER BY j.updated_at, j.id",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?)
}

/// Sets the base priority of the queued jobs matched by `filter` (`$2`); returns how many.
async fn set_queued_priority(
    conn: &mut Conn,
    tenant: &TenantId,
    filter: &str,
    key: &str,
    priority: i64,
    now: &str,
) -> StoreResult<u64> {
    let sql = format!(
        "UPDATE print_jobs SET priority = $3, updated_at = $4
         WHERE tenant_id = $1 AND status = 'queued' AND {filter} = $2"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(key)
        .bind(priority)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Sets the base priority of an order's queued jobs; returns how many.
pub async fn set_queued_priority_of_order(
    conn: &mut Conn,
    tenant: &TenantId,
    order_id: &str,
    priority: i64,
    now: &str,
) -> StoreResult<u64> {
    set_queued_priority(conn, tenant, "order_id", order_id, priority, now).await
}

/// Sets the base priority of a product's queued jobs; returns how many.
pub async fn set_queued_priority_of_product(
    conn: &mut Conn,
    tenant: &TenantId,
    product_id: &str,
    priority: i64,
    now: &str,
) -> StoreResult<u64> {
    set_queued_priority(conn, tenant, "product_id", product_id, priority, now).await
}

/// Sets the base priority of one job if it is queued; returns 1 if it was.
pub async fn set_queued_priority_of_job(
    conn: &mut Conn,
    tenant: &TenantId,
    job_id: &str,
    priority: i64,
    now: &str,
) -> StoreResult<u64> {
    set_queued_priority(conn, tenant, "id", job_id, priority, now).await
}
