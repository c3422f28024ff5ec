//! A farm's rows, table by table, as text: what `printfarm export` writes and `printfarm
//! import` restores.
//!
//! Unlike [`crate::import`], which writes a fixed list of columns the Pi importer plans,
//! a copy carries every column a table has, read from the database's own catalogue, so a
//! column added by a later migration is carried without a change here. Table and column
//! names still never come from input as such: they are checked against the catalogue
//! (and must be plain identifiers) before they reach SQL. Values are bound as text and
//! cast in SQL, as in [`crate::import`].

use futures::StreamExt;
use futures::stream::BoxStream;
use sqlx::Row;

use crate::import::Kind;
use crate::{Conn, Dialect, StoreError, StoreResult};

/// One column of a table, as the catalogue gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type, for the cast of bound text.
    pub kind: Kind,
    /// Whether it may hold NULL.
    pub nullable: bool,
}

/// Which of a table's rows belong to a farm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The farm's own row (`tenants`): `id` is the farm.
    TheFarm,
    /// Rows whose `tenant_id` is the farm.
    Farm,
    /// Accounts the farm's rows name: its members, and whoever its rows say invited,
    /// wrote, submitted, was assigned or resolved something.
    Users,
    /// Rows whose `user_id` is one of the farm's members (`api_tokens`).
    MembersOwn,
    /// Rows of a farm's row in another table (`order_items` by `order_id` of `orders`).
    Through {
        /// The column naming the parent.
        column: &'static str,
        /// The parent's table.
        parent: &'static str,
    },
}

/// The columns that name an account, for [`Scope::Users`].
const USER_COLUMNS: [(&str, &str); 11] = [
    ("tenant_members", "user_id"),
    ("tenant_members", "invited_by"),
    ("tenant_invitations", "invited_by"),
    ("tenant_invitations", "answered_by"),
    ("wiki_articles", "author_id"),
    ("wiki_articles", "last_edited_by"),
    ("print_jobs", "submitted_by"),
    ("assembly_tasks", "assigned_to"),
    ("worklist_tasks", "assigned_to"),
    ("printer_failures", "resolved_by"),
    ("audit_logs", "user_id"),
];

impl Scope {
    /// The `WHERE` condition, with the farm as `$1`.
    fn condition(self) -> String {
        match self {
            Scope::TheFarm => "id = $1".into(),
            Scope::Farm => "tenant_id = $1".into(),
            Scope::Users => format!(
                "id IN ({})",
                USER_COLUMNS
                    .iter()
                    .map(|(t, c)| format!("SELECT {c} FROM {t} WHERE tenant_id = $1"))
                    .collect::<Vec<_>>()
                    .join(" UNION ")
            ),
            Scope::MembersOwn => {
                "user_id IN (SELECT user_id FROM tenant_members WHERE tenant_id = $1)".into()
            }
            Scope::Through { column, parent } => {
                format!("{column} IN (SELECT id FROM {parent} WHERE tenant_id = $1)")
            }
        }
    }
}

/// A table or column name safe to put in SQL: lower-case letters, digits and `_`.
fn identifier(name: &str) -> StoreResult<&str> {
    let plain = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if plain {
        Ok(name)
    } else {
        Err(StoreError::Config(format!(
            "'{name}' is not a table or column name"
        )))
    }
}

/// The kind of a declared column type (`BIGINT`, `double precision`, `TEXT`, ...).
fn kind_of(declared: &str) -> Kind {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        Kind::Int
    } else if t.contains("REAL") || t.contains("DOUB") || t.contains("FLOA") || t.contains("NUM") {
        Kind::Real
    } else {
        Kind::Text
    }
}

/// The schema's tables (the migrations' bookkeeping left out), by name.
pub async fn tables(conn: &mut Conn, dialect: Dialect) -> StoreResult<Vec<String>> {
    let sql = match dialect {
        Dialect::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name"
        }
        Dialect::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
             AND table_name NOT LIKE '\\_sqlx\\_%' ORDER BY 1"
        }
    };
    Ok(sqlx::query_scalar::<_, String>(sql)
        .fetch_all(&mut *conn)
        .await?)
}

/// The columns of `table` in their order; empty when there is no such table.
pub async fn columns(conn: &mut Conn, dialect: Dialect, table: &str) -> StoreResult<Vec<Column>> {
    let table = identifier(table)?;
    let rows: Vec<(String, String, i64)> = match dialect {
        Dialect::Sqlite => {
            sqlx::query_as(
                "SELECT name, type, CASE WHEN \"notnull\" = 0 AND pk = 0 THEN 1 ELSE 0 END
                 FROM pragma_table_info($1) ORDER BY cid",
            )
            .bind(table)
            .fetch_all(&mut *conn)
            .await?
        }
        Dialect::Postgres => {
            sqlx::query_as(
                "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT),
                        CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END
                 FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1
                 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    rows.into_iter()
        .map(|(name, declared, nullable)| {
            identifier(&name)?;
            Ok(Column {
                kind: kind_of(&declared),
                name,
                nullable: nullable == 1,
            })
        })
        .collect()
}

/// A read-only transaction on `conn`: every read in it sees the same moment (a snapshot
/// on SQLite's WAL from the first read; `REPEATABLE READ` on PostgreSQL).
pub async fn snapshot(
    conn: &mut Conn,
    dialect: Dialect,
) -> StoreResult<sqlx::Transaction<'_, sqlx::Any>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    if dialect == Dialect::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// The last migration applied to the database.
pub async fn migration(conn: &mut Conn) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// How many of `table`'s rows belong to the farm.
pub async fn count(conn: &mut Conn, table: &str, scope: Scope, tenant: &str) -> StoreResult<u64> {
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE {}",
        identifier(table)?,
        scope.condition()
    );
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(tenant)
        .fetch_one(&mut *conn)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The farm's rows of `table`, each of `columns` as text, ordered by `order`: one query
/// read as it arrives, so memory does not grow with the table.
pub fn rows<'c>(
    conn: &'c mut Conn,
    table: &str,
    scope: Scope,
    tenant: &'c str,
    columns: &[Column],
    order: &[&str],
) -> StoreResult<BoxStream<'c, StoreResult<Vec<Option<String>>>>> {
    let select = columns
        .iter()
        .map(|c| identifier(&c.name).map(|n| format!("CAST({n} AS TEXT)")))
        .collect::<StoreResult<Vec<_>>>()?;
    let order = order
        .iter()
        .map(|c| identifier(c))
        .collect::<StoreResult<Vec<_>>>()?;
    let sql = format!(
        "SELECT {} FROM {} WHERE {} ORDER BY {}",
        select.join(", "),
        identifier(table)?,
        scope.condition(),
        order.join(", ")
    );
    let width = columns.len();
    let stream = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant)
        .fetch(conn)
        .map(move |row| {
            let row = row?;
            (0..width)
                .map(|i| {
                    row.try_get::<Option<String>, _>(i)
                        .map_err(StoreError::from)
                })
                .collect()
        });
    Ok(Box::pin(stream))
}

/// Binds per statement, well under both databases' limits (SQLite 32,766; PostgreSQL 65,535).
const MAX_BINDS: usize = 10_000;

/// Inserts `rows` (each one value per column of `columns`) into `table`, several rows a
/// statement.
pub async fn insert(
    conn: &mut Conn,
    table: &str,
    columns: &[Column],
    rows: &[Vec<Option<String>>],
) -> StoreResult<()> {
    if columns.is_empty() || rows.is_empty() {
        return Ok(());
    }
    let names = columns
        .iter()
        .map(|c| identifier(&c.name))
        .collect::<StoreResult<Vec<_>>>()?
        .join(", ");
    let table = identifier(table)?;
    let per_statement = (MAX_BINDS / columns.len()).max(1);
    for chunk in rows.chunks(per_statement) {
        let mut n = 0;
        let tuples: Vec<String> = chunk
            .iter()
            .map(|_| {
                let values: Vec<String> = columns
                    .iter()
                    .map(|c| {
                        n += 1;
                        format!("CAST(${n} AS {})", c.kind.cast())
                    })
                    .collect();
                format!("({})", values.join(", "))
            })
            .collect();
        let sql = format!("INSERT INTO {table} ({names}) VALUES {}", tuples.join(", "));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            if row.len() != columns.len() {
                return Err(StoreError::Config(format!(
                    "a row of {table} has {} values for {} columns",
                    row.len(),
                    columns.len()
                )));
            }
            for value in row {
                query = query.bind(value.as_deref());
            }
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Sets `column` of the rows of `table` by `id`: the references written after the rows
/// they point to (a job's order line, made after the job).
pub async fn set_column(
    conn: &mut Conn,
    table: &str,
    column: &Column,
    values: &[(String, String)],
) -> StoreResult<()> {
    let sql = format!(
        "UPDATE {} SET {} = CAST($2 AS {}) WHERE id = $1",
        identifier(table)?,
        identifier(&column.name)?,
        column.kind.cast()
    );
    for (id, value) in values {
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .bind(value)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Whether `table` has a row whose `column` is `value` (any farm's).
pub async fn exists(conn: &mut Conn, table: &str, column: &str, value: &str) -> StoreResult<bool> {
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE {} = $1",
        identifier(table)?,
        identifier(column)?
    );
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .fetch_one(&mut *conn)
        .await?;
    Ok(n > 0)
}

/// The id of the account with `email`, if there is one.
pub async fn user_by_email(conn: &mut Conn, email: &str) -> StoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM users WHERE LOWER(email) = LOWER($1)")
            .bind(email)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_reach_sql() {
        assert!(identifier("print_jobs").is_ok());
        assert!(identifier("print_jobs; DROP TABLE users").is_err());
        assert!(identifier("Printers").is_err());
        assert!(identifier("").is_err());
        assert!(identifier("1x").is_err());
    }

    #[test]
    fn declared_types_have_their_kind_on_both_databases() {
        assert_eq!(kind_of("BIGINT"), Kind::Int);
        assert_eq!(kind_of("bigint"), Kind::Int);
        assert_eq!(kind_of("INTEGER"), Kind::Int);
        assert_eq!(kind_of("double precision"), Kind::Real);
        assert_eq!(kind_of("REAL"), Kind::Real);
        assert_eq!(kind_of("TEXT"), Kind::Text);
        assert_eq!(kind_of("text"), Kind::Text);
    }
}
