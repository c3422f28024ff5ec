//! The application: shared state, the router with its middleware, and the server.

use crate::api::{Access, RouteDoc, Routes};
use crate::auth::cache::AuthCache;
use crate::auth::throttle::LoginThrottle;
use crate::error::ApiError;
use crate::extract::BodyLimit;
use crate::farm::Farm;
use crate::file_store::FileStore;
use crate::mail::Mailer;
use crate::settings::Settings;
use crate::{
    auth, cameras, colours, dead_letters, files, health, hubs, inventory, invitations, jobs,
    live_socket, materials, members, orders, plates, printers, products, skus, tenants, wiki,
};
use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use domain::account::SessionPolicy;
use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::Store;
use store::secrets::Cipher;
use tower_http::cors::{AllowOrigin, Cors, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Shared state of the running server.
#[derive(Clone)]
pub struct App(Arc<AppState>);

/// What every handler can reach: the farm service (whose parts — store, hubs, farm
/// events, background signals — are reached through it, `app.store`) and what only the
/// HTTP side needs.
pub struct AppState {
    /// The farm service: the rules, and what they work with.
    pub farm: Farm,
    /// The settings it was started with.
    pub settings: Settings,
    /// Outgoing mail.
    pub mailer: Mailer,
    /// Print files and thumbnails.
    pub files: FileStore,
    /// Sign-in attempt limits.
    pub throttle: LoginThrottle,
    /// Recently seen callers and roles.
    pub auth_cache: AuthCache,
    /// This node's own hub sockets (the farm reaches them as `farm.hubs`): their
    /// lifecycle, closed at shutdown.
    pub hub_link: Arc<crate::hubs::HubLink>,
    /// Session lifetime and refresh.
    pub session_policy: SessionPolicy,
    /// Cookies get `Secure` when the public URL is https.
    pub secure_cookies: bool,
    /// What each hub found when asked to look for printers (kept for a while).
    pub discoveries: crate::hubs::discoveries::Discoveries,
    /// Turns to read a 3MF (`parallel_3mf_reads` at once).
    pub threemf_reads: tokio::sync::Semaphore,
    /// Upload links being used right now (one upload per link at a time).
    pub link_uploads: crate::links::UploadsInFlight,
    /// This server node's id (new at every start): which hub sockets it holds, and its lease.
    pub node_id: String,
    /// The bus several nodes share, if any.
    pub bus: Option<crate::bus::Bus>,
    /// Request counts and latencies, for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// When the server started.
    pub started: Instant,
    /// The route table, for the OpenAPI document.
    pub routes: Vec<RouteDoc>,
}

impl Deref for AppState {
    type Target = Farm;

    fn deref(&self) -> &Farm {
        &self.farm
    }
}

impl Deref for App {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.0
    }
}

impl App {
    /// Whether `url` points at this server or a trusted origin.
    pub fn is_trusted_url(&self, url: &str) -> bool {
        let origin = origin_of(url);
        origin.as_deref() == Some(self.public_origin.as_str())
            || self
                .settings
                .trusted_origins
                .iter()
                .any(|o| Some(o.trim_end_matches('/')) == origin.as_deref())
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    Some(parsed.origin().ascii_serialization()).filter(|o| o != "null")
}

/// Every route of the API, with who may call it: each area's table, merged.
fn routes() -> Routes {
    use Access::*;
    use Method as M;
    Routes::new()
        .add(
            M::GET,
            "/api/v1/openapi.json",
            Public,
            "This document",
            openapi_json,
        )
        .merge(health::routes())
        .merge(auth::routes())
        .merge(tenants::routes())
        .merge(members::routes())
        .merge(invitations::routes())
        .merge(files::routes())
        .merge(jobs::routes())
        .merge(crate::worklist::routes())
        .merge(crate::assembly::routes())
        .merge(inventory::routes())
        .merge(dead_letters::routes())
        .merge(hubs::routes())
        .merge(live_socket::routes())
        .merge(printers::routes())
        .merge(colours::routes())
        .merge(plates::routes())
        .merge(products::routes())
        .merge(skus::routes())
        .merge(materials::routes())
        .merge(orders::routes())
        .merge(wiki::routes())
        .merge(crate::analytics::routes())
        .merge(cameras::routes())
        .merge(crate::automation::rules::routes())
        .merge(crate::notify::channels::routes())
        .merge(crate::shopify::integrations::routes())
}

/// GET /api/v1/openapi.json
async fn openapi_json(
    axum::extract::State(app): axum::extract::State<App>,
) -> axum::response::Response {
    axum::Json(crate::api::openapi(&app.routes)).into_response()
}

async fn not_found(req: Request) -> ApiError {
    ApiError::NotFound {
        code: "ROUTE_NOT_FOUND",
        message: format!("no route for {} {}", req.method(), req.uri().path()),
    }
}

async fn method_not_allowed(req: Request) -> axum::response::Response {
    let mut response = ApiError::BadRequest {
        code: "METHOD_NOT_ALLOWED",
        message: format!("{} is not allowed on {}", req.method(), req.uri().path()),
    }
    .into_response();
    *response.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// Builds the app state from settings: data directory, key, database, file store, mail.
pub async fn build_state(settings: Settings) -> anyhow::Result<App> {
    crate::memory::give_back_large_blocks();
    let key = settings.prepare_data_dir()?;
    let cipher = Cipher::from_base64(&key).context("encryption key")?;
    let store = Store::open(&settings.database_url())
        .await
        .context("database")?;
    let sealed = store::hubs::seal_plain_keys(&mut *store.conn().await?, &cipher)
        .await
        .context("sealing hub keys")?;
    if sealed > 0 {
        tracing::info!(hubs = sealed, "hub keys sealed with the encryption key");
    }
    let files = FileStore::from_settings(&settings).context("file store")?;
    let mailer = Mailer::from_settings(&settings)?;
    let public_url = settings.public_url();
    let public_origin = origin_of(&public_url)
        .with_context(|| format!("public_url '{public_url}' is not a URL"))?;
    let (_, docs) = routes().into_parts();
    let hub_link = Arc::new(crate::hubs::HubLink::default());
    let node_id = uuid::Uuid::new_v4().to_string();
    let realtime = Arc::new(crate::realtime::Realtime::default());
    let bus = match &settings.bus {
        Some(url) => Some(crate::bus::Bus::new(
            crate::bus::connect(url, &node_id).await?,
            url,
        )),
        None => None,
    };
    if bus.is_some() && settings.object_store.is_none() {
        tracing::warn!(
            "several nodes (bus) with print files on this node's disk: set object_store to a bucket they share"
        );
    }
    let hubs: Arc<dyn crate::hubs::HubCommands> = match &bus {
        Some(bus) => {
            crate::bus::farm_events::relay(&realtime, bus.client().clone(), node_id.clone())
                .await?;
            crate::bus::NatsHubCommands::start(
                hub_link.clone(),
                bus.client().clone(),
                node_id.clone(),
            )
            .await?
        }
        None => hub_link.clone(),
    };
    let farm = Farm {
        queue: Arc::new(crate::queue::DatabaseQueue::new(store.clone())),
        store,
        cipher,
        hubs,
        realtime,
        status_writer: Arc::default(),
        background: Arc::default(),
        links: crate::links::LinkSigner::new(&key),
        public_origin,
    };
    Ok(App(Arc::new(AppState {
        farm,
        throttle: LoginThrottle::new(
            settings.login_attempts_per_ip,
            settings.login_failures_per_account,
            settings.sign_ups_per_ip,
        ),
        auth_cache: AuthCache::default(),
        hub_link,
        secure_cookies: public_url.starts_with("https://"),
        mailer,
        files,
        session_policy: SessionPolicy::default(),
        discoveries: Default::default(),
        link_uploads: Default::default(),
        threemf_reads: tokio::sync::Semaphore::new(match settings.parallel_3mf_reads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }),
        node_id,
        bus,
        metrics: crate::metrics::Metrics::default(),
        started: Instant::now(),
        routes: docs,
        settings,
    })))
}

/// The router with its middleware, ready to serve.
pub fn router(app: App) -> Router {
    let (routes, _) = routes().into_parts();
    let limit = app.settings.max_body_bytes;
    let request_id = HeaderName::from_static("x-request-id");
    let trusted: Vec<HeaderValue> = app
        .settings
        .trusted_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(trusted))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("x-tenant-id"),
        ])
        .expose_headers([request_id.clone()])
        .max_age(Duration::from_secs(600));
    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request| {
        let id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
    })
    // The access log: one line per answer, with its status and time, in the request's span.
    .on_response(
        tower_http::trace::DefaultOnResponse::new()
            .level(tracing::Level::INFO)
            .latency_unit(tower_http::LatencyUnit::Millis),
    );
    routes
        // The dashboard's pages: not API operations, so not in the route table's document.
        .merge(crate::web::router())
        .route("/metrics", axum::routing::get(crate::metrics::scrape))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(app.clone(), crate::metrics::track))
        .layer(from_fn_with_state(app.clone(), auth::session::resolve))
        .layer(from_fn_with_state(app.clone(), auth::session::csrf_guard))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::Extension(BodyLimit(limit)))
        .layer(PreflightsOnly(cors))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(trace)
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(from_fn_with_state(app.clone(), forget_cached_reads))
        .layer(axum::middleware::from_fn(server_timing))
        .layer(from_fn_with_state(app.clone(), security_headers))
        .with_state(app)
}

/// CORS that answers only real preflights. tower-http takes every OPTIONS for a preflight and
/// answers it 200 with no body; one without `Origin` and `Access-Control-Request-Method` is
/// none (browsers send both), so it goes past CORS to the router, which answers it in the
/// envelope: 405 with the route's `Allow`, or 404.
#[derive(Clone)]
struct PreflightsOnly(CorsLayer);

impl<S: Clone> tower::Layer<S> for PreflightsOnly {
    type Service = PreflightsOnlyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PreflightsOnlyService {
            cors: self.0.layer(inner.clone()),
            plain: inner,
        }
    }
}

/// The service of [`PreflightsOnly`]: the route with CORS, and the route alone.
#[derive(Clone)]
struct PreflightsOnlyService<S> {
    cors: Cors<S>,
    plain: S,
}

impl<S, B, ResBody> tower::Service<axum::http::Request<B>> for PreflightsOnlyService<S>
where
    S: tower::Service<axum::http::Request<B>, Response = axum::http::Response<ResBody>> + Clone,
    ResBody: Default,
{
    type Response = axum::http::Response<ResBody>;
    type Error = S::Error;
    type Future = futures::future::Either<
        <Cors<S> as tower::Service<axum::http::Request<B>>>::Future,
        S::Future,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        match self.cors.poll_ready(cx) {
            std::task::Poll::Ready(Ok(())) => self.plain.poll_ready(cx),
            other => other,
        }
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let headers = req.headers();
        let preflight = headers.contains_key(header::ORIGIN)
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if req.method() == Method::OPTIONS && !preflight {
            futures::future::Either::Right(self.plain.call(req))
        } else {
            futures::future::Either::Left(self.cors.call(req))
        }
    }
}

/// A request that may write (any method but GET, HEAD and OPTIONS) makes the cached reads
/// of its farm stale ([`crate::read_cache`]) once it has run, so a client always reads its
/// own writes. The farm is the one the request names, as the `Member` extractor
/// finds it (path, then `X-Tenant-ID`, then `?tenant=`); without one, every farm's.
async fn forget_cached_reads(
    axum::extract::State(app): axum::extract::State<App>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let in_path = req
        .uri()
        .path()
        .strip_prefix("/api/v1/tenants/")
        .and_then(|rest| rest.split('/').next())
        .and_then(domain::TenantId::parse);
    let farm = in_path.or_else(|| {
        crate::auth::member::tenant_hint(req.uri(), req.headers())
            .and_then(|hint| domain::TenantId::parse(&hint))
    });
    let response = next.run(req).await;
    // After the change: a read that began before it holds an older generation.
    match &farm {
        Some(farm) => app.realtime.farm_changed(farm),
        None => app.realtime.anything_changed(),
    }
    response
}

/// Headers every answer carries (pages add their CSP): no content sniffing, and, when the
/// server is reached over HTTPS, HSTS, so a browser never tries plain HTTP with its cookie.
async fn security_headers(
    State(app): State<App>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    let https = app.settings.public_url.as_deref();
    if https.is_some_and(|url| url.starts_with("https://")) {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static("max-age=31536000"));
    }
    response
}

/// Adds `Server-Timing: app;dur=<ms>`: the time from the request's head to the answer's head,
/// reading the request body included. Benchmarks read the server's own time from it, and a
/// browser's network panel shows it.
async fn server_timing(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    let start = Instant::now();
    let mut response = next.run(req).await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&format!("app;dur={ms:.3}")) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("server-timing"), value);
    }
    response
}

/// A server bound to its address, not yet serving.
pub struct Server {
    app: App,
    listener: tokio::net::TcpListener,
    tls: Option<Arc<crate::tls::Certificate>>,
}

impl Server {
    /// Prepares everything and binds the listen address (port 0 picks a free one).
    pub async fn bind(mut settings: Settings) -> anyhow::Result<Server> {
        let listen = settings.listen;
        // A certificate that does not load stops the start, before anything is bound.
        let tls = crate::tls::Certificate::from_settings(
            settings.tls_certificate.as_deref(),
            settings.tls_private_key.as_deref(),
        )?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listen on {listen}"))?;
        if settings.public_url.is_none() {
            // Port 0 picks a port only now: links must name the real one.
            let scheme = if tls.is_some() { "https" } else { "http" };
            settings.public_url = Some(format!("{scheme}://{}", listener.local_addr()?));
        }
        let app = build_state(settings).await?;
        Ok(Server { app, listener, tls })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The app state (for tests and embedding).
    pub fn app(&self) -> App {
        self.app.clone()
    }

    /// Serves until `shutdown` completes, then finishes requests in flight and closes the database.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = self.app.clone();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let housekeeping = crate::maintenance::spawn(app.clone(), stop_rx.clone());
        let queue_worker = crate::workers::spawn(app.clone(), stop_rx.clone());
        let status_writer = crate::status_writer::spawn(app.clone(), stop_rx.clone());
        let lease = crate::nodes::spawn(app.clone(), stop_rx.clone());
        let schedule = crate::automation::schedule::spawn(app.clone(), stop_rx.clone());
        let reloader = self.tls.as_ref().map(|c| c.spawn_reloader(stop_rx.clone()));
        let dispatcher = crate::dispatch::spawn(app.clone(), stop_rx);
        let limits = crate::connections::ConnectionLimits {
            max_connections: app.settings.max_connections,
            header_timeout: Duration::from_secs(app.settings.header_timeout_secs.max(1)),
        };
        let acceptor = self.tls.as_ref().map(|c| c.acceptor()).transpose()?;
        crate::connections::serve(self.listener, router(self.app), limits, acceptor, shutdown)
            .await;
        // Hub sockets were upgraded, so axum does not wait for them: close them and let each
        // write its hub offline while the database is still open.
        app.hub_link
            .close_all(std::time::Duration::from_secs(5))
            .await;
        let _ = stop_tx.send(true);
        let _ = housekeeping.await;
        let _ = queue_worker.await;
        let _ = schedule.await;
        let _ = dispatcher.await;
        let _ = status_writer.await;
        let _ = lease.await;
        if let Some(reloader) = reloader {
            let _ = reloader.await;
        }
        app.store.close().await;
        Ok(())
    }
}
