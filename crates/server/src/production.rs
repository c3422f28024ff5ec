//! What finished prints produce, as the farm reads it: worklist tasks and assembly tasks
//! (finished goods are in `inventory`).
//!
//! These are the read side the print-events worker writes to; creating and editing stock,
//! tasks and assembly by hand belongs to the stock and operator areas.

use crate::app::App;
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::extract::State;
use serde::Deserialize;
use store::assembly::AssemblyTask;
use store::worklist::Task;

/// Filters of the worklist.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskQuery {
    #[serde(alias = "type")]
    task_type: Option<String>,
    status: Option<String>,
}

/// The worklist's task types.
pub const TASK_TYPES: [&str; 5] = [
    "assembly",
    "filament_change",
    "collection",
    "maintenance",
    "quality_check",
];
/// The worklist's task statuses.
pub const TASK_STATUSES: [&str; 4] = ["pending", "in_progress", "completed", "cancelled"];

/// `value` if it is one of `allowed`, else a 400 naming `field`.
fn one_of(
    field: &str,
    value: Option<String>,
    allowed: &[&str],
) -> Result<Option<String>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        Some(v) if !allowed.contains(&v.as_str()) => Err(ApiError::field(
            field,
            format!(
                "unknown {field} '{v}': expected one of {}",
                allowed.join(", ")
            ),
        )),
        other => Ok(other),
    }
}

/// GET /api/v1/worklist — what operators should do, newest first (filters: task_type, status).
pub async fn worklist(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> ApiResult<Vec<Task>> {
    let task_type = one_of("task_type", q.task_type, &TASK_TYPES)?;
    let status = one_of("status", q.status, &TASK_STATUSES)?;
    let mut conn = app.store.conn().await?;
    Ok(Envelope::all(
        store::worklist::list(
            &mut conn,
            &member.tenant,
            task_type.as_deref(),
            status.as_deref(),
        )
        .await?,
    ))
}

/// GET /api/v1/assembly — assembly tasks, newest first.
pub async fn assembly(
    State(app): State<App>,
    member: Member<roles::Viewer>,
) -> ApiResult<Vec<AssemblyTask>> {
    let mut conn = app.store.conn().await?;
    Ok(Envelope::all(
        store::assembly::list(&mut conn, &member.tenant).await?,
    ))
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
            "/api/v1/worklist",
            Member(Role::Viewer),
            "Operator tasks (filters: task_type, status)",
            worklist,
        )
        .query(&[
            ("task_type", Param::OneOf(&TASK_TYPES)),
            ("status", Param::OneOf(&TASK_STATUSES)),
        ])
        .add(
            M::GET,
            "/api/v1/assembly",
            Member(Role::Viewer),
            "Assembly tasks",
            assembly,
        )
}
