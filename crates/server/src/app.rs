//! The application: shared state, the router with its middleware, and the server.

use crate::api::{Access, PAGING, Param, RouteDoc, Routes, SORT_ORDER, Upload};
use crate::auth::cache::AuthCache;
use crate::auth::throttle::LoginThrottle;
use crate::error::ApiError;
use crate::extract::BodyLimit;
use crate::farm::Farm;
use crate::file_store::FileStore;
use crate::mail::Mailer;
use crate::settings::Settings;
use crate::{
    auth, dead_letters, files, health, hubs, invitations, jobs, members, printers, production,
    tenants,
};
use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use domain::Role;
use domain::account::SessionPolicy;
use serde_json::json;
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
    /// This server node's id (new at every start): which hub sockets it holds, and its lease.
    pub node_id: String,
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

/// The filters and order of the job list and history.
const JOB_FILTERS: &[(&str, Param)] = &[
    // One status or several, comma-separated.
    ("status", Param::Text),
    ("printer_id", Param::Text),
    ("product_id", Param::Text),
    ("sortBy", Param::OneOf(store::jobs::SORTABLE)),
    SORT_ORDER,
];

/// Every route of the API, with who may call it.
fn routes() -> Routes {
    use Access::*;
    use Method as M;
    Routes::new()
        .add(M::GET, "/health", Public, "Service summary", health::summary)
        .add(M::GET, "/health/live", Public, "The process answers", health::live)
        .add(M::GET, "/health/ready", Public, "The database answers", health::ready)
        .add(M::GET, "/health/detailed", Public, "Database, file store and queue checks", health::detailed)
        .add(M::GET, "/api/v1/openapi.json", Public, "This document", openapi_json)
        .add(M::POST, "/api/v1/auth/sign-up/email", Public, "Create an account and sign in", auth::routes::sign_up)
        .example(json!({"email": "ada@example.com", "password": "correct horse battery", "name": "Ada"}))
        .add(M::POST, "/api/v1/auth/register", Public, "Create an account and its first farm", auth::routes::register)
        .example(json!({"email": "ada@example.com", "password": "correct horse battery", "name": "Ada", "company_name": "Ada Prints", "subdomain": "ada-prints"}))
        .add(M::POST, "/api/v1/auth/sign-in/email", Public, "Sign in with email and password", auth::routes::sign_in)
        .example(json!({"email": "ada@example.com", "password": "correct horse battery"}))
        .add(M::POST, "/api/v1/auth/sign-out", Public, "End the session", auth::routes::sign_out)
        .add(M::GET, "/api/v1/auth/get-session", Public, "The current session and user, or nulls", auth::routes::get_session)
        .add(M::POST, "/api/v1/auth/forget-password", Public, "Mail a password reset link", auth::routes::forget_password)
        .example(json!({"email": "ada@example.com", "redirectTo": "http://127.0.0.1:8787/reset-password"}))
        .add(M::POST, "/api/v1/auth/reset-password", Public, "Set a new password with a reset link's token", auth::routes::reset_password)
        .example(json!({"token": "from-the-mail", "newPassword": "another good passphrase"}))
        .add(M::GET, "/api/v1/auth/me", Signed, "The signed-in user and their farms", auth::routes::me)
        .add(M::GET, "/api/v1/auth/api-tokens", Signed, "My personal API tokens", auth::api_tokens::list)
        .add(M::POST, "/api/v1/auth/api-tokens", Signed, "Create a personal API token (shown once)", auth::api_tokens::create)
        .example(json!({"name": "inventory script", "expires_in_days": 90}))
        .add(M::DELETE, "/api/v1/auth/api-tokens/{token_id}", Signed, "Revoke a personal API token", auth::api_tokens::revoke)
        .add(M::GET, "/api/v1/tenants", Signed, "My farms", tenants::list_mine)
        .add(M::POST, "/api/v1/tenants", Signed, "Create a farm (I become its owner)", tenants::create)
        .example(json!({"company_name": "Ada Prints", "subdomain": "ada-prints"}))
        .add(M::POST, "/api/v1/tenants/ensure", Signed, "My first farm, created if I have none", tenants::ensure)
        .add(M::GET, "/api/v1/tenants/hub-token", Member(Role::Admin), "The farm's hub provisioning token", tenants::hub_token)
        .add(M::POST, "/api/v1/tenants/hub-token/regenerate", Member(Role::Admin), "Replace the farm's hub token", tenants::regenerate_hub_token)
        .add(M::GET, "/api/v1/tenants/{tenant_id}", FarmPath(Role::Viewer), "One farm", tenants::get_one)
        .add(M::PUT, "/api/v1/tenants/{tenant_id}", FarmPath(Role::Admin), "Rename a farm or change its subdomain", tenants::update)
        .example(json!({"company_name": "Ada Prints Ltd"}))
        .add(M::GET, "/api/v1/tenants/{tenant_id}/audit-log", FarmPath(Role::Admin), "The farm's audit log", tenants::audit_log)
        .query(PAGING)
        .add(M::GET, "/api/v1/tenants/{tenant_id}/members", FarmPath(Role::Viewer), "The farm's members", members::list)
        .add(M::POST, "/api/v1/tenants/{tenant_id}/members", FarmPath(Role::Admin), "Invite someone by email (a pending invitation, mailed; they join by accepting)", invitations::invite)
        .example(json!({"email": "bob@example.com", "role": "operator"}))
        .add(M::GET, "/api/v1/tenants/{tenant_id}/invitations", FarmPath(Role::Admin), "The farm's pending invitations", invitations::list_for_farm)
        .add(M::DELETE, "/api/v1/tenants/{tenant_id}/invitations/{invitation_id}", FarmPath(Role::Admin), "Revoke a pending invitation", invitations::revoke)
        .add(M::GET, "/api/v1/invitations", Signed, "My pending invitations (sent to my email)", invitations::mine)
        .add(M::POST, "/api/v1/invitations/accept", Signed, "Accept the invitation of a mailed link (as the account it was sent to)", invitations::accept_by_token)
        .example(json!({"token": "from-the-mail"}))
        .add(M::POST, "/api/v1/invitations/{invitation_id}/accept", Signed, "Accept one of my invitations: join the farm", invitations::accept)
        .example(json!({}))
        .add(M::POST, "/api/v1/invitations/{invitation_id}/decline", Signed, "Decline one of my invitations", invitations::decline)
        .example(json!({}))
        .add(M::PUT, "/api/v1/tenants/{tenant_id}/members/{user_id}", FarmPath(Role::Admin), "Change a member's role", members::change_role)
        .example(json!({"role": "viewer"}))
        .add(M::DELETE, "/api/v1/tenants/{tenant_id}/members/{user_id}", FarmPath(Role::Viewer), "Remove a member (or leave)", members::remove)
        .add(M::GET, "/api/v1/files", Member(Role::Viewer), "The farm's print files (filters: product_id, search; page, limit)", files::list)
        .query(PAGING)
        .query(&[("product_id", Param::Text), ("search", Param::Text)])
        .add_streaming(M::POST, "/api/v1/files", Member(Role::Operator), "Upload a 3MF (multipart field 'file'; optional 'name', 'product_id')", Upload::Multipart(&["name", "product_id"]), files::upload)
        .add(M::POST, "/api/v1/files/upload-url", Member(Role::Operator), "A signed link to PUT a file to", files::upload_url)
        .example(json!({"file_name": "bracket.3mf", "content_type": "model/3mf"}))
        .add_streaming(M::PUT, "/api/v1/files/upload/{token}", Public, "Upload a file's bytes to a signed link", Upload::Bytes, files::upload_by_link)
        .add(M::GET, "/api/v1/files/download/{token}", Public, "A file's bytes by a signed link", files::download)
        .add_streaming(M::POST, "/api/v1/files/parse-metadata", Member(Role::Operator), "Read a 3MF's metadata without keeping it (multipart field 'file')", Upload::Multipart(&[]), files::parse_metadata)
        .add_streaming(M::POST, "/api/v1/files/wiki-image", Member(Role::Operator), "Store a picture for wiki articles (multipart 'file')", Upload::Multipart(&[]), files::upload_wiki_image)
        .add(M::GET, "/api/v1/files/wiki-image/{tenant_id}/{file_name}", FarmPath(Role::Viewer), "A wiki picture", files::wiki_image)
        .add(M::GET, "/api/v1/files/{file_id}", Member(Role::Viewer), "One print file with its 3MF metadata", files::get_one)
        .add(M::PUT, "/api/v1/files/{file_id}", Member(Role::Operator), "Rename a file, link it to a product, set units per print", files::update)
        .example(json!({"number_of_units": 4}))
        .add(M::DELETE, "/api/v1/files/{file_id}", Member(Role::Admin), "Delete a file, its versions and stored objects", files::delete)
        .add(M::GET, "/api/v1/files/{file_id}/download-url", Member(Role::Viewer), "A signed download link (1 hour)", files::download_url)
        .add(M::GET, "/api/v1/files/{file_id}/thumbnail", Member(Role::Viewer), "The plate thumbnail (PNG)", files::thumbnail)
        .add(M::GET, "/api/v1/files/{file_id}/versions", Member(Role::Viewer), "The file's versions", files::versions)
        .add_streaming(M::POST, "/api/v1/files/{file_id}/versions", Member(Role::Operator), "Upload a new version (multipart 'file', 'notes')", Upload::Multipart(&["notes"]), files::add_version)
        .add(M::DELETE, "/api/v1/files/{file_id}/versions/{version_number}", Member(Role::Operator), "Delete a version that is not current", files::delete_version)
        .add(M::PUT, "/api/v1/files/{file_id}/versions/{version_number}/current", Member(Role::Operator), "Make a version current", files::set_current)
        .add(M::GET, "/api/v1/jobs", Member(Role::Viewer), "The farm's jobs (filters: status, printer_id, product_id; sortBy, sortOrder, page, limit)", jobs::list)
        .query(PAGING)
        .query(JOB_FILTERS)
        .add(M::POST, "/api/v1/jobs", Member(Role::Operator), "Queue a plate of a print file (defaults from its 3MF; printer_id assigns it at once)", jobs::create)
        .example(json!({"print_file_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "plate_index": 1, "priority": "high", "number_of_units": 4}))
        .add(M::GET, "/api/v1/jobs/stats", Member(Role::Viewer), "Jobs per status", jobs::stats)
        .add(M::GET, "/api/v1/jobs/history", Member(Role::Viewer), "Finished jobs", jobs::history)
        .query(PAGING)
        .query(JOB_FILTERS)
        .add(M::GET, "/api/v1/jobs/{job_id}", Member(Role::Viewer), "One job", jobs::get_one)
        .add(M::PUT, "/api/v1/jobs/{job_id}", Member(Role::Operator), "Change a queued job", jobs::update)
        .example(json!({"priority": "urgent"}))
        .add(M::DELETE, "/api/v1/jobs/{job_id}", Member(Role::Operator), "Delete a job that holds no printer", jobs::delete)
        .add(M::POST, "/api/v1/jobs/{job_id}/assign", Member(Role::Operator), "Assign a queued job to a printer (named, or the best by the scoring rules)", jobs::assign)
        .add(M::POST, "/api/v1/jobs/{job_id}/unassign", Member(Role::Operator), "Send a queued job back to the dispatcher (an addition to the original API)", jobs::unassign)
        .optional_example(json!({}))
        .add(M::POST, "/api/v1/jobs/{job_id}/start", Member(Role::Operator), "Send an assigned job to its printer's hub", jobs::start)
        .add(M::POST, "/api/v1/jobs/{job_id}/cancel", Member(Role::Operator), "Cancel a job", jobs::cancel)
        .add(M::POST, "/api/v1/jobs/{job_id}/pause", Member(Role::Operator), "Pause a printing job", jobs::pause)
        .add(M::POST, "/api/v1/jobs/{job_id}/resume", Member(Role::Operator), "Resume a paused job", jobs::resume)
        .add(M::POST, "/api/v1/jobs/{job_id}/complete", Member(Role::Operator), "Record that a print finished", jobs::complete)
        .add(M::POST, "/api/v1/jobs/{job_id}/fail", Member(Role::Operator), "Record that a print failed", jobs::fail)
        .optional_example(json!({"reason": "spaghetti on layer 12"}))
        .add(M::POST, "/api/v1/jobs/{job_id}/retry", Member(Role::Operator), "Queue a failed job again", jobs::retry)
        .add(M::PUT, "/api/v1/jobs/{job_id}/progress", Member(Role::Operator), "Record progress of a print", jobs::progress)
        .example(json!({"progress_percentage": 40}))
        .add(M::GET, "/api/v1/inventory", Member(Role::Viewer), "Finished goods, one row per SKU", production::inventory)
        .add(M::GET, "/api/v1/inventory/alerts", Member(Role::Viewer), "Finished goods at or below their low-stock threshold", production::alerts)
        .add(M::GET, "/api/v1/worklist", Member(Role::Viewer), "Operator tasks (filters: task_type, status)", production::worklist)
        .query(&[("task_type", Param::OneOf(&production::TASK_TYPES)), ("status", Param::OneOf(&production::TASK_STATUSES))])
        .add(M::GET, "/api/v1/assembly", Member(Role::Viewer), "Assembly tasks", production::assembly)
        .add(M::GET, "/api/v1/admin/dlq", Member(Role::Admin), "Dead letters: background messages that used their last attempt (filter: queue)", dead_letters::list)
        .query(&[("queue", Param::Text)])
        .add(M::GET, "/api/v1/admin/dlq/stats", Member(Role::Admin), "Dead letters per queue", dead_letters::stats)
        .add(M::POST, "/api/v1/admin/dlq/retry-all", Member(Role::Admin), "Put every dead letter (of ?queue=) back on its queue", dead_letters::retry_all)
        .query(&[("queue", Param::Text)])
        .add(M::POST, "/api/v1/admin/dlq/purge", Member(Role::Admin), "Delete every dead letter (of ?queue=)", dead_letters::purge)
        .query(&[("queue", Param::Text)])
        .add(M::GET, "/api/v1/admin/dlq/{message_id}", Member(Role::Admin), "One dead letter", dead_letters::get_one)
        .add(M::DELETE, "/api/v1/admin/dlq/{message_id}", Member(Role::Admin), "Delete a dead letter", dead_letters::delete)
        .add(M::POST, "/api/v1/admin/dlq/{message_id}/retry", Member(Role::Admin), "Put a dead letter back on its queue", dead_letters::retry)
        .add(M::POST, "/api/v1/hubs/register", Public, "Register a hub: a farm admin (claimed at once) or a factory with X-Provisioning-Key; the secret is shown once", hubs::routes::register)
        .example(json!({"hub_id": "pfhub-a1b2c3d4", "name": "Rack A hub"}))
        .add(M::POST, "/api/v1/hubs/claim", Member(Role::Admin), "Claim an unclaimed hub for the farm", hubs::routes::claim)
        .example(json!({"hub_id": "pfhub-a1b2c3d4", "name": "Rack A hub"}))
        .add(M::GET, "/ws/dashboard", Public, "The dashboard's live socket (WebSocket; send auth with the session token first)", crate::live_socket::connect)
        .query(&[("tenant", Param::Uuid)])
        .add(M::GET, "/ws/dashboard/status", Signed, "How many dashboards are connected", crate::live_socket::status)
        .add(M::GET, "/ws/hub/{hub_id}", Public, "A hub's socket (WebSocket; the hub proves its secret with hub_hello)", hubs::socket::connect)
        .add(M::GET, "/api/v1/hubs", Member(Role::Viewer), "The farm's hubs", hubs::routes::list)
        .add(M::GET, "/api/v1/hubs/{hub_id}", Member(Role::Viewer), "One hub", hubs::routes::get_one)
        .add(M::PUT, "/api/v1/hubs/{hub_id}", Member(Role::Admin), "Rename a hub", hubs::routes::update)
        .example(json!({"name": "Rack B hub"}))
        .add(M::DELETE, "/api/v1/hubs/{hub_id}", Member(Role::Admin), "Release a hub from the farm", hubs::routes::release)
        .add(M::GET, "/api/v1/hubs/{hub_id}/connection", Member(Role::Viewer), "Whether the hub is connected", hubs::routes::connection)
        .add(M::GET, "/api/v1/hubs/{hub_id}/status", Member(Role::Viewer), "The hub and its printers", hubs::routes::status)
        .add(M::POST, "/api/v1/hubs/{hub_id}/discover", Member(Role::Operator), "Ask the hub to look for printers", hubs::routes::discover)
        .add(M::POST, "/api/v1/hubs/{hub_id}/disconnect", Member(Role::Admin), "Tell the hub to disconnect", hubs::routes::disconnect)
        .add(M::POST, "/api/v1/hubs/{hub_id}/gpio", Member(Role::Admin), "Set a GPIO pin of the hub", hubs::routes::gpio)
        .example(json!({"pin": 17, "state": true}))
        .add(M::GET, "/api/v1/printers", Member(Role::Viewer), "The farm's printers (filters: status, hub_id, model, is_active, in_maintenance, search; sortBy, sortOrder, page, limit)", printers::list)
        .query(PAGING)
        .query(&[("status", Param::Text), ("hub_id", Param::Text), ("model", Param::Text), ("is_active", Param::Flag), ("in_maintenance", Param::Flag), ("search", Param::Text), ("sortBy", Param::OneOf(store::printers::SORTABLE)), SORT_ORDER])
        .add(M::POST, "/api/v1/printers", Member(Role::Admin), "Add a printer", printers::create)
        .example(json!({"name": "P1S-01", "model": "P1S", "serial_number": "01P00A123456789", "access_code": "12345678", "ip_address": "192.0.2.10", "nozzle_size": 0.4}))
        .add(M::PUT, "/api/v1/printers/order", Member(Role::Operator), "Set the printers' display order", printers::set_order)
        .example(json!({"printer_ids": []}))
        .add(M::GET, "/api/v1/printers/{printer_id}", Member(Role::Viewer), "One printer (by id or the farm's number)", printers::get_one)
        .add(M::PUT, "/api/v1/printers/{printer_id}", Member(Role::Admin), "Change a printer", printers::update)
        .example(json!({"location": "Rack A, shelf 2"}))
        .add(M::DELETE, "/api/v1/printers/{printer_id}", Member(Role::Admin), "Remove a printer (not while it holds a job)", printers::delete)
        .add(M::PUT, "/api/v1/printers/{printer_id}/status", Member(Role::Operator), "Set a printer's status", printers::set_status)
        .example(json!({"status": "idle"}))
        .add(M::PUT, "/api/v1/printers/{printer_id}/maintenance", Member(Role::Operator), "Take a printer into or out of maintenance", printers::set_maintenance)
        .optional_example(json!({"in_maintenance": true, "maintenance_type": "nozzle change"}))
        .add(M::POST, "/api/v1/printers/{printer_id}/maintenance/complete", Member(Role::Operator), "Maintenance is done", printers::complete_maintenance)
        .add(M::PUT, "/api/v1/printers/{printer_id}/cleared", Member(Role::Operator), "Confirm the bed is cleared", printers::set_cleared)
        .optional_example(json!({"cleared": true}))
        .add(M::POST, "/api/v1/printers/{printer_id}/connect", Member(Role::Operator), "Ask the hub to manage the printer", printers::connect)
        .add(M::POST, "/api/v1/printers/{printer_id}/disconnect", Member(Role::Operator), "Ask the hub to let go of the printer", printers::disconnect)
        .add(M::POST, "/api/v1/printers/{printer_id}/control", Member(Role::Operator), "Pause, resume or stop the print", printers::control)
        .example(json!({"action": "pause"}))
        .add(M::POST, "/api/v1/printers/{printer_id}/light", Member(Role::Operator), "Chamber light on or off", printers::light)
        .example(json!({"on": true}))
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
    let files = FileStore::local(&settings.data_dir.join("files")).context("file store")?;
    let mailer = Mailer::from_settings(&settings)?;
    let public_url = settings.public_url();
    let public_origin = origin_of(&public_url)
        .with_context(|| format!("public_url '{public_url}' is not a URL"))?;
    let (_, docs) = routes().into_parts();
    let hub_link = Arc::new(crate::hubs::HubLink::default());
    let farm = Farm {
        store,
        cipher,
        hubs: hub_link.clone(),
        realtime: Arc::default(),
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
        threemf_reads: tokio::sync::Semaphore::new(match settings.parallel_3mf_reads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }),
        node_id: uuid::Uuid::new_v4().to_string(),
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
    });
    routes
        // The dashboard's pages: not API operations, so not in the route table's document.
        .merge(crate::web::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
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
        Some(farm) => app.realtime.answers.farm_changed(farm),
        None => app.realtime.answers.anything_changed(),
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
}

impl Server {
    /// Prepares everything and binds the listen address (port 0 picks a free one).
    pub async fn bind(mut settings: Settings) -> anyhow::Result<Server> {
        let listen = settings.listen;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listen on {listen}"))?;
        if settings.public_url.is_none() {
            // Port 0 picks a port only now: links must name the real one.
            settings.public_url = Some(format!("http://{}", listener.local_addr()?));
        }
        let app = build_state(settings).await?;
        Ok(Server { app, listener })
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
        let dispatcher = crate::dispatch::spawn(app.clone(), stop_rx);
        let limits = crate::connections::ConnectionLimits {
            max_connections: app.settings.max_connections,
            header_timeout: Duration::from_secs(app.settings.header_timeout_secs.max(1)),
        };
        crate::connections::serve(self.listener, router(self.app), limits, shutdown).await;
        // Hub sockets were upgraded, so axum does not wait for them: close them and let each
        // write its hub offline while the database is still open.
        app.hub_link
            .close_all(std::time::Duration::from_secs(5))
            .await;
        let _ = stop_tx.send(true);
        let _ = housekeeping.await;
        let _ = queue_worker.await;
        let _ = dispatcher.await;
        let _ = status_writer.await;
        let _ = lease.await;
        app.store.close().await;
        Ok(())
    }
}
