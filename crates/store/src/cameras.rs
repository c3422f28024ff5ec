//! Cameras of a farm. Every function takes the farm first. The password, and a URL that
//! carries a credential, are stored sealed by the server; this module never opens them.

use crate::{Conn, StoreResult};
use domain::{CameraId, TenantId};
use serde::Serialize;

/// A camera row as stored (`password` and a credential-bearing URL sealed).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Camera {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: Option<String>,
    pub printer_id: Option<String>,
    pub hub_id: Option<String>,
    pub camera_type: String,
    pub stream_url: Option<String>,
    pub snapshot_url: Option<String>,
    pub ip_address: Option<String>,
    pub port: Option<i64>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub serial_number: Option<String>,
    pub is_active: i64,
    pub is_online: i64,
    pub last_snapshot_at: Option<String>,
    pub last_error: Option<String>,
    pub rotation: i64,
    pub flip_horizontal: i64,
    pub flip_vertical: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Camera {
    /// The typed id.
    pub fn camera_id(&self) -> CameraId {
        CameraId::from_stored(self.id.clone())
    }
}

const COLUMNS: &str =
    "id, tenant_id, name, description, printer_id, hub_id, camera_type, stream_url,
    snapshot_url, ip_address, port, username, password, serial_number, is_active, is_online,
    last_snapshot_at, last_error, rotation, flip_horizontal, flip_vertical, created_at, updated_at";

/// Every setting of a camera a client chooses, complete (the server merges a change
/// with the stored row): secrets already sealed.
#[derive(Debug, Clone, Default)]
pub struct CameraFields {
    pub name: String,
    pub description: Option<String>,
    pub printer_id: Option<String>,
    pub hub_id: Option<String>,
    pub camera_type: String,
    pub stream_url: Option<String>,
    pub snapshot_url: Option<String>,
    pub ip_address: Option<String>,
    pub port: Option<i64>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub serial_number: Option<String>,
    pub is_active: i64,
    pub rotation: i64,
    pub flip_horizontal: i64,
    pub flip_vertical: i64,
}

impl From<&Camera> for CameraFields {
    fn from(c: &Camera) -> Self {
        CameraFields {
            name: c.name.clone(),
            description: c.description.clone(),
            printer_id: c.printer_id.clone(),
            hub_id: c.hub_id.clone(),
            camera_type: c.camera_type.clone(),
            stream_url: c.stream_url.clone(),
            snapshot_url: c.snapshot_url.clone(),
            ip_address: c.ip_address.clone(),
            port: c.port,
            username: c.username.clone(),
            password: c.password.clone(),
            serial_number: c.serial_number.clone(),
            is_active: c.is_active,
            rotation: c.rotation,
            flip_horizontal: c.flip_horizontal,
            flip_vertical: c.flip_vertical,
        }
    }
}

/// Filters of a camera list.
#[derive(Debug, Clone, Default)]
pub struct CameraQuery {
    pub printer_id: Option<String>,
    pub camera_type: Option<String>,
    pub is_active: Option<i64>,
    pub is_online: Option<i64>,
}

/// The farm's cameras matching `query`, by name.
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    query: &CameraQuery,
) -> StoreResult<Vec<Camera>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cameras WHERE tenant_id = $1
            AND ($2 IS NULL OR printer_id = $2) AND ($3 IS NULL OR camera_type = $3)
            AND ($4 IS NULL OR is_active = $4) AND ($5 IS NULL OR is_online = $5)
         ORDER BY name, id"
    );
    Ok(sqlx::query_as::<_, Camera>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(query.printer_id.as_deref())
        .bind(query.camera_type.as_deref())
        .bind(query.is_active)
        .bind(query.is_online)
        .fetch_all(&mut *conn)
        .await?)
}

/// One camera of the farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &CameraId) -> StoreResult<Camera> {
    let sql = format!("SELECT {COLUMNS} FROM cameras WHERE tenant_id = $1 AND id = $2");
    Ok(sqlx::query_as::<_, Camera>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_one(&mut *conn)
        .await?)
}

/// The farm's first active camera of a printer, of `camera_type` (its own Bambu camera).
pub async fn of_printer(
    conn: &mut Conn,
    tenant: &TenantId,
    printer_id: &str,
    camera_type: &str,
) -> StoreResult<Option<Camera>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cameras WHERE tenant_id = $1 AND printer_id = $2
            AND camera_type = $3 AND is_active = 1 ORDER BY created_at, id LIMIT 1"
    );
    Ok(sqlx::query_as::<_, Camera>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(printer_id)
        .bind(camera_type)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Adds a camera with the id the server chose (its secrets are sealed to it).
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &CameraId,
    fields: &CameraFields,
    now: &str,
) -> StoreResult<Camera> {
    let sql = format!(
        "INSERT INTO cameras (id, tenant_id, name, description, printer_id, hub_id, camera_type,
            stream_url, snapshot_url, ip_address, port, username, password, serial_number,
            is_active, is_online, rotation, flip_horizontal, flip_vertical, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16, $17, $18, $19, $19)
         RETURNING {COLUMNS}"
    );
    let query = sqlx::query_as::<_, Camera>(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .bind(tenant.as_str());
    Ok(bind_settings(query, fields, now)
        .fetch_one(&mut *conn)
        .await?)
}

/// A camera statement being bound.
type CameraStatement<'q> =
    sqlx::query::QueryAs<'q, sqlx::Any, Camera, <sqlx::Any as sqlx::Database>::Arguments>;

/// Binds a camera's settings and the time, `$3` to `$19` of both the insert and the update.
fn bind_settings<'q>(
    query: CameraStatement<'q>,
    fields: &'q CameraFields,
    now: &'q str,
) -> CameraStatement<'q> {
    query
        .bind(&fields.name)
        .bind(fields.description.as_deref())
        .bind(fields.printer_id.as_deref())
        .bind(fields.hub_id.as_deref())
        .bind(&fields.camera_type)
        .bind(fields.stream_url.as_deref())
        .bind(fields.snapshot_url.as_deref())
        .bind(fields.ip_address.as_deref())
        .bind(fields.port)
        .bind(fields.username.as_deref())
        .bind(fields.password.as_deref())
        .bind(fields.serial_number.as_deref())
        .bind(fields.is_active)
        .bind(fields.rotation)
        .bind(fields.flip_horizontal)
        .bind(fields.flip_vertical)
        .bind(now)
}

/// Writes every setting of a camera (what it reports, online and errors, is kept).
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &CameraId,
    fields: &CameraFields,
    now: &str,
) -> StoreResult<Camera> {
    let sql = format!(
        "UPDATE cameras SET name = $3, description = $4, printer_id = $5, hub_id = $6,
            camera_type = $7, stream_url = $8, snapshot_url = $9, ip_address = $10, port = $11,
            username = $12, password = $13, serial_number = $14, is_active = $15, rotation = $16,
            flip_horizontal = $17, flip_vertical = $18, updated_at = $19
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    let query = sqlx::query_as::<_, Camera>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id.as_str());
    Ok(bind_settings(query, fields, now)
        .fetch_one(&mut *conn)
        .await?)
}

/// Removes a camera; `false` when the farm has none with this id.
pub async fn delete(conn: &mut Conn, tenant: &TenantId, id: &CameraId) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM cameras WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// What the last look at a camera found: online or not, the error, and when a picture came.
#[derive(Debug, Clone, Default)]
pub struct Seen<'a> {
    pub is_online: bool,
    /// `None` clears the last error.
    pub last_error: Option<&'a str>,
    /// Set when a snapshot was taken; `None` keeps the last one's time.
    pub snapshot_at: Option<&'a str>,
}

/// Records what the last look at a camera found (a snapshot, or a status set by hand).
pub async fn set_seen(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &CameraId,
    seen: &Seen<'_>,
    now: &str,
) -> StoreResult<Camera> {
    let sql = format!(
        "UPDATE cameras SET is_online = $3, last_error = $4,
            last_snapshot_at = COALESCE($5, last_snapshot_at), updated_at = $6
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as::<_, Camera>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id.as_str())
        .bind(i64::from(seen.is_online))
        .bind(seen.last_error)
        .bind(seen.snapshot_at)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// Whether the farm has a printer with this id.
pub async fn printer_belongs(
    conn: &mut Conn,
    tenant: &TenantId,
    printer_id: &str,
) -> StoreResult<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM printers WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(printer_id)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}
