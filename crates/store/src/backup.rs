//! What a backup and a restore ask of a database before any server opens it: its schema
//! version, whether it is empty, whether a server is using it, and a consistent copy of a
//! SQLite file. These connect without applying migrations: a backup never changes the
//! database it copies, and a restore target stays untouched until it is written.

use sqlx::{AnyConnection, Connection, Row};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::{Dialect, StoreError, StoreResult};

/// The newest migration this build knows: the schema a restored database is brought to.
pub fn latest_migration() -> i64 {
    crate::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The dialect of a database URL.
pub fn dialect_of(url: &str) -> StoreResult<Dialect> {
    if url.starts_with("sqlite:") {
        Ok(Dialect::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Dialect::Postgres)
    } else {
        Err(StoreError::Config(format!(
            "database URL must start with sqlite: or postgres: (got '{}')",
            url.split(':').next().unwrap_or_default()
        )))
    }
}

/// The file of a SQLite URL.
pub fn sqlite_file(url: &str) -> StoreResult<PathBuf> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("database URL: {e}")))?;
    Ok(options.get_filename().to_path_buf())
}

/// A database at `url`, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Tables in it (any: a database holding something else is not empty either).
    pub tables: i64,
    /// The newest migration applied; none when PrintFarm never migrated it.
    pub schema_version: Option<i64>,
    /// Server nodes whose lease is live: servers running against it now.
    pub live_nodes: Vec<String>,
}

/// Looks at the database at `url` without changing it. A SQLite file that does not exist
/// is found empty (and is not made).
pub async fn inspect(url: &str, now: &str) -> StoreResult<Found> {
    let dialect = dialect_of(url)?;
    if dialect == Dialect::Sqlite && !sqlite_file(url)?.exists() {
        return Ok(Found {
            tables: 0,
            schema_version: None,
            live_nodes: Vec::new(),
        });
    }
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(url).await?;
    let tables_sql = match dialect {
        Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        }
    };
    let tables: i64 = sqlx::query(tables_sql)
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    let has = |table: &'static str| {
        let sql = match dialect {
            Dialect::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
            }
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        sqlx::query(sql).bind(table)
    };
    let migrated: i64 = has("_sqlx_migrations")
        .fetch_one(&mut conn)
        .await?
        .try_get(0)?;
    let schema_version = if migrated > 0 {
        sqlx::query("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut conn)
            .await?
            .try_get::<Option<i64>, _>(0)?
    } else {
        None
    };
    let leases: i64 = has("server_nodes").fetch_one(&mut conn).await?.try_get(0)?;
    let live_nodes = if leases > 0 {
        sqlx::query("SELECT id FROM server_nodes WHERE lease_until > $1 ORDER BY id")
            .bind(now)
            .fetch_all(&mut conn)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let _ = conn.close().await;
    Ok(Found {
        tables,
        schema_version,
        live_nodes,
    })
}

/// Copies the SQLite database at `url` into the new file `dest`: one consistent snapshot
/// while servers go on writing (`VACUUM INTO`, which also leaves out free pages).
pub async fn sqlite_snapshot(url: &str, dest: &Path) -> StoreResult<()> {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(url).await?;
    let dest = dest
        .to_str()
        .ok_or_else(|| StoreError::Config(format!("{} is not UTF-8", dest.display())))?;
    sqlx::query("VACUUM INTO $1")
        .bind(dest)
        .execute(&mut conn)
        .await?;
    let _ = conn.close().await;
    Ok(())
}

/// Ends every node lease a restored database carries: they are the leases of the servers
/// the backup was taken from, none of which runs here. Their hubs are then marked offline
/// by the first server to start, as after any node's death.
pub async fn end_leases(url: &str, now: &str) -> StoreResult<()> {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(url).await?;
    sqlx::query("UPDATE server_nodes SET lease_until = $1 WHERE lease_until > $1")
        .bind(now)
        .execute(&mut conn)
        .await?;
    let _ = conn.close().await;
    Ok(())
}

/// Row counts of the tables a person would check after a restore.
pub async fn headline_counts(url: &str) -> StoreResult<Vec<(&'static str, i64)>> {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(url).await?;
    let mut counts = Vec::new();
    for table in [
        "tenants",
        "users",
        "printers",
        "print_files",
        "print_jobs",
        "orders",
    ] {
        // The names are the constants above, not input.
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await?
            .try_get(0)?;
        counts.push((table, n));
    }
    let _ = conn.close().await;
    Ok(counts)
}
