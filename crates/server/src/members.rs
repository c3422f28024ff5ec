//! Farm members: list, change role, remove — with the owner/admin rules of
//! `domain::membership`, each change written to the audit log. Inviting is in
//! `invitations`: a member joins by accepting.

use crate::app::App;
use crate::audit::Change;
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope};
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiJson, ApiPath, ClientInfo};
use axum::extract::State;
use domain::membership::{self, MembershipError};
use domain::{Invalid, Role, UserId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::members::Member as MemberRow;

impl From<MembershipError> for ApiError {
    fn from(err: MembershipError) -> Self {
        match err {
            MembershipError::NotAllowed { .. } => {
                ApiError::forbidden("INSUFFICIENT_ROLE", err.to_string())
            }
            MembershipError::LastOwner => ApiError::Conflict {
                code: "LAST_OWNER",
                field: Some("role".into()),
                message: err.to_string(),
            },
        }
    }
}

/// The member a `/tenants/{tenant_id}/members/{user_id}` route is about (the farm is
/// checked by the `Member` guard).
fn member_in_path((_tenant, user_id): (String, String)) -> Result<UserId, ApiError> {
    UserId::parse(&user_id).ok_or_else(|| ApiError::not_found("MEMBER_NOT_FOUND", "member"))
}

/// GET /api/v1/tenants/{tenant_id}/members — the farm's members (a plain array).
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Viewer>,
) -> ApiResult<Vec<MemberRow>> {
    let mut conn = app.store.conn().await?;
    Ok(Envelope::all(
        store::members::list(&mut conn, &member.tenant).await?,
    ))
}

fn parse_role(field: &str, raw: &str) -> Result<Role, Invalid> {
    raw.parse::<Role>()
        .map_err(|e| Invalid::field(field, e.to_string()))
}

/// Body of a role change.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RoleBody {
    role: String,
}

/// PUT /api/v1/tenants/{tenant_id}/members/{user_id} — changes a member's role (admins, by the rules).
pub async fn change_role(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(path): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<MemberRow> {
    let target = member_in_path(path)?;
    let new_role = parse_role("role", &body.role)?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let current = store::members::get(&mut tx, &member.tenant, &target)
        .await
        .or_not_found("MEMBER_NOT_FOUND", "member")?;
    let current_role = current.role()?;
    let owners = store::members::count_owners(&mut tx, &member.tenant).await?;
    membership::check_role_change(member.role, current_role, new_role, owners)?;
    let updated =
        store::members::set_role(&mut tx, &member.tenant, &target, new_role, &now).await?;
    let change = Change {
        action: "member.role_changed",
        table: "tenant_members",
        record: &updated.id,
        old: Some(json!({ "user_id": target, "role": current_role })),
        new: Some(json!({ "user_id": target, "role": new_role })),
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    app.auth_cache.forget_role(&member.tenant, &target);
    tracing::info!(tenant_id = %member.tenant, user_id = %target, from = %current_role, to = %new_role, "member role changed");
    Ok(Envelope::ok(updated))
}

/// DELETE /api/v1/tenants/{tenant_id}/members/{user_id} — removes a member (admins by
/// the rules; anyone may leave, but the last owner may not).
pub async fn remove(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    client: ClientInfo,
    ApiPath(path): ApiPath<(String, String)>,
) -> ApiResult<Value> {
    let target = member_in_path(path)?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let current = store::members::get(&mut tx, &member.tenant, &target)
        .await
        .or_not_found("MEMBER_NOT_FOUND", "member")?;
    let target_role = current.role()?;
    let owners = store::members::count_owners(&mut tx, &member.tenant).await?;
    let is_self = target == member.user.user_id();
    membership::check_removal(member.role, target_role, is_self, owners)?;
    store::members::remove(&mut tx, &member.tenant, &target).await?;
    let change = Change {
        action: if is_self {
            "member.left"
        } else {
            "member.removed"
        },
        table: "tenant_members",
        record: &current.id,
        old: Some(json!({ "user_id": target, "email": current.email, "role": target_role })),
        new: None,
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    app.auth_cache.forget_role(&member.tenant, &target);
    tracing::info!(tenant_id = %member.tenant, user_id = %target, "member removed");
    Ok(Envelope::ok(json!({ "user_id": target, "removed": true })))
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use axum::http::Method as M;
    use domain::Role;
    use serde_json::json;
    crate::api::Routes::new()
        .add(
            M::GET,
            "/api/v1/tenants/{tenant_id}/members",
            FarmPath(Role::Viewer),
            "The farm's members",
            list,
        )
        .add(
            M::PUT,
            "/api/v1/tenants/{tenant_id}/members/{user_id}",
            FarmPath(Role::Admin),
            "Change a member's role",
            change_role,
        )
        .example(json!({"role": "viewer"}))
        .add(
            M::DELETE,
            "/api/v1/tenants/{tenant_id}/members/{user_id}",
            FarmPath(Role::Viewer),
            "Remove a member (or leave)",
            remove,
        )
}
