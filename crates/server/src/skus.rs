//! SKUs, `/api/v1/skus` (and `POST /products/{product_id}/skus`): a product in one colour
//! and filament, with its code (unique in the farm: orders and Shopify lines are matched by
//! it), the units one print makes, its price in cents and its low-stock threshold. A SKU
//! that holds stock, or that open jobs or orders use, is not deleted: the answer says what
//! uses it (mark it inactive to retire it).

use crate::app::App;
use crate::audit::{Actor, Change};
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::{ApiError, OrNotFound, Resource};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo, body_flag, query_flag};
use axum::extract::State;
use domain::catalogue::{parse_filament_type, parse_name};
use domain::printers::HexColour;
use domain::{FieldError, Invalid, TenantId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::StoreError;
use store::low_stock::Counter;
use store::skus::{Sku, SkuFields, SkuQuery};

/// The longest SKU code kept.
const MAX_CODE: usize = 64;

/// A SKU as a client sends it (a change names only what changes; `null` clears an
/// optional field).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SkuBody {
    pub(crate) sku: Option<String>,
    pub(crate) color: Option<String>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) filament_type: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) hex_code: Option<Option<String>>,
    pub(crate) quantity: Option<i64>,
    /// Units in stock to start with (new SKUs only: stock then moves by adjustments and prints).
    pub(crate) stock_level: Option<i64>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) price: Option<Option<i64>>,
    pub(crate) low_stock_threshold: Option<i64>,
    pub(crate) is_active: Option<Value>,
    /// The product, for `POST /skus`.
    pub(crate) product_id: Option<String>,
    /// The print file that makes it (over its product's file).
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) print_file_id: Option<Option<String>>,
    /// The plate of that file (1 when not set).
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) plate_index: Option<Option<i64>>,
}

/// A whole number of at least `min`, or a field error.
fn at_least(invalid: &mut Invalid, field: &str, value: i64, min: i64) -> i64 {
    if value < min {
        invalid.0.push(FieldError {
            field: field.into(),
            message: format!("{field} must be at least {min}"),
        });
    }
    value
}

impl SkuBody {
    /// The SKU's values: this body over `stored` (or over nothing, for a new SKU).
    pub(crate) fn parse(&self, stored: Option<&Sku>) -> Result<SkuFields, Invalid> {
        let mut invalid = Invalid::default();
        let required = |invalid: &mut Invalid,
                        field: &str,
                        given: &Option<String>,
                        old: Option<&str>| match (given, old) {
            (Some(value), _) => invalid.take(parse_name(field, value)),
            (None, Some(old)) => Some(old.to_string()),
            (None, None) => {
                invalid.0.push(FieldError {
                    field: field.into(),
                    message: format!("{field} is required"),
                });
                None
            }
        };
        let sku = required(
            &mut invalid,
            "sku",
            &self.sku,
            stored.map(|s| s.sku.as_str()),
        );
        if sku
            .as_ref()
            .is_some_and(|code| code.chars().count() > MAX_CODE)
        {
            invalid.0.push(FieldError {
                field: "sku".into(),
                message: format!("sku must be at most {MAX_CODE} characters"),
            });
        }
        let color = required(
            &mut invalid,
            "color",
            &self.color,
            stored.map(|s| s.color.as_str()),
        );
        let filament_type = match &self.filament_type {
            None => stored.and_then(|s| s.filament_type.clone()),
            Some(None) => None,
            Some(Some(t)) if t.trim().is_empty() => None,
            Some(Some(t)) => invalid.take(parse_filament_type("filament_type", t)),
        };
        let hex_code = match &self.hex_code {
            None => stored.and_then(|s| s.hex_code.clone()),
            Some(None) => None,
            Some(Some(h)) if h.trim().is_empty() => None,
            Some(Some(h)) => invalid
                .take(HexColour::parse("hex_code", h))
                .map(|h| h.as_str().to_string()),
        };
        let quantity = at_least(
            &mut invalid,
            "quantity",
            self.quantity.or(stored.map(|s| s.quantity)).unwrap_or(1),
            1,
        );
        let price = match self.price {
            None => stored.and_then(|s| s.price),
            Some(None) => None,
            Some(Some(cents)) => Some(at_least(&mut invalid, "price", cents, 0)),
        };
        let low_stock_threshold = at_least(
            &mut invalid,
            "low_stock_threshold",
            self.low_stock_threshold
                .or(stored.map(|s| s.low_stock_threshold))
                .unwrap_or(0),
            0,
        );
        let is_active = body_flag(&mut invalid, "is_active", self.is_active.as_ref())
            .unwrap_or_else(|| stored.is_none_or(|s| s.is_active == 1));
        if stored.is_none() {
            at_least(
                &mut invalid,
                "stock_level",
                self.stock_level.unwrap_or(0),
                0,
            );
        } else if self.stock_level.is_some() {
            invalid.0.push(FieldError {
                field: "stock_level".into(),
                message:
                    "stock moves by adjustments (POST /skus/{id}/adjust), not by editing the SKU"
                        .into(),
            });
        }
        let print_file_id = match &self.print_file_id {
            None => stored.and_then(|s| s.print_file_id.clone()),
            Some(None) => None,
            Some(Some(f)) if f.trim().is_empty() => None,
            Some(Some(f)) => Some(f.trim().to_string()),
        };
        let plate_index = match self.plate_index {
            None => stored.and_then(|s| s.plate_index),
            Some(None) => None,
            Some(Some(plate)) => Some(at_least(&mut invalid, "plate_index", plate, 1)),
        };
        invalid.into_result()?;
        Ok(SkuFields {
            print_file_id,
            plate_index,
            sku: sku.unwrap_or_default(),
            color: color.unwrap_or_default(),
            filament_type,
            hex_code,
            quantity,
            price,
            low_stock_threshold,
            is_active,
        })
    }
}

/// How the store's errors about a SKU read.
const SKU: Resource = Resource {
    not_found: "SKU_NOT_FOUND",
    what: "SKU",
    taken: "SKU_TAKEN",
    field: "sku",
    taken_message: "another SKU of this farm has that code",
};

async fn find(app: &App, tenant: &TenantId, id: &str) -> Result<Sku, ApiError> {
    let mut conn = app.store.conn().await?;
    store::skus::get(&mut conn, tenant, id)
        .await
        .map_err(|e| SKU.error(e))
}

fn audited(sku: &Sku) -> Value {
    json!({ "sku": sku.sku, "product_id": sku.product_id, "color": sku.color, "quantity": sku.quantity,
            "price": sku.price, "low_stock_threshold": sku.low_stock_threshold, "is_active": sku.is_active,
            "stock_level": sku.stock_level })
}

/// Query of the SKU lists.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    page: Option<i64>,
    limit: Option<i64>,
    product_id: Option<String>,
    #[serde(rename = "productId")]
    product_id_camel: Option<String>,
    is_active: Option<String>,
    search: Option<String>,
}

/// A page of SKUs for `q`, `low` ones only when asked, in `product` when given.
async fn page_of(
    app: &App,
    tenant: &TenantId,
    q: ListQuery,
    product: Option<String>,
    low_stock: bool,
) -> ApiResult<Vec<Sku>> {
    let is_active = query_flag("is_active", q.is_active.as_deref())?;
    let paging = Paging {
        page: q.page.unwrap_or(1).max(1),
        limit: q.limit.unwrap_or(100),
    };
    let query = SkuQuery {
        product_id: product
            .or(q.product_id)
            .or(q.product_id_camel)
            .filter(|p| !p.is_empty()),
        is_active,
        search: q.search.filter(|s| !s.trim().is_empty()),
        low_stock,
    };
    let mut conn = app.store.conn().await?;
    let (skus, total) =
        store::skus::list(&mut conn, tenant, &query, paging.limit(), paging.offset()).await?;
    Ok(Envelope::list(skus, paging.meta(total)))
}

/// GET /api/v1/skus — a page of the farm's SKUs by code (filters: product_id, is_active, search).
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<Sku>> {
    page_of(&app, &member.tenant, q, None, false).await
}

/// GET /api/v1/skus/low-stock — the SKUs at or below their low-stock threshold.
pub async fn low_stock(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<Sku>> {
    page_of(&app, &member.tenant, q, None, true).await
}

/// GET /api/v1/skus/products/{product_id}/skus — the product's SKUs.
pub async fn of_product(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(product): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<Sku>> {
    let mut conn = app.store.conn().await?;
    store::products::get(&mut conn, &member.tenant, &product)
        .await
        .or_not_found("PRODUCT_NOT_FOUND", "product")?;
    drop(conn);
    page_of(&app, &member.tenant, q, Some(product), false).await
}

/// GET /api/v1/skus/{sku_id} — one SKU.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Sku> {
    Ok(Envelope::ok(find(&app, &member.tenant, &id).await?))
}

/// GET /api/v1/skus/by-sku/{sku} — one SKU by its code.
pub async fn by_code(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Sku> {
    let mut conn = app.store.conn().await?;
    Ok(Envelope::ok(
        store::skus::by_code(&mut conn, &member.tenant, code.trim())
            .await
            .map_err(|e| SKU.error(e))?,
    ))
}

/// Checks that the print file and plate a SKU names can print (a job for the SKU uses them).
async fn check_print_source(
    app: &App,
    tenant: &TenantId,
    fields: &SkuFields,
) -> Result<(), ApiError> {
    if let Some(file) = &fields.print_file_id {
        app.farm
            .check_printable(tenant, file, fields.plate_index.unwrap_or(1))
            .await?;
    }
    Ok(())
}

/// Adds a SKU to the product (the one behind every create route).
async fn add(
    app: &App,
    member: &Member<roles::Admin>,
    client: &ClientInfo,
    product: &str,
    body: &SkuBody,
) -> ApiResult<Sku> {
    let fields = body.parse(None)?;
    let actor = Actor::member(member, client.clone());
    let sku = add_sku(app, &actor, product, fields, body.stock_level.unwrap_or(0)).await?;
    Ok(Envelope::created(sku))
}

/// Adds a SKU with `starting_stock` units to the farm's product `product`: the one way in
/// for the API and the dashboard (its print file and plate must print; a code is unique in
/// the farm, a taken one is a conflict on `sku`; audited).
pub async fn add_sku(
    app: &App,
    actor: &Actor,
    product: &str,
    fields: SkuFields,
    starting_stock: i64,
) -> Result<Sku, ApiError> {
    check_print_source(app, &actor.tenant, &fields).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let sku = store::skus::create(
        &mut tx,
        &actor.tenant,
        product,
        &fields,
        starting_stock,
        &now,
    )
    .await
    .map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("PRODUCT_NOT_FOUND", "product"),
        other => SKU.error(other),
    })?;
    let change = Change {
        action: "sku.created",
        table: "product_skus",
        record: &sku.id,
        new: Some(audited(&sku)),
        ..Change::default()
    };
    actor.record(&mut tx, change, &now).await?;
    tx.commit().await?;
    Ok(sku)
}

/// POST /api/v1/skus — adds a SKU to the product named by `product_id` (admins).
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiJson(body): ApiJson<SkuBody>,
) -> ApiResult<Sku> {
    let Some(product) = body.product_id.clone().filter(|p| !p.is_empty()) else {
        let mut invalid = Invalid::field("product_id", "product_id is required");
        if let Err(more) = body.parse(None) {
            invalid.0.extend(more.0);
        }
        return Err(invalid.into());
    };
    add(&app, &member, &client, &product, &body).await
}

/// POST /api/v1/products/{product_id}/skus and /api/v1/skus/products/{product_id}/skus —
/// adds a SKU to the product (admins).
pub async fn create_for_product(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(product): ApiPath<String>,
    ApiJson(body): ApiJson<SkuBody>,
) -> ApiResult<Sku> {
    add(&app, &member, &client, &product, &body).await
}

/// PUT /api/v1/skus/{sku_id} — changes a SKU (admins; fields left out stay; not its stock).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SkuBody>,
) -> ApiResult<Sku> {
    let stored = find(&app, &member.tenant, &id).await?;
    let fields = body.parse(Some(&stored))?;
    if fields.print_file_id != stored.print_file_id || fields.plate_index != stored.plate_index {
        check_print_source(&app, &member.tenant, &fields).await?;
    }
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let sku = store::skus::update(&mut tx, &member.tenant, &stored.id, &fields, &now)
        .await
        .map_err(|e| SKU.error(e))?;
    let change = Change {
        action: "sku.updated",
        table: "product_skus",
        record: &sku.id,
        old: Some(audited(&stored)),
        new: Some(audited(&sku)),
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(sku))
}

/// DELETE /api/v1/skus/{sku_id} — removes a SKU (admins), unless it holds stock or open
/// jobs or orders use it: then 409 `SKU_IN_USE` says which.
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let stored = find(&app, &member.tenant, &id).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let uses = store::skus::uses(&mut tx, &member.tenant, &stored.id).await?;
    if !uses.is_free() {
        return Err(ApiError::Blocked {
            code: "SKU_IN_USE",
            message: format!(
                "the SKU is in use: {} unit(s) in stock, {} job(s) not ended, {} order(s) open; mark it inactive instead",
                uses.units_in_stock,
                uses.open_jobs.len(),
                uses.open_orders.len()
            ),
            details: json!(uses),
        });
    }
    store::skus::delete(&mut tx, &member.tenant, &stored.id)
        .await
        .map_err(|e| SKU.error(e))?;
    let change = Change {
        action: "sku.deleted",
        table: "product_skus",
        record: &stored.id,
        old: Some(audited(&stored)),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(json!({ "id": stored.id, "deleted": true })))
}

/// Body of a stock adjustment: the change in units (signed) and why.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AdjustBody {
    /// Units to add (negative: to take away).
    #[serde(alias = "quantity", alias = "delta")]
    adjustment: Option<i64>,
    /// Why (a sale at a market, a count, breakage): kept in the audit log.
    reason: Option<String>,
}

/// POST /api/v1/skus/{sku_id}/adjust — moves the SKU's stock by `adjustment` units with a
/// `reason` (operators). Stock never goes below zero: such an adjustment is refused with
/// the units available. Who, why, before and after go to the audit log; stock falling to
/// its threshold raises one `inventory_alert`, the next only after a restock above it.
pub async fn adjust(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AdjustBody>,
) -> ApiResult<Value> {
    let (change, reason) =
        crate::inventory::parse_adjustment(body.adjustment, body.reason.as_deref())?;
    let actor = Actor::member(&member, client);
    let adjusted = adjust_stock(&app, &actor, &id, change, &reason).await?;
    let mut answer = json!(adjusted.sku);
    answer["adjustment"] = adjusted.record;
    answer["alerted"] = json!(adjusted.alerted);
    Ok(Envelope::ok(answer))
}

/// A SKU after its stock moved.
#[derive(Debug)]
pub struct Adjusted {
    /// The SKU with its new stock.
    pub sku: Sku,
    /// Before, after, change and reason, as the audit log keeps them.
    pub record: Value,
    /// Whether the move made the farm's dashboards be told the stock is low.
    pub alerted: bool,
}

/// Moves the stock of the farm's SKU `id` by `change` units for `reason` (both parsed by
/// [`crate::inventory::parse_adjustment`]): the one way for the API and the dashboard.
/// Never below zero (refused with the units available); audited with before and after;
/// falling to the threshold raises one `inventory_alert`.
pub async fn adjust_stock(
    app: &App,
    actor: &Actor,
    id: &str,
    change: i64,
    reason: &str,
) -> Result<Adjusted, ApiError> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let sku = match store::skus::add_stock(&mut tx, &actor.tenant, id, change, &now)
        .await
        .map_err(|e| SKU.error(e))?
    {
        Ok(sku) => sku,
        Err(sku) => {
            return Err(crate::inventory::insufficient(
                "adjustment",
                &sku.sku,
                sku.stock_level,
                change,
            ));
        }
    };
    let before = sku.stock_level - change;
    let is_low = sku.stock_level <= sku.low_stock_threshold;
    let alert =
        store::low_stock::note(&mut tx, Counter::Sku, &actor.tenant, &sku.id, is_low).await?;
    if alert {
        let low = crate::automation::LowStock {
            sku_id: &sku.id,
            sku: &sku.sku,
            stock_level: sku.stock_level,
            threshold: sku.low_stock_threshold,
        };
        crate::automation::low_stock_in(&*app.queue, &mut tx, &actor.tenant, low, &now).await?;
    }
    let record =
        json!({ "before": before, "after": sku.stock_level, "change": change, "reason": reason });
    let audit = Change {
        action: "sku.stock_adjusted",
        table: "product_skus",
        record: &sku.id,
        old: Some(json!({ "stock_level": before })),
        new: Some(record.clone()),
    };
    actor.record(&mut tx, audit, &now).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %actor.tenant, sku_id = %sku.id, before, after = sku.stock_level, "SKU stock adjusted");
    if alert {
        crate::inventory::publish_low(
            app,
            &actor.tenant,
            &sku.id,
            &sku.sku,
            sku.stock_level,
            sku.low_stock_threshold,
        );
    }
    Ok(Adjusted {
        sku,
        record,
        alerted: alert,
    })
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::{PAGING, Param};
    use axum::http::Method as M;
    use domain::Role;
    let example = json!({"sku": "KEY-RED", "color": "Red", "filament_type": "PLA", "hex_code": "#FF0000", "quantity": 4, "price": 500, "low_stock_threshold": 10});
    let filters: &[(&str, Param)] = &[
        ("product_id", Param::Text),
        ("is_active", Param::Flag),
        ("search", Param::Text),
    ];
    crate::api::Routes::new()
        .add(
            M::GET,
            "/api/v1/skus",
            Member(Role::Viewer),
            "The farm's SKUs by code (filters: product_id, is_active, search; page, limit)",
            list,
        )
        .query(PAGING)
        .query(filters)
        .add(
            M::POST,
            "/api/v1/skus",
            Member(Role::Admin),
            "Add a SKU to a product (product_id; a code is unique in the farm)",
            create,
        )
        .example({
            let mut body = example.clone();
            body["product_id"] = json!("00000000-0000-0000-0000-000000000000");
            body
        })
        .add(
            M::GET,
            "/api/v1/skus/low-stock",
            Member(Role::Viewer),
            "The SKUs at or below their low-stock threshold",
            low_stock,
        )
        .query(PAGING)
        .query(filters)
        .add(
            M::GET,
            "/api/v1/skus/by-sku/{sku}",
            Member(Role::Viewer),
            "One SKU by its code",
            by_code,
        )
        .add(
            M::GET,
            "/api/v1/skus/products/{product_id}/skus",
            Member(Role::Viewer),
            "The product's SKUs",
            of_product,
        )
        .query(PAGING)
        .add(
            M::POST,
            "/api/v1/skus/products/{product_id}/skus",
            Member(Role::Admin),
            "Add a SKU to the product",
            create_for_product,
        )
        .example(example.clone())
        .add(
            M::POST,
            "/api/v1/products/{product_id}/skus",
            Member(Role::Admin),
            "Add a SKU to the product",
            create_for_product,
        )
        .example(example)
        .add(
            M::GET,
            "/api/v1/skus/{sku_id}",
            Member(Role::Viewer),
            "One SKU",
            get_one,
        )
        .add(
            M::PUT,
            "/api/v1/skus/{sku_id}",
            Member(Role::Admin),
            "Change a SKU (not its stock)",
            update,
        )
        .example(json!({"price": 650}))
        .add(
            M::POST,
            "/api/v1/skus/{sku_id}/adjust",
            Member(Role::Operator),
            "Move the SKU's stock by a number of units, with a reason (never below zero)",
            adjust,
        )
        .example(json!({"adjustment": -2, "reason": "sold at the market"}))
        .add(
            M::DELETE,
            "/api/v1/skus/{sku_id}",
            Member(Role::Admin),
            "Remove a SKU (not while it holds stock or open jobs or orders use it)",
            delete,
        )
}
