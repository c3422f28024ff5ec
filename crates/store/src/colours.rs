//! Colour presets (`color_presets`): a farm's named colours, one per name and filament type.

use crate::{Conn, StoreError, StoreResult};
use domain::TenantId;
use domain::catalogue::ColourPreset;
use serde::Serialize;

/// A stored colour preset, as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Colour {
    pub id: String,
    pub tenant_id: String,
    pub color_name: String,
    pub hex_code: String,
    pub filament_type: String,
    pub is_active: i64,
    pub created_at: String,
}

const COLUMNS: &str = "id, tenant_id, color_name, hex_code, filament_type, is_active, created_at";

/// Filters of the colour list.
#[derive(Debug, Clone, Default)]
pub struct ColourQuery {
    /// One filament type.
    pub filament_type: Option<String>,
    /// Active (1) or inactive (0) only.
    pub is_active: Option<i64>,
    /// Part of the name, any case.
    pub search: Option<String>,
}

const FILTER: &str = "tenant_id = $1
    AND ($2 IS NULL OR filament_type = $2)
    AND ($3 IS NULL OR is_active = $3)
    AND ($4 IS NULL OR LOWER(color_name) LIKE $4)";

/// A colour name taken twice for one filament type is the name's conflict (both databases
/// name the constraint's columns differently).
fn name_taken(err: sqlx::Error) -> StoreError {
    match StoreError::from(err) {
        StoreError::Conflict { .. } => StoreError::Conflict {
            field: "color_name".into(),
        },
        other => other,
    }
}

/// A page of the farm's colours (by filament type, then name) and how many match in all.
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    query: &ColourQuery,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Colour>, i64)> {
    let search = query
        .search
        .as_ref()
        .map(|s| format!("%{}%", s.to_lowercase()));
    let sql = format!(
        "SELECT {COLUMNS} FROM color_presets WHERE {FILTER}
         ORDER BY filament_type, color_name, id LIMIT $5 OFFSET $6"
    );
    let rows = sqlx::query_as::<_, Colour>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(query.filament_type.as_deref())
        .bind(query.is_active)
        .bind(search.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let count = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM color_presets WHERE {FILTER}");
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count))
        .bind(tenant.as_str())
        .bind(query.filament_type.as_deref())
        .bind(query.is_active)
        .bind(search.as_deref())
        .fetch_one(&mut *conn)
        .await?;
    Ok((rows, total))
}

/// One colour of the farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Colour> {
    let sql = format!("SELECT {COLUMNS} FROM color_presets WHERE tenant_id = $1 AND id = $2");
    Ok(sqlx::query_as::<_, Colour>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?)
}

/// Adds a colour; `Conflict { field: "color_name" }` when the farm has that name for that type.
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    colour: &ColourPreset,
    now: &str,
) -> StoreResult<Colour> {
    let sql = format!(
        "INSERT INTO color_presets (id, tenant_id, color_name, hex_code, filament_type, is_active, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    );
    sqlx::query_as::<_, Colour>(sqlx::AssertSqlSafe(sql))
        .bind(crate::new_id())
        .bind(tenant.as_str())
        .bind(&colour.name)
        .bind(colour.hex.as_str())
        .bind(&colour.filament_type)
        .bind(i64::from(colour.is_active))
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(name_taken)
}

/// Replaces a colour's values (the caller merged the change into the stored preset).
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    colour: &ColourPreset,
) -> StoreResult<Colour> {
    let sql = format!(
        "UPDATE color_presets SET color_name = $3, hex_code = $4, filament_type = $5, is_active = $6
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    sqlx::query_as::<_, Colour>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .bind(&colour.name)
        .bind(colour.hex.as_str())
        .bind(&colour.filament_type)
        .bind(i64::from(colour.is_active))
        .fetch_one(&mut *conn)
        .await
        .map_err(name_taken)
}

/// Removes a colour; `NotFound` when the farm has none with that id.
pub async fn delete(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM color_presets WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The filament types the farm's colours use, each once, sorted.
pub async fn filament_types(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT filament_type FROM color_presets WHERE tenant_id = $1 ORDER BY filament_type",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(t,)| t).collect())
}
