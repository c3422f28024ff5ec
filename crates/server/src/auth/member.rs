//! The farm guard: a signed-in member of the chosen farm with at least a given role.
//!
//! The farm comes from the route's `{tenant_id}` (for `/tenants/{tenant_id}/...`),
//! else the `X-Tenant-ID` header, else the `tenant` query parameter.

use super::session::AuthUser;
use crate::app::App;
use crate::error::ApiError;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use domain::{Role, TenantId, UserId};
use std::marker::PhantomData;
use store::users::User;

/// The least role a route needs, as a type: `Member<roles::Admin>`.
pub trait RoleFloor: Send + Sync {
    /// The role.
    const ROLE: Role;
}

/// Role floors for `Member<R>`.
pub mod roles {
    use super::RoleFloor;
    use domain::Role;

    /// Any member.
    pub struct Viewer;
    /// Operators and above.
    pub struct Operator;
    /// Admins and owners.
    pub struct Admin;
    /// Owners only.
    pub struct Owner;

    impl RoleFloor for Viewer {
        const ROLE: Role = Role::Viewer;
    }
    impl RoleFloor for Operator {
        const ROLE: Role = Role::Operator;
    }
    impl RoleFloor for Admin {
        const ROLE: Role = Role::Admin;
    }
    impl RoleFloor for Owner {
        const ROLE: Role = Role::Owner;
    }
}

/// A signed-in member of the request's farm whose role is at least `R`.
pub struct Member<R: RoleFloor> {
    /// The user.
    pub user: User,
    /// The farm.
    pub tenant: TenantId,
    /// Their role in it.
    pub role: Role,
    _floor: PhantomData<R>,
}

impl<R: RoleFloor> Member<R> {
    /// Records a change this member made in the farm's audit log (in the caller's transaction).
    pub async fn audit(
        &self,
        conn: &mut store::Conn,
        client: &crate::extract::ClientInfo,
        change: crate::audit::Change<'_>,
        now: &str,
    ) -> Result<(), ApiError> {
        crate::audit::record(
            conn,
            &self.tenant,
            &self.user.user_id(),
            client,
            change,
            now,
        )
        .await?;
        Ok(())
    }
}

/// The farm a request names, if any.
fn requested_tenant(parts: &Parts, path: Option<&RawPathParams>) -> Option<String> {
    path.and_then(|p| {
        p.iter()
            .find(|(k, _)| *k == "tenant_id")
            .map(|(_, v)| v.to_string())
    })
    .or_else(|| tenant_hint(&parts.uri, &parts.headers))
}

/// The farm named outside the path: the `X-Tenant-ID` header, else the `tenant` query parameter.
pub fn tenant_hint(uri: &axum::http::Uri, headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(id) = headers.get("x-tenant-id").and_then(|v| v.to_str().ok()) {
        return Some(id.trim().to_string());
    }
    uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "tenant")
            .map(|(_, v)| v.into_owned())
    })
}

/// A user's role in a farm, or `None` when they are not an active member of an active
/// farm: the one membership check of the API guard and the web pages (cached for `TTL`).
pub async fn role_in(
    app: &App,
    tenant: &TenantId,
    user: &UserId,
) -> Result<Option<Role>, ApiError> {
    if let Some(known) = app.auth_cache.role(tenant, user) {
        return Ok(known);
    }
    let mut conn = app.store.conn().await?;
    let role = store::members::role_of(&mut conn, tenant, user).await?;
    app.auth_cache
        .remember_role(tenant.clone(), user.clone(), role);
    Ok(role)
}

impl<R: RoleFloor> FromRequestParts<App> for Member<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let AuthUser(auth) = AuthUser::from_request_parts(parts, app).await?;
        let path = RawPathParams::from_request_parts(parts, app).await.ok();
        let requested = requested_tenant(parts, path.as_ref()).filter(|t| !t.is_empty()).ok_or_else(|| {
            ApiError::forbidden(
                "TENANT_REQUIRED",
                "choose a farm: send its id in the X-Tenant-ID header or the tenant query parameter",
            )
        })?;
        let not_member =
            || ApiError::forbidden("NOT_A_MEMBER", "you are not a member of this farm");
        let tenant = TenantId::parse(&requested).ok_or_else(not_member)?;
        let role = role_in(app, &tenant, &auth.user.user_id())
            .await?
            .ok_or_else(not_member)?;
        if !role.at_least(R::ROLE) {
            return Err(ApiError::forbidden(
                "INSUFFICIENT_ROLE",
                format!("this needs the {} role or higher; you are {role}", R::ROLE),
            ));
        }
        Ok(Member {
            user: auth.user,
            tenant,
            role,
            _floor: PhantomData,
        })
    }
}
