//! Shopify's webhooks, `/webhooks/shopify/{tenant_id}/orders/{create,updated,cancelled}`:
//! the signature of the raw body is checked (HMAC-SHA256 with the farm's app secret,
//! constant time) before anything is parsed; a delivery seen before (`X-Shopify-Webhook-Id`)
//! is answered 200 at once and changes nothing; a new one is stored and queued in one
//! transaction and answered 200 — the order is made by the worker, so Shopify never waits
//! on it.

use super::{PLATFORM, SHOPIFY_SYNC, SyncMessage};
use crate::app::App;
use crate::envelope::{ApiResult, Envelope};
use crate::error::ApiError;
use crate::queue::NewMessage;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use domain::TenantId;
use serde_json::{Value, json};
use shopify::webhook::Topic;

/// The refusal of a delivery whose signature does not match: nothing is read or kept.
fn forged() -> ApiError {
    ApiError::Unauthorized {
        code: "INVALID_SIGNATURE",
        message: "the X-Shopify-Hmac-Sha256 signature does not match the body".into(),
    }
}

/// POST /webhooks/shopify/{tenant_id}/orders/create — a new order in the shop.
pub async fn order_webhook_create(
    State(app): State<App>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Value> {
    take(&app, &tenant, Topic::OrdersCreate, &headers, body).await
}

/// POST /webhooks/shopify/{tenant_id}/orders/updated — an order changed in the shop.
pub async fn order_webhook_updated(
    State(app): State<App>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Value> {
    take(&app, &tenant, Topic::OrdersUpdated, &headers, body).await
}

/// POST /webhooks/shopify/{tenant_id}/orders/cancelled — an order cancelled in the shop.
pub async fn order_webhook_cancelled(
    State(app): State<App>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Value> {
    take(&app, &tenant, Topic::OrdersCancelled, &headers, body).await
}

/// Takes one delivery of `topic` for the farm `tenant`.
async fn take(
    app: &App,
    tenant: &str,
    topic: Topic,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult<Value> {
    let not_connected = || ApiError::not_found("INTEGRATION_NOT_FOUND", "connected Shopify store");
    let tenant = TenantId::parse(tenant).ok_or_else(not_connected)?;
    let mut conn = app.store.conn().await?;
    let shop = super::connection(app, &mut conn, &tenant)
        .await?
        .ok_or_else(not_connected)?;
    drop(conn);
    let signature = headers
        .get(shopify::webhook::HMAC_HEADER)
        .and_then(|h| h.to_str().ok())
        .ok_or_else(forged)?;
    if !shopify::webhook::verify(shop.credentials.webhook_secret.as_bytes(), &body, signature) {
        tracing::warn!(tenant_id = %tenant, topic = topic.as_str(), "webhook with a bad signature refused");
        return Err(forged());
    }
    let delivery = shopify::webhook::Delivery::from_headers(headers)
        .map_err(|e| ApiError::field("headers", e.to_string()))?;
    if delivery.topic != topic {
        return Err(ApiError::field(
            "X-Shopify-Topic",
            format!(
                "the delivery is {} but was sent to the {} address",
                delivery.topic.as_str(),
                topic.as_str()
            ),
        ));
    }
    // Signed but not an order: refused here, so the queue only holds what the worker reads.
    let order = shopify::OrderIn::from_webhook(&body)
        .map_err(|e| ApiError::field("body", format!("not a Shopify order: {e}")))?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let new = store::integrations::take_delivery(
        &mut tx,
        &tenant,
        PLATFORM,
        &delivery.webhook_id,
        topic.as_str(),
        &now,
    )
    .await?;
    if new {
        let body = String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::field("body", "the body is not UTF-8"))?;
        let payload = serde_json::to_value(SyncMessage::Webhook {
            topic: topic.as_str().into(),
            delivery_id: delivery.webhook_id.clone(),
            body,
        })
        .map_err(|e| ApiError::Internal(e.into()))?;
        let dedupe = format!("webhook:{}", delivery.webhook_id);
        let message = NewMessage {
            queue: SHOPIFY_SYNC,
            tenant: Some(&tenant),
            payload: &payload,
            dedupe_key: Some(&dedupe),
            max_attempts: None,
        };
        app.queue.enqueue(&mut tx, message, &now).await?;
    }
    tx.commit().await?;
    if new {
        app.background.work_queued();
        tracing::info!(tenant_id = %tenant, topic = topic.as_str(), order = %order.name, delivery = %delivery.webhook_id, "webhook taken");
    }
    Ok(Envelope::ok(
        json!({ "received": true, "duplicate": !new, "topic": topic.as_str() }),
    ))
}

/// GET /webhooks/health — whether webhook intake works: the database answers, and how
/// much Shopify work waits.
pub async fn health(State(app): State<App>) -> ApiResult<Value> {
    let waiting = app.queue.due_or_running(SHOPIFY_SYNC).await?;
    Ok(Envelope::ok(json!({ "status": "ok", "queued": waiting })))
}
