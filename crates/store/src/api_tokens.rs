//! Personal API tokens for integrators' scripts. Only their hash is stored.

use crate::users::User;
use crate::{Conn, StoreError, StoreResult};
use domain::{ApiTokenId, UserId};
use serde::Serialize;

/// A token as listed (never the token itself).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiToken {
    /// Id (UUID).
    pub id: String,
    /// The name its owner gave it.
    pub name: String,
    /// The token's first characters, to recognise it.
    pub token_prefix: String,
    /// Last used at.
    pub last_used_at: Option<String>,
    /// Expires at (none: until revoked).
    pub expires_at: Option<String>,
    /// Revoked at.
    pub revoked_at: Option<String>,
    /// Created at.
    pub created_at: String,
}

macro_rules! columns {
    () => {
        "id, name, token_prefix, last_used_at, expires_at, revoked_at, created_at"
    };
}

/// Stores a new token of `user`.
pub async fn create(
    conn: &mut Conn,
    user: &UserId,
    name: &str,
    token_hash: &str,
    token_prefix: &str,
    expires_at: Option<&str>,
    now: &str,
) -> StoreResult<ApiToken> {
    let sql = concat!(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, token_prefix, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ", columns!(), ""
    );
    Ok(sqlx::query_as::<_, ApiToken>(sql)
        .bind(crate::new_id())
        .bind(user.as_str())
        .bind(name)
        .bind(token_hash)
        .bind(token_prefix)
        .bind(expires_at)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// The user's tokens, newest first (revoked ones included, marked).
pub async fn list(conn: &mut Conn, user: &UserId) -> StoreResult<Vec<ApiToken>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id"
    );
    Ok(sqlx::query_as::<_, ApiToken>(sql)
        .bind(user.as_str())
        .fetch_all(&mut *conn)
        .await?)
}

/// Revokes one of the user's tokens; `NotFound` if it is not theirs or already revoked.
pub async fn revoke(conn: &mut Conn, user: &UserId, id: &ApiTokenId, now: &str) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(id.as_str())
    .bind(user.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct TokenAndUser {
    t_id: String,
    t_last_used_at: Option<String>,
    #[sqlx(flatten)]
    user: User,
}

/// The live token with this hash and its active user: `(token id, last used, user)`.
pub async fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    now: &str,
) -> StoreResult<Option<(String, Option<String>, User)>> {
    let row = sqlx::query_as::<_, TokenAndUser>(
        "SELECT t.id AS t_id, t.last_used_at AS t_last_used_at,
                u.id, u.email, u.full_name, u.is_active, u.email_verified, u.avatar_url,
                u.last_login, u.created_at, u.updated_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL
           AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.is_active = 1",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| (r.t_id, r.t_last_used_at, r.user)))
}

/// Records that a token was used.
pub async fn touch(conn: &mut Conn, id: &str, now: &str) -> StoreResult<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
