//! Notifications: messages to a farm's channels (email, signed webhooks) about what happens
//! on it, and the log of each.
//!
//! A notification is queued in the transaction of what caused it (a farm event reaching
//! the channels that take it, a rule's action), logged as `queued`, and delivered by the
//! queue's worker ([`deliver`]) with retries and backoff; after its last attempt it is a
//! dead letter in the dead-letter view, and retrying it there delivers it again. The log
//! line follows every attempt: `queued`, `sent`, `failed` (will be retried) or `dead`.

pub mod channels;
pub mod webhook;

use crate::app::App;
use crate::automation::FarmEvent;
use crate::queue::NewMessage;
use crate::workers::WorkError;
use domain::TenantId;
use domain::automation::{Facts, Trigger};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::notifications::{Attempt, Channel, NewDelivery};
use store::queue::Message;
use store::{Conn, StoreError, StoreResult};

/// The queue of notifications to deliver.
pub const NOTIFICATIONS: &str = "notifications";
/// What a channel lists to take the messages of rules' `send_notification` actions.
pub const AUTOMATION_MESSAGES: &str = "automation";

/// How a channel delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Mail to its addresses.
    Email,
    /// A signed JSON post to its URL.
    Webhook,
}

impl ChannelKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Webhook => "webhook",
        }
    }

    /// A stored name read back.
    pub fn of(stored: &str) -> ChannelKind {
        if stored == "webhook" {
            ChannelKind::Webhook
        } else {
            ChannelKind::Email
        }
    }
}

/// One notification on the queue: what its worker sends, the same on every attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// The log line's id (also the webhook's `X-PrintFarm-Delivery`).
    pub delivery_id: String,
    /// The farm.
    pub tenant_id: String,
    /// The channel, when it goes to one.
    pub channel_id: Option<String>,
    /// The addresses of an email to no channel (a rule's `send_email`).
    #[serde(default)]
    pub to: Vec<String>,
    /// How it is sent.
    pub kind: ChannelKind,
    /// The event's name (a trigger, `automation` or `test`).
    pub event: String,
    /// The subject (email) or title (webhook).
    pub subject: String,
    /// The text.
    pub text: String,
    /// The webhook's JSON body.
    #[serde(default)]
    pub body: Option<Value>,
}

/// A notification to queue.
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    /// The event's name.
    pub event: &'a str,
    /// Subject or title.
    pub subject: String,
    /// The text.
    pub text: String,
    /// The event's facts (a webhook's `data`).
    pub facts: &'a Facts,
    /// The rule that sent it, if one did.
    pub rule_id: Option<&'a str>,
}

/// What a channel's secret is sealed to: the farm, the channel and the field.
pub fn secret_context(tenant: &TenantId, channel: &str, field: &str) -> String {
    format!("tenant/{tenant}/notification_channel/{channel}/{field}")
}

/// The events a channel takes, as stored.
pub fn events_of(channel: &Channel) -> Vec<String> {
    serde_json::from_str(&channel.events).unwrap_or_default()
}

/// Whether an enabled channel takes `event`.
pub fn takes(channel: &Channel, event: &str) -> bool {
    channel.is_enabled == 1 && events_of(channel).iter().any(|e| e == event || e == "*")
}

/// Queues `notice` to `channel` in the caller's transaction; returns the log line's id.
pub async fn to_channel_in(
    app: &App,
    tx: &mut Conn,
    tenant: &TenantId,
    channel: &Channel,
    notice: &Notice<'_>,
    now: &str,
) -> StoreResult<String> {
    queue_in(app, tx, tenant, Some(channel), &[], notice, now).await
}

/// Queues an email of `notice` to addresses, through no channel.
pub async fn email_in(
    app: &App,
    tx: &mut Conn,
    tenant: &TenantId,
    to: &[String],
    notice: &Notice<'_>,
    now: &str,
) -> StoreResult<String> {
    queue_in(app, tx, tenant, None, to, notice, now).await
}

async fn queue_in(
    app: &App,
    tx: &mut Conn,
    tenant: &TenantId,
    channel: Option<&Channel>,
    to: &[String],
    notice: &Notice<'_>,
    now: &str,
) -> StoreResult<String> {
    let kind = channel.map_or(ChannelKind::Email, |c| ChannelKind::of(&c.kind));
    let target = channel.map_or_else(|| to.join(", "), |c| c.target.clone());
    let delivery_id = store::notifications::log_queued(
        tx,
        tenant,
        &NewDelivery {
            channel_id: channel.map(|c| c.id.as_str()),
            rule_id: notice.rule_id,
            kind: kind.as_str(),
            target: &target,
            event: notice.event,
            subject: &notice.subject,
        },
        now,
    )
    .await?;
    let body = (kind == ChannelKind::Webhook).then(|| {
        json!({
            "id": delivery_id,
            "event": notice.event,
            "farm_id": tenant.as_str(),
            "rule_id": notice.rule_id,
            "subject": notice.subject,
            "message": notice.text,
            "data": notice.facts,
            "created_at": now,
        })
    });
    let delivery = Delivery {
        delivery_id: delivery_id.clone(),
        tenant_id: tenant.to_string(),
        channel_id: channel.map(|c| c.id.clone()),
        to: to.to_vec(),
        kind,
        event: notice.event.to_string(),
        subject: notice.subject.clone(),
        text: notice.text.clone(),
        body,
    };
    let payload =
        serde_json::to_value(&delivery).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    app.queue
        .enqueue(
            tx,
            NewMessage {
                queue: NOTIFICATIONS,
                tenant: Some(tenant),
                payload: &payload,
                dedupe_key: None,
                max_attempts: Some(app.settings.notification_attempts),
            },
            now,
        )
        .await?;
    Ok(delivery_id)
}

/// The subject of a farm event's notification: what happened and to what.
pub fn event_subject(trigger: Trigger, facts: &Facts) -> String {
    let about: Vec<String> = [
        "job_name",
        "printer_name",
        "sku",
        "order_number",
        "hub_name",
        "task_title",
    ]
    .iter()
    .filter_map(|k| facts.get(*k).map(|v| v.to_string()))
    .collect();
    if about.is_empty() {
        trigger.description().to_string()
    } else {
        format!("{}: {}", trigger.description(), about.join(", "))
    }
}

/// The text of a farm event's notification: its facts, one per line.
pub fn event_text(facts: &Facts) -> String {
    facts
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Queues a farm event to every channel of the farm that takes it; returns how many.
pub async fn event_in(
    app: &App,
    tx: &mut Conn,
    tenant: &TenantId,
    event: &FarmEvent,
    now: &str,
) -> StoreResult<usize> {
    if event.trigger == Trigger::Schedule {
        // A schedule's time is its rule's business, not news for the channels.
        return Ok(0);
    }
    let channels = store::notifications::channels(tx, tenant).await?;
    let mut queued = 0;
    for channel in channels.iter().filter(|c| takes(c, event.trigger.as_str())) {
        let notice = Notice {
            event: event.trigger.as_str(),
            subject: event_subject(event.trigger, &event.facts),
            text: event_text(&event.facts),
            facts: &event.facts,
            rule_id: None,
        };
        to_channel_in(app, tx, tenant, channel, &notice, now).await?;
        queued += 1;
    }
    Ok(queued)
}

/// Why one attempt failed, and whether another may help.
struct Failed {
    error: String,
    response_status: Option<i64>,
    /// Retrying cannot help (the channel is gone): the delivery is dead now.
    hopeless: bool,
}

/// Delivers one claimed notification, recording the attempt in the log.
pub async fn deliver(app: &App, message: &Message, worker: &str) -> Result<(), WorkError> {
    let delivery: Delivery = serde_json::from_str(&message.payload)
        .map_err(|e| WorkError::BadMessage(format!("not a notification: {e}")))?;
    let tenant = TenantId::parse(&delivery.tenant_id)
        .ok_or_else(|| WorkError::BadMessage(format!("bad tenant id '{}'", delivery.tenant_id)))?;
    let sent = send(app, &tenant, &delivery).await;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    match sent {
        Ok(response_status) => {
            let attempt = Attempt {
                status: "sent",
                error: None,
                response_status,
            };
            store::notifications::log_attempt(
                &mut tx,
                &tenant,
                &delivery.delivery_id,
                attempt,
                &now,
            )
            .await?;
            if !app.queue.complete(&mut tx, message, worker, &now).await? {
                tracing::warn!(message_id = %message.id, "claim lost after a notification was sent");
            }
            tx.commit().await.map_err(StoreError::from)?;
            tracing::info!(tenant_id = %tenant, delivery_id = %delivery.delivery_id, kind = delivery.kind.as_str(), "notification sent");
            Ok(())
        }
        Err(failed) => {
            let last = failed.hopeless || message.attempts >= message.max_attempts;
            let attempt = Attempt {
                status: if last { "dead" } else { "failed" },
                error: Some(&failed.error),
                response_status: failed.response_status,
            };
            store::notifications::log_attempt(
                &mut tx,
                &tenant,
                &delivery.delivery_id,
                attempt,
                &now,
            )
            .await?;
            if failed.hopeless {
                // Nothing to retry: the log says why, the message is done.
                app.queue.complete(&mut tx, message, worker, &now).await?;
                tx.commit().await.map_err(StoreError::from)?;
                tracing::warn!(tenant_id = %tenant, delivery_id = %delivery.delivery_id, error = %failed.error, "notification dropped");
                return Ok(());
            }
            tx.commit().await.map_err(StoreError::from)?;
            Err(WorkError::External(failed.error))
        }
    }
}

/// One attempt at sending; the receiver's status when it answered.
async fn send(app: &App, tenant: &TenantId, delivery: &Delivery) -> Result<Option<i64>, Failed> {
    let hopeless = |error: String| Failed {
        error,
        response_status: None,
        hopeless: true,
    };
    let retry = |error: String, status: Option<u16>| Failed {
        error,
        response_status: status.map(i64::from),
        hopeless: false,
    };
    let channel = match &delivery.channel_id {
        None => None,
        Some(id) => {
            let mut conn = app
                .store
                .conn()
                .await
                .map_err(|e| retry(e.to_string(), None))?;
            match store::notifications::channel(&mut conn, tenant, id).await {
                Ok(channel) => Some(channel),
                Err(StoreError::NotFound) => {
                    return Err(hopeless("the channel was deleted".into()));
                }
                Err(other) => return Err(retry(other.to_string(), None)),
            }
        }
    };
    match delivery.kind {
        ChannelKind::Email => {
            let to: Vec<String> = match &channel {
                Some(c) => c.target.split(',').map(|a| a.trim().to_string()).collect(),
                None => delivery.to.clone(),
            };
            let to: Vec<&str> = to
                .iter()
                .map(String::as_str)
                .filter(|a| !a.is_empty())
                .collect();
            if to.is_empty() {
                return Err(hopeless("no recipient".into()));
            }
            app.mailer
                .send_to_all(&to, &delivery.subject, delivery.text.clone())
                .await
                .map(|()| None)
                .map_err(|e| retry(e.to_string(), None))
        }
        ChannelKind::Webhook => {
            let Some(channel) = channel else {
                return Err(hopeless("a webhook needs its channel".into()));
            };
            let open = |field: &str, sealed: &Option<String>| {
                sealed
                    .as_deref()
                    .ok_or_else(|| format!("the channel has no {field}"))
                    .and_then(|s| {
                        app.cipher
                            .open(s, &secret_context(tenant, &channel.id, field))
                            .map_err(|e| format!("the channel's {field} does not open: {e}"))
                    })
            };
            let url = open("url", &channel.target_sealed).map_err(hopeless)?;
            let secret = open("secret", &channel.secret_sealed).map_err(hopeless)?;
            let body = delivery.body.clone().unwrap_or(Value::Null).to_string();
            let post = webhook::Post {
                url: &url,
                secret: &secret,
                event: &delivery.event,
                delivery_id: &delivery.delivery_id,
                body: body.as_bytes(),
            };
            let now = chrono::Utc::now().timestamp();
            match webhook::post(post, app.settings.webhooks_to_private_addresses, now).await {
                Ok(status) => Ok(Some(i64::from(status))),
                // A refused address stays retryable: the server's setting may change.
                Err(e) => Err(retry(e.to_string(), e.status())),
            }
        }
    }
}
