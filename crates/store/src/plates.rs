//! Build plate types (`build_plate_types`): the plates a farm prints on, one per name.

use crate::{Conn, StoreError, StoreResult};
use domain::TenantId;
use serde::Serialize;

/// A stored build plate type.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Plate {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_active: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A plate's values as a client sets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlateFields {
    /// Its name ("Textured PEI Plate").
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Offered when choosing a plate.
    pub is_active: bool,
}

const COLUMNS: &str = "id, tenant_id, name, description, is_active, created_at, updated_at";

fn name_taken(err: sqlx::Error) -> StoreError {
    match StoreError::from(err) {
        StoreError::Conflict { .. } => StoreError::Conflict {
            field: "name".into(),
        },
        other => other,
    }
}

/// The farm's plates by name (active only, when asked).
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    is_active: Option<i64>,
) -> StoreResult<Vec<Plate>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM build_plate_types WHERE tenant_id = $1 AND ($2 IS NULL OR is_active = $2)
         ORDER BY name, id"
    );
    Ok(sqlx::query_as::<_, Plate>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(is_active)
        .fetch_all(&mut *conn)
        .await?)
}

/// One plate of the farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Plate> {
    let sql = format!("SELECT {COLUMNS} FROM build_plate_types WHERE tenant_id = $1 AND id = $2");
    Ok(sqlx::query_as::<_, Plate>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?)
}

/// Adds a plate; `Conflict { field: "name" }` when the farm has one of that name.
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    plate: &PlateFields,
    now: &str,
) -> StoreResult<Plate> {
    let sql = format!(
        "INSERT INTO build_plate_types (id, tenant_id, name, description, is_active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    );
    sqlx::query_as::<_, Plate>(sqlx::AssertSqlSafe(sql))
        .bind(crate::new_id())
        .bind(tenant.as_str())
        .bind(&plate.name)
        .bind(plate.description.as_deref())
        .bind(i64::from(plate.is_active))
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(name_taken)
}

/// Adds a plate unless the farm has one of that name; `None` when it had.
pub async fn create_missing(
    conn: &mut Conn,
    tenant: &TenantId,
    plate: &PlateFields,
    now: &str,
) -> StoreResult<Option<Plate>> {
    let sql = format!(
        "INSERT INTO build_plate_types (id, tenant_id, name, description, is_active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (tenant_id, name) DO NOTHING RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as::<_, Plate>(sqlx::AssertSqlSafe(sql))
        .bind(crate::new_id())
        .bind(tenant.as_str())
        .bind(&plate.name)
        .bind(plate.description.as_deref())
        .bind(i64::from(plate.is_active))
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Replaces a plate's values (the caller merged the change into the stored plate).
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    plate: &PlateFields,
    now: &str,
) -> StoreResult<Plate> {
    let sql = format!(
        "UPDATE build_plate_types SET name = $3, description = $4, is_active = $5, updated_at = $6
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    sqlx::query_as::<_, Plate>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .bind(&plate.name)
        .bind(plate.description.as_deref())
        .bind(i64::from(plate.is_active))
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(name_taken)
}

/// Removes a plate; `NotFound` when the farm has none with that id.
pub async fn delete(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM build_plate_types WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
