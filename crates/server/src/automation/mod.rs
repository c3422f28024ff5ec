//! Automation that runs: farm events, the rules that act on them, and the schedule.
//!
//! Where something a rule may act on happens (a print's move, a task completed, an order
//! taken, a stock falling low, a printer or hub going on or off line), the change's own
//! transaction calls [`happened_in`]: when a rule or a notification channel of the farm
//! listens to that trigger, a [`FarmEvent`] goes on the durable `automation` queue, once
//! per event (its dedupe key). The queue's worker ([`engine::handle`]) sends it to the
//! channels that take it and runs every enabled rule of the trigger whose conditions hold,
//! within the rule's cooldown and hourly maximum, each rule in its own transaction with its
//! run recorded (`automation_runs`, once per rule and event). A schedule's times become
//! events too ([`schedule`]).
//!
//! - [`engine`]: evaluating rules and running their actions;
//! - [`rules`]: the `/api/v1/automation` routes;
//! - [`schedule`]: turning schedules' times into events, once across nodes.

pub mod engine;
pub mod rules;
pub mod schedule;

use crate::queue::{DurableQueue, NewMessage};
use domain::TenantId;
use domain::automation::{Fact, Facts, Trigger};
use serde::{Deserialize, Serialize};
use store::{Conn, StoreResult};

/// The queue of farm events for rules and notification channels.
pub const AUTOMATION: &str = "automation";

/// Something that happened on a farm, with its facts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FarmEvent {
    /// Unique per event: a rule runs once for it.
    pub event_id: String,
    /// The farm.
    pub tenant_id: String,
    /// What happened.
    pub trigger: Trigger,
    /// What rules' conditions and texts read.
    pub facts: Facts,
    /// The one rule the event is for (a schedule's time), instead of every rule of the
    /// trigger.
    #[serde(default)]
    pub rule_id: Option<String>,
}

impl FarmEvent {
    /// An event of `trigger` with its facts (`trigger` and `happened_at` added).
    pub fn new(
        tenant: &TenantId,
        trigger: Trigger,
        key: &str,
        mut facts: Facts,
        now: &str,
    ) -> Self {
        facts.insert("trigger".into(), Fact::from(trigger.as_str()));
        facts.insert("happened_at".into(), Fact::from(now));
        FarmEvent {
            event_id: format!("{}:{key}", trigger.as_str()),
            tenant_id: tenant.to_string(),
            trigger,
            facts,
            rule_id: None,
        }
    }
}

/// Queues an event in the caller's transaction when a rule or channel of the farm listens
/// to its trigger; `key` names the event uniquely within its trigger (a job's move, a
/// task). Returns whether it was queued.
pub async fn happened_in(
    queue: &dyn DurableQueue,
    tx: &mut Conn,
    tenant: &TenantId,
    trigger: Trigger,
    key: &str,
    facts: Facts,
    now: &str,
) -> StoreResult<bool> {
    if !store::automation::listens(tx, tenant, trigger.as_str()).await? {
        return Ok(false);
    }
    enqueue_in(
        queue,
        tx,
        tenant,
        &FarmEvent::new(tenant, trigger, key, facts, now),
        now,
    )
    .await
}

/// [`happened_in`] in a transaction of its own, for what wrote nothing else (a printer or
/// hub going on or off line); the write transaction is opened only when someone listens.
pub async fn happened(
    farm: &crate::farm::Farm,
    tenant: &TenantId,
    trigger: Trigger,
    key: &str,
    facts: Facts,
) -> StoreResult<()> {
    {
        let mut conn = farm.store.conn().await?;
        if !store::automation::listens(&mut conn, tenant, trigger.as_str()).await? {
            return Ok(());
        }
    }
    let now = store::now_text();
    let mut tx = farm.store.begin().await?;
    let event = FarmEvent::new(tenant, trigger, key, facts, &now);
    let queued = enqueue_in(&*farm.queue, &mut tx, tenant, &event, &now).await?;
    tx.commit().await?;
    if queued {
        farm.background.work_queued();
    }
    Ok(())
}

/// What a printer's change of status tells rules: it came on line, went off, or failed.
pub fn printer_trigger(
    before: domain::printers::PrinterStatus,
    after: domain::printers::PrinterStatus,
) -> Option<Trigger> {
    use domain::printers::PrinterStatus::{Error, Offline};
    match (before, after) {
        (b, a) if b == a => None,
        (_, Offline) => Some(Trigger::PrinterOffline),
        (Offline, Error) | (_, Error) => Some(Trigger::PrinterError),
        (Offline, _) => Some(Trigger::PrinterOnline),
        _ => None,
    }
}

/// Queues an event in the caller's transaction (once per event id).
pub async fn enqueue_in(
    queue: &dyn DurableQueue,
    tx: &mut Conn,
    tenant: &TenantId,
    event: &FarmEvent,
    now: &str,
) -> StoreResult<bool> {
    let payload =
        serde_json::to_value(event).map_err(|e| store::StoreError::Corrupt(e.to_string()))?;
    let queued = queue
        .enqueue(
            tx,
            NewMessage {
                queue: AUTOMATION,
                tenant: Some(tenant),
                payload: &payload,
                dedupe_key: Some(&event.event_id),
                max_attempts: None,
            },
            now,
        )
        .await?;
    Ok(queued.is_some())
}

/// Builds facts from pairs, leaving out the absent ones.
pub fn facts<const N: usize>(pairs: [(&str, Option<Fact>); N]) -> Facts {
    pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect()
}

/// The facts of a job (print triggers).
pub fn job_facts(job: &store::jobs::Job) -> Facts {
    let text = |v: &Option<String>| v.clone().map(Fact::from);
    facts([
        ("job_id", Some(Fact::from(job.id.as_str()))),
        ("job_name", Some(Fact::from(job.file_name.as_str()))),
        ("printer_id", text(&job.printer_id)),
        ("printer_name", text(&job.printer_name)),
        ("printer_model", text(&job.printer_model)),
        ("product_id", text(&job.product_id)),
        ("sku_id", text(&job.product_sku_id)),
        ("sku", text(&job.sku_name)),
        (
            "filament_type",
            Some(Fact::from(job.filament_type.as_str())),
        ),
        ("color", Some(Fact::from(job.color.as_str()))),
        ("quantity", Some(Fact::from(job.quantity_per_print.max(1)))),
        ("priority", Some(Fact::from(job.priority))),
        ("progress", Some(Fact::from(job.progress_percentage))),
        ("failure_reason", text(&job.failure_reason)),
    ])
}

/// The facts of a printer (printer triggers).
pub fn printer_facts(printer: &store::printers::Printer) -> Facts {
    facts([
        ("printer_id", Some(Fact::from(printer.id.as_str()))),
        ("printer_name", Some(Fact::from(printer.name.as_str()))),
        ("printer_model", Some(Fact::from(printer.model.as_str()))),
    ])
}

/// The facts of an order (order triggers).
pub fn order_facts(order: &store::orders::Order, item_count: usize) -> Facts {
    facts([
        ("order_id", Some(Fact::from(order.id.as_str()))),
        (
            "order_number",
            Some(Fact::from(order.order_number.as_str())),
        ),
        ("platform", Some(Fact::from(order.platform.as_str()))),
        (
            "customer_name",
            Some(Fact::from(order.customer_name.as_str())),
        ),
        ("total_cents", Some(Fact::from(order.total_revenue))),
        ("item_count", Some(Fact::from(item_count as i64))),
    ])
}

/// A SKU's stock that fell to its threshold.
#[derive(Debug, Clone, Copy)]
pub struct LowStock<'a> {
    /// The SKU's id.
    pub sku_id: &'a str,
    /// Its code.
    pub sku: &'a str,
    /// Ready units now.
    pub stock_level: i64,
    /// Its threshold.
    pub threshold: i64,
}

impl<'a> From<&'a store::finished_goods::FinishedGood> for LowStock<'a> {
    fn from(good: &'a store::finished_goods::FinishedGood) -> Self {
        LowStock {
            sku_id: &good.product_sku_id,
            sku: &good.sku,
            stock_level: good.current_stock,
            threshold: good.low_stock_threshold,
        }
    }
}

/// Tells the farm's rules and channels a SKU's ready stock fell to its threshold (call it
/// when the low-stock flag says the farm must be told).
pub async fn low_stock_in(
    queue: &dyn DurableQueue,
    tx: &mut Conn,
    tenant: &TenantId,
    low: LowStock<'_>,
    now: &str,
) -> StoreResult<bool> {
    let product = match store::catalogue::sku_for_print(tx, tenant, low.sku_id).await {
        Ok(sku) => Some(sku),
        Err(store::StoreError::NotFound) => None,
        Err(other) => return Err(other),
    };
    let facts = facts([
        ("sku_id", Some(Fact::from(low.sku_id))),
        ("sku", Some(Fact::from(low.sku))),
        (
            "product_id",
            product.as_ref().map(|p| Fact::from(p.product_id.as_str())),
        ),
        ("product_name", product.map(|p| Fact::from(p.product_name))),
        ("stock_level", Some(Fact::from(low.stock_level))),
        ("threshold", Some(Fact::from(low.threshold))),
    ]);
    // One event per fall: the key names the moment it was flagged.
    let key = format!("{}:{now}", low.sku_id);
    happened_in(queue, tx, tenant, Trigger::LowStock, &key, facts, now).await
}
