//! The catalogue pages: products with their SKUs (code, colour, stock), picture and
//! components; a product's page, where admins add SKUs and components; the farm's colours
//! and build plates.
//!
//! The forms are plain forms to these pages (they work without the script): each handler
//! parses the form into the API's own body, then calls the rule the API handler calls
//! (`products::add_product`, `skus::add_sku`, `colours::add_colour` …), so the checks,
//! the audit row and the words of a refusal are the API's. A refusal draws the page again
//! with the problems in the form; success redirects (303) to the page that shows the result.

use super::accounts::{Field, FormErrors};
use super::forms::{at_least, field, given, hinted, mark, optional, page_number, whole};
use super::{FarmPage, PageError, Section, html, see_other};
use crate::app::App;
use crate::audit::Actor;
use crate::error::ApiError;
use crate::extract::ClientInfo;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use domain::{Invalid, Role, TenantId};
use serde::Deserialize;
use serde_json::Value;
use store::StoreError;
use store::products::{Component, Product, ProductQuery};
use store::skus::{Sku, SkuQuery};

/// Products per catalogue page.
const PRODUCTS_PAGE: i64 = 25;
/// The most SKUs a product shows (its page and the API list the rest).
const MOST_SKUS: i64 = 200;
/// The most colours the colours page lists.
const MOST_COLOURS: i64 = 1000;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/catalogue", get(page))
        .route("/catalogue/products", post(create_product))
        .route("/catalogue/products/{product_id}", get(product_page))
        .route("/catalogue/products/{product_id}/skus", post(add_sku))
        .route(
            "/catalogue/products/{product_id}/components",
            post(add_component),
        )
        .route("/catalogue/colours", get(colours_page).post(create_colour))
        .route("/catalogue/plates", get(plates_page).post(create_plate))
        .route("/catalogue/plates/seed", post(seed_plates))
}

/// The actor of a page's form: the member, from where the request came.
pub fn actor(member: &FarmPage, client: ClientInfo) -> Actor {
    Actor {
        tenant: member.tenant.clone(),
        user: member.user.user_id(),
        client,
    }
}

/// A SKU as a catalogue row shows it.
pub struct SkuView {
    /// Its id.
    pub id: String,
    /// Its code.
    pub code: String,
    /// Its colour's name.
    pub colour: String,
    /// Its colour as `#RRGGBB`, for the swatch.
    pub hex: Option<String>,
    /// Its filament.
    pub filament: String,
    /// Units ready.
    pub stock: i64,
    /// Whether that is at or below its threshold.
    pub low: bool,
    /// Units one print makes.
    pub per_print: i64,
}

impl SkuView {
    fn new(sku: &Sku) -> SkuView {
        SkuView {
            id: sku.id.clone(),
            code: sku.sku.clone(),
            colour: sku.color.clone(),
            hex: sku.hex_code.clone(),
            filament: sku.filament_type.clone().unwrap_or_default(),
            stock: sku.stock_level,
            low: sku.stock_level <= sku.low_stock_threshold,
            per_print: sku.quantity,
        }
    }
}

/// A product as the catalogue shows it.
pub struct ProductView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its category.
    pub category: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// Its picture's URL (the API's image route, with the farm), if it has one.
    pub image: Option<String>,
    /// Whether it is assembled from components.
    pub assembled: bool,
    /// Whether it is offered.
    pub active: bool,
    /// Its SKUs.
    pub skus: Vec<SkuView>,
    /// How many SKUs it has in all.
    pub sku_count: i64,
    /// Its components.
    pub components: Vec<Component>,
}

impl ProductView {
    fn new(
        product: &Product,
        tenant: &TenantId,
        skus: &[Sku],
        components: Vec<Component>,
    ) -> ProductView {
        ProductView {
            id: product.id.clone(),
            name: product.name.clone(),
            category: product.category.clone(),
            description: product.description.clone(),
            // The API's image route takes the farm from the query, so an <img> can show it.
            image: product
                .image_url
                .as_ref()
                .map(|_| format!("/api/v1/products/{}/image?tenant={tenant}", product.id)),
            assembled: product.requires_assembly == 1,
            active: product.is_active == 1,
            skus: skus.iter().map(SkuView::new).collect(),
            sku_count: product.sku_count,
            components,
        }
    }
}

/// A product with its SKUs and components (a product's page).
async fn product_view(
    conn: &mut store::Conn,
    tenant: &TenantId,
    product: &Product,
) -> Result<ProductView, PageError> {
    let query = SkuQuery {
        product_id: Some(product.id.clone()),
        ..Default::default()
    };
    let (skus, _) = store::skus::list(conn, tenant, &query, MOST_SKUS, 0).await?;
    let components = store::products::components(conn, tenant, Some(&product.id)).await?;
    Ok(ProductView::new(product, tenant, &skus, components))
}

/// The catalogue page.
#[derive(Template)]
#[template(path = "catalogue.html", whitespace = "minimize")]
struct CataloguePage {
    layout: super::Layout,
    admin: bool,
    products: Vec<ProductView>,
    total: i64,
    page: i64,
    pages: i64,
    fields: Vec<Field>,
    errors: FormErrors,
}

/// `?page=` of a paged list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    page: Option<String>,
}

/// The new-product form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProductForm {
    name: String,
    category: String,
    description: String,
    requires_assembly: Option<String>,
}

fn product_fields(form: &ProductForm) -> Vec<Field> {
    vec![
        field("name", "Name", "text", &form.name),
        optional(hinted(
            field("category", "Category", "text", &form.category),
            "Like “Keychains”: the catalogue groups nothing by it yet, the API filters by it.",
        )),
        optional(field(
            "description",
            "Description",
            "text",
            &form.description,
        )),
    ]
}

/// Draws the catalogue's `page` with the new-product form as `form` left it.
async fn catalogue(
    app: &App,
    member: &FarmPage,
    page: i64,
    form: &ProductForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let query = ProductQuery {
        sort_by: "name",
        ascending: true,
        ..Default::default()
    };
    let mut conn = app.store.conn().await?;
    let (products, total) = store::products::list(
        &mut conn,
        &member.tenant,
        &query,
        PRODUCTS_PAGE,
        (page - 1) * PRODUCTS_PAGE,
    )
    .await?;
    // Two queries for the page's SKUs and components, not two per product.
    let ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
    let skus = store::skus::of_products(&mut conn, &member.tenant, &ids).await?;
    let mut components = store::products::components_of(&mut conn, &member.tenant, &ids).await?;
    drop(conn);
    let views = products
        .iter()
        .map(|product| {
            let own: Vec<Sku> = skus
                .iter()
                .filter(|s| s.product_id == product.id)
                .take(MOST_SKUS as usize)
                .cloned()
                .collect();
            let (mine, rest) = components
                .drain(..)
                .partition(|c: &Component| c.product_id == product.id);
            components = rest;
            ProductView::new(product, &member.tenant, &own, mine)
        })
        .collect();
    let mut fields = product_fields(form);
    mark(&mut fields, &errors);
    Ok(html(
        status,
        &CataloguePage {
            layout: member.layout(Section::Catalogue, "Catalogue"),
            admin: member.role.at_least(Role::Admin),
            products: views,
            total,
            page,
            pages: ((total + PRODUCTS_PAGE - 1) / PRODUCTS_PAGE).max(1),
            fields,
            errors,
        },
    ))
}

/// GET /catalogue — the farm's products by name, 25 a page, with their SKUs; admins get
/// the form that adds one.
pub async fn page(
    State(app): State<App>,
    member: FarmPage,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let page = page_number(q.page.as_deref());
    catalogue(
        &app,
        &member,
        page,
        &ProductForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// POST /catalogue/products — an admin adds a product (the API's rule); on to its page.
pub async fn create_product(
    State(app): State<App>,
    member: FarmPage,
    client: ClientInfo,
    Form(form): Form<ProductForm>,
) -> Result<Response, PageError> {
    at_least(member.role, Role::Admin, "add products")?;
    let body = crate::products::ProductBody {
        name: Some(form.name.clone()),
        category: Some(given(&form.category)),
        description: Some(given(&form.description)),
        requires_assembly: Some(Value::Bool(form.requires_assembly.is_some())),
        ..Default::default()
    };
    let added = match body.parse(None) {
        Ok(fields) => crate::products::add_product(&app, &actor(&member, client), fields).await,
        Err(invalid) => Err(invalid.into()),
    };
    match added {
        Ok(product) => Ok(see_other(&format!("/catalogue/products/{}", product.id))),
        Err(err) => {
            let errors = FormErrors::from_api(&err, &product_fields(&form));
            catalogue(&app, &member, 1, &form, errors, err.status()).await
        }
    }
}

/// One product's page.
#[derive(Template)]
#[template(path = "catalogue_product.html", whitespace = "minimize")]
struct ProductPage {
    layout: super::Layout,
    admin: bool,
    product: ProductView,
    sku_fields: Vec<Field>,
    component_fields: Vec<Field>,
    errors: FormErrors,
}

/// The add-SKU form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SkuForm {
    sku: String,
    color: String,
    hex_code: String,
    filament_type: String,
    quantity: String,
    price: String,
    low_stock_threshold: String,
    stock_level: String,
}

fn sku_fields(form: &SkuForm) -> Vec<Field> {
    vec![
        hinted(
            field("sku", "SKU code", "text", &form.sku),
            "Unique in the farm: orders and Shopify lines are matched by it.",
        ),
        field("color", "Colour", "text", &form.color),
        optional(hinted(
            field("hex_code", "Colour code", "text", &form.hex_code),
            "Like #FF0000.",
        )),
        optional(field(
            "filament_type",
            "Filament",
            "text",
            &form.filament_type,
        )),
        optional(field(
            "quantity",
            "Units per print",
            "number",
            &form.quantity,
        )),
        optional(hinted(
            field("price", "Price in cents", "number", &form.price),
            "500 is 5.00.",
        )),
        optional(field(
            "low_stock_threshold",
            "Low at or below (units)",
            "number",
            &form.low_stock_threshold,
        )),
        optional(field(
            "stock_level",
            "Units in stock now",
            "number",
            &form.stock_level,
        )),
    ]
}

/// The add-component form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ComponentForm {
    component_name: String,
    component_type: String,
    quantity_required: String,
}

fn component_fields(form: &ComponentForm) -> Vec<Field> {
    vec![
        field("component_name", "Component", "text", &form.component_name),
        optional(hinted(
            field("component_type", "Kind", "text", &form.component_type),
            "Like “hardware”.",
        )),
        optional(field(
            "quantity_required",
            "How many per product",
            "number",
            &form.quantity_required,
        )),
    ]
}

/// Draws a product's page with its forms as they were left.
async fn product(
    app: &App,
    member: &FarmPage,
    id: &str,
    sku_form: &SkuForm,
    component_form: &ComponentForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let mut conn = app.store.conn().await?;
    let product = match store::products::get(&mut conn, &member.tenant, id).await {
        Ok(product) => product,
        Err(StoreError::NotFound) => return Err(PageError::NotFound("The product".into())),
        Err(other) => return Err(other.into()),
    };
    let view = product_view(&mut conn, &member.tenant, &product).await?;
    drop(conn);
    let mut sku_fields = sku_fields(sku_form);
    mark(&mut sku_fields, &errors);
    let mut component_fields = component_fields(component_form);
    mark(&mut component_fields, &errors);
    let layout = member.layout(Section::Catalogue, &view.name);
    Ok(html(
        status,
        &ProductPage {
            layout,
            admin: member.role.at_least(Role::Admin),
            product: view,
            sku_fields,
            component_fields,
            errors,
        },
    ))
}

/// GET /catalogue/products/{product_id} — a product with its SKUs and components; admins
/// get the forms that add them.
pub async fn product_page(
    State(app): State<App>,
    member: FarmPage,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    product(
        &app,
        &member,
        &id,
        &SkuForm::default(),
        &ComponentForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

impl SkuForm {
    /// The API's SKU body from what was typed (numbers that aren't are field errors).
    fn body(&self) -> Result<crate::skus::SkuBody, Invalid> {
        let mut invalid = Invalid::default();
        let quantity = whole(&mut invalid, "quantity", &self.quantity);
        let price = whole(&mut invalid, "price", &self.price);
        let low_stock_threshold = whole(
            &mut invalid,
            "low_stock_threshold",
            &self.low_stock_threshold,
        );
        let stock_level = whole(&mut invalid, "stock_level", &self.stock_level);
        invalid.into_result()?;
        Ok(crate::skus::SkuBody {
            sku: Some(self.sku.clone()),
            color: Some(self.color.clone()),
            hex_code: Some(given(&self.hex_code)),
            filament_type: Some(given(&self.filament_type)),
            quantity,
            price: Some(price),
            low_stock_threshold,
            stock_level,
            ..Default::default()
        })
    }
}

/// POST /catalogue/products/{product_id}/skus — an admin adds a SKU (the API's rule: a code
/// taken in the farm is refused on its field, and nothing changes).
pub async fn add_sku(
    State(app): State<App>,
    member: FarmPage,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<SkuForm>,
) -> Result<Response, PageError> {
    at_least(member.role, Role::Admin, "add SKUs")?;
    let added = async {
        let body = form.body()?;
        let fields = body.parse(None)?;
        let starting = body.stock_level.unwrap_or(0);
        crate::skus::add_sku(&app, &actor(&member, client), &id, fields, starting).await
    }
    .await;
    match added {
        Ok(sku) => Ok(see_other(&format!(
            "/catalogue/products/{id}#sku-{}",
            sku.id
        ))),
        Err(ApiError::NotFound { .. }) => Err(PageError::NotFound("The product".into())),
        Err(err) => {
            let errors = FormErrors::from_api(&err, &sku_fields(&form));
            let status = err.status();
            product(
                &app,
                &member,
                &id,
                &form,
                &ComponentForm::default(),
                errors,
                status,
            )
            .await
        }
    }
}

/// POST /catalogue/products/{product_id}/components — an admin adds a component.
pub async fn add_component(
    State(app): State<App>,
    member: FarmPage,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<ComponentForm>,
) -> Result<Response, PageError> {
    at_least(member.role, Role::Admin, "add components")?;
    let added = async {
        let mut invalid = Invalid::default();
        let quantity_required = whole(&mut invalid, "quantity_required", &form.quantity_required);
        invalid.into_result()?;
        let body = crate::products::ComponentBody {
            component_name: Some(form.component_name.clone()),
            component_type: given(&form.component_type),
            quantity_required,
            notes: None,
        };
        let fields = body.parse()?;
        crate::products::add_component_to(&app, &actor(&member, client), &id, fields).await
    }
    .await;
    match added {
        Ok(_) => Ok(see_other(&format!("/catalogue/products/{id}#components"))),
        Err(ApiError::NotFound { .. }) => Err(PageError::NotFound("The product".into())),
        Err(err) => {
            let errors = FormErrors::from_api(&err, &component_fields(&form));
            let status = err.status();
            product(
                &app,
                &member,
                &id,
                &SkuForm::default(),
                &form,
                errors,
                status,
            )
            .await
        }
    }
}

/// The colours page.
#[derive(Template)]
#[template(path = "catalogue_colours.html", whitespace = "minimize")]
struct ColoursPage {
    layout: super::Layout,
    operator: bool,
    colours: Vec<store::colours::Colour>,
    total: i64,
    fields: Vec<Field>,
    errors: FormErrors,
}

/// The new-colour form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ColourForm {
    color_name: String,
    hex_code: String,
    filament_type: String,
}

fn colour_fields(form: &ColourForm) -> Vec<Field> {
    vec![
        field("color_name", "Colour name", "text", &form.color_name),
        hinted(
            field("hex_code", "Colour code", "text", &form.hex_code),
            "Like #1B4C0E.",
        ),
        hinted(
            field("filament_type", "Filament", "text", &form.filament_type),
            "PLA, PETG, ABS …: a name is unique per filament.",
        ),
    ]
}

async fn colours(
    app: &App,
    member: &FarmPage,
    form: &ColourForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (colours, total) = {
        let mut conn = app.store.conn().await?;
        let query = store::colours::ColourQuery::default();
        store::colours::list(&mut conn, &member.tenant, &query, MOST_COLOURS, 0).await?
    };
    let mut fields = colour_fields(form);
    mark(&mut fields, &errors);
    Ok(html(
        status,
        &ColoursPage {
            layout: member.layout(Section::Catalogue, "Colours"),
            operator: member.role.at_least(Role::Operator),
            colours,
            total,
            fields,
            errors,
        },
    ))
}

/// GET /catalogue/colours — the farm's colours by filament; operators get the form that adds one.
pub async fn colours_page(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    colours(
        &app,
        &member,
        &ColourForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// POST /catalogue/colours — an operator adds a colour (the API's rule).
pub async fn create_colour(
    State(app): State<App>,
    member: FarmPage,
    client: ClientInfo,
    Form(form): Form<ColourForm>,
) -> Result<Response, PageError> {
    at_least(member.role, Role::Operator, "add colours")?;
    let body = crate::colours::ColourBody {
        color_name: Some(form.color_name.clone()),
        hex_code: Some(form.hex_code.clone()),
        filament_type: Some(form.filament_type.clone()),
        is_active: None,
    };
    let added = match body.parse_new("") {
        Ok(preset) => crate::colours::add_colour(&app, &actor(&member, client), &preset).await,
        Err(invalid) => Err(invalid.into()),
    };
    match added {
        Ok(colour) => Ok(see_other(&format!(
            "/catalogue/colours#colour-{}",
            colour.id
        ))),
        Err(err) => {
            let errors = FormErrors::from_api(&err, &colour_fields(&form));
            colours(&app, &member, &form, errors, err.status()).await
        }
    }
}

/// The build plates page.
#[derive(Template)]
#[template(path = "catalogue_plates.html", whitespace = "minimize")]
struct PlatesPage {
    layout: super::Layout,
    operator: bool,
    plates: Vec<store::plates::Plate>,
    fields: Vec<Field>,
    errors: FormErrors,
    /// What seeding did, in words.
    seeded: Option<String>,
}

/// The new-plate form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PlateForm {
    name: String,
    description: String,
}

fn plate_fields(form: &PlateForm) -> Vec<Field> {
    vec![
        field("name", "Name", "text", &form.name),
        optional(field(
            "description",
            "What it is for",
            "text",
            &form.description,
        )),
    ]
}

/// `?seeded=` after seeding: how many plates were added.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SeededQuery {
    seeded: Option<u32>,
}

async fn plates(
    app: &App,
    member: &FarmPage,
    form: &PlateForm,
    errors: FormErrors,
    seeded: Option<u32>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let plates = {
        let mut conn = app.store.conn().await?;
        store::plates::list(&mut conn, &member.tenant, None).await?
    };
    let mut fields = plate_fields(form);
    mark(&mut fields, &errors);
    Ok(html(
        status,
        &PlatesPage {
            layout: member.layout(Section::Catalogue, "Build plates"),
            operator: member.role.at_least(Role::Operator),
            plates,
            fields,
            errors,
            seeded: seeded.map(|n| match n {
                0 => "The farm has every usual Bambu plate already: nothing added.".into(),
                1 => "1 usual Bambu plate added.".into(),
                n => format!("{n} usual Bambu plates added."),
            }),
        },
    ))
}

/// GET /catalogue/plates — the farm's build plates; operators add one or the usual ones.
pub async fn plates_page(
    State(app): State<App>,
    member: FarmPage,
    Query(q): Query<SeededQuery>,
) -> Result<Response, PageError> {
    plates(
        &app,
        &member,
        &PlateForm::default(),
        FormErrors::default(),
        q.seeded,
        StatusCode::OK,
    )
    .await
}

/// POST /catalogue/plates — an operator adds a plate (the API's rule).
pub async fn create_plate(
    State(app): State<App>,
    member: FarmPage,
    client: ClientInfo,
    Form(form): Form<PlateForm>,
) -> Result<Response, PageError> {
    at_least(member.role, Role::Operator, "add build plates")?;
    let body = crate::plates::PlateBody {
        name: Some(form.name.clone()),
        description: Some(form.description.clone()),
        is_active: None,
    };
    let added = match body.parse(None) {
        Ok(fields) => crate::plates::add_plate(&app, &actor(&member, client), &fields).await,
        Err(invalid) => Err(invalid.into()),
    };
    match added {
        Ok(plate) => Ok(see_other(&format!("/catalogue/plates#plate-{}", plate.id))),
        Err(err) => {
            let errors = FormErrors::from_api(&err, &plate_fields(&form));
            plates(&app, &member, &form, errors, None, err.status()).await
        }
    }
}

/// POST /catalogue/plates/seed — an operator adds the usual Bambu plates the farm lacks.
pub async fn seed_plates(
    State(app): State<App>,
    member: FarmPage,
    client: ClientInfo,
) -> Result<Response, PageError> {
    at_least(member.role, Role::Operator, "add build plates")?;
    let (added, _) = crate::plates::seed_plates(&app, &actor(&member, client)).await?;
    Ok(see_other(&format!(
        "/catalogue/plates?seeded={}",
        added.len()
    )))
}
