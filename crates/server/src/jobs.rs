//! Print jobs: queue from a file's plate (defaults from its 3MF metadata), list, read,
//! change, delete, and the state machine's moves (cancel, pause, resume, complete,
//! fail, retry, progress). Each move is checked by `domain::jobs`, applied only if the
//! job is still in the state the request saw, and its print event is enqueued in the
//! same transaction. Moves of a job on a printer (pause, resume, cancel) go to the
//! printer's hub first: without a connected hub they are refused, not pretended.

use crate::app::App;
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::hubs::PrinterAction;
use axum::extract::State;
use domain::TenantId;
use domain::jobs::{JobStatus, Priority, TransitionError, transition};
use serde::Deserialize;
use serde_json::{Value, json};
use store::StoreError;
use store::jobs::{Job, JobQuery, Move, NewJob, SORTABLE};

/// The queue print events go to (handled by the print-events worker).
pub const PRINT_EVENTS: &str = "print-events";

fn not_found() -> ApiError {
    ApiError::not_found("JOB_NOT_FOUND", "print job")
}

fn status_of(job: &Job) -> Result<JobStatus, ApiError> {
    job.status
        .parse()
        .map_err(|e: domain::jobs::UnknownName| ApiError::internal(anyhow::anyhow!(e.to_string())))
}

fn refused(err: TransitionError) -> ApiError {
    ApiError::Conflict {
        code: "INVALID_TRANSITION",
        field: Some("status".into()),
        message: err.to_string(),
    }
}

async fn find(app: &App, tenant: &TenantId, id: &str) -> Result<Job, ApiError> {
    let mut conn = app.store.conn().await?;
    store::jobs::get(&mut conn, tenant, id)
        .await
        .or_not_found("JOB_NOT_FOUND", "print job")
}

/// Body of job creation.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewJobBody {
    print_file_id: String,
    plate_index: Option<i64>,
    priority: Option<Value>,
    number_of_units: Option<i64>,
    color: Option<String>,
    filament_type: Option<String>,
    material_type: Option<String>,
    product_id: Option<String>,
    product_sku_id: Option<String>,
    requires_assembly: Option<bool>,
    /// A printer to assign the job to at once (id or the farm's number); empty or absent:
    /// the job is left to the dispatcher. (An addition to the original API.)
    printer_id: Option<String>,
}

/// Parses a priority given as a number or a level name.
fn parse_priority(raw: &Option<Value>) -> Result<Priority, ApiError> {
    let bad = || {
        ApiError::field(
            "priority",
            "priority is low, normal, high, urgent or a number from 0 to 1000",
        )
    };
    match raw {
        None | Some(Value::Null) => Ok(Priority::default()),
        Some(Value::Number(n)) => n.as_i64().and_then(Priority::new).ok_or_else(bad),
        Some(Value::String(s)) => s.parse::<Priority>().map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// POST /api/v1/jobs — queues a plate of a print file (operators).
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiJson(body): ApiJson<NewJobBody>,
) -> ApiResult<Job> {
    let priority = parse_priority(&body.priority)?;
    let plate_index = body.plate_index.unwrap_or(1);
    if let Some(units) = body.number_of_units.filter(|n| !(1..=10_000).contains(n)) {
        return Err(ApiError::field(
            "number_of_units",
            format!("number_of_units must be from 1 to 10000, not {units}"),
        ));
    }
    if body.print_file_id.trim().is_empty() {
        return Err(ApiError::field(
            "print_file_id",
            "print_file_id is required",
        ));
    }
    let mut conn = app.store.conn().await?;
    // The printer is checked before anything is queued, so a wrong one queues nothing.
    let printer = match body.printer_id.as_deref().map(str::trim) {
        Some(named) if !named.is_empty() => {
            Some(named_printer(&mut conn, &member.tenant, named).await?)
        }
        _ => None,
    };
    let file = store::files::get(&mut conn, &member.tenant, body.print_file_id.trim())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ApiError::field("print_file_id", "no print file with this id in this farm")
            }
            other => other.into(),
        })?;
    if file.is_sliced == 0 {
        return Err(ApiError::Conflict {
            code: "FILE_NOT_SLICED",
            field: Some("print_file_id".into()),
            message: format!(
                "'{}' is a project file without G-code; slice it in Bambu Studio and upload the sliced file",
                file.name
            ),
        });
    }
    let metadata: Value = file
        .metadata_json
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default();
    let plates = metadata["project"]["plates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let plate = plates
        .iter()
        .find(|p| p["index"].as_i64() == Some(plate_index))
        .ok_or_else(|| {
            ApiError::field(
                "plate_index",
                format!("the file has no plate {plate_index}"),
            )
        })?;
    let filament = &plate["filaments"][0];
    let filament_type = body
        .filament_type
        .clone()
        .filter(|t| !t.trim().is_empty())
        .or_else(|| filament["filament_type"].as_str().map(str::to_string));
    let material =
        domain::jobs::default_material(body.material_type.as_deref().or(filament_type.as_deref()))
            .to_string();
    let filament_type = filament_type.unwrap_or_else(|| material.clone());
    let colour = body
        .color
        .clone()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| filament["colour"].as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    // A SKU names what the print makes: its product, units per print and assembly.
    let sku_id = body.product_sku_id.clone().filter(|p| !p.is_empty());
    let sku = match &sku_id {
        Some(id) => Some(
            store::catalogue::sku_for_print(&mut conn, &member.tenant, id)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => {
                        ApiError::field("product_sku_id", "no such SKU in this farm")
                    }
                    other => other.into(),
                })?,
        ),
        None => None,
    };
    let product_id = match &sku {
        Some(sku) => Some(sku.product_id.clone()),
        None => body
            .product_id
            .clone()
            .filter(|p| !p.is_empty())
            .or(file.product_id.clone()),
    };
    let product_name = match (&sku, &product_id) {
        (Some(sku), _) => Some(sku.product_name.clone()),
        (None, Some(id)) => Some(
            store::catalogue::product_name(&mut conn, &member.tenant, id)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => {
                        ApiError::field("product_id", "no such product in this farm")
                    }
                    other => other.into(),
                })?,
        ),
        (None, None) => None,
    };
    let seconds = plate["prediction_seconds"]
        .as_i64()
        .or_else(|| plate["estimated_seconds"].as_i64());
    let new = NewJob {
        print_file_id: file.id.clone(),
        file_name: file.name.clone(),
        plate_index,
        submitted_by: Some(member.user.id.clone()),
        sku_name: Some(
            sku.as_ref()
                .map(|s| s.sku.clone())
                .unwrap_or_else(|| domain::jobs::sku_name(&colour, &filament_type)),
        ),
        color: colour,
        filament_type,
        material_type: material,
        number_of_units: body.number_of_units.unwrap_or(file.number_of_units),
        quantity_per_print: sku.as_ref().map_or(file.number_of_units, |s| s.quantity),
        filament_needed_grams: plate["weight_grams"].as_f64().map(|g| g.round() as i64),
        estimated_print_time_minutes: seconds.map(domain::jobs::estimated_minutes),
        priority: priority.value(),
        product_id,
        product_sku_id: sku_id,
        product_name,
        requires_assembly: body
            .requires_assembly
            .unwrap_or(sku.as_ref().is_some_and(|s| s.requires_assembly == 1)),
    };
    let now = store::now_text();
    let job = match &printer {
        // One INSERT is atomic by itself and queues no event: no BEGIN/COMMIT round trips.
        None => store::jobs::create(&mut conn, &member.tenant, &new, &now).await?,
        // Queued and assigned together or not at all, so a client's retry never queues twice.
        Some(printer) => {
            drop(conn);
            let mut tx = app.store.begin().await?;
            let job = store::jobs::create(&mut tx, &member.tenant, &new, &now).await?;
            let job =
                store::jobs::assign(&mut tx, &member.tenant, &job.id, Some(printer), &now).await?;
            tx.commit().await?;
            job
        }
    };
    crate::dispatch::wake(&app, &member.tenant);
    tracing::info!(tenant_id = %member.tenant, job_id = %job.id, file_id = %file.id, "job queued");
    Ok(Envelope::created(job))
}

/// Query of the job list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    page: Option<i64>,
    limit: Option<i64>,
    /// One status or several, comma-separated.
    status: Option<String>,
    printer_id: Option<String>,
    product_id: Option<String>,
    #[serde(rename = "sortBy", alias = "sort_by")]
    sort_by: Option<String>,
    #[serde(rename = "sortOrder", alias = "sort_order")]
    sort_order: Option<String>,
}

async fn list_with(
    app: &App,
    tenant: &TenantId,
    q: ListQuery,
    forced: Option<&[JobStatus]>,
) -> ApiResult<Vec<Job>> {
    let mut statuses = Vec::new();
    for s in q
        .status
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let status: JobStatus = s
            .parse()
            .map_err(|e: domain::jobs::UnknownName| ApiError::field("status", e.to_string()))?;
        statuses.push(status.as_str().to_string());
    }
    if let Some(forced) = forced {
        let allowed: Vec<String> = forced.iter().map(|s| s.as_str().to_string()).collect();
        statuses = if statuses.is_empty() {
            allowed
        } else {
            statuses
                .into_iter()
                .filter(|s| allowed.contains(s))
                .collect()
        };
        if statuses.is_empty() {
            statuses.push("none".into());
        }
    }
    let sort_by = match q.sort_by.as_deref() {
        None | Some("") => "created_at",
        Some(s) => SORTABLE.iter().copied().find(|c| *c == s).ok_or_else(|| {
            ApiError::field(
                "sortBy",
                format!("sortBy must be one of {}", SORTABLE.join(", ")),
            )
        })?,
    };
    let ascending = match q
        .sort_order
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") | Some("desc") => false,
        Some("asc") => true,
        Some(_) => {
            return Err(ApiError::field(
                "sortOrder",
                "sortOrder must be asc or desc",
            ));
        }
    };
    let paging = Paging {
        page: q.page.unwrap_or(1),
        limit: q.limit.unwrap_or(50),
    };
    let query = JobQuery {
        statuses,
        printer_id: q.printer_id.filter(|p| !p.is_empty()),
        product_id: q.product_id.filter(|p| !p.is_empty()),
        sort_by,
        ascending,
    };
    let mut conn = app.store.conn().await?;
    let (jobs, total) =
        store::jobs::list(&mut conn, tenant, &query, paging.limit(), paging.offset()).await?;
    Ok(Envelope::list(jobs, paging.meta(total)))
}

/// GET /api/v1/jobs — the farm's jobs (filters: status, printer_id, product_id; sortBy, sortOrder, page, limit).
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<Job>> {
    list_with(&app, &member.tenant, q, None).await
}

/// GET /api/v1/jobs/history — finished jobs (completed, failed, cancelled), newest first.
pub async fn history(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<Job>> {
    list_with(
        &app,
        &member.tenant,
        q,
        Some(&[
            JobStatus::Completed,
            JobStatus::Failed,
            JobStatus::Cancelled,
        ]),
    )
    .await
}

/// GET /api/v1/jobs/stats — how many jobs are in each status.
pub async fn stats(State(app): State<App>, member: Member<roles::Viewer>) -> ApiResult<Value> {
    let mut conn = app.store.conn().await?;
    let counts = store::jobs::counts_by_status(&mut conn, &member.tenant).await?;
    let mut by_status = serde_json::Map::new();
    for status in JobStatus::ALL {
        by_status.insert(status.as_str().into(), json!(0));
    }
    let mut total = 0;
    for (status, n) in counts {
        total += n;
        by_status.insert(status, json!(n));
    }
    Ok(Envelope::ok(
        json!({ "total": total, "by_status": by_status }),
    ))
}

/// GET /api/v1/jobs/{job_id} — one job.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Job> {
    Ok(Envelope::ok(find(&app, &member.tenant, &id).await?))
}

/// Body of a job update.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UpdateBody {
    priority: Option<Value>,
    number_of_units: Option<i64>,
    color: Option<String>,
}

/// PUT /api/v1/jobs/{job_id} — changes a queued job's priority, units or colour (operators).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> ApiResult<Job> {
    let job = find(&app, &member.tenant, &id).await?;
    let priority = body
        .priority
        .as_ref()
        .map(|_| parse_priority(&body.priority))
        .transpose()?;
    if body
        .number_of_units
        .is_some_and(|n| !(1..=10_000).contains(&n))
    {
        return Err(ApiError::field(
            "number_of_units",
            "number_of_units must be from 1 to 10000",
        ));
    }
    if status_of(&job)? != JobStatus::Queued {
        return Err(ApiError::Conflict {
            code: "JOB_NOT_QUEUED",
            field: Some("status".into()),
            message: format!(
                "a {} job can't be changed; only queued jobs can",
                job.status
            ),
        });
    }
    let mut conn = app.store.conn().await?;
    let updated = store::jobs::update(
        &mut conn,
        &member.tenant,
        &job.id,
        priority.map(|p| p.value()),
        body.number_of_units,
        body.color.as_deref().filter(|c| !c.trim().is_empty()),
        &store::now_text(),
    )
    .await?;
    Ok(Envelope::ok(updated))
}

/// DELETE /api/v1/jobs/{job_id} — deletes a job that does not hold a printer (operators).
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let job = find(&app, &member.tenant, &id).await?;
    let mut conn = app.store.conn().await?;
    store::jobs::delete(&mut conn, &member.tenant, &job.id)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::Conflict {
                code: "JOB_ACTIVE",
                field: Some("status".into()),
                message: format!("a {} job holds its printer; cancel it first", job.status),
            },
            StoreError::NotFound => not_found(),
            other => other.into(),
        })?;
    Ok(Envelope::ok(json!({ "id": job.id, "deleted": true })))
}

/// Tells the printer of an active job to act; 409 `HUB_OFFLINE` when its hub is not connected.
async fn command_printer(
    app: &App,
    tenant: &TenantId,
    job: &Job,
    action: PrinterAction,
) -> Result<(), ApiError> {
    let printer_id = job
        .printer_id
        .as_deref()
        .ok_or_else(|| ApiError::Conflict {
            code: "HUB_OFFLINE",
            field: None,
            message: "the job has no printer".into(),
        })?;
    let key = store::printers::PrinterKey::parse(printer_id).ok_or_else(not_found)?;
    let mut conn = app.store.conn().await?;
    let printer = store::printers::get(&mut conn, tenant, &key).await?;
    drop(conn);
    crate::printers::command(
        app,
        &printer,
        crate::printers::printer_command(&printer, action)?,
    )
    .await
}

/// Applies a checked move and enqueues its print event in the same transaction.
pub(crate) async fn apply(
    app: &App,
    tenant: &TenantId,
    job: &Job,
    to: JobStatus,
    extra: Move<'_>,
    event: &str,
) -> Result<Job, ApiError> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let moved = apply_in(&mut tx, tenant, job, to, &extra, event, &now).await?;
    tx.commit().await?;
    app.background.work_queued();
    if to == JobStatus::Queued {
        crate::dispatch::wake(app, tenant);
    }
    Ok(moved)
}

/// Moves the job (compare-and-set on its status) and enqueues its print event, inside `tx`.
pub(crate) async fn apply_in(
    tx: &mut store::Conn,
    tenant: &TenantId,
    job: &Job,
    to: JobStatus,
    extra: &Move<'_>,
    event: &str,
    now: &str,
) -> Result<Job, ApiError> {
    let moved = store::jobs::move_status(tx, tenant, &job.id, &job.status, to.as_str(), extra, now)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::Conflict {
                code: "JOB_CHANGED",
                field: Some("status".into()),
                message: "the job changed while this request was made; reload it and try again"
                    .into(),
            },
            other => other.into(),
        })?;
    // The event id stays with the event through retries and dead-letter replays, so its
    // effects happen once (`store::handled`).
    let event_id = store::new_id();
    let payload = json!({
        "event_id": event_id, "event": event, "job_id": job.id, "tenant_id": tenant,
        "from": job.status, "to": to, "printer_id": moved.printer_id,
        "failure_reason": moved.failure_reason, "at": now,
    });
    store::queue::enqueue(
        tx,
        PRINT_EVENTS,
        Some(tenant),
        &payload,
        Some(&event_id),
        now,
    )
    .await?;
    tracing::info!(tenant_id = %tenant, job_id = %job.id, from = %job.status, to = %to, "job moved");
    Ok(moved)
}

/// Checks and performs a move requested through the API.
async fn move_job(
    app: &App,
    tenant: &TenantId,
    id: &str,
    to: JobStatus,
    extra: Move<'_>,
    event: &str,
) -> ApiResult<Job> {
    let job = find(app, tenant, id).await?;
    let from = status_of(&job)?;
    transition(from, to).map_err(refused)?;
    // A job on a printer changes only if the printer does.
    let action = match (from.is_active(), to) {
        (true, JobStatus::Paused) => Some(PrinterAction::Pause),
        (true, JobStatus::Printing) if from == JobStatus::Paused => Some(PrinterAction::Resume),
        (true, JobStatus::Cancelled) => Some(PrinterAction::Stop),
        _ => None,
    };
    if let Some(action) = action {
        command_printer(app, tenant, &job, action).await?;
    }
    Ok(Envelope::ok(
        apply(app, tenant, &job, to, extra, event).await?,
    ))
}

/// POST /api/v1/jobs/{job_id}/cancel — cancels a job (on its printer too) (operators).
pub async fn cancel(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Job> {
    move_job(
        &app,
        &member.tenant,
        &id,
        JobStatus::Cancelled,
        Move::default(),
        "job_cancelled",
    )
    .await
}

/// POST /api/v1/jobs/{job_id}/pause — pauses a printing job on its printer (operators).
pub async fn pause(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Job> {
    move_job(
        &app,
        &member.tenant,
        &id,
        JobStatus::Paused,
        Move::default(),
        "job_paused",
    )
    .await
}

/// POST /api/v1/jobs/{job_id}/resume — resumes a paused job on its printer (operators).
pub async fn resume(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Job> {
    move_job(
        &app,
        &member.tenant,
        &id,
        JobStatus::Printing,
        Move::default(),
        "job_resumed",
    )
    .await
}

/// POST /api/v1/jobs/{job_id}/complete — records that a print finished (operators).
pub async fn complete(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Job> {
    let extra = Move {
        progress: Some(100),
        completed: true,
        ..Move::default()
    };
    move_job(
        &app,
        &member.tenant,
        &id,
        JobStatus::Completed,
        extra,
        "job_completed",
    )
    .await
}

/// Body of a failure report.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FailBody {
    #[serde(alias = "failure_reason", alias = "error")]
    reason: Option<String>,
}

/// POST /api/v1/jobs/{job_id}/fail — records that a print failed, with the reason (operators).
pub async fn fail(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<FailBody>,
) -> ApiResult<Job> {
    let reason = body
        .reason
        .unwrap_or_else(|| "marked failed by an operator".into());
    if reason.chars().count() > 500 {
        return Err(ApiError::field(
            "reason",
            "reason must be at most 500 characters",
        ));
    }
    let extra = Move {
        failure_reason: Some(&reason),
        completed: true,
        ..Move::default()
    };
    move_job(
        &app,
        &member.tenant,
        &id,
        JobStatus::Failed,
        extra,
        "job_failed",
    )
    .await
}

/// POST /api/v1/jobs/{job_id}/retry — puts a failed job back in the queue (operators).
pub async fn retry(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Job> {
    let extra = Move {
        requeue: true,
        ..Move::default()
    };
    move_job(
        &app,
        &member.tenant,
        &id,
        JobStatus::Queued,
        extra,
        "job_retried",
    )
    .await
}

/// Body of a progress report.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProgressBody {
    #[serde(alias = "progress")]
    progress_percentage: Option<i64>,
}

/// PUT /api/v1/jobs/{job_id}/progress — records progress; the first report after upload starts the print (operators).
pub async fn progress(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ProgressBody>,
) -> ApiResult<Job> {
    let value = body
        .progress_percentage
        .filter(|p| (0..=100).contains(p))
        .ok_or_else(|| {
            ApiError::field(
                "progress_percentage",
                "progress_percentage must be from 0 to 100",
            )
        })?;
    let job = find(&app, &member.tenant, &id).await?;
    let from = status_of(&job)?;
    if let Some(to) = domain::jobs::status_for_first_progress(from) {
        let extra = Move {
            progress: Some(value),
            started: job.time_started.is_none(),
            ..Move::default()
        };
        return Ok(Envelope::ok(
            apply(&app, &member.tenant, &job, to, extra, "job_started").await?,
        ));
    }
    if from != JobStatus::Printing {
        return Err(ApiError::Conflict {
            code: "INVALID_TRANSITION",
            field: Some("status".into()),
            message: format!(
                "a {from} job has no progress to report; only uploaded or printing jobs do"
            ),
        });
    }
    let mut conn = app.store.conn().await?;
    let job = store::jobs::set_progress(
        &mut conn,
        &member.tenant,
        &job.id,
        value,
        &store::now_text(),
    )
    .await?;
    Ok(Envelope::ok(job))
}

/// Body of an assignment.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AssignBody {
    printer_id: Option<String>,
}

/// POST /api/v1/jobs/{job_id}/assign — assigns a queued job to the named printer, or to the
/// best one by the scoring rules when none is named (operators).
pub async fn assign(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<AssignBody>,
) -> ApiResult<Value> {
    let job = find(&app, &member.tenant, &id).await?;
    if status_of(&job)? != JobStatus::Queued {
        return Err(ApiError::Conflict {
            code: "JOB_NOT_QUEUED",
            field: Some("status".into()),
            message: format!(
                "a {} job can't be assigned; only queued jobs can",
                job.status
            ),
        });
    }
    let mut conn = app.store.conn().await?;
    let file = store::files::get(&mut conn, &member.tenant, &job.print_file_id).await?;
    let needs = crate::dispatch::needs(&job, &file);
    let query = store::printers::PrinterQuery::display_order();
    let (printers, _) = store::printers::list(&mut conn, &member.tenant, &query, 1000, 0).await?;
    let chosen = match body.printer_id.as_deref().filter(|p| !p.is_empty()) {
        Some(named) => (named_printer(&mut conn, &member.tenant, named).await?, None),
        None => {
            let all: Vec<_> = printers
                .iter()
                .map(|p| crate::dispatch::facts(&app, p))
                .collect();
            let Some((best, score)) = domain::dispatch::best_printer(&all, &needs) else {
                let reason = domain::dispatch::why_waiting(&all, &needs);
                let message = reason
                    .as_ref()
                    .map(|r| r.message())
                    .unwrap_or_else(|| "no printer can take this job now".into());
                let reason_json = reason.map(|r| serde_json::to_string(&r).unwrap_or_default());
                store::jobs::set_wait_reason(
                    &mut conn,
                    &member.tenant,
                    &job.id,
                    reason_json.as_deref(),
                    &store::now_text(),
                )
                .await?;
                return Err(ApiError::Conflict {
                    code: "NO_PRINTER_AVAILABLE",
                    field: None,
                    message,
                });
            };
            let printer = printers
                .iter()
                .find(|p| p.id == best.as_str())
                .cloned()
                .ok_or_else(not_found)?;
            (printer, Some(score))
        }
    };
    let (printer, score) = chosen;
    let assigned = store::jobs::assign(
        &mut conn,
        &member.tenant,
        &job.id,
        Some(&printer),
        &store::now_text(),
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict { .. } => ApiError::Conflict {
            code: "JOB_CHANGED",
            field: Some("status".into()),
            message: "the job left the queue while this request was made".into(),
        },
        other => other.into(),
    })?;
    tracing::info!(tenant_id = %member.tenant, job_id = %job.id, printer_id = %printer.id, ?score, "job assigned");
    Ok(Envelope::ok(
        json!({ "job": assigned, "printer_id": printer.id, "score": score }),
    ))
}

/// The farm's printer a request names (by id or the farm's number), or a 400 on `printer_id`.
async fn named_printer(
    conn: &mut store::Conn,
    tenant: &TenantId,
    named: &str,
) -> Result<store::printers::Printer, ApiError> {
    let unknown = || ApiError::field("printer_id", "no printer with this id in this farm");
    let key = store::printers::PrinterKey::parse(named).ok_or_else(unknown)?;
    match store::printers::get(conn, tenant, &key).await {
        Ok(printer) => Ok(printer),
        Err(StoreError::NotFound) => Err(unknown()),
        Err(other) => Err(other.into()),
    }
}

/// POST /api/v1/jobs/{job_id}/unassign — a queued job assigned to a printer goes back to
/// the dispatcher (operators). (An addition to the original API.)
pub async fn unassign(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Job> {
    let job = find(&app, &member.tenant, &id).await?;
    let mut conn = app.store.conn().await?;
    let job = store::jobs::assign(&mut conn, &member.tenant, &job.id, None, &store::now_text())
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::Conflict {
                code: "JOB_NOT_QUEUED",
                field: Some("status".into()),
                message: format!(
                    "a {} job can't go back to the dispatcher; only queued jobs can",
                    job.status
                ),
            },
            other => other.into(),
        })?;
    drop(conn);
    crate::dispatch::wake(&app, &member.tenant);
    tracing::info!(tenant_id = %member.tenant, job_id = %job.id, "job back to the dispatcher");
    Ok(Envelope::ok(job))
}

/// POST /api/v1/jobs/{job_id}/start — sends an assigned job to its printer's hub (operators).
///
/// The printer must be available and idle, its bed confirmed cleared, and its hub
/// connected; the job becomes processing and the hub gets `print_command` with a signed
/// download link.
pub async fn start(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Job> {
    let job = find(&app, &member.tenant, &id).await?;
    transition(status_of(&job)?, JobStatus::Processing).map_err(refused)?;
    let printer_id = job
        .printer_id
        .as_deref()
        .ok_or_else(|| ApiError::Conflict {
            code: "NO_PRINTER_ASSIGNED",
            field: Some("printer_id".into()),
            message: "assign the job to a printer first".into(),
        })?;
    let mut conn = app.store.conn().await?;
    let key = store::printers::PrinterKey::parse(printer_id).ok_or_else(not_found)?;
    let printer = store::printers::get(&mut conn, &member.tenant, &key).await?;
    let file = store::files::get(&mut conn, &member.tenant, &job.print_file_id).await?;
    drop(conn);
    let printer_facts = crate::dispatch::facts(&app, &printer);
    if !domain::dispatch::is_available(&printer_facts)
        || printer_facts.status != domain::printers::PrinterStatus::Idle
    {
        return Err(ApiError::Conflict {
            code: "PRINTER_NOT_AVAILABLE",
            field: None,
            message: format!(
                "printer '{}' is {} and can't start a job now",
                printer.name, printer.status
            ),
        });
    }
    let started = crate::dispatch::launch(&app, &member.tenant, &job, &printer, &file).await?;
    Ok(Envelope::ok(started))
}
