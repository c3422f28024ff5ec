//! `GET /metrics`: the server's figures for Prometheus, in its text format.
//!
//! Requests are counted and timed as they are answered, by method, route (the route's
//! pattern, `/api/v1/printers/{printer_id}`, so a farm's ids never become labels) and
//! status. Everything else is read when scraped: the queue's backlog per queue, this node's
//! hub and dashboard sockets, printers reporting, statuses waiting to be written and the
//! database pool. A scrape needs the `metrics_token` setting as a bearer token; without
//! the setting `/metrics` answers 404, so a server never shows its figures by accident.

use crate::app::App;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

/// A request's labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Answered {
    method: String,
    route: String,
    status: u16,
}

/// A route's labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    method: String,
    route: String,
}

/// A queue's label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Queue {
    queue: String,
}

fn latency_buckets() -> Histogram {
    // 1 ms … about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The server's figures.
pub struct Metrics {
    registry: Registry,
    requests: Family<Answered, Counter>,
    latency: Family<Route, Histogram, fn() -> Histogram>,
    queue_due: Family<Queue, Gauge>,
    queue_running: Family<Queue, Gauge>,
    queue_dead: Family<Queue, Gauge>,
    queue_oldest_due: Family<Queue, Gauge<f64, AtomicU64>>,
    hub_sockets: Gauge,
    dashboard_sockets: Gauge,
    printers_connected: Gauge,
    statuses_waiting: Gauge,
    pool_connections: Gauge,
    pool_idle: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("printfarm");
        let requests = Family::<Answered, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        let latency =
            Family::<Route, Histogram, fn() -> Histogram>::new_with_constructor(latency_buckets);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's head to its answer's head (WebSocket upgrades left out)",
            latency.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let queue_due = Family::<Queue, Gauge>::default();
        registry.register(
            "queue_due",
            "Queue messages due and waiting for a worker",
            queue_due.clone(),
        );
        let queue_running = Family::<Queue, Gauge>::default();
        registry.register(
            "queue_running",
            "Queue messages a worker holds",
            queue_running.clone(),
        );
        let queue_dead = Family::<Queue, Gauge>::default();
        registry.register(
            "queue_dead",
            "Queue messages that used their last attempt (dead letters)",
            queue_dead.clone(),
        );
        let queue_oldest_due = Family::<Queue, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "queue_oldest_due_seconds",
            "How long the oldest due message has waited past its time (0: none waiting)",
            queue_oldest_due.clone(),
        );
        Metrics {
            requests,
            latency,
            queue_due,
            queue_running,
            queue_dead,
            queue_oldest_due,
            hub_sockets: gauge(
                &mut registry,
                "hub_sockets",
                "Hub sockets open on this node",
            ),
            dashboard_sockets: gauge(
                &mut registry,
                "dashboard_sockets",
                "Dashboard sockets open on this node",
            ),
            printers_connected: gauge(
                &mut registry,
                "printers_connected",
                "Printers whose newest report says they are connected",
            ),
            statuses_waiting: gauge(
                &mut registry,
                "statuses_waiting",
                "Printer statuses reported and not yet written (the status writer's lag)",
            ),
            pool_connections: gauge(
                &mut registry,
                "database_pool_connections",
                "Database connections open",
            ),
            pool_idle: gauge(
                &mut registry,
                "database_pool_idle",
                "Database connections open and idle",
            ),
            registry,
        }
    }
}

/// Counts and times every request (the layer runs after routing, so the route is known).
pub async fn track(State(app): State<App>, req: Request, next: axum::middleware::Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    let status = response.status();
    // An upgraded socket's time is its whole life, not an answer's.
    if status != StatusCode::SWITCHING_PROTOCOLS {
        app.metrics
            .latency
            .get_or_create(&Route {
                method: method.clone(),
                route: route.clone(),
            })
            .observe(started.elapsed().as_secs_f64());
    }
    app.metrics
        .requests
        .get_or_create(&Answered {
            method,
            route,
            status: status.as_u16(),
        })
        .inc();
    response
}

/// GET /metrics — the figures in Prometheus's text format, for the `metrics_token` bearer.
pub async fn scrape(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(token) = app.settings.metrics_token.as_deref() else {
        return (
            StatusCode::NOT_FOUND,
            "metrics are off: set metrics_token\n",
        )
            .into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !given.is_some_and(|given| crate::auth::same_secret(given, token)) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token of metrics_token is needed\n",
        )
            .into_response();
    }
    if let Err(err) = app.metrics.read_now(&app).await {
        tracing::warn!(error = %err, "metrics: the queue's backlog could not be read");
    }
    let mut text = String::new();
    if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &app.metrics.registry) {
        tracing::warn!(error = %err, "metrics could not be written");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

impl Metrics {
    /// Reads the figures that are state, not events.
    async fn read_now(&self, app: &App) -> Result<(), store::StoreError> {
        let as_gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.hub_sockets.set(as_gauge(app.hub_link.connected()));
        self.dashboard_sockets
            .set(as_gauge(app.realtime.dashboards().0));
        self.printers_connected
            .set(as_gauge(app.realtime.printers_connected()));
        self.statuses_waiting
            .set(as_gauge(app.status_writer.waiting()));
        let pool = app.store.pool();
        self.pool_connections.set(i64::from(pool.size()));
        self.pool_idle.set(as_gauge(pool.num_idle()));
        let now = chrono::Utc::now();
        for (queue, backlog) in crate::health::backlogs(app, now).await? {
            let label = Queue {
                queue: queue.to_string(),
            };
            self.queue_due.get_or_create(&label).set(backlog.due);
            self.queue_running
                .get_or_create(&label)
                .set(backlog.running);
            self.queue_dead.get_or_create(&label).set(backlog.dead);
            self.queue_oldest_due
                .get_or_create(&label)
                .set(backlog.oldest_due_seconds(now));
        }
        Ok(())
    }
}
