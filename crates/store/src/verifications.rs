//! Single-use, expiring proofs (password reset and invitation links).
//!
//! `identifier` holds `<purpose>:<sha256 of the token>`, `value` what the link proves
//! (a user id). Taking a proof deletes it, so a link works once.

use crate::{Conn, StoreResult};

/// Stores a proof for `purpose` whose token hashes to `token_hash`.
pub async fn create(
    conn: &mut Conn,
    purpose: &str,
    token_hash: &str,
    value: &str,
    expires_at: &str,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO verifications (id, identifier, value, expires_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(crate::new_id())
    .bind(format!("{purpose}:{token_hash}"))
    .bind(value)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Value {
    value: String,
    expires_at: String,
}

/// Takes (deletes and returns) a live proof; `None` when unknown, used or expired.
pub async fn take(
    conn: &mut Conn,
    purpose: &str,
    token_hash: &str,
    now: &str,
) -> StoreResult<Option<String>> {
    let row = sqlx::query_as::<_, Value>(
        "DELETE FROM verifications WHERE identifier = $1 RETURNING value, expires_at",
    )
    .bind(format!("{purpose}:{token_hash}"))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.filter(|r| r.expires_at.as_str() > now).map(|r| r.value))
}

/// Deletes proofs that expired before `now`.
pub async fn delete_expired(conn: &mut Conn, now: &str) -> StoreResult<u64> {
    Ok(
        sqlx::query("DELETE FROM verifications WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}
