//! `/api/v1/integrations`: a farm's sales platforms. Shopify is connected with the shop's
//! domain, an Admin API access token and the app's client secret (webhooks are signed with
//! it); the credentials are checked against the shop, sealed at rest and never sent back.

use super::{
    Connection, Credentials, PLATFORM, SHOPIFY_SYNC, ShopSettings, SyncMessage, sealing_context,
    settings_of, shopify_error,
};
use crate::app::App;
use crate::audit::{Actor, Change};
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope};
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientInfo, OptionalJson, body_flag};
use crate::queue::NewMessage;
use axum::extract::State;
use domain::{FieldError, Invalid, TenantId};
use serde::Deserialize;
use serde_json::{Value, json};
use shopify::webhook::Topic;

/// How many runs the status shows.
const RECENT_RUNS: i64 = 20;

fn not_connected() -> ApiError {
    ApiError::not_found("INTEGRATION_NOT_FOUND", "connected Shopify store")
}

/// The farm's connected shop, or 404.
async fn connected(app: &App, tenant: &TenantId) -> Result<Connection, ApiError> {
    let mut conn = app.store.conn().await?;
    super::connection(app, &mut conn, tenant)
        .await?
        .ok_or_else(not_connected)
}

/// The addresses Shopify delivers the farm's order webhooks to.
pub fn webhook_urls(app: &App, tenant: &TenantId) -> Vec<(Topic, String)> {
    let base = app.settings.public_url();
    Topic::ALL
        .iter()
        .map(|topic| {
            let end = match topic {
                Topic::OrdersCreate => "create",
                Topic::OrdersUpdated => "updated",
                Topic::OrdersCancelled => "cancelled",
            };
            (
                *topic,
                format!(
                    "{}/webhooks/shopify/{tenant}/orders/{end}",
                    base.trim_end_matches('/')
                ),
            )
        })
        .collect()
}

/// An integration as clients see it: switches, settings and the shop, no credentials.
fn public_view(app: &App, tenant: &TenantId, row: &store::integrations::Integration) -> Value {
    let shop_domain = app
        .farm
        .cipher
        .open(&row.credentials_encrypted, &sealing_context(tenant))
        .ok()
        .and_then(|c| serde_json::from_str::<Credentials>(&c).ok())
        .map(|c| c.shop_domain);
    json!({
        "id": row.id, "platform": row.platform,
        "connected": row.is_enabled == 1 && shop_domain.is_some(),
        "shop_domain": shop_domain,
        "is_enabled": row.is_enabled == 1, "sync_enabled": row.sync_enabled == 1,
        "webhook_enabled": row.webhook_enabled == 1,
        "last_sync_at": row.last_sync_at, "last_error": row.last_error,
        "settings": settings_of(row),
        "created_at": row.created_at, "updated_at": row.updated_at,
    })
}

/// GET /api/v1/integrations — the farm's sales platforms (no credentials).
pub async fn list(State(app): State<App>, member: Member<roles::Viewer>) -> ApiResult<Vec<Value>> {
    let mut conn = app.store.conn().await?;
    let rows = store::integrations::list(&mut conn, &member.tenant).await?;
    Ok(Envelope::all(
        rows.iter()
            .map(|r| public_view(&app, &member.tenant, r))
            .collect(),
    ))
}

/// Body of a connection.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConnectBody {
    #[serde(alias = "shop", alias = "shopDomain", alias = "store_url")]
    shop_domain: Option<String>,
    #[serde(alias = "accessToken")]
    access_token: Option<String>,
    #[serde(alias = "api_secret", alias = "apiSecret", alias = "client_secret")]
    webhook_secret: Option<String>,
}

/// A shop domain as Shopify names shops: `name.myshopify.com` (a URL or a bare name is
/// turned into it).
pub fn parse_shop_domain(raw: &str) -> Result<String, Invalid> {
    let raw = raw.trim().to_ascii_lowercase();
    let raw = raw
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let domain = if raw.contains('.') {
        raw.to_string()
    } else {
        format!("{raw}.myshopify.com")
    };
    let name = domain.strip_suffix(".myshopify.com").unwrap_or_default();
    let valid = !name.is_empty()
        && name.len() <= 60
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-');
    if !valid {
        return Err(Invalid::field(
            "shop_domain",
            "shop_domain must be the shop's myshopify.com domain (farm-supplies.myshopify.com)",
        ));
    }
    Ok(domain)
}

impl ConnectBody {
    fn parse(&self) -> Result<Credentials, Invalid> {
        let mut invalid = Invalid::default();
        let shop_domain = match self.shop_domain.as_deref() {
            Some(raw) => invalid.take(parse_shop_domain(raw)),
            None => {
                invalid.take::<()>(Err(Invalid::field(
                    "shop_domain",
                    "shop_domain is required",
                )));
                None
            }
        };
        let mut secret = |field: &str, value: &Option<String>| {
            let value = value.as_deref().map(str::trim).unwrap_or_default();
            if value.is_empty() || value.len() > 256 {
                invalid.0.push(FieldError {
                    field: field.into(),
                    message: format!("{field} is required (at most 256 characters)"),
                });
            }
            value.to_string()
        };
        let access_token = secret("access_token", &self.access_token);
        let webhook_secret = secret("webhook_secret", &self.webhook_secret);
        invalid.into_result()?;
        Ok(Credentials {
            shop_domain: shop_domain.unwrap_or_default(),
            access_token,
            webhook_secret,
        })
    }
}

/// POST /api/v1/integrations/shopify/connect — connects the farm's shop (admins): the
/// credentials are tried against the shop first, then sealed; answers the shop and the
/// webhook addresses to subscribe.
pub async fn connect(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiJson(body): ApiJson<ConnectBody>,
) -> ApiResult<Value> {
    let credentials = body.parse()?;
    let shop = super::client_for(&app, &credentials)
        .map_err(shopify_error)?
        .shop()
        .await
        .map_err(shopify_error)?;
    let tenant = &member.tenant;
    let plain = serde_json::to_string(&credentials).map_err(|e| ApiError::Internal(e.into()))?;
    let sealed = app.farm.cipher.seal(&plain, &sealing_context(tenant));
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let row = store::integrations::connect(&mut tx, tenant, PLATFORM, &sealed, &now).await?;
    let change = Change {
        action: "integration.connected",
        table: "tenant_integrations",
        record: &row.id,
        new: Some(json!({ "platform": PLATFORM, "shop_domain": credentials.shop_domain })),
        ..Change::default()
    };
    Actor::member(&member, client)
        .record(&mut tx, change, &now)
        .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant, shop = %credentials.shop_domain, "shop connected");
    let mut answer = public_view(&app, tenant, &row);
    answer["shop"] = json!({ "name": shop.name, "domain": shop.myshopify_domain,
        "currency": shop.currency_code });
    answer["webhook_urls"] = json!(
        webhook_urls(&app, tenant)
            .into_iter()
            .map(|(t, url)| json!({ "topic": t.as_str(), "url": url }))
            .collect::<Vec<_>>()
    );
    Ok(Envelope::ok(answer))
}

/// POST /api/v1/integrations/shopify/disconnect — forgets the shop's credentials (admins);
/// its orders stay.
pub async fn disconnect(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
) -> ApiResult<Value> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let row = store::integrations::get(&mut tx, &member.tenant, PLATFORM)
        .await?
        .ok_or_else(not_connected)?;
    store::integrations::disconnect(&mut tx, &member.tenant, PLATFORM, &now).await?;
    let change = Change {
        action: "integration.disconnected",
        table: "tenant_integrations",
        record: &row.id,
        new: Some(json!({ "platform": PLATFORM })),
        ..Change::default()
    };
    Actor::member(&member, client)
        .record(&mut tx, change, &now)
        .await?;
    tx.commit().await?;
    Ok(Envelope::ok(
        json!({ "platform": PLATFORM, "connected": false }),
    ))
}

/// The settings as clients read them.
fn settings_view(row: &store::integrations::Integration) -> Value {
    let mut view = json!(settings_of(row));
    view["sync_enabled"] = json!(row.sync_enabled == 1);
    view["webhook_enabled"] = json!(row.webhook_enabled == 1);
    view
}

/// GET /api/v1/integrations/shopify/settings — how the shop's orders are handled.
pub async fn get_settings(
    State(app): State<App>,
    member: Member<roles::Viewer>,
) -> ApiResult<Value> {
    let shop = connected(&app, &member.tenant).await?;
    Ok(Envelope::ok(settings_view(&shop.integration)))
}

/// Body of a settings change (only what changes).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettingsBody {
    sync_enabled: Option<Value>,
    webhook_enabled: Option<Value>,
    auto_fulfill: Option<Value>,
    push_fulfilment: Option<Value>,
    notify_customer: Option<Value>,
    order_priority: Option<i64>,
}

/// PUT /api/v1/integrations/shopify/settings — changes how the shop's orders are handled
/// (admins).
pub async fn put_settings(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiJson(body): ApiJson<SettingsBody>,
) -> ApiResult<Value> {
    let shop = connected(&app, &member.tenant).await?;
    let row = &shop.integration;
    let mut invalid = Invalid::default();
    let mut flag = |field: &str, value: &Option<Value>, old: bool| {
        body_flag(&mut invalid, field, value.as_ref()).unwrap_or(old)
    };
    let old = &shop.settings;
    let sync_enabled = flag("sync_enabled", &body.sync_enabled, row.sync_enabled == 1);
    let webhook_enabled = flag(
        "webhook_enabled",
        &body.webhook_enabled,
        row.webhook_enabled == 1,
    );
    let settings = ShopSettings {
        auto_fulfill: flag("auto_fulfill", &body.auto_fulfill, old.auto_fulfill),
        push_fulfilment: flag(
            "push_fulfilment",
            &body.push_fulfilment,
            old.push_fulfilment,
        ),
        notify_customer: flag(
            "notify_customer",
            &body.notify_customer,
            old.notify_customer,
        ),
        order_priority: body.order_priority.unwrap_or(old.order_priority),
    };
    if !(0..=200).contains(&settings.order_priority) {
        invalid.0.push(FieldError {
            field: "order_priority".into(),
            message: "order_priority must be from 0 to 200".into(),
        });
    }
    invalid.into_result()?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let text = serde_json::to_string(&settings).map_err(|e| ApiError::Internal(e.into()))?;
    let saved = store::integrations::set_settings(
        &mut tx,
        &row.id,
        sync_enabled,
        webhook_enabled,
        &text,
        &now,
    )
    .await?;
    let change = Change {
        action: "integration.settings_changed",
        table: "tenant_integrations",
        record: &row.id,
        old: Some(settings_view(row)),
        new: Some(settings_view(&saved)),
    };
    Actor::member(&member, client)
        .record(&mut tx, change, &now)
        .await?;
    tx.commit().await?;
    Ok(Envelope::ok(settings_view(&saved)))
}

/// GET /api/v1/integrations/shopify/status — whether the shop is connected, its last runs,
/// the webhooks received and the work waiting.
pub async fn status(State(app): State<App>, member: Member<roles::Viewer>) -> ApiResult<Value> {
    let tenant = &member.tenant;
    let mut conn = app.store.conn().await?;
    let row = store::integrations::get(&mut conn, tenant, PLATFORM).await?;
    let recent = store::integrations::recent_logs(&mut conn, tenant, RECENT_RUNS).await?;
    let day_ago = domain::time::format(chrono::Utc::now() - chrono::Duration::hours(24));
    let (received, last_received) =
        store::integrations::deliveries_since(&mut conn, tenant, PLATFORM, &day_ago).await?;
    drop(conn);
    let waiting = app.queue.due_or_running(SHOPIFY_SYNC).await?;
    let mut answer = match &row {
        Some(row) => public_view(&app, tenant, row),
        None => json!({ "platform": PLATFORM, "connected": false }),
    };
    answer["api_version"] = json!(shopify::API_VERSION);
    answer["recent_runs"] = json!(recent);
    answer["webhooks"] =
        json!({ "received_last_24h": received, "last_received_at": last_received });
    answer["queued"] = json!(waiting);
    Ok(Envelope::ok(answer))
}

/// Body of a sync request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SyncBody {
    /// Only orders changed since (RFC 3339); the last sync's time when not given, all
    /// orders on the first sync.
    since: Option<String>,
    /// Every order, whatever the last sync.
    full: Option<Value>,
}

/// POST /api/v1/integrations/shopify/sync — queues a sync run (operators): the shop's
/// orders changed since the last run, page by page; 202 with the run's id.
pub async fn sync(
    State(app): State<App>,
    member: Member<roles::Operator>,
    OptionalJson(body): OptionalJson<SyncBody>,
) -> ApiResult<Value> {
    let tenant = &member.tenant;
    let shop = connected(&app, tenant).await?;
    if shop.integration.sync_enabled == 0 {
        return Err(ApiError::Conflict {
            code: "SYNC_DISABLED",
            field: Some("sync_enabled".into()),
            message: "sync is off in the shop's settings".into(),
        });
    }
    let mut invalid = Invalid::default();
    let full = body_flag(&mut invalid, "full", body.full.as_ref()).unwrap_or(false);
    let since = match body.since.as_deref().map(str::trim) {
        Some(raw) if !raw.is_empty() => match domain::time::parse(raw) {
            Some(at) => Some(domain::time::format(at)),
            None => {
                invalid.0.push(FieldError {
                    field: "since".into(),
                    message: "since must be an RFC 3339 time".into(),
                });
                None
            }
        },
        _ if full => None,
        _ => shop.integration.last_sync_at.clone(),
    };
    invalid.into_result()?;
    let run_id = store::new_ordered_id();
    let payload = serde_json::to_value(SyncMessage::Page {
        run_id: run_id.clone(),
        since: since.clone(),
        cursor: None,
        page: 0,
        taken: 0,
    })
    .map_err(|e| ApiError::Internal(e.into()))?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    app.queue
        .enqueue(
            &mut tx,
            NewMessage {
                queue: SHOPIFY_SYNC,
                tenant: Some(tenant),
                payload: &payload,
                dedupe_key: None,
                max_attempts: None,
            },
            &now,
        )
        .await?;
    tx.commit().await?;
    app.background.work_queued();
    Ok(Envelope::accepted(
        json!({ "queued": true, "run_id": run_id, "since": since }),
    ))
}

/// GET /api/v1/integrations/shopify/webhooks — the shop's webhook subscriptions, and
/// which of the farm's addresses are missing (admins).
pub async fn webhooks(State(app): State<App>, member: Member<roles::Admin>) -> ApiResult<Value> {
    let shop = connected(&app, &member.tenant).await?;
    let subscribed = shop
        .client(&app)
        .map_err(shopify_error)?
        .webhook_subscriptions()
        .await
        .map_err(shopify_error)?;
    Ok(Envelope::ok(subscriptions_view(
        &app,
        &member.tenant,
        &subscribed,
    )))
}

/// Subscriptions against the farm's addresses.
fn subscriptions_view(
    app: &App,
    tenant: &TenantId,
    subscribed: &[shopify::admin::Subscription],
) -> Value {
    let wanted: Vec<Value> = webhook_urls(app, tenant)
        .into_iter()
        .map(|(topic, url)| {
            let found = subscribed
                .iter()
                .any(|s| s.topic == topic.graphql_name() && s.callback_url == url);
            json!({ "topic": topic.as_str(), "url": url, "subscribed": found })
        })
        .collect();
    let all: Vec<Value> = subscribed
        .iter()
        .map(|s| json!({ "id": s.id, "topic": s.topic, "url": s.callback_url }))
        .collect();
    json!({ "wanted": wanted, "subscriptions": all })
}

/// PUT /api/v1/integrations/shopify/webhooks/enable — subscribes the farm's order
/// webhooks in the shop (those missing) and turns webhook intake on (admins).
pub async fn enable_webhooks(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
) -> ApiResult<Value> {
    let tenant = &member.tenant;
    let shop = connected(&app, tenant).await?;
    let api = shop.client(&app).map_err(shopify_error)?;
    let mut subscribed = api.webhook_subscriptions().await.map_err(shopify_error)?;
    for (topic, url) in webhook_urls(&app, tenant) {
        let present = subscribed
            .iter()
            .any(|s| s.topic == topic.graphql_name() && s.callback_url == url);
        if !present {
            subscribed.push(api.subscribe(topic, &url).await.map_err(shopify_error)?);
        }
    }
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let row = &shop.integration;
    let text = serde_json::to_string(&shop.settings).map_err(|e| ApiError::Internal(e.into()))?;
    store::integrations::set_settings(&mut tx, &row.id, row.sync_enabled == 1, true, &text, &now)
        .await?;
    let change = Change {
        action: "integration.webhooks_enabled",
        table: "tenant_integrations",
        record: &row.id,
        new: Some(json!({ "webhook_enabled": true })),
        ..Change::default()
    };
    Actor::member(&member, client)
        .record(&mut tx, change, &now)
        .await?;
    tx.commit().await?;
    Ok(Envelope::ok(subscriptions_view(&app, tenant, &subscribed)))
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use axum::http::Method as M;
    use domain::Role;
    crate::api::Routes::new()
        .add(M::GET, "/api/v1/integrations", Member(Role::Viewer), "The farm's sales platforms (no credentials)", list)
        .add(M::POST, "/api/v1/integrations/shopify/connect", Member(Role::Admin), "Connect the farm's Shopify store: domain, Admin API token and app secret, tried first, sealed at rest", connect)
        .example(json!({"shop_domain": "farm-supplies.myshopify.com", "access_token": "shpat_…", "webhook_secret": "…"}))
        .add(M::POST, "/api/v1/integrations/shopify/disconnect", Member(Role::Admin), "Forget the store's credentials (its orders stay)", disconnect)
        .add(M::GET, "/api/v1/integrations/shopify/settings", Member(Role::Viewer), "How the store's orders are handled", get_settings)
        .add(M::PUT, "/api/v1/integrations/shopify/settings", Member(Role::Admin), "Change how the store's orders are handled", put_settings)
        .example(json!({"auto_fulfill": true, "push_fulfilment": true, "order_priority": 20}))
        .add(M::GET, "/api/v1/integrations/shopify/status", Member(Role::Viewer), "Connection, last runs, webhooks received and work waiting", status)
        .add(M::POST, "/api/v1/integrations/shopify/sync", Member(Role::Operator), "Queue a sync of the store's orders changed since the last run", sync)
        .optional_example(json!({"since": "2026-12-01T00:00:00.000Z"}))
        .add(M::GET, "/api/v1/integrations/shopify/webhooks", Member(Role::Admin), "The store's webhook subscriptions against the farm's addresses", webhooks)
        .add(M::PUT, "/api/v1/integrations/shopify/webhooks/enable", Member(Role::Admin), "Subscribe the farm's order webhooks in the store and take them", enable_webhooks)
        .add(M::POST, "/webhooks/shopify/{tenant_id}/orders/create", Public, "Shopify's orders/create webhook (signed)", super::webhooks::order_webhook_create)
        .add(M::POST, "/webhooks/shopify/{tenant_id}/orders/updated", Public, "Shopify's orders/updated webhook (signed)", super::webhooks::order_webhook_updated)
        .add(M::POST, "/webhooks/shopify/{tenant_id}/orders/cancelled", Public, "Shopify's orders/cancelled webhook (signed)", super::webhooks::order_webhook_cancelled)
        .add(M::GET, "/webhooks/health", Public, "Whether webhook intake works, and the Shopify work waiting", super::webhooks::health)
}
