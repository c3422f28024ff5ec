//! Hubs: registered by id with a secret, then claimed by a farm.
//!
//! The secret itself is never kept. The hub signs its hello with SHA-256 of the secret (the
//! hello key), which is stored sealed with the server's key, bound to the hub id: a copy of
//! the database alone opens no hub socket.

use crate::secrets::{Cipher, token_hash};
use crate::{Conn, StoreError, StoreResult};
use domain::TenantId;
use serde::Serialize;

/// A hub row (never with its key).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Hub {
    pub id: String,
    pub tenant_id: Option<String>,
    pub name: Option<String>,
    pub firmware_version: Option<String>,
    pub hardware_version: Option<String>,
    pub is_online: i64,
    pub last_seen_at: Option<String>,
    pub ip_address: Option<String>,
    pub mac_address: Option<String>,
    pub claimed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// How many of the farm's printers it manages.
    pub printer_count: i64,
}

macro_rules! select {
    () => {
        "SELECT h.id, h.tenant_id, h.name, h.firmware_version, h.hardware_version, h.is_online,
                h.last_seen_at, h.ip_address, h.mac_address, h.claimed_at, h.created_at, h.updated_at,
                CAST((SELECT COUNT(*) FROM printers p WHERE p.hub_id = h.id) AS BIGINT) AS printer_count
         FROM hubs h"
    };
}

/// Registers a hub; `tenant` claims it at once (an admin registering for their farm).
pub async fn register(
    conn: &mut Conn,
    id: &str,
    name: Option<&str>,
    sealed_hello_key: &str,
    tenant: Option<&TenantId>,
    now: &str,
) -> StoreResult<Hub> {
    sqlx::query(
        "INSERT INTO hubs (id, tenant_id, name, hello_key_sealed, is_online, claimed_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 0, $5, $6, $6)",
    )
    .bind(id)
    .bind(tenant.map(TenantId::as_str))
    .bind(name)
    .bind(sealed_hello_key)
    .bind(tenant.map(|_| now))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    find(conn, id).await
}

/// A hub by id, whoever holds it.
pub async fn find(conn: &mut Conn, id: &str) -> StoreResult<Hub> {
    Ok(
        sqlx::query_as::<_, Hub>(concat!(select!(), " WHERE h.id = $1"))
            .bind(id)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// What a hub's hello key is sealed to.
pub fn key_context(hub_id: &str) -> String {
    format!("hub/{hub_id}/hello-key")
}

/// The stored form of a new hub's secret: its hello key (SHA-256), sealed for this hub.
pub fn seal_hello_key(cipher: &Cipher, hub_id: &str, secret: &str) -> String {
    cipher.seal(&token_hash(secret), &key_context(hub_id))
}

/// The key a hub signs its hello with (SHA-256 of its secret), opened with the server's key.
pub async fn hello_key(conn: &mut Conn, cipher: &Cipher, id: &str) -> StoreResult<[u8; 32]> {
    let (sealed,): (String,) = sqlx::query_as("SELECT hello_key_sealed FROM hubs WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let opened = cipher
        .open(&sealed, &key_context(id))
        .map_err(|e| StoreError::Corrupt(format!("hub {id}: {e}")))?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(opened, &mut key)
        .map_err(|e| StoreError::Corrupt(format!("hub {id} key: {e}")))?;
    Ok(key)
}

/// Seals the hello keys that older versions stored as plain hex; returns how many. Runs at
/// start, after the migrations (sealing needs the server's key, so it is not a migration).
pub async fn seal_plain_keys(conn: &mut Conn, cipher: &Cipher) -> StoreResult<usize> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, hello_key_sealed FROM hubs WHERE LENGTH(hello_key_sealed) = 64")
            .fetch_all(&mut *conn)
            .await?;
    let mut sealed = 0;
    for (id, plain) in rows {
        // A sealed value is base64 of at least 28 bytes, never 64 hex digits.
        if !plain.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        sqlx::query(
            "UPDATE hubs SET hello_key_sealed = $2 WHERE id = $1 AND hello_key_sealed = $3",
        )
        .bind(&id)
        .bind(cipher.seal(&plain, &key_context(&id)))
        .bind(&plain)
        .execute(&mut *conn)
        .await?;
        sealed += 1;
    }
    Ok(sealed)
}

/// One hub of the farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Hub> {
    Ok(
        sqlx::query_as::<_, Hub>(concat!(select!(), " WHERE h.tenant_id = $1 AND h.id = $2"))
            .bind(tenant.as_str())
            .bind(id)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// The farm's hubs, by name.
pub async fn list(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<Hub>> {
    Ok(sqlx::query_as::<_, Hub>(concat!(
        select!(),
        " WHERE h.tenant_id = $1 ORDER BY h.name, h.created_at, h.id"
    ))
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?)
}

/// Claims an unclaimed hub for the farm; `Conflict` when another farm holds it.
pub async fn claim(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    name: Option<&str>,
    now: &str,
) -> StoreResult<Hub> {
    let done = sqlx::query(
        "UPDATE hubs SET tenant_id = $2, name = COALESCE($3, name), claimed_at = $4, updated_at = $4
         WHERE id = $1 AND tenant_id IS NULL",
    )
    .bind(id)
    .bind(tenant.as_str())
    .bind(name)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        let holder = find(conn, id).await?;
        return if holder.tenant_id.as_deref() == Some(tenant.as_str()) {
            Ok(holder)
        } else {
            Err(StoreError::Conflict {
                field: "hub_id".into(),
            })
        };
    }
    get(conn, tenant, id).await
}

/// Renames a hub.
pub async fn rename(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    name: &str,
    now: &str,
) -> StoreResult<Hub> {
    let done =
        sqlx::query("UPDATE hubs SET name = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .bind(name)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, tenant, id).await
}

/// Releases a hub from the farm: its printers stay, without a hub. Run inside a transaction.
pub async fn release(conn: &mut Conn, tenant: &TenantId, id: &str, now: &str) -> StoreResult<u64> {
    let printers = sqlx::query("UPDATE printers SET hub_id = NULL, is_connected = 0, updated_at = $3 WHERE tenant_id = $1 AND hub_id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let done = sqlx::query(
        "UPDATE hubs SET tenant_id = NULL, claimed_at = NULL, is_online = 0, updated_at = $3 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(printers)
}

/// Records a hello nonce; `false` when the hub already used it (a replay).
pub async fn use_nonce(conn: &mut Conn, hub_id: &str, nonce: &str, now: &str) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO hub_nonces (hub_id, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT (hub_id, nonce) DO NOTHING",
    )
    .bind(hub_id)
    .bind(nonce)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes nonces seen before `before` (outside the hello window, so they can't be replayed).
pub async fn forget_nonces(conn: &mut Conn, before: &str) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM hub_nonces WHERE seen_at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// What a hub said about itself when it connected.
#[derive(Debug, Clone, Default)]
pub struct HubHello<'a> {
    pub firmware_version: Option<&'a str>,
    pub hardware_version: Option<&'a str>,
    pub mac_address: Option<&'a str>,
    pub ip_address: Option<&'a str>,
}

/// Marks a hub online on server node `node` with what it said about itself.
pub async fn came_online(
    conn: &mut Conn,
    id: &str,
    node: &str,
    hello: &HubHello<'_>,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE hubs SET is_online = 1, node_id = $7, last_seen_at = $2, updated_at = $2,
            firmware_version = COALESCE($3, firmware_version), hardware_version = COALESCE($4, hardware_version),
            mac_address = COALESCE($5, mac_address), ip_address = COALESCE($6, ip_address)
         WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(hello.firmware_version)
    .bind(hello.hardware_version)
    .bind(hello.mac_address)
    .bind(hello.ip_address)
    .bind(node)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records that the hub was heard from.
pub async fn seen(conn: &mut Conn, id: &str, now: &str) -> StoreResult<()> {
    sqlx::query("UPDATE hubs SET last_seen_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks a hub and all its printers offline (its socket closed or went silent).
pub async fn went_offline(conn: &mut Conn, id: &str, now: &str) -> StoreResult<()> {
    sqlx::query("UPDATE hubs SET is_online = 0, node_id = NULL, updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE printers SET is_connected = 0, status = 'offline', updated_at = $2 WHERE hub_id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
