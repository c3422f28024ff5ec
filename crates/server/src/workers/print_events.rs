//! The print-events consumer: what a job's moves do to the rest of the farm.
//!
//! On completion the printer is idle and the print time added (its bed was marked as
//! holding the print by the move itself, `Farm::record_move_in`); the SKU's finished goods grow by the units one print makes (into
//! "needs assembly" when the product needs it); a collection task tells an operator to
//! take the print off the bed; an assembly task (and its worklist task) is made when
//! needed; low stock is announced. Every print that ran (completed, or failed or cancelled
//! part way, by its progress) spends the filament its plate uses from the farm's matching
//! spools, in `material_usage_history`, alerting once when a spool runs low. On failure a `printer_failures` row is written, and a
//! print that had started leaves its bed to be cleared. Everything an event changes,
//! the "handled" marker and the queue's "done" are one transaction: handled twice, an
//! event changes nothing the second time.

use super::WorkError;
use crate::app::App;
use crate::farm::jobs::PrintEvent;
use crate::farm::tasks;
use domain::TenantId;
use domain::automation::{Fact, Trigger};
use domain::jobs::{JobStatus, PrintEventKind};
use proto::dashboard::ServerMessage;
use serde_json::json;
use store::queue::Message;
use store::{Conn, StoreError};

/// What an event leaves to do after its transaction commits.
#[derive(Debug, Default)]
struct AfterCommit {
    /// Dashboard messages to publish.
    messages: Vec<ServerMessage>,
    /// Jobs were queued (for orders): the dispatcher has work.
    dispatch: bool,
}

/// Handles one claimed message.
pub async fn handle(app: &App, message: &Message, worker: &str) -> Result<(), WorkError> {
    let event: PrintEvent = serde_json::from_str(&message.payload)
        .map_err(|e| WorkError::BadMessage(format!("not a print event: {e}")))?;
    let tenant = TenantId::parse(event.tenant_id.as_str())
        .ok_or_else(|| WorkError::BadMessage(format!("bad tenant id '{}'", event.tenant_id)))?;
    let event_id = event.event_id.clone().unwrap_or_else(|| message.id.clone());
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let mut after = AfterCommit::default();
    if store::handled::mark(&mut tx, &event_id, &message.queue, Some(&tenant), &now).await? {
        match apply(app, &mut tx, &tenant, &event, &now, &mut after).await {
            Ok(()) => automation(app, &mut tx, &tenant, &event, &event_id, &now).await?,
            // The farm deleted the job meanwhile: nothing left to change.
            Err(WorkError::Store(StoreError::NotFound)) => {
                tracing::info!(job_id = %event.job_id, event = %event.event, "print event for a deleted job")
            }
            other => other?,
        }
    } else {
        tracing::info!(%event_id, event = %event.event, "print event already handled");
    }
    if !app.queue.complete(&mut tx, message, worker, &now).await? {
        // Our lease ran out and another worker has the message: it will do the work.
        tracing::warn!(message_id = %message.id, "claim lost before the event was done");
        return Ok(());
    }
    tx.commit().await.map_err(StoreError::from)?;
    for message in after.messages {
        app.realtime.publish(&tenant, message);
    }
    if after.dispatch {
        app.farm.wake_dispatcher(&tenant);
    }
    Ok(())
}

/// Tells the farm's rules and channels of a print that started, finished or failed.
async fn automation(
    app: &App,
    tx: &mut Conn,
    tenant: &TenantId,
    event: &PrintEvent,
    event_id: &str,
    now: &str,
) -> Result<(), WorkError> {
    let trigger = match event.event {
        // A start is reported twice (sent to the printer, then printing): the print counts.
        PrintEventKind::JobStarted if event.to == JobStatus::Printing => Trigger::PrintStarted,
        PrintEventKind::JobCompleted => Trigger::PrintCompleted,
        PrintEventKind::JobFailed => Trigger::PrintFailed,
        _ => return Ok(()),
    };
    if !store::automation::listens(tx, tenant, trigger.as_str()).await? {
        return Ok(());
    }
    let job = store::jobs::get(tx, tenant, &event.job_id).await?;
    let mut facts = crate::automation::job_facts(&job);
    if let Some(printer) = &event.printer_id {
        facts.insert("printer_id".into(), Fact::from(printer.as_str()));
    }
    if trigger == Trigger::PrintFailed {
        let reason = event.failure_reason.as_deref();
        facts.insert(
            "failure_type".into(),
            Fact::from(domain::stock::failure_type(reason).as_str()),
        );
        if let Some(reason) = reason {
            facts.insert("failure_reason".into(), Fact::from(reason));
        }
    }
    let event = crate::automation::FarmEvent::new(tenant, trigger, event_id, facts, now);
    crate::automation::enqueue_in(&*app.queue, tx, tenant, &event, now).await?;
    Ok(())
}

/// The effects of one event, inside the transaction.
async fn apply(
    app: &App,
    tx: &mut Conn,
    tenant: &TenantId,
    event: &PrintEvent,
    now: &str,
    after: &mut AfterCommit,
) -> Result<(), WorkError> {
    match event.event {
        PrintEventKind::JobCompleted => {
            if let Some(sku) = completed(app, tx, tenant, &event.job_id, now, after).await? {
                // The stock may fill orders waiting for it.
                app.farm.stock_arrived(tx, tenant, &sku, now).await?;
                after.dispatch = true;
            }
        }
        PrintEventKind::JobFailed => {
            let job = failed(tx, tenant, event, now, after).await?;
            if job.status == JobStatus::Failed {
                after.dispatch |= !app
                    .farm
                    .order_print_lost(tx, tenant, &job, now)
                    .await?
                    .is_empty();
            }
        }
        PrintEventKind::JobCancelled => {
            let job = store::jobs::get(tx, tenant, &event.job_id).await?;
            if left_a_print(event.from) {
                print_ended(tx, tenant, &job, event.printer_id.as_deref(), now, after).await?;
                let reason = format!("print cancelled at {}%", job.progress_percentage);
                spend_filament(
                    tx,
                    tenant,
                    &job,
                    job.progress_percentage,
                    &reason,
                    now,
                    after,
                )
                .await?;
            }
            // An open order still needs what the cancelled print was to make.
            after.dispatch |= !app
                .farm
                .order_print_lost(tx, tenant, &job, now)
                .await?
                .is_empty();
        }
        // Started, progress, paused, resumed: the dashboard hears of them from the hub's
        // own status; nothing else in the farm changes.
        _ => {}
    }
    Ok(())
}

/// Whether a job leaving `from` leaves (part of) a print on the bed.
fn left_a_print(from: JobStatus) -> bool {
    matches!(from, JobStatus::Printing | JobStatus::Paused)
}

/// Records the print time and frees the printer (its bed was marked by the move); its
/// maintenance may fall due with the hours added. Returns the minutes printed.
async fn print_ended(
    tx: &mut Conn,
    tenant: &TenantId,
    job: &store::jobs::Job,
    printer: Option<&str>,
    now: &str,
    after: &mut AfterCommit,
) -> Result<Option<i64>, WorkError> {
    let minutes = printed_minutes(job);
    if let Some(minutes) = minutes {
        store::jobs::set_actual_minutes(tx, tenant, &job.id, minutes).await?;
    }
    if let Some(printer) = printer {
        store::printers::print_ended(tx, tenant, printer, minutes.unwrap_or(0), now).await?;
        if let Some(task) = tasks::maintenance_check_in(tx, tenant, printer, now).await? {
            after.messages.push(tasks::task_message(&task));
        }
    }
    Ok(minutes)
}

/// Whole minutes from the job's start to its end, when both are known.
fn printed_minutes(job: &store::jobs::Job) -> Option<i64> {
    let started = domain::time::parse(job.time_started.as_deref()?)?;
    let ended = domain::time::parse(job.time_completed.as_deref()?)?;
    Some((ended - started).num_minutes().max(0))
}

/// The effects of a completed print; returns the SKU whose stock grew, if one did.
async fn completed(
    app: &App,
    tx: &mut Conn,
    tenant: &TenantId,
    job_id: &str,
    now: &str,
    after: &mut AfterCommit,
) -> Result<Option<String>, WorkError> {
    let job = store::jobs::get(tx, tenant, job_id).await?;
    print_ended(tx, tenant, &job, job.printer_id.as_deref(), now, after).await?;
    spend_filament(tx, tenant, &job, 100, "print completed", now, after).await?;
    let sku = match job.product_sku_id.as_deref() {
        Some(id) => match store::catalogue::sku_for_print(tx, tenant, id).await {
            Ok(sku) => Some(sku),
            Err(StoreError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
        None => None,
    };
    let what = sku
        .as_ref()
        .map(|s| format!("{} ({})", s.product_name, s.sku))
        .unwrap_or_else(|| job.file_name.clone());
    let printer = job.printer_name.as_deref().unwrap_or("the printer");
    let title = format!("Collect {what} from {printer}");
    let units = job.quantity_per_print.max(1);
    let subtitle = format!("{units} unit(s), {} {}", job.color, job.filament_type);
    let metadata = json!({ "job_id": job.id, "sku_id": job.product_sku_id, "units": units });
    let collection = store::worklist::create(
        tx,
        tenant,
        &store::worklist::NewTask {
            task_type: "collection",
            title: &title,
            subtitle: Some(&subtitle),
            description: Some("Take the print off the bed, check it, and mark the bed cleared."),
            priority: "medium",
            printer_id: job.printer_id.as_deref(),
            estimated_time_minutes: Some(5),
            metadata: Some(&metadata),
            ..Default::default()
        },
        now,
    )
    .await?;
    after.messages.push(tasks::task_message(&collection));
    let Some(sku) = sku else {
        return Ok(None);
    };
    let good = store::finished_goods::add_printed(
        tx,
        tenant,
        &sku,
        &job.material_type,
        &job.id,
        units,
        now,
    )
    .await?;
    if sku.requires_assembly == 1 {
        let metadata = json!({ "job_id": job.id, "sku_id": sku.id, "finished_good_id": good.id });
        let (_, task) =
            tasks::assembly_needed_in(tx, tenant, &good, &sku.product_name, units, metadata, now)
                .await?;
        after.messages.push(tasks::task_message(&task));
    }
    // One alert when it falls to (or is first seen at) its threshold, not one per print.
    if store::low_stock::note(
        tx,
        store::low_stock::Counter::FinishedGood,
        tenant,
        &good.id,
        good.stock().is_low(),
    )
    .await?
    {
        crate::automation::low_stock_in(&*app.queue, tx, tenant, (&good).into(), now).await?;
        after.messages.push(ServerMessage::InventoryAlert {
            sku_id: sku.id.clone(),
            sku: sku.sku.clone(),
            current_stock: good.current_stock,
            threshold: good.low_stock_threshold,
        });
    }
    Ok(Some(sku.id))
}

/// The effects of a failed print; returns the job as it is now.
async fn failed(
    tx: &mut Conn,
    tenant: &TenantId,
    event: &PrintEvent,
    now: &str,
    after: &mut AfterCommit,
) -> Result<store::jobs::Job, WorkError> {
    let job = store::jobs::get(tx, tenant, &event.job_id).await?;
    // The job may have been retried since: the event's own printer and reason count.
    let printer = event.printer_id.as_deref();
    let still_failed = job.status == JobStatus::Failed;
    // A print that never reached the bed (the file did not arrive) leaves it clear.
    let minutes = if left_a_print(event.from) {
        // A retried job's progress is its new run's: the failed run's share is unknown then.
        if still_failed {
            let reason = format!("print failed at {}%", job.progress_percentage);
            spend_filament(
                tx,
                tenant,
                &job,
                job.progress_percentage,
                &reason,
                now,
                after,
            )
            .await?;
        }
        print_ended(tx, tenant, &job, printer, now, after).await?
    } else {
        // The start took the cleared bed; nothing was printed on it, so it is clear again.
        if let Some(printer) = printer {
            store::printers::set_bed_clear(tx, tenant, printer, true, now).await?;
        }
        None
    };
    let reason = event.failure_reason.as_deref();
    store::failures::record(
        tx,
        tenant,
        &store::failures::NewFailure {
            printer_id: printer,
            job_id: &job.id,
            failure_type: domain::stock::failure_type(reason),
            reason,
            progress: if still_failed {
                job.progress_percentage
            } else {
                0
            },
            print_minutes: minutes,
        },
        now,
    )
    .await?;
    Ok(job)
}

/// Spends `percent` of the filament the job's plate uses (per filament of the plate, from
/// its 3MF) from the farm's spool of the same type and colour (`domain::materials::spool_for`),
/// in the usage history; a spool falling to its threshold alerts once. A filament the farm
/// keeps no spool of is left alone: nothing is guessed.
async fn spend_filament(
    tx: &mut Conn,
    tenant: &TenantId,
    job: &store::jobs::Job,
    percent: i64,
    reason: &str,
    now: &str,
    after: &mut AfterCommit,
) -> Result<(), StoreError> {
    if percent <= 0 {
        return Ok(());
    }
    let file = match store::files::get(tx, tenant, &job.print_file_id).await {
        Ok(file) => file,
        Err(StoreError::NotFound) => return Ok(()),
        Err(other) => return Err(other),
    };
    let used = crate::farm::jobs::plate_filaments(
        file.metadata_json.as_deref(),
        job.plate_index,
        (&job.filament_type, &job.color),
    );
    for filament in used {
        let grams = domain::materials::printed_share(filament.grams, percent);
        if grams <= 0.0 {
            continue;
        }
        let spools = store::materials::spools_of_type(tx, tenant, &filament.filament_type).await?;
        let Some(spool) =
            crate::materials::spool_for(&spools, &filament.filament_type, &filament.colour)
        else {
            tracing::info!(tenant_id = %tenant, job_id = %job.id, filament_type = %filament.filament_type,
                colour = %filament.colour, "no spool of this filament to spend from");
            continue;
        };
        let spool = store::materials::spend_filament(tx, tenant, &spool.id, grams, now).await?;
        store::materials::record_usage(tx, &spool, Some(&job.id), grams, reason, now).await?;
        if store::materials::note_low(tx, &spool).await? {
            after.messages.push(crate::materials::alert_of(&spool));
        }
    }
    Ok(())
}
