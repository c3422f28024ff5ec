//! Printers of a farm. Every function takes the farm first.

use crate::{Conn, StoreError, StoreResult};
use domain::printers::PrinterStatus;
use domain::{PrinterId, TenantId};
use serde::Serialize;

/// A printer row. `access_code` holds the sealed code (or none); the server masks it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct Printer {
    pub id: String,
    pub tenant_id: String,
    pub hub_id: Option<String>,
    pub name: String,
    pub model: String,
    pub manufacturer: Option<String>,
    pub firmware_version: Option<String>,
    pub total_print_time: i64,
    pub last_maintenance_date: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: PrinterStatus,
    pub current_color: Option<String>,
    pub current_color_hex: Option<String>,
    pub current_filament_type: Option<String>,
    pub current_build_plate: Option<String>,
    pub filament_level: i64,
    pub nozzle_size: Option<f64>,
    pub location: Option<String>,
    pub connection_type: String,
    pub ip_address: Option<String>,
    pub serial_number: Option<String>,
    pub access_code: Option<String>,
    pub is_connected: i64,
    pub last_connection_attempt: Option<String>,
    pub connection_error: Option<String>,
    pub is_active: i64,
    pub cleared: i64,
    pub sort_order: i64,
    /// The farm's own number for the printer (1, 2, 3 ...).
    pub printer_id: Option<i64>,
    pub in_maintenance: i64,
    pub maintenance_type: Option<String>,
    /// Print hours between maintenance (0: not by hours).
    pub maintenance_interval_hours: i64,
    /// `total_print_time` (minutes) at the last maintenance.
    pub print_minutes_at_maintenance: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Printer {
    /// The typed id.
    pub fn printer_id(&self) -> PrinterId {
        PrinterId::from_stored(self.id.clone())
    }
}

macro_rules! columns {
    () => {
        "id, tenant_id, hub_id, name, model, manufacturer, firmware_version, total_print_time,
         last_maintenance_date, status, current_color, current_color_hex, current_filament_type,
         current_build_plate, filament_level, nozzle_size, location, connection_type, ip_address,
         serial_number, access_code, is_connected, last_connection_attempt, connection_error,
         is_active, cleared, sort_order, printer_id, in_maintenance, maintenance_type,
         maintenance_interval_hours, print_minutes_at_maintenance, created_at, updated_at"
    };
}

/// The columns as `json_object` / `json_build_object` arguments: a list is read as one JSON
/// value, because sqlx hands each row of a result over from its SQLite worker thread and
/// converts it to an `AnyRow` (about 14 µs a row: most of a 50-printer list's time).
const JSON_PAIRS: &str = "'id', id, 'tenant_id', tenant_id, 'hub_id', hub_id, 'name', name, 'model', model, 'manufacturer', manufacturer, 'firmware_version', firmware_version, 'total_print_time', total_print_time, 'last_maintenance_date', last_maintenance_date, 'status', status, 'current_color', current_color, 'current_color_hex', current_color_hex, 'current_filament_type', current_filament_type, 'current_build_plate', current_build_plate, 'filament_level', filament_level, 'nozzle_size', nozzle_size, 'location', location, 'connection_type', connection_type, 'ip_address', ip_address, 'serial_number', serial_number, 'access_code', access_code, 'is_connected', is_connected, 'last_connection_attempt', last_connection_attempt, 'connection_error', connection_error, 'is_active', is_active, 'cleared', cleared, 'sort_order', sort_order, 'printer_id', printer_id, 'in_maintenance', in_maintenance, 'maintenance_type', maintenance_type, 'maintenance_interval_hours', maintenance_interval_hours, 'print_minutes_at_maintenance', print_minutes_at_maintenance, 'created_at', created_at, 'updated_at', updated_at";

/// How a route names a printer: its id, or the farm's number for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterKey {
    /// The global id (UUID).
    Id(PrinterId),
    /// The farm's number.
    Number(i64),
}

impl PrinterKey {
    /// Parses a path segment; `None` when it is neither a UUID nor a positive number.
    pub fn parse(text: &str) -> Option<PrinterKey> {
        if let Some(id) = PrinterId::parse(text) {
            return Some(PrinterKey::Id(id));
        }
        text.parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(PrinterKey::Number)
    }
}

/// The values of a printer a client sets; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct PrinterFields {
    pub name: Option<String>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
    pub hub_id: Option<String>,
    pub nozzle_size: Option<f64>,
    pub location: Option<String>,
    pub connection_type: Option<String>,
    pub ip_address: Option<String>,
    pub serial_number: Option<String>,
    pub current_color: Option<String>,
    pub current_color_hex: Option<String>,
    pub current_filament_type: Option<String>,
    pub current_build_plate: Option<String>,
    pub is_active: Option<i64>,
    pub sort_order: Option<i64>,
    /// Print hours between maintenance (0: not by hours).
    pub maintenance_interval_hours: Option<i64>,
}

/// Filters and order of a printer list.
#[derive(Debug, Clone, Default)]
pub struct PrinterQuery {
    pub status: Option<PrinterStatus>,
    pub hub_id: Option<String>,
    pub model: Option<String>,
    pub is_active: Option<i64>,
    pub in_maintenance: Option<i64>,
    /// Part of the name, any case.
    pub search: Option<String>,
    /// A column from `SORTABLE`.
    pub sort_by: &'static str,
    /// Ascending unless false.
    pub ascending: bool,
}

impl PrinterQuery {
    /// Every printer, in the farm's display order (as the dashboard and the dispatcher take them).
    pub fn display_order() -> PrinterQuery {
        PrinterQuery {
            sort_by: "sort_order",
            ascending: true,
            ..Default::default()
        }
    }
}

/// Columns a list may be sorted by (client names; the same as the column names).
pub const SORTABLE: &[&str] = &[
    "sort_order",
    "name",
    "status",
    "model",
    "created_at",
    "updated_at",
    "printer_id",
    "location",
];

const FILTER: &str = "tenant_id = $1
    AND ($2 IS NULL OR status = $2)
    AND ($3 IS NULL OR hub_id = $3)
    AND ($4 IS NULL OR model = $4)
    AND ($5 IS NULL OR is_active = $5)
    AND ($6 IS NULL OR in_maintenance = $6)
    AND ($7 IS NULL OR LOWER(name) LIKE $7)";

/// A page of the farm's printers and how many match in all.
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    query: &PrinterQuery,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Printer>, i64)> {
    let sort_by = SORTABLE
        .iter()
        .find(|c| **c == query.sort_by)
        .copied()
        .unwrap_or("sort_order");
    let direction = if query.ascending { "ASC" } else { "DESC" };
    // Only whitelisted column names and fixed words are spliced in; values are bound.
    let order = format!("{sort_by} {direction}, printer_id ASC, id ASC");
    // The one place this module's SQL differs by dialect: the JSON aggregate's name.
    let aggregate = if conn.backend_name() == "PostgreSQL" {
        format!(
            "COALESCE(json_agg(json_build_object({JSON_PAIRS}) ORDER BY {order}), '[]'::json)::text"
        )
    } else {
        format!("json_group_array(json_object({JSON_PAIRS}) ORDER BY {order})")
    };
    let sql = format!(
        "SELECT {aggregate} FROM (SELECT {} FROM printers WHERE {FILTER} ORDER BY {order} LIMIT $8 OFFSET $9) AS page",
        columns!()
    );
    let search = query
        .search
        .as_ref()
        .map(|s| format!("%{}%", s.to_lowercase()));
    let (json,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(query.status.map(PrinterStatus::as_str))
        .bind(query.hub_id.as_deref())
        .bind(query.model.as_deref())
        .bind(query.is_active)
        .bind(query.in_maintenance)
        .bind(search.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_one(&mut *conn)
        .await?;
    let rows: Vec<Printer> = serde_json::from_str(&json)
        .map_err(|e| StoreError::Corrupt(format!("printer list as JSON: {e}")))?;
    // A first page that is not full holds them all: no need to count.
    if offset == 0 && (rows.len() as i64) < limit {
        let total = rows.len() as i64;
        return Ok((rows, total));
    }
    let count_sql = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM printers WHERE {FILTER}");
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count_sql))
        .bind(tenant.as_str())
        .bind(query.status.map(PrinterStatus::as_str))
        .bind(query.hub_id.as_deref())
        .bind(query.model.as_deref())
        .bind(query.is_active)
        .bind(query.in_maintenance)
        .bind(search.as_deref())
        .fetch_one(&mut *conn)
        .await?;
    Ok((rows, total))
}

/// The printers a hub manages, in display order. Its own query (not [`list`]'s optional
/// filters): it uses the hub index, where the generic filter scanned the whole farm, once
/// per hub hello (5,000 hubs of a 50,000-printer farm took 48 s to welcome).
pub async fn of_hub(conn: &mut Conn, tenant: &TenantId, hub_id: &str) -> StoreResult<Vec<Printer>> {
    Ok(sqlx::query_as::<_, Printer>(concat!(
        "SELECT ",
        columns!(),
        " FROM printers WHERE hub_id = $1 AND tenant_id = $2 ORDER BY sort_order, printer_id, id"
    ))
    .bind(hub_id)
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?)
}

/// One printer of the farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId, key: &PrinterKey) -> StoreResult<Printer> {
    let query = match key {
        PrinterKey::Id(id) => sqlx::query_as::<_, Printer>(concat!(
            "SELECT ",
            columns!(),
            " FROM printers WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_str()),
        PrinterKey::Number(n) => sqlx::query_as::<_, Printer>(concat!(
            "SELECT ",
            columns!(),
            " FROM printers WHERE tenant_id = $1 AND printer_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(*n),
    };
    Ok(query.fetch_one(&mut *conn).await?)
}

/// Adds a printer; it gets the farm's next number. Run inside a transaction.
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    fields: &PrinterFields,
    sealed_access_code: impl FnOnce(&str) -> Option<String>,
    now: &str,
) -> StoreResult<Printer> {
    let id = crate::new_id();
    let next = crate::counters::next(conn, tenant, crate::counters::Sequence::Printer).await?;
    let sql = concat!(
        "INSERT INTO printers (id, tenant_id, hub_id, name, model, manufacturer, nozzle_size, location,
            connection_type, ip_address, serial_number, access_code, current_color, current_color_hex,
            current_filament_type, current_build_plate, is_active, sort_order, printer_id, status,
            total_print_time, filament_level, is_connected, cleared, in_maintenance, created_at, updated_at,
            maintenance_interval_hours)
         VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS DOUBLE PRECISION), $8, COALESCE($9, 'bambu'), $10, $11, $12, $13, $14, $15, $16,
            COALESCE($17, 1), COALESCE($18, $19), $19, 'idle', 0, 0, 0, 1, 0, $20, $20, COALESCE($21, 200))
         RETURNING ",
        columns!()
    );
    Ok(sqlx::query_as::<_, Printer>(sql)
        .bind(&id)
        .bind(tenant.as_str())
        .bind(fields.hub_id.as_deref())
        .bind(fields.name.as_deref())
        .bind(fields.model.as_deref())
        .bind(fields.manufacturer.as_deref())
        .bind(crate::float_param(fields.nozzle_size))
        .bind(fields.location.as_deref())
        .bind(fields.connection_type.as_deref())
        .bind(fields.ip_address.as_deref())
        .bind(fields.serial_number.as_deref())
        .bind(sealed_access_code(&id))
        .bind(fields.current_color.as_deref())
        .bind(fields.current_color_hex.as_deref())
        .bind(fields.current_filament_type.as_deref())
        .bind(fields.current_build_plate.as_deref())
        .bind(fields.is_active)
        .bind(fields.sort_order)
        .bind(next)
        .bind(now)
        .bind(fields.maintenance_interval_hours)
        .fetch_one(&mut *conn)
        .await?)
}

/// Changes the given fields; `access_code` replaces the sealed code when given.
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &PrinterId,
    fields: &PrinterFields,
    sealed_access_code: Option<String>,
    now: &str,
) -> StoreResult<Printer> {
    let sql = concat!(
        "UPDATE printers SET
            name = COALESCE($3, name), model = COALESCE($4, model),
            manufacturer = COALESCE($5, manufacturer), hub_id = COALESCE($6, hub_id),
            nozzle_size = COALESCE(CAST($7 AS DOUBLE PRECISION), nozzle_size), location = COALESCE($8, location),
            connection_type = COALESCE($9, connection_type), ip_address = COALESCE($10, ip_address),
            serial_number = COALESCE($11, serial_number), access_code = COALESCE($12, access_code),
            current_color = COALESCE($13, current_color), current_color_hex = COALESCE($14, current_color_hex),
            current_filament_type = COALESCE($15, current_filament_type),
            current_build_plate = COALESCE($16, current_build_plate),
            is_active = COALESCE($17, is_active), sort_order = COALESCE($18, sort_order), updated_at = $19,
            maintenance_interval_hours = COALESCE($20, maintenance_interval_hours)
         WHERE tenant_id = $1 AND id = $2 RETURNING ",
        columns!()
    );
    Ok(sqlx::query_as::<_, Printer>(sql)
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(fields.name.as_deref())
        .bind(fields.model.as_deref())
        .bind(fields.manufacturer.as_deref())
        .bind(fields.hub_id.as_deref())
        .bind(crate::float_param(fields.nozzle_size))
        .bind(fields.location.as_deref())
        .bind(fields.connection_type.as_deref())
        .bind(fields.ip_address.as_deref())
        .bind(fields.serial_number.as_deref())
        .bind(sealed_access_code)
        .bind(fields.current_color.as_deref())
        .bind(fields.current_color_hex.as_deref())
        .bind(fields.current_filament_type.as_deref())
        .bind(fields.current_build_plate.as_deref())
        .bind(fields.is_active)
        .bind(fields.sort_order)
        .bind(now)
        .bind(fields.maintenance_interval_hours)
        .fetch_one(&mut *conn)
        .await?)
}

/// Sets the printer's status.
pub async fn set_status(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &PrinterId,
    status: PrinterStatus,
    now: &str,
) -> StoreResult<Printer> {
    let sql = concat!(
        "UPDATE printers SET status = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2 RETURNING ",
        columns!()
    );
    Ok(sqlx::query_as::<_, Printer>(sql)
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(status.as_str())
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// Takes a printer into maintenance (with its kind) or back out of it.
pub async fn set_maintenance(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &PrinterId,
    in_maintenance: bool,
    maintenance_type: Option<&str>,
    now: &str,
) -> StoreResult<Printer> {
    // Leaving maintenance records the date and puts a printer that was parked back to idle.
    let sql = concat!(
        "UPDATE printers SET in_maintenance = $3,
            maintenance_type = CASE WHEN $3 = 1 THEN $4 ELSE NULL END,
            last_maintenance_date = CASE WHEN $3 = 0 AND in_maintenance = 1 THEN $5 ELSE last_maintenance_date END,
            status = CASE WHEN $3 = 1 AND status = 'idle' THEN 'maintenance'
                          WHEN $3 = 0 AND status = 'maintenance' THEN 'idle' ELSE status END,
            updated_at = $5
         WHERE tenant_id = $1 AND id = $2 RETURNING ",
        columns!()
    );
    Ok(sqlx::query_as::<_, Printer>(sql)
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(i64::from(in_maintenance))
        .bind(maintenance_type)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// Records whether the bed is cleared.
pub async fn set_cleared(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &PrinterId,
    cleared: bool,
    now: &str,
) -> StoreResult<Printer> {
    let sql = concat!(
        "UPDATE printers SET cleared = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2 RETURNING ",
        columns!()
    );
    Ok(sqlx::query_as::<_, Printer>(sql)
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(i64::from(cleared))
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// Sets the display order of the farm's printers; `NotFound` if any id is not the farm's.
pub async fn set_order(
    conn: &mut Conn,
    tenant: &TenantId,
    order: &[(PrinterId, i64)],
    now: &str,
) -> StoreResult<()> {
    for (id, position) in order {
        let done = sqlx::query(
            "UPDATE printers SET sort_order = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(position)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
    }
    Ok(())
}

/// Deletes a printer.
pub async fn delete(conn: &mut Conn, tenant: &TenantId, id: &PrinterId) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM printers WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A print ended on the printer (finished or failed): the print time (minutes) is added and
/// a printing or paused printer is idle. (The move that ended it already marked the bed as
/// holding the print; doing it here again would undo an operator who cleared it meanwhile.)
pub async fn print_ended(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    minutes: i64,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE printers SET total_print_time = COALESCE(total_print_time, 0) + $3,
            status = CASE WHEN status IN ('printing', 'paused') THEN 'idle' ELSE status END, updated_at = $4
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(minutes.max(0))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets whether the printer's bed is clear: not, in the transaction of the move that ended
/// a print (so no dispatcher sees the bed free in between); again, when a start never
/// printed (the file did not arrive).
pub async fn set_bed_clear(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    clear: bool,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE printers SET cleared = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(i64::from(clear))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Takes the printer's cleared bed for a job about to start: `false` when the bed is not
/// (or no longer) confirmed cleared. The compare-and-set is what keeps two dispatchers,
/// even in two processes, from starting two jobs on one bed.
pub async fn take_cleared_bed(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    now: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE printers SET cleared = 0, updated_at = $3 WHERE tenant_id = $1 AND id = $2 AND cleared = 1",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What the hub reports about a printer that the farm keeps (the rest lives in memory).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reported {
    pub status: PrinterStatus,
    pub is_connected: bool,
    pub connection_error: Option<String>,
    pub filament_type: Option<String>,
    pub colour_hex: Option<String>,
}

/// One printer's report to write with [`apply_reported`].
#[derive(Debug, Clone, Copy)]
pub struct ReportedRow<'a> {
    /// The printer's farm.
    pub tenant: &'a TenantId,
    /// The printer's id.
    pub id: &'a str,
    /// What its hub reported.
    pub reported: &'a Reported,
    /// When.
    pub at: &'a str,
}

/// Printers written by one statement (eight parameters each, well below either database's limit).
const REPORTED_PER_STATEMENT: usize = 1000;

/// Writes what hubs report about printers (their state changes; not every report), a
/// thousand printers a statement: one `UPDATE … FROM (VALUES …)` instead of one round trip
/// each (on PostgreSQL 5,600 printers/s became 22,000, debug build, measured by
/// `nodes::measure_batched_status_writes`). A printer in maintenance
/// stays in maintenance. Each printer may appear once.
pub async fn apply_reported(conn: &mut Conn, rows: &[ReportedRow<'_>]) -> StoreResult<()> {
    for chunk in rows.chunks(REPORTED_PER_STATEMENT) {
        let tuples: Vec<String> = (0..chunk.len())
            .map(|i| {
                let first = i * 8 + 1;
                let params: Vec<String> = (first..first + 8).map(|n| format!("${n}")).collect();
                format!("({})", params.join(", "))
            })
            .collect();
        // VALUES columns are column1… on both databases.
        let sql = format!(
            "UPDATE printers SET
                status = CASE WHEN printers.in_maintenance = 1 THEN printers.status ELSE v.column3 END,
                is_connected = v.column4, connection_error = v.column5, last_connection_attempt = v.column6,
                current_filament_type = COALESCE(v.column7, printers.current_filament_type),
                current_color_hex = COALESCE(v.column8, printers.current_color_hex), updated_at = v.column6
             FROM (VALUES {}) AS v
             WHERE printers.tenant_id = v.column1 AND printers.id = v.column2",
            tuples.join(", ")
        );
        // Only placeholders are formatted in; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            query = query
                .bind(row.tenant.as_str())
                .bind(row.id)
                .bind(row.reported.status.as_str())
                .bind(i64::from(row.reported.is_connected))
                .bind(row.reported.connection_error.as_deref())
                .bind(row.at)
                .bind(row.reported.filament_type.as_deref())
                .bind(row.reported.colour_hex.as_deref());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The status of a job that holds the printer (processing, uploaded, printing or paused), if any.
pub async fn active_job(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &PrinterId,
) -> StoreResult<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT status FROM print_jobs WHERE tenant_id = $1 AND printer_id = $2
           AND status IN ('processing', 'uploaded', 'printing', 'paused') LIMIT 1",
    )
    .bind(tenant.as_str())
    .bind(id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(s,)| s))
}

/// Ids of the farm's printers that hold an active job (processing, uploaded, printing, paused).
pub async fn with_active_jobs(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT printer_id FROM print_jobs WHERE tenant_id = $1 AND printer_id IS NOT NULL
           AND status IN ('processing', 'uploaded', 'printing', 'paused')",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Whether the farm has a hub with this id.
pub async fn hub_belongs(conn: &mut Conn, tenant: &TenantId, hub_id: &str) -> StoreResult<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM hubs WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(hub_id)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

/// How many of the farm's printers are in each state, for the overview; a printer in
/// maintenance counts as `maintenance` whatever it last reported.
pub async fn counts_by_state(
    conn: &mut Conn,
    tenant: &TenantId,
) -> StoreResult<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT state, CAST(COUNT(*) AS BIGINT) FROM (
             SELECT CASE WHEN in_maintenance = 1 THEN 'maintenance' ELSE status END AS state
             FROM printers WHERE tenant_id = $1
         ) AS states GROUP BY state ORDER BY state",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?)
}

/// Records maintenance done now: the date, and the print time it was done at (the next
/// falls due from there); a printer parked for it goes back to idle.
pub async fn maintenance_done(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    now: &str,
) -> StoreResult<Printer> {
    let sql = concat!(
        "UPDATE printers SET last_maintenance_date = $3, print_minutes_at_maintenance = total_print_time,
            in_maintenance = 0, maintenance_type = NULL,
            status = CASE WHEN status = 'maintenance' THEN 'idle' ELSE status END, updated_at = $3
         WHERE tenant_id = $1 AND id = $2 RETURNING ",
        columns!()
    );
    sqlx::query_as::<_, Printer>(sql)
        .bind(tenant.as_str())
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(crate::StoreError::NotFound)
}

/// A printer's name, if the farm has it.
pub async fn name_of(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT name FROM printers WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(name,)| name))
}
