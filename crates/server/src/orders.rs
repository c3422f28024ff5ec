//! Orders, `/api/v1/orders`: what customers bought, line by line (amounts in cents). Lines
//! are matched to the farm's SKUs; stock is shared among open orders oldest first; what
//! stock can't cover is queued as print jobs for the line (`farm::orders`); fulfilment
//! takes stock and is refused, naming the short lines, when there is not enough.

use crate::app::App;
use crate::audit::{Actor, Change};
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo, OptionalJson, body_flag};
use crate::farm::orders::{LineRequest, OrderRequest, OrderView};
use axum::extract::State;
use domain::Invalid;
use domain::orders::{OrderStatus, Platform};
use serde::Deserialize;
use serde_json::{Value, json};
use store::orders::{Order, OrderFields, OrderQuery};

/// The most lines one order takes.
const MAX_LINES: usize = 500;
/// The most units one line takes.
const MAX_UNITS: i64 = 100_000;
/// The most cents an amount may be (ten million of the currency).
const MAX_CENTS: i64 = 1_000_000_000;
/// The longest text field kept.
const MAX_TEXT: usize = 500;

/// One line as a client sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ItemBody {
    /// The line's id (a change matching an unmatched line names it).
    id: Option<String>,
    sku: Option<String>,
    #[serde(alias = "sku_id")]
    product_sku_id: Option<String>,
    product_name: Option<String>,
    quantity: Option<i64>,
    unit_price: Option<i64>,
    notes: Option<String>,
}

/// An order as a client sends it (a change names only what changes; `null` clears an
/// optional field).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OrderBody {
    platform: Option<String>,
    customer_name: Option<String>,
    #[serde(deserialize_with = "crate::extract::given")]
    customer_email: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    customer_phone: Option<Option<String>>,
    order_date: Option<String>,
    status: Option<String>,
    shipping_cost: Option<i64>,
    tax_amount: Option<i64>,
    discount_amount: Option<i64>,
    #[serde(deserialize_with = "crate::extract::given")]
    shipping_street: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    shipping_city: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    shipping_state: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    shipping_zip: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    shipping_country: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    tracking_number: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    tracking_url: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    notes: Option<Option<String>>,
    external_id: Option<String>,
    /// Points added to its jobs' priority (0 to 200).
    priority: Option<i64>,
    /// Whether it fulfils itself once stock covers every line.
    auto_fulfill: Option<Value>,
    items: Option<Vec<ItemBody>>,
}

/// A text field trimmed, at most [`MAX_TEXT`] characters, `None` when empty.
fn text(invalid: &mut Invalid, field: &str, value: &str) -> Option<String> {
    let value = value.trim();
    if value.chars().count() > MAX_TEXT {
        invalid.add(
            field,
            format!("{field} must be at most {MAX_TEXT} characters"),
        );
    }
    (!value.is_empty()).then(|| value.to_string())
}

/// An optional text field: this body's (`Some(None)` clears) over the stored one.
fn optional(
    invalid: &mut Invalid,
    field: &str,
    given: &Option<Option<String>>,
    stored: Option<&Option<String>>,
) -> Option<String> {
    match given {
        None => stored.cloned().flatten(),
        Some(None) => None,
        Some(Some(v)) => text(invalid, field, v),
    }
}

/// An amount in cents from 0 to [`MAX_CENTS`].
fn cents(invalid: &mut Invalid, field: &str, value: i64) -> i64 {
    if !(0..=MAX_CENTS).contains(&value) {
        invalid.add(
            field,
            format!("{field} must be a whole number of cents from 0 to {MAX_CENTS}"),
        );
    }
    value
}

/// An order date: RFC 3339, or a calendar day (`2026-12-03`, taken as its midnight UTC).
pub fn parse_order_date(field: &str, raw: &str) -> Result<String, Invalid> {
    let raw = raw.trim();
    if let Some(at) = domain::time::parse(raw) {
        return Ok(domain::time::format(at));
    }
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| domain::time::format(d.and_utc()))
        .ok_or_else(|| {
            Invalid::field(
                field,
                format!("{field} must be a date (2026-12-03) or an RFC 3339 time"),
            )
        })
}

impl OrderBody {
    /// The order's fields: this body over `stored` (or over nothing, for a new order).
    fn fields(&self, stored: Option<&Order>, invalid: &mut Invalid) -> OrderFields {
        let customer_name = match (&self.customer_name, stored) {
            (Some(name), _) => text(invalid, "customer_name", name).unwrap_or_else(|| {
                invalid.add("customer_name", "customer_name must not be empty");
                String::new()
            }),
            (None, Some(order)) => order.customer_name.clone(),
            (None, None) => {
                invalid.add("customer_name", "customer_name is required");
                String::new()
            }
        };
        let customer_email = optional(
            invalid,
            "customer_email",
            &self.customer_email,
            stored.map(|o| &o.customer_email),
        );
        if customer_email.as_deref().is_some_and(|e| !e.contains('@')) {
            invalid.add("customer_email", "customer_email is not an email address");
        }
        let order_date = match &self.order_date {
            Some(raw) if !raw.trim().is_empty() => invalid
                .take(parse_order_date("order_date", raw))
                .unwrap_or_default(),
            _ => stored
                .map(|o| o.order_date.clone())
                .unwrap_or_else(store::now_text),
        };
        let amount = |invalid: &mut Invalid, field: &str, given: Option<i64>, old: Option<i64>| {
            cents(invalid, field, given.or(old).unwrap_or(0))
        };
        let priority = self.priority.or(stored.map(|o| o.priority)).unwrap_or(0);
        if !(0..=200).contains(&priority) {
            invalid.add("priority", "priority must be from 0 to 200");
        }
        let auto_fulfill = body_flag(invalid, "auto_fulfill", self.auto_fulfill.as_ref())
            .unwrap_or_else(|| stored.is_some_and(|o| o.auto_fulfill == 1));
        OrderFields {
            customer_name,
            customer_phone: optional(
                invalid,
                "customer_phone",
                &self.customer_phone,
                stored.map(|o| &o.customer_phone),
            ),
            customer_email,
            order_date,
            shipping_cost: amount(
                invalid,
                "shipping_cost",
                self.shipping_cost,
                stored.map(|o| o.shipping_cost),
            ),
            tax_amount: amount(
                invalid,
                "tax_amount",
                self.tax_amount,
                stored.map(|o| o.tax_amount),
            ),
            discount_amount: amount(
                invalid,
                "discount_amount",
                self.discount_amount,
                stored.map(|o| o.discount_amount),
            ),
            shipping_street: optional(
                invalid,
                "shipping_street",
                &self.shipping_street,
                stored.map(|o| &o.shipping_street),
            ),
            shipping_city: optional(
                invalid,
                "shipping_city",
                &self.shipping_city,
                stored.map(|o| &o.shipping_city),
            ),
            shipping_state: optional(
                invalid,
                "shipping_state",
                &self.shipping_state,
                stored.map(|o| &o.shipping_state),
            ),
            shipping_zip: optional(
                invalid,
                "shipping_zip",
                &self.shipping_zip,
                stored.map(|o| &o.shipping_zip),
            ),
            shipping_country: match (&self.shipping_country, stored) {
                (None, None) => Some("USA".into()),
                _ => optional(
                    invalid,
                    "shipping_country",
                    &self.shipping_country,
                    stored.map(|o| &o.shipping_country),
                ),
            },
            tracking_number: optional(
                invalid,
                "tracking_number",
                &self.tracking_number,
                stored.map(|o| &o.tracking_number),
            ),
            tracking_url: optional(
                invalid,
                "tracking_url",
                &self.tracking_url,
                stored.map(|o| &o.tracking_url),
            ),
            notes: optional(invalid, "notes", &self.notes, stored.map(|o| &o.notes)),
            priority,
            auto_fulfill,
        }
    }

    /// A new order from this body.
    fn new_order(&self) -> Result<OrderRequest, Invalid> {
        let mut invalid = Invalid::default();
        let fields = self.fields(None, &mut invalid);
        let platform = match self.platform.as_deref().map(str::trim) {
            None | Some("") => Platform::Manual,
            Some(p) => invalid
                .take(
                    p.parse::<Platform>()
                        .map_err(|e| Invalid::field("platform", e.to_string())),
                )
                .unwrap_or(Platform::Manual),
        };
        if self.status.is_some() {
            invalid.add(
                "status",
                "a new order is pending; its status follows its lines",
            );
        }
        let items = self.items.as_deref().unwrap_or_default();
        if items.is_empty() {
            invalid.add("items", "an order needs at least one item");
        } else if items.len() > MAX_LINES {
            invalid.add("items", format!("an order takes at most {MAX_LINES} items"));
        }
        let lines = items
            .iter()
            .enumerate()
            .map(|(n, item)| item.line(n, &mut invalid))
            .collect();
        invalid.into_result()?;
        Ok(OrderRequest {
            platform,
            fields,
            external_id: self.external_id.clone().filter(|e| !e.trim().is_empty()),
            external_data: None,
            lines,
            total: None,
        })
    }
}

impl ItemBody {
    /// Line `n` of a new order.
    fn line(&self, n: usize, invalid: &mut Invalid) -> LineRequest {
        let at = |field: &str| format!("items[{n}].{field}");
        let sku_id = self.product_sku_id.clone().filter(|s| !s.trim().is_empty());
        let sku = self
            .sku
            .as_deref()
            .and_then(|s| text(invalid, &at("sku"), s));
        if sku_id.is_none() && sku.is_none() && self.product_name.is_none() {
            invalid.add(
                &at("sku"),
                "each item needs its sku (or product_sku_id, or at least a product_name)",
            );
        }
        let quantity = self.quantity.unwrap_or(0);
        if !(1..=MAX_UNITS).contains(&quantity) {
            invalid.add(
                &at("quantity"),
                format!("quantity must be from 1 to {MAX_UNITS}"),
            );
        }
        LineRequest {
            sku_id,
            sku,
            product_name: self
                .product_name
                .as_deref()
                .and_then(|p| text(invalid, &at("product_name"), p)),
            quantity,
            unit_price: self
                .unit_price
                .map(|c| cents(invalid, &at("unit_price"), c)),
            notes: self
                .notes
                .as_deref()
                .and_then(|t| text(invalid, &at("notes"), t)),
        }
    }
}

/// Query of the order list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    page: Option<i64>,
    limit: Option<i64>,
    status: Option<String>,
    platform: Option<String>,
    search: Option<String>,
    /// Orders dated on or after.
    from: Option<String>,
    /// Orders dated before.
    to: Option<String>,
    #[serde(rename = "sortBy", alias = "sort_by")]
    sort_by: Option<String>,
    #[serde(rename = "sortOrder", alias = "sort_order")]
    sort_order: Option<String>,
}

/// A query value parsed as `T`, or a 400 on `field`.
fn parsed<T: std::str::FromStr>(field: &str, raw: Option<&str>) -> Result<Option<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|e: T::Err| ApiError::field(field, e.to_string())),
    }
}

/// The filters of a list query, parsed.
pub fn order_query(q: &ListQuery) -> Result<OrderQuery, ApiError> {
    let (sort_by, ascending) = crate::extract::parse_sort(
        q.sort_by.as_deref(),
        q.sort_order.as_deref(),
        store::orders::SORTABLE,
        "created_at",
    )?;
    let date = |field: &str, raw: &Option<String>| match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse_order_date(field, v).map(Some).map_err(ApiError::from),
    };
    Ok(OrderQuery {
        status: parsed("status", q.status.as_deref())?,
        platform: parsed("platform", q.platform.as_deref())?,
        search: q.search.clone().filter(|s| !s.trim().is_empty()),
        from: date("from", &q.from)?,
        to: date("to", &q.to)?,
        sort_by,
        ascending,
    })
}

/// An order of a list page, with its lines.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ListedOrder {
    /// The order.
    #[serde(flatten)]
    pub order: Order,
    /// Its lines.
    pub items: Vec<store::orders::OrderItem>,
    /// Units on all its lines.
    pub total_items: i64,
}

/// A page of orders with their lines, by `query` (the API's list and the dashboard's).
pub async fn page(
    app: &App,
    tenant: &domain::TenantId,
    query: &OrderQuery,
    paging: Paging,
) -> Result<(Vec<ListedOrder>, i64), ApiError> {
    let mut conn = app.store.conn().await?;
    let (orders, total) =
        store::orders::list(&mut conn, tenant, query, paging.limit(), paging.offset()).await?;
    let ids: Vec<String> = orders.iter().map(|o| o.id.clone()).collect();
    let mut items = store::orders::items_of(&mut conn, tenant, &ids).await?;
    let rows = orders
        .into_iter()
        .map(|order| {
            let mine: Vec<_> = items.extract_if(.., |i| i.order_id == order.id).collect();
            ListedOrder {
                total_items: mine.iter().map(|i| i.quantity).sum(),
                items: mine,
                order,
            }
        })
        .collect();
    Ok((rows, total))
}

/// GET /api/v1/orders — a page of the farm's orders with their lines, newest first
/// (filters: status, platform, search, from, to; sortBy, sortOrder, page, limit).
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<ListedOrder>> {
    let query = order_query(&q)?;
    let paging = Paging {
        page: q.page.unwrap_or(1),
        limit: q.limit.unwrap_or(50),
    };
    let (rows, total) = page(&app, &member.tenant, &query, paging).await?;
    Ok(Envelope::list(rows, paging.meta(total)))
}

/// GET /api/v1/orders/stats — the farm's orders in figures (revenue in cents; "this month"
/// counts orders dated since the first of the month, UTC).
pub async fn stats(
    State(app): State<App>,
    member: Member<roles::Viewer>,
) -> ApiResult<store::orders::OrderFigures> {
    let month = chrono::Utc::now()
        .format("%Y-%m-01T00:00:00.000Z")
        .to_string();
    let mut conn = app.store.conn().await?;
    Ok(Envelope::ok(
        store::orders::figures(&mut conn, &member.tenant, &month).await?,
    ))
}

/// GET /api/v1/orders/{order_id} — an order, its lines with how stock and prints cover
/// them, and the print jobs queued for it.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let view = app.farm.order_view(&member.tenant, &id).await?;
    Ok(Envelope::ok(with_jobs(&app, &member.tenant, view).await?))
}

/// The view as JSON with the order's jobs.
async fn with_jobs(
    app: &App,
    tenant: &domain::TenantId,
    view: OrderView,
) -> Result<Value, ApiError> {
    let mut conn = app.store.conn().await?;
    let jobs = store::jobs::of_order(&mut conn, tenant, &view.order.id).await?;
    let mut answer = json!(view);
    answer["jobs"] = json!(jobs);
    Ok(answer)
}

/// POST /api/v1/orders — takes an order (operators): lines matched to SKUs by id or code
/// (exactly, then loosely; unmatched lines are kept and flagged), a number drawn
/// (`ORD-00042`), and print jobs queued for what stock can't cover.
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiJson(body): ApiJson<OrderBody>,
) -> ApiResult<Value> {
    let asked = body.new_order()?;
    let actor = Actor::member(&member, client);
    let taken = app
        .farm
        .take_order(&member.tenant, asked, Some(&actor))
        .await?;
    let queued: Vec<&str> = taken.queued.iter().map(|j| j.id.as_str()).collect();
    let mut answer = json!(taken.view);
    answer["jobs_queued"] = json!(queued);
    answer["unprintable_skus"] = json!(taken.unprintable);
    Ok(Envelope::created(answer))
}

/// PUT /api/v1/orders/{order_id} — changes an order's customer, shipping, tracking,
/// notes, priority or auto-fulfil, moves its status by hand (cancelling cancels its queued
/// jobs), or matches unmatched lines (`items: [{id, product_sku_id}]`).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<OrderBody>,
) -> ApiResult<Value> {
    let tenant = &member.tenant;
    let actor = Actor::member(&member, client);
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let stored = store::orders::get(&mut tx, tenant, &id)
        .await
        .map_err(|e| match e {
            store::StoreError::NotFound => ApiError::not_found("ORDER_NOT_FOUND", "order"),
            other => other.into(),
        })?;
    let mut invalid = Invalid::default();
    let fields = body.fields(Some(&stored), &mut invalid);
    let status = match body.status.as_deref() {
        None => None,
        Some(s) => invalid.take(
            s.parse::<OrderStatus>()
                .map_err(|e| Invalid::field("status", e.to_string())),
        ),
    };
    if body.platform.is_some() {
        invalid.add(
            "platform",
            "an order's platform is where it came from: it doesn't change",
        );
    }
    let items = store::orders::items(&mut tx, tenant, &id).await?;
    let mut matches = Vec::new();
    for (n, change) in body.items.iter().flatten().enumerate() {
        let line = change
            .id
            .as_deref()
            .and_then(|i| items.iter().find(|item| item.id == i));
        match (line, change.product_sku_id.as_deref()) {
            (Some(line), Some(sku)) if !sku.is_empty() => matches.push((line, sku)),
            (None, _) => invalid.add(
                &format!("items[{n}].id"),
                "no line of this order has that id",
            ),
            (Some(_), _) => invalid.add(
                &format!("items[{n}].product_sku_id"),
                "a line is changed only to match it to a SKU: give product_sku_id",
            ),
        }
    }
    invalid.into_result()?;
    let mut order = store::orders::update(&mut tx, tenant, &id, &fields, &now).await?;
    let mut queued = Vec::new();
    for (line, sku) in matches {
        queued.extend(
            app.farm
                .match_line_in(&mut tx, tenant, line, sku, &now)
                .await?,
        );
    }
    let mut cancelled = None;
    if let Some(to) = status {
        (order, cancelled) = app
            .farm
            .move_order(tenant, &order, to, &mut tx, Some(&actor), &now)
            .await?;
    }
    let change = Change {
        action: "order.updated",
        table: "orders",
        record: &order.id,
        old: Some(
            json!({ "status": stored.status, "customer_name": stored.customer_name,
            "tracking_number": stored.tracking_number, "priority": stored.priority }),
        ),
        new: Some(
            json!({ "status": order.status, "customer_name": order.customer_name,
            "tracking_number": order.tracking_number, "priority": order.priority }),
        ),
    };
    actor.record(&mut tx, change, &now).await?;
    tx.commit().await?;
    if !queued.is_empty() {
        app.farm.wake_dispatcher(tenant);
    }
    if cancelled.is_some() {
        app.background.work_queued();
    }
    let view = app.farm.order_view(tenant, &id).await?;
    let mut answer = with_jobs(&app, tenant, view).await?;
    if let Some(cancelled) = cancelled {
        answer["jobs_cancelled"] = json!(cancelled.jobs_cancelled);
        answer["jobs_left"] = json!(cancelled.jobs_left);
    }
    Ok(Envelope::ok(answer))
}

/// DELETE /api/v1/orders/{order_id} — removes an order (admins); its queued jobs are
/// cancelled, jobs already printing are left (named in the answer).
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let actor = Actor::member(&member, client);
    let gone = app.farm.delete_order(&member.tenant, &id, &actor).await?;
    Ok(Envelope::ok(json!({
        "id": gone.order.id, "deleted": true,
        "jobs_cancelled": gone.jobs_cancelled, "jobs_left": gone.jobs_left,
    })))
}

/// Body of a line's fulfilment.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FulfilBody {
    /// Units to send (all that remain when not given).
    quantity: Option<i64>,
}

/// POST /api/v1/orders/{order_id}/fulfill — takes every open line from stock, all or
/// nothing (operators); 409 `INSUFFICIENT_STOCK` names the lines that are short.
pub async fn fulfil(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let actor = Actor::member(&member, client);
    let view = app
        .farm
        .fulfil_order(&member.tenant, &id, Some(&actor))
        .await?;
    Ok(Envelope::ok(with_jobs(&app, &member.tenant, view).await?))
}

/// POST /api/v1/orders/{order_id}/items/{item_id}/fulfill — takes `quantity` units (all
/// that remain when not given) of one line from stock (operators).
pub async fn fulfil_item(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath((id, item)): ApiPath<(String, String)>,
    OptionalJson(body): OptionalJson<FulfilBody>,
) -> ApiResult<Value> {
    let actor = Actor::member(&member, client);
    let view = app
        .farm
        .fulfil_line(&member.tenant, &id, &item, body.quantity, Some(&actor))
        .await?;
    Ok(Envelope::ok(with_jobs(&app, &member.tenant, view).await?))
}

/// The filters of the order list, for the document.
const ORDER_FILTERS: &[(&str, crate::api::Param)] = &[
    (
        "status",
        crate::api::Param::OneOf(&[
            "pending",
            "processing",
            "printed",
            "assembled",
            "shipped",
            "fulfilled",
            "cancelled",
            "refunded",
        ]),
    ),
    (
        "platform",
        crate::api::Param::OneOf(&["shopify", "amazon", "etsy", "manual", "other"]),
    ),
    ("search", crate::api::Param::Text),
    ("from", crate::api::Param::Text),
    ("to", crate::api::Param::Text),
    ("sortBy", crate::api::Param::OneOf(store::orders::SORTABLE)),
    crate::api::SORT_ORDER,
];

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::PAGING;
    use axum::http::Method as M;
    use domain::Role;
    crate::api::Routes::new()
        .add(M::GET, "/api/v1/orders", Member(Role::Viewer), "The farm's orders with their lines (filters: status, platform, search, from, to; sortBy, sortOrder, page, limit)", list)
        .query(PAGING)
        .query(ORDER_FILTERS)
        .add(M::POST, "/api/v1/orders", Member(Role::Operator), "Take an order: lines matched to SKUs, a number drawn, print jobs queued for what stock can't cover", create)
        .example(json!({"customer_name": "Ada Lovelace", "customer_email": "ada@example.com", "shipping_cost": 495,
            "items": [{"sku": "BENCHY-RED", "quantity": 3, "unit_price": 1250}]}))
        .add(M::GET, "/api/v1/orders/stats", Member(Role::Viewer), "The farm's orders in figures (revenue in cents)", stats)
        .add(M::GET, "/api/v1/orders/{order_id}", Member(Role::Viewer), "An order, its lines with how stock and prints cover them, and its jobs", get_one)
        .add(M::PUT, "/api/v1/orders/{order_id}", Member(Role::Operator), "Change an order, move its status by hand, or match an unmatched line to a SKU", update)
        .example(json!({"tracking_number": "1Z999AA10123456784", "status": "shipped"}))
        .add(M::DELETE, "/api/v1/orders/{order_id}", Member(Role::Admin), "Remove an order (its queued jobs are cancelled)", delete)
        .add(M::POST, "/api/v1/orders/{order_id}/fulfill", Member(Role::Operator), "Take every open line from stock, all or nothing", fulfil)
        .add(M::POST, "/api/v1/orders/{order_id}/items/{item_id}/fulfill", Member(Role::Operator), "Take units of one line from stock (all that remain when quantity is not given)", fulfil_item)
        .optional_example(json!({"quantity": 1}))
}
