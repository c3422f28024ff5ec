//! Colour presets, `/api/v1/colors`: the farm's named colours of each filament type, which
//! SKUs, jobs and the filament stock refer to. A name is unique per filament type.

use crate::app::App;
use crate::audit::{Actor, Change};
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::{ApiError, Resource};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo, body_flag, query_flag};
use axum::extract::State;
use domain::catalogue::{ColourPreset, FILAMENT_TYPES, parse_filament_type};
use domain::{Invalid, TenantId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::StoreError;
use store::colours::{Colour, ColourQuery};

/// The most colours one batch may add.
pub const MAX_BATCH: usize = 500;

/// A colour as a client sends it (every field optional: a change names only what changes).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ColourBody {
    pub(crate) color_name: Option<String>,
    pub(crate) hex_code: Option<String>,
    pub(crate) filament_type: Option<String>,
    /// `true`/`false` or `1`/`0`, as the earlier client sends it.
    pub(crate) is_active: Option<Value>,
}

impl ColourBody {
    /// A new preset from this body (`prefix` names its place in a batch).
    pub(crate) fn parse_new(&self, prefix: &str) -> Result<ColourPreset, Invalid> {
        let mut flags = Invalid::default();
        let active = body_flag(
            &mut flags,
            &format!("{prefix}is_active"),
            self.is_active.as_ref(),
        );
        let is_active = flags.into_result().map(|()| active);
        let preset = ColourPreset::parse(
            prefix,
            self.color_name.as_deref(),
            self.hex_code.as_deref(),
            self.filament_type.as_deref(),
            None,
        );
        match (preset, is_active) {
            (Ok(mut preset), Ok(active)) => {
                preset.is_active = active.unwrap_or(true);
                Ok(preset)
            }
            (preset, active) => {
                let mut invalid = Invalid::default();
                invalid.take(preset);
                invalid.take(active);
                Err(invalid)
            }
        }
    }

    /// The stored preset with this body's changes.
    fn merge_into(&self, stored: &Colour) -> Result<ColourPreset, Invalid> {
        let pick = |new: &Option<String>, old: &str| new.clone().unwrap_or_else(|| old.into());
        let merged = ColourBody {
            color_name: Some(pick(&self.color_name, &stored.color_name)),
            hex_code: Some(pick(&self.hex_code, &stored.hex_code)),
            filament_type: Some(pick(&self.filament_type, &stored.filament_type)),
            is_active: Some(
                self.is_active
                    .clone()
                    .unwrap_or(Value::from(stored.is_active)),
            ),
        };
        merged.parse_new("")
    }
}

/// Query of the colour list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    page: Option<i64>,
    limit: Option<i64>,
    filament_type: Option<String>,
    is_active: Option<String>,
    search: Option<String>,
}

/// How the store's errors about a colour read.
const COLOUR: Resource = Resource {
    not_found: "COLOR_NOT_FOUND",
    what: "colour",
    taken: "COLOR_NAME_TAKEN",
    field: "color_name",
    taken_message: "this farm already has a colour of that name for that filament type",
};

async fn find(app: &App, tenant: &TenantId, id: &str) -> Result<Colour, ApiError> {
    let mut conn = app.store.conn().await?;
    store::colours::get(&mut conn, tenant, id)
        .await
        .map_err(|e| COLOUR.error(e))
}

/// What the audit log keeps of a colour.
fn audited(colour: &Colour) -> Value {
    json!({ "color_name": colour.color_name, "hex_code": colour.hex_code, "filament_type": colour.filament_type, "is_active": colour.is_active })
}

/// GET /api/v1/colors — a page of the farm's colours (filters: filament_type, is_active,
/// search), answered as `{items, total, page, limit, hasMore}` as the earlier client reads it.
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Value> {
    let mut invalid = Invalid::default();
    let is_active = invalid
        .take(query_flag("is_active", q.is_active.as_deref()))
        .flatten();
    let filament_type = q
        .filament_type
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .and_then(|t| invalid.take(parse_filament_type("filament_type", t)));
    invalid.into_result()?;
    let paging = Paging {
        page: q.page.unwrap_or(1).max(1),
        limit: q.limit.unwrap_or(100),
    };
    let query = ColourQuery {
        filament_type,
        is_active,
        search: q.search.filter(|s| !s.trim().is_empty()),
    };
    let mut conn = app.store.conn().await?;
    let (items, total) = store::colours::list(
        &mut conn,
        &member.tenant,
        &query,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    let has_more = paging.offset() + (items.len() as i64) < total;
    Ok(Envelope::ok(json!({
        "items": items,
        "total": total,
        "page": paging.page,
        "limit": paging.limit(),
        "hasMore": has_more,
    })))
}

/// GET /api/v1/colors/filament-types — the filament types to choose from: the farm's own
/// (those its colours use) and the usual Bambu types, each once, sorted.
pub async fn filament_types(
    State(app): State<App>,
    member: Member<roles::Viewer>,
) -> ApiResult<Vec<String>> {
    let mut conn = app.store.conn().await?;
    let mut types = store::colours::filament_types(&mut conn, &member.tenant).await?;
    types.extend(FILAMENT_TYPES.iter().map(|t| t.to_string()));
    types.sort_by_key(|t| t.to_lowercase());
    types.dedup();
    Ok(Envelope::all(types))
}

/// GET /api/v1/colors/{color_id} — one colour.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Colour> {
    Ok(Envelope::ok(find(&app, &member.tenant, &id).await?))
}

/// POST /api/v1/colors — adds a colour (operators).
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiJson(body): ApiJson<ColourBody>,
) -> ApiResult<Colour> {
    let preset = body.parse_new("")?;
    let colour = add_colour(&app, &Actor::member(&member, client), &preset).await?;
    Ok(Envelope::created(colour))
}

/// Adds a colour to the actor's farm: the one way in for the API and the dashboard (a
/// name is unique per filament type, a taken one a conflict on `color_name`; audited).
pub async fn add_colour(
    app: &App,
    actor: &Actor,
    preset: &ColourPreset,
) -> Result<Colour, ApiError> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let colour = store::colours::create(&mut tx, &actor.tenant, preset, &now)
        .await
        .map_err(|e| COLOUR.error(e))?;
    let change = Change {
        action: "color.created",
        table: "color_presets",
        record: &colour.id,
        new: Some(audited(&colour)),
        ..Change::default()
    };
    actor.record(&mut tx, change, &now).await?;
    tx.commit().await?;
    Ok(colour)
}

/// Body of `POST /colors/batch`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BatchBody {
    colors: Vec<ColourBody>,
}

/// POST /api/v1/colors/batch — adds several colours at once, all or none (operators): every
/// wrong field is named at its place (`colors[2].hex_code`), as is a name taken twice.
pub async fn create_batch(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiJson(body): ApiJson<BatchBody>,
) -> ApiResult<Vec<Colour>> {
    if body.colors.is_empty() || body.colors.len() > MAX_BATCH {
        return Err(ApiError::field(
            "colors",
            format!("colors must hold 1 to {MAX_BATCH} colours"),
        ));
    }
    let mut invalid = Invalid::default();
    let presets: Vec<Option<ColourPreset>> = body
        .colors
        .iter()
        .enumerate()
        .map(|(i, c)| invalid.take(c.parse_new(&format!("colors[{i}]."))))
        .collect();
    invalid.into_result()?;
    let presets: Vec<ColourPreset> = presets.into_iter().flatten().collect();
    // The same name and type twice in one batch is named at its second place.
    for (i, preset) in presets.iter().enumerate() {
        let earlier = presets[..i]
            .iter()
            .any(|p| p.name == preset.name && p.filament_type == preset.filament_type);
        if earlier {
            return Err(COLOUR.error_at(
                StoreError::Conflict {
                    field: "color_name".into(),
                },
                &format!("colors[{i}].color_name"),
            ));
        }
    }
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let mut created = Vec::with_capacity(presets.len());
    for (i, preset) in presets.iter().enumerate() {
        let colour = store::colours::create(&mut tx, &member.tenant, preset, &now)
            .await
            .map_err(|e| COLOUR.error_at(e, &format!("colors[{i}].color_name")))?;
        created.push(colour);
    }
    let ids: Vec<&str> = created.iter().map(|c| c.id.as_str()).collect();
    let change = Change {
        action: "color.batch_created",
        table: "color_presets",
        record: ids.first().copied().unwrap_or_default(),
        new: Some(json!({ "ids": ids, "count": created.len() })),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::created(created))
}

/// PUT /api/v1/colors/{color_id} — changes a colour (operators; fields left out stay).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ColourBody>,
) -> ApiResult<Colour> {
    let stored = find(&app, &member.tenant, &id).await?;
    let preset = body.merge_into(&stored)?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let colour = store::colours::update(&mut tx, &member.tenant, &stored.id, &preset)
        .await
        .map_err(|e| COLOUR.error(e))?;
    let change = Change {
        action: "color.updated",
        table: "color_presets",
        record: &colour.id,
        old: Some(audited(&stored)),
        new: Some(audited(&colour)),
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(colour))
}

/// DELETE /api/v1/colors/{color_id} — removes a colour (operators). SKUs and jobs keep the colour
/// they were given: they hold its name and hex code, not a reference.
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let stored = find(&app, &member.tenant, &id).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    store::colours::delete(&mut tx, &member.tenant, &stored.id)
        .await
        .map_err(|e| COLOUR.error(e))?;
    let change = Change {
        action: "color.deleted",
        table: "color_presets",
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
    use crate::api::{PAGING, Param};
    use axum::http::Method as M;
    use domain::Role;
    crate::api::Routes::new()
        .add(M::GET, "/api/v1/colors", Member(Role::Viewer), "The farm's colours, a page at a time (filters: filament_type, is_active, search): data is {items, total, page, limit, hasMore}", list)
        .query(PAGING)
        .query(&[("filament_type", Param::Text), ("is_active", Param::Flag), ("search", Param::Text)])
        .add(M::POST, "/api/v1/colors", Member(Role::Operator), "Add a colour (a name is unique per filament type)", create)
        .example(json!({"color_name": "Forest Green", "hex_code": "#1B4C0E", "filament_type": "PETG"}))
        .add(M::POST, "/api/v1/colors/batch", Member(Role::Operator), "Add several colours, all or none", create_batch)
        .example(json!({"colors": [{"color_name": "Sunny D", "hex_code": "#FF9100", "filament_type": "PLA"}]}))
        .add(M::GET, "/api/v1/colors/filament-types", Member(Role::Viewer), "Filament types to choose from: the farm's and the usual ones", filament_types)
        .add(M::GET, "/api/v1/colors/{color_id}", Member(Role::Viewer), "One colour", get_one)
        .add(M::PUT, "/api/v1/colors/{color_id}", Member(Role::Operator), "Change a colour", update)
        .example(json!({"hex_code": "#00D5FF"}))
        .add(M::DELETE, "/api/v1/colors/{color_id}", Member(Role::Operator), "Remove a colour", delete)
}
