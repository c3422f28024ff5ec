//! Print jobs: queueing a plate of a print file, changing a queued job, assigning it, and
//! every move of the state machine. A move is checked by `domain::jobs`, applied only if
//! the job is still in the status it was read in (compare-and-set), and its print event is
//! queued in the same transaction. A move an operator asks for of a job on a printer
//! (pause, resume, cancel) goes to the printer's hub first: without a connected hub it is
//! refused, not pretended.

use super::error::OrMissing;
use super::{Farm, FarmError, FarmResult};
use crate::hubs::PrinterAction;
use crate::queue::NewMessage;
use domain::jobs::{
    AskedMaterial, JobStatus, PlateFacts, PrintEventKind, Priority, TransitionError, event_of_move,
    record_of_move, transition,
};
use domain::{JobId, TenantId};
use serde::{Deserialize, Serialize};
use store::StoreError;
use store::jobs::{Job, NewJob};
use store::printers::{Printer, PrinterKey};

/// The queue print events go to (handled by the print-events worker).
pub const PRINT_EVENTS: &str = "print-events";

/// A job's move as queued for the print-events worker: one type for every producer and
/// the consumer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrintEvent {
    /// Stays with the event through retries and dead-letter replays, so its effects
    /// happen once. Absent in events queued before ids were added: the message id stands in.
    #[serde(default)]
    pub event_id: Option<String>,
    /// What happened.
    pub event: PrintEventKind,
    /// The job.
    pub job_id: String,
    /// Its farm.
    pub tenant_id: TenantId,
    /// The status it left.
    pub from: JobStatus,
    /// The status it reached.
    pub to: JobStatus,
    /// The printer at the time of the event (a retried job has none any more).
    #[serde(default)]
    pub printer_id: Option<String>,
    /// The reason at the time of the event.
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// When.
    #[serde(default)]
    pub at: Option<String>,
}

/// What a request to queue a plate asks for.
#[derive(Debug, Clone, Default)]
pub struct JobRequest {
    /// The print file.
    pub print_file_id: String,
    /// Its plate (1 when not given).
    pub plate_index: i64,
    /// Base priority.
    pub priority: Priority,
    /// Units wanted (the file's units per print when not given).
    pub number_of_units: Option<i64>,
    /// Units one print yields (the SKU's, else the file's, when not given).
    pub quantity_per_print: Option<i64>,
    /// Colour, filament type and material over the plate's.
    pub color: Option<String>,
    /// Filament type over the plate's.
    pub filament_type: Option<String>,
    /// Material over the plate's.
    pub material_type: Option<String>,
    /// The product it makes (the file's when not given).
    pub product_id: Option<String>,
    /// The SKU it makes: product, units per print and assembly come from it.
    pub product_sku_id: Option<String>,
    /// Whether the prints need assembly (the SKU's when not given).
    pub requires_assembly: Option<bool>,
    /// A printer to assign it to at once (id or the farm's number).
    pub printer: Option<String>,
    /// Who asked.
    pub submitted_by: Option<String>,
}

/// A change to a queued job.
#[derive(Debug, Clone, Default)]
pub struct JobChange {
    /// New base priority.
    pub priority: Option<Priority>,
    /// New number of units.
    pub number_of_units: Option<i64>,
    /// New colour.
    pub color: Option<String>,
}

/// What an assignment did: the job, its printer, and the score when the rules chose it.
#[derive(Debug, Clone)]
pub struct Assigned {
    /// The job, now assigned.
    pub job: Job,
    /// The printer.
    pub printer: Printer,
    /// The dispatch score of the printer, when the rules picked it.
    pub score: Option<i64>,
}

fn refused(err: TransitionError) -> FarmError {
    FarmError::refused("INVALID_TRANSITION", Some("status"), err.to_string())
}

fn job_changed(message: &str) -> FarmError {
    FarmError::refused("JOB_CHANGED", Some("status"), message)
}

fn not_queued(job: &Job, what: &str) -> FarmError {
    FarmError::refused(
        "JOB_NOT_QUEUED",
        Some("status"),
        format!("a {} job can't {what}; only queued jobs can", job.status),
    )
}

/// `asked` as one print of `sku`: its file, plate and units per print; refused when the SKU
/// (and its product) name no file.
fn of_sku(sku: &store::catalogue::SkuForPrint, mut asked: JobRequest) -> FarmResult<JobRequest> {
    let Some(file) = sku.print_file_id.clone() else {
        return Err(FarmError::refused(
            "SKU_HAS_NO_PRINT_FILE",
            Some("sku_id"),
            format!(
                "SKU {} names no print file (nor does its product): set its print_file_id first",
                sku.sku
            ),
        ));
    };
    asked.print_file_id = file;
    asked.plate_index = sku.plate_index;
    asked.product_sku_id = Some(sku.id.clone());
    asked.number_of_units = Some(sku.quantity);
    Ok(asked)
}

/// Plate `index` of a file's stored 3MF metadata (the parsed 3MF as JSON).
fn plate_of(metadata: Option<&str>, index: i64) -> Option<serde_json::Value> {
    let mut metadata: serde_json::Value = serde_json::from_str(metadata?).ok()?;
    let plates = metadata["project"]["plates"].as_array_mut()?;
    let at = plates
        .iter()
        .position(|p| p["index"].as_i64() == Some(index))?;
    Some(plates.swap_remove(at))
}

/// What the plate `index` of a file's stored 3MF metadata says.
fn plate_facts(metadata: Option<&str>, index: i64) -> Option<PlateFacts> {
    let plate = plate_of(metadata, index)?;
    let filament = &plate["filaments"][0];
    Some(PlateFacts {
        filament_type: filament["filament_type"].as_str().map(str::to_string),
        colour: filament["colour"].as_str().map(str::to_string),
        weight_grams: plate["weight_grams"].as_f64(),
        seconds: plate["prediction_seconds"]
            .as_i64()
            .or_else(|| plate["estimated_seconds"].as_i64()),
    })
}

/// A filament a plate uses, as spending it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct UsedFilament {
    /// Its type ("PLA").
    pub filament_type: String,
    /// Its colour (`#RRGGBB`).
    pub colour: String,
    /// Grams the whole plate uses of it.
    pub grams: f64,
}

/// The filaments plate `index` of a file's stored 3MF metadata uses, with their grams. A
/// plate of one filament prints in the job's own type and colour when the job names a
/// colour code (an operator may queue a plate in another colour than it was sliced in).
pub fn plate_filaments(metadata: Option<&str>, index: i64, job: (&str, &str)) -> Vec<UsedFilament> {
    let Some(plate) = plate_of(metadata, index) else {
        return Vec::new();
    };
    let listed = plate["filaments"].as_array().cloned().unwrap_or_default();
    let single = listed.len() == 1;
    listed
        .iter()
        .filter_map(|f| {
            let grams = f["used_grams"].as_f64().filter(|g| *g > 0.0)?;
            let (mut filament_type, mut colour) = (
                f["filament_type"].as_str()?.to_string(),
                f["colour"].as_str()?.to_string(),
            );
            if single && domain::materials::colour_key(job.1).is_some() {
                (filament_type, colour) = (job.0.to_string(), job.1.to_string());
            }
            Some(UsedFilament {
                filament_type,
                colour,
                grams,
            })
        })
        .collect()
}

/// The farm's sliced file `file_id` and what its plate `plate` says, or why it can't print.
async fn printable_plate(
    conn: &mut store::Conn,
    tenant: &TenantId,
    file_id: &str,
    plate: i64,
) -> FarmResult<(store::files::PrintFile, PlateFacts)> {
    let file = store::files::get(conn, tenant, file_id.trim())
        .await
        .or_invalid("print_file_id", "no print file with this id in this farm")?;
    if file.is_sliced == 0 {
        return Err(FarmError::refused(
            "FILE_NOT_SLICED",
            Some("print_file_id"),
            format!(
                "'{}' is a project file without G-code; slice it in Bambu Studio and upload the sliced file",
                file.name
            ),
        ));
    }
    let facts = plate_facts(file.metadata_json.as_deref(), plate).ok_or_else(|| {
        FarmError::invalid("plate_index", format!("the file has no plate {plate}"))
    })?;
    Ok((file, facts))
}

/// A job's values from the request, its file's plate and its SKU (which names what the
/// print makes: its product, units per print and assembly).
async fn prepare(
    conn: &mut store::Conn,
    tenant: &TenantId,
    asked: &JobRequest,
    sku: Option<&store::catalogue::SkuForPrint>,
) -> FarmResult<NewJob> {
    let (file, plate) =
        printable_plate(conn, tenant, &asked.print_file_id, asked.plate_index).await?;
    let defaults = domain::jobs::defaults_from_plate(
        &plate,
        AskedMaterial {
            filament_type: asked.filament_type.as_deref(),
            material_type: asked.material_type.as_deref(),
            colour: asked.color.as_deref(),
        },
    );
    let product_id = match sku {
        Some(sku) => Some(sku.product_id.clone()),
        None => asked
            .product_id
            .clone()
            .filter(|p| !p.is_empty())
            .or(file.product_id.clone()),
    };
    let product_name = match (sku, &product_id) {
        (Some(sku), _) => Some(sku.product_name.clone()),
        (None, Some(id)) => Some(
            store::catalogue::product_name(conn, tenant, id)
                .await
                .or_invalid("product_id", "no such product in this farm")?,
        ),
        (None, None) => None,
    };
    Ok(NewJob {
        print_file_id: file.id.clone(),
        file_name: file.name.clone(),
        plate_index: asked.plate_index,
        submitted_by: asked.submitted_by.clone(),
        sku_name: Some(
            sku.map(|s| s.sku.clone()).unwrap_or_else(|| {
                domain::jobs::sku_name(&defaults.colour, &defaults.filament_type)
            }),
        ),
        color: defaults.colour,
        filament_type: defaults.filament_type,
        material_type: defaults.material_type,
        number_of_units: asked.number_of_units.unwrap_or(file.number_of_units),
        quantity_per_print: asked
            .quantity_per_print
            .unwrap_or(sku.map_or(file.number_of_units, |s| s.quantity)),
        filament_needed_grams: defaults.filament_grams,
        estimated_print_time_minutes: defaults.minutes,
        priority: asked.priority.value(),
        product_id,
        product_sku_id: sku.map(|s| s.id.clone()),
        product_name,
        requires_assembly: asked
            .requires_assembly
            .unwrap_or(sku.is_some_and(|s| s.requires_assembly == 1)),
        order_id: None,
        order_item_id: None,
    })
}

impl Farm {
    /// The farm's job.
    pub async fn job(&self, tenant: &TenantId, id: &JobId) -> FarmResult<Job> {
        let mut conn = self.store.conn().await?;
        store::jobs::get(&mut conn, tenant, id.as_str())
            .await
            .or_missing("JOB_NOT_FOUND", "print job")
    }

    /// The farm's printer a request names in `printer_id` (by id or the farm's number).
    pub async fn named_printer(
        &self,
        conn: &mut store::Conn,
        tenant: &TenantId,
        named: &str,
    ) -> FarmResult<Printer> {
        const UNKNOWN: &str = "no printer with this id in this farm";
        let key =
            PrinterKey::parse(named).ok_or_else(|| FarmError::invalid("printer_id", UNKNOWN))?;
        store::printers::get(conn, tenant, &key)
            .await
            .or_invalid("printer_id", UNKNOWN)
    }

    /// Queues a plate of a print file, with the defaults its 3MF gives; assigned at once
    /// when a printer is named (both or neither, so a retried request never queues twice).
    pub async fn queue_job(&self, tenant: &TenantId, asked: JobRequest) -> FarmResult<Job> {
        let mut conn = self.store.conn().await?;
        // The printer is checked before anything is queued, so a wrong one queues nothing.
        let printer = match asked.printer.as_deref().map(str::trim) {
            Some(named) if !named.is_empty() => {
                Some(self.named_printer(&mut conn, tenant, named).await?)
            }
            _ => None,
        };
        let sku = match asked.product_sku_id.as_deref().filter(|p| !p.is_empty()) {
            Some(id) => Some(
                store::catalogue::sku_for_print(&mut conn, tenant, id)
                    .await
                    .or_invalid("product_sku_id", "no such SKU in this farm")?,
            ),
            None => None,
        };
        let new = prepare(&mut conn, tenant, &asked, sku.as_ref()).await?;
        let now = store::now_text();
        let job = match &printer {
            // One INSERT is atomic by itself and queues no event: no BEGIN/COMMIT round trips.
            None => store::jobs::create(&mut conn, tenant, &new, &now).await?,
            Some(printer) => {
                drop(conn);
                let mut tx = self.store.begin().await?;
                let job = store::jobs::create(&mut tx, tenant, &new, &now).await?;
                let job =
                    store::jobs::assign(&mut tx, tenant, &job.id, Some(printer), &now).await?;
                tx.commit().await?;
                job
            }
        };
        self.wake_dispatcher(tenant);
        tracing::info!(tenant_id = %tenant, job_id = %job.id, file_id = %new.print_file_id, "job queued");
        Ok(job)
    }

    /// Queues the prints that make `quantity` units of the farm's SKU `sku_id`: as many
    /// jobs as prints are needed (`domain::stock::prints_needed`), each of the SKU's file
    /// and plate, all or none.
    pub async fn queue_for_sku(
        &self,
        tenant: &TenantId,
        sku_id: &str,
        quantity: i64,
        mut asked: JobRequest,
    ) -> FarmResult<Vec<Job>> {
        let mut conn = self.store.conn().await?;
        let sku = store::catalogue::sku_for_print(&mut conn, tenant, sku_id)
            .await
            .or_invalid("sku_id", "no such SKU in this farm")?;
        let prints = domain::stock::prints_needed(quantity, sku.quantity).ok_or_else(|| {
            FarmError::invalid(
                "quantity",
                format!(
                    "quantity must be from 1 to {} units",
                    domain::stock::MAX_UNITS_PER_REQUEST
                ),
            )
        })?;
        asked = of_sku(&sku, asked)?;
        let new = prepare(&mut conn, tenant, &asked, Some(&sku)).await?;
        drop(conn);
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let mut jobs = Vec::with_capacity(prints as usize);
        for _ in 0..prints {
            jobs.push(store::jobs::create(&mut tx, tenant, &new, &now).await?);
        }
        tx.commit().await?;
        self.wake_dispatcher(tenant);
        tracing::info!(tenant_id = %tenant, sku_id = %sku.id, quantity, prints, "jobs queued for a SKU");
        Ok(jobs)
    }

    /// The job of one print of `sku` (its file and plate) that covers the order line
    /// `item_id` of `order_id`, ready to insert in the caller's transaction.
    pub async fn print_for_line(
        &self,
        conn: &mut store::Conn,
        tenant: &TenantId,
        sku: &store::catalogue::SkuForPrint,
        order_id: &str,
        item_id: &str,
    ) -> FarmResult<NewJob> {
        let asked = of_sku(sku, JobRequest::default())?;
        let mut new = prepare(conn, tenant, &asked, Some(sku)).await?;
        new.order_id = Some(order_id.to_string());
        new.order_item_id = Some(item_id.to_string());
        Ok(new)
    }

    /// Checks that the farm's file `file_id` can print plate `plate` (what a SKU names).
    pub async fn check_printable(
        &self,
        tenant: &TenantId,
        file_id: &str,
        plate: i64,
    ) -> FarmResult<()> {
        let mut conn = self.store.conn().await?;
        printable_plate(&mut conn, tenant, file_id, plate)
            .await
            .map(|_| ())
    }

    /// Changes a queued job's priority, units or colour.
    pub async fn change_job(
        &self,
        tenant: &TenantId,
        id: &JobId,
        change: JobChange,
    ) -> FarmResult<Job> {
        let job = self.job(tenant, id).await?;
        if job.status != JobStatus::Queued {
            return Err(not_queued(&job, "be changed"));
        }
        let mut conn = self.store.conn().await?;
        Ok(store::jobs::update(
            &mut conn,
            tenant,
            &job.id,
            change.priority.map(|p| p.value()),
            change.number_of_units,
            change.color.as_deref().filter(|c| !c.trim().is_empty()),
            &store::now_text(),
        )
        .await?)
    }

    /// Deletes a job that does not hold a printer.
    pub async fn delete_job(&self, tenant: &TenantId, id: &JobId) -> FarmResult<Job> {
        let job = self.job(tenant, id).await?;
        // One transaction: the delete and the analytics day it marks stale commit together.
        let mut tx = self.store.begin().await?;
        store::jobs::delete(&mut tx, tenant, &job.id)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => FarmError::refused(
                    "JOB_ACTIVE",
                    Some("status"),
                    format!("a {} job holds its printer; cancel it first", job.status),
                ),
                StoreError::NotFound => FarmError::NotFound {
                    code: "JOB_NOT_FOUND",
                    what: "print job",
                },
                other => other.into(),
            })?;
        tx.commit().await?;
        Ok(job)
    }

    /// A move someone asks for: checked by the state machine; a job on a printer changes
    /// only if its printer does (pause, resume and cancel go to the hub first).
    pub async fn request_move(
        &self,
        tenant: &TenantId,
        id: &JobId,
        to: JobStatus,
        failure_reason: Option<String>,
    ) -> FarmResult<Job> {
        let job = self.job(tenant, id).await?;
        transition(job.status, to).map_err(refused)?;
        let action = match (job.status.is_active(), to) {
            (true, JobStatus::Paused) => Some(PrinterAction::Pause),
            (true, JobStatus::Printing) if job.status == JobStatus::Paused => {
                Some(PrinterAction::Resume)
            }
            (true, JobStatus::Cancelled) => Some(PrinterAction::Stop),
            _ => None,
        };
        if let Some(action) = action {
            let printer = self
                .printer_of(tenant, &job)
                .await?
                .ok_or_else(|| FarmError::refused("HUB_OFFLINE", None, "the job has no printer"))?;
            self.act_on_printer(&printer, action).await?;
        }
        self.record_move(tenant, &job, to, None, failure_reason)
            .await
    }

    /// Records progress of a job; the first report of an uploaded job starts its print.
    pub async fn report_progress(
        &self,
        tenant: &TenantId,
        id: &JobId,
        progress: i64,
    ) -> FarmResult<Job> {
        let job = self.job(tenant, id).await?;
        if let Some(to) = domain::jobs::status_for_first_progress(job.status) {
            return self
                .record_move(tenant, &job, to, Some(progress), None)
                .await;
        }
        if job.status != JobStatus::Printing {
            return Err(FarmError::refused(
                "INVALID_TRANSITION",
                Some("status"),
                format!(
                    "a {} job has no progress to report; only uploaded or printing jobs do",
                    job.status
                ),
            ));
        }
        self.record_progress(tenant, &job, progress).await
    }

    /// Records progress of a printing job (no move, no event).
    pub async fn record_progress(
        &self,
        tenant: &TenantId,
        job: &Job,
        progress: i64,
    ) -> FarmResult<Job> {
        let mut conn = self.store.conn().await?;
        Ok(
            store::jobs::set_progress(&mut conn, tenant, &job.id, progress, &store::now_text())
                .await?,
        )
    }

    /// Records a move that happened (the printer or hub reported it, or a rule made it) in
    /// its own transaction, with its event; wakes the worker, and the dispatcher for a job
    /// back in the queue.
    pub async fn record_move(
        &self,
        tenant: &TenantId,
        job: &Job,
        to: JobStatus,
        progress: Option<i64>,
        failure_reason: Option<String>,
    ) -> FarmResult<Job> {
        let now = store::now_text();
        let mut tx = self.store.begin().await?;
        let moving = Moving {
            to,
            progress,
            failure_reason,
        };
        let moved = self
            .record_move_in(&mut tx, tenant, job, moving, &now)
            .await?;
        tx.commit().await?;
        self.background.work_queued();
        if to == JobStatus::Queued {
            self.wake_dispatcher(tenant);
        }
        Ok(moved)
    }

    /// Assigns a queued job to the named printer, or to the best one by the scoring rules.
    pub async fn assign_job(
        &self,
        tenant: &TenantId,
        id: &JobId,
        named: Option<&str>,
    ) -> FarmResult<Assigned> {
        let job = self.job(tenant, id).await?;
        if job.status != JobStatus::Queued {
            return Err(not_queued(&job, "be assigned"));
        }
        let mut conn = self.store.conn().await?;
        let (printer, score) = match named.filter(|p| !p.is_empty()) {
            Some(named) => (self.named_printer(&mut conn, tenant, named).await?, None),
            None => {
                let file = store::files::get(&mut conn, tenant, &job.print_file_id).await?;
                let needs = super::launch::needs(&job, &file);
                let query = store::printers::PrinterQuery::display_order();
                let (printers, _) =
                    store::printers::list(&mut conn, tenant, &query, 1000, 0).await?;
                let all: Vec<_> = printers.iter().map(|p| self.facts(p)).collect();
                let Some((best, score)) = domain::dispatch::best_printer(&all, &needs) else {
                    let reason = domain::dispatch::why_waiting(&all, &needs);
                    let message = reason
                        .as_ref()
                        .map(|r| r.message())
                        .unwrap_or_else(|| "no printer can take this job now".into());
                    let reason_json = reason.map(|r| serde_json::to_string(&r).unwrap_or_default());
                    store::jobs::set_wait_reason(
                        &mut conn,
                        tenant,
                        &job.id,
                        reason_json.as_deref(),
                        &store::now_text(),
                    )
                    .await?;
                    return Err(FarmError::refused("NO_PRINTER_AVAILABLE", None, message));
                };
                let printer = printers.into_iter().find(|p| p.id == best.as_str()).ok_or(
                    FarmError::NotFound {
                        code: "PRINTER_NOT_FOUND",
                        what: "printer",
                    },
                )?;
                (printer, Some(score))
            }
        };
        let job = store::jobs::assign(
            &mut conn,
            tenant,
            &job.id,
            Some(&printer),
            &store::now_text(),
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => {
                job_changed("the job left the queue while this request was made")
            }
            other => other.into(),
        })?;
        tracing::info!(tenant_id = %tenant, job_id = %job.id, printer_id = %printer.id, ?score, "job assigned");
        Ok(Assigned {
            job,
            printer,
            score,
        })
    }

    /// Sends a queued job assigned to a printer back to the dispatcher.
    pub async fn unassign_job(&self, tenant: &TenantId, id: &JobId) -> FarmResult<Job> {
        let job = self.job(tenant, id).await?;
        let mut conn = self.store.conn().await?;
        let job = store::jobs::assign(&mut conn, tenant, &job.id, None, &store::now_text())
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => not_queued(&job, "go back to the dispatcher"),
                other => other.into(),
            })?;
        drop(conn);
        self.wake_dispatcher(tenant);
        tracing::info!(tenant_id = %tenant, job_id = %job.id, "job back to the dispatcher");
        Ok(job)
    }

    /// The printer a job is on, if any.
    pub async fn printer_of(&self, tenant: &TenantId, job: &Job) -> FarmResult<Option<Printer>> {
        let Some(key) = job.printer_id.as_deref().and_then(PrinterKey::parse) else {
            return Ok(None);
        };
        let mut conn = self.store.conn().await?;
        match store::printers::get(&mut conn, tenant, &key).await {
            Ok(printer) => Ok(Some(printer)),
            Err(StoreError::NotFound) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }
}

/// A move to record: where the job goes, and what the printer said with it.
#[derive(Debug, Clone)]
pub struct Moving {
    /// The status it moves to.
    pub to: JobStatus,
    /// Progress in percent, when known.
    pub progress: Option<i64>,
    /// Why it failed, for a move to failed.
    pub failure_reason: Option<String>,
}

impl Farm {
    /// Records a move inside `tx`: compare-and-set on the status the job was read in, what the
    /// move records (`domain::jobs::record_of_move`), and its print event
    /// (`domain::jobs::event_of_move`) queued in the same transaction.
    pub async fn record_move_in(
        &self,
        tx: &mut store::Conn,
        tenant: &TenantId,
        job: &Job,
        moving: Moving,
        now: &str,
    ) -> FarmResult<Job> {
        let Moving {
            to,
            progress,
            failure_reason,
        } = moving;
        // Every move goes through here, so here it is checked: a caller holding an older
        // copy of the job (processing, say, when it thought queued) must not record a move
        // the job cannot make, such as a second start.
        if domain::jobs::transition(job.status, to).is_err() {
            return Err(job_changed(&format!(
                "the job is {} and can't move to {to}; reload it and try again",
                job.status
            )));
        }
        let record = record_of_move(
            job.status,
            to,
            progress,
            job.time_started.is_some(),
            failure_reason,
        );
        let moved = store::jobs::move_status(tx, tenant, &job.id, job.status, to, &record, now)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => job_changed(
                    "the job changed while this request was made; reload it and try again",
                ),
                other => other.into(),
            })?;
        // A bed marked cleared while the print ran would otherwise look free from this commit
        // until the worker handles the event: a dispatcher could start a job on the print.
        if domain::jobs::leaves_print_on_bed(job.status, to)
            && let Some(printer) = moved.printer_id.as_deref()
        {
            store::printers::set_bed_clear(tx, tenant, printer, false, now).await?;
        }
        let event_id = store::new_id();
        let event = PrintEvent {
            event_id: Some(event_id.clone()),
            event: event_of_move(job.status, to),
            job_id: job.id.clone(),
            tenant_id: tenant.clone(),
            from: job.status,
            to,
            printer_id: moved.printer_id.clone(),
            failure_reason: moved.failure_reason.clone(),
            at: Some(now.to_string()),
        };
        let payload = serde_json::to_value(&event).map_err(anyhow::Error::from)?;
        let message = NewMessage {
            queue: PRINT_EVENTS,
            tenant: Some(tenant),
            payload: &payload,
            dedupe_key: Some(&event_id),
            max_attempts: None,
        };
        self.queue.enqueue(tx, message, now).await?;
        tracing::info!(tenant_id = %tenant, job_id = %job.id, from = %job.status, to = %to, event = %event.event, "job moved");
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_print_event_reads_back_as_it_was_queued_and_old_events_still_read() {
        let event = PrintEvent {
            event_id: Some("e1".into()),
            event: PrintEventKind::JobFailed,
            job_id: "j1".into(),
            tenant_id: TenantId::from_stored("t1".into()),
            from: JobStatus::Printing,
            to: JobStatus::Failed,
            printer_id: Some("p1".into()),
            failure_reason: Some("spaghetti".into()),
            at: Some("2026-12-02T10:00:00.000Z".into()),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event"], "job_failed");
        assert_eq!(json["from"], "printing");
        assert_eq!(serde_json::from_value::<PrintEvent>(json).unwrap(), event);
        let old = serde_json::json!({"event": "job_completed", "job_id": "j", "tenant_id": "t", "from": "printing", "to": "completed"});
        let old: PrintEvent = serde_json::from_value(old).unwrap();
        assert_eq!(
            (old.event, old.event_id),
            (PrintEventKind::JobCompleted, None)
        );
    }

    #[test]
    fn a_plate_is_read_from_the_stored_metadata() {
        let metadata = r##"{"project": {"plates": [{"index": 2, "weight_grams": 4.2, "prediction_seconds": 600,
            "filaments": [{"filament_type": "PETG", "colour": "#00FF00"}]}]}}"##;
        let plate = plate_facts(Some(metadata), 2).unwrap();
        assert_eq!(plate.filament_type.as_deref(), Some("PETG"));
        assert_eq!(plate.seconds, Some(600));
        assert!(plate_facts(Some(metadata), 1).is_none());
        assert!(plate_facts(None, 1).is_none());
    }
}
