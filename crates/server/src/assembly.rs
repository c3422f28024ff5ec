//! Assembly, `/api/v1/assembly`: printed units of a product that need putting together
//! before sale. A completed print of such a product makes an assembly task (and its
//! worklist task); completing it moves the units from needs-assembly to ready stock
//! (`farm::tasks`), never below zero, and orders waiting for the SKU take them.

use crate::app::App;
use crate::audit::{Actor, Change};
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo};
use axum::extract::State;
use domain::TenantId;
use domain::worklist::AssemblyStatus;
use serde::Deserialize;
use serde_json::{Value, json};
use store::assembly::{AssemblyQuery, AssemblyTask};

/// The most units one assembly task names.
const MAX_UNITS: i64 = 100_000;
/// The longest notes kept.
const MAX_NOTES: usize = 4000;

/// Filters of the assembly list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    status: Option<String>,
    assigned_to: Option<String>,
    finished_good_id: Option<String>,
    page: Option<i64>,
    limit: Option<i64>,
}

fn status_of(raw: &str) -> Result<AssemblyStatus, ApiError> {
    raw.parse::<AssemblyStatus>()
        .map_err(|message| ApiError::field("status", message))
}

/// GET /api/v1/assembly — the farm's assembly tasks, newest first (filters: status,
/// assigned_to, finished_good_id; paged).
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<AssemblyTask>> {
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let query = AssemblyQuery {
        status: given(&q.status).as_deref().map(status_of).transpose()?,
        assigned_to: given(&q.assigned_to),
        finished_good_id: given(&q.finished_good_id),
    };
    let paging = Paging {
        page: q.page.unwrap_or(1),
        limit: q.limit.unwrap_or(50),
    };
    let mut conn = app.store.conn().await?;
    let (rows, total) = store::assembly::list(
        &mut conn,
        &member.tenant,
        &query,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Envelope::list(rows, paging.meta(total)))
}

/// GET /api/v1/assembly/stats — assembly in figures.
pub async fn stats(
    State(app): State<App>,
    member: Member<roles::Viewer>,
) -> ApiResult<store::assembly::AssemblyFigures> {
    let today = chrono::Utc::now()
        .format("%Y-%m-%dT00:00:00.000Z")
        .to_string();
    let mut conn = app.store.conn().await?;
    Ok(Envelope::ok(
        store::assembly::figures(&mut conn, &member.tenant, &today).await?,
    ))
}

async fn find(app: &App, tenant: &TenantId, id: &str) -> Result<AssemblyTask, ApiError> {
    let mut conn = app.store.conn().await?;
    store::assembly::get(&mut conn, tenant, id)
        .await
        .or_not_found("ASSEMBLY_TASK_NOT_FOUND", "assembly task")
}

/// GET /api/v1/assembly/{assembly_id} — one assembly task.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<AssemblyTask> {
    Ok(Envelope::ok(find(&app, &member.tenant, &id).await?))
}

/// An assembly task as a client sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AssemblyBody {
    finished_good_id: Option<String>,
    /// Or the SKU, by id: its finished good is used (started when it has none).
    #[serde(alias = "product_sku_id")]
    sku_id: Option<String>,
    quantity: Option<i64>,
    #[serde(deserialize_with = "crate::extract::given")]
    assigned_to: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    notes: Option<Option<String>>,
    /// Moves the task too (`completed` moves its units).
    status: Option<String>,
}

fn units(value: i64) -> Result<i64, ApiError> {
    if (1..=MAX_UNITS).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::field(
            "quantity",
            format!("quantity must be a whole number from 1 to {MAX_UNITS}"),
        ))
    }
}

fn notes_of(
    given: &Option<Option<String>>,
    stored: Option<String>,
) -> Result<Option<String>, ApiError> {
    match given {
        None => Ok(stored),
        Some(None) => Ok(None),
        Some(Some(v)) if v.chars().count() > MAX_NOTES => Err(ApiError::field(
            "notes",
            format!("notes must be at most {MAX_NOTES} characters"),
        )),
        Some(Some(v)) => Ok(Some(v.trim().to_string()).filter(|v| !v.is_empty())),
    }
}

/// The member to assign, checked to be one of the farm's.
async fn assignee(
    app: &App,
    tenant: &TenantId,
    given: &Option<Option<String>>,
    stored: Option<String>,
) -> Result<Option<String>, ApiError> {
    let user = match given {
        None => return Ok(stored),
        Some(None) => return Ok(None),
        Some(Some(v)) => v.trim().to_string(),
    };
    let mut conn = app.store.conn().await?;
    match store::members::get(
        &mut conn,
        tenant,
        &domain::UserId::from_stored(user.clone()),
    )
    .await
    {
        Ok(_) => Ok(Some(user)),
        Err(store::StoreError::NotFound) => {
            Err(ApiError::field("assigned_to", "not a member of this farm"))
        }
        Err(other) => Err(other.into()),
    }
}

/// POST /api/v1/assembly — adds an assembly task for units of a finished good (by its id or
/// its SKU's), with its worklist task (operators).
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiJson(body): ApiJson<AssemblyBody>,
) -> ApiResult<Value> {
    let quantity = units(body.quantity.unwrap_or(1))?;
    let notes = notes_of(&body.notes, None)?;
    let assigned_to = assignee(&app, &member.tenant, &body.assigned_to, None).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let good = match (&body.finished_good_id, &body.sku_id) {
        (Some(id), _) => match store::finished_goods::get(&mut tx, &member.tenant, id).await {
            Ok(good) => good,
            Err(store::StoreError::NotFound) => {
                return Err(ApiError::field(
                    "finished_good_id",
                    "no such finished good in this farm",
                ));
            }
            Err(other) => return Err(other.into()),
        },
        (None, Some(sku)) => {
            match store::finished_goods::of_sku_or_start(&mut tx, &member.tenant, sku, &now).await {
                Ok(good) => good,
                Err(store::StoreError::NotFound) => {
                    return Err(ApiError::field("sku_id", "no such SKU in this farm"));
                }
                Err(other) => return Err(other.into()),
            }
        }
        (None, None) => {
            return Err(ApiError::field(
                "finished_good_id",
                "finished_good_id or sku_id is required",
            ));
        }
    };
    let sku = store::catalogue::sku_for_print(&mut tx, &member.tenant, &good.product_sku_id)
        .await
        .ok();
    let product_name = sku
        .as_ref()
        .map(|s| s.product_name.clone())
        .unwrap_or_else(|| good.sku.clone());
    let metadata = json!({ "sku_id": good.product_sku_id, "finished_good_id": good.id });
    let (mut assembly, task) = crate::farm::tasks::assembly_needed_in(
        &mut tx,
        &member.tenant,
        &good,
        &product_name,
        quantity,
        metadata,
        &now,
    )
    .await?;
    if assigned_to.is_some() || notes.is_some() {
        assembly = store::assembly::update(
            &mut tx,
            &member.tenant,
            &assembly.id,
            assigned_to.as_deref(),
            quantity,
            notes.as_deref(),
            &now,
        )
        .await?;
    }
    let change = Change {
        action: "assembly.created",
        table: "assembly_tasks",
        record: &assembly.id,
        new: Some(json!({ "sku": assembly.sku, "quantity": assembly.quantity })),
        ..Change::default()
    };
    Actor::member(&member, client)
        .record(&mut tx, change, &now)
        .await?;
    tx.commit().await?;
    app.farm.publish_task(&member.tenant, &task);
    let mut answer = json!(assembly);
    answer["worklist_task_id"] = json!(task.id);
    Ok(Envelope::created(answer))
}

/// PUT /api/v1/assembly/{assembly_id} — changes who assembles, how many and the notes, or
/// moves it with `status` (operators).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AssemblyBody>,
) -> ApiResult<Value> {
    let task = find(&app, &member.tenant, &id).await?;
    let to = body.status.as_deref().map(status_of).transpose()?;
    let quantity = match body.quantity {
        Some(q) => units(q)?,
        None => task.quantity,
    };
    let notes = notes_of(&body.notes, task.notes.clone())?;
    let assigned_to = assignee(
        &app,
        &member.tenant,
        &body.assigned_to,
        task.assigned_to.clone(),
    )
    .await?;
    let actor = Actor::member(&member, client);
    let change = crate::farm::tasks::AssemblyChange {
        assigned_to: assigned_to.as_deref(),
        quantity,
        notes: notes.as_deref(),
    };
    let done = app
        .farm
        .change_assembly(&member.tenant, &task.id, change, to, Some(&actor))
        .await?;
    Ok(Envelope::ok(json!(done)))
}

/// POST /api/v1/assembly/{assembly_id}/complete — the units are assembled (operators): they
/// move from needs-assembly to ready stock (as many as wait), its worklist task completes.
pub async fn complete(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<crate::farm::tasks::Assembled> {
    let actor = Actor::member(&member, client);
    let done = app
        .farm
        .move_assembly(&member.tenant, &id, AssemblyStatus::Completed, Some(&actor))
        .await?;
    Ok(Envelope::ok(done))
}

/// DELETE /api/v1/assembly/{assembly_id} — removes an assembly task (operators); stock is
/// left as it is, its open worklist task is cancelled.
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let actor = Actor::member(&member, client);
    let task = app
        .farm
        .delete_assembly(&member.tenant, &id, Some(&actor))
        .await?;
    Ok(Envelope::ok(json!({ "id": task.id, "deleted": true })))
}

/// GET /api/v1/assembly/{assembly_id}/wiki — how to assemble it: the published wiki
/// article of its SKU, else of its product, with its markdown rendered to safe HTML
/// (`article` is `null` when the farm has written none).
pub async fn wiki(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let task = find(&app, &member.tenant, &id).await?;
    let mut conn = app.store.conn().await?;
    let sku_id =
        match store::finished_goods::get(&mut conn, &member.tenant, &task.finished_good_id).await {
            Ok(good) => Some(good.product_sku_id),
            Err(store::StoreError::NotFound) => None,
            Err(other) => return Err(other.into()),
        };
    let product_id = match &sku_id {
        Some(sku) => match store::catalogue::sku_for_print(&mut conn, &member.tenant, sku).await {
            Ok(found) => Some(found.product_id),
            Err(store::StoreError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
        None => None,
    };
    let article = store::wiki::for_sku_or_product(
        &mut conn,
        &member.tenant,
        sku_id.as_deref(),
        product_id.as_deref(),
    )
    .await?;
    Ok(Envelope::ok(json!({
        "assembly_task_id": task.id,
        "sku_id": sku_id,
        "product_id": product_id,
        "article": article.as_ref().map(|a| crate::wiki::view(a, true)),
    })))
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::Param;
    use axum::http::Method as M;
    use domain::Role;
    crate::api::Routes::new()
        .add(
            M::GET,
            "/api/v1/assembly",
            Member(Role::Viewer),
            "Assembly tasks, newest first",
            list,
        )
        .query(&[
            (
                "status",
                Param::OneOf(&["pending", "in_progress", "completed"]),
            ),
            ("assigned_to", Param::Text),
            ("finished_good_id", Param::Text),
            ("page", Param::Count),
            ("limit", Param::Count),
        ])
        .add(
            M::POST,
            "/api/v1/assembly",
            Member(Role::Operator),
            "Add an assembly task for units of a finished good",
            create,
        )
        .example(
            json!({ "sku_id": "00000000-0000-4000-8000-000000000000", "quantity": 4,
            "notes": "Glue the hinge" }),
        )
        .add(
            M::GET,
            "/api/v1/assembly/stats",
            Member(Role::Viewer),
            "Assembly in figures",
            stats,
        )
        .add(
            M::GET,
            "/api/v1/assembly/{assembly_id}",
            Member(Role::Viewer),
            "One assembly task",
            get_one,
        )
        .add(
            M::PUT,
            "/api/v1/assembly/{assembly_id}",
            Member(Role::Operator),
            "Change an assembly task, or move it with status",
            update,
        )
        .example(json!({ "quantity": 3, "status": "in_progress" }))
        .add(
            M::DELETE,
            "/api/v1/assembly/{assembly_id}",
            Member(Role::Operator),
            "Remove an assembly task",
            delete,
        )
        .add(
            M::POST,
            "/api/v1/assembly/{assembly_id}/complete",
            Member(Role::Operator),
            "Complete an assembly: its units move to ready stock",
            complete,
        )
        .add(
            M::GET,
            "/api/v1/assembly/{assembly_id}/wiki",
            Member(Role::Viewer),
            "How to assemble it: the wiki article of its SKU or product",
            wiki,
        )
}
