//! Build plate types, `/api/v1/plates`: the plates the farm prints on (a job and a printer
//! name theirs; the dispatcher prefers a printer with the plate a job asks for). A name is
//! unique in the farm; `seed-defaults` adds Bambu's plates the farm lacks.

use crate::app::App;
use crate::audit::{Actor, Change};
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope};
use crate::error::{ApiError, Resource};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo, body_flag, query_flag};
use axum::extract::State;
use domain::catalogue::{DEFAULT_PLATES, parse_description, parse_name};
use domain::{Invalid, TenantId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::plates::{Plate, PlateFields};

/// A plate as a client sends it (a change names only what changes).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PlateBody {
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    /// `true`/`false` or `1`/`0`.
    pub(crate) is_active: Option<Value>,
}

impl PlateBody {
    /// The plate's values: this body over `stored` (or over nothing, for a new plate).
    pub(crate) fn parse(&self, stored: Option<&Plate>) -> Result<PlateFields, Invalid> {
        let mut invalid = Invalid::default();
        let name = match (&self.name, stored) {
            (Some(name), _) => invalid.take(parse_name("name", name)),
            (None, Some(plate)) => Some(plate.name.clone()),
            (None, None) => {
                invalid.take::<()>(Err(Invalid::field("name", "name is required")));
                None
            }
        };
        let description = match (&self.description, stored) {
            (Some(text), _) => invalid
                .take(parse_description("description", text))
                .flatten(),
            (None, Some(plate)) => plate.description.clone(),
            (None, None) => None,
        };
        let is_active = body_flag(&mut invalid, "is_active", self.is_active.as_ref())
            .unwrap_or_else(|| stored.is_none_or(|p| p.is_active == 1));
        invalid.into_result()?;
        Ok(PlateFields {
            name: name.unwrap_or_default(),
            description,
            is_active,
        })
    }
}

/// Query of the plate list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    is_active: Option<String>,
}

/// How the store's errors about a plate read.
const PLATE: Resource = Resource {
    not_found: "PLATE_NOT_FOUND",
    what: "plate",
    taken: "PLATE_NAME_TAKEN",
    field: "name",
    taken_message: "this farm already has a plate of that name",
};

async fn find(app: &App, tenant: &TenantId, id: &str) -> Result<Plate, ApiError> {
    let mut conn = app.store.conn().await?;
    store::plates::get(&mut conn, tenant, id)
        .await
        .map_err(|e| PLATE.error(e))
}

fn audited(plate: &Plate) -> Value {
    json!({ "name": plate.name, "description": plate.description, "is_active": plate.is_active })
}

/// GET /api/v1/plates — the farm's plates by name (filter: is_active).
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<Plate>> {
    let is_active = query_flag("is_active", q.is_active.as_deref())?;
    let mut conn = app.store.conn().await?;
    Ok(Envelope::all(
        store::plates::list(&mut conn, &member.tenant, is_active).await?,
    ))
}

/// GET /api/v1/plates/{plate_id} — one plate.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Plate> {
    Ok(Envelope::ok(find(&app, &member.tenant, &id).await?))
}

/// POST /api/v1/plates — adds a plate (operators).
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiJson(body): ApiJson<PlateBody>,
) -> ApiResult<Plate> {
    let fields = body.parse(None)?;
    let plate = add_plate(&app, &Actor::member(&member, client), &fields).await?;
    Ok(Envelope::created(plate))
}

/// Adds a plate to the actor's farm: the one way in for the API and the dashboard (a name
/// is unique in the farm, a taken one a conflict on `name`; audited).
pub async fn add_plate(app: &App, actor: &Actor, fields: &PlateFields) -> Result<Plate, ApiError> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let plate = store::plates::create(&mut tx, &actor.tenant, fields, &now)
        .await
        .map_err(|e| PLATE.error(e))?;
    let change = Change {
        action: "plate.created",
        table: "build_plate_types",
        record: &plate.id,
        new: Some(audited(&plate)),
        ..Change::default()
    };
    actor.record(&mut tx, change, &now).await?;
    tx.commit().await?;
    Ok(plate)
}

/// POST /api/v1/plates/seed-defaults — adds the usual Bambu plates the farm does not have
/// yet (operators); again, it adds nothing. Answers what it added and every plate.
pub async fn seed_defaults(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
) -> ApiResult<Value> {
    let (added, plates) = seed_plates(&app, &Actor::member(&member, client)).await?;
    Ok(Envelope::ok(
        json!({ "created": added.len(), "added": added, "plates": plates }),
    ))
}

/// Adds the usual Bambu plates the actor's farm lacks: the one way for the API and the
/// dashboard (audited when it adds any). Answers the plates added and every plate.
pub async fn seed_plates(app: &App, actor: &Actor) -> Result<(Vec<Plate>, Vec<Plate>), ApiError> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let mut added = Vec::new();
    for (name, description) in DEFAULT_PLATES {
        let fields = PlateFields {
            name: (*name).to_string(),
            description: Some((*description).to_string()),
            is_active: true,
        };
        if let Some(plate) =
            store::plates::create_missing(&mut tx, &actor.tenant, &fields, &now).await?
        {
            added.push(plate);
        }
    }
    if !added.is_empty() {
        let names: Vec<&str> = added.iter().map(|p| p.name.as_str()).collect();
        let change = Change {
            action: "plate.seeded",
            table: "build_plate_types",
            record: &added[0].id,
            new: Some(json!({ "names": names })),
            ..Change::default()
        };
        actor.record(&mut tx, change, &now).await?;
    }
    let plates = store::plates::list(&mut tx, &actor.tenant, None).await?;
    tx.commit().await?;
    Ok((added, plates))
}

/// PUT /api/v1/plates/{plate_id} — changes a plate (operators; fields left out stay).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PlateBody>,
) -> ApiResult<Plate> {
    let stored = find(&app, &member.tenant, &id).await?;
    let fields = body.parse(Some(&stored))?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let plate = store::plates::update(&mut tx, &member.tenant, &stored.id, &fields, &now)
        .await
        .map_err(|e| PLATE.error(e))?;
    let change = Change {
        action: "plate.updated",
        table: "build_plate_types",
        record: &plate.id,
        old: Some(audited(&stored)),
        new: Some(audited(&plate)),
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(plate))
}

/// DELETE /api/v1/plates/{plate_id} — removes a plate (operators). Printers and jobs keep the
/// plate's name they were given.
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let stored = find(&app, &member.tenant, &id).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    store::plates::delete(&mut tx, &member.tenant, &stored.id)
        .await
        .map_err(|e| PLATE.error(e))?;
    let change = Change {
        action: "plate.deleted",
        table: "build_plate_types",
        record: &stored.id,
        old: Some(audited(&stored)),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(json!({ "id": stored.id, "deleted": true })))
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::Param;
    use axum::http::Method as M;
    use domain::Role;
    crate::api::Routes::new()
        .add(
            M::GET,
            "/api/v1/plates",
            Member(Role::Viewer),
            "The farm's build plates (filter: is_active)",
            list,
        )
        .query(&[("is_active", Param::Flag)])
        .add(
            M::POST,
            "/api/v1/plates",
            Member(Role::Operator),
            "Add a build plate (a name is unique in the farm)",
            create,
        )
        .example(
            json!({"name": "Textured PEI Plate", "description": "PLA and PETG release when cool"}),
        )
        .add(
            M::POST,
            "/api/v1/plates/seed-defaults",
            Member(Role::Operator),
            "Add the usual Bambu plates the farm lacks",
            seed_defaults,
        )
        .add(
            M::GET,
            "/api/v1/plates/{plate_id}",
            Member(Role::Viewer),
            "One build plate",
            get_one,
        )
        .add(
            M::PUT,
            "/api/v1/plates/{plate_id}",
            Member(Role::Operator),
            "Change a build plate",
            update,
        )
        .example(json!({"description": "For PETG and ABS"}))
        .add(
            M::DELETE,
            "/api/v1/plates/{plate_id}",
            Member(Role::Operator),
            "Remove a build plate",
            delete,
        )
}
