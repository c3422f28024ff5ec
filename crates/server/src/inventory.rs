//! Finished goods, `/api/v1/inventory`: the farm's stock per SKU, ready to sell or waiting
//! for assembly. Finished prints fill it (the print-events worker); operators adjust it
//! with a reason, never below zero, and set the threshold at which it is low.

use crate::app::App;
use crate::audit::{Actor, Change};
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::{ApiError, OrNotFound, Resource};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo, body_flag};
use axum::extract::State;
use domain::{FieldError, Invalid, TenantId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::finished_goods::{FinishedGood, GoodFields, StockFigures};
use store::low_stock::Counter;

/// How the store's errors about a finished good read.
const GOOD: Resource = Resource {
    not_found: "INVENTORY_NOT_FOUND",
    what: "inventory item",
    taken: "INVENTORY_EXISTS",
    field: "product_sku_id",
    taken_message: "the SKU has its inventory row already",
};

/// The longest reason kept.
const MAX_REASON: usize = 500;

/// Query of the finished-goods list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    page: Option<i64>,
    limit: Option<i64>,
}

/// GET /api/v1/inventory — the farm's finished goods, one row per SKU: a page when `page` or
/// `limit` is sent, else all of them (the original's client reads the whole list).
pub async fn inventory(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<FinishedGood>> {
    let mut conn = app.store.conn().await?;
    if q.page.is_none() && q.limit.is_none() {
        return Ok(Envelope::all(
            store::finished_goods::list(&mut conn, &member.tenant).await?,
        ));
    }
    let paging = Paging {
        page: q.page.unwrap_or(1),
        limit: q.limit.unwrap_or(50),
    };
    let (rows, total) = store::finished_goods::list_page(
        &mut conn,
        &member.tenant,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Envelope::list(rows, paging.meta(total)))
}

/// GET /api/v1/inventory/alerts — finished goods at or below their low-stock threshold.
pub async fn alerts(
    State(app): State<App>,
    member: Member<roles::Viewer>,
) -> ApiResult<Vec<Value>> {
    let mut conn = app.store.conn().await?;
    let low = store::finished_goods::low(&mut conn, &member.tenant).await?;
    Ok(Envelope::all(
        low.into_iter()
            .map(|g| {
                json!({
                    "sku_id": g.product_sku_id, "sku": g.sku, "color": g.color,
                    "current_stock": g.current_stock, "threshold": g.low_stock_threshold,
                    "status": g.status, "finished_good_id": g.id,
                })
            })
            .collect(),
    ))
}

/// GET /api/v1/inventory/stats — the farm's stock in figures.
pub async fn stats(
    State(app): State<App>,
    member: Member<roles::Viewer>,
) -> ApiResult<StockFigures> {
    let mut conn = app.store.conn().await?;
    Ok(Envelope::ok(
        store::finished_goods::figures(&mut conn, &member.tenant).await?,
    ))
}

/// GET /api/v1/inventory/{inventory_id} — one finished good.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<FinishedGood> {
    let mut conn = app.store.conn().await?;
    Ok(Envelope::ok(
        store::finished_goods::get(&mut conn, &member.tenant, &id)
            .await
            .map_err(|e| GOOD.error(e))?,
    ))
}

/// GET /api/v1/inventory/by-sku/{sku_id} — the finished good of a SKU.
pub async fn by_sku(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(sku): ApiPath<String>,
) -> ApiResult<FinishedGood> {
    let mut conn = app.store.conn().await?;
    Ok(Envelope::ok(
        store::finished_goods::of_sku(&mut conn, &member.tenant, &sku)
            .await
            .map_err(|e| GOOD.error(e))?,
    ))
}

/// Body of a stock adjustment: the change in ready units (signed) and why.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AdjustBody {
    /// Units to add (negative: to take away).
    #[serde(alias = "quantity", alias = "delta")]
    adjustment: Option<i64>,
    /// Why: kept in the audit log.
    reason: Option<String>,
}

/// A signed change other than 0 and a reason, or the fields that are wrong.
pub fn parse_adjustment(
    adjustment: Option<i64>,
    reason: Option<&str>,
) -> Result<(i64, String), Invalid> {
    let mut invalid = Invalid::default();
    let change = adjustment.filter(|c| *c != 0);
    if change.is_none() {
        invalid.0.push(FieldError {
            field: "adjustment".into(),
            message: "adjustment must be a whole number of units other than 0".into(),
        });
    }
    let reason = reason.map(str::trim).unwrap_or_default();
    if reason.is_empty() {
        invalid.0.push(FieldError {
            field: "reason".into(),
            message: "reason is required: say why the stock changes".into(),
        });
    } else if reason.chars().count() > MAX_REASON {
        invalid.0.push(FieldError {
            field: "reason".into(),
            message: format!("reason must be at most {MAX_REASON} characters"),
        });
    }
    invalid.into_result()?;
    Ok((change.unwrap_or_default(), reason.to_string()))
}

/// The refusal of a change at `field` that would take stock of `what` below zero.
pub fn insufficient(field: &str, what: &str, available: i64, requested: i64) -> ApiError {
    ApiError::Blocked {
        code: "INSUFFICIENT_STOCK",
        message: format!(
            "only {available} unit(s) of {what} in stock: stock never goes below zero"
        ),
        details: json!({ "field": field, "available": available, "requested": requested }),
    }
}

/// POST /api/v1/inventory/{inventory_id}/adjust — moves the ready stock by `adjustment`
/// units with a `reason` (operators): never below zero (refused with the units
/// available), audited with before and after; falling to the threshold alerts once.
pub async fn adjust(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AdjustBody>,
) -> ApiResult<Value> {
    let (change, reason) = parse_adjustment(body.adjustment, body.reason.as_deref())?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let good = match store::finished_goods::add_ready(&mut tx, &member.tenant, &id, change, &now)
        .await
        .map_err(|e| GOOD.error(e))?
    {
        Ok(good) => good,
        Err(good) => {
            return Err(insufficient(
                "adjustment",
                &good.sku,
                good.current_stock,
                change,
            ));
        }
    };
    let before = good.current_stock - change;
    let alert = note_low(&app, &mut tx, &member.tenant, &good).await?;
    let record = json!({ "before": before, "after": good.current_stock, "change": change, "reason": reason });
    let audit = Change {
        action: "inventory.adjusted",
        table: "finished_goods",
        record: &good.id,
        old: Some(json!({ "current_stock": before })),
        new: Some(record.clone()),
    };
    member.audit(&mut tx, &client, audit, &now).await?;
    tx.commit().await?;
    if alert {
        publish_good_low(&app, &member.tenant, &good);
    }
    let mut answer = json!(good);
    answer["adjustment"] = record;
    answer["alerted"] = json!(alert);
    Ok(Envelope::ok(answer))
}

/// Tells the farm's dashboards a SKU's stock is low.
pub fn publish_low(
    app: &App,
    tenant: &TenantId,
    sku_id: &str,
    sku: &str,
    current_stock: i64,
    threshold: i64,
) {
    app.realtime.publish(
        tenant,
        proto::dashboard::ServerMessage::InventoryAlert {
            sku_id: sku_id.to_string(),
            sku: sku.to_string(),
            current_stock,
            threshold,
        },
    );
}

/// Notes whether the good is low now, in `tx`; `true` when the farm must be told (its
/// rules and channels are, with the change).
async fn note_low(
    app: &App,
    tx: &mut store::Conn,
    tenant: &TenantId,
    good: &FinishedGood,
) -> Result<bool, ApiError> {
    let alert = store::low_stock::note(
        tx,
        Counter::FinishedGood,
        tenant,
        &good.id,
        good.stock().is_low(),
    )
    .await?;
    if alert {
        crate::automation::low_stock_in(&*app.queue, tx, tenant, good.into(), &store::now_text())
            .await?;
    }
    Ok(alert)
}

/// Tells the farm's dashboards the good is low.
fn publish_good_low(app: &App, tenant: &TenantId, good: &FinishedGood) {
    publish_low(
        app,
        tenant,
        &good.product_sku_id,
        &good.sku,
        good.current_stock,
        good.low_stock_threshold,
    );
}

/// Body of a threshold change.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ThresholdBody {
    #[serde(alias = "low_stock_threshold")]
    threshold: Option<i64>,
}

/// PUT /api/v1/inventory/{inventory_id}/threshold — sets the units at or below which the
/// good is low (operators); a good that becomes low by it alerts once.
pub async fn set_threshold(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ThresholdBody>,
) -> ApiResult<FinishedGood> {
    let threshold = parse_threshold(body.threshold)?;
    let actor = Actor::member(&member, client);
    let good = change_threshold(&app, &actor, Stocked::Good(&id), threshold).await?;
    Ok(Envelope::ok(good))
}

/// A low-stock threshold from 0 to 1,000,000 units, or the field error.
pub fn parse_threshold(threshold: Option<i64>) -> Result<i64, ApiError> {
    threshold
        .filter(|t| (0..=1_000_000).contains(t))
        .ok_or_else(|| ApiError::field("threshold", "threshold must be from 0 to 1000000"))
}

/// Whose stock a change names: a finished good, or a SKU (whose good is started from it
/// on its first change, as a SKU's adjustment does).
#[derive(Debug, Clone, Copy)]
pub enum Stocked<'a> {
    /// A finished good by its id.
    Good(&'a str),
    /// A SKU by its id.
    Sku(&'a str),
}

/// Sets the units at or below which a good is low (parsed by [`parse_threshold`]): the one
/// way for the API and the dashboard. Audited; a good that becomes low by it alerts once.
pub async fn change_threshold(
    app: &App,
    actor: &Actor,
    stocked: Stocked<'_>,
    threshold: i64,
) -> Result<FinishedGood, ApiError> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let before = match stocked {
        Stocked::Good(id) => store::finished_goods::get(&mut tx, &actor.tenant, id).await,
        Stocked::Sku(id) => {
            store::finished_goods::of_sku_or_start(&mut tx, &actor.tenant, id, &now).await
        }
    }
    .map_err(|e| GOOD.error(e))?;
    let good =
        store::finished_goods::set_threshold(&mut tx, &actor.tenant, &before.id, threshold, &now)
            .await
            .map_err(|e| GOOD.error(e))?;
    let alert = note_low(app, &mut tx, &actor.tenant, &good).await?;
    let audit = Change {
        action: "inventory.threshold_set",
        table: "finished_goods",
        record: &good.id,
        old: Some(json!({ "low_stock_threshold": before.low_stock_threshold })),
        new: Some(json!({ "low_stock_threshold": threshold })),
    };
    actor.record(&mut tx, audit, &now).await?;
    tx.commit().await?;
    if alert {
        publish_good_low(app, &actor.tenant, &good);
    }
    Ok(good)
}

/// A finished good as a client sends it (a change names only what changes).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GoodBody {
    /// The SKU it is the stock of (new rows only).
    product_sku_id: Option<String>,
    /// Ready units to start with (new rows only: stock then moves by adjustments).
    current_stock: Option<i64>,
    low_stock_threshold: Option<i64>,
    unit_price: Option<i64>,
    is_active: Option<Value>,
}

impl GoodBody {
    /// The values: this body over `stored`, or over the SKU's for a new row.
    fn parse(
        &self,
        stored: Option<&FinishedGood>,
        sku: Option<&store::catalogue::SkuForPrint>,
    ) -> Result<GoodFields, Invalid> {
        let mut invalid = Invalid::default();
        let mut whole = |field: &str, value: i64| {
            if !(0..=1_000_000_000).contains(&value) {
                invalid.0.push(FieldError {
                    field: field.into(),
                    message: format!("{field} must be a whole number from 0"),
                });
            }
            value
        };
        let low_stock_threshold = whole(
            "low_stock_threshold",
            self.low_stock_threshold
                .or(stored.map(|g| g.low_stock_threshold))
                .or(sku.map(|s| s.low_stock_threshold))
                .unwrap_or(5),
        );
        let unit_price = whole(
            "unit_price",
            self.unit_price
                .or(stored.map(|g| g.unit_price))
                .or(sku.and_then(|s| s.price))
                .unwrap_or(0),
        );
        if stored.is_none() {
            whole("current_stock", self.current_stock.unwrap_or(0));
        } else if self.current_stock.is_some() {
            invalid.0.push(FieldError {
                field: "current_stock".into(),
                message: "stock moves by adjustments (POST /inventory/{id}/adjust), not by editing"
                    .into(),
            });
        }
        let is_active = body_flag(&mut invalid, "is_active", self.is_active.as_ref())
            .unwrap_or_else(|| stored.is_none_or(|g| g.is_active == 1));
        invalid.into_result()?;
        Ok(GoodFields {
            low_stock_threshold,
            unit_price,
            is_active,
        })
    }
}

/// POST /api/v1/inventory — starts a SKU's stock by hand (operators): its colour, material
/// and assembly need come from the SKU; one row per SKU.
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiJson(body): ApiJson<GoodBody>,
) -> ApiResult<FinishedGood> {
    let Some(sku_id) = body.product_sku_id.clone().filter(|s| !s.is_empty()) else {
        let mut invalid = Invalid::field("product_sku_id", "product_sku_id is required");
        if let Err(more) = body.parse(None, None) {
            invalid.0.extend(more.0);
        }
        return Err(invalid.into());
    };
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let sku = store::catalogue::sku_for_print(&mut tx, &member.tenant, &sku_id)
        .await
        .or_field("product_sku_id", "no SKU of this farm has that id")?;
    let fields = body.parse(None, Some(&sku))?;
    let good = store::finished_goods::create(
        &mut tx,
        &member.tenant,
        &sku,
        body.current_stock,
        &fields,
        &now,
    )
    .await
    .map_err(|e| GOOD.error(e))?;
    let alert = note_low(&app, &mut tx, &member.tenant, &good).await?;
    let audit = Change {
        action: "inventory.created",
        table: "finished_goods",
        record: &good.id,
        new: Some(
            json!({ "product_sku_id": sku.id, "current_stock": good.current_stock, "low_stock_threshold": fields.low_stock_threshold }),
        ),
        ..Change::default()
    };
    member.audit(&mut tx, &client, audit, &now).await?;
    tx.commit().await?;
    if alert {
        publish_good_low(&app, &member.tenant, &good);
    }
    Ok(Envelope::created(good))
}

/// PUT /api/v1/inventory/{inventory_id} — changes a good's price, threshold or whether it is
/// active (operators; not its units).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<GoodBody>,
) -> ApiResult<FinishedGood> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let stored = store::finished_goods::get(&mut tx, &member.tenant, &id)
        .await
        .map_err(|e| GOOD.error(e))?;
    let fields = body.parse(Some(&stored), None)?;
    let good = store::finished_goods::update(&mut tx, &member.tenant, &id, &fields, &now)
        .await
        .map_err(|e| GOOD.error(e))?;
    let alert = note_low(&app, &mut tx, &member.tenant, &good).await?;
    let audit = Change {
        action: "inventory.updated",
        table: "finished_goods",
        record: &good.id,
        old: Some(
            json!({ "low_stock_threshold": stored.low_stock_threshold, "unit_price": stored.unit_price, "is_active": stored.is_active }),
        ),
        new: Some(
            json!({ "low_stock_threshold": good.low_stock_threshold, "unit_price": good.unit_price, "is_active": good.is_active }),
        ),
    };
    member.audit(&mut tx, &client, audit, &now).await?;
    tx.commit().await?;
    if alert {
        publish_good_low(&app, &member.tenant, &good);
    }
    Ok(Envelope::ok(good))
}

/// DELETE /api/v1/inventory/{inventory_id} — removes a good that holds no units (admins);
/// one that does answers 409 `INVENTORY_IN_USE` with its units (adjust them to 0 first).
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let stored = store::finished_goods::get(&mut tx, &member.tenant, &id)
        .await
        .map_err(|e| GOOD.error(e))?;
    if !store::finished_goods::delete_empty(&mut tx, &member.tenant, &id)
        .await
        .map_err(|e| GOOD.error(e))?
    {
        return Err(ApiError::Blocked {
            code: "INVENTORY_IN_USE",
            message: "the item holds units; adjust them to 0 first".into(),
            details: json!({ "current_stock": stored.current_stock,
                             "quantity_needs_assembly": stored.quantity_needs_assembly,
                             "quantity_assembled": stored.quantity_assembled }),
        });
    }
    let audit = Change {
        action: "inventory.deleted",
        table: "finished_goods",
        record: &stored.id,
        old: Some(json!({ "product_sku_id": stored.product_sku_id, "sku": stored.sku })),
        ..Change::default()
    };
    member.audit(&mut tx, &client, audit, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(json!({ "id": stored.id, "deleted": true })))
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use axum::http::Method as M;
    use domain::Role;
    crate::api::Routes::new()
        .add(
            M::GET,
            "/api/v1/inventory",
            Member(Role::Viewer),
            "Finished goods, one row per SKU (a page when page or limit is sent)",
            inventory,
        )
        .query(crate::api::PAGING)
        .add(M::POST, "/api/v1/inventory", Member(Role::Operator), "Start a SKU's stock by hand (one row per SKU)", create)
        .example(json!({"product_sku_id": "00000000-0000-0000-0000-000000000000", "current_stock": 12, "low_stock_threshold": 5}))
        .add(
            M::GET,
            "/api/v1/inventory/alerts",
            Member(Role::Viewer),
            "Finished goods at or below their low-stock threshold",
            alerts,
        )
        .add(
            M::GET,
            "/api/v1/inventory/stats",
            Member(Role::Viewer),
            "The farm's stock in figures",
            stats,
        )
        .add(
            M::GET,
            "/api/v1/inventory/by-sku/{sku_id}",
            Member(Role::Viewer),
            "The finished good of a SKU",
            by_sku,
        )
        .add(
            M::GET,
            "/api/v1/inventory/{inventory_id}",
            Member(Role::Viewer),
            "One finished good",
            get_one,
        )
        .add(
            M::PUT,
            "/api/v1/inventory/{inventory_id}",
            Member(Role::Operator),
            "Change an item's price, threshold or whether it is active (not its units)",
            update,
        )
        .example(json!({"unit_price": 750}))
        .add(
            M::DELETE,
            "/api/v1/inventory/{inventory_id}",
            Member(Role::Admin),
            "Remove an item that holds no units",
            delete,
        )
        .add(
            M::POST,
            "/api/v1/inventory/{inventory_id}/adjust",
            Member(Role::Operator),
            "Move the ready stock by a number of units, with a reason (never below zero)",
            adjust,
        )
        .example(json!({"adjustment": -1, "reason": "sold at the market"}))
        .add(
            M::PUT,
            "/api/v1/inventory/{inventory_id}/threshold",
            Member(Role::Operator),
            "Set the low-stock threshold",
            set_threshold,
        )
        .example(json!({"threshold": 5}))
}
