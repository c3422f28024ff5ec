//! Starting a job on a printer: the one way a job starts, by an operator or by the
//! dispatcher.
//!
//! A start takes the printer's cleared bed and moves the job queued → processing in one
//! transaction, both compare-and-set. Two dispatchers (two server processes on one
//! database) racing for one printer or one job: one wins, the other's transaction finds the
//! bed taken or the job moved and changes nothing. Only then is the hub told.

use super::{Farm, FarmError, FarmResult};
use domain::dispatch::{JobNeeds, PrinterFacts};
use domain::jobs::{JobStatus, transition};
use domain::{JobId, TenantId};
use store::files::PrintFile;
use store::jobs::Job;
use store::printers::Printer;

/// How long the link a hub downloads the file with works.
const PRINT_LINK_LIFETIME: chrono::Duration = chrono::Duration::hours(1);

/// What a job asks of a printer: its file's model and nozzle, its material and colour.
pub fn needs_of(
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
pub fn needs(job: &Job, file: &PrintFile) -> JobNeeds {
    needs_of(
        file.printer_model_id.as_deref(),
        file.nozzle_diameter,
        &job.filament_type,
        &job.color,
    )
}

/// A report's filament slots as the dispatch rules read them (`#RRGGBB` colours).
pub fn loaded_of(slots: &[proto::status::FilamentSlot]) -> Vec<domain::dispatch::LoadedFilament> {
    slots
        .iter()
        .map(|slot| domain::dispatch::LoadedFilament {
            slot: slot.slot,
            filament_type: slot.filament_type.clone().filter(|t| !t.trim().is_empty()),
            colour_hex: slot.colour.as_deref().map(|c| {
                let hex = c.trim_start_matches('#');
                format!("#{}", &hex[..hex.len().min(6)])
            }),
            remaining: slot.remaining,
        })
        .collect()
}

fn bed_not_cleared(printer: &Printer) -> FarmError {
    FarmError::refused(
        "BED_NOT_CLEARED",
        None,
        format!(
            "the bed of printer '{}' is not confirmed cleared; clear it and mark it cleared first",
            printer.name
        ),
    )
}

impl Farm {
    /// What the dispatch rules know about a printer row (its hub's socket included).
    pub fn facts(&self, printer: &Printer) -> PrinterFacts {
        let on_hub = printer
            .hub_id
            .as_deref()
            .is_some_and(|hub| self.hubs.is_connected(hub));
        PrinterFacts {
            id: printer.printer_id(),
            name: printer.name.clone(),
            sort_order: printer.sort_order,
            model: printer.model.clone(),
            is_active: printer.is_active == 1,
            in_maintenance: printer.in_maintenance == 1,
            status: printer.status,
            is_connected: printer.is_connected == 1 && on_hub,
            on_hub,
            bed_cleared: printer.cleared == 1,
            nozzle_size: printer.nozzle_size,
            filament_type: printer.current_filament_type.clone(),
            colour_hex: printer.current_color_hex.clone(),
            build_plate: printer.current_build_plate.clone(),
            loaded: self.loaded_filaments(printer),
        }
    }

    /// The AMS tray that holds the job's filament, so the printer takes it from there: for a
    /// plate of one filament only (a multi-colour plate keeps the mapping it was sliced with).
    fn tray_for(&self, job: &Job, printer: &Printer, file: &PrintFile) -> Option<u32> {
        let used = super::jobs::plate_filaments(
            file.metadata_json.as_deref(),
            job.plate_index,
            (&job.filament_type, &job.color),
        );
        if used.len() > 1 {
            return None;
        }
        let facts = self.facts(printer);
        domain::dispatch::slot_for(&facts, &needs(job, file)).map(|slot| slot.slot)
    }

    /// The filament slots the printer's newest report lists (none before it reported).
    pub fn loaded_filaments(&self, printer: &Printer) -> Vec<domain::dispatch::LoadedFilament> {
        let tenant = TenantId::from_stored(printer.tenant_id.clone());
        self.realtime
            .printer(&tenant, &printer.id)
            .map(|status| loaded_of(&status.filaments))
            .unwrap_or_default()
    }

    /// An operator starts an assigned job: its printer must be available and idle, its bed
    /// confirmed cleared and its hub connected.
    pub async fn start_job(&self, tenant: &TenantId, id: &JobId) -> FarmResult<Job> {
        let job = self.job(tenant, id).await?;
        transition(job.status, JobStatus::Processing)
            .map_err(|e| FarmError::refused("INVALID_TRANSITION", Some("status"), e.to_string()))?;
        let printer = self.printer_of(tenant, &job).await?.ok_or_else(|| {
            FarmError::refused(
                "NO_PRINTER_ASSIGNED",
                Some("printer_id"),
                "assign the job to a printer first",
            )
        })?;
        let mut conn = self.store.conn().await?;
        let file = store::files::get(&mut conn, tenant, &job.print_file_id).await?;
        drop(conn);
        let facts = self.facts(&printer);
        if !domain::dispatch::is_available(&facts)
            || facts.status != domain::printers::PrinterStatus::Idle
        {
            return Err(FarmError::refused(
                "PRINTER_NOT_AVAILABLE",
                None,
                format!(
                    "printer '{}' is {} and can't start a job now",
                    printer.name, printer.status
                ),
            ));
        }
        self.launch(tenant, &job, &printer, &file).await
    }

    /// Starts `job` on `printer`: takes the cleared bed, moves the job to processing with
    /// its `job_started` event, then sends the hub `print_command` with a signed download
    /// link. If the hub does not take it, the job fails with the reason (and its event gives
    /// the unused bed back).
    pub async fn launch(
        &self,
        tenant: &TenantId,
        job: &Job,
        printer: &Printer,
        file: &PrintFile,
    ) -> FarmResult<Job> {
        let hub = printer
            .hub_id
            .clone()
            .filter(|hub| self.hubs.is_connected(hub))
            .ok_or_else(|| {
                FarmError::refused(
                    "HUB_OFFLINE",
                    None,
                    format!("the hub of printer '{}' is not connected", printer.name),
                )
            })?;
        let key = file.r2_key.clone().ok_or(FarmError::NotFound {
            code: "FILE_NOT_FOUND",
            what: "print file content",
        })?;
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        if !store::printers::take_cleared_bed(&mut tx, tenant, &printer.id, &now).await? {
            return Err(bed_not_cleared(printer));
        }
        // Until the hub reports it, a printer that was just sent a job still looks idle.
        if let Some(status) =
            store::printers::active_job(&mut tx, tenant, &printer.printer_id()).await?
        {
            return Err(FarmError::refused(
                "PRINTER_BUSY",
                None,
                format!("printer '{}' already has a {status} job", printer.name),
            ));
        }
        let job = if job.printer_id.as_deref() == Some(printer.id.as_str()) {
            job.clone()
        } else {
            store::jobs::assign(&mut tx, tenant, &job.id, Some(printer), &now)
                .await
                .map_err(|e| match e {
                    store::StoreError::Conflict { .. } => FarmError::refused(
                        "JOB_CHANGED",
                        Some("status"),
                        "the job left the queue meanwhile",
                    ),
                    other => other.into(),
                })?
        };
        let moved = self
            .record_move_in(
                &mut tx,
                tenant,
                &job,
                super::jobs::Moving {
                    to: JobStatus::Processing,
                    progress: None,
                    failure_reason: None,
                },
                &now,
            )
            .await?;
        tx.commit().await?;
        self.background.work_queued();

        let expires = chrono::Utc::now() + PRINT_LINK_LIFETIME;
        let token = self.links.sign(&crate::links::Grant {
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
            file_url: format!("{}/api/v1/files/download/{token}", self.public_origin),
            file_name: file.name.clone(),
            plate_index: job.plate_index,
            ams_slot: self.tray_for(&job, printer, file),
        };
        if let Err(err) = self.hubs.send(&hub, command).await {
            let reason = err.to_string();
            // The job_failed event gives the unused bed back (print_events).
            self.record_move(
                tenant,
                &moved,
                JobStatus::Failed,
                None,
                Some(reason.clone()),
            )
            .await?;
            return Err(FarmError::refused(
                "HUB_OFFLINE",
                None,
                format!("the hub did not take the job: {reason}"),
            ));
        }
        tracing::info!(tenant_id = %tenant, job_id = %job.id, printer_id = %printer.id, "job started");
        Ok(moved)
    }
}
