//! Notification channels of a farm (what is sent where) and the log of what was sent.
//! Every function takes the farm first. A webhook's URL and signing secret are stored
//! sealed by the server; this module never opens them.

use crate::{Conn, StoreResult};
use domain::TenantId;
use serde::Serialize;

/// A channel row as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Channel {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub kind: String,
    pub target: String,
    #[serde(skip)]
    pub target_sealed: Option<String>,
    #[serde(skip)]
    pub secret_sealed: Option<String>,
    pub events: String,
    pub is_enabled: i64,
    pub created_at: String,
    pub updated_at: String,
}

const CHANNEL_COLUMNS: &str = "id, tenant_id, name, kind, target, target_sealed, secret_sealed,
    events, is_enabled, created_at, updated_at";

/// Every setting of a channel, complete (the server merges a change with the stored row).
#[derive(Debug, Clone, Default)]
pub struct ChannelFields {
    pub name: String,
    pub kind: String,
    pub target: String,
    pub target_sealed: Option<String>,
    pub secret_sealed: Option<String>,
    pub events: String,
    pub is_enabled: i64,
}

impl From<&Channel> for ChannelFields {
    fn from(c: &Channel) -> Self {
        ChannelFields {
            name: c.name.clone(),
            kind: c.kind.clone(),
            target: c.target.clone(),
            target_sealed: c.target_sealed.clone(),
            secret_sealed: c.secret_sealed.clone(),
            events: c.events.clone(),
            is_enabled: c.is_enabled,
        }
    }
}

/// The farm's channels, by name.
pub async fn channels(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<Channel>> {
    let sql = format!(
        "SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE tenant_id = $1
         ORDER BY name, id"
    );
    Ok(sqlx::query_as::<_, Channel>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .fetch_all(&mut *conn)
        .await?)
}

/// One channel of the farm.
pub async fn channel(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Channel> {
    let sql = format!(
        "SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE tenant_id = $1 AND id = $2"
    );
    Ok(sqlx::query_as::<_, Channel>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?)
}

/// Adds a channel with the id the server chose (its secrets are sealed to it).
pub async fn create_channel(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    fields: &ChannelFields,
    now: &str,
) -> StoreResult<Channel> {
    let sql = format!(
        "INSERT INTO notification_channels (id, tenant_id, name, kind, target, target_sealed,
            secret_sealed, events, is_enabled, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {CHANNEL_COLUMNS}"
    );
    let query = sqlx::query_as::<_, Channel>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(tenant.as_str());
    Ok(bind_channel(query, fields, now)
        .fetch_one(&mut *conn)
        .await?)
}

/// Replaces a channel's settings.
pub async fn update_channel(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    fields: &ChannelFields,
    now: &str,
) -> StoreResult<Channel> {
    let sql = format!(
        "UPDATE notification_channels SET name = $3, kind = $4, target = $5,
            target_sealed = $6, secret_sealed = $7, events = $8, is_enabled = $9,
            updated_at = $10
         WHERE id = $1 AND tenant_id = $2 RETURNING {CHANNEL_COLUMNS}"
    );
    let query = sqlx::query_as::<_, Channel>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(tenant.as_str());
    Ok(bind_channel(query, fields, now)
        .fetch_one(&mut *conn)
        .await?)
}

/// A channel statement being bound.
type ChannelStatement<'q> =
    sqlx::query::QueryAs<'q, sqlx::Any, Channel, <sqlx::Any as sqlx::Database>::Arguments>;

/// Binds a channel's settings and the time, `$3` to `$10` of both the insert and the update.
fn bind_channel<'q>(
    query: ChannelStatement<'q>,
    fields: &'q ChannelFields,
    now: &'q str,
) -> ChannelStatement<'q> {
    query
        .bind(&fields.name)
        .bind(&fields.kind)
        .bind(&fields.target)
        .bind(fields.target_sealed.as_deref())
        .bind(fields.secret_sealed.as_deref())
        .bind(&fields.events)
        .bind(fields.is_enabled)
        .bind(now)
}

/// Deletes a channel (its log lines stay, without it).
pub async fn delete_channel(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM notification_channels WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(crate::StoreError::NotFound);
    }
    Ok(())
}

/// One line of the notification log.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub id: String,
    pub tenant_id: String,
    pub channel_id: Option<String>,
    pub rule_id: Option<String>,
    pub kind: String,
    pub target: String,
    pub event: String,
    pub subject: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub response_status: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    pub sent_at: Option<String>,
}

const DELIVERY_COLUMNS: &str = "id, tenant_id, channel_id, rule_id, kind, target, event, subject,
    status, attempts, last_error, response_status, created_at, updated_at, sent_at";

/// A delivery to log as queued.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    pub channel_id: Option<&'a str>,
    pub rule_id: Option<&'a str>,
    pub kind: &'a str,
    pub target: &'a str,
    pub event: &'a str,
    pub subject: &'a str,
}

/// Logs a delivery as queued; returns its id.
pub async fn log_queued(
    conn: &mut Conn,
    tenant: &TenantId,
    delivery: &NewDelivery<'_>,
    now: &str,
) -> StoreResult<String> {
    let id = crate::new_ordered_id();
    sqlx::query(
        "INSERT INTO notification_log (id, tenant_id, channel_id, rule_id, kind, target, event,
            subject, status, attempts, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 0, $9, $9)",
    )
    .bind(&id)
    .bind(tenant.as_str())
    .bind(delivery.channel_id)
    .bind(delivery.rule_id)
    .bind(delivery.kind)
    .bind(delivery.target)
    .bind(delivery.event)
    .bind(delivery.subject)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// `sent`, `failed` (will be retried) or `dead` (the last attempt failed).
    pub status: &'a str,
    pub error: Option<&'a str>,
    pub response_status: Option<i64>,
}

/// Records an attempt of a delivery.
pub async fn log_attempt(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    attempt: Attempt<'_>,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE notification_log SET status = $3, attempts = attempts + 1, last_error = $4,
            response_status = $5, updated_at = $6,
            sent_at = CASE WHEN $3 = 'sent' THEN $6 ELSE sent_at END
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(attempt.status)
    .bind(attempt.error)
    .bind(attempt.response_status)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks a dead delivery queued again (its dead letter was retried).
pub async fn log_requeued(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE notification_log SET status = 'queued', updated_at = $3
         WHERE tenant_id = $1 AND id = $2 AND status = 'dead'",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Filters of the notification log.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub status: Option<String>,
    pub channel_id: Option<String>,
    pub kind: Option<String>,
}

/// The farm's notification log, newest first, one page, and how many lines match.
pub async fn log(
    conn: &mut Conn,
    tenant: &TenantId,
    query: &DeliveryQuery,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Delivery>, i64)> {
    const FILTER: &str = "tenant_id = $1 AND ($2 IS NULL OR status = $2)
        AND ($3 IS NULL OR channel_id = $3) AND ($4 IS NULL OR kind = $4)";
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM notification_log WHERE {FILTER}
         ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
    );
    let lines = sqlx::query_as::<_, Delivery>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(query.status.as_deref())
        .bind(query.channel_id.as_deref())
        .bind(query.kind.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let count_sql = format!("SELECT COUNT(*) FROM notification_log WHERE {FILTER}");
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count_sql))
        .bind(tenant.as_str())
        .bind(query.status.as_deref())
        .bind(query.channel_id.as_deref())
        .bind(query.kind.as_deref())
        .fetch_one(&mut *conn)
        .await?;
    Ok((lines, total))
}

/// One line of the log.
pub async fn delivery(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Delivery> {
    let sql =
        format!("SELECT {DELIVERY_COLUMNS} FROM notification_log WHERE tenant_id = $1 AND id = $2");
    Ok(sqlx::query_as::<_, Delivery>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?)
}
