//! Rows written by a farm import (the legacy Pi import, a restore): one generic upsert by
//! id over a fixed list of tables, so that a second run of the same import finds its rows,
//! says which columns it changed, and inserts nothing twice.
//!
//! Every value is bound as text and cast in SQL to the column's type (`CAST($n AS BIGINT)`):
//! sqlx's `Any` driver types a bound `None` by its Rust type, which PostgreSQL refuses for
//! a column of another type; text cast in SQL is one statement shape on both databases.
//! Table and column names come from the importer's code, never from its input.

use crate::{Conn, StoreError, StoreResult};
use domain::TenantId;
use sqlx::Row;

/// A farm table an import writes (each has `id` and `tenant_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `build_plate_types`.
    BuildPlateTypes,
    /// `color_presets`.
    ColorPresets,
    /// `printers`.
    Printers,
    /// `products`.
    Products,
    /// `print_files`.
    PrintFiles,
    /// `product_skus`.
    ProductSkus,
    /// `finished_goods`.
    FinishedGoods,
    /// `print_jobs`.
    PrintJobs,
    /// `assembly_tasks`.
    AssemblyTasks,
    /// `worklist_tasks`.
    WorklistTasks,
}

impl Table {
    /// The table's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Table::BuildPlateTypes => "build_plate_types",
            Table::ColorPresets => "color_presets",
            Table::Printers => "printers",
            Table::Products => "products",
            Table::PrintFiles => "print_files",
            Table::ProductSkus => "product_skus",
            Table::FinishedGoods => "finished_goods",
            Table::PrintJobs => "print_jobs",
            Table::AssemblyTasks => "assembly_tasks",
            Table::WorklistTasks => "worklist_tasks",
        }
    }
}

/// A column's SQL type, for the cast of its bound text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `TEXT`.
    Text,
    /// `BIGINT` (integers and 0/1 flags).
    Int,
    /// `DOUBLE PRECISION`.
    Real,
}

impl Kind {
    /// The SQL type its bound text is cast to.
    pub fn cast(self) -> &'static str {
        match self {
            Kind::Text => "TEXT",
            Kind::Int => "BIGINT",
            Kind::Real => "DOUBLE PRECISION",
        }
    }

    /// Whether two stored texts of this kind are the same value (`0.4` and `0.40`).
    fn same(self, a: Option<&str>, b: Option<&str>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => match self {
                Kind::Text => a == b,
                Kind::Int => a.trim().parse::<i64>().ok() == b.trim().parse::<i64>().ok(),
                Kind::Real => match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
                    (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                    _ => a == b,
                },
            },
            _ => false,
        }
    }
}

/// One column's value in an imported row.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The column.
    pub column: &'static str,
    /// Its type.
    pub kind: Kind,
    /// The value as text (`None` is NULL).
    pub value: Option<String>,
    /// Written when the row is made, left alone after: live state the farm owns from then
    /// on (a printer's status, its loaded filament).
    pub insert_only: bool,
}

/// What an upsert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The row was new.
    Inserted,
    /// The row was there; these columns changed.
    Updated(Vec<&'static str>),
    /// The row was there, the same.
    Unchanged,
}

/// Writes the farm's row `id` of `table` with `fields`: inserted when missing, else the
/// changed columns updated (insert-only ones left). An id held by another farm is
/// `Conflict { field: "id" }`.
pub async fn upsert(
    conn: &mut Conn,
    tenant: &TenantId,
    table: Table,
    id: &str,
    fields: &[Field],
) -> StoreResult<Outcome> {
    let name = table.as_str();
    let select = format!(
        "SELECT tenant_id{} FROM {name} WHERE id = $1",
        fields
            .iter()
            .map(|f| format!(", CAST({} AS TEXT)", f.column))
            .collect::<String>()
    );
    let existing = sqlx::query(sqlx::AssertSqlSafe(select))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = existing else {
        let columns: String = fields.iter().map(|f| format!(", {}", f.column)).collect();
        let values: String = fields
            .iter()
            .enumerate()
            .map(|(i, f)| format!(", CAST(${} AS {})", i + 3, f.kind.cast()))
            .collect();
        let sql = format!("INSERT INTO {name} (id, tenant_id{columns}) VALUES ($1, $2{values})");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(tenant.as_str());
        for field in fields {
            query = query.bind(field.value.as_deref());
        }
        query.execute(&mut *conn).await?;
        return Ok(Outcome::Inserted);
    };
    let owner: String = row.try_get(0)?;
    if owner != tenant.as_str() {
        return Err(StoreError::Conflict { field: "id".into() });
    }
    let mut changed = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let stored: Option<String> = row.try_get(i + 1)?;
        if !field.insert_only && !field.kind.same(stored.as_deref(), field.value.as_deref()) {
            changed.push(field);
        }
    }
    if changed.is_empty() {
        return Ok(Outcome::Unchanged);
    }
    let sets: Vec<String> = changed
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{} = CAST(${} AS {})", f.column, i + 3, f.kind.cast()))
        .collect();
    let sql = format!(
        "UPDATE {name} SET {} WHERE id = $1 AND tenant_id = $2",
        sets.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(tenant.as_str());
    for field in &changed {
        query = query.bind(field.value.as_deref());
    }
    query.execute(&mut *conn).await?;
    Ok(Outcome::Updated(changed.iter().map(|f| f.column).collect()))
}

/// The id of the farm's row of `table` whose `columns` (with their kinds) hold `values`,
/// other than `except`: who holds a unique key an imported row wants. The values are cast
/// to the columns' types, not the columns to text, so the unique index answers.
pub async fn holder(
    conn: &mut Conn,
    tenant: &TenantId,
    table: Table,
    columns: &[(&'static str, Kind)],
    values: &[&str],
    except: &str,
) -> StoreResult<Option<String>> {
    let conditions: String = columns
        .iter()
        .enumerate()
        .map(|(i, (c, kind))| format!(" AND {c} = CAST(${} AS {})", i + 3, kind.cast()))
        .collect();
    let sql = format!(
        "SELECT id FROM {} WHERE tenant_id = $1 AND id <> $2{conditions} LIMIT 1",
        table.as_str()
    );
    let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(except);
    for value in values {
        query = query.bind(*value);
    }
    Ok(query.fetch_optional(&mut *conn).await?)
}

/// The farm's row `id` of `table`, each of `columns` as text (for a spot check of what
/// an import wrote); `None` when the farm has no such row.
pub async fn read(
    conn: &mut Conn,
    tenant: &TenantId,
    table: Table,
    id: &str,
    columns: &[&'static str],
) -> StoreResult<Option<Vec<Option<String>>>> {
    let select: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST({c} AS TEXT)"))
        .collect();
    let sql = format!(
        "SELECT {} FROM {} WHERE id = $1 AND tenant_id = $2",
        if select.is_empty() {
            "id".to_string()
        } else {
            select.join(", ")
        },
        table.as_str()
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(tenant.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|row| {
        (0..columns.len())
            .map(|i| {
                row.try_get::<Option<String>, _>(i)
                    .map_err(StoreError::from)
            })
            .collect()
    })
    .transpose()
}

/// Whether two stored values of `kind` are equal (as [`upsert`] compares them).
pub fn same_value(kind: Kind, a: Option<&str>, b: Option<&str>) -> bool {
    kind.same(a, b)
}

/// Raises the farm's printer-number counter to at least `value`, so printers added after
/// an import are numbered past the imported ones.
pub async fn raise_printer_counter(
    conn: &mut Conn,
    tenant: &TenantId,
    value: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tenant_counters (tenant_id, sequence, value) VALUES ($1, 'printer', $2)
         ON CONFLICT (tenant_id, sequence) DO UPDATE SET value = CASE
             WHEN tenant_counters.value < $2 THEN $2 ELSE tenant_counters.value END",
    )
    .bind(tenant.as_str())
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How many of `ids` the farm has rows of in `table`.
pub async fn count_present(
    conn: &mut Conn,
    tenant: &TenantId,
    table: Table,
    ids: &[String],
) -> StoreResult<u64> {
    let mut present = 0u64;
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE tenant_id = $1 AND id IN ({})",
            table.as_str(),
            marks.join(", ")
        );
        let mut query =
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str());
        for id in chunk {
            query = query.bind(id);
        }
        present += u64::try_from(query.fetch_one(&mut *conn).await?).unwrap_or(0);
    }
    Ok(present)
}

/// How many of the farm's rows of `table` name in `column` a row of `to` the farm does
/// not have.
pub async fn dangling(
    conn: &mut Conn,
    tenant: &TenantId,
    table: Table,
    column: &'static str,
    to: Table,
) -> StoreResult<u64> {
    let sql = format!(
        "SELECT COUNT(*) FROM {} a WHERE a.tenant_id = $1 AND a.{column} IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM {} b WHERE b.id = a.{column} AND b.tenant_id = $1)",
        table.as_str(),
        to.as_str()
    );
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .fetch_one(&mut *conn)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_by_their_kind() {
        assert!(Kind::Real.same(Some("0.4"), Some("0.40")));
        assert!(!Kind::Real.same(Some("0.4"), Some("0.5")));
        assert!(Kind::Int.same(Some("7"), Some(" 7")));
        assert!(!Kind::Text.same(Some("a"), None));
        assert!(Kind::Text.same(None, None));
    }
}
