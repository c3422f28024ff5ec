//! The per-farm auto-dispatcher: every ready printer with a cleared bed starts the best
//! queued job it can print, through the farm service's one way to start a job
//! ([`crate::farm::launch`]).

use crate::app::App;
use crate::farm::FarmError;
use crate::farm::launch::needs_of;
use domain::dispatch::{PrinterFacts, QueuedJob};
use domain::jobs::{Priority, PriorityInput};
use domain::{PrinterId, TenantId};
use std::time::Duration;
use store::printers::Printer;

/// How often every auto-dispatching farm is looked at, whatever woke the dispatcher.
const SWEEP: Duration = Duration::from_secs(15);
/// Starts of one pass under way at once.
const STARTS_AT_ONCE: usize = 32;

/// What one dispatch pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Jobs started, as (job id, printer id).
    pub started: Vec<(String, String)>,
    /// Queued jobs left waiting.
    pub waiting: usize,
}

/// One dispatch pass over a farm: every ready printer with a cleared bed starts the best
/// queued job it can print; every job left waiting records why.
pub async fn run(app: &App, tenant: &TenantId) -> Result<Pass, FarmError> {
    let mut conn = app.store.conn().await?;
    let query = store::printers::PrinterQuery::display_order();
    let (printers, _) = store::printers::list(&mut conn, tenant, &query, 10_000, 0).await?;
    let rows = store::jobs::queued_for_dispatch(&mut conn, tenant).await?;
    let busy = store::printers::with_active_jobs(&mut conn, tenant).await?;
    drop(conn);
    let now = chrono::Utc::now();
    let mut queued: Vec<QueuedJob> = rows.iter().map(|row| queued_job(row, now)).collect();
    let mut fleet: Vec<PrinterFacts> = printers
        .iter()
        .map(|p| {
            let mut facts = app.farm.facts(p);
            if busy.contains(&p.id) {
                facts.status = domain::printers::PrinterStatus::Printing;
            }
            facts
        })
        .collect();
    let mut pass = Pass::default();
    let mut planned = Vec::new();
    for (index, printer) in printers.iter().enumerate() {
        let Some(job_id) =
            domain::dispatch::next_job_for(&fleet[index], &queued).map(|j| j.id.clone())
        else {
            continue;
        };
        queued.retain(|j| j.id != job_id);
        fleet[index].bed_cleared = false;
        fleet[index].status = domain::printers::PrinterStatus::Printing;
        planned.push((job_id, printer));
    }
    // A start waits for its hub to fetch the file and hand it to the printer: the starts
    // of a pass run side by side, so the last printer does not wait for every upload before
    // its own (50 idle printers after a restart, 50 MB files: minutes, one after another).
    let turns = std::sync::Arc::new(tokio::sync::Semaphore::new(STARTS_AT_ONCE));
    let mut starts = tokio::task::JoinSet::new();
    for (job_id, printer) in planned {
        let (app, tenant, printer, turns) =
            (app.clone(), tenant.clone(), printer.clone(), turns.clone());
        starts.spawn(async move {
            let _turn = turns.acquire_owned().await;
            let started = start_queued(&app, &tenant, &job_id, &printer).await;
            (job_id, printer.id, started)
        });
    }
    while let Some(joined) = starts.join_next().await {
        let Ok((job_id, printer_id, started)) = joined else {
            continue;
        };
        match started {
            Ok(()) => pass.started.push((job_id, printer_id)),
            // Another dispatcher won this bed or this job; the next pass sees the truth.
            Err(err) => {
                tracing::info!(tenant_id = %tenant, %job_id, %printer_id, error = %err, "dispatch skipped a start")
            }
        }
    }
    let mut conn = app.store.conn().await?;
    for job in &queued {
        let reason = domain::dispatch::why_waiting(&fleet, &job.needs)
            .map(|r| serde_json::to_string(&r).unwrap_or_default());
        let before = rows
            .iter()
            .find(|r| r.id == job.id)
            .and_then(|r| r.wait_reason.clone());
        if reason != before {
            store::jobs::set_wait_reason(
                &mut conn,
                tenant,
                &job.id,
                reason.as_deref(),
                &store::now_text(),
            )
            .await?;
        }
    }
    drop(conn);
    app.farm
        .ask_filament_changes(tenant, &fleet, &queued)
        .await?;
    pass.waiting = queued.len();
    Ok(pass)
}

/// The dispatcher's view of a queued job.
fn queued_job(
    row: &store::jobs::QueuedForDispatch,
    now: chrono::DateTime<chrono::Utc>,
) -> QueuedJob {
    let submitted_at = row
        .time_submitted
        .as_deref()
        .and_then(domain::time::parse)
        .or_else(|| domain::time::parse(&row.created_at))
        .unwrap_or(now);
    let input = PriorityInput {
        base: Priority::new(row.priority).unwrap_or_default(),
        submitted_at,
        order_priority: row.order_priority,
        sku_low_on_stock: row.low_on_stock == 1,
        needs_assembly: row.requires_assembly == 1,
    };
    QueuedJob {
        id: row.id.clone(),
        printer_id: row.printer_id.clone().map(PrinterId::from_stored),
        priority: domain::jobs::effective_priority(&input, now),
        submitted_at,
        needs: needs_of(
            row.printer_model_id.as_deref(),
            row.nozzle_diameter,
            &row.filament_type,
            &row.color,
        ),
    }
}

/// Starts a queued job picked by the dispatcher.
async fn start_queued(
    app: &App,
    tenant: &TenantId,
    job_id: &str,
    printer: &Printer,
) -> Result<(), FarmError> {
    let mut conn = app.store.conn().await?;
    let job = store::jobs::get(&mut conn, tenant, job_id).await?;
    let file = store::files::get(&mut conn, tenant, &job.print_file_id).await?;
    drop(conn);
    app.farm
        .launch(tenant, &job, printer, &file)
        .await
        .map(|_| ())
}

/// A pass over `tenant` if its auto-dispatch is on.
async fn run_if_enabled(app: &App, tenant: &TenantId) -> Result<(), FarmError> {
    let mut conn = app.store.conn().await?;
    let farm = store::tenants::get(&mut conn, tenant).await?;
    drop(conn);
    if farm.auto_dispatch == 1 && farm.is_active == 1 {
        let pass = run(app, tenant).await?;
        if !pass.started.is_empty() {
            tracing::info!(tenant_id = %tenant, started = pass.started.len(), waiting = pass.waiting, "auto-dispatch started jobs");
        }
    }
    Ok(())
}

/// Runs the auto-dispatcher until `stop` fires: on request, and a sweep of every
/// auto-dispatching farm every few seconds (hubs connecting, work from other processes).
pub fn spawn(
    app: App,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut sweep = tokio::time::interval(SWEEP);
        loop {
            let farms = tokio::select! {
                _ = app.background.dispatch_woken() => app.background.take_dispatch_wanted(),
                _ = sweep.tick() => {
                    let mut conn = match app.store.conn().await {
                        Ok(conn) => conn,
                        Err(err) => { tracing::warn!(error = %err, "dispatcher can't reach the database"); continue; }
                    };
                    store::tenants::auto_dispatching(&mut conn).await.unwrap_or_default()
                }
                _ = stop.changed() => return,
            };
            for tenant in farms {
                if let Err(err) = run_if_enabled(&app, &tenant).await {
                    tracing::warn!(tenant_id = %tenant, error = %err, "dispatch pass failed");
                }
            }
        }
    })
}
