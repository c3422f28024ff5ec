//! PrintFarm's storage: one SQL dialect on SQLite and PostgreSQL through sqlx's `Any` driver.
//!
//! Each module holds one aggregate's SQL as plain functions over a connection or
//! transaction. Functions that read or write a farm's data take its `TenantId` first.

pub mod analytics;
pub mod api_tokens;
pub mod assembly;
pub mod audit;
pub mod automation;
pub mod backup;
pub mod cameras;
pub mod catalogue;
pub mod colours;
pub mod copy;
pub mod counters;
pub mod error;
pub mod failures;
pub mod files;
pub mod finished_goods;
pub mod handled;
pub mod health;
pub mod hubs;
pub mod import;
pub mod integrations;
pub mod invitations;
pub mod jobs;
pub mod low_stock;
pub mod materials;
pub mod members;
pub mod nodes;
pub mod notifications;
pub mod orders;
pub mod passwords;
pub mod plates;
pub mod printers;
pub mod products;
pub mod queue;
pub mod secrets;
pub mod sessions;
pub mod skus;
pub mod tenants;
#[cfg(feature = "testing")]
pub mod testing;
pub mod users;
pub mod verifications;
pub mod wiki;
pub mod worklist;

pub use error::StoreError;
pub use sqlx::AnyConnection as Conn;
/// A raw database error (from committing a transaction, say); converts into `StoreError`.
pub use sqlx::Error as DbError;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor, Transaction};
use std::time::Duration;

/// A nullable float as a bind value of one type on every call: text, which the SQL casts
/// back (`CAST($n AS DOUBLE PRECISION)`). sqlx 0.9's `Any` driver binds `None::<f64>` as
/// PostgreSQL's 4-byte `float4` but `Some(f64)` as `float8`, so a statement prepared by one
/// call failed the next ("incorrect binary data format in bind parameter"). Rust prints an
/// `f64` with the digits that read back to the same value, so nothing is lost.
pub fn float_param(value: Option<f64>) -> Option<String> {
    value.filter(|v| v.is_finite()).map(|v| v.to_string())
}

/// Result of a store function.
pub type StoreResult<T> = Result<T, StoreError>;

/// A database transaction that will write. On SQLite it runs on the store's one writing
/// connection (see [`Store::begin`]).
pub type Tx = Transaction<'static, sqlx::Any>;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// A SQLite file (one machine).
    Sqlite,
    /// PostgreSQL (one or several machines).
    Postgres,
}

/// The database: a pool and its dialect.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// SQLite's one writing connection (see [`Tx`]): writers wait their turn for it in
    /// order, and its thread stays warm; `None` on PostgreSQL.
    writer: Option<AnyPool>,
}

/// Migrations embedded in the binary, applied at start.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`) and applies migrations.
    pub async fn open(url: &str) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let dialect = backup::dialect_of(url)?;
        let options = AnyPoolOptions::new()
            .max_connections(match dialect {
                // Each SQLite connection is a thread that every query hops to: more of them
                // than cores only adds context switches (measured: 3 beat 8 by 60% on 2 cores).
                Dialect::Sqlite => sqlite_connections(),
                Dialect::Postgres => 16,
            })
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            // A ping before every checkout doubles the cost of a short query; a broken
            // connection fails its query instead and is replaced.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // sqlx already turns foreign keys on and waits 5 s on a busy database.
                        // WAL lets readers run beside the writer; NORMAL sync is safe with WAL.
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
                            .await?;
                    }
                    Ok(())
                })
            });
        let writer_options = options.clone().max_connections(1);
        let pool = options.connect(url).await?;
        MIGRATOR.run(&pool).await?;
        let writer = match dialect {
            Dialect::Sqlite => Some(writer_options.connect(url).await?),
            Dialect::Postgres => None,
        };
        Ok(Store {
            pool,
            dialect,
            writer,
        })
    }

    /// The dialect behind the pool.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The connection pool, for reads outside a transaction.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Takes one connection from the pool.
    pub async fn conn(&self) -> StoreResult<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// Begins a transaction that will write.
    ///
    /// The one place where the dialects differ for transactions: SQLite must take its
    /// write lock at BEGIN (`IMMEDIATE`), otherwise two transactions that read and then
    /// write fail with SQLITE_BUSY instead of waiting their turn; and it runs on the one
    /// writing connection, so writers queue for it in order instead of sleeping in SQLite's
    /// busy handler, which sleeps in growing steps (16 writers at once: p99 615 ms before,
    /// see the README's benchmarks), and that connection's thread stays warm. PostgreSQL
    /// locks rows as it goes.
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(match &self.writer {
            Some(writer) => writer.begin_with("BEGIN IMMEDIATE").await?,
            None => self.pool.begin().await?,
        })
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        self.pool.close().await;
    }
}

/// SQLite connections for reads (and single-statement writes): one per core and one more.
fn sqlite_connections() -> u32 {
    std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(4))
        .unwrap_or(2)
        + 1
}

/// Now, formatted as stored.
pub fn now_text() -> String {
    domain::time::format(chrono::Utc::now())
}

/// A new random UUID as text.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A new id that sorts after every id this process made before (UUIDv7, monotonic within
/// the process): the tiebreaker of rows written in the same millisecond (the audit log).
pub fn new_ordered_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A closed-set value (a status) read back from the database; a name outside the set is
/// a corrupt row, not a caller's mistake.
pub fn stored_enum<T>(text: String) -> StoreResult<T>
where
    T: TryFrom<String>,
    T::Error: std::fmt::Display,
{
    T::try_from(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}
