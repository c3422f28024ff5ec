//! Invitations to a farm: made by its admins, answered by the account with the invited email.
//!
//! The farm's side (invite, list, revoke) takes the tenant first. The invitee's side is
//! keyed by their account's email instead: they are not a member of the farm (yet), and
//! an invitation is theirs exactly when it was sent to their address.

use crate::{Conn, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use domain::invitation::{State, Status};
use domain::{InvitationId, Role, TenantId, UserId};

/// An invitation with its farm's and inviter's names (never its token's hash).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Invitation {
    /// Id (UUID).
    pub id: String,
    /// The farm.
    pub tenant_id: String,
    /// The farm's name.
    pub tenant_name: String,
    /// The invited address (lower-case).
    pub email: String,
    /// The role the invitee gets on accepting.
    pub role: String,
    /// pending, accepted, declined or revoked.
    pub status: String,
    /// The admin who invited (last).
    pub invited_by: Option<String>,
    /// Their name.
    pub invited_by_name: Option<String>,
    /// First invited at.
    pub created_at: String,
    /// Last invited or answered at.
    pub updated_at: String,
    /// The link and the invitation stop working at.
    pub expires_at: String,
    /// Accepted at.
    pub accepted_at: Option<String>,
    /// Declined at.
    pub declined_at: Option<String>,
    /// Revoked at.
    pub revoked_at: Option<String>,
}

impl Invitation {
    /// The role, typed.
    pub fn role(&self) -> StoreResult<Role> {
        self.role
            .parse()
            .map_err(|e: domain::role::UnknownRole| StoreError::Corrupt(e.to_string()))
    }

    /// Where it stands at `now` (expired is read from `expires_at`).
    pub fn state(&self, now: DateTime<Utc>) -> StoreResult<State> {
        let status = Status::parse(&self.status)
            .ok_or_else(|| StoreError::Corrupt(format!("invitation status '{}'", self.status)))?;
        Ok(State::at(status, &self.expires_at, now))
    }

    /// The typed id.
    pub fn invitation_id(&self) -> InvitationId {
        InvitationId::from_stored(self.id.clone())
    }

    /// The farm's typed id.
    pub fn tenant(&self) -> TenantId {
        TenantId::from_stored(self.tenant_id.clone())
    }
}

macro_rules! select {
    () => {
        "SELECT i.id, i.tenant_id, t.company_name AS tenant_name, i.email, i.role, i.status,
                i.invited_by, u.full_name AS invited_by_name, i.created_at, i.updated_at,
                i.expires_at, i.accepted_at, i.declined_at, i.revoked_at
         FROM tenant_invitations i JOIN tenants t ON t.id = i.tenant_id
         LEFT JOIN users u ON u.id = i.invited_by"
    };
}

/// What a new (or renewed) invitation says.
#[derive(Debug, Clone, Copy)]
pub struct NewInvitation<'a> {
    /// The invited address, already normalised.
    pub email: &'a str,
    /// The role on accepting.
    pub role: Role,
    /// The inviting admin.
    pub invited_by: &'a UserId,
    /// SHA-256 hex of the link's token.
    pub token_hash: &'a str,
    /// When it stops working.
    pub expires_at: &'a str,
}

/// Invites `email` to the farm: a new pending invitation, or the pending one renewed
/// (new link, role, inviter and expiry; the old link stops working).
pub async fn invite(
    conn: &mut Conn,
    tenant: &TenantId,
    new: NewInvitation<'_>,
    now: &str,
) -> StoreResult<Invitation> {
    let (id,): (String,) = sqlx::query_as(
        "INSERT INTO tenant_invitations (id, tenant_id, email, role, invited_by, token_hash, status, created_at, updated_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $8)
         ON CONFLICT (tenant_id, email) WHERE status = 'pending' DO UPDATE
         SET role = excluded.role, invited_by = excluded.invited_by, token_hash = excluded.token_hash,
             updated_at = excluded.updated_at, expires_at = excluded.expires_at
         RETURNING id",
    )
    .bind(crate::new_id())
    .bind(tenant.as_str())
    .bind(new.email)
    .bind(new.role.as_str())
    .bind(new.invited_by.as_str())
    .bind(new.token_hash)
    .bind(now)
    .bind(new.expires_at)
    .fetch_one(&mut *conn)
    .await?;
    get(conn, tenant, &InvitationId::from_stored(id)).await
}

/// One invitation of the farm (any state); `NotFound` if it is another farm's.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &InvitationId) -> StoreResult<Invitation> {
    let sql = concat!("", select!(), " WHERE i.tenant_id = $1 AND i.id = $2");
    Ok(sqlx::query_as::<_, Invitation>(sql)
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_one(&mut *conn)
        .await?)
}

/// The farm's pending invitations (expired ones included), newest first.
pub async fn list_pending(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<Invitation>> {
    let sql = concat!(
        "",
        select!(),
        " WHERE i.tenant_id = $1 AND i.status = 'pending' ORDER BY i.updated_at DESC, i.email"
    );
    Ok(sqlx::query_as::<_, Invitation>(sql)
        .bind(tenant.as_str())
        .fetch_all(&mut *conn)
        .await?)
}

/// The pending, unexpired invitations sent to `email` (an invitee's list), newest first.
pub async fn pending_for_email(
    conn: &mut Conn,
    email: &str,
    now: &str,
) -> StoreResult<Vec<Invitation>> {
    let sql = concat!(
        "",
        select!(),
        " WHERE i.email = $1 AND i.status = 'pending' AND i.expires_at > $2 AND t.is_active = 1
          ORDER BY i.updated_at DESC, t.company_name"
    );
    Ok(sqlx::query_as::<_, Invitation>(sql)
        .bind(email)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?)
}

/// One invitation sent to `email` (any state); `NotFound` if it was sent to someone else.
pub async fn get_for_email(
    conn: &mut Conn,
    email: &str,
    id: &InvitationId,
) -> StoreResult<Invitation> {
    let sql = concat!("", select!(), " WHERE i.email = $1 AND i.id = $2");
    Ok(sqlx::query_as::<_, Invitation>(sql)
        .bind(email)
        .bind(id.as_str())
        .fetch_one(&mut *conn)
        .await?)
}

/// The invitation whose link token hashes to `token_hash` (any state), if any.
pub async fn find_by_token(conn: &mut Conn, token_hash: &str) -> StoreResult<Option<Invitation>> {
    let sql = concat!("", select!(), " WHERE i.token_hash = $1");
    Ok(sqlx::query_as::<_, Invitation>(sql)
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await?)
}

/// How the invitee answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Joined the farm.
    Accepted,
    /// Said no.
    Declined,
}

/// Records `user`'s answer to a pending invitation; `NotFound` if it is no longer pending.
pub async fn mark_answered(
    conn: &mut Conn,
    id: &InvitationId,
    user: &UserId,
    answer: Answer,
    now: &str,
) -> StoreResult<()> {
    // Only fixed SQL is chosen here; values are bound.
    let sql = match answer {
        Answer::Accepted => {
            "UPDATE tenant_invitations SET status = 'accepted', accepted_at = $3, answered_by = $2, updated_at = $3
             WHERE id = $1 AND status = 'pending'"
        }
        Answer::Declined => {
            "UPDATE tenant_invitations SET status = 'declined', declined_at = $3, answered_by = $2, updated_at = $3
             WHERE id = $1 AND status = 'pending'"
        }
    };
    let done = sqlx::query(sql)
        .bind(id.as_str())
        .bind(user.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    one_row(done.rows_affected())
}

/// Revokes one of the farm's pending invitations; `NotFound` if there is none.
pub async fn revoke(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &InvitationId,
    now: &str,
) -> StoreResult<Invitation> {
    let done = sqlx::query(
        "UPDATE tenant_invitations SET status = 'revoked', revoked_at = $3, updated_at = $3
         WHERE tenant_id = $1 AND id = $2 AND status = 'pending'",
    )
    .bind(tenant.as_str())
    .bind(id.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    one_row(done.rows_affected())?;
    get(conn, tenant, id).await
}

fn one_row(rows: u64) -> StoreResult<()> {
    if rows == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
