//! Farms (tenants) and their hub provisioning token.

use crate::{Conn, StoreError, StoreResult};
use domain::{Role, TenantId, UserId};
use serde::Serialize;

/// A farm.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Tenant {
    /// Id (UUID).
    pub id: String,
    /// Unique subdomain.
    pub subdomain: String,
    /// The farm's (company's) name.
    pub company_name: String,
    /// 1 while the farm is in service.
    pub is_active: i64,
    /// 1 when queued jobs start by themselves on idle printers with a cleared bed.
    pub auto_dispatch: i64,
    /// Created at.
    pub created_at: String,
    /// Updated at.
    pub updated_at: String,
}

/// A farm as one of its members sees it in their list, with their role.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MyTenant {
    /// The farm.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub tenant: Tenant,
    /// The member's role in it.
    pub role: String,
}

macro_rules! columns {
    () => {
        "id, subdomain, company_name, is_active, auto_dispatch, created_at, updated_at"
    };
}

/// Creates a farm with `owner` as its first owner. Run inside a transaction.
pub async fn create(
    conn: &mut Conn,
    company_name: &str,
    subdomain: &str,
    owner: &UserId,
    now: &str,
) -> StoreResult<Tenant> {
    create_if_free(conn, company_name, subdomain, owner, now)
        .await?
        .ok_or_else(|| StoreError::Conflict {
            field: "subdomain".into(),
        })
}

/// Creates a farm owned by `owner` unless `subdomain` is taken (then `None`, and the
/// transaction is still usable: PostgreSQL aborts a transaction on a failed INSERT, but
/// not on one that `ON CONFLICT DO NOTHING` skipped). A concurrent creator of the same
/// subdomain is waited for, so the answer is final.
pub async fn create_if_free(
    conn: &mut Conn,
    company_name: &str,
    subdomain: &str,
    owner: &UserId,
    now: &str,
) -> StoreResult<Option<Tenant>> {
    let sql = concat!(
        "INSERT INTO tenants (id, subdomain, company_name, is_active, created_at, updated_at)
         VALUES ($1, $2, $3, 1, $4, $4) ON CONFLICT (subdomain) DO NOTHING RETURNING ",
        columns!(),
        ""
    );
    let Some(tenant) = sqlx::query_as::<_, Tenant>(sql)
        .bind(crate::new_id())
        .bind(subdomain)
        .bind(company_name)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    crate::members::add(conn, &tenant.tenant_id(), owner, Role::Owner, None, now).await?;
    Ok(Some(tenant))
}

impl Tenant {
    /// The typed id.
    pub fn tenant_id(&self) -> TenantId {
        TenantId::from_stored(self.id.clone())
    }
}

/// Whether a subdomain is taken.
pub async fn subdomain_taken(conn: &mut Conn, subdomain: &str) -> StoreResult<bool> {
    Ok(sqlx::query("SELECT 1 FROM tenants WHERE subdomain = $1")
        .bind(subdomain)
        .fetch_optional(&mut *conn)
        .await?
        .is_some())
}

/// Reads one farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Tenant> {
    let sql = concat!("SELECT ", columns!(), " FROM tenants WHERE id = $1");
    Ok(sqlx::query_as::<_, Tenant>(sql)
        .bind(tenant.as_str())
        .fetch_one(&mut *conn)
        .await?)
}

/// The farms where `user` is an active member, oldest first.
pub async fn list_for_user(conn: &mut Conn, user: &UserId) -> StoreResult<Vec<MyTenant>> {
    Ok(sqlx::query_as::<_, MyTenant>(
        "SELECT t.id, t.subdomain, t.company_name, t.is_active, t.auto_dispatch, t.created_at, t.updated_at, m.role
         FROM tenants t JOIN tenant_members m ON m.tenant_id = t.id
         WHERE m.user_id = $1 AND m.is_active = 1
         ORDER BY t.created_at, t.id",
    )
    .bind(user.as_str())
    .fetch_all(&mut *conn)
    .await?)
}

/// What may change on a farm; `None` keeps the value.
#[derive(Debug, Clone, Copy, Default)]
pub struct FarmChange<'a> {
    /// The farm's name.
    pub company_name: Option<&'a str>,
    /// Its subdomain.
    pub subdomain: Option<&'a str>,
    /// Whether queued jobs start by themselves.
    pub auto_dispatch: Option<bool>,
}

/// Changes a farm's name, subdomain or dispatch mode.
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    change: FarmChange<'_>,
    now: &str,
) -> StoreResult<Tenant> {
    let sql = concat!(
        "UPDATE tenants SET company_name = COALESCE($2, company_name),
                subdomain = COALESCE($3, subdomain), updated_at = $4,
                auto_dispatch = COALESCE($5, auto_dispatch)
         WHERE id = $1 RETURNING ",
        columns!(),
        ""
    );
    Ok(sqlx::query_as::<_, Tenant>(sql)
        .bind(tenant.as_str())
        .bind(change.company_name)
        .bind(change.subdomain)
        .bind(now)
        .bind(change.auto_dispatch.map(i64::from))
        .fetch_one(&mut *conn)
        .await?)
}

/// The farm's sealed hub token and when it was made, if one exists.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SealedHubToken {
    /// The token, sealed with the service key.
    pub hub_token_encrypted: String,
    /// When it was made.
    pub hub_token_created_at: String,
}

/// Farms with auto-dispatch on.
pub async fn auto_dispatching(conn: &mut Conn) -> StoreResult<Vec<TenantId>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM tenants WHERE auto_dispatch = 1 AND is_active = 1")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id,)| TenantId::from_stored(id))
        .collect())
}

/// Reads the farm's hub token (sealed).
pub async fn hub_token(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Option<SealedHubToken>> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT hub_token_encrypted, hub_token_created_at FROM tenants WHERE id = $1",
    )
    .bind(tenant.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Err(StoreError::NotFound),
        Some((Some(sealed), Some(created))) => Ok(Some(SealedHubToken {
            hub_token_encrypted: sealed,
            hub_token_created_at: created,
        })),
        Some(_) => Ok(None),
    }
}

/// Replaces the farm's hub token; the old one stops working at once.
pub async fn set_hub_token(
    conn: &mut Conn,
    tenant: &TenantId,
    token_hash: &str,
    sealed: &str,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE tenants SET hub_token_hash = $2, hub_token_encrypted = $3,
                hub_token_created_at = $4, updated_at = $4
         WHERE id = $1",
    )
    .bind(tenant.as_str())
    .bind(token_hash)
    .bind(sealed)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The farm whose hub token hashes to `token_hash` (for hubs that provision themselves).
pub async fn find_by_hub_token(conn: &mut Conn, token_hash: &str) -> StoreResult<Option<TenantId>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT id FROM tenants WHERE hub_token_hash = $1 AND is_active = 1")
            .bind(token_hash)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(id,)| TenantId::from_stored(id)))
}

/// The farms whose subdomain is `name`, or failing that whose company name is `name`
/// (case-insensitive): how an operator names a farm on the command line.
pub async fn find_by_name(conn: &mut Conn, name: &str) -> StoreResult<Vec<Tenant>> {
    let by_subdomain = sqlx::query_as::<_, Tenant>(concat!(
        "SELECT ",
        columns!(),
        " FROM tenants WHERE subdomain = $1"
    ))
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    if !by_subdomain.is_empty() {
        return Ok(by_subdomain);
    }
    Ok(sqlx::query_as::<_, Tenant>(concat!(
        "SELECT ",
        columns!(),
        " FROM tenants WHERE LOWER(company_name) = LOWER($1) ORDER BY created_at"
    ))
    .bind(name)
    .fetch_all(&mut *conn)
    .await?)
}
