//! Materials (`filament_inventory`, `packaging_inventory`, `accessories_inventory`,
//! `printer_parts_inventory`) and what was spent of them (`material_usage_history`).
//!
//! The four tables share their shape but for the amount (grams of filament, whole units of
//! the rest) and a few describing columns; one set of functions serves them, reading every
//! kind into one [`Material`] (a column a kind lacks reads as `None`).

use crate::{Conn, StoreError, StoreResult};
use domain::TenantId;
use domain::materials::{MaterialKind, MaterialStatus, material_status};
use serde::Serialize;
use serde::ser::SerializeMap;

/// A stored material of any kind.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Material {
    pub id: String,
    pub tenant_id: String,
    #[sqlx(rename = "type")]
    pub material_type: String,
    pub name: Option<String>,
    pub color: Option<String>,
    pub hex_code: Option<String>,
    pub brand: Option<String>,
    pub diameter: Option<String>,
    pub size: Option<String>,
    pub compatible_models: Option<String>,
    /// Grams (filament) or units left.
    pub remaining: f64,
    pub spool_weight_grams: Option<f64>,
    pub low_threshold: f64,
    pub status: String,
    pub location: Option<String>,
    /// Cents.
    pub cost_per_unit: Option<i64>,
    pub reorder_link: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Which kind it is (not a column: set after reading).
    #[sqlx(skip)]
    pub kind: Option<MaterialKind>,
}

impl Material {
    /// Its kind.
    pub fn kind(&self) -> MaterialKind {
        self.kind.unwrap_or(MaterialKind::Component)
    }

    /// Whether it is at or below its threshold.
    pub fn is_low(&self) -> bool {
        domain::materials::is_low(self.remaining, self.low_threshold)
    }

    /// What it is called in messages: its name, else colour and type.
    pub fn label(&self) -> String {
        match (&self.name, &self.color) {
            (Some(name), _) => name.clone(),
            (None, Some(colour)) => format!("{colour} {}", self.material_type),
            (None, None) => self.material_type.clone(),
        }
    }
}

/// Written with the original's field names: `remaining_grams` for filament (and how full
/// the spool is, in percent), `remaining_units` and whole numbers for the rest, and only the
/// columns its kind has.
impl Serialize for Material {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let kind = self.kind();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("tenant_id", &self.tenant_id)?;
        map.serialize_entry("material_kind", kind.as_str())?;
        map.serialize_entry("type", &self.material_type)?;
        if kind != MaterialKind::Filament {
            map.serialize_entry("name", &self.name)?;
        }
        map.serialize_entry("color", &self.color)?;
        map.serialize_entry("brand", &self.brand)?;
        match kind {
            MaterialKind::Filament => {
                map.serialize_entry("hex_code", &self.hex_code)?;
                map.serialize_entry("diameter", &self.diameter)?;
                map.serialize_entry("remaining_grams", &self.remaining)?;
                map.serialize_entry("spool_weight_grams", &self.spool_weight_grams)?;
                map.serialize_entry("low_threshold", &self.low_threshold)?;
                let percent = self
                    .spool_weight_grams
                    .filter(|w| *w > 0.0)
                    .map(|w| (self.remaining / w * 100.0).clamp(0.0, 100.0).round());
                map.serialize_entry("remaining_percent", &percent)?;
            }
            other => {
                match other {
                    MaterialKind::Packaging => map.serialize_entry("size", &self.size)?,
                    MaterialKind::Component => {
                        map.serialize_entry("diameter", &self.diameter)?;
                        map.serialize_entry("size", &self.size)?;
                    }
                    _ => map.serialize_entry("compatible_models", &self.compatible_models)?,
                }
                map.serialize_entry("remaining_units", &(self.remaining as i64))?;
                map.serialize_entry("low_threshold", &(self.low_threshold as i64))?;
            }
        }
        map.serialize_entry("status", &self.status)?;
        map.serialize_entry("location", &self.location)?;
        map.serialize_entry("cost_per_unit", &self.cost_per_unit)?;
        map.serialize_entry("reorder_link", &self.reorder_link)?;
        map.serialize_entry("created_at", &self.created_at)?;
        map.serialize_entry("updated_at", &self.updated_at)?;
        map.end()
    }
}

/// A material's values as a client sets them (the caller merged a change into the stored
/// ones; columns its kind lacks are ignored).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MaterialFields {
    pub material_type: String,
    pub name: Option<String>,
    pub color: Option<String>,
    pub hex_code: Option<String>,
    pub brand: Option<String>,
    pub diameter: Option<String>,
    pub size: Option<String>,
    pub compatible_models: Option<String>,
    pub remaining: f64,
    pub spool_weight_grams: Option<f64>,
    pub low_threshold: f64,
    /// Reordered: the status reads `on_order` while the amount is low.
    pub on_order: bool,
    pub location: Option<String>,
    pub cost_per_unit: Option<i64>,
    pub reorder_link: Option<String>,
}

/// Filters of a material list.
#[derive(Debug, Clone, Default)]
pub struct MaterialQuery {
    /// Its `type`, any case.
    pub material_type: Option<String>,
    pub status: Option<MaterialStatus>,
    /// Only those at or below their threshold.
    pub low: bool,
    /// Part of its name, colour, type or brand, any case.
    pub search: Option<String>,
}

/// The table a kind is kept in.
pub fn table(kind: MaterialKind) -> &'static str {
    match kind {
        MaterialKind::Filament => "filament_inventory",
        MaterialKind::Packaging => "packaging_inventory",
        MaterialKind::Component => "accessories_inventory",
        MaterialKind::Part => "printer_parts_inventory",
    }
}

/// The columns of a kind, read into [`Material`]'s names.
fn columns(kind: MaterialKind) -> &'static str {
    match kind {
        MaterialKind::Filament => {
            "id, tenant_id, type, CAST(NULL AS TEXT) AS name, color, hex_code, brand, diameter,
             CAST(NULL AS TEXT) AS size, CAST(NULL AS TEXT) AS compatible_models,
             remaining_grams AS remaining, spool_weight_grams, low_threshold, status, location,
             cost_per_unit, reorder_link, created_at, updated_at"
        }
        MaterialKind::Packaging => {
            "id, tenant_id, type, name, color, CAST(NULL AS TEXT) AS hex_code, brand,
             CAST(NULL AS TEXT) AS diameter, size, CAST(NULL AS TEXT) AS compatible_models,
             CAST(remaining_units AS DOUBLE PRECISION) AS remaining,
             CAST(NULL AS DOUBLE PRECISION) AS spool_weight_grams,
             CAST(low_threshold AS DOUBLE PRECISION) AS low_threshold, status, location,
             cost_per_unit, reorder_link, created_at, updated_at"
        }
        MaterialKind::Component => {
            "id, tenant_id, type, name, color, CAST(NULL AS TEXT) AS hex_code, brand, diameter,
             size, CAST(NULL AS TEXT) AS compatible_models,
             CAST(remaining_units AS DOUBLE PRECISION) AS remaining,
             CAST(NULL AS DOUBLE PRECISION) AS spool_weight_grams,
             CAST(low_threshold AS DOUBLE PRECISION) AS low_threshold, status, location,
             cost_per_unit, reorder_link, created_at, updated_at"
        }
        MaterialKind::Part => {
            "id, tenant_id, type, name, color, CAST(NULL AS TEXT) AS hex_code, brand,
             CAST(NULL AS TEXT) AS diameter, CAST(NULL AS TEXT) AS size, compatible_models,
             CAST(remaining_units AS DOUBLE PRECISION) AS remaining,
             CAST(NULL AS DOUBLE PRECISION) AS spool_weight_grams,
             CAST(low_threshold AS DOUBLE PRECISION) AS low_threshold, status, location,
             cost_per_unit, reorder_link, created_at, updated_at"
        }
    }
}

/// The amount column of a kind.
fn amount_column(kind: MaterialKind) -> &'static str {
    if kind.in_grams() {
        "remaining_grams"
    } else {
        "remaining_units"
    }
}

fn tagged(kind: MaterialKind, mut material: Material) -> Material {
    material.kind = Some(kind);
    material
}

const FILTER: &str = "tenant_id = $1
    AND ($2 IS NULL OR LOWER(type) = $2)
    AND ($3 IS NULL OR status = $3)
    AND ($4 = 0 OR {amount} <= low_threshold)
    AND ($5 IS NULL OR LOWER(COALESCE({label}, '')) LIKE $5 OR LOWER(COALESCE(color, '')) LIKE $5
         OR LOWER(type) LIKE $5 OR LOWER(COALESCE(brand, '')) LIKE $5)";

/// A page of the farm's materials of `kind` (by type, then name or colour) and how many
/// match in all.
pub async fn list(
    conn: &mut Conn,
    kind: MaterialKind,
    tenant: &TenantId,
    query: &MaterialQuery,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Material>, i64)> {
    let label = if kind.in_grams() { "hex_code" } else { "name" };
    let filter = FILTER
        .replace("{amount}", amount_column(kind))
        .replace("{label}", label);
    let search = query
        .search
        .as_ref()
        .map(|s| format!("%{}%", s.to_lowercase()));
    let material_type = query
        .material_type
        .as_ref()
        .map(|t| t.trim().to_lowercase());
    let status = query.status.map(|s| s.as_str());
    let order = if kind.in_grams() { "color" } else { "name" };
    let sql = format!(
        "SELECT {} FROM {} WHERE {filter} ORDER BY type, {order}, id LIMIT $6 OFFSET $7",
        columns(kind),
        table(kind)
    );
    let rows = sqlx::query_as::<_, Material>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(material_type.as_deref())
        .bind(status)
        .bind(i64::from(query.low))
        .bind(search.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let count = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM {} WHERE {filter}",
        table(kind)
    );
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count))
        .bind(tenant.as_str())
        .bind(material_type.as_deref())
        .bind(status)
        .bind(i64::from(query.low))
        .bind(search.as_deref())
        .fetch_one(&mut *conn)
        .await?;
    Ok((rows.into_iter().map(|m| tagged(kind, m)).collect(), total))
}

/// One material of the farm.
pub async fn get(
    conn: &mut Conn,
    kind: MaterialKind,
    tenant: &TenantId,
    id: &str,
) -> StoreResult<Material> {
    let sql = format!(
        "SELECT {} FROM {} WHERE tenant_id = $1 AND id = $2",
        columns(kind),
        table(kind)
    );
    let material = sqlx::query_as::<_, Material>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(tagged(kind, material))
}

/// The farm's spools of filament of `filament_type` (any case).
pub async fn spools_of_type(
    conn: &mut Conn,
    tenant: &TenantId,
    filament_type: &str,
) -> StoreResult<Vec<Material>> {
    let sql = format!(
        "SELECT {} FROM filament_inventory WHERE tenant_id = $1 AND LOWER(type) = $2 ORDER BY id",
        columns(MaterialKind::Filament)
    );
    let rows = sqlx::query_as::<_, Material>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(filament_type.trim().to_lowercase())
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|m| tagged(MaterialKind::Filament, m))
        .collect())
}

/// The status a kind's fields give.
fn status_of(fields: &MaterialFields) -> MaterialStatus {
    material_status(fields.remaining, fields.low_threshold, fields.on_order)
}

/// A value of a column a kind writes.
enum Value {
    Text(Option<String>),
    Real(Option<f64>),
    Int(Option<i64>),
}

/// The columns a kind's fields write, with their values (all but ids and times).
fn written(kind: MaterialKind, fields: &MaterialFields) -> Vec<(&'static str, Value)> {
    use Value::*;
    let mut columns = vec![
        ("type", Text(Some(fields.material_type.clone()))),
        ("brand", Text(fields.brand.clone())),
        ("status", Text(Some(status_of(fields).as_str().to_string()))),
        ("location", Text(fields.location.clone())),
        ("cost_per_unit", Int(fields.cost_per_unit)),
        ("reorder_link", Text(fields.reorder_link.clone())),
    ];
    match kind {
        MaterialKind::Filament => columns.extend([
            // The data model's colour is required: an unnamed one reads as its hex code.
            (
                "color",
                Text(Some(
                    fields
                        .color
                        .clone()
                        .or(fields.hex_code.clone())
                        .unwrap_or_default(),
                )),
            ),
            ("hex_code", Text(fields.hex_code.clone())),
            (
                "diameter",
                Text(Some(
                    fields.diameter.clone().unwrap_or_else(|| "1.75mm".into()),
                )),
            ),
            ("remaining_grams", Real(Some(fields.remaining))),
            (
                "spool_weight_grams",
                Real(Some(fields.spool_weight_grams.unwrap_or(1000.0))),
            ),
            ("low_threshold", Real(Some(fields.low_threshold))),
        ]),
        other => {
            columns.extend([
                ("name", Text(fields.name.clone())),
                ("color", Text(fields.color.clone())),
                (
                    "remaining_units",
                    Int(Some(fields.remaining.round() as i64)),
                ),
                (
                    "low_threshold",
                    Int(Some(fields.low_threshold.round() as i64)),
                ),
            ]);
            match other {
                MaterialKind::Packaging => columns.push(("size", Text(fields.size.clone()))),
                MaterialKind::Component => columns.extend([
                    ("diameter", Text(fields.diameter.clone())),
                    ("size", Text(fields.size.clone())),
                ]),
                _ => columns.push(("compatible_models", Text(fields.compatible_models.clone()))),
            }
        }
    }
    columns
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

fn bind_values<'q>(mut query: Query<'q>, values: Vec<(&'static str, Value)>) -> Query<'q> {
    for (_, value) in values {
        query = match value {
            Value::Text(v) => query.bind(v),
            Value::Real(v) => query.bind(v),
            Value::Int(v) => query.bind(v),
        };
    }
    query
}

/// Adds a material of `kind` to the farm.
pub async fn create(
    conn: &mut Conn,
    kind: MaterialKind,
    tenant: &TenantId,
    fields: &MaterialFields,
    now: &str,
) -> StoreResult<Material> {
    let id = crate::new_id();
    let values = written(kind, fields);
    let names: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
    let marks: Vec<String> = (0..values.len()).map(|i| format!("${}", i + 4)).collect();
    let sql = format!(
        "INSERT INTO {} (id, tenant_id, created_at, updated_at, {}) VALUES ($1, $2, $3, $3, {})",
        table(kind),
        names.join(", "),
        marks.join(", ")
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.clone())
        .bind(tenant.as_str().to_string())
        .bind(now.to_string());
    bind_values(query, values).execute(&mut *conn).await?;
    get(conn, kind, tenant, &id).await
}

/// Replaces a material's values; `NotFound` when the farm has no such row.
pub async fn update(
    conn: &mut Conn,
    kind: MaterialKind,
    tenant: &TenantId,
    id: &str,
    fields: &MaterialFields,
    now: &str,
) -> StoreResult<Material> {
    let values = written(kind, fields);
    let sets: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{c} = ${}", i + 4))
        .collect();
    let sql = format!(
        "UPDATE {} SET updated_at = $3, {} WHERE tenant_id = $1 AND id = $2",
        table(kind),
        sets.join(", ")
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str().to_string())
        .bind(id.to_string())
        .bind(now.to_string());
    let done = bind_values(query, values).execute(&mut *conn).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, kind, tenant, id).await
}

/// Removes a material; `NotFound` when the farm has no such row. Its usage history stays
/// (it names the material by id, as a record of what was spent).
pub async fn delete(
    conn: &mut Conn,
    kind: MaterialKind,
    tenant: &TenantId,
    id: &str,
) -> StoreResult<()> {
    let sql = format!(
        "DELETE FROM {} WHERE tenant_id = $1 AND id = $2",
        table(kind)
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Takes `amount` from a material in one statement (concurrent takes all count):
/// `Err(the material as it is)` when less is left (nothing changed).
pub async fn take(
    conn: &mut Conn,
    kind: MaterialKind,
    tenant: &TenantId,
    id: &str,
    amount: f64,
    now: &str,
) -> StoreResult<Result<Material, Material>> {
    let column = amount_column(kind);
    let sql = format!(
        "UPDATE {} SET {column} = {column} - $3, updated_at = $4
         WHERE tenant_id = $1 AND id = $2 AND {column} >= $3",
        table(kind)
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id);
    let query = if kind.in_grams() {
        query.bind(amount)
    } else {
        query.bind(amount.round() as i64)
    };
    let done = query.bind(now).execute(&mut *conn).await?;
    let material = refresh_status(conn, kind, tenant, id).await?;
    Ok(if done.rows_affected() == 1 {
        Ok(material)
    } else {
        Err(material)
    })
}

/// Spends `grams` of a spool that a print used: what the print used left the spool, so the
/// record goes to zero rather than refusing (the spool held more than was written down).
pub async fn spend_filament(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    grams: f64,
    now: &str,
) -> StoreResult<Material> {
    sqlx::query(
        "UPDATE filament_inventory SET updated_at = $4,
            remaining_grams = CASE WHEN remaining_grams > $3 THEN remaining_grams - $3 ELSE 0 END
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(grams)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    refresh_status(conn, MaterialKind::Filament, tenant, id).await
}

/// Writes the status the amount gives (a reorder stands while the amount is low).
async fn refresh_status(
    conn: &mut Conn,
    kind: MaterialKind,
    tenant: &TenantId,
    id: &str,
) -> StoreResult<Material> {
    let mut material = get(conn, kind, tenant, id).await?;
    let on_order = material.status == MaterialStatus::OnOrder.as_str();
    let status = material_status(material.remaining, material.low_threshold, on_order);
    if status.as_str() != material.status {
        let sql = format!(
            "UPDATE {} SET status = $3 WHERE tenant_id = $1 AND id = $2",
            table(kind)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(id)
            .bind(status.as_str())
            .execute(&mut *conn)
            .await?;
        material.status = status.as_str().to_string();
    }
    Ok(material)
}

/// Records whether a material is low now; `true` when the farm must be told (it is low and
/// had not been told), by `domain::stock::low_stock_alert`'s rule in one conditional update.
pub async fn note_low(conn: &mut Conn, material: &Material) -> StoreResult<bool> {
    let is_low = material.is_low();
    let sql = format!(
        "UPDATE {} SET low_alerted = $3 WHERE tenant_id = $1 AND id = $2 AND low_alerted <> $3",
        table(material.kind())
    );
    let flipped = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&material.tenant_id)
        .bind(&material.id)
        .bind(i64::from(is_low))
        .execute(&mut *conn)
        .await?;
    Ok(domain::stock::low_stock_alert(is_low, flipped.rows_affected() == 0).0)
}

/// One use of a material.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Usage {
    pub id: String,
    pub material_type: String,
    pub material_id: String,
    pub print_job_id: Option<String>,
    pub usage_amount: f64,
    pub usage_date: Option<String>,
    pub reason: Option<String>,
}

/// Records that `amount` of a material was used (by a print, when `job` is given).
pub async fn record_usage(
    conn: &mut Conn,
    material: &Material,
    job: Option<&str>,
    amount: f64,
    reason: &str,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO material_usage_history (id, tenant_id, material_type, material_id, print_job_id,
            usage_amount, usage_date, reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7)",
    )
    .bind(crate::new_id())
    .bind(&material.tenant_id)
    .bind(material.kind().as_str())
    .bind(&material.id)
    .bind(job)
    .bind(amount)
    .bind(now)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    crate::analytics::touch(conn, &material.tenant_id, &[Some(now)]).await
}

/// The latest `limit` uses of a material, newest first.
pub async fn usage_of(
    conn: &mut Conn,
    tenant: &TenantId,
    material_id: &str,
    limit: i64,
) -> StoreResult<Vec<Usage>> {
    Ok(sqlx::query_as::<_, Usage>(
        "SELECT id, material_type, material_id, print_job_id, usage_amount, usage_date, reason
         FROM material_usage_history WHERE tenant_id = $1 AND material_id = $2
         ORDER BY created_at DESC, id DESC LIMIT $3",
    )
    .bind(tenant.as_str())
    .bind(material_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// Components of the farm whose name is one of `names` (any case): a product's components
/// name what they need by name.
pub async fn components_named(
    conn: &mut Conn,
    tenant: &TenantId,
    names: &[String],
) -> StoreResult<Vec<Material>> {
    let kind = MaterialKind::Component;
    let sql = format!(
        "SELECT {} FROM accessories_inventory WHERE tenant_id = $1 ORDER BY name, id",
        columns(kind)
    );
    let rows = sqlx::query_as::<_, Material>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|m| {
            m.name
                .as_deref()
                .is_some_and(|n| names.iter().any(|w| w.eq_ignore_ascii_case(n.trim())))
        })
        .map(|m| tagged(kind, m))
        .collect())
}
