//! The stock page: finished goods per SKU (ready, waiting for assembly, assembled, the
//! threshold), 100 SKUs a page, read a page at a time in SQL
//! (`store::finished_goods::stock_page`), so a farm of thousands of SKUs draws one page.
//!
//! Low rows are marked when drawn, and marked live: `live.js` marks the row of an
//! `inventory_alert` from the dashboard socket without a reload. Operators adjust a SKU's
//! stock by a signed amount with a reason, and set its threshold, with plain forms to this
//! page that call the API's own rules (`skus::adjust_stock`, `inventory::change_threshold`);
//! a refusal draws the page again with the problem at the row's field.

use super::accounts::FormErrors;
use super::catalogue::actor;
use super::forms::{at_least, page_number, whole};
use super::{FarmPage, PageError, Section, html, see_other};
use crate::app::App;
use crate::error::ApiError;
use crate::extract::ClientInfo;
use crate::inventory::Stocked;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use domain::{Invalid, Role};
use serde::Deserialize;
use store::finished_goods::StockRow;

/// SKUs per stock page.
pub const STOCK_PAGE: i64 = 100;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/stock", get(page))
        .route("/stock/{sku_id}/adjust", post(adjust))
        .route("/stock/{sku_id}/threshold", post(threshold))
}

/// A SKU's stock as its row shows it.
pub struct RowView {
    /// The SKU's id (`data-sku-id`, which the live alert finds).
    pub sku_id: String,
    /// Its code.
    pub sku: String,
    /// Its product's name.
    pub product: String,
    /// Its colour's name.
    pub colour: String,
    /// Its colour as `#RRGGBB`.
    pub hex: Option<String>,
    /// Units ready.
    pub ready: i64,
    /// Units printed, waiting for assembly.
    pub needs_assembly: i64,
    /// Units assembled.
    pub assembled: i64,
    /// Units available to sell: ready ones.
    pub available: i64,
    /// The threshold.
    pub threshold: i64,
    /// Whether it is at or below its threshold (`data-low`).
    pub low: bool,
    /// Its state in words ("Low", "Out of stock" …).
    pub state: &'static str,
    /// What was typed into its adjust form, shown again after a refusal.
    pub typed: Typed,
}

/// A row's forms as they were left after a refusal.
#[derive(Default)]
pub struct Typed {
    /// The amount typed.
    pub adjustment: String,
    /// The reason typed.
    pub reason: String,
    /// What is wrong with the amount.
    pub adjustment_error: Option<String>,
    /// What is wrong with the reason.
    pub reason_error: Option<String>,
    /// What is wrong with the threshold.
    pub threshold_error: Option<String>,
}

impl RowView {
    fn new(row: &StockRow) -> RowView {
        let stock = row.stock();
        let state = match stock.status() {
            domain::stock::StockStatus::NeedsAssembly => "Needs assembly",
            domain::stock::StockStatus::OutOfStock => "Out of stock",
            domain::stock::StockStatus::LowStock => "Low",
            _ => "In stock",
        };
        RowView {
            sku_id: row.sku_id.clone(),
            sku: row.sku.clone(),
            product: row.product_name.clone(),
            colour: row.color.clone(),
            hex: row.hex_code.clone(),
            ready: row.ready,
            needs_assembly: row.needs_assembly,
            assembled: row.assembled,
            available: row.ready.max(0),
            threshold: row.threshold,
            low: stock.is_low(),
            state,
            typed: Typed::default(),
        }
    }
}

/// The stock page.
#[derive(Template)]
#[template(path = "stock.html", whitespace = "minimize")]
struct StockPage {
    layout: super::Layout,
    operator: bool,
    rows: Vec<RowView>,
    total: i64,
    page: i64,
    pages: i64,
    low_only: bool,
    errors: FormErrors,
}

impl StockPage {
    /// The query that keeps the filter on another page.
    fn filter(&self) -> &'static str {
        if self.low_only { "&low=1" } else { "" }
    }
}

/// `?page=&low=1` of the stock page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StockQuery {
    page: Option<String>,
    low: Option<String>,
}

impl StockQuery {
    fn low_only(&self) -> bool {
        self.low.as_deref() == Some("1")
    }
}

/// A page of the farm's stock as rows.
pub async fn load(
    app: &App,
    member: &FarmPage,
    page: i64,
    low_only: bool,
) -> Result<(Vec<RowView>, i64), PageError> {
    let mut conn = app.store.conn().await?;
    let (rows, total) = store::finished_goods::stock_page(
        &mut conn,
        &member.tenant,
        low_only,
        STOCK_PAGE,
        (page - 1) * STOCK_PAGE,
    )
    .await?;
    Ok((rows.iter().map(RowView::new).collect(), total))
}

/// Draws the stock page; `refused` is a row's forms as a refusal left them.
async fn draw(
    app: &App,
    member: &FarmPage,
    page: i64,
    low_only: bool,
    refused: Option<(&str, Typed)>,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (mut rows, total) = load(app, member, page, low_only).await?;
    if let Some((sku, typed)) = refused
        && let Some(row) = rows.iter_mut().find(|r| r.sku_id == sku)
    {
        row.typed = typed;
    }
    Ok(html(
        status,
        &StockPage {
            layout: member.layout(Section::Stock, "Stock"),
            operator: member.role.at_least(Role::Operator),
            rows,
            total,
            page,
            pages: ((total + STOCK_PAGE - 1) / STOCK_PAGE).max(1),
            low_only,
            errors,
        },
    ))
}

/// GET /stock — the farm's stock per SKU, 100 a page (`?low=1`: low ones only).
pub async fn page(
    State(app): State<App>,
    member: FarmPage,
    Query(q): Query<StockQuery>,
) -> Result<Response, PageError> {
    let page = page_number(q.page.as_deref());
    draw(
        &app,
        &member,
        page,
        q.low_only(),
        None,
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// The adjust form as posted (with the page it was on, to return to).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AdjustForm {
    adjustment: String,
    reason: String,
    page: String,
    low: String,
}

/// Where a row's form returns to.
fn back(page: i64, low: &str, sku: &str) -> String {
    let filter = if low == "1" { "&low=1" } else { "" };
    format!("/stock?page={page}{filter}#sku-{sku}")
}

/// POST /stock/{sku_id}/adjust — an operator moves a SKU's stock by a signed amount with
/// a reason (the API's rule: never below zero, audited, one alert per fall).
pub async fn adjust(
    State(app): State<App>,
    member: FarmPage,
    client: ClientInfo,
    Path(sku): Path<String>,
    Form(form): Form<AdjustForm>,
) -> Result<Response, PageError> {
    at_least(member.role, Role::Operator, "adjust stock")?;
    let page = page_number(Some(&form.page));
    let adjusted = async {
        let mut invalid = Invalid::default();
        let amount = whole(&mut invalid, "adjustment", &form.adjustment);
        invalid.into_result()?;
        let (change, reason) = crate::inventory::parse_adjustment(amount, Some(&form.reason))?;
        crate::skus::adjust_stock(&app, &actor(&member, client), &sku, change, &reason).await
    }
    .await;
    match adjusted {
        Ok(_) => Ok(see_other(&back(page, &form.low, &sku))),
        Err(ApiError::NotFound { .. }) => Err(PageError::NotFound("The SKU".into())),
        Err(err) => {
            let errors = FormErrors::from_api(&err, &[]);
            let typed = Typed {
                adjustment: form.adjustment.clone(),
                reason: form.reason.clone(),
                adjustment_error: field_error(&err, "adjustment"),
                reason_error: field_error(&err, "reason"),
                threshold_error: None,
            };
            let status = err.status();
            draw(
                &app,
                &member,
                page,
                form.low == "1",
                Some((&sku, typed)),
                errors,
                status,
            )
            .await
        }
    }
}

/// The threshold form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ThresholdForm {
    threshold: String,
    page: String,
    low: String,
}

/// POST /stock/{sku_id}/threshold — an operator sets the units at or below which a SKU's
/// stock is low (the API's rule; a SKU without a finished good yet gets one).
pub async fn threshold(
    State(app): State<App>,
    member: FarmPage,
    client: ClientInfo,
    Path(sku): Path<String>,
    Form(form): Form<ThresholdForm>,
) -> Result<Response, PageError> {
    at_least(member.role, Role::Operator, "set stock thresholds")?;
    let page = page_number(Some(&form.page));
    let set = async {
        let mut invalid = Invalid::default();
        let typed = whole(&mut invalid, "threshold", &form.threshold);
        invalid.into_result()?;
        let threshold = crate::inventory::parse_threshold(typed)?;
        crate::inventory::change_threshold(
            &app,
            &actor(&member, client),
            Stocked::Sku(&sku),
            threshold,
        )
        .await
    }
    .await;
    match set {
        Ok(_) => Ok(see_other(&back(page, &form.low, &sku))),
        Err(ApiError::NotFound { .. }) => Err(PageError::NotFound("The SKU".into())),
        Err(err) => {
            let errors = FormErrors::from_api(&err, &[]);
            let typed = Typed {
                threshold_error: field_error(&err, "threshold"),
                ..Typed::default()
            };
            let status = err.status();
            draw(
                &app,
                &member,
                page,
                form.low == "1",
                Some((&sku, typed)),
                errors,
                status,
            )
            .await
        }
    }
}

/// The words of `err` about `field`, as a sentence: a field error, or a refusal that names
/// the field (too little stock names `adjustment`).
fn field_error(err: &ApiError, field: &str) -> Option<String> {
    let named = match err {
        ApiError::Validation(invalid) => invalid
            .0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone()),
        ApiError::Blocked {
            message, details, ..
        } if details["field"] == field => Some(message.clone()),
        _ => None,
    }?;
    let mut chars = named.chars();
    let mut words: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return None,
    };
    if !words.ends_with('.') {
        words.push('.');
    }
    Some(words)
}
