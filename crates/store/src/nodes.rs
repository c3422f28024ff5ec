//! Server nodes and their leases. A node renews its lease while it runs; a node whose lease
//! ran out died without saying so, and the hubs it held are marked offline by whichever
//! node notices first.

use crate::{Conn, StoreResult};
use domain::TenantId;

/// Takes or renews `node`'s lease until `lease_until`.
pub async fn renew(conn: &mut Conn, node: &str, lease_until: &str, now: &str) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO server_nodes (id, started_at, lease_until) VALUES ($1, $3, $2)
         ON CONFLICT (id) DO UPDATE SET lease_until = $2",
    )
    .bind(node)
    .bind(lease_until)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Nodes whose lease ran out before `now`.
pub async fn expired(conn: &mut Conn, now: &str) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM server_nodes WHERE lease_until < $1")
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// A hub that was online on a node that is gone.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrphanedHub {
    /// The hub.
    pub id: String,
    /// Its farm.
    pub tenant_id: Option<String>,
}

impl OrphanedHub {
    /// The hub's farm, typed.
    pub fn tenant(&self) -> Option<TenantId> {
        self.tenant_id.clone().map(TenantId::from_stored)
    }
}

/// Marks the hubs `node` held, and their printers, offline and forgets the node; returns
/// the hubs. Run inside a transaction. A hub that meanwhile connected to another node is
/// that node's, and is left alone.
pub async fn release(conn: &mut Conn, node: &str, now: &str) -> StoreResult<Vec<OrphanedHub>> {
    let hubs: Vec<OrphanedHub> =
        sqlx::query_as("SELECT id, tenant_id FROM hubs WHERE node_id = $1 AND is_online = 1")
            .bind(node)
            .fetch_all(&mut *conn)
            .await?;
    sqlx::query(
        "UPDATE printers SET is_connected = 0, status = 'offline', updated_at = $2
         WHERE hub_id IN (SELECT id FROM hubs WHERE node_id = $1 AND is_online = 1)",
    )
    .bind(node)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE hubs SET is_online = 0, node_id = NULL, updated_at = $2 WHERE node_id = $1",
    )
    .bind(node)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM server_nodes WHERE id = $1")
        .bind(node)
        .execute(&mut *conn)
        .await?;
    Ok(hubs)
}
