//! A fresh database for a test: a temporary SQLite file, or a new PostgreSQL database
//! when `PRINTFARM_TEST_DATABASE_URL` is set (dropped again when the test ends).

use std::path::PathBuf;

use crate::Dialect;

/// A database made for one test.
pub struct TestDatabase {
    /// The URL to open it with.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// Makes one with every migration applied; panics (it is for tests) when PostgreSQL is
    /// asked for but unreachable.
    pub async fn new() -> TestDatabase {
        TestDatabase::make(true).await
    }

    /// Makes one with nothing in it (a SQLite file not yet made): a restore's target, or
    /// a database an older release's migrations build up.
    pub async fn empty() -> TestDatabase {
        TestDatabase::make(false).await
    }

    async fn make(migrated: bool) -> TestDatabase {
        match std::env::var("PRINTFARM_TEST_DATABASE_URL") {
            Ok(admin) if !admin.is_empty() => {
                use sqlx::Connection;
                let name = format!("printfarm_test_{}", uuid::Uuid::new_v4().simple());
                let template = if migrated {
                    migrated_template(&admin).await
                } else {
                    "template0".to_string()
                };
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("PRINTFARM_TEST_DATABASE_URL must reach a PostgreSQL server");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "CREATE DATABASE {name} TEMPLATE {template}"
                )))
                .execute(&mut conn)
                .await
                .expect("create a test database");
                // A test's commits need not wait for the disk: nothing survives a crash of
                // a test run anyway, and the suite's thousands of commits add up.
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "ALTER DATABASE {name} SET synchronous_commit = off"
                )))
                .execute(&mut conn)
                .await
                .expect("tune the test database");
                let _ = conn.close().await;
                TestDatabase {
                    url: database_url(&admin, &name),
                    _dir: None,
                    postgres: Some((admin, name)),
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let path: PathBuf = dir.path().join("test.db");
                TestDatabase {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    _dir: Some(dir),
                    postgres: None,
                }
            }
        }
    }
}

/// The URL of database `name` on the server of `admin`.
fn database_url(admin: &str, name: &str) -> String {
    match admin.rsplit_once('/') {
        Some((base, _)) if base.contains("://") && !base.ends_with('/') => format!("{base}/{name}"),
        _ => format!("{}/{name}", admin.trim_end_matches('/')),
    }
}

/// A database with every migration applied, made once per set of migrations and copied
/// for each test: applying them takes seconds on PostgreSQL, copying a fraction of one
/// (test processes run side by side, so it is made under an advisory lock). Templates of
/// older migration sets are dropped.
async fn migrated_template(admin: &str) -> String {
    use sqlx::Connection;
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for migration in crate::MIGRATOR.iter() {
        migration.version.hash(&mut hasher);
        migration.checksum.hash(&mut hasher);
    }
    let key = hasher.finish();
    let name = format!("printfarm_template_{key:016x}");
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("PRINTFARM_TEST_DATABASE_URL must reach a PostgreSQL server");
    // One lock for every template maker, whatever its migrations.
    sqlx::query("SELECT pg_advisory_lock(7041960)")
        .execute(&mut conn)
        .await
        .expect("the template lock");
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await
        .expect("look for the template");
    if exists.is_none() {
        let old: Vec<(String,)> = sqlx::query_as(
            "SELECT datname FROM pg_database WHERE datname LIKE 'printfarm_template_%'",
        )
        .fetch_all(&mut conn)
        .await
        .expect("list old templates");
        for (old,) in old {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {old} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
        let building = format!("{name}_building");
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {building} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {building}")))
            .execute(&mut conn)
            .await
            .expect("create the template");
        let store = crate::Store::open(&database_url(admin, &building))
            .await
            .expect("migrate the template");
        store.close().await;
        // Renamed once complete: a maker that died half way leaves no template behind.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {building} RENAME TO {name}"
        )))
        .execute(&mut conn)
        .await
        .expect("name the template");
    }
    let _ = sqlx::query("SELECT pg_advisory_unlock(7041960)")
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    name
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop may run inside a runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// Applies the migrations up to `version` only: the schema a release with that newest
/// migration left.
pub async fn migrate_to(url: &str, version: i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("connect");
    crate::MIGRATOR
        .run_to(version, &pool)
        .await
        .expect("the older migrations apply");
    pool.close().await;
}

/// Copies every row of every table of the SQLite database `from` into the database `to`,
/// which has the same schema and no rows; foreign keys are not checked while it copies (the
/// rows were consistent where they came from). Returns each table's rows.
pub async fn copy_rows(from: &str, to: &str) -> std::collections::BTreeMap<String, u64> {
    use futures::TryStreamExt;
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let to_dialect = crate::backup::dialect_of(to).expect("a database URL");
    let mut source = sqlx::AnyConnection::connect(from)
        .await
        .expect("the source");
    let mut target = sqlx::AnyConnection::connect(to).await.expect("the target");
    let unchecked = match to_dialect {
        Dialect::Sqlite => "PRAGMA foreign_keys = OFF",
        Dialect::Postgres => "SET session_replication_role = replica",
    };
    sqlx::query(unchecked)
        .execute(&mut target)
        .await
        .expect("foreign keys off");
    let mut copied = std::collections::BTreeMap::new();
    for table in crate::copy::tables(&mut source, Dialect::Sqlite)
        .await
        .expect("tables")
    {
        let columns = crate::copy::columns(&mut target, to_dialect, &table)
            .await
            .expect("columns");
        let select: Vec<String> = columns
            .iter()
            .map(|c| format!("CAST(\"{}\" AS TEXT)", c.name))
            .collect();
        let sql = format!("SELECT {} FROM \"{table}\"", select.join(", "));
        let width = columns.len();
        let rows: Vec<Vec<Option<String>>> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch(&mut source)
            .map_ok(|row| {
                (0..width)
                    .map(|i| sqlx::Row::try_get::<Option<String>, _>(&row, i).expect("text"))
                    .collect()
            })
            .try_collect()
            .await
            .expect("rows");
        crate::copy::insert(&mut target, &table, &columns, &rows)
            .await
            .expect("insert");
        copied.insert(table, rows.len() as u64);
    }
    let _ = target.close().await;
    let _ = source.close().await;
    copied
}

/// The rows of every table of the database at `url` (the migrations' own table aside).
pub async fn row_counts(url: &str) -> std::collections::BTreeMap<String, u64> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let dialect = crate::backup::dialect_of(url).expect("a database URL");
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let mut counts = std::collections::BTreeMap::new();
    for table in crate::copy::tables(&mut conn, dialect)
        .await
        .expect("tables")
    {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM \"{table}\""
        )))
        .fetch_one(&mut conn)
        .await
        .expect("count");
        counts.insert(table, n as u64);
    }
    let _ = conn.close().await;
    counts
}
