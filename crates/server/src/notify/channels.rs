//! `/api/v1/notifications`: a farm's channels (what is sent where), a test message through
//! one, and the log of what was sent. Admins manage channels; a webhook's URL and signing
//! secret are sealed at rest and never sent back (the secret is shown once, when made or
//! rotated).

use super::{AUTOMATION_MESSAGES, ChannelKind, Notice, secret_context, webhook};
use crate::app::App;
use crate::audit::Change;
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo};
use axum::extract::State;
use domain::automation::{Facts, Trigger};
use domain::validation::Email;
use domain::{Invalid, TenantId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::notifications::{Channel, ChannelFields, Delivery, DeliveryQuery};

/// The most addresses an email channel mails.
const MAX_ADDRESSES: usize = 20;

/// A channel as sent: its events as a list, no sealed URL or secret.
#[derive(Debug, Serialize)]
pub struct ChannelView {
    id: String,
    name: String,
    kind: String,
    /// The addresses, or the webhook URL without its path, query and credentials.
    target: String,
    events: Vec<String>,
    is_enabled: bool,
    has_secret: bool,
    created_at: String,
    updated_at: String,
}

/// The view of a stored channel.
pub fn view(channel: &Channel) -> ChannelView {
    ChannelView {
        id: channel.id.clone(),
        name: channel.name.clone(),
        kind: channel.kind.clone(),
        target: channel.target.clone(),
        events: super::events_of(channel),
        is_enabled: channel.is_enabled == 1,
        has_secret: channel.secret_sealed.is_some(),
        created_at: channel.created_at.clone(),
        updated_at: channel.updated_at.clone(),
    }
}

/// A channel as a client sends it (a change names only what changes).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChannelBody {
    name: Option<String>,
    kind: Option<String>,
    /// The addresses (comma separated) or the webhook URL.
    #[serde(alias = "url")]
    target: Option<String>,
    /// The addresses as a list.
    addresses: Option<Vec<String>>,
    events: Option<Vec<String>>,
    is_enabled: Option<bool>,
}

/// The names a channel may list in `events`.
pub fn event_names() -> Vec<&'static str> {
    let mut names = vec![AUTOMATION_MESSAGES, "*"];
    names.extend(Trigger::ALL.iter().map(|t| t.as_str()));
    names
}

/// A webhook URL as shown: scheme, host and port only (its path often is the secret).
fn shown_url(url: &url::Url) -> String {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let rest = if url.path() != "/" || url.query().is_some() {
        "/…"
    } else {
        ""
    };
    format!(
        "{}://{}{port}{rest}",
        url.scheme(),
        url.host_str().unwrap_or("")
    )
}

/// What a checked body gives: the fields, and the full URL to seal (webhooks).
struct Checked {
    fields: ChannelFields,
    url: Option<String>,
}

/// Checks a body over `base` (defaults, or the stored channel).
fn check(body: &ChannelBody, base: ChannelFields) -> Result<Checked, ApiError> {
    let mut invalid = Invalid::default();
    let mut fields = base;
    if let Some(name) = &body.name {
        fields.name = invalid.text("name", name, 100).unwrap_or_default();
    }
    if fields.name.is_empty() && !invalid.0.iter().any(|e| e.field == "name") {
        invalid.add("name", "name is required");
    }
    if let Some(kind) = &body.kind {
        match kind.trim() {
            "email" | "webhook" => {
                if !fields.kind.is_empty() && fields.kind != kind.trim() {
                    invalid.add("kind", "a channel's kind can't change: make a new channel");
                }
                fields.kind = kind.trim().to_string();
            }
            other => invalid.add(
                "kind",
                format!("unknown kind '{other}': expected email or webhook"),
            ),
        }
    } else if fields.kind.is_empty() {
        invalid.add("kind", "kind is required: email or webhook");
    }
    let mut url = None;
    let target = body
        .addresses
        .as_ref()
        .map(|a| a.join(","))
        .or_else(|| body.target.clone());
    match (fields.kind.as_str(), target) {
        ("email", Some(target)) => {
            let addresses: Vec<&str> = target
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .collect();
            if addresses.is_empty() || addresses.len() > MAX_ADDRESSES {
                invalid.add(
                    "target",
                    format!("give 1 to {MAX_ADDRESSES} email addresses"),
                );
            }
            let mut checked = Vec::new();
            for address in addresses {
                match Email::parse("target", address) {
                    Ok(email) => checked.push(email.as_str().to_string()),
                    Err(_) => invalid.add("target", format!("'{address}' is not an email address")),
                }
            }
            fields.target = checked.join(", ");
        }
        ("webhook", Some(target)) => match url::Url::parse(target.trim()) {
            Ok(parsed)
                if matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some() =>
            {
                if target.len() > 2000 {
                    invalid.add("target", "the URL is longer than 2000 characters");
                }
                fields.target = shown_url(&parsed);
                url = Some(parsed.to_string());
            }
            _ => invalid.add("target", "target must be an http:// or https:// URL"),
        },
        (_, None) if fields.target.is_empty() => invalid.add(
            "target",
            "target is required: email addresses or a webhook URL",
        ),
        _ => {}
    }
    if let Some(events) = &body.events {
        let known = event_names();
        let mut list: Vec<String> = Vec::new();
        for event in events {
            let event = event.trim();
            if !known.contains(&event) {
                invalid.add(
                    "events",
                    format!("unknown event '{event}': expected {}", known.join(", ")),
                );
            } else if !list.iter().any(|e| e == event) {
                list.push(event.to_string());
            }
        }
        fields.events = json!(list).to_string();
    }
    if let Some(enabled) = body.is_enabled {
        fields.is_enabled = i64::from(enabled);
    }
    if !invalid.0.is_empty() {
        return Err(ApiError::Validation(invalid));
    }
    Ok(Checked { fields, url })
}

async fn find(app: &App, tenant: &TenantId, id: &str) -> Result<Channel, ApiError> {
    let mut conn = app.store.conn().await?;
    store::notifications::channel(&mut conn, tenant, id)
        .await
        .or_not_found("CHANNEL_NOT_FOUND", "notification channel")
}

/// GET /api/v1/notifications/channels — the farm's channels (admins).
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Admin>,
) -> ApiResult<Vec<ChannelView>> {
    let mut conn = app.store.conn().await?;
    let channels = store::notifications::channels(&mut conn, &member.tenant).await?;
    Ok(Envelope::all(channels.iter().map(view).collect()))
}

/// GET /api/v1/notifications/events — what a channel may take.
pub async fn events(_member: Member<roles::Viewer>) -> ApiResult<Vec<Value>> {
    let mut list = vec![
        json!({ "event": AUTOMATION_MESSAGES, "description": "Messages of automation rules (send_notification)" }),
        json!({ "event": "*", "description": "Every farm event" }),
    ];
    list.extend(
        Trigger::ALL
            .iter()
            .filter(|t| **t != Trigger::Schedule)
            .map(|t| json!({ "event": t.as_str(), "description": t.description() })),
    );
    Ok(Envelope::all(list))
}

/// GET /api/v1/notifications/channels/{id} — one channel (admins).
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Admin>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ChannelView> {
    Ok(Envelope::ok(view(&find(&app, &member.tenant, &id).await?)))
}

/// Seals a webhook's URL and secret to the channel.
fn seal(app: &App, tenant: &TenantId, id: &str, field: &str, plain: &str) -> String {
    app.cipher.seal(plain, &secret_context(tenant, id, field))
}

/// POST /api/v1/notifications/channels — adds a channel (admins). A webhook channel's
/// signing secret is in the answer, this once (`signing_secret`).
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiJson(body): ApiJson<ChannelBody>,
) -> ApiResult<Value> {
    let base = ChannelFields {
        events: json!([AUTOMATION_MESSAGES]).to_string(),
        is_enabled: 1,
        ..ChannelFields::default()
    };
    let Checked { mut fields, url } = check(&body, base)?;
    let id = store::new_id();
    let secret = (fields.kind == "webhook").then(webhook::new_secret);
    if let (Some(url), Some(secret)) = (&url, &secret) {
        fields.target_sealed = Some(seal(&app, &member.tenant, &id, "url", url));
        fields.secret_sealed = Some(seal(&app, &member.tenant, &id, "secret", secret));
    }
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let channel =
        store::notifications::create_channel(&mut tx, &member.tenant, &id, &fields, &now).await?;
    let change = Change {
        action: "notification_channel.created",
        table: "notification_channels",
        record: &channel.id,
        new: Some(json!({ "name": channel.name, "kind": channel.kind, "target": channel.target })),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    let mut answer = json!(view(&channel));
    if let Some(secret) = secret {
        answer["signing_secret"] = json!(secret);
    }
    Ok(Envelope::created(answer))
}

/// PUT /api/v1/notifications/channels/{id} — changes a channel (admins).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ChannelBody>,
) -> ApiResult<ChannelView> {
    let stored = find(&app, &member.tenant, &id).await?;
    let Checked { mut fields, url } = check(&body, ChannelFields::from(&stored))?;
    if let Some(url) = &url {
        fields.target_sealed = Some(seal(&app, &member.tenant, &id, "url", url));
    }
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let channel = store::notifications::update_channel(&mut tx, &member.tenant, &id, &fields, &now)
        .await
        .or_not_found("CHANNEL_NOT_FOUND", "notification channel")?;
    let change = Change {
        action: "notification_channel.updated",
        table: "notification_channels",
        record: &channel.id,
        old: Some(
            json!({ "name": stored.name, "target": stored.target, "events": stored.events, "is_enabled": stored.is_enabled }),
        ),
        new: Some(
            json!({ "name": channel.name, "target": channel.target, "events": channel.events, "is_enabled": channel.is_enabled }),
        ),
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(view(&channel)))
}

/// POST /api/v1/notifications/channels/{id}/rotate-secret — a new signing secret for a
/// webhook channel, shown this once; the old one stops working at once.
pub async fn rotate_secret(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let stored = find(&app, &member.tenant, &id).await?;
    if ChannelKind::of(&stored.kind) != ChannelKind::Webhook {
        return Err(ApiError::field(
            "kind",
            "only webhook channels have a signing secret",
        ));
    }
    let secret = webhook::new_secret();
    let mut fields = ChannelFields::from(&stored);
    fields.secret_sealed = Some(seal(&app, &member.tenant, &id, "secret", &secret));
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let channel =
        store::notifications::update_channel(&mut tx, &member.tenant, &id, &fields, &now).await?;
    let change = Change {
        action: "notification_channel.secret_rotated",
        table: "notification_channels",
        record: &channel.id,
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    let mut answer = json!(view(&channel));
    answer["signing_secret"] = json!(secret);
    Ok(Envelope::ok(answer))
}

/// DELETE /api/v1/notifications/channels/{id} — removes a channel (its log stays).
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    store::notifications::delete_channel(&mut tx, &member.tenant, &id)
        .await
        .or_not_found("CHANNEL_NOT_FOUND", "notification channel")?;
    let change = Change {
        action: "notification_channel.deleted",
        table: "notification_channels",
        record: &id,
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(json!({ "deleted": id })))
}

/// POST /api/v1/notifications/channels/{id}/test — queues a test message through the
/// channel; its outcome shows in the log.
pub async fn test(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let channel = find(&app, &member.tenant, &id).await?;
    let facts: Facts = [("channel_name".to_string(), channel.name.as_str().into())]
        .into_iter()
        .collect();
    let notice = Notice {
        event: "test",
        subject: format!("PrintFarm test message for {}", channel.name),
        text: "This is a test of a PrintFarm notification channel. It works.".into(),
        facts: &facts,
        rule_id: None,
    };
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let delivery =
        super::to_channel_in(&app, &mut tx, &member.tenant, &channel, &notice, &now).await?;
    let change = Change {
        action: "notification_channel.tested",
        table: "notification_channels",
        record: &channel.id,
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    app.background.work_queued();
    Ok(Envelope::accepted(
        json!({ "delivery_id": delivery, "status": "queued" }),
    ))
}

/// Filters and page of the log.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LogQuery {
    status: Option<String>,
    channel_id: Option<String>,
    kind: Option<String>,
    page: Option<i64>,
    limit: Option<i64>,
}

/// GET /api/v1/notifications/log — what was sent, newest first (filters: status,
/// channel_id, kind; paged). Admins.
pub async fn log(
    State(app): State<App>,
    member: Member<roles::Admin>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> ApiResult<Vec<Delivery>> {
    if let Some(status) = q.status.as_deref().filter(|s| !s.is_empty())
        && !["queued", "sent", "failed", "dead"].contains(&status)
    {
        return Err(ApiError::field(
            "status",
            format!("unknown status '{status}': expected queued, sent, failed or dead"),
        ));
    }
    let query = DeliveryQuery {
        status: q.status.filter(|s| !s.is_empty()),
        channel_id: q.channel_id.filter(|s| !s.is_empty()),
        kind: q.kind.filter(|s| !s.is_empty()),
    };
    let paging = Paging {
        page: q.page.unwrap_or(1),
        limit: q.limit.unwrap_or(50),
    };
    let mut conn = app.store.conn().await?;
    let (lines, total) = store::notifications::log(
        &mut conn,
        &member.tenant,
        &query,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Envelope::list(lines, paging.meta(total)))
}

/// The routes of `/api/v1/notifications`.
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::{PAGING, Param};
    use axum::http::Method as M;
    use domain::Role;
    crate::api::Routes::new()
        .add(M::GET, "/api/v1/notifications/channels", Member(Role::Admin), "The farm's notification channels: email addresses or webhook URLs, and the events each takes", list)
        .add(M::POST, "/api/v1/notifications/channels", Member(Role::Admin), "Add a channel (a webhook's URL is sealed; its signing secret is in this answer only)", create)
        .example(json!({"name": "Floor leads", "kind": "email", "target": "leads@farm.example", "events": ["print_failed", "printer_offline", "automation"]}))
        .add(M::GET, "/api/v1/notifications/events", Member(Role::Viewer), "The events a channel may take", events)
        .add(M::GET, "/api/v1/notifications/log", Member(Role::Admin), "What was sent or tried, newest first (filters: status, channel_id, kind; paged)", log)
        .query(PAGING)
        .query(&[("status", Param::OneOf(&["queued", "sent", "failed", "dead"])), ("channel_id", Param::Uuid), ("kind", Param::OneOf(&["email", "webhook"]))])
        .add(M::GET, "/api/v1/notifications/channels/{channel_id}", Member(Role::Admin), "One channel", get_one)
        .add(M::PUT, "/api/v1/notifications/channels/{channel_id}", Member(Role::Admin), "Change a channel (fields left out stay)", update)
        .example(json!({"events": ["*"], "is_enabled": true}))
        .add(M::DELETE, "/api/v1/notifications/channels/{channel_id}", Member(Role::Admin), "Remove a channel (its log stays)", delete)
        .add(M::POST, "/api/v1/notifications/channels/{channel_id}/test", Member(Role::Admin), "Send a test message through the channel (its outcome shows in the log)", test)
        .add(M::POST, "/api/v1/notifications/channels/{channel_id}/rotate-secret", Member(Role::Admin), "A new signing secret for a webhook channel, shown this once", rotate_secret)
}
