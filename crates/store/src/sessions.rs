//! Sign-in sessions. The `token` column holds the token's SHA-256, never the token.

use crate::users::User;
use crate::{Conn, StoreResult};
use domain::UserId;

/// A session row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    /// Id (UUID), shown to the client as `session.id`.
    pub id: String,
    /// Whose session.
    pub user_id: String,
    /// When it ends unless refreshed.
    pub expires_at: String,
    /// Created at.
    pub created_at: String,
    /// Last refreshed at.
    pub updated_at: String,
}

/// Opens a session for `user` whose token hashes to `token_hash`.
pub async fn create(
    conn: &mut Conn,
    user: &UserId,
    token_hash: &str,
    expires_at: &str,
    ip_address: Option<&str>,
    user_agent: Option<&str>,
    now: &str,
) -> StoreResult<Session> {
    Ok(sqlx::query_as::<_, Session>(
        "INSERT INTO sessions (id, user_id, token, expires_at, ip_address, user_agent, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         RETURNING id, user_id, expires_at, created_at, updated_at",
    )
    .bind(crate::new_id())
    .bind(user.as_str())
    .bind(token_hash)
    .bind(expires_at)
    .bind(ip_address)
    .bind(user_agent)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?)
}

#[derive(sqlx::FromRow)]
struct SessionAndUser {
    s_id: String,
    s_user_id: String,
    s_expires_at: String,
    s_created_at: String,
    s_updated_at: String,
    #[sqlx(flatten)]
    user: User,
}

/// The live session with this token hash and its active user, if any.
pub async fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    now: &str,
) -> StoreResult<Option<(Session, User)>> {
    let row = sqlx::query_as::<_, SessionAndUser>(
        "SELECT s.id AS s_id, s.user_id AS s_user_id, s.expires_at AS s_expires_at,
                s.created_at AS s_created_at, s.updated_at AS s_updated_at,
                u.id, u.email, u.full_name, u.is_active, u.email_verified, u.avatar_url,
                u.last_login, u.created_at, u.updated_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token = $1 AND s.expires_at > $2 AND u.is_active = 1",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| {
        (
            Session {
                id: r.s_id,
                user_id: r.s_user_id,
                expires_at: r.s_expires_at,
                created_at: r.s_created_at,
                updated_at: r.s_updated_at,
            },
            r.user,
        )
    }))
}

/// Extends a session (sliding refresh).
pub async fn extend(conn: &mut Conn, id: &str, expires_at: &str, now: &str) -> StoreResult<()> {
    sqlx::query("UPDATE sessions SET expires_at = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends the session with this token hash (sign-out). Ending an unknown one is not an error.
pub async fn revoke(conn: &mut Conn, token_hash: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token = $1")
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends every session of a user (after a password reset).
pub async fn revoke_all(conn: &mut Conn, user: &UserId) -> StoreResult<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Deletes sessions that expired before `now`.
pub async fn delete_expired(conn: &mut Conn, now: &str) -> StoreResult<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}
