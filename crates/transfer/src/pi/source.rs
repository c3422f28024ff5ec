//! The Pi's SQLite file, opened read-only: its tables and columns, and its rows with each
//! value in the storage class SQLite actually holds (a price written as text in an
//! INTEGER column stays text here, for the normaliser to read and report).

use std::collections::BTreeMap;
use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Column, Row, TypeInfo, ValueRef};

use super::ImportError;

/// A value as the Pi stored it.
#[derive(Debug, Clone, PartialEq)]
pub enum PiValue {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A float.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes (nothing the importer reads is a blob; it is reported).
    Blob(usize),
}

impl PiValue {
    /// The value as text (integers and floats written out), `None` for NULL and blobs.
    pub fn as_text(&self) -> Option<String> {
        match self {
            PiValue::Null | PiValue::Blob(_) => None,
            PiValue::Int(i) => Some(i.to_string()),
            PiValue::Real(f) => Some(f.to_string()),
            PiValue::Text(t) => Some(t.clone()),
        }
    }
}

/// One row: column name → value (a column the table lacks reads as NULL).
#[derive(Debug, Clone, Default)]
pub struct PiRow(pub BTreeMap<String, PiValue>);

impl PiRow {
    /// The value of `column` (NULL when absent).
    pub fn get(&self, column: &str) -> &PiValue {
        self.0.get(column).unwrap_or(&PiValue::Null)
    }

    /// The row's id as text (empty when it has none).
    pub fn id(&self) -> String {
        self.get("id").as_text().unwrap_or_default()
    }
}

/// The Pi database.
pub struct Source {
    pool: SqlitePool,
    /// Table name → its columns, as the file declares them.
    pub tables: BTreeMap<String, Vec<String>>,
}

/// The first bytes of every SQLite 3 file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

impl Source {
    /// Opens `path` read-only; a file that is not SQLite is refused before anything else.
    pub async fn open(path: &Path) -> Result<Source, ImportError> {
        let mut header = [0u8; 16];
        let read = std::fs::File::open(path).and_then(|mut file| {
            use std::io::Read;
            file.read_exact(&mut header)
        });
        match read {
            Ok(()) if &header == SQLITE_MAGIC => {}
            Ok(()) => return Err(ImportError::NotSqlite(path.to_path_buf())),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(ImportError::NotSqlite(path.to_path_buf()));
            }
            Err(e) => return Err(ImportError::Unreadable(path.to_path_buf(), e)),
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .immutable(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| ImportError::Source(e.to_string()))?;
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(&pool)
        .await
        .map_err(|e| ImportError::Source(e.to_string()))?;
        let mut tables = BTreeMap::new();
        for name in names {
            let columns: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                    .bind(&name)
                    .fetch_all(&pool)
                    .await
                    .map_err(|e| ImportError::Source(e.to_string()))?;
            tables.insert(name, columns);
        }
        Ok(Source { pool, tables })
    }

    /// How many rows `table` has.
    pub async fn count(&self, table: &str) -> Result<u64, ImportError> {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}",
            quoted(table)
        )))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| ImportError::Source(e.to_string()))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The values of `column` in every row of `table` (ids, for the references check).
    pub async fn column(&self, table: &str, column: &str) -> Result<Vec<PiValue>, ImportError> {
        let sql = format!("SELECT {} FROM {}", quoted(column), quoted(table));
        let rows: Vec<SqliteRow> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| ImportError::Source(e.to_string()))?;
        rows.iter().map(|row| value(row, 0)).collect()
    }

    /// Up to `limit` rows of `table` after rowid `after`, in rowid order, with the last
    /// rowid read: a table of any size is read a batch at a time, memory flat.
    pub async fn batch(
        &self,
        table: &str,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<PiRow>, i64), ImportError> {
        let sql = format!(
            "SELECT rowid AS pi_rowid, * FROM {} WHERE rowid > $1 ORDER BY rowid LIMIT $2",
            quoted(table)
        );
        let rows: Vec<SqliteRow> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| ImportError::Source(e.to_string()))?;
        let mut last = after;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values = BTreeMap::new();
            for (i, column) in row.columns().iter().enumerate() {
                match column.name() {
                    "pi_rowid" => {
                        if let PiValue::Int(id) = value(row, i)? {
                            last = id;
                        }
                    }
                    name => {
                        values.insert(name.to_string(), value(row, i)?);
                    }
                }
            }
            out.push(PiRow(values));
        }
        Ok((out, last))
    }

    /// Closes the file.
    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// A name quoted for SQLite (names come from the file's own schema).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Value `i` of `row` in its storage class.
fn value(row: &SqliteRow, i: usize) -> Result<PiValue, ImportError> {
    let raw = row
        .try_get_raw(i)
        .map_err(|e| ImportError::Source(e.to_string()))?;
    if raw.is_null() {
        return Ok(PiValue::Null);
    }
    let class = raw.type_info().name().to_ascii_uppercase();
    let bad = |e: sqlx::Error| ImportError::Source(e.to_string());
    Ok(match class.as_str() {
        "INTEGER" | "BOOLEAN" => PiValue::Int(row.try_get_unchecked::<i64, _>(i).map_err(bad)?),
        "REAL" => PiValue::Real(row.try_get_unchecked::<f64, _>(i).map_err(bad)?),
        "BLOB" => PiValue::Blob(row.try_get_unchecked::<Vec<u8>, _>(i).map_err(bad)?.len()),
        _ => PiValue::Text(row.try_get_unchecked::<String, _>(i).map_err(bad)?),
    })
}
