//! Print jobs over HTTP: each handler parses the request, calls the farm service
//! ([`crate::farm::jobs`], where the job rules live) and answers in the envelope.

use crate::app::App;
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::farm::jobs::{JobChange, JobRequest};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use domain::jobs::{JobStatus, Priority};
use domain::{JobId, TenantId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::jobs::{Job, JobQuery, SORTABLE};

pub use crate::farm::jobs::PRINT_EVENTS;

/// Body of job creation.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewJobBody {
    print_file_id: String,
    /// A SKU to make `quantity` units of: its file and plate, as many prints as needed.
    sku_id: Option<String>,
    /// Units wanted of `sku_id`.
    quantity: Option<i64>,
    plate_index: Option<i64>,
    priority: Option<Value>,
    number_of_units: Option<i64>,
    /// Units one print yields (as the original's client sends it).
    quantity_per_print: Option<i64>,
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

/// POST /api/v1/jobs — queues a plate of a print file (operators); or, given `sku_id` and
/// `quantity`, as many prints of the SKU's file and plate as make that many units (the
/// answer is then the list of jobs queued).
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiJson(body): ApiJson<NewJobBody>,
) -> Result<Response, ApiError> {
    let priority = parse_priority(&body.priority)?;
    for (field, units) in [
        ("number_of_units", body.number_of_units),
        ("quantity_per_print", body.quantity_per_print),
    ] {
        if let Some(units) = units.filter(|n| !(1..=10_000).contains(n)) {
            return Err(ApiError::field(
                field,
                format!("{field} must be from 1 to 10000, not {units}"),
            ));
        }
    }
    let request = JobRequest {
        print_file_id: body.print_file_id.clone(),
        plate_index: body.plate_index.unwrap_or(1),
        priority,
        number_of_units: body.number_of_units,
        quantity_per_print: body.quantity_per_print,
        color: body.color,
        filament_type: body.filament_type,
        material_type: body.material_type,
        product_id: body.product_id,
        product_sku_id: body.product_sku_id,
        requires_assembly: body.requires_assembly,
        printer: body.printer_id,
        submitted_by: Some(member.user.id.clone()),
    };
    if let Some(sku) = body.sku_id.filter(|s| !s.trim().is_empty()) {
        let Some(quantity) = body.quantity else {
            return Err(ApiError::field(
                "quantity",
                "quantity (units wanted) is required with sku_id",
            ));
        };
        let jobs = app
            .farm
            .queue_for_sku(&member.tenant, sku.trim(), quantity, request)
            .await?;
        return Ok(Envelope::created(jobs).into_response());
    }
    if body.print_file_id.trim().is_empty() {
        return Err(ApiError::field(
            "print_file_id",
            "print_file_id (or sku_id and quantity) is required",
        ));
    }
    Ok(Envelope::created(app.farm.queue_job(&member.tenant, request).await?).into_response())
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
    /// Only the jobs queued for this order.
    order_id: Option<String>,
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
    let mut statuses: Vec<JobStatus> = Vec::new();
    for s in q
        .status
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        statuses
            .push(s.parse().map_err(|e: domain::jobs::UnknownName| {
                ApiError::field("status", e.to_string())
            })?);
    }
    let paging = Paging {
        page: q.page.unwrap_or(1),
        limit: q.limit.unwrap_or(50),
    };
    if let Some(forced) = forced {
        statuses = if statuses.is_empty() {
            forced.to_vec()
        } else {
            statuses.retain(|s| forced.contains(s));
            if statuses.is_empty() {
                // Asked only for statuses this list never holds.
                return Ok(Envelope::list(Vec::new(), paging.meta(0)));
            }
            statuses
        };
    }
    let (sort_by, ascending) = crate::extract::parse_sort(
        q.sort_by.as_deref(),
        q.sort_order.as_deref(),
        SORTABLE,
        "created_at",
    )?;
    let query = JobQuery {
        statuses,
        printer_id: q.printer_id.filter(|p| !p.is_empty()),
        product_id: q.product_id.filter(|p| !p.is_empty()),
        order_id: q.order_id.filter(|o| !o.is_empty()),
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
        by_status.insert(status.as_str().into(), json!(n));
    }
    Ok(Envelope::ok(
        json!({ "total": total, "by_status": by_status }),
    ))
}

/// GET /api/v1/jobs/{job_id} — one job.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Job> {
    Ok(Envelope::ok(app.farm.job(&member.tenant, &id).await?))
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
    ApiPath(id): ApiPath<JobId>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> ApiResult<Job> {
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
    let change = JobChange {
        priority,
        number_of_units: body.number_of_units,
        color: body.color,
    };
    Ok(Envelope::ok(
        app.farm.change_job(&member.tenant, &id, change).await?,
    ))
}

/// DELETE /api/v1/jobs/{job_id} — deletes a job that does not hold a printer (operators).
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Value> {
    let job = app.farm.delete_job(&member.tenant, &id).await?;
    Ok(Envelope::ok(json!({ "id": job.id, "deleted": true })))
}

/// A move asked for through the API.
async fn move_job(app: &App, tenant: &TenantId, id: &JobId, to: JobStatus) -> ApiResult<Job> {
    Ok(Envelope::ok(
        app.farm.request_move(tenant, id, to, None).await?,
    ))
}

/// POST /api/v1/jobs/{job_id}/cancel — cancels a job (on its printer too) (operators).
pub async fn cancel(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Job> {
    move_job(&app, &member.tenant, &id, JobStatus::Cancelled).await
}

/// POST /api/v1/jobs/{job_id}/pause — pauses a printing job on its printer (operators).
pub async fn pause(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Job> {
    move_job(&app, &member.tenant, &id, JobStatus::Paused).await
}

/// POST /api/v1/jobs/{job_id}/resume — resumes a paused job on its printer (operators).
pub async fn resume(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Job> {
    move_job(&app, &member.tenant, &id, JobStatus::Printing).await
}

/// POST /api/v1/jobs/{job_id}/complete — records that a print finished (operators).
pub async fn complete(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Job> {
    move_job(&app, &member.tenant, &id, JobStatus::Completed).await
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
    ApiPath(id): ApiPath<JobId>,
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
    let job = app
        .farm
        .request_move(&member.tenant, &id, JobStatus::Failed, Some(reason))
        .await?;
    Ok(Envelope::ok(job))
}

/// POST /api/v1/jobs/{job_id}/retry — puts a failed job back in the queue (operators).
pub async fn retry(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Job> {
    move_job(&app, &member.tenant, &id, JobStatus::Queued).await
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
    ApiPath(id): ApiPath<JobId>,
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
    Ok(Envelope::ok(
        app.farm.report_progress(&member.tenant, &id, value).await?,
    ))
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
    ApiPath(id): ApiPath<JobId>,
    OptionalJson(body): OptionalJson<AssignBody>,
) -> ApiResult<Value> {
    let assigned = app
        .farm
        .assign_job(&member.tenant, &id, body.printer_id.as_deref())
        .await?;
    Ok(Envelope::ok(
        json!({ "job": assigned.job, "printer_id": assigned.printer.id, "score": assigned.score }),
    ))
}

/// POST /api/v1/jobs/{job_id}/unassign — a queued job assigned to a printer goes back to
/// the dispatcher (operators). (An addition to the original API.)
pub async fn unassign(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Job> {
    Ok(Envelope::ok(
        app.farm.unassign_job(&member.tenant, &id).await?,
    ))
}

/// POST /api/v1/jobs/{job_id}/start — sends an assigned job to its printer's hub (operators).
///
/// The printer must be available and idle, its bed confirmed cleared, and its hub
/// connected; the job becomes processing and the hub gets `print_command` with a signed
/// download link.
pub async fn start(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Job> {
    Ok(Envelope::ok(app.farm.start_job(&member.tenant, &id).await?))
}

/// The filters and order of the job list and history.
const JOB_FILTERS: &[(&str, crate::api::Param)] = &[
    // One status or several, comma-separated.
    ("status", crate::api::Param::Text),
    ("printer_id", crate::api::Param::Text),
    ("product_id", crate::api::Param::Text),
    ("sortBy", crate::api::Param::OneOf(store::jobs::SORTABLE)),
    crate::api::SORT_ORDER,
];

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::PAGING;
    use axum::http::Method as M;
    use domain::Role;
    use serde_json::json;
    crate::api::Routes::new()
        .add(M::GET, "/api/v1/jobs", Member(Role::Viewer), "The farm's jobs (filters: status, printer_id, product_id; sortBy, sortOrder, page, limit)", list)
        .query(PAGING)
        .query(JOB_FILTERS)
        .add(M::POST, "/api/v1/jobs", Member(Role::Operator), "Queue a plate of a print file (defaults from its 3MF; printer_id assigns it at once), or sku_id and quantity: the prints of the SKU's file and plate that make that many units", create)
        .example(json!({"print_file_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "plate_index": 1, "priority": "high", "number_of_units": 4}))
        .add(M::GET, "/api/v1/jobs/stats", Member(Role::Viewer), "Jobs per status", stats)
        .add(M::GET, "/api/v1/jobs/history", Member(Role::Viewer), "Finished jobs", history)
        .query(PAGING)
        .query(JOB_FILTERS)
        .add(M::GET, "/api/v1/jobs/{job_id}", Member(Role::Viewer), "One job", get_one)
        .add(M::PUT, "/api/v1/jobs/{job_id}", Member(Role::Operator), "Change a queued job", update)
        .example(json!({"priority": "urgent"}))
        .add(M::DELETE, "/api/v1/jobs/{job_id}", Member(Role::Operator), "Delete a job that holds no printer", delete)
        .add(M::POST, "/api/v1/jobs/{job_id}/assign", Member(Role::Operator), "Assign a queued job to a printer (named, or the best by the scoring rules)", assign)
        .add(M::POST, "/api/v1/jobs/{job_id}/unassign", Member(Role::Operator), "Send a queued job back to the dispatcher (an addition to the original API)", unassign)
        .optional_example(json!({}))
        .add(M::POST, "/api/v1/jobs/{job_id}/start", Member(Role::Operator), "Send an assigned job to its printer's hub", start)
        .add(M::POST, "/api/v1/jobs/{job_id}/cancel", Member(Role::Operator), "Cancel a job", cancel)
        .add(M::POST, "/api/v1/jobs/{job_id}/pause", Member(Role::Operator), "Pause a printing job", pause)
        .add(M::POST, "/api/v1/jobs/{job_id}/resume", Member(Role::Operator), "Resume a paused job", resume)
        .add(M::POST, "/api/v1/jobs/{job_id}/complete", Member(Role::Operator), "Record that a print finished", complete)
        .add(M::POST, "/api/v1/jobs/{job_id}/fail", Member(Role::Operator), "Record that a print failed", fail)
        .optional_example(json!({"reason": "spaghetti on layer 12"}))
        .add(M::POST, "/api/v1/jobs/{job_id}/retry", Member(Role::Operator), "Queue a failed job again", retry)
        .add(M::PUT, "/api/v1/jobs/{job_id}/progress", Member(Role::Operator), "Record progress of a print", progress)
        .example(json!({"progress_percentage": 40}))
}
