//! Orders: taking one (its lines matched to the farm's SKUs), sharing each SKU's stock out
//! among the open lines oldest order first (`domain::orders::share_stock`), queueing the
//! prints that cover a shortfall (linked to the line, so no other order counts them),
//! fulfilling from stock, and cancelling. Every path that changes stock or lines shares
//! the SKU out again inside its transaction, under the SKU's finished-good row lock, so
//! two orders short on one SKU are planned one after the other and never both count the
//! same units.

use super::error::OrMissing;
use super::{Farm, FarmError, FarmResult};
use crate::audit::{Actor, Change};
use domain::TenantId;
use domain::jobs::JobStatus;
use domain::orders::{Cover, LineStatus, Need, OrderStatus, Platform};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use store::catalogue::SkuForPrint;
use store::jobs::Job;
use store::orders::{NewItem, NewOrder, Order, OrderFields, OrderItem};
use store::{Conn, StoreError};

/// One line of an order as asked for: a SKU by id or by code, how many, at what price.
#[derive(Debug, Clone, Default)]
pub struct LineRequest {
    /// The farm's SKU id, when the sender knows it.
    pub sku_id: Option<String>,
    /// The SKU code (matched exactly, then loosely: `domain::orders::normalise_sku`).
    pub sku: Option<String>,
    /// What the customer bought (the SKU's product and colour when not given).
    pub product_name: Option<String>,
    /// Units bought.
    pub quantity: i64,
    /// Cents per unit (the SKU's price when not given).
    pub unit_price: Option<i64>,
    /// A note on the line.
    pub notes: Option<String>,
}

/// An order as asked for.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    /// Where it came from.
    pub platform: Platform,
    /// Its customer, shipping and settings.
    pub fields: OrderFields,
    /// The platform's own id.
    pub external_id: Option<String>,
    /// The platform's payload (JSON).
    pub external_data: Option<String>,
    /// Its lines.
    pub lines: Vec<LineRequest>,
    /// Its total in cents when the platform says it (else lines, shipping and tax less
    /// the discount).
    pub total: Option<i64>,
}

/// An order line with how the farm's stock and prints cover it.
#[derive(Debug, Clone, Serialize)]
pub struct CoveredItem {
    /// The line.
    #[serde(flatten)]
    pub item: OrderItem,
    /// Whether it was matched to a SKU of the farm (an unmatched line is kept, flagged).
    pub matched: bool,
    /// Units still to send.
    pub remaining: i64,
    /// How stock and its own prints cover what remains (zero for a closed line).
    pub cover: Cover,
    /// Whether stock alone fills what remains (it can be fulfilled now).
    pub ready: bool,
}

/// An order with its lines covered, and the jobs queued for it.
#[derive(Debug, Clone, Serialize)]
pub struct OrderView {
    /// The order.
    #[serde(flatten)]
    pub order: Order,
    /// Its lines.
    pub items: Vec<CoveredItem>,
    /// Units on all its lines.
    pub total_items: i64,
}

/// What taking an order did.
#[derive(Debug, Clone)]
pub struct Taken {
    /// The order as it stands.
    pub view: OrderView,
    /// The print jobs queued to cover its shortfall.
    pub queued: Vec<Job>,
    /// SKU codes short on stock that name no print file (nothing could be queued).
    pub unprintable: Vec<String>,
}

/// What cancelling an order did to its jobs.
#[derive(Debug, Clone, Serialize)]
pub struct Cancelled {
    /// The order, cancelled.
    pub order: Order,
    /// Its queued jobs, now cancelled.
    pub jobs_cancelled: Vec<String>,
    /// Its jobs already on a printer, left to finish (their prints go to stock).
    pub jobs_left: Vec<LeftJob>,
}

/// A job an order's cancelling left alone.
#[derive(Debug, Clone, Serialize)]
pub struct LeftJob {
    /// The job.
    pub id: String,
    /// Its status.
    pub status: JobStatus,
    /// Its printer.
    pub printer_id: Option<String>,
}

/// What sharing a SKU's stock out found and did.
#[derive(Debug, Default)]
struct Shared {
    /// Jobs queued for shortfalls.
    queued: Vec<Job>,
    /// Orders whose line of the SKU stock alone now fills.
    ready_orders: BTreeSet<String>,
    /// The SKU was short and names no print file.
    unprintable: Option<String>,
    /// How each open line of the SKU is covered now (its new prints counted), by line id.
    covers: HashMap<String, Cover>,
}

/// How the store's errors about an order read.
fn order_missing<T>(result: Result<T, StoreError>) -> FarmResult<T> {
    result.or_missing("ORDER_NOT_FOUND", "order")
}

/// The refusal of a fulfilment: the lines stock can't fill, with what is there.
fn short_on_stock(short: Vec<serde_json::Value>) -> FarmError {
    let what: Vec<String> = short
        .iter()
        .map(|s| {
            format!(
                "{} (needs {}, {} in stock)",
                s["sku"].as_str().unwrap_or("?"),
                s["needed"],
                s["available"]
            )
        })
        .collect();
    FarmError::Blocked {
        code: "INSUFFICIENT_STOCK",
        message: format!("not enough stock: {}", what.join(", ")),
        details: json!({ "short": short }),
    }
}

impl Farm {
    /// Takes an order: its lines matched to SKUs (exact code, then loose), its number drawn,
    /// and for every SKU short on stock the prints that cover the shortfall queued for its
    /// line, all in one transaction. `new_order` goes to the farm's dashboards.
    pub async fn take_order(
        &self,
        tenant: &TenantId,
        asked: OrderRequest,
        actor: Option<&Actor>,
    ) -> FarmResult<Taken> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let taken = self.take_order_in(&mut tx, tenant, asked, &now).await?;
        if let Some(actor) = actor {
            let change = Change {
                action: "order.created",
                table: "orders",
                record: &taken.view.order.id,
                new: Some(json!({ "order_number": taken.view.order.order_number,
                    "lines": taken.view.items.len(), "jobs_queued": taken.queued.len() })),
                ..Change::default()
            };
            actor.record(&mut tx, change, &now).await?;
        }
        tx.commit().await?;
        self.order_taken(tenant, &taken);
        Ok(taken)
    }

    /// Tells the dashboards of a new order, and the dispatcher of its jobs.
    pub fn order_taken(&self, tenant: &TenantId, taken: &Taken) {
        let order = &taken.view.order;
        self.realtime.publish(
            tenant,
            proto::dashboard::ServerMessage::NewOrder {
                order_id: order.id.clone(),
                order_number: order.order_number.clone(),
                platform: order.platform.to_string(),
                total_items: taken.view.total_items,
            },
        );
        if !taken.queued.is_empty() {
            self.wake_dispatcher(tenant);
        }
        tracing::info!(tenant_id = %tenant, order_id = %order.id, order_number = %order.order_number,
            lines = taken.view.items.len(), jobs = taken.queued.len(), "order taken");
    }

    /// [`Farm::take_order`] inside the caller's transaction (the Shopify intake's).
    pub async fn take_order_in(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        asked: OrderRequest,
        now: &str,
    ) -> FarmResult<Taken> {
        let mut codes: Option<Vec<(String, String)>> = None;
        let mut items = Vec::with_capacity(asked.lines.len());
        for line in &asked.lines {
            let sku = match_sku(tx, tenant, line, &mut codes).await?;
            let good = match &sku {
                Some(sku) => {
                    Some(store::finished_goods::of_sku_or_start(tx, tenant, &sku.id, now).await?)
                }
                None => None,
            };
            items.push(NewItem {
                product_sku_id: sku.as_ref().map(|s| s.id.clone()),
                finished_good_id: good.map(|g| g.id),
                sku: sku
                    .as_ref()
                    .map(|s| s.sku.clone())
                    .or_else(|| line.sku.clone())
                    .unwrap_or_default(),
                product_name: line
                    .product_name
                    .clone()
                    .or_else(|| {
                        sku.as_ref()
                            .map(|s| format!("{} ({})", s.product_name, s.color))
                    })
                    .unwrap_or_else(|| "Unknown item".into()),
                quantity: line.quantity,
                unit_price: line
                    .unit_price
                    .or_else(|| sku.as_ref().and_then(|s| s.price))
                    .unwrap_or(0),
                notes: line.notes.clone().or_else(|| {
                    sku.is_none()
                        .then(|| "no SKU of the farm has this code: match it by hand".into())
                }),
            });
        }
        let new = NewOrder {
            platform: asked.platform,
            fields: asked.fields,
            external_id: asked.external_id,
            external_data: asked.external_data,
            total: asked.total,
            items,
        };
        let (order, items) = store::orders::create(tx, tenant, &new, now).await?;
        crate::automation::happened_in(
            &*self.queue,
            tx,
            tenant,
            domain::automation::Trigger::OrderReceived,
            &order.id,
            crate::automation::order_facts(&order, items.len()),
            now,
        )
        .await?;
        let skus: BTreeSet<String> = new
            .items
            .iter()
            .filter_map(|i| i.product_sku_id.clone())
            .collect();
        let mut queued = Vec::new();
        let mut unprintable = Vec::new();
        let mut covers = HashMap::new();
        for sku in &skus {
            let shared = self.share_sku(tx, tenant, sku, now).await?;
            queued.extend(shared.queued);
            unprintable.extend(shared.unprintable);
            covers.extend(shared.covers);
        }
        // The covers just worked out are the view's (its status may have moved with them).
        let order = store::orders::get(tx, tenant, &order.id).await?;
        let mut view = view_of(order.clone(), items, &covers);
        // Stock covers it all at once: an order that fulfils itself does so now.
        if order.auto_fulfill == 1 && all_ready(&view) {
            self.fulfil_in(tx, tenant, &order, None, now).await?;
            view = self.order_view_in(tx, tenant, &order.id).await?;
        }
        Ok(Taken {
            view,
            queued,
            unprintable,
        })
    }

    /// An order with its lines covered by stock and prints.
    pub async fn order_view(&self, tenant: &TenantId, id: &str) -> FarmResult<OrderView> {
        let mut conn = self.store.conn().await?;
        self.order_view_in(&mut conn, tenant, id).await
    }

    /// [`Farm::order_view`] on the caller's connection.
    pub async fn order_view_in(
        &self,
        conn: &mut Conn,
        tenant: &TenantId,
        id: &str,
    ) -> FarmResult<OrderView> {
        let order = order_missing(store::orders::get(conn, tenant, id).await)?;
        let items = store::orders::items(conn, tenant, id).await?;
        let covers = covers_of(conn, tenant, &items).await?;
        Ok(view_of(order, items, &covers))
    }

    /// Shares SKU `sku_id`'s stock out among its open lines, oldest order first, and queues
    /// the prints each line's shortfall needs (linked to the line). Holds the SKU's good
    /// row until the caller's transaction ends.
    async fn share_sku(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        sku_id: &str,
        now: &str,
    ) -> FarmResult<Shared> {
        let sku = match store::catalogue::sku_for_print(tx, tenant, sku_id).await {
            Ok(sku) => sku,
            // The SKU was deleted meanwhile: its lines stay unmatched.
            Err(StoreError::NotFound) => return Ok(Shared::default()),
            Err(other) => return Err(other.into()),
        };
        let good = store::finished_goods::of_sku_or_start(tx, tenant, sku_id, now).await?;
        // As it is under the lock: another order's transaction may have just moved it.
        let good = store::finished_goods::lock(tx, tenant, &good.id).await?;
        let (lines, needs, covers) = shares_of(tx, tenant, sku_id, good.current_stock).await?;
        let mut shared = Shared::default();
        let mut moved = BTreeSet::new();
        for ((line, need), cover) in lines.iter().zip(&needs).zip(covers) {
            let mut cover = cover;
            if cover.is_ready(*need) {
                shared.ready_orders.insert(line.order_id.clone());
            }
            if cover.short > 0 && sku.print_file_id.is_none() {
                shared.unprintable = Some(sku.sku.clone());
            } else if cover.short > 0 {
                let prints = prints_for(cover.short, &sku);
                let new = self
                    .print_for_line(tx, tenant, &sku, &line.order_id, &line.item_id)
                    .await?;
                for _ in 0..prints {
                    shared
                        .queued
                        .push(store::jobs::create(tx, tenant, &new, now).await?);
                }
                cover.incoming += prints * new.quantity_per_print;
                cover.short = 0;
                moved.insert(line.order_id.clone());
            }
            shared.covers.insert(line.item_id.clone(), cover);
        }
        // An order being printed for is processing.
        for order_id in moved {
            let order = store::orders::get(tx, tenant, &order_id).await?;
            if order.status == OrderStatus::Pending {
                store::orders::set_status(
                    tx,
                    tenant,
                    &order_id,
                    order.status,
                    OrderStatus::Processing,
                    now,
                )
                .await?;
            }
        }
        if !shared.queued.is_empty() {
            tracing::info!(tenant_id = %tenant, sku = %sku.sku, jobs = shared.queued.len(), "prints queued for orders");
        }
        Ok(shared)
    }

    /// Stock of SKU `sku_id` arrived (a print finished): orders whose lines stock now
    /// fills move on (processing → printed), and those with auto-fulfil fulfil themselves.
    /// Returns the orders fulfilled.
    pub async fn stock_arrived(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        sku_id: &str,
        now: &str,
    ) -> FarmResult<Vec<Order>> {
        let shared = self.share_sku(tx, tenant, sku_id, now).await?;
        let mut fulfilled = Vec::new();
        for order_id in &shared.ready_orders {
            let view = self.order_view_in(tx, tenant, order_id).await?;
            let open: Vec<&CoveredItem> = view.items.iter().filter(|i| i.remaining > 0).collect();
            if open.is_empty() || !open.iter().all(|i| i.matched && i.ready) {
                continue;
            }
            if view.order.auto_fulfill == 1 {
                match self.fulfil_in(tx, tenant, &view.order, None, now).await {
                    Ok((order, _)) => fulfilled.push(order),
                    // Refused before anything was written (stock taken meanwhile): the
                    // order waits for the next print, and the print's event stands.
                    Err(FarmError::Blocked { message, .. }) => {
                        tracing::info!(tenant_id = %tenant, %order_id, %message, "auto-fulfil waits")
                    }
                    Err(other) => return Err(other),
                }
            } else if view.order.status == OrderStatus::Processing {
                store::orders::set_status(
                    tx,
                    tenant,
                    order_id,
                    OrderStatus::Processing,
                    OrderStatus::Printed,
                    now,
                )
                .await?;
            }
        }
        Ok(fulfilled)
    }

    /// A print for an order line did not make its units (failed, or cancelled on the
    /// printer): the job no longer counts for the line (retrying it makes stock for
    /// whoever needs it first), and the line's shortfall is queued again.
    pub async fn order_print_lost(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        job: &Job,
        now: &str,
    ) -> FarmResult<Vec<Job>> {
        if job.order_item_id.is_none() {
            return Ok(Vec::new());
        }
        store::jobs::unlink_from_line(tx, tenant, &job.id).await?;
        let Some(sku) = job.product_sku_id.as_deref() else {
            return Ok(Vec::new());
        };
        Ok(self.share_sku(tx, tenant, sku, now).await?.queued)
    }

    /// Fulfils every open line of an order from stock, all or nothing: refused with the
    /// lines that are short (and what is in stock) when stock can't fill them all.
    pub async fn fulfil_order(
        &self,
        tenant: &TenantId,
        id: &str,
        actor: Option<&Actor>,
    ) -> FarmResult<OrderView> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let order = order_missing(store::orders::get(&mut tx, tenant, id).await)?;
        self.fulfil_in(&mut tx, tenant, &order, actor, &now).await?;
        let view = self.order_view_in(&mut tx, tenant, id).await?;
        tx.commit().await?;
        // Sharing stock out again may have queued jobs.
        self.wake_dispatcher(tenant);
        Ok(view)
    }

    /// Fulfils `units` (all that remain when not given) of one line of an order from stock.
    pub async fn fulfil_line(
        &self,
        tenant: &TenantId,
        order_id: &str,
        item_id: &str,
        units: Option<i64>,
        actor: Option<&Actor>,
    ) -> FarmResult<OrderView> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let order = order_missing(store::orders::get(&mut tx, tenant, order_id).await)?;
        refuse_closed(&order, "fulfilled")?;
        let item = store::orders::item(&mut tx, tenant, order_id, item_id)
            .await
            .or_missing("ORDER_ITEM_NOT_FOUND", "order item")?;
        let units = domain::orders::units_to_fulfil(item.line(), units).map_err(|e| {
            let first = e.0.into_iter().next();
            FarmError::invalid("quantity", first.map(|f| f.message).unwrap_or_default())
        })?;
        take_from_stock(&mut tx, tenant, &[(&item, units)], &now).await?;
        self.after_fulfilment(&mut tx, tenant, &order, actor, &[(&item, units)], &now)
            .await?;
        let view = self.order_view_in(&mut tx, tenant, order_id).await?;
        tx.commit().await?;
        // Sharing stock out again may have queued jobs.
        self.wake_dispatcher(tenant);
        Ok(view)
    }

    /// Fulfils every open line of `order` inside `tx`.
    async fn fulfil_in(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        order: &Order,
        actor: Option<&Actor>,
        now: &str,
    ) -> FarmResult<(Order, Vec<OrderItem>)> {
        refuse_closed(order, "fulfilled")?;
        let items = store::orders::items(tx, tenant, &order.id).await?;
        let open: Vec<(&OrderItem, i64)> = items
            .iter()
            .map(|i| (i, i.line().remaining()))
            .filter(|(_, units)| *units > 0)
            .collect();
        if open.is_empty() {
            return Err(FarmError::refused(
                "NOTHING_TO_FULFIL",
                Some("status"),
                "every line of the order is fulfilled or cancelled",
            ));
        }
        take_from_stock(tx, tenant, &open, now).await?;
        self.after_fulfilment(tx, tenant, order, actor, &open, now)
            .await
    }

    /// After lines were taken from stock: their counts, the order's status from its lines,
    /// the audit, and the SKUs shared out again (the stock taken may have been another
    /// order's share).
    async fn after_fulfilment(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        order: &Order,
        actor: Option<&Actor>,
        taken: &[(&OrderItem, i64)],
        now: &str,
    ) -> FarmResult<(Order, Vec<OrderItem>)> {
        for (item, units) in taken {
            if store::orders::fulfil_line(tx, &item.id, *units)
                .await?
                .is_none()
            {
                return Err(FarmError::refused(
                    "ORDER_CHANGED",
                    Some("quantity"),
                    "the line changed while this request was made; reload the order",
                ));
            }
        }
        let items = store::orders::items(tx, tenant, &order.id).await?;
        // A line sent in full needs none of the prints still queued for it.
        let done: Vec<&str> = items
            .iter()
            .filter(|i| i.fulfillment_status == LineStatus::Fulfilled)
            .map(|i| i.id.as_str())
            .collect();
        self.release_jobs(tx, tenant, &order.id, Some(&done), now)
            .await?;
        let lines: Vec<_> = items.iter().map(OrderItem::line).collect();
        let status = domain::orders::order_status(order.status, &lines);
        let order = if status != order.status {
            let moved = store::orders::set_status(tx, tenant, &order.id, order.status, status, now)
                .await
                .map_err(order_changed)?;
            if moved.status == OrderStatus::Fulfilled {
                crate::automation::happened_in(
                    &*self.queue,
                    tx,
                    tenant,
                    domain::automation::Trigger::OrderFulfilled,
                    &moved.id,
                    crate::automation::order_facts(&moved, items.len()),
                    now,
                )
                .await?;
            }
            moved
        } else {
            order.clone()
        };
        if order.status == OrderStatus::Fulfilled
            && order.platform == Platform::Shopify
            && order.external_id.is_some()
        {
            crate::shopify::sync::queue_fulfilment(self.queue.as_ref(), tx, tenant, &order.id, now)
                .await?;
        }
        let record: Vec<_> = taken
            .iter()
            .map(|(i, units)| json!({ "item_id": i.id, "sku": i.sku, "units": units }))
            .collect();
        let change = Change {
            action: "order.fulfilled",
            table: "orders",
            record: &order.id,
            new: Some(json!({ "status": order.status, "lines": record })),
            ..Change::default()
        };
        crate::audit::record_by(tx, tenant, actor, change, now).await?;
        let skus: BTreeSet<&str> = taken
            .iter()
            .filter_map(|(i, _)| i.product_sku_id.as_deref())
            .collect();
        for sku in skus {
            self.share_sku(tx, tenant, sku, now).await?;
        }
        tracing::info!(tenant_id = %tenant, order_id = %order.id, status = %order.status, "order fulfilled from stock");
        Ok((order, items))
    }

    /// Cancels an order: its open lines are called off, its queued jobs cancelled; jobs
    /// already on a printer are left to finish (their prints go to stock) and named.
    pub async fn cancel_order(
        &self,
        tenant: &TenantId,
        id: &str,
        actor: Option<&Actor>,
    ) -> FarmResult<Cancelled> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let order = order_missing(store::orders::get(&mut tx, tenant, id).await)?;
        if !order.status.may_become(OrderStatus::Cancelled) {
            return Err(FarmError::refused(
                "INVALID_STATUS",
                Some("status"),
                format!("a {} order can't be cancelled", order.status),
            ));
        }
        let cancelled = self.cancel_in(&mut tx, tenant, &order, actor, &now).await?;
        tx.commit().await?;
        self.background.work_queued();
        Ok(cancelled)
    }

    /// [`Farm::cancel_order`] inside `tx` (also the Shopify intake's).
    pub async fn cancel_in(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        order: &Order,
        actor: Option<&Actor>,
        now: &str,
    ) -> FarmResult<Cancelled> {
        let (jobs_cancelled, jobs_left) =
            self.release_jobs(tx, tenant, &order.id, None, now).await?;
        store::orders::cancel_open_lines(tx, &order.id).await?;
        let cancelled = if order.status == OrderStatus::Cancelled {
            order.clone()
        } else {
            store::orders::set_status(
                tx,
                tenant,
                &order.id,
                order.status,
                OrderStatus::Cancelled,
                now,
            )
            .await
            .map_err(order_changed)?
        };
        let change = Change {
            action: "order.cancelled",
            table: "orders",
            record: &order.id,
            old: Some(json!({ "status": order.status })),
            new: Some(
                json!({ "status": "cancelled", "jobs_cancelled": jobs_cancelled,
                "jobs_left": jobs_left.iter().map(|j| &j.id).collect::<Vec<_>>() }),
            ),
        };
        crate::audit::record_by(tx, tenant, actor, change, now).await?;
        tracing::info!(tenant_id = %tenant, order_id = %order.id, cancelled = jobs_cancelled.len(), left = jobs_left.len(), "order cancelled");
        Ok(Cancelled {
            order: cancelled,
            jobs_cancelled,
            jobs_left,
        })
    }

    /// Cancels the order's queued jobs and unlinks its running ones from their lines (their
    /// prints go to stock for whoever needs them first), of the lines `only` when given;
    /// returns both.
    async fn release_jobs(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        order_id: &str,
        only: Option<&[&str]>,
        now: &str,
    ) -> FarmResult<(Vec<String>, Vec<LeftJob>)> {
        let jobs = store::jobs::of_order(tx, tenant, order_id).await?;
        let mut cancelled = Vec::new();
        let mut left = Vec::new();
        for job in jobs {
            if let Some(only) = only
                && !job
                    .order_item_id
                    .as_deref()
                    .is_some_and(|line| only.contains(&line))
            {
                continue;
            }
            match job.status {
                JobStatus::Queued => {
                    let moving = super::jobs::Moving {
                        to: JobStatus::Cancelled,
                        progress: None,
                        failure_reason: Some("its order was cancelled".into()),
                    };
                    self.record_move_in(tx, tenant, &job, moving, now).await?;
                    cancelled.push(job.id);
                }
                status if status.is_active() => {
                    store::jobs::unlink_from_line(tx, tenant, &job.id).await?;
                    left.push(LeftJob {
                        id: job.id,
                        status,
                        printer_id: job.printer_id,
                    });
                }
                _ => {}
            }
        }
        Ok((cancelled, left))
    }

    /// Deletes an order: its queued jobs are cancelled first, running ones left (named).
    pub async fn delete_order(
        &self,
        tenant: &TenantId,
        id: &str,
        actor: &Actor,
    ) -> FarmResult<Cancelled> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let order = order_missing(store::orders::get(&mut tx, tenant, id).await)?;
        let (jobs_cancelled, jobs_left) =
            self.release_jobs(&mut tx, tenant, id, None, &now).await?;
        store::orders::delete(&mut tx, tenant, id).await?;
        let change = Change {
            action: "order.deleted",
            table: "orders",
            record: id,
            old: Some(
                json!({ "order_number": order.order_number, "status": order.status,
                "total_revenue": order.total_revenue }),
            ),
            ..Change::default()
        };
        actor.record(&mut tx, change, &now).await?;
        tx.commit().await?;
        self.background.work_queued();
        Ok(Cancelled {
            order,
            jobs_cancelled,
            jobs_left,
        })
    }

    /// Moves an order by hand (`OrderStatus::may_become`); cancelling goes through
    /// [`Farm::cancel_order`]'s rules.
    pub async fn move_order(
        &self,
        tenant: &TenantId,
        order: &Order,
        to: OrderStatus,
        tx: &mut Conn,
        actor: Option<&Actor>,
        now: &str,
    ) -> FarmResult<(Order, Option<Cancelled>)> {
        if to == order.status {
            return Ok((order.clone(), None));
        }
        if !order.status.may_become(to) {
            let why = if to == OrderStatus::Fulfilled {
                " (an order is fulfilled by taking its lines from stock: POST /orders/{id}/fulfill)"
            } else {
                ""
            };
            return Err(FarmError::refused(
                "INVALID_STATUS",
                Some("status"),
                format!("a {} order can't become {to}{why}", order.status),
            ));
        }
        if to == OrderStatus::Cancelled {
            let cancelled = self.cancel_in(tx, tenant, order, actor, now).await?;
            return Ok((cancelled.order.clone(), Some(cancelled)));
        }
        let moved = store::orders::set_status(tx, tenant, &order.id, order.status, to, now)
            .await
            .map_err(order_changed)?;
        Ok((moved, None))
    }

    /// Matches an unmatched line to the farm's SKU by hand, and plans for it.
    pub async fn match_line_in(
        &self,
        tx: &mut Conn,
        tenant: &TenantId,
        item: &OrderItem,
        sku_id: &str,
        now: &str,
    ) -> FarmResult<Vec<Job>> {
        let sku = store::catalogue::sku_for_print(tx, tenant, sku_id)
            .await
            .or_invalid("product_sku_id", "no SKU of this farm has that id")?;
        let good = store::finished_goods::of_sku_or_start(tx, tenant, &sku.id, now).await?;
        store::orders::match_line(tx, &item.id, &sku.id, &sku.sku, Some(&good.id)).await?;
        Ok(self.share_sku(tx, tenant, &sku.id, now).await?.queued)
    }
}

/// An order's status conflict, as the service says it.
fn order_changed(err: StoreError) -> FarmError {
    match err {
        StoreError::Conflict { .. } => FarmError::refused(
            "ORDER_CHANGED",
            Some("status"),
            "the order changed while this request was made; reload it and try again",
        ),
        StoreError::NotFound => FarmError::NotFound {
            code: "ORDER_NOT_FOUND",
            what: "order",
        },
        other => other.into(),
    }
}

/// Refuses to `what` a closed order.
fn refuse_closed(order: &Order, what: &str) -> FarmResult<()> {
    if order.status.is_closed() {
        return Err(FarmError::refused(
            "ORDER_CLOSED",
            Some("status"),
            format!("a {} order can't be {what}", order.status),
        ));
    }
    Ok(())
}

/// Whether stock alone fills every open line of the order (and it has one).
fn all_ready(view: &OrderView) -> bool {
    let open: Vec<&CoveredItem> = view.items.iter().filter(|i| i.remaining > 0).collect();
    !open.is_empty() && open.iter().all(|i| i.matched && i.ready)
}

/// Prints that make `short` units of `sku` (at least one).
fn prints_for(short: i64, sku: &SkuForPrint) -> i64 {
    let per_print = sku.quantity.max(1);
    (short + per_print - 1) / per_print
}

fn need_of(line: &store::orders::OpenLine) -> Need {
    Need {
        remaining: (line.quantity - line.quantity_fulfilled).max(0),
        incoming: line.incoming,
    }
}

/// Takes `units` of each line's SKU from its finished good, all or nothing: every line
/// short (unmatched, or more than the good holds, lines of one SKU counted together) is
/// named in the refusal.
async fn take_from_stock(
    tx: &mut Conn,
    tenant: &TenantId,
    lines: &[(&OrderItem, i64)],
    now: &str,
) -> FarmResult<()> {
    let mut per_sku: HashMap<&str, (i64, Vec<&OrderItem>)> = HashMap::new();
    let mut short = Vec::new();
    for (item, units) in lines {
        match item.product_sku_id.as_deref() {
            Some(sku) => {
                let entry = per_sku.entry(sku).or_default();
                entry.0 += units;
                entry.1.push(item);
            }
            None => short.push(
                json!({ "item_id": item.id, "sku": item.sku, "needed": units,
                "available": 0, "reason": "unmatched: no SKU of the farm has this code" }),
            ),
        }
    }
    let mut skus: Vec<&&str> = per_sku.keys().collect();
    // One lock order for every transaction, so two fulfilments never wait on each other.
    skus.sort();
    let mut takes = Vec::new();
    for sku in skus {
        let (units, items) = &per_sku[*sku];
        let good = store::finished_goods::of_sku_or_start(tx, tenant, sku, now).await?;
        let good = store::finished_goods::lock(tx, tenant, &good.id).await?;
        if good.current_stock < *units {
            short.push(
                json!({ "item_id": items.first().map(|i| i.id.clone()), "sku": good.sku,
                "needed": units, "available": good.current_stock }),
            );
        } else {
            takes.push((good.id, *units));
        }
    }
    if !short.is_empty() {
        return Err(short_on_stock(short));
    }
    for (good, units) in takes {
        if store::finished_goods::add_ready(tx, tenant, &good, -units, now)
            .await?
            .is_err()
        {
            return Err(FarmError::refused(
                "INSUFFICIENT_STOCK",
                Some("quantity"),
                "stock changed while this request was made; try again",
            ));
        }
    }
    Ok(())
}

/// The farm's SKU a line names: by id (which must be the farm's), else by code exactly,
/// else by code loosely; `None` when no SKU matches (the line is kept, flagged).
async fn match_sku(
    conn: &mut Conn,
    tenant: &TenantId,
    line: &LineRequest,
    codes: &mut Option<Vec<(String, String)>>,
) -> FarmResult<Option<SkuForPrint>> {
    if let Some(id) = line.sku_id.as_deref().filter(|i| !i.is_empty()) {
        return store::catalogue::sku_for_print(conn, tenant, id)
            .await
            .or_invalid("items.product_sku_id", "no SKU of this farm has that id")
            .map(Some);
    }
    let Some(code) = line.sku.as_deref().map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let exact = match store::skus::by_code(conn, tenant, code).await {
        Ok(sku) => Some(sku.id),
        Err(StoreError::NotFound) => {
            if codes.is_none() {
                *codes = Some(store::skus::codes(conn, tenant).await?);
            }
            let wanted = domain::orders::normalise_sku(code);
            codes.as_ref().and_then(|all| {
                all.iter()
                    .find(|(_, c)| domain::orders::normalise_sku(c) == wanted)
                    .map(|(id, _)| id.clone())
            })
        }
        Err(other) => return Err(other.into()),
    };
    match exact {
        Some(id) => Ok(Some(
            store::catalogue::sku_for_print(conn, tenant, &id).await?,
        )),
        None => Ok(None),
    }
}

/// The SKU's open lines, what each needs, and how `ready` units are shared among them
/// (`domain::orders::share_stock`): the one reading of a SKU's shares.
async fn shares_of(
    conn: &mut Conn,
    tenant: &TenantId,
    sku_id: &str,
    ready: i64,
) -> FarmResult<(Vec<store::orders::OpenLine>, Vec<Need>, Vec<Cover>)> {
    let lines = store::orders::open_lines_of_sku(conn, tenant, sku_id).await?;
    let needs: Vec<Need> = lines.iter().map(need_of).collect();
    let covers = domain::orders::share_stock(ready, &needs);
    Ok((lines, needs, covers))
}

/// How stock and prints cover each open line of `items` (by item id).
async fn covers_of(
    conn: &mut Conn,
    tenant: &TenantId,
    items: &[OrderItem],
) -> FarmResult<HashMap<String, Cover>> {
    let skus: BTreeSet<&str> = items
        .iter()
        .filter(|i| i.line().remaining() > 0)
        .filter_map(|i| i.product_sku_id.as_deref())
        .collect();
    let mut covers = HashMap::new();
    for sku in skus {
        let ready = match store::finished_goods::of_sku(conn, tenant, sku).await {
            Ok(good) => good.current_stock,
            Err(StoreError::NotFound) => 0,
            Err(other) => return Err(other.into()),
        };
        let (lines, _, shares) = shares_of(conn, tenant, sku, ready).await?;
        for (line, cover) in lines.iter().zip(shares) {
            covers.insert(line.item_id.clone(), cover);
        }
    }
    Ok(covers)
}

/// An order's view from its rows and covers.
fn view_of(order: Order, items: Vec<OrderItem>, covers: &HashMap<String, Cover>) -> OrderView {
    let total_items = items.iter().map(|i| i.quantity).sum();
    let items = items
        .into_iter()
        .map(|item| {
            let remaining = item.line().remaining();
            let cover = covers.get(&item.id).copied().unwrap_or_default();
            let open = item.fulfillment_status != LineStatus::Cancelled && remaining > 0;
            CoveredItem {
                matched: item.product_sku_id.is_some(),
                remaining,
                ready: open && cover.from_stock >= remaining,
                cover,
                item,
            }
        })
        .collect();
    OrderView {
        order,
        items,
        total_items,
    }
}
