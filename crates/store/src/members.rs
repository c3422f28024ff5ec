//! Farm membership: who belongs to which farm, with which role.

use crate::{Conn, StoreError, StoreResult};
use domain::{Role, TenantId, UserId};
use serde::Serialize;

/// A member of a farm, with the user's name and email.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Member {
    /// Membership id.
    pub id: String,
    /// The farm.
    pub tenant_id: String,
    /// The user.
    pub user_id: String,
    /// owner, admin, operator or viewer.
    pub role: String,
    /// The user's email.
    pub email: String,
    /// The user's name.
    pub full_name: String,
    /// Who invited them.
    pub invited_by: Option<String>,
    /// When they were invited.
    pub invited_at: Option<String>,
    /// When they joined (accepted the invitation; owners: when they made the farm).
    pub accepted_at: Option<String>,
    /// 1 while the membership counts.
    pub is_active: i64,
    /// Created at.
    pub created_at: String,
    /// Updated at.
    pub updated_at: String,
}

impl Member {
    /// The member's role, typed.
    pub fn role(&self) -> StoreResult<Role> {
        self.role
            .parse()
            .map_err(|e: domain::role::UnknownRole| StoreError::Corrupt(e.to_string()))
    }
}

macro_rules! select {
    () => {
        "SELECT m.id, m.tenant_id, m.user_id, m.role, u.email, u.full_name,
        m.invited_by, m.invited_at, m.accepted_at, m.is_active, m.created_at, m.updated_at
     FROM tenant_members m JOIN users u ON u.id = m.user_id"
    };
}

/// Who invited a member, and when (the invitation they accepted).
#[derive(Debug, Clone, Copy)]
pub struct Invited<'a> {
    /// The admin who invited.
    pub by: Option<&'a UserId>,
    /// When they were invited.
    pub at: &'a str,
}

/// Adds `user` to the farm with `role`, accepted `now` (after an invitation, when
/// `invited` says by whom); `Conflict { field: "email" }` if already a member.
pub async fn add(
    conn: &mut Conn,
    tenant: &TenantId,
    user: &UserId,
    role: Role,
    invited: Option<Invited<'_>>,
    now: &str,
) -> StoreResult<String> {
    let id = crate::new_id();
    let result = sqlx::query(
        "INSERT INTO tenant_members (id, tenant_id, user_id, role, invited_by, invited_at, accepted_at, is_active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $7, $7)",
    )
    .bind(&id)
    .bind(tenant.as_str())
    .bind(user.as_str())
    .bind(role.as_str())
    .bind(invited.and_then(|i| i.by).map(UserId::as_str))
    .bind(invited.map(|i| i.at))
    .bind(now)
    .execute(&mut *conn)
    .await;
    match result {
        Ok(_) => Ok(id),
        // The only unique key a client can hit here is (tenant_id, user_id): the person is in already.
        Err(e) => match StoreError::from(e) {
            StoreError::Conflict { .. } => Err(StoreError::Conflict {
                field: "email".into(),
            }),
            other => Err(other),
        },
    }
}

/// Whether the account with `email` is an active member of the farm.
pub async fn has_email(conn: &mut Conn, tenant: &TenantId, email: &str) -> StoreResult<bool> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT CAST(1 AS BIGINT) FROM tenant_members m JOIN users u ON u.id = m.user_id
         WHERE m.tenant_id = $1 AND u.email = $2 AND m.is_active = 1",
    )
    .bind(tenant.as_str())
    .bind(email)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// The active members of a farm, owners first, then by name.
pub async fn list(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<Member>> {
    let sql = concat!(
        "", select!(), " WHERE m.tenant_id = $1 AND m.is_active = 1
         ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'operator' THEN 2 ELSE 3 END,
                  u.full_name, u.email"
    );
    Ok(sqlx::query_as::<_, Member>(sql)
        .bind(tenant.as_str())
        .fetch_all(&mut *conn)
        .await?)
}

/// One active member of a farm; `NotFound` if the user is not in it.
pub async fn get(conn: &mut Conn, tenant: &TenantId, user: &UserId) -> StoreResult<Member> {
    let sql = concat!(
        "",
        select!(),
        " WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.is_active = 1"
    );
    Ok(sqlx::query_as::<_, Member>(sql)
        .bind(tenant.as_str())
        .bind(user.as_str())
        .fetch_one(&mut *conn)
        .await?)
}

/// The role of `user` in an active farm, if they are an active member.
pub async fn role_of(
    conn: &mut Conn,
    tenant: &TenantId,
    user: &UserId,
) -> StoreResult<Option<Role>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT m.role FROM tenant_members m JOIN tenants t ON t.id = m.tenant_id
         WHERE m.tenant_id = $1 AND m.user_id = $2 AND m.is_active = 1 AND t.is_active = 1",
    )
    .bind(tenant.as_str())
    .bind(user.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(role,)| {
        role.parse()
            .map_err(|e: domain::role::UnknownRole| StoreError::Corrupt(e.to_string()))
    })
    .transpose()
}

/// How many active owners the farm has.
pub async fn count_owners(conn: &mut Conn, tenant: &TenantId) -> StoreResult<usize> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM tenant_members
         WHERE tenant_id = $1 AND role = 'owner' AND is_active = 1",
    )
    .bind(tenant.as_str())
    .fetch_one(&mut *conn)
    .await?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Changes a member's role.
pub async fn set_role(
    conn: &mut Conn,
    tenant: &TenantId,
    user: &UserId,
    role: Role,
    now: &str,
) -> StoreResult<Member> {
    let done = sqlx::query(
        "UPDATE tenant_members SET role = $3, updated_at = $4
         WHERE tenant_id = $1 AND user_id = $2 AND is_active = 1",
    )
    .bind(tenant.as_str())
    .bind(user.as_str())
    .bind(role.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, tenant, user).await
}

/// Removes a member from the farm.
pub async fn remove(conn: &mut Conn, tenant: &TenantId, user: &UserId) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM tenant_members WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.as_str())
        .bind(user.as_str())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Marks a user's pending invitations as accepted (they proved their email or signed in).
pub async fn accept_invitations(conn: &mut Conn, user: &UserId, now: &str) -> StoreResult<()> {
    sqlx::query(
        "UPDATE tenant_members SET accepted_at = $2, updated_at = $2
         WHERE user_id = $1 AND accepted_at IS NULL",
    )
    .bind(user.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
