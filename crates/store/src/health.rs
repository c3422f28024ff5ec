//! Checks for the health endpoints.

use crate::{Conn, StoreResult};

/// Runs a trivial query.
pub async fn ping(conn: &mut Conn) -> StoreResult<()> {
    sqlx::query("SELECT 1").execute(&mut *conn).await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Depth {
    pending: i64,
    dead: i64,
}

/// Background work waiting (pending or running) and given up on (dead).
pub async fn queue_depth(conn: &mut Conn) -> StoreResult<(i64, i64)> {
    let row = sqlx::query_as::<_, Depth>(
        "SELECT CAST(COALESCE(SUM(CASE WHEN status IN ('pending', 'running') THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending,
                CAST(COALESCE(SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END), 0) AS BIGINT) AS dead
         FROM queue_messages",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.pending, row.dead))
}
