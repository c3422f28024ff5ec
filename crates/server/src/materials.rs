//! Materials, `/api/v1/materials/{filament,packaging,components,parts}`: what a farm keeps
//! beside its finished goods. Filament is counted in grams per spool (finished prints spend
//! it by themselves: see the print-events worker), the rest in whole units. Components are
//! consumed by assembly (`components/{id}/consume`), and a product's needs can be checked
//! against them (`components/check-availability`). A material falling to its threshold
//! raises one `material_alert` on the dashboard socket, the next after a restock above it.

use crate::app::App;
use crate::audit::{Actor, Change};
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::{ApiError, OrNotFound, Resource};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo, query_flag};
use axum::extract::State;
use domain::materials::{MaterialKind, MaterialStatus};
use domain::printers::HexColour;
use domain::{FieldError, Invalid, TenantId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::materials::{Material, MaterialFields, MaterialQuery};

/// The longest text field kept.
const MAX_TEXT: usize = 200;

fn resource(kind: MaterialKind) -> Resource {
    let (not_found, what) = match kind {
        MaterialKind::Filament => ("FILAMENT_NOT_FOUND", "filament"),
        MaterialKind::Packaging => ("PACKAGING_NOT_FOUND", "packaging"),
        MaterialKind::Component => ("COMPONENT_NOT_FOUND", "component"),
        MaterialKind::Part => ("PART_NOT_FOUND", "printer part"),
    };
    Resource {
        not_found,
        what,
        taken: "MATERIAL_EXISTS",
        field: "id",
        taken_message: "a material with this id exists",
    }
}

/// A material as a client sends it (a change names only what changes; `null` clears an
/// optional field).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MaterialBody {
    #[serde(rename = "type", alias = "material_type", alias = "filament_type")]
    pub(crate) material_type: Option<String>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) name: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) color: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) hex_code: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) brand: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) diameter: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) size: Option<Option<String>>,
    /// Text, or a list of printer model codes.
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) compatible_models: Option<Option<Value>>,
    /// Grams (filament) or units left.
    #[serde(
        alias = "remaining_grams",
        alias = "remaining_units",
        alias = "quantity"
    )]
    pub(crate) remaining: Option<f64>,
    pub(crate) spool_weight_grams: Option<f64>,
    pub(crate) low_threshold: Option<f64>,
    pub(crate) status: Option<String>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) location: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) cost_per_unit: Option<Option<i64>>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) reorder_link: Option<Option<String>>,
}

/// An optional text: the change, else what is stored; blank clears; too long is refused.
fn text(
    invalid: &mut Invalid,
    field: &str,
    given: &Option<Option<String>>,
    stored: Option<&Option<String>>,
) -> Option<String> {
    match given {
        None => stored.cloned().flatten(),
        Some(None) => None,
        Some(Some(t)) if t.trim().is_empty() => None,
        Some(Some(t)) if t.trim().chars().count() > MAX_TEXT => {
            invalid.0.push(FieldError {
                field: field.into(),
                message: format!("{field} must be at most {MAX_TEXT} characters"),
            });
            None
        }
        Some(Some(t)) => Some(t.trim().to_string()),
    }
}

/// An amount of a kind: not negative, whole for units.
fn amount(invalid: &mut Invalid, kind: MaterialKind, field: &str, value: f64) -> f64 {
    if !value.is_finite() || value < 0.0 {
        invalid.0.push(FieldError {
            field: field.into(),
            message: format!("{field} must be a number of {} from 0", kind.unit()),
        });
    } else if !kind.in_grams() && value.fract() != 0.0 {
        invalid.0.push(FieldError {
            field: field.into(),
            message: format!("{field} must be a whole number of units"),
        });
    }
    value
}

/// The name the amount has in this kind's records.
fn amount_field(kind: MaterialKind) -> &'static str {
    if kind.in_grams() {
        "remaining_grams"
    } else {
        "remaining_units"
    }
}

impl MaterialBody {
    /// The material's values: this body over `stored` (or over nothing, for a new one).
    pub(crate) fn parse(
        &self,
        kind: MaterialKind,
        stored: Option<&Material>,
    ) -> Result<MaterialFields, Invalid> {
        let mut invalid = Invalid::default();
        let material_type = match (&self.material_type, stored) {
            (Some(t), _) if !t.trim().is_empty() => {
                let t = t.trim();
                if t.chars().count() > MAX_TEXT {
                    invalid.0.push(FieldError {
                        field: "type".into(),
                        message: format!("type must be at most {MAX_TEXT} characters"),
                    });
                }
                if kind.in_grams() {
                    t.to_ascii_uppercase()
                } else {
                    t.to_string()
                }
            }
            (None, Some(m)) => m.material_type.clone(),
            _ => {
                invalid.0.push(FieldError {
                    field: "type".into(),
                    message: if kind.in_grams() {
                        "type is required (PLA, PETG, ABS ...)".into()
                    } else {
                        "type is required (what kind of item it is)".into()
                    },
                });
                String::new()
            }
        };
        let hex_code = match &self.hex_code {
            None => stored.and_then(|m| m.hex_code.clone()),
            Some(None) => None,
            Some(Some(h)) if h.trim().is_empty() => None,
            Some(Some(h)) => invalid
                .take(HexColour::parse("hex_code", h))
                .map(|h| h.as_str().to_string()),
        };
        let color = text(&mut invalid, "color", &self.color, stored.map(|m| &m.color));
        if kind.in_grams() && color.is_none() && hex_code.is_none() {
            invalid.0.push(FieldError {
                field: "color".into(),
                message: "color (a name) or hex_code is required for filament".into(),
            });
        }
        let compatible_models = match &self.compatible_models {
            None => stored.and_then(|m| m.compatible_models.clone()),
            Some(None) => None,
            Some(Some(Value::String(s))) if s.trim().is_empty() => None,
            Some(Some(Value::String(s))) => Some(s.trim().to_string()),
            Some(Some(Value::Array(models))) if models.iter().all(Value::is_string) => {
                Some(Value::Array(models.clone()).to_string())
            }
            Some(Some(_)) => {
                invalid.0.push(FieldError {
                    field: "compatible_models".into(),
                    message: "compatible_models is text or a list of printer models".into(),
                });
                None
            }
        };
        let field = amount_field(kind);
        let remaining = amount(
            &mut invalid,
            kind,
            field,
            self.remaining
                .or(stored.map(|m| m.remaining))
                .unwrap_or(0.0),
        );
        let spool_weight_grams = match (kind.in_grams(), self.spool_weight_grams) {
            (false, _) => None,
            (true, Some(w)) if !w.is_finite() || w <= 0.0 => {
                invalid.0.push(FieldError {
                    field: "spool_weight_grams".into(),
                    message: "spool_weight_grams must be more than 0".into(),
                });
                None
            }
            (true, Some(w)) => Some(w),
            (true, None) => stored.and_then(|m| m.spool_weight_grams),
        };
        let low_threshold = amount(
            &mut invalid,
            kind,
            "low_threshold",
            self.low_threshold
                .or(stored.map(|m| m.low_threshold))
                .unwrap_or(kind.default_threshold()),
        );
        let on_order = match self.status.as_deref().map(str::trim) {
            None => stored.is_some_and(|m| m.status == MaterialStatus::OnOrder.as_str()),
            Some(s) => match s.parse::<MaterialStatus>() {
                Ok(status) => status == MaterialStatus::OnOrder,
                Err(e) => {
                    invalid.0.push(FieldError {
                        field: "status".into(),
                        message: e.to_string(),
                    });
                    false
                }
            },
        };
        let cost_per_unit = match self.cost_per_unit {
            None => stored.and_then(|m| m.cost_per_unit),
            Some(None) => None,
            Some(Some(cents)) if cents < 0 => {
                invalid.0.push(FieldError {
                    field: "cost_per_unit".into(),
                    message: "cost_per_unit (cents) must be at least 0".into(),
                });
                None
            }
            Some(Some(cents)) => Some(cents),
        };
        let reorder_link = text(
            &mut invalid,
            "reorder_link",
            &self.reorder_link,
            stored.map(|m| &m.reorder_link),
        );
        // Shown as a link on the pages: only web addresses, never `javascript:` and the like.
        if let Some(link) = &reorder_link
            && !(link.starts_with("https://") || link.starts_with("http://"))
        {
            invalid.0.push(FieldError {
                field: "reorder_link".into(),
                message: "reorder_link must be an http(s) address".into(),
            });
        }
        let fields = MaterialFields {
            material_type,
            name: text(&mut invalid, "name", &self.name, stored.map(|m| &m.name)),
            color,
            hex_code,
            brand: text(&mut invalid, "brand", &self.brand, stored.map(|m| &m.brand)),
            diameter: text(
                &mut invalid,
                "diameter",
                &self.diameter,
                stored.map(|m| &m.diameter),
            ),
            size: text(&mut invalid, "size", &self.size, stored.map(|m| &m.size)),
            compatible_models,
            remaining,
            spool_weight_grams,
            low_threshold,
            on_order,
            location: text(
                &mut invalid,
                "location",
                &self.location,
                stored.map(|m| &m.location),
            ),
            cost_per_unit,
            reorder_link,
        };
        invalid.into_result()?;
        Ok(fields)
    }
}

/// The farm's spool (of `spools`) that filament of `filament_type` in `colour` is taken from
/// or set on, by `domain::materials::spool_for`'s rule.
pub fn spool_for<'a>(
    spools: &'a [Material],
    filament_type: &str,
    colour: &str,
) -> Option<&'a Material> {
    let choice: Vec<domain::materials::Spool> = spools
        .iter()
        .map(|m| domain::materials::Spool {
            id: &m.id,
            filament_type: &m.material_type,
            hex_code: m.hex_code.as_deref(),
            remaining_grams: m.remaining,
        })
        .collect();
    let id = domain::materials::spool_for(&choice, filament_type, colour)?.id;
    spools.iter().find(|m| m.id == id)
}

/// The dashboard message saying a material is low.
pub fn alert_of(material: &Material) -> proto::dashboard::ServerMessage {
    proto::dashboard::ServerMessage::MaterialAlert {
        material_kind: material.kind().as_str().to_string(),
        material_id: material.id.clone(),
        name: material.label(),
        remaining: material.remaining,
        threshold: material.low_threshold,
        unit: material.kind().unit().to_string(),
    }
}

/// Tells the farm's dashboards a material is low.
pub fn publish_low(app: &App, tenant: &TenantId, material: &Material) {
    app.realtime.publish(tenant, alert_of(material));
}

/// What the audit log keeps of a material.
fn audited(material: &Material) -> Value {
    json!({ "type": material.material_type, "name": material.label(),
            "remaining": material.remaining, "low_threshold": material.low_threshold,
            "status": material.status })
}

/// Query of a material list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    page: Option<i64>,
    limit: Option<i64>,
    #[serde(rename = "type", alias = "material_type")]
    material_type: Option<String>,
    status: Option<String>,
    low_stock: Option<String>,
    search: Option<String>,
}

async fn list(
    app: App,
    kind: MaterialKind,
    tenant: TenantId,
    q: ListQuery,
) -> ApiResult<Vec<Material>> {
    let status = match q.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(
            s.parse::<MaterialStatus>()
                .map_err(|e| ApiError::field("status", e.to_string()))?,
        ),
    };
    let query = MaterialQuery {
        material_type: q.material_type.filter(|t| !t.trim().is_empty()),
        status,
        low: query_flag("low_stock", q.low_stock.as_deref())? == Some(1),
        search: q.search.filter(|s| !s.trim().is_empty()),
    };
    let paging = Paging {
        page: q.page.unwrap_or(1),
        limit: q.limit.unwrap_or(100),
    };
    let mut conn = app.store.conn().await?;
    let (rows, total) = store::materials::list(
        &mut conn,
        kind,
        &tenant,
        &query,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Envelope::list(rows, paging.meta(total)))
}

async fn get_one(app: App, kind: MaterialKind, tenant: TenantId, id: String) -> ApiResult<Value> {
    let mut conn = app.store.conn().await?;
    let material = store::materials::get(&mut conn, kind, &tenant, &id)
        .await
        .map_err(|e| resource(kind).error(e))?;
    let usage = store::materials::usage_of(&mut conn, &tenant, &material.id, 50).await?;
    let mut answer = json!(material);
    answer["usage"] = json!(usage);
    Ok(Envelope::ok(answer))
}

async fn create(
    app: App,
    kind: MaterialKind,
    member: Member<roles::Operator>,
    client: ClientInfo,
    body: MaterialBody,
) -> ApiResult<Material> {
    let fields = body.parse(kind, None)?;
    let material = add_material(&app, &Actor::member(&member, client), kind, &fields).await?;
    Ok(Envelope::created(material))
}

/// Adds a material of `kind` to the actor's farm: the one way in for the API and the
/// dashboard (audited; one that starts low alerts once).
pub async fn add_material(
    app: &App,
    actor: &Actor,
    kind: MaterialKind,
    fields: &MaterialFields,
) -> Result<Material, ApiError> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let material = store::materials::create(&mut tx, kind, &actor.tenant, fields, &now).await?;
    let alert = store::materials::note_low(&mut tx, &material).await?;
    let change = Change {
        action: "material.created",
        table: store::materials::table(kind),
        record: &material.id,
        new: Some(audited(&material)),
        ..Change::default()
    };
    actor.record(&mut tx, change, &now).await?;
    tx.commit().await?;
    if alert {
        publish_low(app, &actor.tenant, &material);
    }
    Ok(material)
}

async fn update(
    app: App,
    kind: MaterialKind,
    member: Member<roles::Operator>,
    client: ClientInfo,
    id: String,
    body: MaterialBody,
) -> ApiResult<Material> {
    let actor = Actor::member(&member, client);
    let material = change_material(&app, &actor, kind, &id, &body).await?;
    Ok(Envelope::ok(material))
}

/// Changes the farm's material `id` of `kind` by `body` (what it leaves out stays): the one
/// way for the API and the dashboard. Audited with before and after; falling to the
/// threshold alerts once.
pub async fn change_material(
    app: &App,
    actor: &Actor,
    kind: MaterialKind,
    id: &str,
    body: &MaterialBody,
) -> Result<Material, ApiError> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let stored = store::materials::get(&mut tx, kind, &actor.tenant, id)
        .await
        .map_err(|e| resource(kind).error(e))?;
    let fields = body.parse(kind, Some(&stored))?;
    let material = store::materials::update(&mut tx, kind, &actor.tenant, id, &fields, &now)
        .await
        .map_err(|e| resource(kind).error(e))?;
    let alert = store::materials::note_low(&mut tx, &material).await?;
    // A count set by hand keeps who set it and what it was, like a stock adjustment.
    let change = Change {
        action: "material.updated",
        table: store::materials::table(kind),
        record: &material.id,
        old: Some(audited(&stored)),
        new: Some(audited(&material)),
    };
    actor.record(&mut tx, change, &now).await?;
    tx.commit().await?;
    if alert {
        publish_low(app, &actor.tenant, &material);
    }
    Ok(material)
}

async fn delete(
    app: App,
    kind: MaterialKind,
    member: Member<roles::Operator>,
    client: ClientInfo,
    id: String,
) -> ApiResult<Value> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let stored = store::materials::get(&mut tx, kind, &member.tenant, &id)
        .await
        .map_err(|e| resource(kind).error(e))?;
    store::materials::delete(&mut tx, kind, &member.tenant, &id)
        .await
        .map_err(|e| resource(kind).error(e))?;
    let change = Change {
        action: "material.deleted",
        table: store::materials::table(kind),
        record: &stored.id,
        old: Some(audited(&stored)),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(json!({ "id": stored.id, "deleted": true })))
}

/// Body of a component's consumption.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConsumeBody {
    /// Units used.
    #[serde(alias = "amount", alias = "units")]
    quantity: Option<i64>,
    /// Why (an assembly, breakage): kept in the usage history and the audit log.
    reason: Option<String>,
    /// The print job they went with, if any.
    #[serde(alias = "job_id")]
    print_job_id: Option<String>,
}

/// POST /api/v1/materials/components/{accessory_id}/consume — takes `quantity` units of a
/// component (operators): never more than there are (409 `INSUFFICIENT_STOCK` with the
/// units available), recorded in the usage history and the audit log.
pub async fn consume(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ConsumeBody>,
) -> ApiResult<Value> {
    let kind = MaterialKind::Component;
    let quantity = body.quantity.filter(|q| *q >= 1).ok_or_else(|| {
        ApiError::field(
            "quantity",
            "quantity must be a whole number of units from 1",
        )
    })?;
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or("consumed");
    if reason.chars().count() > MAX_TEXT {
        return Err(ApiError::field(
            "reason",
            format!("reason must be at most {MAX_TEXT} characters"),
        ));
    }
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let job = match body.print_job_id.as_deref().filter(|j| !j.is_empty()) {
        Some(job) => Some(
            store::jobs::get(&mut tx, &member.tenant, job)
                .await
                .or_field("print_job_id", "no print job of this farm has that id")?
                .id,
        ),
        None => None,
    };
    let material =
        match store::materials::take(&mut tx, kind, &member.tenant, &id, quantity as f64, &now)
            .await
            .map_err(|e| resource(kind).error(e))?
        {
            Ok(material) => material,
            Err(material) => {
                return Err(crate::inventory::insufficient(
                    "quantity",
                    &material.label(),
                    material.remaining as i64,
                    quantity,
                ));
            }
        };
    store::materials::record_usage(
        &mut tx,
        &material,
        job.as_deref(),
        quantity as f64,
        reason,
        &now,
    )
    .await?;
    let alert = store::materials::note_low(&mut tx, &material).await?;
    let before = material.remaining as i64 + quantity;
    let record = json!({ "before": before, "after": material.remaining as i64, "change": -quantity, "reason": reason });
    let change = Change {
        action: "material.consumed",
        table: store::materials::table(kind),
        record: &material.id,
        old: Some(json!({ "remaining_units": before })),
        new: Some(record.clone()),
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    if alert {
        publish_low(&app, &member.tenant, &material);
    }
    let mut answer = json!(material);
    answer["consumption"] = record;
    answer["alerted"] = json!(alert);
    Ok(Envelope::ok(answer))
}

/// One component asked for.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Wanted {
    #[serde(alias = "id")]
    component_id: Option<String>,
    #[serde(alias = "quantity_required")]
    quantity: Option<i64>,
}

/// Body of an availability check: components by id, or what `quantity` units of a
/// product need (its components, matched to the farm's components by name).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AvailabilityBody {
    #[serde(alias = "items")]
    components: Option<Vec<Wanted>>,
    product_id: Option<String>,
    #[serde(alias = "units")]
    quantity: Option<i64>,
}

/// POST /api/v1/materials/components/check-availability — whether the farm has the
/// components asked for (by id and quantity, or for `quantity` units of `product_id`):
/// each with what is needed, available and short.
pub async fn check_availability(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiJson(body): ApiJson<AvailabilityBody>,
) -> ApiResult<Value> {
    let kind = MaterialKind::Component;
    let mut conn = app.store.conn().await?;
    let mut lines = Vec::new();
    if let Some(product) = body.product_id.as_deref().filter(|p| !p.is_empty()) {
        let units = body.quantity.unwrap_or(1);
        if units < 1 {
            return Err(ApiError::field("quantity", "quantity must be at least 1"));
        }
        store::products::get(&mut conn, &member.tenant, product)
            .await
            .or_field("product_id", "no product of this farm has that id")?;
        let needs = store::products::components(&mut conn, &member.tenant, Some(product)).await?;
        let names: Vec<String> = needs.iter().map(|c| c.component_name.clone()).collect();
        let stocked = store::materials::components_named(&mut conn, &member.tenant, &names).await?;
        for need in &needs {
            let found: Vec<&Material> = stocked
                .iter()
                .filter(|m| {
                    m.name
                        .as_deref()
                        .is_some_and(|n| n.trim().eq_ignore_ascii_case(&need.component_name))
                })
                .collect();
            let available: f64 = found.iter().map(|m| m.remaining).sum();
            lines.push(line(
                found.first().map(|m| m.id.clone()),
                &need.component_name,
                need.quantity_required * units,
                available as i64,
            ));
        }
    } else {
        let wanted = body.components.unwrap_or_default();
        if wanted.is_empty() {
            return Err(ApiError::field(
                "components",
                "send components: [{component_id, quantity}], or product_id and quantity",
            ));
        }
        let mut invalid = Invalid::default();
        for (i, want) in wanted.iter().enumerate() {
            let quantity = want.quantity.unwrap_or(1);
            if quantity < 1 {
                invalid.0.push(FieldError {
                    field: format!("components[{i}].quantity"),
                    message: "quantity must be at least 1".into(),
                });
                continue;
            }
            let Some(id) = want.component_id.as_deref().filter(|c| !c.is_empty()) else {
                invalid.0.push(FieldError {
                    field: format!("components[{i}].component_id"),
                    message: "component_id is required".into(),
                });
                continue;
            };
            match store::materials::get(&mut conn, kind, &member.tenant, id).await {
                Ok(m) => lines.push(line(
                    Some(m.id.clone()),
                    &m.label(),
                    quantity,
                    m.remaining as i64,
                )),
                Err(store::StoreError::NotFound) => invalid.0.push(FieldError {
                    field: format!("components[{i}].component_id"),
                    message: "no component of this farm has that id".into(),
                }),
                Err(other) => return Err(other.into()),
            }
        }
        invalid.into_result()?;
    }
    let all_available = lines.iter().all(|l| l["sufficient"] == json!(true));
    Ok(Envelope::ok(
        json!({ "all_available": all_available, "components": lines }),
    ))
}

/// One line of an availability answer.
fn line(id: Option<String>, name: &str, required: i64, available: i64) -> Value {
    let found = id.is_some();
    json!({
        "component_id": id, "name": name, "required": required, "available": available,
        "sufficient": available >= required, "short": (required - available).max(0),
        "found": found,
    })
}

/// Body of a spool set from a printer's AMS.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FromAmsBody {
    /// The printer (id or the farm's number).
    printer_id: Option<String>,
    /// The slot: AMS unit × 4 + tray (0–15), or 254 for the external spool.
    slot: Option<u32>,
    /// The spool to set; else the farm's spool of the same type and colour, else a new one.
    filament_id: Option<String>,
    /// Grams on a full spool (for a new spool; 1000 when not given).
    spool_weight_grams: Option<f64>,
}

/// POST /api/v1/materials/filament/from-ams — sets a spool from what a printer's AMS
/// reports in a slot (type, colour, percent left) (operators; an addition to the
/// original API): the spool named, else the farm's spool of that type and colour, else a
/// new one. Answers the spool and whether it was created.
pub async fn from_ams(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiJson(body): ApiJson<FromAmsBody>,
) -> ApiResult<Value> {
    let kind = MaterialKind::Filament;
    let named = body
        .printer_id
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::field("printer_id", "printer_id is required"))?;
    let slot = body
        .slot
        .ok_or_else(|| ApiError::field("slot", "slot is required (AMS unit × 4 + tray, or 254)"))?;
    let mut conn = app.store.conn().await?;
    let printer = app
        .farm
        .named_printer(&mut conn, &member.tenant, named)
        .await?;
    drop(conn);
    let reported = app
        .realtime
        .printer(&member.tenant, &printer.id)
        .and_then(|status| status.filaments.into_iter().find(|f| f.slot == slot))
        .ok_or_else(|| {
            ApiError::field(
                "slot",
                format!(
                    "{} has reported no filament in slot {slot} since the server started",
                    printer.name
                ),
            )
        })?;
    let (Some(filament_type), Some(colour)) = (
        reported
            .filament_type
            .as_deref()
            .filter(|t| !t.trim().is_empty()),
        reported
            .colour
            .as_deref()
            .and_then(domain::materials::colour_key),
    ) else {
        return Err(ApiError::field(
            "slot",
            format!(
                "slot {slot} of {} reports no filament type and colour",
                printer.name
            ),
        ));
    };
    let hex = format!("#{colour}");
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let stored = match body.filament_id.as_deref().filter(|f| !f.is_empty()) {
        Some(id) => Some(
            store::materials::get(&mut tx, kind, &member.tenant, id)
                .await
                .map_err(|e| resource(kind).error(e))?,
        ),
        None => {
            let spools =
                store::materials::spools_of_type(&mut tx, &member.tenant, filament_type).await?;
            spool_for(&spools, filament_type, &hex).cloned()
        }
    };
    let weight = body
        .spool_weight_grams
        .filter(|w| w.is_finite() && *w > 0.0)
        .or(stored.as_ref().and_then(|m| m.spool_weight_grams))
        .unwrap_or(1000.0);
    let change = MaterialBody {
        material_type: Some(filament_type.to_string()),
        hex_code: Some(Some(hex.clone())),
        color: match &stored {
            Some(_) => None,
            None => Some(Some(hex.clone())),
        },
        remaining: reported
            .remaining
            .map(|p| domain::materials::grams_from_percent(p, weight)),
        spool_weight_grams: Some(weight),
        location: Some(Some(format!("{} slot {slot}", printer.name))),
        ..MaterialBody::default()
    };
    let fields = change.parse(kind, stored.as_ref())?;
    let (material, created) = match &stored {
        Some(m) => (
            store::materials::update(&mut tx, kind, &member.tenant, &m.id, &fields, &now).await?,
            false,
        ),
        None => (
            store::materials::create(&mut tx, kind, &member.tenant, &fields, &now).await?,
            true,
        ),
    };
    let alert = store::materials::note_low(&mut tx, &material).await?;
    let audit = Change {
        action: "material.set_from_ams",
        table: store::materials::table(kind),
        record: &material.id,
        old: stored.as_ref().map(audited),
        new: Some(json!({ "printer_id": printer.id, "slot": slot, "after": audited(&material) })),
    };
    member.audit(&mut tx, &client, audit, &now).await?;
    tx.commit().await?;
    if alert {
        publish_low(&app, &member.tenant, &material);
    }
    let mut answer = json!(material);
    answer["created"] = json!(created);
    Ok(Envelope::ok(answer))
}

/// Registers the five routes of one kind.
fn kind_routes(
    routes: crate::api::Routes,
    kind: MaterialKind,
    base: &'static str,
    one: &'static str,
    docs: [&'static str; 5],
    example: Value,
) -> crate::api::Routes {
    use crate::api::Access;
    use axum::http::Method as M;
    use domain::Role;
    routes
        .add(
            M::GET,
            base,
            Access::Member(Role::Viewer),
            docs[0],
            move |State(app): State<App>,
                  member: Member<roles::Viewer>,
                  ApiQuery(q): ApiQuery<ListQuery>| {
                list(app, kind, member.tenant, q)
            },
        )
        .query(crate::api::PAGING)
        .query(&[
            ("type", crate::api::Param::Text),
            (
                "status",
                crate::api::Param::OneOf(&["in_stock", "low", "out_of_stock", "on_order"]),
            ),
            ("low_stock", crate::api::Param::Flag),
            ("search", crate::api::Param::Text),
        ])
        .add(
            M::POST,
            base,
            Access::Member(Role::Operator),
            docs[1],
            move |State(app): State<App>,
                  member: Member<roles::Operator>,
                  client: ClientInfo,
                  ApiJson(body): ApiJson<MaterialBody>| {
                create(app, kind, member, client, body)
            },
        )
        .example(example)
        .add(
            M::GET,
            one,
            Access::Member(Role::Viewer),
            docs[2],
            move |State(app): State<App>,
                  member: Member<roles::Viewer>,
                  ApiPath(id): ApiPath<String>| {
                get_one(app, kind, member.tenant, id)
            },
        )
        .add(
            M::PATCH,
            one,
            Access::Member(Role::Operator),
            docs[3],
            move |State(app): State<App>,
                  member: Member<roles::Operator>,
                  client: ClientInfo,
                  ApiPath(id): ApiPath<String>,
                  ApiJson(body): ApiJson<MaterialBody>| {
                update(app, kind, member, client, id, body)
            },
        )
        .example(json!({ "low_threshold": 2 }))
        .add(
            M::DELETE,
            one,
            Access::Member(Role::Operator),
            docs[4],
            move |State(app): State<App>,
                  member: Member<roles::Operator>,
                  client: ClientInfo,
                  ApiPath(id): ApiPath<String>| {
                delete(app, kind, member, client, id)
            },
        )
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use axum::http::Method as M;
    use domain::Role;
    let routes = crate::api::Routes::new()
        .add(M::POST, "/api/v1/materials/components/check-availability", Member(Role::Viewer),
            "Whether the farm has the components asked for (by id, or for units of a product)", check_availability)
        .example(json!({ "components": [{ "component_id": "00000000-0000-0000-0000-000000000000", "quantity": 2 }] }))
        .add(M::POST, "/api/v1/materials/components/{accessory_id}/consume", Member(Role::Operator),
            "Take units of a component (never more than there are), recorded in its usage", consume)
        .example(json!({ "quantity": 2, "reason": "assembly" }))
        .add(M::POST, "/api/v1/materials/filament/from-ams", Member(Role::Operator),
            "Set a spool from what a printer's AMS reports in a slot (an addition to the original API)", from_ams)
        .example(json!({ "printer_id": "1", "slot": 0 }));
    let routes = kind_routes(
        routes,
        MaterialKind::Filament,
        "/api/v1/materials/filament",
        "/api/v1/materials/filament/{filament_id}",
        [
            "The farm's filament spools (grams left)",
            "Add a spool of filament",
            "One spool with its recent usage",
            "Change a spool (grams left, threshold, reorder)",
            "Remove a spool",
        ],
        json!({ "type": "PLA", "color": "Jade White", "hex_code": "#FFFFFF", "brand": "Bambu", "remaining_grams": 1000, "spool_weight_grams": 1000, "low_threshold": 150 }),
    );
    let routes = kind_routes(
        routes,
        MaterialKind::Packaging,
        "/api/v1/materials/packaging",
        "/api/v1/materials/packaging/{packaging_id}",
        [
            "The farm's packaging",
            "Add packaging",
            "One packaging item with its recent usage",
            "Change a packaging item",
            "Remove a packaging item",
        ],
        json!({ "type": "box", "name": "Small mailer", "size": "15x10x5 cm", "remaining_units": 200, "low_threshold": 20 }),
    );
    let routes = kind_routes(
        routes,
        MaterialKind::Component,
        "/api/v1/materials/components",
        "/api/v1/materials/components/{accessory_id}",
        [
            "The farm's components (magnets, screws, keyrings ...)",
            "Add a component",
            "One component with its recent usage",
            "Change a component",
            "Remove a component",
        ],
        json!({ "type": "magnet", "name": "6x2 mm magnet", "remaining_units": 500, "low_threshold": 50 }),
    );
    kind_routes(
        routes,
        MaterialKind::Part,
        "/api/v1/materials/parts",
        "/api/v1/materials/parts/{part_id}",
        [
            "The farm's spare printer parts",
            "Add a printer part",
            "One printer part with its recent usage",
            "Change a printer part",
            "Remove a printer part",
        ],
        json!({ "type": "nozzle", "name": "0.4 mm hardened nozzle", "compatible_models": ["P1S", "X1C"], "remaining_units": 4, "low_threshold": 1 }),
    )
}
