//! Starting jobs on printers: the one way a job starts (by an operator or by the
//! auto-dispatcher), and the per-farm auto-dispatcher.
//!
//! A start takes the printer's cleared bed and moves the job queued/assigned → processing
//! in one transaction, both compare-and-set. Two dispatchers (two server processes on one
//! database) racing for one printer or one job: one wins, the other's transaction finds
//! the bed taken or the job moved and changes nothing. Only then is the hub told.

use crate::app::App;
use crate::error::ApiError;
use domain::dispatch::{JobNeeds, PrinterFacts, QueuedJob};
use domain::jobs::{JobStatus, Priority, PriorityInput};
use domain::{PrinterId, TenantId};
use std::time::Duration;
use store::files::PrintFile;
use store::jobs::{Job, Move};
use store::printers::Printer;

/// How long the link a hub downloads the file with works.
const PRINT_LINK_LIFETIME: chrono::Duration = chrono::Duration::hours(1);
/// How often every auto-dispatching farm is looked at, whatever woke the dispatcher.
const SWEEP: Duration = Duration::from_secs(15);

/// What the dispatch rules know about a printer row.
pub(crate) fn facts(app: &App, printer: &Printer) -> PrinterFacts {
    use domain::printers::PrinterStatus;
    let on_hub = printer
        .hub_id
        .as_deref()
        .is_some_and(|hub| app.hub_link.is_connected(hub));
    PrinterFacts {
        id: printer.printer_id(),
        name: printer.name.clone(),
        sort_order: printer.sort_order,
        model: printer.model.clone(),
        is_active: printer.is_active == 1,
        in_maintenance: printer.in_maintenance == 1,
        status: printer.status.parse().unwrap_or(PrinterStatus::Offline),
        is_connected: printer.is_connected == 1 && on_hub,
        on_hub,
        bed_cleared: printer.cleared == 1,
        nozzle_size: printer.nozzle_size,
        filament_type: printer.current_filament_type.clone(),
        colour_hex: printer.current_color_hex.clone(),
        build_plate: printer.current_build_plate.clone(),
    }
}

/// What a job asks of a printer: its file's model and nozzle, its material and colour.
fn needs_of(
    model: Option<&str>,
    nozzle: Option<f64>,
    filament_type: &str,
    colour: &str,
) -> JobNeeds {
    JobNeeds {
        model: model.map(str::to_string),
        nozzle,
        filament_type: Some(filament_type.to_string()),
        colour_hex: domain::printers::HexColour::parse("color", colour)
            .ok()
            .map(|c| c.as_str().to_string()),
        build_plate: None,
    }
}

/// What a job asks of a printer, from its file's plate.
pub(crate) fn needs(job: &Job, file: &PrintFile) -> JobNeeds {
    needs_of(
        file.printer_model_id.as_deref(),
        file.nozzle_diameter,
        &job.filament_type,
        &job.color,
    )
}

fn bed_not_cleared(printer: &Printer) -> ApiError {
    ApiError::Conflict {
        code: "BED_NOT_CLEARED",
        field: None,
        message: format!(
            "the bed of printer '{}' is not confirmed cleared; clear it and mark it cleared first",
            printer.name
        ),
    }
}

/// Starts `job` on `printer`: takes the cleared bed, moves the job to processing with
/// its `job_started` event, then sends the hub `print_command` with a signed download
/// link. If the hub does not take it, the job fails with the reason (and its event gives
/// the unused bed back).
pub(crate) async fn launch(
    app: &App,
    tenant: &TenantId,
    job: &Job,
    printer: &Printer,
    file: &PrintFile,
) -> Result<Job, ApiError> {
    let hub = printer
        .hub_id
        .clone()
        .filter(|hub| app.hub_link.is_connected(hub))
        .ok_or_else(|| ApiError::Conflict {
            code: "HUB_OFFLINE",
            field: None,
            message: format!("the hub of printer '{}' is not connected", printer.name),
        })?;
    let key = file
        .r2_key
        .clone()
        .ok_or_else(|| ApiError::not_found("FILE_NOT_FOUND", "print file content"))?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    if !store::printers::take_cleared_bed(&mut tx, tenant, &printer.id, &now).await? {
        return Err(bed_not_cleared(printer));
    }
    // Until the hub reports it, a printer that was just sent a job still looks idle.
    if let Some(status) =
        store::printers::active_job(&mut tx, tenant, &printer.printer_id()).await?
    {
        return Err(ApiError::Conflict {
            code: "PRINTER_BUSY",
            field: None,
            message: format!("printer '{}' already has a {status} job", printer.name),
        });
    }
    let job = if job.printer_id.as_deref() == Some(printer.id.as_str()) {
        job.clone()
    } else {
        store::jobs::assign(&mut tx, tenant, &job.id, Some(printer), &now)
            .await
            .map_err(|e| match e {
                store::StoreError::Conflict { .. } => ApiError::Conflict {
                    code: "JOB_CHANGED",
                    field: Some("status".into()),
                    message: "the job left the queue meanwhile".into(),
                },
                other => other.into(),
            })?
    };
    let moved = crate::jobs::apply_in(
        &mut tx,
        tenant,
        &job,
        JobStatus::Processing,
        &Move::default(),
        "job_started",
        &now,
    )
    .await?;
    tx.commit().await?;
    app.background.work_queued();

    let expires = chrono::Utc::now() + PRINT_LINK_LIFETIME;
    let token = app.links.sign(&crate::links::Grant {
        purpose: "download".into(),
        tenant: tenant.to_string(),
        file: file.id.clone(),
        detail: key,
        user: None,
        expires: expires.timestamp(),
    });
    let command = crate::hubs::HubCommand::PrintCommand {
        printer_id: printer.serial_number.clone().unwrap_or_default(),
        job_id: job.id.clone(),
        file_url: format!("{}/api/v1/files/download/{token}", app.public_origin),
        file_name: file.name.clone(),
        plate_index: job.plate_index,
    };
    if let Err(err) = app.hub_link.send(&hub, command).await {
        let reason = err.to_string();
        let extra = Move {
            failure_reason: Some(&reason),
            completed: true,
            ..Move::default()
        };
        crate::jobs::apply(app, tenant, &moved, JobStatus::Failed, extra, "job_failed").await?;
        // The job_failed event gives the unused bed back (print_events).
        return Err(ApiError::Conflict {
            code: "HUB_OFFLINE",
            field: None,
            message: format!("the hub did not take the job: {reason}"),
        });
    }
    tracing::info!(tenant_id = %tenant, job_id = %job.id, printer_id = %printer.id, "job started");
    Ok(moved)
}

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
pub async fn run(app: &App, tenant: &TenantId) -> Result<Pass, ApiError> {
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
            let mut facts = facts(app, p);
            if busy.contains(&p.id) {
                facts.status = domain::printers::PrinterStatus::Printing;
            }
            facts
        })
        .collect();
    let mut pass = Pass::default();
    for (index, printer) in printers.iter().enumerate() {
        let Some(job_id) =
            domain::dispatch::next_job_for(&fleet[index], &queued).map(|j| j.id.clone())
        else {
            continue;
        };
        match start_queued(app, tenant, &job_id, printer).await {
            Ok(()) => {
                pass.started.push((job_id.clone(), printer.id.clone()));
                queued.retain(|j| j.id != job_id);
                fleet[index].bed_cleared = false;
                fleet[index].status = domain::printers::PrinterStatus::Printing;
            }
            // Another dispatcher won this bed or this job; the next pass sees the truth.
            Err(err) => {
                tracing::info!(tenant_id = %tenant, %job_id, printer_id = %printer.id, error = %err, "dispatch skipped a start")
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
        order_priority: None,
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
) -> Result<(), ApiError> {
    let mut conn = app.store.conn().await?;
    let job = store::jobs::get(&mut conn, tenant, job_id).await?;
    let file = store::files::get(&mut conn, tenant, &job.print_file_id).await?;
    drop(conn);
    launch(app, tenant, &job, printer, &file).await.map(|_| ())
}

/// Asks for a dispatch pass of the farm (it runs only if the farm has auto-dispatch on).
pub fn wake(app: &App, tenant: &TenantId) {
    app.background.dispatch_wanted(tenant);
}

/// A pass over `tenant` if its auto-dispatch is on.
async fn run_if_enabled(app: &App, tenant: &TenantId) -> Result<(), ApiError> {
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
