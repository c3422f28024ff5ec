//! Health endpoints: live (the process answers), ready (the database answers),
//! detailed (database, file store, queue depth), and a summary.

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

/// GET /health/detailed — each dependency with its latency; 503 if any is down.
pub async fn detailed(State(app): State<App>) -> Response {
    let db = database(&app).await;
    let files_start = Instant::now();
    let files = app.files.check().await;
    let files_ms = files_start.elapsed().as_secs_f64() * 1000.0;
    let queue = match app.store.conn().await {
        Ok(mut conn) => store::health::queue_depth(&mut conn).await,
        Err(e) => Err(e),
    };
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
            Ok((pending, dead)) => json!({ "status": "ok", "pending": pending, "dead_letters": dead }),
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
