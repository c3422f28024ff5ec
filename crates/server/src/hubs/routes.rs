//! The /hubs routes: register, claim, list, read, rename, release, connection and
//! status, and the commands that go to the hub (discover, gpio, disconnect).

use super::HubCommand;
use crate::app::App;
use crate::audit::Change;
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope};
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiJson, ApiPath, ClientInfo};
use axum::extract::{FromRequestParts, Request, State};
use domain::TenantId;
use serde::Deserialize;
use serde_json::{Value, json};
use store::StoreError;
use store::hubs::Hub;
use store::secrets::{new_token, token_hash};

/// Hub secrets start with this.
const HUB_SECRET_PREFIX: &str = "pfhs_";

/// A hub as sent, with whether its socket is open on this server.
fn view(app: &App, hub: &Hub) -> Value {
    let mut value = serde_json::to_value(hub).unwrap_or(Value::Null);
    value["connected"] = Value::Bool(app.hubs.is_connected(&hub.id));
    value
}

/// A hub id: 4 to 64 of letters, digits, `-` and `_` (hubs often use their MAC or serial).
fn parse_hub_id(raw: &str) -> Result<String, ApiError> {
    let id = raw.trim();
    if (4..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(id.to_string())
    } else {
        Err(ApiError::field(
            "hub_id",
            "hub_id must be 4 to 64 letters, digits, '-' or '_'",
        ))
    }
}

fn parse_name(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(name) if name.chars().count() <= 100 => Ok(Some(name.to_string())),
        Some(_) => Err(ApiError::field(
            "name",
            "name must be at most 100 characters",
        )),
    }
}

/// Body of hub registration.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegisterBody {
    hub_id: Option<String>,
    name: Option<String>,
}

/// POST /api/v1/hubs/register — a new hub id and secret (the secret is in this answer only).
///
/// A farm admin registers a hub for their farm (claimed at once); a hub factory
/// holding the provisioning key registers unclaimed hubs.
pub async fn register(State(app): State<App>, req: Request) -> Result<Envelope<Value>, ApiError> {
    let (mut parts, body) = req.into_parts();
    let key = parts
        .headers
        .get("x-provisioning-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let ip = if key.is_some() {
        let Ok(client) = ClientInfo::from_request_parts(&mut parts, &app).await;
        app.throttle.secret_allowed(client.ip, "provisioning")?;
        client.ip
    } else {
        None
    };
    let tenant = match (&key, &app.settings.hub_provisioning_key) {
        (Some(given), Some(expected)) if crate::auth::same_secret(given, expected) => None,
        (Some(_), _) => {
            app.throttle.secret_failed(ip, "provisioning");
            return Err(ApiError::forbidden(
                "BAD_PROVISIONING_KEY",
                "the provisioning key is wrong",
            ));
        }
        (None, _) => {
            let member = Member::<roles::Admin>::from_request_parts(&mut parts, &app).await?;
            Some((member.tenant, member.user.user_id()))
        }
    };
    let body: RegisterBody = {
        let req = Request::from_parts(parts, body);
        if req.headers().contains_key(axum::http::header::CONTENT_TYPE) {
            let ApiJson(b) =
                <ApiJson<RegisterBody> as axum::extract::FromRequest<App>>::from_request(req, &app)
                    .await?;
            b
        } else {
            RegisterBody::default()
        }
    };
    let id = match body.hub_id.as_deref() {
        Some(raw) => parse_hub_id(raw)?,
        None => format!("hub-{}", uuid::Uuid::new_v4().simple()),
    };
    let name = parse_name(body.name.as_deref())?;
    let secret = new_token(HUB_SECRET_PREFIX);
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let hub = store::hubs::register(
        &mut tx,
        &id,
        name.as_deref(),
        &store::hubs::seal_hello_key(&app.cipher, &id, &secret),
        tenant.as_ref().map(|(t, _)| t),
        &now,
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict { .. } => ApiError::Conflict {
            code: "HUB_EXISTS",
            field: Some("hub_id".into()),
            message: format!("a hub with id '{id}' is already registered"),
        },
        other => other.into(),
    })?;
    if let Some((tenant, user)) = &tenant {
        let change = Change {
            action: "hub.registered",
            table: "hubs",
            record: &hub.id,
            new: Some(json!({ "name": hub.name })),
            ..Change::default()
        };
        crate::audit::record(&mut tx, tenant, user, &ClientInfo::default(), change, &now).await?;
    }
    tx.commit().await?;
    tracing::info!(hub_id = %hub.id, claimed = tenant.is_some(), "hub registered");
    let mut answer = view(&app, &hub);
    answer["hub_id"] = Value::String(hub.id.clone());
    answer["secret"] = Value::String(secret);
    Ok(Envelope::created(answer))
}

/// Body of a claim.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClaimBody {
    hub_id: String,
    name: Option<String>,
    /// The hub's secret, when the claimer has it (then a wrong one is refused).
    secret: Option<String>,
}

/// POST /api/v1/hubs/claim — puts an unclaimed hub in the farm (admins).
pub async fn claim(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiJson(body): ApiJson<ClaimBody>,
) -> ApiResult<Value> {
    let id = parse_hub_id(&body.hub_id)?;
    let name = parse_name(body.name.as_deref())?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let stored = store::hubs::hello_key(&mut tx, &app.cipher, &id)
        .await
        .or_not_found("HUB_NOT_FOUND", "hub")?;
    if body
        .secret
        .as_deref()
        .is_some_and(|secret| !crate::auth::same_secret(&token_hash(secret), &hex::encode(stored)))
    {
        return Err(ApiError::forbidden(
            "BAD_HUB_SECRET",
            "the hub secret does not match",
        ));
    }
    let hub = store::hubs::claim(&mut tx, &member.tenant, &id, name.as_deref(), &now)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::Conflict {
                code: "HUB_ALREADY_CLAIMED",
                field: Some("hub_id".into()),
                message: "this hub belongs to another farm; it must be released there first".into(),
            },
            other => other.into(),
        })?;
    let change = Change {
        action: "hub.claimed",
        table: "hubs",
        record: &hub.id,
        new: Some(json!({ "name": hub.name })),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %member.tenant, hub_id = %hub.id, "hub claimed");
    Ok(Envelope::ok(view(&app, &hub)))
}

/// GET /api/v1/hubs — the farm's hubs.
pub async fn list(State(app): State<App>, member: Member<roles::Viewer>) -> ApiResult<Vec<Value>> {
    let mut conn = app.store.conn().await?;
    let hubs = store::hubs::list(&mut conn, &member.tenant).await?;
    Ok(Envelope::all(hubs.iter().map(|h| view(&app, h)).collect()))
}

async fn find(app: &App, tenant: &TenantId, id: &str) -> Result<Hub, ApiError> {
    let mut conn = app.store.conn().await?;
    store::hubs::get(&mut conn, tenant, id)
        .await
        .or_not_found("HUB_NOT_FOUND", "hub")
}

/// GET /api/v1/hubs/{hub_id} — one hub of the farm.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    Ok(Envelope::ok(view(
        &app,
        &find(&app, &member.tenant, &id).await?,
    )))
}

/// Body of a hub update.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UpdateBody {
    name: Option<String>,
}

/// PUT /api/v1/hubs/{hub_id} — renames a hub (admins).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> ApiResult<Value> {
    let hub = find(&app, &member.tenant, &id).await?;
    let Some(name) = parse_name(body.name.as_deref())? else {
        return Err(ApiError::field("name", "name is required"));
    };
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let renamed = store::hubs::rename(&mut tx, &member.tenant, &hub.id, &name, &now).await?;
    let change = Change {
        action: "hub.renamed",
        table: "hubs",
        record: &hub.id,
        old: Some(json!({ "name": hub.name })),
        new: Some(json!({ "name": renamed.name })),
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(view(&app, &renamed)))
}

/// DELETE /api/v1/hubs/{hub_id} — releases a hub from the farm; its printers stay, without a hub (admins).
pub async fn release(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let hub = find(&app, &member.tenant, &id).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let printers = store::hubs::release(&mut tx, &member.tenant, &hub.id, &now).await?;
    let change = Change {
        action: "hub.released",
        table: "hubs",
        record: &hub.id,
        old: Some(json!({ "name": hub.name, "printers": printers })),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %member.tenant, hub_id = %hub.id, printers, "hub released");
    Ok(Envelope::ok(
        json!({ "hub_id": hub.id, "released": true, "printers_unassigned": printers }),
    ))
}

/// GET /api/v1/hubs/{hub_id}/connection — whether the hub's socket is open here.
pub async fn connection(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let hub = find(&app, &member.tenant, &id).await?;
    let connected = app.hubs.is_connected(&hub.id);
    Ok(Envelope::ok(json!({
        "hub_id": hub.id,
        "connected": connected,
        // A socket is only kept once the hub proved its secret.
        "authenticated": connected,
        "is_online": hub.is_online == 1,
        "last_seen_at": hub.last_seen_at,
    })))
}

/// GET /api/v1/hubs/{hub_id}/status — the hub with its printers.
pub async fn status(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let hub = find(&app, &member.tenant, &id).await?;
    let mut conn = app.store.conn().await?;
    let query = store::printers::PrinterQuery {
        hub_id: Some(hub.id.clone()),
        sort_by: "sort_order",
        ascending: true,
        ..Default::default()
    };
    let (printers, _) = store::printers::list(&mut conn, &member.tenant, &query, 1000, 0).await?;
    let printers: Vec<Value> = printers
        .iter()
        .map(|p| json!({ "id": p.id, "name": p.name, "serial_number": p.serial_number, "status": p.status, "is_connected": p.is_connected }))
        .collect();
    Ok(Envelope::ok(
        json!({ "hub": view(&app, &hub), "printers": printers }),
    ))
}

/// Sends a command to a hub of the farm; 409 `HUB_OFFLINE` when its socket is not open.
async fn send(app: &App, hub: &Hub, command: HubCommand) -> Result<(), ApiError> {
    let name = hub.name.clone().unwrap_or_else(|| hub.id.clone());
    Ok(app.farm.command_hub(&hub.id, &name, command).await?)
}

/// POST /api/v1/hubs/{hub_id}/discover — asks the hub to look for printers (operators).
pub async fn discover(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let hub = find(&app, &member.tenant, &id).await?;
    send(&app, &hub, HubCommand::DiscoverPrinters).await?;
    Ok(Envelope::ok(
        json!({ "hub_id": hub.id, "sent": "discover_printers" }),
    ))
}

/// POST /api/v1/hubs/{hub_id}/disconnect — tells the hub to close its connection (admins).
pub async fn disconnect(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let hub = find(&app, &member.tenant, &id).await?;
    let command = HubCommand::HubCommand {
        action: "disconnect".into(),
        gpio_pin: None,
        gpio_state: None,
    };
    send(&app, &hub, command).await?;
    audit_command(
        &app,
        &member,
        &client,
        &hub,
        json!({ "command": "disconnect" }),
    )
    .await?;
    Ok(Envelope::ok(
        json!({ "hub_id": hub.id, "sent": "disconnect" }),
    ))
}

/// Records a command an admin sent a hub (it changes no row, but it acts on the farm).
async fn audit_command(
    app: &App,
    member: &Member<roles::Admin>,
    client: &ClientInfo,
    hub: &Hub,
    sent: Value,
) -> Result<(), ApiError> {
    let mut conn = app.store.conn().await?;
    let change = Change {
        action: "hub.commanded",
        table: "hubs",
        record: &hub.id,
        new: Some(sent),
        ..Change::default()
    };
    member
        .audit(&mut conn, client, change, &store::now_text())
        .await
}

/// Body of a GPIO command.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GpioBody {
    pin: Option<i64>,
    state: Option<Value>,
}

/// POST /api/v1/hubs/{hub_id}/gpio — sets a GPIO pin of the hub (admins).
pub async fn gpio(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<GpioBody>,
) -> ApiResult<Value> {
    let pin = body
        .pin
        .and_then(|p| u8::try_from(p).ok())
        .filter(|p| *p <= 40)
        .ok_or_else(|| ApiError::field("pin", "pin must be a GPIO number from 0 to 40"))?;
    let state = match body.state {
        Some(Value::Bool(b)) => b,
        Some(Value::Number(n)) if n.as_i64() == Some(1) => true,
        Some(Value::Number(n)) if n.as_i64() == Some(0) => false,
        Some(Value::String(s)) if s == "high" || s == "on" => true,
        Some(Value::String(s)) if s == "low" || s == "off" => false,
        _ => {
            return Err(ApiError::field(
                "state",
                "state must be true/false, 1/0, on/off or high/low",
            ));
        }
    };
    let hub = find(&app, &member.tenant, &id).await?;
    let command = HubCommand::HubCommand {
        action: "gpio_set".into(),
        gpio_pin: Some(pin),
        gpio_state: Some(state),
    };
    send(&app, &hub, command).await?;
    let sent = json!({ "command": "gpio_set", "pin": pin, "state": state });
    audit_command(&app, &member, &client, &hub, sent).await?;
    Ok(Envelope::ok(
        json!({ "hub_id": hub.id, "sent": "gpio_set", "pin": pin, "state": state }),
    ))
}
