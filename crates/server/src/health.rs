//! Health endpoints: live (the process answers), ready (the database answers),
//! detailed (database, file store, queues, bus, and warnings in words), and a summary.

use crate::app::App;
use crate::envelope::Envelope;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::time::Instant;

fn uptime(app: &App) -> u64 {
    app.started.elapsed().as_secs()
}

/// GET /health — the service is up.
pub async fn summary(State(app): State<App>) -> Envelope<Value> {
    Envelope::ok(
        json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION"), "uptime_seconds": uptime(&app) }),
    )
}

/// GET /health/live — the process answers.
pub async fn live() -> Envelope<Value> {
    Envelope::ok(json!({ "status": "ok" }))
}

/// GET /health/ready — 200 when the database answers, else 503.
pub async fn ready(State(app): State<App>) -> Response {
    match database(&app).await {
        Ok(_) => Envelope::ok(json!({ "status": "ready" })).into_response(),
        Err(err) => crate::error::ApiError::Unavailable(format!("database: {err}")).into_response(),
    }
}

async fn database(app: &App) -> Result<f64, store::StoreError> {
    let start = Instant::now();
    let mut conn = app.store.conn().await?;
    store::health::ping(&mut conn).await?;
    Ok(start.elapsed().as_secs_f64() * 1000.0)
}

/// Each queue's backlog at `now`: a few index ranges per queue, never a scan of the
/// messages done long ago (what `/metrics` and `/health/detailed` both read).
pub async fn backlogs(
    app: &App,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(&'static str, store::health::Backlog)>, store::StoreError> {
    let now_text = domain::time::format(now);
    let mut conn = app.store.conn().await?;
    let mut backlogs = Vec::new();
    for queue in crate::workers::QUEUES {
        backlogs.push((
            queue,
            store::health::queue_backlog(&mut conn, queue, &now_text).await?,
        ));
    }
    Ok(backlogs)
}

fn oldest_due(
    backlogs: &[(&str, store::health::Backlog)],
    now: chrono::DateTime<chrono::Utc>,
) -> f64 {
    backlogs
        .iter()
        .map(|(_, b)| b.oldest_due_seconds(now))
        .fold(0.0, f64::max)
}

/// A due message older than this means the workers are behind.
const BEHIND_AFTER_SECONDS: f64 = 60.0;
/// Free space on the data directory's disk below which a warning is given.
const LOW_DISK_PERCENT: f64 = 10.0;

fn warnings(
    app: &App,
    backlogs: &[(&str, store::health::Backlog)],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    warnings_for(backlogs, disk_space(&app.settings.data_dir), now)
}

/// What is not down but needs a person, in words (the server still answers 200): dead
/// letters, a queue that is behind, a disk nearly full (`disk`: free and total bytes).
fn warnings_for(
    backlogs: &[(&str, store::health::Backlog)],
    disk: Option<(u64, u64)>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for (queue, backlog) in backlogs {
        if backlog.dead > 0 {
            warnings.push(format!(
                "{} message(s) of the {queue} queue used their last attempt: see GET /api/v1/admin/dlq",
                backlog.dead
            ));
        }
        let waited = backlog.oldest_due_seconds(now);
        if waited > BEHIND_AFTER_SECONDS {
            warnings.push(format!(
                "the {queue} queue is behind: its oldest due message has waited {waited:.0} s ({} due)",
                backlog.due
            ));
        }
    }
    if let Some((free, total)) = disk {
        let percent = free as f64 * 100.0 / total.max(1) as f64;
        if percent < LOW_DISK_PERCENT {
            warnings.push(format!(
                "the data directory's disk is nearly full: {} MB free ({percent:.1}%)",
                free / 1_000_000
            ));
        }
    }
    warnings
}

/// Free and total bytes of the disk holding `dir`.
fn disk_space(dir: &std::path::Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs is plain data; all zeros is a valid value to be overwritten.
        let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `path` is a NUL-terminated string and `stats` a valid statvfs to fill.
        if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
            return None;
        }
        let block = stats.f_frsize as u64;
        Some((stats.f_bavail as u64 * block, stats.f_blocks as u64 * block))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// GET /health/detailed — each dependency with its latency; 503 if any is down.
pub async fn detailed(State(app): State<App>) -> Response {
    let db = database(&app).await;
    let files_start = Instant::now();
    let files = app.files.check().await;
    let files_ms = files_start.elapsed().as_secs_f64() * 1000.0;
    let now = chrono::Utc::now();
    let queue = backlogs(&app, now).await;
    let bus = match &app.bus {
        Some(bus) => Some((bus.address(), bus.check().await)),
        None => None,
    };
    let bus_ok = bus.as_ref().is_none_or(|(_, check)| check.is_ok());
    let healthy = db.is_ok() && files.is_ok() && queue.is_ok() && bus_ok;
    let dialect = match app.store.dialect() {
        store::Dialect::Sqlite => "sqlite",
        store::Dialect::Postgres => "postgres",
    };
    let checks = json!({
        "database": match &db {
            Ok(ms) => json!({ "status": "ok", "dialect": dialect, "latency_ms": ms }),
            Err(e) => json!({ "status": "down", "dialect": dialect, "error": e.to_string() }),
        },
        "file_store": match &files {
            Ok(()) => json!({ "status": "ok", "kind": app.files.kind(), "latency_ms": files_ms }),
            Err(e) => json!({ "status": "down", "kind": app.files.kind(), "error": e.to_string() }),
        },
        "queue": match &queue {
            Ok(backlogs) => json!({
                "status": "ok",
                "pending": backlogs.iter().map(|(_, b)| b.due + b.running).sum::<i64>(),
                "dead_letters": backlogs.iter().map(|(_, b)| b.dead).sum::<i64>(),
                "oldest_due_seconds": oldest_due(backlogs, now),
            }),
            Err(e) => json!({ "status": "down", "error": e.to_string() }),
        },
        "bus": match &bus {
            None => json!({ "status": "ok", "kind": "in_process" }),
            Some((address, Ok(ms))) => json!({ "status": "ok", "kind": "nats", "address": address, "latency_ms": ms }),
            Some((address, Err(e))) => json!({ "status": "down", "kind": "nats", "address": address, "error": e.to_string() }),
        },
    });
    let report = json!({
        "status": if healthy { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "node_id": app.node_id,
        "uptime_seconds": uptime(&app),
        "checks": checks,
        "warnings": warnings(&app, queue.as_deref().unwrap_or_default(), now),
    });
    // A failing check is a failure to clients that read `success`, with the report in both places.
    let body = if healthy {
        json!({ "success": true, "data": report })
    } else {
        json!({
            "success": false,
            "data": report,
            "error": { "code": "SERVICE_UNAVAILABLE", "message": "a dependency is down", "details": checks },
        })
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use axum::http::Method as M;
    crate::api::Routes::new()
        .add(M::GET, "/health", Public, "Service summary", summary)
        .add(M::GET, "/health/live", Public, "The process answers", live)
        .add(
            M::GET,
            "/health/ready",
            Public,
            "The database answers",
            ready,
        )
        .add(
            M::GET,
            "/health/detailed",
            Public,
            "Database, file store and queue checks",
            detailed,
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::health::Backlog;

    #[test]
    fn warnings_name_dead_letters_a_queue_behind_and_a_full_disk_and_nothing_when_all_is_well() {
        let now = chrono::Utc::now();
        let long_ago = domain::time::format(now - chrono::Duration::seconds(300));
        let backlogs = [
            (
                "notifications",
                Backlog {
                    dead: 2,
                    ..Backlog::default()
                },
            ),
            (
                "print-events",
                Backlog {
                    due: 40,
                    oldest_due: Some(long_ago),
                    ..Backlog::default()
                },
            ),
        ];
        let said = warnings_for(&backlogs, Some((5_000_000_000, 100_000_000_000)), now);
        assert_eq!(said.len(), 3, "{said:?}");
        assert!(
            said[0].contains("2 message(s) of the notifications queue")
                && said[0].contains("/api/v1/admin/dlq")
        );
        assert!(
            said[1].contains("print-events queue is behind") && said[1].contains("40 due"),
            "{}",
            said[1]
        );
        assert!(said[2].contains("5000 MB free (5.0%)"), "{}", said[2]);
        let calm = [(
            "print-events",
            Backlog {
                due: 3,
                oldest_due: Some(domain::time::format(now)),
                ..Backlog::default()
            },
        )];
        assert!(warnings_for(&calm, Some((50, 100)), now).is_empty());
    }
}
