//! Writing the farm's audit log from a request: who, from where, what changed.

use crate::extract::ClientInfo;
use domain::{TenantId, UserId};
use serde_json::Value;
use store::audit::Entry;
use store::{Conn, StoreError};

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

impl<'a> Change<'a> {
    /// The entry of a change the farm made by itself (a rule, a worker): no member, no client.
    pub fn system(self) -> Entry<'a> {
        Entry {
            user_id: None,
            action: self.action,
            table_name: Some(self.table),
            record_id: Some(self.record),
            old_values: self.old,
            new_values: self.new,
            ip_address: None,
            user_agent: None,
        }
    }
}

/// Who makes a change, in which farm, from where: what a rule shared by the API and the
/// dashboard needs to write the audit log, whichever of them asked.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The farm changed.
    pub tenant: TenantId,
    /// The member who changes it.
    pub user: UserId,
    /// Where the request came from.
    pub client: ClientInfo,
}

impl Actor {
    /// The member of an API request, from `client`.
    pub fn member<R: crate::auth::member::RoleFloor>(
        member: &crate::auth::Member<R>,
        client: ClientInfo,
    ) -> Actor {
        Actor {
            tenant: member.tenant.clone(),
            user: member.user.user_id(),
            client,
        }
    }

    /// Records `change` by this actor, in the caller's transaction.
    pub async fn record(
        &self,
        conn: &mut Conn,
        change: Change<'_>,
        now: &str,
    ) -> Result<(), StoreError> {
        record(conn, &self.tenant, &self.user, &self.client, change, now).await
    }
}

/// Records `change` by `actor`, or by the farm itself (a rule, a worker) when none.
pub async fn record_by(
    conn: &mut Conn,
    tenant: &TenantId,
    actor: Option<&Actor>,
    change: Change<'_>,
    now: &str,
) -> Result<(), StoreError> {
    match actor {
        Some(actor) => actor.record(conn, change, now).await,
        None => store::audit::record(conn, tenant, change.system(), now).await,
    }
}

/// Records `change` in the farm's audit log, in the caller's transaction.
pub async fn record(
    conn: &mut Conn,
    tenant: &TenantId,
    actor: &UserId,
    client: &ClientInfo,
    change: Change<'_>,
    now: &str,
) -> Result<(), StoreError> {
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
