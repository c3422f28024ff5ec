//! Writing the farm's audit log from a request: who, from where, what changed.

use crate::error::ApiError;
use crate::extract::ClientInfo;
use domain::{TenantId, UserId};
use serde_json::Value;
use store::Conn;
use store::audit::Entry;

/// One change to a farm's data.
#[derive(Debug, Default)]
pub struct Change<'a> {
    /// What was done (`member.invited`, `tenant.updated`, ...).
    pub action: &'a str,
    /// The table changed.
    pub table: &'a str,
    /// The row changed.
    pub record: &'a str,
    /// Values before.
    pub old: Option<Value>,
    /// Values after.
    pub new: Option<Value>,
}

/// Records `change` in the farm's audit log, in the caller's transaction.
pub async fn record(
    conn: &mut Conn,
    tenant: &TenantId,
    actor: &UserId,
    client: &ClientInfo,
    change: Change<'_>,
    now: &str,
) -> Result<(), ApiError> {
    let ip = client.ip_text();
    let entry = Entry {
        user_id: Some(actor.as_str()),
        action: change.action,
        table_name: Some(change.table),
        record_id: Some(change.record),
        old_values: change.old,
        new_values: change.new,
        ip_address: ip.as_deref(),
        user_agent: client.user_agent.as_deref(),
    };
    store::audit::record(conn, tenant, entry, now).await?;
    Ok(())
}
