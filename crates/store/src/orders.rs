//! Orders and their lines (`orders`, `order_items`). Amounts are cents. A line's fulfilment
//! moves by conditional updates (never past its quantity), and an order's status by
//! compare-and-set on the status the caller read, so two requests can't both apply.

use crate::{Conn, StoreResult};
use domain::TenantId;
use domain::orders::{LineStatus, OrderStatus, Platform};
use serde::Serialize;

/// An order row.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Order {
    pub id: String,
    pub tenant_id: String,
    pub order_number: String,
    #[sqlx(try_from = "String")]
    pub platform: Platform,
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    pub order_date: String,
    #[sqlx(try_from = "String")]
    pub status: OrderStatus,
    pub total_revenue: i64,
    pub shipping_cost: i64,
    pub tax_amount: i64,
    pub discount_amount: i64,
    pub shipping_street: Option<String>,
    pub shipping_city: Option<String>,
    pub shipping_state: Option<String>,
    pub shipping_zip: Option<String>,
    pub shipping_country: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub shipped_at: Option<String>,
    pub external_id: Option<String>,
    pub external_data: Option<String>,
    pub notes: Option<String>,
    /// Its own priority, added to the dispatcher's bonus for its jobs.
    pub priority: i64,
    /// 1 when it fulfils itself once its lines are covered by stock.
    pub auto_fulfill: i64,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, tenant_id, order_number, platform, customer_name, customer_email,
    customer_phone, order_date, status, total_revenue, shipping_cost, tax_amount, discount_amount,
    shipping_street, shipping_city, shipping_state, shipping_zip, shipping_country, tracking_number,
    tracking_url, shipped_at, external_id, external_data, notes, priority, auto_fulfill, created_at,
    updated_at";

/// An order line row.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OrderItem {
    pub id: String,
    pub order_id: String,
    pub finished_good_id: Option<String>,
    /// The SKU it was matched to; `None`: no SKU of the farm has its code (kept, flagged).
    pub product_sku_id: Option<String>,
    pub sku: String,
    pub product_name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub total_price: i64,
    pub quantity_fulfilled: i64,
    #[sqlx(try_from = "String")]
    pub fulfillment_status: LineStatus,
    pub notes: Option<String>,
    pub created_at: String,
}

const ITEM_COLUMNS: &str = "id, order_id, finished_good_id, product_sku_id, sku, product_name,
    quantity, unit_price, total_price, quantity_fulfilled, fulfillment_status, notes, created_at";

/// Keeps `order_items` rows to the farm's orders (the lines have no tenant of their own).
const OF_FARM: &str =
    "EXISTS (SELECT 1 FROM orders o WHERE o.id = order_items.order_id AND o.tenant_id = $1)";

impl OrderItem {
    /// The line as the domain's rules read it.
    pub fn line(&self) -> domain::orders::Line {
        domain::orders::Line {
            quantity: self.quantity,
            fulfilled: self.quantity_fulfilled,
            cancelled: self.fulfillment_status == LineStatus::Cancelled,
        }
    }
}

/// The values of an order people set (the caller merged a change into the stored ones).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFields {
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    pub order_date: String,
    pub shipping_cost: i64,
    pub tax_amount: i64,
    pub discount_amount: i64,
    pub shipping_street: Option<String>,
    pub shipping_city: Option<String>,
    pub shipping_state: Option<String>,
    pub shipping_zip: Option<String>,
    pub shipping_country: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub notes: Option<String>,
    pub priority: i64,
    pub auto_fulfill: bool,
}

/// The columns of [`OrderFields`], in the order [`bind_fields`] binds them.
const FIELDS: &str = "customer_name, customer_email, customer_phone, order_date, shipping_cost, \
    tax_amount, discount_amount, shipping_street, shipping_city, shipping_state, shipping_zip, \
    shipping_country, tracking_number, tracking_url, notes, priority, auto_fulfill";

/// Their placeholders after the 8 of an insert's own values.
const FIELD_VALUES: &str =
    "$9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25";

type OrderStatement<'q> =
    sqlx::query::QueryAs<'q, sqlx::Any, Order, <sqlx::Any as sqlx::Database>::Arguments>;

/// Binds the fields people set, in the order of [`FIELDS`].
fn bind_fields<'q>(query: OrderStatement<'q>, f: &'q OrderFields) -> OrderStatement<'q> {
    query
        .bind(&f.customer_name)
        .bind(f.customer_email.as_deref())
        .bind(f.customer_phone.as_deref())
        .bind(&f.order_date)
        .bind(f.shipping_cost)
        .bind(f.tax_amount)
        .bind(f.discount_amount)
        .bind(f.shipping_street.as_deref())
        .bind(f.shipping_city.as_deref())
        .bind(f.shipping_state.as_deref())
        .bind(f.shipping_zip.as_deref())
        .bind(f.shipping_country.as_deref())
        .bind(f.tracking_number.as_deref())
        .bind(f.tracking_url.as_deref())
        .bind(f.notes.as_deref())
        .bind(f.priority)
        .bind(i64::from(f.auto_fulfill))
}

/// A new order: its fields, where it came from, and its lines.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub platform: Platform,
    pub fields: OrderFields,
    pub external_id: Option<String>,
    pub external_data: Option<String>,
    /// The total the platform charged, in cents (else computed from the lines).
    pub total: Option<i64>,
    pub items: Vec<NewItem>,
}

/// A new order line, matched (or not) to a SKU.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub product_sku_id: Option<String>,
    pub finished_good_id: Option<String>,
    pub sku: String,
    pub product_name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub notes: Option<String>,
}

/// Adds an order with the next order number of the farm and its lines; its total is its
/// lines, shipping and tax less the discount. Run in a transaction: the number's counter
/// stays locked until it ends.
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    order: &NewOrder,
    now: &str,
) -> StoreResult<(Order, Vec<OrderItem>)> {
    let number = crate::counters::next(conn, tenant, crate::counters::Sequence::Order).await?;
    let lines: i64 = order
        .items
        .iter()
        .map(|i| i.quantity.saturating_mul(i.unit_price))
        .fold(0, i64::saturating_add);
    let f = &order.fields;
    let total = order.total.unwrap_or_else(|| {
        domain::orders::order_total(lines, f.shipping_cost, f.tax_amount, f.discount_amount)
    });
    // Ordered ids: orders (and lines) taken in one millisecond keep the order they came in,
    // which is the order stock is shared out in.
    let id = crate::new_ordered_id();
    let sql = format!(
        "INSERT INTO orders (id, tenant_id, order_number, platform, total_revenue, external_id,
            external_data, created_at, updated_at, status, {FIELDS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 'pending', {FIELD_VALUES})
         RETURNING {COLUMNS}"
    );
    let query = sqlx::query_as::<_, Order>(sqlx::AssertSqlSafe(sql))
        .bind(&id)
        .bind(tenant.as_str())
        .bind(domain::orders::order_number(number))
        .bind(order.platform.as_str())
        .bind(total)
        .bind(order.external_id.as_deref())
        .bind(order.external_data.as_deref())
        .bind(now);
    let stored = bind_fields(query, f).fetch_one(&mut *conn).await?;
    let mut items = Vec::with_capacity(order.items.len());
    for item in &order.items {
        let sql = format!(
            "INSERT INTO order_items (id, order_id, finished_good_id, product_sku_id, sku,
                product_name, quantity, unit_price, total_price, quantity_fulfilled,
                fulfillment_status, notes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 'pending', $10, $11)
             RETURNING {ITEM_COLUMNS}"
        );
        items.push(
            sqlx::query_as::<_, OrderItem>(sqlx::AssertSqlSafe(sql))
                .bind(crate::new_ordered_id())
                .bind(&id)
                .bind(item.finished_good_id.as_deref())
                .bind(item.product_sku_id.as_deref())
                .bind(&item.sku)
                .bind(&item.product_name)
                .bind(item.quantity)
                .bind(item.unit_price)
                .bind(item.quantity.saturating_mul(item.unit_price))
                .bind(item.notes.as_deref())
                .bind(now)
                .fetch_one(&mut *conn)
                .await?,
        );
    }
    crate::analytics::touch(conn, tenant.as_str(), &[Some(&stored.order_date)]).await?;
    Ok((stored, items))
}

/// One order of the farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Order> {
    let sql = format!("SELECT {COLUMNS} FROM orders WHERE tenant_id = $1 AND id = $2");
    Ok(sqlx::query_as::<_, Order>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?)
}

/// The farm's order from `platform` with the platform's id `external_id`, if it has one.
pub async fn by_external_id(
    conn: &mut Conn,
    tenant: &TenantId,
    platform: Platform,
    external_id: &str,
) -> StoreResult<Option<Order>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM orders WHERE tenant_id = $1 AND platform = $2 AND external_id = $3"
    );
    Ok(sqlx::query_as::<_, Order>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(platform.as_str())
        .bind(external_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The lines of the farm's order, in the order they were taken.
pub async fn items(
    conn: &mut Conn,
    tenant: &TenantId,
    order_id: &str,
) -> StoreResult<Vec<OrderItem>> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM order_items WHERE order_id = $2 AND {OF_FARM}
         ORDER BY created_at, id"
    );
    Ok(sqlx::query_as::<_, OrderItem>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(order_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// The lines of the farm's orders `order_ids` (a page of the list), in order per order.
pub async fn items_of(
    conn: &mut Conn,
    tenant: &TenantId,
    order_ids: &[String],
) -> StoreResult<Vec<OrderItem>> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    // A page is at most 100 orders: their ids are bound one by one.
    let marks: Vec<String> = (0..order_ids.len())
        .map(|n| format!("${}", n + 2))
        .collect();
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM order_items WHERE order_id IN ({}) AND {OF_FARM}
         ORDER BY order_id, created_at, id",
        marks.join(", ")
    );
    let mut query = sqlx::query_as::<_, OrderItem>(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str());
    for id in order_ids {
        query = query.bind(id);
    }
    Ok(query.fetch_all(&mut *conn).await?)
}

/// One line of the farm's order.
pub async fn item(
    conn: &mut Conn,
    tenant: &TenantId,
    order_id: &str,
    item_id: &str,
) -> StoreResult<OrderItem> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM order_items WHERE order_id = $2 AND id = $3 AND {OF_FARM}"
    );
    Ok(sqlx::query_as::<_, OrderItem>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(order_id)
        .bind(item_id)
        .fetch_one(&mut *conn)
        .await?)
}

/// Filters and order of the order list.
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    pub status: Option<OrderStatus>,
    pub platform: Option<Platform>,
    /// Part of the order number, customer name or email, any case.
    pub search: Option<String>,
    /// Orders dated on or after (text compare of ISO dates).
    pub from: Option<String>,
    /// Orders dated before.
    pub to: Option<String>,
    /// A column from `SORTABLE`.
    pub sort_by: &'static str,
    pub ascending: bool,
}

/// Columns the order list may be sorted by.
pub const SORTABLE: &[&str] = &[
    "created_at",
    "order_date",
    "order_number",
    "total_revenue",
    "status",
    "customer_name",
    "updated_at",
];

const FILTER: &str = "tenant_id = $1
    AND ($2 IS NULL OR status = $2)
    AND ($3 IS NULL OR platform = $3)
    AND ($4 IS NULL OR LOWER(order_number) LIKE $4 OR LOWER(customer_name) LIKE $4
         OR LOWER(COALESCE(customer_email, '')) LIKE $4)
    AND ($5 IS NULL OR order_date >= $5)
    AND ($6 IS NULL OR order_date < $6)";

/// A page of the farm's orders and how many match.
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    q: &OrderQuery,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Order>, i64)> {
    let sort_by = SORTABLE
        .iter()
        .find(|c| **c == q.sort_by)
        .copied()
        .unwrap_or("created_at");
    let direction = if q.ascending { "ASC" } else { "DESC" };
    let search = q.search.as_ref().map(|s| format!("%{}%", s.to_lowercase()));
    let sql = format!(
        "SELECT {COLUMNS} FROM orders WHERE {FILTER} ORDER BY {sort_by} {direction}, id {direction}
         LIMIT $7 OFFSET $8"
    );
    let rows = sqlx::query_as::<_, Order>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(q.status.map(|s| s.as_str()))
        .bind(q.platform.map(|p| p.as_str()))
        .bind(search.as_deref())
        .bind(q.from.as_deref())
        .bind(q.to.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let count = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM orders WHERE {FILTER}");
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count))
        .bind(tenant.as_str())
        .bind(q.status.map(|s| s.as_str()))
        .bind(q.platform.map(|p| p.as_str()))
        .bind(search.as_deref())
        .bind(q.from.as_deref())
        .bind(q.to.as_deref())
        .fetch_one(&mut *conn)
        .await?;
    Ok((rows, total))
}

/// Writes the fields people set (in the transaction that read the order).
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    f: &OrderFields,
    now: &str,
) -> StoreResult<Order> {
    // The total moves by what changes in shipping, tax and discount: a platform's own total
    // (line discounts and all) is kept, not recomputed from the lines.
    let (stored_total, shipping, tax, discount, dated): (i64, i64, i64, i64, String) = sqlx::query_as(
        "SELECT total_revenue, shipping_cost, tax_amount, discount_amount, order_date FROM orders
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let total = (stored_total - shipping - tax + discount)
        .saturating_add(f.shipping_cost)
        .saturating_add(f.tax_amount)
        .saturating_sub(f.discount_amount)
        .max(0);
    let sets: Vec<String> = FIELDS
        .split(", ")
        .enumerate()
        .map(|(n, column)| format!("{column} = ${}", n + 5))
        .collect();
    let sql = format!(
        "UPDATE orders SET total_revenue = $3, updated_at = $4, {}
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}",
        sets.join(", ")
    );
    let query = sqlx::query_as::<_, Order>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .bind(total)
        .bind(now);
    let order = bind_fields(query, f).fetch_one(&mut *conn).await?;
    // A changed date moves the order from one day's revenue to another's.
    crate::analytics::touch(
        conn,
        tenant.as_str(),
        &[Some(&dated), Some(&order.order_date)],
    )
    .await?;
    Ok(order)
}

/// Moves an order from `from` to `to` if it is still in `from` (shipping stamps
/// `shipped_at`); `Conflict { field: "status" }` when it moved meanwhile.
pub async fn set_status(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    from: OrderStatus,
    to: OrderStatus,
    now: &str,
) -> StoreResult<Order> {
    let sql = format!(
        "UPDATE orders SET status = $4, updated_at = $5,
            shipped_at = CASE WHEN $4 = 'shipped' AND shipped_at IS NULL THEN $5 ELSE shipped_at END
         WHERE tenant_id = $1 AND id = $2 AND status = $3 RETURNING {COLUMNS}"
    );
    let moved = sqlx::query_as::<_, Order>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
    match moved {
        Some(order) => {
            // Cancelled and refunded orders count for nothing.
            crate::analytics::touch(conn, tenant.as_str(), &[Some(&order.order_date)]).await?;
            Ok(order)
        }
        None => {
            get(conn, tenant, id).await?;
            Err(crate::StoreError::Conflict {
                field: "status".into(),
            })
        }
    }
}

/// Counts `units` more of a line as taken from stock, if that many remain; `None` when
/// they don't (nothing changed).
pub async fn fulfil_line(
    conn: &mut Conn,
    item_id: &str,
    units: i64,
) -> StoreResult<Option<OrderItem>> {
    let sql = format!(
        "UPDATE order_items SET quantity_fulfilled = quantity_fulfilled + $2,
            fulfillment_status = CASE WHEN quantity_fulfilled + $2 >= quantity THEN 'fulfilled' ELSE 'partial' END
         WHERE id = $1 AND fulfillment_status IN ('pending', 'partial')
           AND quantity_fulfilled + $2 <= quantity
         RETURNING {ITEM_COLUMNS}"
    );
    Ok(sqlx::query_as::<_, OrderItem>(sqlx::AssertSqlSafe(sql))
        .bind(item_id)
        .bind(units)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Calls off the order's lines that are not fully fulfilled.
pub async fn cancel_open_lines(conn: &mut Conn, order_id: &str) -> StoreResult<u64> {
    Ok(sqlx::query(
        "UPDATE order_items SET fulfillment_status = 'cancelled'
         WHERE order_id = $1 AND fulfillment_status IN ('pending', 'partial')",
    )
    .bind(order_id)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Matches a line to a SKU (and its good) by hand.
pub async fn match_line(
    conn: &mut Conn,
    item_id: &str,
    sku_id: &str,
    code: &str,
    good_id: Option<&str>,
) -> StoreResult<OrderItem> {
    let sql = format!(
        "UPDATE order_items SET product_sku_id = $2, sku = $3, finished_good_id = $4
         WHERE id = $1 RETURNING {ITEM_COLUMNS}"
    );
    Ok(sqlx::query_as::<_, OrderItem>(sqlx::AssertSqlSafe(sql))
        .bind(item_id)
        .bind(sku_id)
        .bind(code)
        .bind(good_id)
        .fetch_one(&mut *conn)
        .await?)
}

/// Removes an order and its lines.
pub async fn delete(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<()> {
    let day = crate::analytics::day_of_order(conn, tenant.as_str(), id).await?;
    let done = sqlx::query("DELETE FROM orders WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(crate::StoreError::NotFound);
    }
    crate::analytics::touch(conn, tenant.as_str(), &[day.as_deref()]).await
}

/// An open line of a SKU with what its own live prints will bring, for sharing stock out.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenLine {
    pub item_id: String,
    pub order_id: String,
    pub quantity: i64,
    pub quantity_fulfilled: i64,
    /// Units its queued and running jobs will bring.
    pub incoming: i64,
}

/// The farm's open lines of SKU `sku_id` on open orders, oldest order first, each with
/// the units its own live jobs will bring.
pub async fn open_lines_of_sku(
    conn: &mut Conn,
    tenant: &TenantId,
    sku_id: &str,
) -> StoreResult<Vec<OpenLine>> {
    Ok(sqlx::query_as::<_, OpenLine>(
        // Driven by the SKU's open lines (their index), each order checked by its key: a
        // join let SQLite start from the farm's open orders, all of them, at every order
        // taken. A line is written with its order's time and ordered id, so the lines'
        // order is the orders' order.
        "SELECT i.id AS item_id, i.order_id, i.quantity, i.quantity_fulfilled,
            CAST(COALESCE((SELECT SUM(j.quantity_per_print) FROM print_jobs j
                WHERE j.order_item_id = i.id AND j.status IN
                    ('queued', 'processing', 'uploaded', 'printing', 'paused')), 0) AS BIGINT) AS incoming
         FROM order_items i
         WHERE i.product_sku_id = $2 AND i.fulfillment_status IN ('pending', 'partial')
           AND EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id AND o.tenant_id = $1
                       AND o.status IN ('pending', 'processing', 'printed', 'assembled'))
         ORDER BY i.created_at, i.order_id, i.id",
    )
    .bind(tenant.as_str())
    .bind(sku_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// The farm's orders in figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrderFigures {
    pub total_orders: i64,
    pub pending: i64,
    pub processing: i64,
    pub printed: i64,
    pub assembled: i64,
    pub shipped: i64,
    pub fulfilled: i64,
    pub cancelled: i64,
    pub refunded: i64,
    /// Cents, of orders not cancelled or refunded.
    pub total_revenue: i64,
    /// Cents, of the orders dated since `since`.
    pub revenue_since: i64,
    pub orders_since: i64,
    /// Units on open lines still to send.
    pub units_to_fulfil: i64,
}

/// The farm's orders in figures; "since" counts orders dated on or after `since`.
pub async fn figures(conn: &mut Conn, tenant: &TenantId, since: &str) -> StoreResult<OrderFigures> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT status, CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(total_revenue), 0) AS BIGINT)
         FROM orders WHERE tenant_id = $1 GROUP BY status",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let mut f = OrderFigures::default();
    for (status, count, revenue) in rows {
        f.total_orders += count;
        let slot = match status.as_str() {
            "pending" => &mut f.pending,
            "processing" => &mut f.processing,
            "printed" => &mut f.printed,
            "assembled" => &mut f.assembled,
            "shipped" => &mut f.shipped,
            "fulfilled" => &mut f.fulfilled,
            "cancelled" => &mut f.cancelled,
            _ => &mut f.refunded,
        };
        *slot += count;
        if !matches!(status.as_str(), "cancelled" | "refunded") {
            f.total_revenue += revenue;
        }
    }
    let (orders_since, revenue_since): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(total_revenue), 0) AS BIGINT)
         FROM orders WHERE tenant_id = $1 AND order_date >= $2 AND status NOT IN ('cancelled', 'refunded')",
    )
    .bind(tenant.as_str())
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    f.orders_since = orders_since;
    f.revenue_since = revenue_since;
    let (units,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(i.quantity - i.quantity_fulfilled), 0) AS BIGINT)
         FROM order_items i JOIN orders o ON o.id = i.order_id
         WHERE o.tenant_id = $1 AND i.fulfillment_status IN ('pending', 'partial')
           AND o.status IN ('pending', 'processing', 'printed', 'assembled')",
    )
    .bind(tenant.as_str())
    .fetch_one(&mut *conn)
    .await?;
    f.units_to_fulfil = units;
    Ok(f)
}
