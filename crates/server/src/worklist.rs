//! The worklist, `/api/v1/worklist`: what operators do next on the floor. Tasks are made by
//! the farm (a print to collect, units to assemble, a filament to load, maintenance due) or
//! by people; moving one goes through the farm service (`farm::tasks`), so completing a
//! collection clears the bed and completing an assembly moves stock, whichever asks.

use crate::app::App;
use crate::audit::{Actor, Change};
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo, OptionalJson};
use axum::extract::State;
use domain::worklist::{TaskPriority, TaskStatus, TaskType};
use domain::{Invalid, TenantId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::worklist::{NewTask, Task, TaskFields, TaskQuery};

/// The longest title kept.
const MAX_TITLE: usize = 200;
/// The longest description or subtitle kept.
const MAX_TEXT: usize = 4000;
/// The most minutes a task may be estimated or take (a week).
const MAX_MINUTES: i64 = 7 * 24 * 60;

/// The names of a set, for the route documentation.
fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

/// The worklist's task types, as documented.
pub static TASK_TYPES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| names(TaskType::ALL, TaskType::as_str));
/// The worklist's task statuses, as documented.
pub static TASK_STATUSES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| names(TaskStatus::ALL, TaskStatus::as_str));

/// Filters of the worklist.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    #[serde(alias = "type")]
    task_type: Option<String>,
    /// One status, or `open` (pending and in progress).
    status: Option<String>,
    priority: Option<String>,
    printer_id: Option<String>,
    assigned_to: Option<String>,
    page: Option<i64>,
    limit: Option<i64>,
}

/// A named value parsed, or a field error.
fn parse<T: std::str::FromStr<Err = String>>(
    invalid: &mut Invalid,
    field: &str,
    raw: Option<&str>,
) -> Option<T> {
    let raw = raw.map(str::trim).filter(|v| !v.is_empty())?;
    invalid.take(domain::printers::parse_name(field, raw))
}

/// The list's filters, typed.
fn task_query(q: &ListQuery) -> Result<TaskQuery, ApiError> {
    let mut invalid = Invalid::default();
    let task_type = parse::<TaskType>(&mut invalid, "task_type", q.task_type.as_deref());
    let open = q.status.as_deref().map(str::trim) == Some("open");
    let status = if open {
        None
    } else {
        parse::<TaskStatus>(&mut invalid, "status", q.status.as_deref())
    };
    let priority = parse::<TaskPriority>(&mut invalid, "priority", q.priority.as_deref());
    if !invalid.0.is_empty() {
        return Err(ApiError::Validation(invalid));
    }
    let id = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Ok(TaskQuery {
        task_type,
        status,
        open,
        priority: priority.map(|p| p.as_str().to_string()),
        printer_id: id(&q.printer_id),
        assigned_to: id(&q.assigned_to),
        floor_order: false,
    })
}

/// GET /api/v1/worklist — the farm's tasks, newest first (filters: task_type, status or
/// `open`, priority, printer_id, assigned_to; paged).
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<Task>> {
    let query = task_query(&q)?;
    let paging = Paging {
        page: q.page.unwrap_or(1),
        limit: q.limit.unwrap_or(50),
    };
    let mut conn = app.store.conn().await?;
    let (rows, total) = store::worklist::list(
        &mut conn,
        &member.tenant,
        &query,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Envelope::list(rows, paging.meta(total)))
}

/// GET /api/v1/worklist/stats — the worklist in figures.
pub async fn stats(State(app): State<App>, member: Member<roles::Viewer>) -> ApiResult<Value> {
    let now = chrono::Utc::now();
    let today = now.format("%Y-%m-%dT00:00:00.000Z").to_string();
    let mut conn = app.store.conn().await?;
    let figures = store::worklist::figures(
        &mut conn,
        &member.tenant,
        &domain::time::format(now),
        &today,
    )
    .await?;
    let by = |pairs: &[(String, i64)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
    };
    Ok(Envelope::ok(json!({
        "total": figures.total,
        "pending": figures.pending,
        "in_progress": figures.in_progress,
        "completed": figures.completed,
        "cancelled": figures.cancelled,
        "overdue": figures.overdue,
        "completed_today": figures.completed_today,
        "average_time_minutes": figures.average_minutes,
        "open_by_type": by(&figures.open_by_type),
        "open_by_priority": by(&figures.open_by_priority),
    })))
}

/// A task as a client sends it (a change names only what changes; `null` clears an
/// optional field).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskBody {
    #[serde(alias = "type")]
    task_type: Option<String>,
    title: Option<String>,
    #[serde(deserialize_with = "crate::extract::given")]
    subtitle: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    description: Option<Option<String>>,
    priority: Option<String>,
    #[serde(deserialize_with = "crate::extract::given")]
    printer_id: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    assigned_to: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    due_date: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    estimated_time_minutes: Option<Option<i64>>,
    #[serde(deserialize_with = "crate::extract::given")]
    metadata: Option<Option<Value>>,
    /// Moves the task too (PUT/PATCH of the original's client).
    status: Option<String>,
    actual_time_minutes: Option<i64>,
}

/// Minutes from 0 to [`MAX_MINUTES`].
fn minutes(invalid: &mut Invalid, field: &str, value: i64) -> i64 {
    if !(0..=MAX_MINUTES).contains(&value) {
        invalid.add(
            field,
            format!("{field} must be from 0 to {MAX_MINUTES} minutes"),
        );
    }
    value
}

/// The fields a body gives over `base` (a new task's defaults, or the stored task),
/// checked; printers and members must be the farm's own.
async fn fields_of(
    app: &App,
    tenant: &TenantId,
    body: &TaskBody,
    base: TaskFields,
) -> Result<TaskFields, ApiError> {
    let mut invalid = Invalid::default();
    let mut fields = base;
    if let Some(t) = parse::<TaskType>(&mut invalid, "task_type", body.task_type.as_deref()) {
        fields.task_type = t.as_str().into();
    }
    if let Some(p) = parse::<TaskPriority>(&mut invalid, "priority", body.priority.as_deref()) {
        fields.priority = p.as_str().into();
    }
    if let Some(title) = &body.title {
        fields.title = invalid.text("title", title, MAX_TITLE).unwrap_or_default();
    }
    if fields.title.is_empty() {
        invalid.add("title", "title is required");
    }
    if fields.task_type.is_empty() && !invalid.0.iter().any(|e| e.field == "task_type") {
        invalid.add("task_type", "task_type is required");
    }
    let optional = |invalid: &mut Invalid,
                    field,
                    given: &Option<Option<String>>,
                    stored: Option<String>| match given {
        None => stored,
        Some(None) => None,
        Some(Some(v)) => invalid.text(field, v, MAX_TEXT),
    };
    fields.subtitle = optional(
        &mut invalid,
        "subtitle",
        &body.subtitle,
        fields.subtitle.take(),
    );
    fields.description = optional(
        &mut invalid,
        "description",
        &body.description,
        fields.description.take(),
    );
    fields.printer_id = optional(
        &mut invalid,
        "printer_id",
        &body.printer_id,
        fields.printer_id.take(),
    );
    fields.assigned_to = optional(
        &mut invalid,
        "assigned_to",
        &body.assigned_to,
        fields.assigned_to.take(),
    );
    match &body.due_date {
        None => {}
        Some(None) => fields.due_date = None,
        Some(Some(raw)) => match crate::orders::parse_order_date("due_date", raw) {
            Ok(at) => fields.due_date = Some(at),
            Err(e) => invalid.0.extend(e.0),
        },
    }
    match body.estimated_time_minutes {
        None => {}
        Some(None) => fields.estimated_time_minutes = None,
        Some(Some(m)) => {
            fields.estimated_time_minutes = Some(minutes(&mut invalid, "estimated_time_minutes", m))
        }
    }
    match &body.metadata {
        None => {}
        Some(None) => fields.metadata = None,
        Some(Some(value)) if value.is_object() => fields.metadata = Some(value.to_string()),
        Some(Some(_)) => invalid.add("metadata", "metadata must be an object"),
    }
    if fields
        .metadata
        .as_ref()
        .is_some_and(|m| m.len() > 16 * 1024)
    {
        invalid.add("metadata", "metadata must be at most 16 KiB");
    }
    if !invalid.0.is_empty() {
        return Err(ApiError::Validation(invalid));
    }
    let mut conn = app.store.conn().await?;
    if let Some(printer) = &fields.printer_id {
        let key = store::printers::PrinterKey::parse(printer)
            .ok_or_else(|| ApiError::field("printer_id", "no such printer in this farm"))?;
        match store::printers::get(&mut conn, tenant, &key).await {
            Ok(found) => fields.printer_id = Some(found.id),
            Err(store::StoreError::NotFound) => {
                return Err(ApiError::field(
                    "printer_id",
                    "no such printer in this farm",
                ));
            }
            Err(other) => return Err(other.into()),
        }
    }
    if let Some(user) = &fields.assigned_to {
        let user = domain::UserId::from_stored(user.clone());
        match store::members::get(&mut conn, tenant, &user).await {
            Ok(_) => {}
            Err(store::StoreError::NotFound) => {
                return Err(ApiError::field("assigned_to", "not a member of this farm"));
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(fields)
}

/// A status to move to, parsed.
fn status_of(raw: &str) -> Result<TaskStatus, ApiError> {
    raw.parse::<TaskStatus>()
        .map_err(|message| ApiError::field("status", message))
}

/// GET /api/v1/worklist/{task_id} — one task.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Task> {
    Ok(Envelope::ok(find(&app, &member.tenant, &id).await?))
}

async fn find(app: &App, tenant: &TenantId, id: &str) -> Result<Task, ApiError> {
    let mut conn = app.store.conn().await?;
    use crate::error::OrNotFound;
    store::worklist::get(&mut conn, tenant, id)
        .await
        .or_not_found("TASK_NOT_FOUND", "task")
}

/// POST /api/v1/worklist — adds a task (operators).
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiJson(body): ApiJson<TaskBody>,
) -> ApiResult<Task> {
    let base = TaskFields {
        priority: TaskPriority::Medium.as_str().into(),
        ..TaskFields::default()
    };
    let fields = fields_of(&app, &member.tenant, &body, base).await?;
    let metadata: Option<Value> = fields
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok());
    let actor = Actor::member(&member, client);
    let task = app
        .farm
        .create_task(
            &member.tenant,
            &NewTask {
                task_type: &fields.task_type,
                title: &fields.title,
                subtitle: fields.subtitle.as_deref(),
                description: fields.description.as_deref(),
                priority: &fields.priority,
                printer_id: fields.printer_id.as_deref(),
                assigned_to: fields.assigned_to.as_deref(),
                due_date: fields.due_date.as_deref(),
                estimated_time_minutes: fields.estimated_time_minutes,
                metadata: metadata.as_ref(),
                ..NewTask::default()
            },
            Some(&actor),
        )
        .await?;
    Ok(Envelope::created(task))
}

/// PUT or PATCH /api/v1/worklist/{task_id} — changes a task (operators); a `status` given
/// moves it as `…/status` does.
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<TaskBody>,
) -> ApiResult<Task> {
    let task = find(&app, &member.tenant, &id).await?;
    let to = body.status.as_deref().map(status_of).transpose()?;
    let fields = fields_of(&app, &member.tenant, &body, TaskFields::of(&task)).await?;
    let actor = Actor::member(&member, client);
    let changed = app
        .farm
        .change_task(
            &member.tenant,
            &task,
            &fields,
            to.map(|to| (to, body.actual_time_minutes)),
            Some(&actor),
        )
        .await?;
    Ok(Envelope::ok(changed))
}

/// Body of a status move.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusBody {
    status: Option<String>,
    /// The minutes it took, when the operator counts them.
    actual_time_minutes: Option<i64>,
}

/// PUT /api/v1/worklist/{task_id}/status — starts, puts back, completes or cancels a task
/// (operators); times and minutes follow.
pub async fn set_status(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<StatusBody>,
) -> ApiResult<Task> {
    let raw = body
        .status
        .as_deref()
        .ok_or_else(|| ApiError::field("status", "status is required"))?;
    let to = status_of(raw)?;
    let actor = Actor::member(&member, client);
    let task = app
        .farm
        .move_task(
            &member.tenant,
            &id,
            to,
            body.actual_time_minutes,
            Some(&actor),
        )
        .await?;
    Ok(Envelope::ok(task))
}

/// POST /api/v1/worklist/{task_id}/complete — completes a task (operators): a collection
/// clears the bed, an assembly moves its units to stock, maintenance is recorded.
pub async fn complete(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<StatusBody>,
) -> ApiResult<Task> {
    let actor = Actor::member(&member, client);
    let task = app
        .farm
        .move_task(
            &member.tenant,
            &id,
            TaskStatus::Completed,
            body.actual_time_minutes,
            Some(&actor),
        )
        .await?;
    Ok(Envelope::ok(task))
}

/// Body of an assignment.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AssignBody {
    /// The member to do it; `null` unassigns.
    #[serde(alias = "user_id", deserialize_with = "crate::extract::given")]
    assigned_to: Option<Option<String>>,
}

/// PUT /api/v1/worklist/{task_id}/assign — gives a task to a member of the farm, or to
/// nobody (operators).
pub async fn assign(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AssignBody>,
) -> ApiResult<Task> {
    let Some(assigned_to) = body.assigned_to else {
        return Err(ApiError::field(
            "assigned_to",
            "assigned_to is required (null unassigns)",
        ));
    };
    let task = find(&app, &member.tenant, &id).await?;
    let asked = TaskBody {
        assigned_to: Some(assigned_to),
        ..TaskBody::default()
    };
    let fields = fields_of(&app, &member.tenant, &asked, TaskFields::of(&task)).await?;
    let actor = Actor::member(&member, client);
    let updated = app
        .farm
        .change_task(&member.tenant, &task, &fields, None, Some(&actor))
        .await?;
    Ok(Envelope::ok(updated))
}

/// DELETE /api/v1/worklist/{task_id} — removes a task (operators).
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let task = find(&app, &member.tenant, &id).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    store::worklist::delete(&mut tx, &member.tenant, &task.id).await?;
    let change = Change {
        action: "worklist.deleted",
        table: "worklist_tasks",
        record: &task.id,
        old: Some(json!({ "title": task.title, "task_type": task.task_type })),
        ..Change::default()
    };
    Actor::member(&member, client)
        .record(&mut tx, change, &now)
        .await?;
    tx.commit().await?;
    Ok(Envelope::ok(json!({ "id": task.id, "deleted": true })))
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::Param;
    use axum::http::Method as M;
    use domain::Role;
    let example = json!({ "task_type": "quality_check", "title": "Check the first layer of the PETG batch",
        "priority": "high", "description": "Look for stringing", "estimated_time_minutes": 10,
        "due_date": "2026-12-04" });
    crate::api::Routes::new()
        .add(
            M::GET,
            "/api/v1/worklist",
            Member(Role::Viewer),
            "Operator tasks, newest first",
            list,
        )
        .query(&[
            ("task_type", Param::OneOf(TASK_TYPES.as_slice())),
            ("status", Param::Text),
            ("priority", Param::OneOf(&["low", "medium", "high"])),
            ("printer_id", Param::Text),
            ("assigned_to", Param::Text),
            ("page", Param::Count),
            ("limit", Param::Count),
        ])
        .add(
            M::POST,
            "/api/v1/worklist",
            Member(Role::Operator),
            "Add a task",
            create,
        )
        .example(example.clone())
        .add(
            M::GET,
            "/api/v1/worklist/stats",
            Member(Role::Viewer),
            "The worklist in figures",
            stats,
        )
        .add(
            M::GET,
            "/api/v1/worklist/{task_id}",
            Member(Role::Viewer),
            "One task",
            get_one,
        )
        .add(
            M::PUT,
            "/api/v1/worklist/{task_id}",
            Member(Role::Operator),
            "Change a task",
            update,
        )
        .example(json!({ "title": "Check the first layer", "priority": "medium" }))
        .add(
            M::PATCH,
            "/api/v1/worklist/{task_id}",
            Member(Role::Operator),
            "Change some of a task",
            update,
        )
        .example(json!({ "priority": "low" }))
        .add(
            M::DELETE,
            "/api/v1/worklist/{task_id}",
            Member(Role::Operator),
            "Remove a task",
            delete,
        )
        .add(
            M::PUT,
            "/api/v1/worklist/{task_id}/status",
            Member(Role::Operator),
            "Start, put back, complete or cancel a task",
            set_status,
        )
        .example(json!({ "status": "in_progress" }))
        .add(
            M::POST,
            "/api/v1/worklist/{task_id}/complete",
            Member(Role::Operator),
            "Complete a task (a collection clears the bed, an assembly moves stock)",
            complete,
        )
        .optional_example(json!({ "actual_time_minutes": 4 }))
        .add(
            M::PUT,
            "/api/v1/worklist/{task_id}/assign",
            Member(Role::Operator),
            "Give a task to a member, or to nobody",
            assign,
        )
        .example(json!({ "assigned_to": null }))
}
