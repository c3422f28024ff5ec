//! A fresh database for a test: a temporary SQLite file, or a new PostgreSQL database
//! when `PRINTFARM_TEST_DATABASE_URL` is set (dropped again when the test ends).

use std::path::PathBuf;

/// A database made for one test.
pub struct TestDatabase {
    /// The URL to open it with.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// Makes one; panics (it is for tests) when PostgreSQL is asked for but unreachable.
    pub async fn new() -> TestDatabase {
        match std::env::var("PRINTFARM_TEST_DATABASE_URL") {
            Ok(admin) if !admin.is_empty() => {
                use sqlx::Connection;
                let name = format!("printfarm_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("PRINTFARM_TEST_DATABASE_URL must reach a PostgreSQL server");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create a test database");
                let _ = conn.close().await;
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) if base.contains("://") && !base.ends_with('/') => {
                        format!("{base}/{name}")
                    }
                    _ => format!("{}/{name}", admin.trim_end_matches('/')),
                };
                TestDatabase {
                    url,
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
