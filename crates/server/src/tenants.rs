//! Farms: create, list mine, get, update, ensure, the hub token, and the audit log.

use crate::app::App;
use crate::audit::Change;
use crate::auth::{AuthUser, Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiJson, ApiQuery, ClientInfo};
use axum::extract::State;
use domain::validation::{FarmName, Subdomain};
use domain::{Invalid, Role};
use serde::Deserialize;
use serde_json::{Value, json};
use store::audit::AuditRow;
use store::secrets::{new_token, token_hash};
use store::tenants::{MyTenant, Tenant};
use store::users::User;
use store::{Conn, StoreError};

/// Hub tokens start with this, to be told apart from other secrets.
const HUB_TOKEN_PREFIX: &str = "pfh_";

/// Creates a farm owned by `owner`. With no subdomain asked for, one is derived from
/// the name and made unique; an asked-for subdomain that is taken is 409.
pub async fn create_farm(
    conn: &mut Conn,
    owner: &User,
    client: &ClientInfo,
    name: &FarmName,
    subdomain: Option<&Subdomain>,
    now: &str,
) -> Result<Tenant, ApiError> {
    let tenant = match subdomain {
        Some(chosen) => {
            store::tenants::create(conn, name.as_str(), chosen.as_str(), &owner.user_id(), now)
                .await
                .map_err(subdomain_taken)?
        }
        None => create_with_free_subdomain(conn, owner, name, now).await?,
    };
    let change = Change {
        action: "tenant.created",
        table: "tenants",
        record: &tenant.id,
        new: Some(json!({ "company_name": tenant.company_name, "subdomain": tenant.subdomain })),
        ..Change::default()
    };
    crate::audit::record(
        conn,
        &tenant.tenant_id(),
        &owner.user_id(),
        client,
        change,
        now,
    )
    .await?;
    Ok(tenant)
}

/// A unique-key conflict on a farm is its subdomain being taken.
fn subdomain_taken(err: StoreError) -> ApiError {
    match err {
        StoreError::Conflict { .. } => ApiError::Conflict {
            code: "SUBDOMAIN_TAKEN",
            field: Some("subdomain".into()),
            message: "that subdomain is taken; choose another".into(),
        },
        other => other.into(),
    }
}

/// Creates the farm under the first free subdomain of `base`, `base-2`, `base-3`, ...
/// Another farm of the same name may take the one found between the look and the insert
/// (on PostgreSQL, concurrent sign-ups did): then a random suffix is tried, never a 409 for
/// a subdomain the user did not choose.
async fn create_with_free_subdomain(
    conn: &mut Conn,
    owner: &User,
    name: &FarmName,
    now: &str,
) -> Result<Tenant, ApiError> {
    let base = Subdomain::from_name(name);
    let mut candidate = free_subdomain(conn, &base).await?;
    for _ in 0..10 {
        let created = store::tenants::create_if_free(
            conn,
            name.as_str(),
            candidate.as_str(),
            &owner.user_id(),
            now,
        )
        .await?;
        if let Some(tenant) = created {
            return Ok(tenant);
        }
        candidate = base.with_suffix(rand::random_range(1000..1_000_000));
    }
    Err(ApiError::internal(anyhow::anyhow!(
        "no free subdomain found for '{base}' in 10 tries"
    )))
}

/// The first of `base`, `base-2`, `base-3`, ... that no farm uses.
async fn free_subdomain(conn: &mut Conn, base: &Subdomain) -> Result<Subdomain, ApiError> {
    if !store::tenants::subdomain_taken(conn, base.as_str()).await? {
        return Ok(base.clone());
    }
    for n in 2..50 {
        let candidate = base.with_suffix(n);
        if !store::tenants::subdomain_taken(conn, candidate.as_str()).await? {
            return Ok(candidate);
        }
    }
    // Fifty farms of the same name: fall back to a random suffix.
    Ok(base.with_suffix(rand::random_range(1000..1_000_000)))
}

/// Body of farm creation and update.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FarmBody {
    #[serde(alias = "companyName", alias = "name")]
    company_name: Option<String>,
    subdomain: Option<String>,
    /// Whether queued jobs start by themselves (update only).
    #[serde(alias = "autoDispatch")]
    auto_dispatch: Option<bool>,
}

/// POST /api/v1/tenants — a new farm; the caller becomes its owner.
pub async fn create(
    State(app): State<App>,
    AuthUser(auth): AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<FarmBody>,
) -> ApiResult<MyTenant> {
    let mut invalid = Invalid::default();
    let name = invalid.take(FarmName::parse(
        "company_name",
        body.company_name.as_deref().unwrap_or_default(),
    ));
    let subdomain = match body.subdomain.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => invalid.take(Subdomain::parse("subdomain", s)),
        _ => None,
    };
    invalid.into_result()?;
    let Some(name) = name else {
        return Err(ApiError::field("company_name", "company_name is required"));
    };
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let tenant = create_farm(
        &mut tx,
        &auth.user,
        &client,
        &name,
        subdomain.as_ref(),
        &now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant.id, user_id = %auth.user.id, "farm created");
    Ok(Envelope::created(MyTenant {
        tenant,
        role: Role::Owner.to_string(),
    }))
}

/// GET /api/v1/tenants — the caller's farms with their role in each (a plain array).
pub async fn list_mine(
    State(app): State<App>,
    AuthUser(auth): AuthUser,
) -> ApiResult<Vec<MyTenant>> {
    let mut conn = app.store.conn().await?;
    let farms = store::tenants::list_for_user(&mut conn, &auth.user.user_id()).await?;
    Ok(Envelope::all(farms))
}

/// POST /api/v1/tenants/ensure — the caller's first farm, made for them if they have none.
pub async fn ensure(
    State(app): State<App>,
    AuthUser(auth): AuthUser,
    client: ClientInfo,
) -> ApiResult<Value> {
    let mut tx = app.store.begin().await?;
    let existing = store::tenants::list_for_user(&mut tx, &auth.user.user_id()).await?;
    if let Some(first) = existing.into_iter().next() {
        return Ok(Envelope::ok(json!({ "tenant": first, "created": false })));
    }
    let now = store::now_text();
    let name = crate::auth::routes::default_farm_name(&auth.user.full_name)?;
    let tenant = create_farm(&mut tx, &auth.user, &client, &name, None, &now).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant.id, user_id = %auth.user.id, "farm ensured");
    let mine = MyTenant {
        tenant,
        role: Role::Owner.to_string(),
    };
    Ok(Envelope::created(
        json!({ "tenant": mine, "created": true }),
    ))
}

/// GET /api/v1/tenants/{tenant_id} — one farm, with the caller's role.
pub async fn get_one(State(app): State<App>, member: Member<roles::Viewer>) -> ApiResult<MyTenant> {
    let mut conn = app.store.conn().await?;
    let tenant = store::tenants::get(&mut conn, &member.tenant)
        .await
        .or_not_found("TENANT_NOT_FOUND", "farm")?;
    Ok(Envelope::ok(MyTenant {
        tenant,
        role: member.role.to_string(),
    }))
}

/// PUT /api/v1/tenants/{tenant_id} — renames a farm or changes its subdomain (admins).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiJson(body): ApiJson<FarmBody>,
) -> ApiResult<MyTenant> {
    let mut invalid = Invalid::default();
    let name = body
        .company_name
        .as_deref()
        .and_then(|n| invalid.take(FarmName::parse("company_name", n)));
    let subdomain = body
        .subdomain
        .as_deref()
        .and_then(|s| invalid.take(Subdomain::parse("subdomain", s)));
    invalid.into_result()?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let before = store::tenants::get(&mut tx, &member.tenant).await?;
    let change = store::tenants::FarmChange {
        company_name: name.as_ref().map(FarmName::as_str),
        subdomain: subdomain.as_ref().map(Subdomain::as_str),
        auto_dispatch: body.auto_dispatch,
    };
    let tenant = store::tenants::update(&mut tx, &member.tenant, change, &now)
        .await
        .map_err(subdomain_taken)?;
    let change = Change {
        action: "tenant.updated",
        table: "tenants",
        record: &tenant.id,
        old: Some(farm_view(&before)),
        new: Some(farm_view(&tenant)),
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    // Open dashboards show the farm's name and dispatcher switch: tell them (an addition
    // to the socket's messages; older clients ignore unknown types).
    app.realtime.publish(
        &member.tenant,
        proto::dashboard::ServerMessage::FarmUpdated {
            company_name: tenant.company_name.clone(),
            auto_dispatch: tenant.auto_dispatch == 1,
        },
    );
    if tenant.auto_dispatch == 1 && before.auto_dispatch == 0 {
        app.farm.wake_dispatcher(&member.tenant);
    }
    Ok(Envelope::ok(MyTenant {
        tenant,
        role: member.role.to_string(),
    }))
}

/// The audited fields of a farm.
fn farm_view(tenant: &store::tenants::Tenant) -> Value {
    json!({ "company_name": tenant.company_name, "subdomain": tenant.subdomain, "auto_dispatch": tenant.auto_dispatch == 1 })
}

/// The farm's hub token as shown to admins.
fn hub_token_view(token: &str, created_at: &str) -> Value {
    json!({ "hub_token": token, "created_at": created_at })
}

/// GET /api/v1/tenants/hub-token — the farm's hub provisioning token (admins); made on first ask.
pub async fn hub_token(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
) -> ApiResult<Value> {
    let context = hub_token_context(&member.tenant);
    let open = |sealed: store::tenants::SealedHubToken| -> ApiResult<Value> {
        let token = app
            .cipher
            .open(&sealed.hub_token_encrypted, &context)
            .map_err(ApiError::internal)?;
        Ok(Envelope::ok(hub_token_view(
            &token,
            &sealed.hub_token_created_at,
        )))
    };
    // Reading an existing token needs no write lock; only the first ask makes one.
    let mut conn = app.store.conn().await?;
    if let Some(sealed) = store::tenants::hub_token(&mut conn, &member.tenant).await? {
        return open(sealed);
    }
    drop(conn);
    let mut tx = app.store.begin().await?;
    // Checked again inside the write transaction: two first asks make one token.
    if let Some(sealed) = store::tenants::hub_token(&mut tx, &member.tenant).await? {
        return open(sealed);
    }
    let (token, now) = replace_hub_token(&app, &mut tx, &member, &client).await?;
    tx.commit().await?;
    Ok(Envelope::ok(hub_token_view(&token, &now)))
}

/// POST /api/v1/tenants/hub-token/regenerate — a new hub token; the old one stops working (admins).
pub async fn regenerate_hub_token(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
) -> ApiResult<Value> {
    let mut tx = app.store.begin().await?;
    let (token, now) = replace_hub_token(&app, &mut tx, &member, &client).await?;
    tx.commit().await?;
    Ok(Envelope::ok(hub_token_view(&token, &now)))
}

/// What a farm's hub token is sealed to.
pub fn hub_token_context(tenant: &domain::TenantId) -> String {
    format!("tenant/{tenant}/hub-token")
}

async fn replace_hub_token(
    app: &App,
    conn: &mut Conn,
    member: &Member<roles::Admin>,
    client: &ClientInfo,
) -> Result<(String, String), ApiError> {
    let token = new_token(HUB_TOKEN_PREFIX);
    let now = store::now_text();
    let sealed = app.cipher.seal(&token, &hub_token_context(&member.tenant));
    store::tenants::set_hub_token(conn, &member.tenant, &token_hash(&token), &sealed, &now).await?;
    let change = Change {
        action: "tenant.hub_token_generated",
        table: "tenants",
        record: member.tenant.as_str(),
        ..Change::default()
    };
    member.audit(conn, client, change, &now).await?;
    tracing::info!(tenant_id = %member.tenant, user_id = %member.user.id, "hub token generated");
    Ok((token, now))
}

/// GET /api/v1/tenants/{tenant_id}/audit-log — the farm's audit log, newest first (admins).
pub async fn audit_log(
    State(app): State<App>,
    member: Member<roles::Admin>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<Vec<AuditRow>> {
    let mut conn = app.store.conn().await?;
    let (rows, total) =
        store::audit::list(&mut conn, &member.tenant, paging.limit(), paging.offset()).await?;
    Ok(Envelope::list(rows, paging.meta(total)))
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::PAGING;
    use axum::http::Method as M;
    use domain::Role;
    use serde_json::json;
    crate::api::Routes::new()
        .add(M::GET, "/api/v1/tenants", Signed, "My farms", list_mine)
        .add(
            M::POST,
            "/api/v1/tenants",
            Signed,
            "Create a farm (I become its owner)",
            create,
        )
        .example(json!({"company_name": "Ada Prints", "subdomain": "ada-prints"}))
        .add(
            M::POST,
            "/api/v1/tenants/ensure",
            Signed,
            "My first farm, created if I have none",
            ensure,
        )
        .add(
            M::GET,
            "/api/v1/tenants/hub-token",
            Member(Role::Admin),
            "The farm's hub provisioning token",
            hub_token,
        )
        .add(
            M::POST,
            "/api/v1/tenants/hub-token/regenerate",
            Member(Role::Admin),
            "Replace the farm's hub token",
            regenerate_hub_token,
        )
        .add(
            M::GET,
            "/api/v1/tenants/{tenant_id}",
            FarmPath(Role::Viewer),
            "One farm",
            get_one,
        )
        .add(
            M::PUT,
            "/api/v1/tenants/{tenant_id}",
            FarmPath(Role::Admin),
            "Rename a farm or change its subdomain",
            update,
        )
        .example(json!({"company_name": "Ada Prints Ltd"}))
        .add(
            M::GET,
            "/api/v1/tenants/{tenant_id}/audit-log",
            FarmPath(Role::Admin),
            "The farm's audit log",
            audit_log,
        )
        .query(PAGING)
}
