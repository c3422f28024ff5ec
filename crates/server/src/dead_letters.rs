//! The dead-letter view: background messages that used their last attempt, for a farm's
//! admins to read, retry or purge.

use crate::app::App;
use crate::audit::Change;
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope};
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiPath, ApiQuery, ClientInfo};
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use store::queue::DeadLetter;

/// Filter by queue.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueueFilter {
    queue: Option<String>,
}

/// A dead letter with its payload as JSON.
fn view(letter: DeadLetter) -> Value {
    let payload: Value = serde_json::from_str(&letter.original_message)
        .unwrap_or(Value::String(letter.original_message.clone()));
    let mut value = json!(letter);
    value["payload"] = payload;
    value
}

/// GET /api/v1/admin/dlq — the farm's dead letters, newest first (filter: queue).
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Admin>,
    ApiQuery(q): ApiQuery<QueueFilter>,
) -> ApiResult<Vec<Value>> {
    let mut conn = app.store.conn().await?;
    let queue = q.queue.filter(|q| !q.is_empty());
    let letters = store::queue::dead_letters(&mut conn, &member.tenant, queue.as_deref()).await?;
    Ok(Envelope::all(letters.into_iter().map(view).collect()))
}

/// GET /api/v1/admin/dlq/stats — dead letters per queue.
pub async fn stats(State(app): State<App>, member: Member<roles::Admin>) -> ApiResult<Value> {
    let mut conn = app.store.conn().await?;
    let counts = store::queue::dead_letter_counts(&mut conn, &member.tenant).await?;
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let by_queue: serde_json::Map<String, Value> =
        counts.into_iter().map(|(q, n)| (q, json!(n))).collect();
    Ok(Envelope::ok(
        json!({ "total": total, "by_queue": by_queue }),
    ))
}

/// GET /api/v1/admin/dlq/{message_id} — one dead letter.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Admin>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let mut conn = app.store.conn().await?;
    let letter = store::queue::dead_letter(&mut conn, &member.tenant, &id)
        .await
        .or_not_found("MESSAGE_NOT_FOUND", "dead letter")?;
    Ok(Envelope::ok(view(letter)))
}

/// DELETE /api/v1/admin/dlq/{message_id} — forgets a dead letter.
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let mut tx = app.store.begin().await?;
    store::queue::delete_dead_letter(&mut tx, &member.tenant, &id)
        .await
        .or_not_found("MESSAGE_NOT_FOUND", "dead letter")?;
    let change = Change {
        action: "dead_letter.deleted",
        table: "dead_letter_messages",
        record: &id,
        ..Change::default()
    };
    member
        .audit(&mut tx, &client, change, &store::now_text())
        .await?;
    tx.commit().await?;
    Ok(Envelope::ok(json!({ "deleted": id })))
}

/// POST /api/v1/admin/dlq/{message_id}/retry — puts a dead letter back on its queue.
pub async fn retry(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    store::queue::retry_dead_letter(&mut tx, &member.tenant, &id, &now)
        .await
        .or_not_found("MESSAGE_NOT_FOUND", "dead letter")?;
    let change = Change {
        action: "dead_letter.retried",
        table: "dead_letter_messages",
        record: &id,
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    app.background.work_queued();
    Ok(Envelope::ok(json!({ "retried": id })))
}

/// Applies `each` to every dead letter of the farm (of one queue if named), in one transaction.
async fn every(
    app: &App,
    member: &Member<roles::Admin>,
    client: &ClientInfo,
    queue: Option<String>,
    retry: bool,
) -> Result<usize, ApiError> {
    let now = store::now_text();
    let queue = queue.filter(|q| !q.is_empty());
    let mut tx = app.store.begin().await?;
    let ids = store::queue::dead_letter_ids(&mut tx, &member.tenant, queue.as_deref()).await?;
    for id in &ids {
        if retry {
            store::queue::retry_dead_letter(&mut tx, &member.tenant, id, &now).await?;
        } else {
            store::queue::delete_dead_letter(&mut tx, &member.tenant, id).await?;
        }
    }
    let change = Change {
        action: if retry {
            "dead_letters.retried"
        } else {
            "dead_letters.purged"
        },
        table: "dead_letter_messages",
        record: queue.as_deref().unwrap_or("*"),
        old: Some(json!({ "queue": queue, "messages": ids.len() })),
        ..Change::default()
    };
    member.audit(&mut tx, client, change, &now).await?;
    tx.commit().await?;
    if retry {
        app.background.work_queued();
    }
    Ok(ids.len())
}

/// POST /api/v1/admin/dlq/retry-all — puts every dead letter (of `?queue=`) back on its queue.
pub async fn retry_all(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiQuery(q): ApiQuery<QueueFilter>,
) -> ApiResult<Value> {
    let retried = every(&app, &member, &client, q.queue, true).await?;
    Ok(Envelope::ok(json!({ "retried": retried })))
}

/// POST /api/v1/admin/dlq/purge — deletes every dead letter (of `?queue=`).
pub async fn purge(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiQuery(q): ApiQuery<QueueFilter>,
) -> ApiResult<Value> {
    let purged = every(&app, &member, &client, q.queue, false).await?;
    Ok(Envelope::ok(json!({ "purged": purged })))
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::Param;
    use axum::http::Method as M;
    use domain::Role;
    crate::api::Routes::new()
        .add(
            M::GET,
            "/api/v1/admin/dlq",
            Member(Role::Admin),
            "Dead letters: background messages that used their last attempt (filter: queue)",
            list,
        )
        .query(&[("queue", Param::Text)])
        .add(
            M::GET,
            "/api/v1/admin/dlq/stats",
            Member(Role::Admin),
            "Dead letters per queue",
            stats,
        )
        .add(
            M::POST,
            "/api/v1/admin/dlq/retry-all",
            Member(Role::Admin),
            "Put every dead letter (of ?queue=) back on its queue",
            retry_all,
        )
        .query(&[("queue", Param::Text)])
        .add(
            M::POST,
            "/api/v1/admin/dlq/purge",
            Member(Role::Admin),
            "Delete every dead letter (of ?queue=)",
            purge,
        )
        .query(&[("queue", Param::Text)])
        .add(
            M::GET,
            "/api/v1/admin/dlq/{message_id}",
            Member(Role::Admin),
            "One dead letter",
            get_one,
        )
        .add(
            M::DELETE,
            "/api/v1/admin/dlq/{message_id}",
            Member(Role::Admin),
            "Delete a dead letter",
            delete,
        )
        .add(
            M::POST,
            "/api/v1/admin/dlq/{message_id}/retry",
            Member(Role::Admin),
            "Put a dead letter back on its queue",
            retry,
        )
}
