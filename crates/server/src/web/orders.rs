//! The orders pages: the list (filters by status, platform and words; a new order appears
//! without a reload, `live.js` fetching the list fragment again on `new_order`), one order
//! (its lines with how stock and the prints queued for it cover them, those jobs, and
//! buttons to fulfil it, a line, or cancel it, which call the JSON API), and the Shopify
//! page (connect, settings, status, the last runs and the webhooks' health).

use super::{FarmPage, PageError, Section, html};
use crate::app::App;
use crate::error::ApiError;
use crate::farm::orders::{CoveredItem, OrderView};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use domain::Role;
use domain::orders::{LineStatus, OrderStatus};
use serde::Deserialize;
use store::orders::OrderQuery;

/// Orders per list page.
const ORDERS_PAGE: i64 = 50;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/orders", get(list_page))
        .route("/orders/list", get(list_fragment))
        .route("/orders/{order_id}", get(order_page))
        .route("/orders/{order_id}/detail", get(order_fragment))
        .route("/shopify", get(shopify_page))
        .route("/shopify/status", get(shopify_fragment))
}

/// Cents as money: `1250` → `12.50`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// An order's status in words.
pub fn status_words(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "Pending",
        OrderStatus::Processing => "Being printed",
        OrderStatus::Printed => "Printed",
        OrderStatus::Assembled => "Assembled",
        OrderStatus::Shipped => "Shipped",
        OrderStatus::Fulfilled => "Fulfilled",
        OrderStatus::Cancelled => "Cancelled",
        OrderStatus::Refunded => "Refunded",
    }
}

/// One order as its list row shows it.
pub struct OrderRow {
    /// Its id.
    pub id: String,
    /// `ORD-00042`.
    pub number: String,
    /// The customer.
    pub customer: String,
    /// Where it came from.
    pub platform: String,
    /// Its status (`data-state`).
    pub status: String,
    /// Its status in words.
    pub status_words: &'static str,
    /// The day it was placed (`YYYY-MM-DD`).
    pub date: String,
    /// Units on its lines.
    pub units: i64,
    /// Its total.
    pub total: String,
}

/// The list with its paging and filters.
pub struct OrderList {
    /// The rows.
    pub rows: Vec<OrderRow>,
    /// Orders that match.
    pub total: i64,
    /// This page.
    pub page: i64,
    /// Pages in all.
    pub pages: i64,
    /// The filters as a query (`&status=pending…`), to keep on other pages.
    pub filter: String,
}

/// The list page.
#[derive(Template)]
#[template(path = "orders.html", whitespace = "minimize")]
struct OrdersPage {
    layout: super::Layout,
    list: OrderList,
    status: String,
    platform: String,
    search: String,
    statuses: Vec<(&'static str, &'static str)>,
}

/// The list alone, for the script to swap in.
#[derive(Template)]
#[template(path = "orders_list.html", whitespace = "minimize")]
struct OrdersFragment {
    list: OrderList,
}

/// `?page=&status=&platform=&search=` of the list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    page: Option<String>,
    status: Option<String>,
    platform: Option<String>,
    search: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> String {
        let mut filter = String::new();
        for (name, value) in [
            ("status", &self.status),
            ("platform", &self.platform),
            ("search", &self.search),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                filter.push_str(&format!("&{name}={}", url_escape(v.trim())));
            }
        }
        filter
    }
}

/// `text` for a URL's query.
fn url_escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A page of the farm's orders by `q` (an unknown status or platform shows none).
async fn load_list(app: &App, member: &FarmPage, q: &ListQuery) -> Result<OrderList, PageError> {
    let page = super::forms::page_number(q.page.as_deref());
    let query = OrderQuery {
        status: q.status.as_deref().and_then(|s| s.parse().ok()),
        platform: q.platform.as_deref().and_then(|p| p.parse().ok()),
        search: q.search.clone().filter(|s| !s.trim().is_empty()),
        sort_by: "created_at",
        ..OrderQuery::default()
    };
    let paging = crate::envelope::Paging {
        page,
        limit: ORDERS_PAGE,
    };
    let (orders, total) = crate::orders::page(app, &member.tenant, &query, paging).await?;
    let rows = orders.iter().map(row_of).collect();
    Ok(OrderList {
        rows,
        total,
        page,
        pages: ((total + ORDERS_PAGE - 1) / ORDERS_PAGE).max(1),
        filter: q.filter(),
    })
}

/// A list row of a listed order.
fn row_of(listed: &crate::orders::ListedOrder) -> OrderRow {
    let order = &listed.order;
    OrderRow {
        id: order.id.clone(),
        number: order.order_number.clone(),
        customer: order.customer_name.clone(),
        platform: order.platform.to_string(),
        status: order.status.to_string(),
        status_words: status_words(order.status),
        date: order.order_date.chars().take(10).collect(),
        units: listed.total_items,
        total: money(order.total_revenue),
    }
}

/// GET /orders — the farm's orders, newest first, 50 a page.
pub async fn list_page(
    State(app): State<App>,
    member: FarmPage,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let list = load_list(&app, &member, &q).await?;
    let statuses = OrderStatus::ALL
        .iter()
        .map(|s| (s.as_str(), status_words(*s)))
        .collect();
    Ok(html(
        StatusCode::OK,
        &OrdersPage {
            layout: member.layout(Section::Orders, "Orders"),
            list,
            status: q.status.clone().unwrap_or_default(),
            platform: q.platform.clone().unwrap_or_default(),
            search: q.search.clone().unwrap_or_default(),
            statuses,
        },
    ))
}

/// GET /orders/list — a page of the list alone.
pub async fn list_fragment(
    State(app): State<App>,
    member: FarmPage,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let list = load_list(&app, &member, &q).await?;
    Ok(html(StatusCode::OK, &OrdersFragment { list }))
}

/// One line as the order page shows it.
pub struct LineView {
    /// Its id.
    pub id: String,
    /// Its SKU code.
    pub sku: String,
    /// What was bought.
    pub name: String,
    /// Whether it matched a SKU of the farm.
    pub matched: bool,
    /// Units bought.
    pub quantity: i64,
    /// Units sent.
    pub fulfilled: i64,
    /// Units still to send.
    pub remaining: i64,
    /// Of those, units the stock holds for it.
    pub from_stock: i64,
    /// Units its prints will bring.
    pub incoming: i64,
    /// Units neither covers (a SKU without a print file).
    pub short: i64,
    /// Whether stock fills it now.
    pub ready: bool,
    /// Its state in words.
    pub state: &'static str,
    /// The unit price.
    pub price: String,
}

impl LineView {
    fn new(line: &CoveredItem) -> LineView {
        let item = &line.item;
        let state = match item.fulfillment_status {
            LineStatus::Fulfilled => "Sent",
            LineStatus::Cancelled => "Cancelled",
            _ if line.ready => "Ready to send",
            _ if !line.matched => "No SKU matched",
            _ if line.cover.incoming > 0 => "Being printed",
            _ => "Waiting for stock",
        };
        LineView {
            id: item.id.clone(),
            sku: item.sku.clone(),
            name: item.product_name.clone(),
            matched: line.matched,
            quantity: item.quantity,
            fulfilled: item.quantity_fulfilled,
            remaining: line.remaining,
            from_stock: line.cover.from_stock,
            incoming: line.cover.incoming,
            short: line.cover.short,
            ready: line.ready,
            state,
            price: money(item.unit_price),
        }
    }
}

/// A job printing for the order.
pub struct OrderJob {
    /// Its id.
    pub id: String,
    /// Its state in words.
    pub state: &'static str,
    /// Its status (`data-state`).
    pub status: String,
    /// The printer it is on.
    pub printer: Option<String>,
    /// Its progress.
    pub progress: i64,
    /// Units it makes.
    pub units: i64,
    /// The SKU it makes.
    pub sku: Option<String>,
}

/// An order's detail: the part the script refreshes.
pub struct OrderDetail {
    /// Its id.
    pub id: String,
    /// `ORD-00042`.
    pub number: String,
    /// Its status (`data-state`).
    pub status: String,
    /// In words.
    pub status_words: &'static str,
    /// Its lines.
    pub lines: Vec<LineView>,
    /// Its jobs, oldest first.
    pub jobs: Vec<OrderJob>,
    /// Whether every open line is ready (the fulfil button shows).
    pub can_fulfil: bool,
    /// Whether it can still be cancelled.
    pub can_cancel: bool,
    /// Whether the member may act on it.
    pub operator: bool,
    /// Whether it fulfils itself.
    pub auto_fulfill: bool,
}

/// The order page.
#[derive(Template)]
#[template(path = "order.html", whitespace = "minimize")]
struct OrderPage {
    layout: super::Layout,
    detail: OrderDetail,
    customer: String,
    email: Option<String>,
    address: Vec<String>,
    platform: String,
    date: String,
    total: String,
    shipping: String,
    tracking: Option<String>,
    notes: Option<String>,
}

/// The detail alone.
#[derive(Template)]
#[template(path = "order_detail.html", whitespace = "minimize")]
struct OrderFragment {
    detail: OrderDetail,
}

/// The order and its detail; 404 when the farm has no such order.
async fn load_order(
    app: &App,
    member: &FarmPage,
    id: &str,
) -> Result<(OrderView, OrderDetail), PageError> {
    let view = match app.farm.order_view(&member.tenant, id).await {
        Ok(view) => view,
        Err(crate::farm::FarmError::NotFound { .. }) => {
            return Err(PageError::NotFound("The order".into()));
        }
        Err(other) => return Err(PageError::Api(ApiError::from(other))),
    };
    let mut conn = app.store.conn().await?;
    let jobs = store::jobs::of_order(&mut conn, &member.tenant, id).await?;
    drop(conn);
    let order = &view.order;
    let open: Vec<&CoveredItem> = view.items.iter().filter(|i| i.remaining > 0).collect();
    let detail = OrderDetail {
        id: order.id.clone(),
        number: order.order_number.clone(),
        status: order.status.to_string(),
        status_words: status_words(order.status),
        lines: view.items.iter().map(LineView::new).collect(),
        jobs: jobs
            .iter()
            .map(|j| OrderJob {
                id: j.id.clone(),
                state: super::jobs::state_words(j.status, j.printer_id.is_some()),
                status: j.status.to_string(),
                printer: j.printer_name.clone(),
                progress: j.progress_percentage,
                units: j.quantity_per_print,
                sku: j.sku_name.clone(),
            })
            .collect(),
        can_fulfil: !order.status.is_closed()
            && !open.is_empty()
            && open.iter().all(|i| i.matched && i.ready),
        can_cancel: order.status.may_become(OrderStatus::Cancelled)
            && order.status != OrderStatus::Cancelled,
        operator: member.role.at_least(Role::Operator),
        auto_fulfill: order.auto_fulfill == 1,
    };
    Ok((view, detail))
}

/// GET /orders/{order_id} — one order: customer, lines and their cover, its jobs.
pub async fn order_page(
    State(app): State<App>,
    member: FarmPage,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (view, detail) = load_order(&app, &member, &id).await?;
    let o = &view.order;
    let address = [
        o.shipping_street.clone(),
        [o.shipping_zip.clone(), o.shipping_city.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
            .into(),
        o.shipping_state.clone(),
        o.shipping_country.clone(),
    ]
    .into_iter()
    .flatten()
    .filter(|l| !l.trim().is_empty())
    .collect();
    let title = format!("Order {}", o.order_number);
    Ok(html(
        StatusCode::OK,
        &OrderPage {
            layout: member.layout(Section::Orders, &title),
            customer: o.customer_name.clone(),
            email: o.customer_email.clone(),
            address,
            platform: o.platform.to_string(),
            date: o.order_date.chars().take(10).collect(),
            total: money(o.total_revenue),
            shipping: money(o.shipping_cost),
            tracking: o.tracking_number.clone(),
            notes: o.notes.clone(),
            detail,
        },
    ))
}

/// GET /orders/{order_id}/detail — the lines and jobs alone.
pub async fn order_fragment(
    State(app): State<App>,
    member: FarmPage,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (_, detail) = load_order(&app, &member, &id).await?;
    Ok(html(StatusCode::OK, &OrderFragment { detail }))
}

/// One run of the log as the Shopify page shows it.
pub struct RunView {
    /// When.
    pub at: String,
    /// What (`INSERT`, `SYNC` …).
    pub operation: String,
    /// How it went.
    pub status: String,
    /// What it says.
    pub message: String,
}

/// The Shopify status: the part the script refreshes.
pub struct ShopStatus {
    /// Whether a shop is connected.
    pub connected: bool,
    /// Its domain.
    pub shop_domain: Option<String>,
    /// The last sync that worked.
    pub last_sync_at: Option<String>,
    /// The last error.
    pub last_error: Option<String>,
    /// Webhooks received in 24 hours.
    pub received: i64,
    /// The newest webhook's time.
    pub last_received: Option<String>,
    /// Shopify work waiting.
    pub queued: i64,
    /// The last runs.
    pub runs: Vec<RunView>,
    /// Whether webhook intake is on.
    pub webhook_enabled: bool,
    /// The addresses Shopify delivers to.
    pub webhook_urls: Vec<(String, String)>,
}

/// The Shopify page.
#[derive(Template)]
#[template(path = "shopify.html", whitespace = "minimize")]
struct ShopifyPage {
    layout: super::Layout,
    status: ShopStatus,
    admin: bool,
    operator: bool,
    settings: crate::shopify::ShopSettings,
    sync_enabled: bool,
    api_version: &'static str,
}

/// The status alone.
#[derive(Template)]
#[template(path = "shopify_status.html", whitespace = "minimize")]
struct ShopifyFragment {
    status: ShopStatus,
}

/// The farm's Shopify status, with its settings and switch.
async fn load_shop(
    app: &App,
    member: &FarmPage,
) -> Result<(ShopStatus, crate::shopify::ShopSettings, bool), PageError> {
    let tenant = &member.tenant;
    let mut conn = app.store.conn().await?;
    let shop = crate::shopify::connection(app, &mut conn, tenant).await?;
    let runs = store::integrations::recent_logs(&mut conn, tenant, 20).await?;
    let day_ago = domain::time::format(chrono::Utc::now() - chrono::Duration::hours(24));
    let (received, last_received) = store::integrations::deliveries_since(
        &mut conn,
        tenant,
        crate::shopify::PLATFORM,
        &day_ago,
    )
    .await?;
    drop(conn);
    let queued = app
        .queue
        .due_or_running(crate::shopify::SHOPIFY_SYNC)
        .await?;
    let (settings, sync_enabled) = shop
        .as_ref()
        .map(|s| (s.settings.clone(), s.integration.sync_enabled == 1))
        .unwrap_or_default();
    let status = ShopStatus {
        connected: shop.is_some(),
        shop_domain: shop.as_ref().map(|s| s.credentials.shop_domain.clone()),
        last_sync_at: shop
            .as_ref()
            .and_then(|s| s.integration.last_sync_at.clone()),
        last_error: shop.as_ref().and_then(|s| s.integration.last_error.clone()),
        received,
        last_received,
        queued,
        runs: runs
            .into_iter()
            .map(|r| RunView {
                at: r.created_at,
                operation: r.operation_type.unwrap_or_default(),
                status: r.status.unwrap_or_default(),
                message: r.error_message.unwrap_or_default(),
            })
            .collect(),
        webhook_enabled: shop
            .as_ref()
            .is_some_and(|s| s.integration.webhook_enabled == 1),
        webhook_urls: crate::shopify::integrations::webhook_urls(app, tenant)
            .into_iter()
            .map(|(t, url)| (t.as_str().to_string(), url))
            .collect(),
    };
    Ok((status, settings, sync_enabled))
}

/// GET /shopify — connect the farm's shop, its settings, status and last runs.
pub async fn shopify_page(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let (status, settings, sync_enabled) = load_shop(&app, &member).await?;
    Ok(html(
        StatusCode::OK,
        &ShopifyPage {
            layout: member.layout(Section::Orders, "Shopify"),
            status,
            admin: member.role.at_least(Role::Admin),
            operator: member.role.at_least(Role::Operator),
            settings,
            sync_enabled,
            api_version: shopify::API_VERSION,
        },
    ))
}

/// GET /shopify/status — the status alone.
pub async fn shopify_fragment(
    State(app): State<App>,
    member: FarmPage,
) -> Result<Response, PageError> {
    let (status, _, _) = load_shop(&app, &member).await?;
    Ok(html(StatusCode::OK, &ShopifyFragment { status }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_read_as_money() {
        assert_eq!(money(1250), "12.50");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(0), "0.00");
        assert_eq!(money(-199), "-1.99");
    }
}
