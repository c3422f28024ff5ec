//! Cameras, `/api/v1/cameras`: the farm's cameras, their settings and a snapshot of each.
//!
//! A camera's password, and a URL that carries a credential (`rtsp://user:pass@…`), are
//! sealed at rest with the server's cipher, bound to the farm and the camera; no answer
//! carries them (`has_password` says whether one is set; a URL's password reads `***`).
//! A snapshot of an ip or mjpeg camera is fetched by the server from the camera's own
//! `snapshot_url` only, with a deadline, a size cap and an image check; a bambu camera's
//! (a P1/A1 printer's own) comes through the printer's hub (`farm.camera_frame`).

use crate::app::App;
use crate::audit::Change;
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Meta};
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo, body_flag, query_flag};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use domain::cameras::{CameraType, MAX_SNAPSHOT_BYTES, ROTATIONS, fetched_by_url, image_type};
use domain::printers::parse_name;
use domain::{CameraId, Invalid, TenantId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::Duration;
use store::cameras::{Camera, CameraFields, CameraQuery, Seen};

/// How long a camera has to deliver a whole snapshot.
pub const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(5);
/// What a stored URL with a credential starts with: the rest is the sealed URL.
pub const SEALED_URL: &str = "sealed:";
/// What stands for a URL's password in an answer.
const URL_PASSWORD_MASK: &str = "***";
/// The longest name kept.
const MAX_NAME: usize = 100;
/// The longest text (description, URL) kept.
const MAX_TEXT: usize = 2000;

/// What a secret of a camera is sealed to: the farm, the camera and the field.
pub fn secret_context(tenant: &TenantId, camera: &str, field: &str) -> String {
    format!("tenant/{tenant}/camera/{camera}/{field}")
}

/// A camera as sent: no password (whether one is set instead), URLs without theirs.
#[derive(Debug, Serialize)]
pub struct CameraView {
    id: String,
    tenant_id: String,
    name: String,
    description: Option<String>,
    printer_id: Option<String>,
    hub_id: Option<String>,
    camera_type: String,
    stream_url: Option<String>,
    snapshot_url: Option<String>,
    ip_address: Option<String>,
    port: Option<i64>,
    username: Option<String>,
    has_password: bool,
    serial_number: Option<String>,
    is_active: bool,
    is_online: bool,
    last_snapshot_at: Option<String>,
    last_error: Option<String>,
    rotation: i64,
    flip_horizontal: bool,
    flip_vertical: bool,
    created_at: String,
    updated_at: String,
}

/// A stored URL opened (`None` when it does not open: logged, never shown).
fn opened_url(app: &App, camera: &Camera, field: &str, stored: &str) -> Option<String> {
    let Some(sealed) = stored.strip_prefix(SEALED_URL) else {
        return Some(stored.to_string());
    };
    let tenant = TenantId::from_stored(camera.tenant_id.clone());
    match app
        .cipher
        .open(sealed, &secret_context(&tenant, &camera.id, field))
    {
        Ok(url) => Some(url),
        Err(err) => {
            tracing::error!(camera_id = %camera.id, field, error = %err, "a stored camera URL does not open");
            None
        }
    }
}

/// A URL with its password replaced by the mask.
fn masked_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some(URL_PASSWORD_MASK));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        // Stored URLs were parsed on the way in; a corrupt one is not shown.
        Err(_) => String::new(),
    }
}

fn view(app: &App, camera: &Camera) -> CameraView {
    let shown = |field: &str, stored: &Option<String>| {
        stored
            .as_deref()
            .and_then(|s| opened_url(app, camera, field, s))
            .map(|url| masked_url(&url))
    };
    CameraView {
        id: camera.id.clone(),
        tenant_id: camera.tenant_id.clone(),
        name: camera.name.clone(),
        description: camera.description.clone(),
        printer_id: camera.printer_id.clone(),
        hub_id: camera.hub_id.clone(),
        camera_type: camera.camera_type.clone(),
        stream_url: shown("stream_url", &camera.stream_url),
        snapshot_url: shown("snapshot_url", &camera.snapshot_url),
        ip_address: camera.ip_address.clone(),
        port: camera.port,
        username: camera.username.clone(),
        has_password: camera.password.is_some(),
        serial_number: camera.serial_number.clone(),
        is_active: camera.is_active != 0,
        is_online: camera.is_online != 0,
        last_snapshot_at: camera.last_snapshot_at.clone(),
        last_error: camera.last_error.clone(),
        rotation: camera.rotation,
        flip_horizontal: camera.flip_horizontal != 0,
        flip_vertical: camera.flip_vertical != 0,
        created_at: camera.created_at.clone(),
        updated_at: camera.updated_at.clone(),
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("CAMERA_NOT_FOUND", "camera")
}

/// The camera a path names in the member's farm; 404 otherwise.
async fn find(app: &App, tenant: &TenantId, key: &str) -> Result<Camera, ApiError> {
    let id = CameraId::parse(key).ok_or_else(not_found)?;
    let mut conn = app.store.conn().await?;
    store::cameras::get(&mut conn, tenant, &id)
        .await
        .or_not_found("CAMERA_NOT_FOUND", "camera")
}

/// Query of the camera list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    printer_id: Option<String>,
    camera_type: Option<String>,
    is_active: Option<String>,
    is_online: Option<String>,
}

/// GET /api/v1/cameras — the farm's cameras (filters: printer_id, camera_type, is_active, is_online).
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<CameraView>> {
    let mut invalid = Invalid::default();
    let camera_type = q
        .camera_type
        .as_deref()
        .filter(|t| !t.is_empty())
        .and_then(|t| invalid.take(parse_name::<CameraType>("camera_type", t)))
        .map(|t| t.as_str().to_string());
    let is_active = invalid
        .take(query_flag("is_active", q.is_active.as_deref()))
        .flatten();
    let is_online = invalid
        .take(query_flag("is_online", q.is_online.as_deref()))
        .flatten();
    invalid.into_result()?;
    let query = CameraQuery {
        printer_id: q.printer_id.filter(|p| !p.is_empty()),
        camera_type,
        is_active,
        is_online,
    };
    let mut conn = app.store.conn().await?;
    let cameras = store::cameras::list(&mut conn, &member.tenant, &query).await?;
    drop(conn);
    let views: Vec<CameraView> = cameras.iter().map(|c| view(&app, c)).collect();
    let meta = Meta::whole(views.len());
    Ok(Envelope::list(views, meta))
}

/// GET /api/v1/cameras/{camera_id} — one camera.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<CameraView> {
    let camera = find(&app, &member.tenant, &key).await?;
    Ok(Envelope::ok(view(&app, &camera)))
}

/// Body of camera creation and change: a change names only what changes; `null` clears
/// an optional field; a password left out (or the mask sent back) stays as it is.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CameraBody {
    name: Option<String>,
    #[serde(deserialize_with = "crate::extract::given")]
    description: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    printer_id: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    hub_id: Option<Option<String>>,
    camera_type: Option<String>,
    #[serde(deserialize_with = "crate::extract::given")]
    stream_url: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    snapshot_url: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    ip_address: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    port: Option<Option<i64>>,
    #[serde(deserialize_with = "crate::extract::given")]
    username: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    password: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    serial_number: Option<Option<String>>,
    is_active: Option<Value>,
    rotation: Option<i64>,
    flip_horizontal: Option<Value>,
    flip_vertical: Option<Value>,
}

/// An optional text: the body's (`null` clears) over the stored one.
fn optional(
    invalid: &mut Invalid,
    field: &str,
    given: &Option<Option<String>>,
    stored: Option<String>,
    max: usize,
) -> Option<String> {
    match given {
        None => stored,
        Some(None) => None,
        Some(Some(v)) => invalid.text(field, v, max),
    }
}

/// The URL schemes each URL field takes.
fn schemes(field: &str) -> &'static [&'static str] {
    match field {
        "snapshot_url" => &["http", "https"],
        _ => &["http", "https", "rtsp", "rtsps"],
    }
}

/// A camera setting URL as stored: checked, and sealed when it carries a password. The
/// mask sent back in place of the password keeps the stored password.
fn url_field(
    app: &App,
    invalid: &mut Invalid,
    (tenant, camera): (&TenantId, &Camera),
    field: &str,
    given: &Option<Option<String>>,
) -> Option<String> {
    let stored = match field {
        "stream_url" => camera.stream_url.clone(),
        _ => camera.snapshot_url.clone(),
    };
    let raw = match given {
        None => return stored,
        Some(None) => return None,
        Some(Some(raw)) => invalid.text(field, raw, MAX_TEXT)?,
    };
    let Ok(mut url) = url::Url::parse(&raw) else {
        invalid.add(field, format!("{field} must be an absolute URL"));
        return None;
    };
    if !schemes(field).contains(&url.scheme()) || url.host_str().is_none_or(str::is_empty) {
        invalid.add(
            field,
            format!(
                "{field} must be a {} URL with a host",
                schemes(field).join(", ")
            ),
        );
        return None;
    }
    if url.password() == Some(URL_PASSWORD_MASK) {
        // The answer's masked URL sent back: the stored password stays.
        let old = stored
            .as_deref()
            .and_then(|s| opened_url(app, camera, field, s))
            .and_then(|s| url::Url::parse(&s).ok());
        let old_password = old.as_ref().and_then(|o| o.password()).map(str::to_string);
        let _ = url.set_password(old_password.as_deref());
    }
    let url = url.to_string();
    if url::Url::parse(&url).is_ok_and(|u| u.password().is_some()) {
        let context = secret_context(tenant, &camera.id, field);
        return Some(format!("{SEALED_URL}{}", app.cipher.seal(&url, &context)));
    }
    Some(url)
}

impl CameraBody {
    /// The complete settings: this body over `stored` (a blank camera when creating), with
    /// secrets sealed to the camera; or every field error at once.
    fn merge(
        &self,
        app: &App,
        tenant: &TenantId,
        stored: &Camera,
        creating: bool,
    ) -> Result<CameraFields, Invalid> {
        let mut invalid = Invalid::default();
        let base = CameraFields::from(stored);
        let name = match &self.name {
            Some(n) => invalid.text("name", n, MAX_NAME),
            None if creating => None,
            None => Some(base.name.clone()),
        };
        if name.is_none() && !invalid.0.iter().any(|f| f.field == "name") {
            invalid.add("name", "name is required");
        }
        let camera_type = match &self.camera_type {
            Some(t) => invalid
                .take(parse_name::<CameraType>("camera_type", t))
                .map(|t| t.as_str().to_string()),
            None => Some(base.camera_type.clone()),
        };
        let printer_id = match &self.printer_id {
            None => base.printer_id,
            Some(None) => None,
            Some(Some(v)) if v.trim().is_empty() => None,
            Some(Some(v)) if domain::ids::is_uuid(v.trim()) => Some(v.trim().to_ascii_lowercase()),
            Some(Some(_)) => {
                invalid.add("printer_id", "printer_id must be a printer's id");
                None
            }
        };
        let hub_id = match &self.hub_id {
            None => base.hub_id,
            Some(None) => None,
            Some(Some(h)) => invalid.text("hub_id", h, MAX_NAME),
        };
        let ip_address = match &self.ip_address {
            None => base.ip_address,
            Some(None) => None,
            Some(Some(ip)) if ip.trim().is_empty() => None,
            Some(Some(ip)) => match ip.trim().parse::<std::net::IpAddr>() {
                Ok(addr) => Some(addr.to_string()),
                Err(_) => {
                    invalid.add("ip_address", "ip_address must be an IPv4 or IPv6 address");
                    None
                }
            },
        };
        let port = match self.port {
            None => base.port,
            Some(None) => None,
            Some(Some(p)) if (1..=65535).contains(&p) => Some(p),
            Some(Some(_)) => {
                invalid.add("port", "port must be from 1 to 65535");
                None
            }
        };
        let rotation = match self.rotation {
            None => base.rotation,
            Some(r) if ROTATIONS.contains(&r) => r,
            Some(_) => {
                invalid.add("rotation", "rotation must be 0, 90, 180 or 270");
                0
            }
        };
        let flag = |invalid: &mut Invalid, field: &str, value: &Option<Value>, old: i64| {
            body_flag(invalid, field, value.as_ref()).map_or(old, i64::from)
        };
        let password = match &self.password {
            None => base.password,
            Some(None) => None,
            Some(Some(p)) if p.is_empty() => None,
            Some(Some(p)) if p == domain::printers::MASKED_SECRET || p == URL_PASSWORD_MASK => {
                base.password
            }
            Some(Some(p)) if p.chars().count() > 200 => {
                invalid.add("password", "password must be at most 200 characters");
                None
            }
            Some(Some(p)) => Some(
                app.cipher
                    .seal(p, &secret_context(tenant, &stored.id, "password")),
            ),
        };
        let fields = CameraFields {
            description: optional(
                &mut invalid,
                "description",
                &self.description,
                base.description,
                MAX_TEXT,
            ),
            stream_url: url_field(
                app,
                &mut invalid,
                (tenant, stored),
                "stream_url",
                &self.stream_url,
            ),
            snapshot_url: url_field(
                app,
                &mut invalid,
                (tenant, stored),
                "snapshot_url",
                &self.snapshot_url,
            ),
            username: optional(
                &mut invalid,
                "username",
                &self.username,
                base.username,
                MAX_NAME,
            ),
            serial_number: optional(
                &mut invalid,
                "serial_number",
                &self.serial_number,
                base.serial_number,
                MAX_NAME,
            ),
            is_active: flag(&mut invalid, "is_active", &self.is_active, base.is_active),
            flip_horizontal: flag(
                &mut invalid,
                "flip_horizontal",
                &self.flip_horizontal,
                base.flip_horizontal,
            ),
            flip_vertical: flag(
                &mut invalid,
                "flip_vertical",
                &self.flip_vertical,
                base.flip_vertical,
            ),
            name: name.unwrap_or_default(),
            camera_type: camera_type.unwrap_or_default(),
            printer_id,
            hub_id,
            ip_address,
            port,
            password,
            rotation,
        };
        invalid.into_result()?;
        Ok(fields)
    }
}

/// Checks that a named printer and hub are the farm's (400 naming the field otherwise).
async fn check_links(app: &App, tenant: &TenantId, fields: &CameraFields) -> Result<(), ApiError> {
    let mut conn = app.store.conn().await?;
    let mut invalid = Invalid::default();
    if let Some(printer) = fields.printer_id.as_deref()
        && !store::cameras::printer_belongs(&mut conn, tenant, printer).await?
    {
        invalid.add("printer_id", "no printer with this id belongs to this farm");
    }
    if let Some(hub) = fields.hub_id.as_deref()
        && !store::printers::hub_belongs(&mut conn, tenant, hub).await?
    {
        invalid.add("hub_id", "no hub with this id belongs to this farm");
    }
    Ok(invalid.into_result()?)
}

/// A blank camera of the farm with a new id: what a new camera's body is merged over.
fn blank(tenant: &TenantId) -> Camera {
    Camera {
        id: store::new_id(),
        tenant_id: tenant.to_string(),
        name: String::new(),
        description: None,
        printer_id: None,
        hub_id: None,
        camera_type: CameraType::Ip.as_str().to_string(),
        stream_url: None,
        snapshot_url: None,
        ip_address: None,
        port: None,
        username: None,
        password: None,
        serial_number: None,
        is_active: 1,
        is_online: 0,
        last_snapshot_at: None,
        last_error: None,
        rotation: 0,
        flip_horizontal: 0,
        flip_vertical: 0,
        created_at: String::new(),
        updated_at: String::new(),
    }
}

/// What the audit log keeps of a camera: its settings, never a secret.
fn audited(camera: &Camera) -> Value {
    json!({ "name": camera.name, "camera_type": camera.camera_type, "printer_id": camera.printer_id,
            "hub_id": camera.hub_id, "is_active": camera.is_active })
}

/// POST /api/v1/cameras — adds a camera (admins: it may carry a credential).
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiJson(body): ApiJson<CameraBody>,
) -> ApiResult<CameraView> {
    let new = blank(&member.tenant);
    let fields = body.merge(&app, &member.tenant, &new, true)?;
    check_links(&app, &member.tenant, &fields).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let camera =
        store::cameras::create(&mut tx, &member.tenant, &new.camera_id(), &fields, &now).await?;
    let change = Change {
        action: "camera.created",
        table: "cameras",
        record: &camera.id,
        new: Some(audited(&camera)),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %member.tenant, camera_id = %camera.id, "camera added");
    Ok(Envelope::created(view(&app, &camera)))
}

/// PUT /api/v1/cameras/{camera_id} — changes a camera's settings (admins).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<CameraBody>,
) -> ApiResult<CameraView> {
    let camera = find(&app, &member.tenant, &key).await?;
    let fields = body.merge(&app, &member.tenant, &camera, false)?;
    check_links(&app, &member.tenant, &fields).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let updated =
        store::cameras::update(&mut tx, &member.tenant, &camera.camera_id(), &fields, &now)
            .await
            .or_not_found("CAMERA_NOT_FOUND", "camera")?;
    let change = Change {
        action: "camera.updated",
        table: "cameras",
        record: &camera.id,
        old: Some(audited(&camera)),
        new: Some(audited(&updated)),
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(view(&app, &updated)))
}

/// DELETE /api/v1/cameras/{camera_id} — removes a camera (admins).
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Value> {
    let camera = find(&app, &member.tenant, &key).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    if !store::cameras::delete(&mut tx, &member.tenant, &camera.camera_id()).await? {
        return Err(not_found());
    }
    let change = Change {
        action: "camera.deleted",
        table: "cameras",
        record: &camera.id,
        old: Some(audited(&camera)),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(json!({ "id": camera.id, "deleted": true })))
}

/// Body of a status report.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusBody {
    is_online: Option<Value>,
    last_error: Option<String>,
}

/// PUT /api/v1/cameras/{camera_id}/status — records whether a camera is online, and its
/// last error (operators; a viewer that watches a stream reports what it saw).
pub async fn set_status(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<StatusBody>,
) -> ApiResult<CameraView> {
    let mut invalid = Invalid::default();
    let is_online = body_flag(&mut invalid, "is_online", body.is_online.as_ref());
    if is_online.is_none() && !invalid.0.iter().any(|f| f.field == "is_online") {
        invalid.add("is_online", "is_online is required");
    }
    let last_error = body
        .last_error
        .as_deref()
        .and_then(|e| invalid.text("last_error", e, MAX_TEXT));
    invalid.into_result()?;
    let camera = find(&app, &member.tenant, &key).await?;
    let seen = Seen {
        is_online: is_online.unwrap_or(false),
        last_error: last_error.as_deref(),
        snapshot_at: None,
    };
    let mut conn = app.store.conn().await?;
    let updated = store::cameras::set_seen(
        &mut conn,
        &member.tenant,
        &camera.camera_id(),
        &seen,
        &store::now_text(),
    )
    .await
    .or_not_found("CAMERA_NOT_FOUND", "camera")?;
    Ok(Envelope::ok(view(&app, &updated)))
}

/// Why a snapshot could not be taken; each is answered 502, a timeout 504.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// The camera did not deliver the whole picture in time.
    Timeout,
    /// It could not be reached (refused, reset, DNS, TLS).
    Unreachable(String),
    /// It answered with an HTTP error (or a redirect elsewhere).
    Status(u16),
    /// The picture is larger than [`MAX_SNAPSHOT_BYTES`].
    TooLarge,
    /// What came is not an image.
    NotAnImage,
    /// The printer's hub is not connected.
    HubOffline(String),
    /// The camera's hub or printer could not give a frame.
    Hub(String),
}

impl SnapshotError {
    /// What is recorded as the camera's `last_error` (never a URL: it may carry a credential).
    pub fn message(&self) -> String {
        match self {
            SnapshotError::Timeout => format!(
                "the camera did not send a picture within {} seconds",
                SNAPSHOT_TIMEOUT.as_secs()
            ),
            SnapshotError::Unreachable(why) => format!("the camera could not be reached: {why}"),
            SnapshotError::Status(status) => format!("the camera answered HTTP {status}"),
            SnapshotError::TooLarge => format!(
                "the camera's picture is larger than {} MiB",
                MAX_SNAPSHOT_BYTES / (1024 * 1024)
            ),
            SnapshotError::NotAnImage => "the camera sent something that is not an image".into(),
            SnapshotError::HubOffline(why) | SnapshotError::Hub(why) => why.clone(),
        }
    }

    /// The answer to the client.
    pub fn into_api(self) -> ApiError {
        let message = self.message();
        match self {
            SnapshotError::Timeout => ApiError::GatewayTimeout {
                code: "CAMERA_TIMEOUT",
                message,
            },
            SnapshotError::Unreachable(_) => ApiError::BadGateway {
                code: "CAMERA_UNREACHABLE",
                message,
            },
            SnapshotError::Status(_) => ApiError::BadGateway {
                code: "CAMERA_HTTP_ERROR",
                message,
            },
            SnapshotError::TooLarge => ApiError::BadGateway {
                code: "SNAPSHOT_TOO_LARGE",
                message,
            },
            SnapshotError::NotAnImage => ApiError::BadGateway {
                code: "SNAPSHOT_NOT_AN_IMAGE",
                message,
            },
            SnapshotError::HubOffline(_) => ApiError::BadGateway {
                code: "HUB_OFFLINE",
                message,
            },
            SnapshotError::Hub(_) => ApiError::BadGateway {
                code: "CAMERA_HUB_ERROR",
                message,
            },
        }
    }
}

/// The HTTP client for camera snapshots: redirects only within the camera's own origin
/// (a camera's address cannot send the server anywhere else), no proxy from the environment.
fn snapshot_client() -> Result<&'static reqwest::Client, ApiError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    let client = CLIENT.get_or_init(|| {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            let same_origin = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin());
            if attempt.previous().len() > 3 || !same_origin {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let tls = crate::outbound::tls_config()?;
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(policy)
            .no_proxy()
            .connect_timeout(SNAPSHOT_TIMEOUT)
            .timeout(SNAPSHOT_TIMEOUT)
            .build()
            .map_err(|e| e.to_string())
    });
    client
        .as_ref()
        .map_err(|e| ApiError::internal(anyhow::anyhow!("the camera HTTP client: {e}")))
}

/// A picture from `url` (with basic auth when a username is set), within the deadline and cap.
pub async fn fetch_snapshot(
    client: &reqwest::Client,
    url: &str,
    auth: Option<(&str, Option<&str>)>,
) -> Result<(Vec<u8>, &'static str), SnapshotError> {
    let fetch = async {
        let mut request = client.get(url).header(header::ACCEPT, "image/*");
        if let Some((user, password)) = auth {
            request = request.basic_auth(user, password);
        }
        // `without_url`: a URL may carry a credential, and errors end up in `last_error`.
        let mut response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                SnapshotError::Timeout
            } else {
                SnapshotError::Unreachable(reason(&e.without_url()))
            }
        })?;
        if !response.status().is_success() {
            return Err(SnapshotError::Status(response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_SNAPSHOT_BYTES as u64)
        {
            return Err(SnapshotError::TooLarge);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            if e.is_timeout() {
                SnapshotError::Timeout
            } else {
                SnapshotError::Unreachable(reason(&e.without_url()))
            }
        })? {
            if bytes.len() + chunk.len() > MAX_SNAPSHOT_BYTES {
                return Err(SnapshotError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        let kind = image_type(&bytes).ok_or(SnapshotError::NotAnImage)?;
        Ok((bytes, kind))
    };
    tokio::time::timeout(SNAPSHOT_TIMEOUT, fetch)
        .await
        .unwrap_or(Err(SnapshotError::Timeout))
}

/// An error's innermost cause in words (reqwest's own top line says only "error sending request").
fn reason(err: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = err;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

/// The picture as an answer: its type, never cached.
fn picture(bytes: Vec<u8>, kind: &'static str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Takes a picture from a camera and records what happened (online, error, when).
async fn take_snapshot(
    app: &App,
    tenant: &TenantId,
    camera: &Camera,
) -> Result<(Vec<u8>, &'static str), ApiError> {
    let kind = parse_name::<CameraType>("camera_type", &camera.camera_type)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("a stored camera type is unknown")))?;
    if camera.is_active == 0 {
        return Err(ApiError::Conflict {
            code: "CAMERA_INACTIVE",
            field: Some("is_active".into()),
            message: "the camera is switched off (is_active is false)".into(),
        });
    }
    let result = if fetched_by_url(kind) {
        let Some(url) = camera
            .snapshot_url
            .as_deref()
            .and_then(|s| opened_url(app, camera, "snapshot_url", s))
        else {
            return Err(ApiError::Conflict {
                code: "CAMERA_NOT_CONFIGURED",
                field: Some("snapshot_url".into()),
                message: "the camera has no snapshot_url; set one first".into(),
            });
        };
        let password = camera.password.as_deref().and_then(|sealed| {
            app.cipher
                .open(sealed, &secret_context(tenant, &camera.id, "password"))
                .map_err(|err| tracing::error!(camera_id = %camera.id, error = %err, "a stored camera password does not open"))
                .ok()
        });
        let auth = camera
            .username
            .as_deref()
            .map(|user| (user, password.as_deref()));
        fetch_snapshot(snapshot_client()?, &url, auth).await
    } else if kind == CameraType::Bambu {
        // The printer's own camera: through its hub.
        let Some(printer_id) = camera.printer_id.as_deref() else {
            return Err(ApiError::Conflict {
                code: "CAMERA_NOT_CONFIGURED",
                field: Some("printer_id".into()),
                message: "a bambu camera needs its printer_id; set one first".into(),
            });
        };
        let printer = crate::printers::find(app, tenant, printer_id).await?;
        printer_frame(app, &printer).await?
    } else {
        return Err(ApiError::Conflict {
            code: "CAMERA_NO_SNAPSHOT",
            field: Some("camera_type".into()),
            message: format!(
                "the server takes no snapshot from a {} camera",
                camera.camera_type
            ),
        });
    };
    record_snapshot(app, tenant, camera, &result).await?;
    result.map_err(SnapshotError::into_api)
}

/// A frame from a printer's own camera through its hub, as a snapshot's outcome; a printer
/// that cannot be asked (no hub, no serial) is the caller's to fix (409).
async fn printer_frame(
    app: &App,
    printer: &store::printers::Printer,
) -> Result<Result<(Vec<u8>, &'static str), SnapshotError>, ApiError> {
    use crate::farm::commands::CameraFrameError as E;
    use crate::hubs::CommandError;
    Ok(match app.farm.camera_frame(printer).await {
        Ok(jpeg) => match image_type(&jpeg) {
            Some(kind) => Ok((jpeg, kind)),
            None => Err(SnapshotError::NotAnImage),
        },
        Err(err @ (E::NoHub | E::NoSerial)) => {
            return Err(ApiError::Conflict {
                code: "CAMERA_NOT_CONFIGURED",
                field: Some(
                    if matches!(err, E::NoHub) {
                        "hub_id"
                    } else {
                        "serial_number"
                    }
                    .into(),
                ),
                message: err.to_string(),
            });
        }
        Err(E::Hub(CommandError::Timeout)) => Err(SnapshotError::Timeout),
        Err(E::Hub(CommandError::HubOffline)) => Err(SnapshotError::HubOffline(format!(
            "the hub of printer '{}' is offline",
            printer.name
        ))),
        Err(E::Hub(CommandError::Refused(why))) => Err(SnapshotError::Hub(why)),
        Err(E::TooLarge) => Err(SnapshotError::TooLarge),
        Err(err @ (E::NoFrame | E::Garbled)) => Err(SnapshotError::Hub(err.to_string())),
    })
}

/// GET /api/v1/printers/{printer_id}/camera/snapshot — a picture from the printer's own
/// camera now, through its hub (the image). The printer's bambu camera, if the farm added
/// one, records the outcome.
pub async fn printer_snapshot(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(key): ApiPath<String>,
) -> Result<Response, ApiError> {
    let printer = crate::printers::find(&app, &member.tenant, &key).await?;
    let result = printer_frame(&app, &printer).await?;
    let mut conn = app.store.conn().await?;
    let camera = store::cameras::of_printer(
        &mut conn,
        &member.tenant,
        &printer.id,
        CameraType::Bambu.as_str(),
    )
    .await?;
    drop(conn);
    if let Some(camera) = camera {
        record_snapshot(&app, &member.tenant, &camera, &result).await?;
    }
    let (bytes, kind) = result.map_err(SnapshotError::into_api)?;
    Ok(picture(bytes, kind))
}

/// Records a snapshot's outcome on the camera.
async fn record_snapshot(
    app: &App,
    tenant: &TenantId,
    camera: &Camera,
    result: &Result<(Vec<u8>, &'static str), SnapshotError>,
) -> Result<(), ApiError> {
    let now = store::now_text();
    let message = result.as_ref().err().map(SnapshotError::message);
    let seen = Seen {
        is_online: result.is_ok(),
        last_error: message.as_deref(),
        snapshot_at: result.is_ok().then_some(now.as_str()),
    };
    if let Some(message) = &message {
        tracing::info!(tenant_id = %tenant, camera_id = %camera.id, error = %message, "camera snapshot failed");
    }
    let mut conn = app.store.conn().await?;
    store::cameras::set_seen(&mut conn, tenant, &camera.camera_id(), &seen, &now)
        .await
        .or_not_found("CAMERA_NOT_FOUND", "camera")?;
    Ok(())
}

/// GET /api/v1/cameras/{camera_id}/snapshot — a picture from the camera, now (the image itself).
pub async fn snapshot(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(key): ApiPath<String>,
) -> Result<Response, ApiError> {
    let camera = find(&app, &member.tenant, &key).await?;
    let (bytes, kind) = take_snapshot(&app, &member.tenant, &camera).await?;
    Ok(picture(bytes, kind))
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::Param;
    use axum::http::Method as M;
    use domain::Role;
    crate::api::Routes::new()
        .add(M::GET, "/api/v1/cameras", Member(Role::Viewer), "The farm's cameras (filters: printer_id, camera_type, is_active, is_online)", list)
        .query(&[("printer_id", Param::Uuid), ("camera_type", Param::OneOf(&["bambu", "ip", "usb", "rtsp", "mjpeg"])), ("is_active", Param::Flag), ("is_online", Param::Flag)])
        .add(M::POST, "/api/v1/cameras", Member(Role::Admin), "Add a camera (its password is sealed and never shown)", create)
        .example(json!({"name": "Rack A overview", "camera_type": "ip", "snapshot_url": "http://192.0.2.20/snapshot.jpg", "username": "viewer", "password": "camera-secret"}))
        .add(M::GET, "/api/v1/cameras/{camera_id}", Member(Role::Viewer), "One camera", get_one)
        .add(M::PUT, "/api/v1/cameras/{camera_id}", Member(Role::Admin), "Change a camera", update)
        .example(json!({"description": "Looks at rack A from the door", "rotation": 180}))
        .add(M::DELETE, "/api/v1/cameras/{camera_id}", Member(Role::Admin), "Remove a camera", delete)
        .add(M::GET, "/api/v1/cameras/{camera_id}/snapshot", Member(Role::Viewer), "A picture from the camera now (the image; 502 or 504 when the camera fails)", snapshot)
        .add(M::GET, "/api/v1/printers/{printer_id}/camera/snapshot", Member(Role::Viewer), "A picture from the printer's own camera now, through its hub (the image; 502 or 504 when it fails)", printer_snapshot)
        .add(M::PUT, "/api/v1/cameras/{camera_id}/status", Member(Role::Operator), "Record whether a camera is online, and its last error", set_status)
        .example(json!({"is_online": true}))
}
