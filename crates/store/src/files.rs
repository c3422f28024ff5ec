//! Print files of a farm and their versions (at most 3, one current).

use crate::{Conn, StoreError, StoreResult};
use domain::TenantId;
use serde::Serialize;

/// A print file row, with the current version's metadata.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PrintFile {
    pub id: String,
    pub tenant_id: String,
    pub product_id: Option<String>,
    pub name: String,
    pub file_size_bytes: Option<i64>,
    pub number_of_units: i64,
    pub r2_key: Option<String>,
    pub print_time_seconds: Option<i64>,
    pub filament_weight_grams: Option<f64>,
    pub filament_length_meters: Option<f64>,
    pub filament_type: Option<String>,
    pub printer_model_id: Option<String>,
    pub nozzle_diameter: Option<f64>,
    pub layer_count: Option<i64>,
    pub curr_bed_type: Option<String>,
    pub default_print_profile: Option<String>,
    pub object_count: i64,
    pub thumbnail_r2_key: Option<String>,
    pub is_sliced: i64,
    pub content_sha256: Option<String>,
    /// The whole parsed 3MF as JSON text (plates, filaments, objects).
    pub metadata_json: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// One stored version of a file.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FileVersion {
    pub id: String,
    pub print_file_id: String,
    pub version_number: i64,
    pub r2_key: Option<String>,
    pub notes: Option<String>,
    pub is_current_version: i64,
    pub file_size_bytes: Option<i64>,
    pub thumbnail_r2_key: Option<String>,
    pub content_sha256: Option<String>,
    #[serde(skip)]
    pub metadata_json: Option<String>,
    pub created_at: String,
}

/// How many versions a file keeps.
pub const MAX_VERSIONS: i64 = 3;

/// The summary of a file's contents, as read from the 3MF.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    pub file_size_bytes: i64,
    pub r2_key: String,
    pub thumbnail_r2_key: Option<String>,
    pub content_sha256: String,
    pub metadata_json: String,
    pub is_sliced: bool,
    pub print_time_seconds: Option<i64>,
    pub filament_weight_grams: Option<f64>,
    pub filament_length_meters: Option<f64>,
    pub filament_type: Option<String>,
    pub printer_model_id: Option<String>,
    pub nozzle_diameter: Option<f64>,
    pub layer_count: Option<i64>,
    pub curr_bed_type: Option<String>,
    pub default_print_profile: Option<String>,
    pub object_count: i64,
}

macro_rules! columns {
    () => {
        "id, tenant_id, product_id, name, file_size_bytes, number_of_units, r2_key, print_time_seconds,
         filament_weight_grams, filament_length_meters, filament_type, printer_model_id, nozzle_diameter,
         layer_count, curr_bed_type, default_print_profile, object_count, thumbnail_r2_key, is_sliced,
         content_sha256, metadata_json, created_at, updated_at"
    };
}

macro_rules! version_columns {
    () => {
        "id, print_file_id, version_number, r2_key, notes, is_current_version, file_size_bytes,
         thumbnail_r2_key, content_sha256, metadata_json, created_at"
    };
}

/// Creates a file with its first version (current). Run inside a transaction.
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    name: &str,
    product_id: Option<&str>,
    contents: &Contents,
    now: &str,
) -> StoreResult<PrintFile> {
    sqlx::query(
        "INSERT INTO print_files (id, tenant_id, product_id, name, number_of_units, object_count, is_sliced, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 1, 1, 0, $5, $5)",
    )
    .bind(id)
    .bind(tenant.as_str())
    .bind(product_id)
    .bind(name)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    add_version(conn, tenant, id, contents, None, now).await?;
    get(conn, tenant, id).await
}

/// Adds a version and makes it current; `Conflict { field: "version" }` when the file has 3 already.
pub async fn add_version(
    conn: &mut Conn,
    tenant: &TenantId,
    file_id: &str,
    contents: &Contents,
    notes: Option<&str>,
    now: &str,
) -> StoreResult<FileVersion> {
    let versions = versions(conn, tenant, file_id).await?;
    if versions.len() as i64 >= MAX_VERSIONS {
        return Err(StoreError::Conflict {
            field: "version".into(),
        });
    }
    let number = (1..=MAX_VERSIONS)
        .find(|n| versions.iter().all(|v| v.version_number != *n))
        .unwrap_or(MAX_VERSIONS);
    sqlx::query("UPDATE print_file_versions SET is_current_version = 0 WHERE print_file_id = $1")
        .bind(file_id)
        .execute(&mut *conn)
        .await?;
    let version = sqlx::query_as::<_, FileVersion>(concat!(
        "INSERT INTO print_file_versions (id, print_file_id, version_number, r2_key, notes, is_current_version,
            file_size_bytes, thumbnail_r2_key, content_sha256, metadata_json, created_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $10) RETURNING ",
        version_columns!()
    ))
    .bind(crate::new_id())
    .bind(file_id)
    .bind(number)
    .bind(&contents.r2_key)
    .bind(notes)
    .bind(contents.file_size_bytes)
    .bind(contents.thumbnail_r2_key.as_deref())
    .bind(&contents.content_sha256)
    .bind(&contents.metadata_json)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    set_contents(conn, tenant, file_id, contents, now).await?;
    Ok(version)
}

/// Copies a version's contents onto the file row (the file shows its current version).
async fn set_contents(
    conn: &mut Conn,
    tenant: &TenantId,
    file_id: &str,
    c: &Contents,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE print_files SET file_size_bytes = $3, r2_key = $4, thumbnail_r2_key = $5, content_sha256 = $6,
            metadata_json = $7, is_sliced = $8, print_time_seconds = $9, filament_weight_grams = CAST($10 AS DOUBLE PRECISION),
            filament_length_meters = CAST($11 AS DOUBLE PRECISION), filament_type = $12, printer_model_id = $13, nozzle_diameter = CAST($14 AS DOUBLE PRECISION),
            layer_count = $15, curr_bed_type = $16, default_print_profile = $17, object_count = $18, updated_at = $19
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(file_id)
    .bind(c.file_size_bytes)
    .bind(&c.r2_key)
    .bind(c.thumbnail_r2_key.as_deref())
    .bind(&c.content_sha256)
    .bind(&c.metadata_json)
    .bind(i64::from(c.is_sliced))
    .bind(c.print_time_seconds)
    .bind(crate::float_param(c.filament_weight_grams))
    .bind(crate::float_param(c.filament_length_meters))
    .bind(c.filament_type.as_deref())
    .bind(c.printer_model_id.as_deref())
    .bind(crate::float_param(c.nozzle_diameter))
    .bind(c.layer_count)
    .bind(c.curr_bed_type.as_deref())
    .bind(c.default_print_profile.as_deref())
    .bind(c.object_count)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One file of the farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<PrintFile> {
    Ok(sqlx::query_as::<_, PrintFile>(concat!(
        "SELECT ",
        columns!(),
        " FROM print_files WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant.as_str())
    .bind(id)
    .fetch_one(&mut *conn)
    .await?)
}

/// A page of the farm's files, newest first, and how many match.
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    product_id: Option<&str>,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<PrintFile>, i64)> {
    let search = search.map(|s| format!("%{}%", s.to_lowercase()));
    let rows = sqlx::query_as::<_, PrintFile>(concat!(
        "SELECT ",
        columns!(),
        " FROM print_files WHERE tenant_id = $1 AND ($2 IS NULL OR product_id = $2) AND ($3 IS NULL OR LOWER(name) LIKE $3)
          ORDER BY created_at DESC, id LIMIT $4 OFFSET $5"
    ))
    .bind(tenant.as_str())
    .bind(product_id)
    .bind(search.as_deref())
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let (total,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM print_files WHERE tenant_id = $1 AND ($2 IS NULL OR product_id = $2) AND ($3 IS NULL OR LOWER(name) LIKE $3)",
    )
    .bind(tenant.as_str())
    .bind(product_id)
    .bind(search.as_deref())
    .fetch_one(&mut *conn)
    .await?;
    Ok((rows, total))
}

/// Changes a file's name, product or units per print.
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    name: Option<&str>,
    product_id: Option<&str>,
    number_of_units: Option<i64>,
    now: &str,
) -> StoreResult<PrintFile> {
    let done = sqlx::query(
        "UPDATE print_files SET name = COALESCE($3, name), product_id = COALESCE($4, product_id),
            number_of_units = COALESCE($5, number_of_units), updated_at = $6
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(name)
    .bind(product_id)
    .bind(number_of_units)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, tenant, id).await
}

/// The file's versions, oldest first.
pub async fn versions(
    conn: &mut Conn,
    tenant: &TenantId,
    file_id: &str,
) -> StoreResult<Vec<FileVersion>> {
    Ok(sqlx::query_as::<_, FileVersion>(concat!(
        "SELECT ",
        version_columns!(),
        " FROM print_file_versions WHERE print_file_id = (SELECT id FROM print_files WHERE tenant_id = $1 AND id = $2)
          ORDER BY version_number"
    ))
    .bind(tenant.as_str())
    .bind(file_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Makes a version current and the file show its contents.
pub async fn set_current(
    conn: &mut Conn,
    tenant: &TenantId,
    file_id: &str,
    number: i64,
    now: &str,
) -> StoreResult<FileVersion> {
    let versions = versions(conn, tenant, file_id).await?;
    let chosen = versions
        .into_iter()
        .find(|v| v.version_number == number)
        .ok_or(StoreError::NotFound)?;
    sqlx::query("UPDATE print_file_versions SET is_current_version = CASE WHEN id = $2 THEN 1 ELSE 0 END WHERE print_file_id = $1")
        .bind(file_id)
        .bind(&chosen.id)
        .execute(&mut *conn)
        .await?;
    let metadata = chosen.metadata_json.clone().unwrap_or_default();
    let summary: serde_json::Value = serde_json::from_str(&metadata).unwrap_or_default();
    let contents = contents_from_summary(&chosen, &summary);
    set_contents(conn, tenant, file_id, &contents, now).await?;
    Ok(FileVersion {
        is_current_version: 1,
        ..chosen
    })
}

/// The file-row summary of a version, from the summary stored beside its metadata.
fn contents_from_summary(v: &FileVersion, s: &serde_json::Value) -> Contents {
    let text = |k: &str| s["summary"][k].as_str().map(str::to_string);
    Contents {
        file_size_bytes: v.file_size_bytes.unwrap_or(0),
        r2_key: v.r2_key.clone().unwrap_or_default(),
        thumbnail_r2_key: v.thumbnail_r2_key.clone(),
        content_sha256: v.content_sha256.clone().unwrap_or_default(),
        metadata_json: v.metadata_json.clone().unwrap_or_default(),
        is_sliced: s["summary"]["is_sliced"].as_bool().unwrap_or(false),
        print_time_seconds: s["summary"]["print_time_seconds"].as_i64(),
        filament_weight_grams: s["summary"]["filament_weight_grams"].as_f64(),
        filament_length_meters: s["summary"]["filament_length_meters"].as_f64(),
        filament_type: text("filament_type"),
        printer_model_id: text("printer_model_id"),
        nozzle_diameter: s["summary"]["nozzle_diameter"].as_f64(),
        layer_count: s["summary"]["layer_count"].as_i64(),
        curr_bed_type: text("curr_bed_type"),
        default_print_profile: text("default_print_profile"),
        object_count: s["summary"]["object_count"].as_i64().unwrap_or(1),
    }
}

/// Deletes a version that is not current; returns its object keys to remove.
pub async fn delete_version(
    conn: &mut Conn,
    tenant: &TenantId,
    file_id: &str,
    number: i64,
) -> StoreResult<FileVersion> {
    let versions = versions(conn, tenant, file_id).await?;
    let doomed = versions
        .into_iter()
        .find(|v| v.version_number == number)
        .ok_or(StoreError::NotFound)?;
    if doomed.is_current_version == 1 {
        return Err(StoreError::Conflict {
            field: "version".into(),
        });
    }
    sqlx::query("DELETE FROM print_file_versions WHERE id = $1")
        .bind(&doomed.id)
        .execute(&mut *conn)
        .await?;
    Ok(doomed)
}

/// Deletes a file and its versions; returns the versions (for their object keys).
/// `Conflict { field: "jobs" }` when jobs still refer to it.
pub async fn delete(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Vec<FileVersion>> {
    let file = get(conn, tenant, id).await?;
    let (jobs,): (i64,) = sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM print_jobs WHERE tenant_id = $1 AND print_file_id = $2")
        .bind(tenant.as_str())
        .bind(&file.id)
        .fetch_one(&mut *conn)
        .await?;
    if jobs > 0 {
        return Err(StoreError::Conflict {
            field: "jobs".into(),
        });
    }
    let versions = versions(conn, tenant, id).await?;
    sqlx::query("DELETE FROM print_files WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(versions)
}
