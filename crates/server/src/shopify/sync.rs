//! The `shopify-sync` consumer: a verified webhook delivery becomes an order (or cancels
//! one), a sync run takes the shop's orders one page per message (the next page is queued
//! in the same transaction, so a run survives a restart where it stopped), and a fulfilled
//! order is pushed back. Calls to Shopify happen outside any transaction; every run is
//! written to `sync_logs`.

use super::{Connection, SHOPIFY_SYNC, SyncMessage};
use crate::app::App;
use crate::farm::orders::{LineRequest, OrderRequest, Taken};
use crate::queue::NewMessage;
use crate::workers::WorkError;
use domain::TenantId;
use domain::orders::Platform;
use shopify::OrderIn;
use store::integrations::NewSyncLog;
use store::orders::OrderFields;
use store::queue::Message;
use store::{Conn, StoreError};

/// Orders asked for per page of a sync run.
const PAGE_SIZE: u32 = 50;

/// What handling a message leaves to do after its transaction commits.
#[derive(Default)]
struct AfterCommit {
    /// Orders taken (their `new_order` messages and the dispatcher's wake-up).
    taken: Vec<Taken>,
    /// More work was queued.
    queued: bool,
}

/// Handles one claimed message.
pub async fn handle(app: &App, message: &Message, worker: &str) -> Result<(), WorkError> {
    let work: SyncMessage = serde_json::from_str(&message.payload)
        .map_err(|e| WorkError::BadMessage(format!("not Shopify work: {e}")))?;
    let tenant = message
        .tenant_id
        .as_deref()
        .and_then(TenantId::parse)
        .ok_or_else(|| WorkError::BadMessage("Shopify work names no farm".into()))?;
    let mut conn = app.store.conn().await?;
    let shop = super::connection(app, &mut conn, &tenant)
        .await
        .map_err(|e| WorkError::BadMessage(format!("the shop's credentials: {e}")))?;
    drop(conn);
    let now = store::now_text();
    let mut after = AfterCommit::default();
    // What Shopify answers is fetched before the transaction opens.
    let fetched = match (&work, &shop) {
        (SyncMessage::Page { cursor, since, .. }, Some(shop)) => {
            Some(fetch_page(app, shop, cursor.as_deref(), since.as_deref()).await?)
        }
        _ => None,
    };
    let pushed = match (&work, &shop) {
        (SyncMessage::Fulfil { order_id }, Some(shop)) => {
            push_fulfilment(app, &tenant, shop, order_id).await?
        }
        _ => None,
    };
    let mut tx = app.store.begin().await?;
    match (&work, &shop) {
        (_, None) => {
            // Disconnected since it was queued: nothing to do with it.
            log(
                &mut tx,
                &tenant,
                "SYNC",
                None,
                "SKIPPED",
                Some("the shop is not connected"),
                &now,
            )
            .await?;
        }
        (
            SyncMessage::Webhook {
                topic,
                delivery_id,
                body,
            },
            Some(shop),
        ) => {
            let order = OrderIn::from_webhook(body.as_bytes())
                .map_err(|e| WorkError::BadMessage(format!("delivery {delivery_id}: {e}")))?;
            let cancelled = topic == "orders/cancelled";
            take_in(
                app, &mut tx, &tenant, shop, &order, cancelled, &now, &mut after,
            )
            .await?;
        }
        (
            SyncMessage::Page {
                run_id,
                since,
                page,
                taken,
                ..
            },
            Some(shop),
        ) => {
            let fetched = fetched.ok_or_else(|| WorkError::BadMessage("no page".into()))?;
            for order in &fetched.orders {
                take_in(
                    app,
                    &mut tx,
                    &tenant,
                    shop,
                    order,
                    order.cancelled,
                    &now,
                    &mut after,
                )
                .await?;
            }
            for rejected in &fetched.rejected {
                let why = format!("{}: {}", rejected.name, rejected.reason);
                log(
                    &mut tx,
                    &tenant,
                    "ERROR",
                    Some(&rejected.gid),
                    "SKIPPED",
                    Some(&why),
                    &now,
                )
                .await?;
            }
            let taken = taken + fetched.orders.len() as u32;
            match fetched.next_cursor {
                Some(cursor) => {
                    let next = SyncMessage::Page {
                        run_id: run_id.clone(),
                        since: since.clone(),
                        cursor: Some(cursor),
                        page: page + 1,
                        taken,
                    };
                    enqueue(app, &mut tx, &tenant, &next, &now).await?;
                    after.queued = true;
                }
                None => {
                    let done = format!(
                        "sync run {run_id}: {taken} order(s) in {} page(s)",
                        page + 1
                    );
                    log(
                        &mut tx,
                        &tenant,
                        "SYNC",
                        Some(run_id),
                        "SUCCESS",
                        Some(&done),
                        &now,
                    )
                    .await?;
                    store::integrations::record_run(&mut tx, &shop.integration.id, None, &now)
                        .await?;
                }
            }
        }
        (SyncMessage::Fulfil { order_id }, Some(_)) => {
            if let Some(outcome) = pushed {
                log(
                    &mut tx,
                    &tenant,
                    "UPDATE",
                    Some(order_id),
                    "SUCCESS",
                    Some(&outcome),
                    &now,
                )
                .await?;
            }
        }
    }
    if !app.queue.complete(&mut tx, message, worker, &now).await? {
        tracing::warn!(message_id = %message.id, "claim lost before the Shopify work was done");
        return Ok(());
    }
    tx.commit().await.map_err(StoreError::from)?;
    for taken in &after.taken {
        app.farm.order_taken(&tenant, taken);
    }
    if after.queued {
        app.background.work_queued();
    }
    Ok(())
}

/// Logs one run.
async fn log(
    tx: &mut Conn,
    tenant: &TenantId,
    operation: &str,
    record: Option<&str>,
    status: &str,
    message: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    store::integrations::log(
        tx,
        tenant,
        NewSyncLog {
            operation,
            table: "orders",
            record,
            status,
            message,
        },
        now,
    )
    .await
}

/// Queues more Shopify work in `tx`.
async fn enqueue(
    app: &App,
    tx: &mut Conn,
    tenant: &TenantId,
    work: &SyncMessage,
    now: &str,
) -> Result<(), WorkError> {
    let payload = serde_json::to_value(work).map_err(|e| WorkError::BadMessage(e.to_string()))?;
    let message = NewMessage {
        queue: SHOPIFY_SYNC,
        tenant: Some(tenant),
        payload: &payload,
        dedupe_key: None,
        max_attempts: None,
    };
    app.queue.enqueue(tx, message, now).await?;
    Ok(())
}

/// Queues the push of a fulfilled Shopify order in `tx` (the farm's fulfilment calls it).
pub async fn queue_fulfilment(
    app_queue: &dyn crate::queue::DurableQueue,
    tx: &mut Conn,
    tenant: &TenantId,
    order_id: &str,
    now: &str,
) -> Result<(), StoreError> {
    let payload = serde_json::to_value(SyncMessage::Fulfil {
        order_id: order_id.to_string(),
    })
    .unwrap_or_default();
    let dedupe = format!("fulfil:{order_id}");
    let message = NewMessage {
        queue: SHOPIFY_SYNC,
        tenant: Some(tenant),
        payload: &payload,
        dedupe_key: Some(&dedupe),
        max_attempts: None,
    };
    app_queue.enqueue(tx, message, now).await?;
    Ok(())
}

/// One page of the shop's orders; a failure is recorded on the integration and retried.
async fn fetch_page(
    app: &App,
    shop: &Connection,
    cursor: Option<&str>,
    since: Option<&str>,
) -> Result<shopify::admin::OrdersPage, WorkError> {
    let result = match shop.client(app) {
        Ok(client) => client.orders_page(cursor, since, PAGE_SIZE).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(page) => Ok(page),
        Err(e) => Err(shopify_failed(app, shop, e).await),
    }
}

/// Records a failed Shopify call on the integration and in the log; the message is retried
/// with backoff (a dead letter after its last try).
async fn shopify_failed(app: &App, shop: &Connection, err: shopify::ShopifyError) -> WorkError {
    let message = format!("Shopify: {err}");
    let now = store::now_text();
    let recorded = async {
        let mut tx = app.store.begin().await?;
        store::integrations::record_run(&mut tx, &shop.integration.id, Some(&message), &now)
            .await?;
        let tenant = TenantId::from_stored(shop.integration.tenant_id.clone());
        log(
            &mut tx,
            &tenant,
            "ERROR",
            None,
            "FAILED",
            Some(&message),
            &now,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, StoreError>(())
    };
    if let Err(e) = recorded.await {
        tracing::warn!(error = %e, "a Shopify failure could not be recorded");
    }
    WorkError::External(message)
}

/// Pushes an order's fulfilment to the shop; what it did, or `None` when there is nothing
/// to push (not a Shopify order, or pushing is off).
async fn push_fulfilment(
    app: &App,
    tenant: &TenantId,
    shop: &Connection,
    order_id: &str,
) -> Result<Option<String>, WorkError> {
    if !shop.settings.push_fulfilment {
        return Ok(None);
    }
    let mut conn = app.store.conn().await?;
    let order = match store::orders::get(&mut conn, tenant, order_id).await {
        Ok(order) => order,
        Err(StoreError::NotFound) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    drop(conn);
    let Some(external) = order
        .external_id
        .as_deref()
        .filter(|_| order.platform == Platform::Shopify)
    else {
        return Ok(None);
    };
    let tracking = order
        .tracking_number
        .as_ref()
        .map(|number| shopify::admin::Tracking {
            number: Some(number.clone()),
            url: order.tracking_url.clone(),
            company: None,
        });
    let gid = format!("gid://shopify/Order/{external}");
    let pushed = match shop.client(app) {
        Ok(client) => {
            client
                .fulfil(&gid, tracking, shop.settings.notify_customer)
                .await
        }
        Err(e) => Err(e),
    };
    let done = match pushed {
        Ok(done) => done,
        Err(e) => return Err(shopify_failed(app, shop, e).await),
    };
    tracing::info!(tenant_id = %tenant, %order_id, fulfilments = done.fulfillment_ids.len(), "fulfilment pushed to Shopify");
    Ok(Some(if done.already_fulfilled {
        format!("{} was fulfilled in Shopify already", order.order_number)
    } else {
        format!(
            "{} fulfilled in Shopify ({} fulfilment(s))",
            order.order_number,
            done.fulfillment_ids.len()
        )
    }))
}

/// Takes one Shopify order into the farm: a new one becomes an order (its jobs queued for
/// what stock can't cover); one seen before is cancelled when Shopify cancelled it, and
/// otherwise left as it is (the farm's own changes win).
#[allow(clippy::too_many_arguments)]
async fn take_in(
    app: &App,
    tx: &mut Conn,
    tenant: &TenantId,
    shop: &Connection,
    order: &OrderIn,
    cancelled: bool,
    now: &str,
    after: &mut AfterCommit,
) -> Result<(), WorkError> {
    let created = domain::time::format(order.created_at);
    let first = store::integrations::claim_shopify_order(
        tx,
        tenant,
        &order.external_id,
        &order.name,
        Some(&created),
        now,
    )
    .await?;
    let local =
        store::orders::by_external_id(tx, tenant, Platform::Shopify, &order.external_id).await?;
    match (local, cancelled) {
        (Some(local), true) => {
            if local
                .status
                .may_become(domain::orders::OrderStatus::Cancelled)
                && local.status != domain::orders::OrderStatus::Cancelled
            {
                app.farm.cancel_in(tx, tenant, &local, None, now).await?;
                log(
                    tx,
                    tenant,
                    "UPDATE",
                    Some(&local.id),
                    "SUCCESS",
                    Some("cancelled in Shopify"),
                    now,
                )
                .await?;
            }
        }
        (Some(local), false) => {
            let why = format!("{} seen again: the farm's order stands", order.name);
            log(
                tx,
                tenant,
                "UPDATE",
                Some(&local.id),
                "SKIPPED",
                Some(&why),
                now,
            )
            .await?;
        }
        (None, true) => {
            store::integrations::settle_shopify_order(
                tx,
                tenant,
                &order.external_id,
                None,
                "skipped",
                Some("cancelled before it was taken"),
                now,
            )
            .await?;
        }
        (None, false) => {
            if !first {
                tracing::info!(tenant_id = %tenant, order = %order.name, "Shopify order taken again after an earlier skip");
            }
            let taken = app
                .farm
                .take_order_in(tx, tenant, request_of(order, &shop.settings), now)
                .await?;
            let id = taken.view.order.id.clone();
            store::integrations::settle_shopify_order(
                tx,
                tenant,
                &order.external_id,
                Some(&id),
                "synced",
                None,
                now,
            )
            .await?;
            let unmatched = taken.view.items.iter().filter(|i| !i.matched).count();
            let what = format!(
                "{} became {} ({} line(s), {} unmatched, {} job(s) queued)",
                order.name,
                taken.view.order.order_number,
                taken.view.items.len(),
                unmatched,
                taken.queued.len()
            );
            log(tx, tenant, "INSERT", Some(&id), "SUCCESS", Some(&what), now).await?;
            after.taken.push(taken);
        }
    }
    Ok(())
}

/// The farm's order request for a Shopify order.
pub fn request_of(order: &OrderIn, settings: &super::ShopSettings) -> OrderRequest {
    let address = order.shipping_address.as_ref();
    let street = address.map(|a| {
        [a.address1.as_deref(), a.address2.as_deref()]
            .into_iter()
            .flatten()
            .filter(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    });
    let customer_name = order
        .customer_name
        .clone()
        .or_else(|| address.and_then(|a| a.name.clone()))
        .or_else(|| order.customer_email.clone())
        .unwrap_or_else(|| format!("Shopify customer ({})", order.name));
    let lines = order
        .lines
        .iter()
        .map(|line| LineRequest {
            sku_id: None,
            sku: line.sku.clone(),
            product_name: Some(match &line.variant_title {
                Some(variant) if !variant.is_empty() => format!("{} ({variant})", line.title),
                _ => line.title.clone(),
            }),
            quantity: i64::from(line.quantity),
            unit_price: Some(line.unit_price_cents),
            notes: None,
        })
        .collect();
    OrderRequest {
        platform: Platform::Shopify,
        fields: OrderFields {
            customer_name,
            customer_email: order.customer_email.clone(),
            customer_phone: order.customer_phone.clone(),
            order_date: domain::time::format(order.created_at),
            shipping_cost: order.shipping_cents,
            tax_amount: order.tax_cents,
            discount_amount: order.discount_cents,
            shipping_street: street.filter(|s| !s.is_empty()),
            shipping_city: address.and_then(|a| a.city.clone()),
            shipping_state: address.and_then(|a| a.province.clone()),
            shipping_zip: address.and_then(|a| a.zip.clone()),
            shipping_country: address.and_then(|a| a.country.clone()),
            tracking_number: None,
            tracking_url: None,
            notes: order.note.clone(),
            priority: settings.order_priority,
            auto_fulfill: settings.auto_fulfill,
        },
        external_id: Some(order.external_id.clone()),
        external_data: Some(
            serde_json::json!({ "name": order.name, "gid": order.gid, "currency": order.currency,
                "total_cents": order.total_cents })
            .to_string(),
        ),
        lines,
        total: Some(order.total_cents),
    }
}
