//! Products, `/api/v1/products`: what the farm sells (its SKUs say in which colours, at
//! what price, with what stock), with the components it is assembled from. A name is
//! unique in the farm. A product whose SKUs hold stock, or with jobs not yet ended, is not
//! deleted: the answer says what uses it (mark it inactive to retire it).

use crate::app::App;
use crate::audit::{Actor, Change};
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::{ApiError, Resource};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo, OptionalJson, body_flag, query_flag};
use axum::extract::State;
use domain::catalogue::{parse_description, parse_name};
use domain::{FieldError, Invalid, TenantId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::StoreError;
use store::products::{Component, ComponentFields, Product, ProductFields, ProductQuery, SORTABLE};

/// The most printer models a product may prefer.
const MAX_PRIORITY: usize = 20;

/// A product as sent: `printer_priority` as the list it is.
fn view(product: &Product) -> Value {
    let mut value = json!(product);
    value["printer_priority"] = product
        .printer_priority
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Array(Vec::new()));
    value
}

/// A product as a client sends it (a change names only what changes; `null` clears an
/// optional field).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProductBody {
    pub(crate) name: Option<String>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) description: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) category: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) print_file_id: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) file_name: Option<Option<String>>,
    pub(crate) requires_assembly: Option<Value>,
    pub(crate) requires_post_processing: Option<Value>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) printer_priority: Option<Option<Vec<String>>>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) image_url: Option<Option<String>>,
    pub(crate) is_active: Option<Value>,
    #[serde(deserialize_with = "crate::extract::given")]
    pub(crate) wiki_id: Option<Option<String>>,
}

/// An optional text: given (`Some`), cleared (`Some(None)` or empty), or left (`None`).
fn optional_text(
    invalid: &mut Invalid,
    field: &str,
    given: &Option<Option<String>>,
    stored: Option<&str>,
    max: usize,
) -> Option<String> {
    match given {
        None => stored.map(str::to_string),
        Some(None) => None,
        Some(Some(text)) => {
            let text = text.trim();
            if text.chars().count() > max {
                invalid.0.push(FieldError {
                    field: field.into(),
                    message: format!("{field} must be at most {max} characters"),
                });
            }
            (!text.is_empty()).then(|| text.to_string())
        }
    }
}

impl ProductBody {
    /// The product's values: this body over `stored` (or over nothing, for a new product).
    pub(crate) fn parse(&self, stored: Option<&Product>) -> Result<ProductFields, Invalid> {
        let mut invalid = Invalid::default();
        let name = match (&self.name, stored) {
            (Some(name), _) => invalid.take(parse_name("name", name)),
            (None, Some(p)) => Some(p.name.clone()),
            (None, None) => {
                invalid.0.push(FieldError {
                    field: "name".into(),
                    message: "name is required".into(),
                });
                None
            }
        };
        let description = match &self.description {
            None => stored.and_then(|p| p.description.clone()),
            Some(None) => None,
            Some(Some(text)) => invalid
                .take(parse_description("description", text))
                .flatten(),
        };
        let category = match &self.category {
            None => stored.and_then(|p| p.category.clone()),
            Some(None) => None,
            Some(Some(text)) if text.trim().is_empty() => None,
            Some(Some(text)) => invalid.take(parse_name("category", text)),
        };
        let text = |invalid: &mut Invalid, field, given, old: Option<&Option<String>>, max| {
            optional_text(invalid, field, given, old.and_then(|o| o.as_deref()), max)
        };
        let print_file_id = text(
            &mut invalid,
            "print_file_id",
            &self.print_file_id,
            stored.map(|p| &p.print_file_id),
            64,
        );
        let file_name = text(
            &mut invalid,
            "file_name",
            &self.file_name,
            stored.map(|p| &p.file_name),
            255,
        );
        let image_url = text(
            &mut invalid,
            "image_url",
            &self.image_url,
            stored.map(|p| &p.image_url),
            2_000,
        );
        let wiki_id = text(
            &mut invalid,
            "wiki_id",
            &self.wiki_id,
            stored.map(|p| &p.wiki_id),
            64,
        );
        let printer_priority = match &self.printer_priority {
            None => stored.and_then(|p| p.printer_priority.clone()),
            Some(None) => None,
            Some(Some(models)) => {
                let models: Vec<String> = models
                    .iter()
                    .map(|m| m.trim().to_string())
                    .filter(|m| !m.is_empty())
                    .collect();
                if models.len() > MAX_PRIORITY || models.iter().any(|m| m.len() > 40) {
                    invalid.0.push(FieldError {
                        field: "printer_priority".into(),
                        message: format!(
                            "printer_priority lists at most {MAX_PRIORITY} printer models"
                        ),
                    });
                }
                (!models.is_empty()).then(|| json!(models).to_string())
            }
        };
        let was = |f: fn(&Product) -> i64, default: bool| stored.map_or(default, |p| f(p) == 1);
        let requires_assembly = body_flag(
            &mut invalid,
            "requires_assembly",
            self.requires_assembly.as_ref(),
        )
        .unwrap_or(was(|p| p.requires_assembly, false));
        let requires_post_processing = body_flag(
            &mut invalid,
            "requires_post_processing",
            self.requires_post_processing.as_ref(),
        )
        .unwrap_or(was(|p| p.requires_post_processing, false));
        let is_active = body_flag(&mut invalid, "is_active", self.is_active.as_ref())
            .unwrap_or(was(|p| p.is_active, true));
        invalid.into_result()?;
        Ok(ProductFields {
            name: name.unwrap_or_default(),
            description,
            category,
            print_file_id,
            file_name,
            requires_assembly,
            requires_post_processing,
            printer_priority,
            image_url,
            is_active,
            wiki_id,
        })
    }
}

/// A print file a product names must be one of the farm's.
async fn check_file(
    app: &App,
    tenant: &TenantId,
    fields: &mut ProductFields,
) -> Result<(), ApiError> {
    let Some(file) = fields.print_file_id.as_deref() else {
        return Ok(());
    };
    let mut conn = app.store.conn().await?;
    match store::files::get(&mut conn, tenant, file).await {
        Ok(found) => {
            if fields.file_name.is_none() {
                fields.file_name = Some(found.name);
            }
            Ok(())
        }
        Err(StoreError::NotFound) => Err(ApiError::field(
            "print_file_id",
            "no print file of this farm has that id",
        )),
        Err(other) => Err(other.into()),
    }
}

/// How the store's errors about a product read.
const PRODUCT: Resource = Resource {
    not_found: "PRODUCT_NOT_FOUND",
    what: "product",
    taken: "PRODUCT_NAME_TAKEN",
    field: "name",
    taken_message: "this farm already has a product of that name",
};

async fn find(app: &App, tenant: &TenantId, id: &str) -> Result<Product, ApiError> {
    let mut conn = app.store.conn().await?;
    store::products::get(&mut conn, tenant, id)
        .await
        .map_err(|e| PRODUCT.error(e))
}

fn audited(product: &Product) -> Value {
    json!({ "name": product.name, "category": product.category, "print_file_id": product.print_file_id,
            "requires_assembly": product.requires_assembly, "is_active": product.is_active })
}

/// Query of the product list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    page: Option<i64>,
    limit: Option<i64>,
    category: Option<String>,
    is_active: Option<String>,
    search: Option<String>,
    #[serde(rename = "sortBy", alias = "sort_by")]
    sort_by: Option<String>,
    #[serde(rename = "sortOrder", alias = "sort_order")]
    sort_order: Option<String>,
}

/// GET /api/v1/products — a page of the farm's products (filters: category, is_active,
/// search; sortBy, sortOrder), each with its `sku_count`.
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<Value>> {
    let mut invalid = Invalid::default();
    let is_active = invalid
        .take(query_flag("is_active", q.is_active.as_deref()))
        .flatten();
    let sort_by = match q.sort_by.as_deref() {
        None | Some("") => "name",
        Some(s) => SORTABLE
            .iter()
            .copied()
            .find(|c| *c == s)
            .unwrap_or_else(|| {
                invalid.0.push(FieldError {
                    field: "sortBy".into(),
                    message: format!("sortBy must be one of {}", SORTABLE.join(", ")),
                });
                "name"
            }),
    };
    let ascending = match q
        .sort_order
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") | Some("asc") => true,
        Some("desc") => false,
        Some(_) => {
            invalid.0.push(FieldError {
                field: "sortOrder".into(),
                message: "sortOrder must be asc or desc".into(),
            });
            true
        }
    };
    invalid.into_result()?;
    let paging = Paging {
        page: q.page.unwrap_or(1).max(1),
        limit: q.limit.unwrap_or(100),
    };
    let query = ProductQuery {
        category: q.category.filter(|c| !c.trim().is_empty()),
        is_active,
        search: q.search.filter(|s| !s.trim().is_empty()),
        sort_by,
        ascending,
    };
    let mut conn = app.store.conn().await?;
    let (products, total) = store::products::list(
        &mut conn,
        &member.tenant,
        &query,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Envelope::list(
        products.iter().map(view).collect(),
        paging.meta(total),
    ))
}

/// GET /api/v1/products/categories — the categories the farm's products use.
pub async fn categories(
    State(app): State<App>,
    member: Member<roles::Viewer>,
) -> ApiResult<Vec<String>> {
    let mut conn = app.store.conn().await?;
    Ok(Envelope::all(
        store::products::categories(&mut conn, &member.tenant).await?,
    ))
}

/// GET /api/v1/products/components/all — every component of the farm's products.
pub async fn all_components(
    State(app): State<App>,
    member: Member<roles::Viewer>,
) -> ApiResult<Vec<Component>> {
    let mut conn = app.store.conn().await?;
    Ok(Envelope::all(
        store::products::components(&mut conn, &member.tenant, None).await?,
    ))
}

/// GET /api/v1/products/{product_id} — one product with its components.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let product = find(&app, &member.tenant, &id).await?;
    let mut conn = app.store.conn().await?;
    let components =
        store::products::components(&mut conn, &member.tenant, Some(&product.id)).await?;
    let mut value = view(&product);
    value["components"] = json!(components);
    Ok(Envelope::ok(value))
}

/// POST /api/v1/products — adds a product (admins).
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiJson(body): ApiJson<ProductBody>,
) -> ApiResult<Value> {
    let fields = body.parse(None)?;
    let product = add_product(&app, &Actor::member(&member, client), fields).await?;
    Ok(Envelope::created(view(&product)))
}

/// Adds a product to the actor's farm: the one way in for the API and the dashboard (its
/// print file must be the farm's; a name is unique; audited).
pub async fn add_product(
    app: &App,
    actor: &Actor,
    mut fields: ProductFields,
) -> Result<Product, ApiError> {
    check_file(app, &actor.tenant, &mut fields).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let product = store::products::create(&mut tx, &actor.tenant, &fields, &now)
        .await
        .map_err(|e| PRODUCT.error(e))?;
    let change = Change {
        action: "product.created",
        table: "products",
        record: &product.id,
        new: Some(audited(&product)),
        ..Change::default()
    };
    actor.record(&mut tx, change, &now).await?;
    tx.commit().await?;
    Ok(product)
}

/// PUT /api/v1/products/{product_id} — changes a product (admins; fields left out stay).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ProductBody>,
) -> ApiResult<Value> {
    let stored = find(&app, &member.tenant, &id).await?;
    let mut fields = body.parse(Some(&stored))?;
    if fields.print_file_id != stored.print_file_id {
        check_file(&app, &member.tenant, &mut fields).await?;
    }
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let product = store::products::update(&mut tx, &member.tenant, &stored.id, &fields, &now)
        .await
        .map_err(|e| PRODUCT.error(e))?;
    let change = Change {
        action: "product.updated",
        table: "products",
        record: &product.id,
        old: Some(audited(&stored)),
        new: Some(audited(&product)),
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(view(&product)))
}

/// DELETE /api/v1/products/{product_id} — removes a product with its SKUs and components
/// (admins), unless stock or open jobs use it: then 409 `PRODUCT_IN_USE` says which.
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let stored = find(&app, &member.tenant, &id).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    // Checked in the deleting transaction: stock arriving meanwhile is not deleted with it.
    let uses = store::products::uses(&mut tx, &member.tenant, &stored.id).await?;
    if !uses.is_free() {
        return Err(ApiError::Blocked {
            code: "PRODUCT_IN_USE",
            message: format!(
                "the product is in use: {} SKU(s) hold stock, {} job(s) have not ended; mark it inactive instead",
                uses.skus_with_stock.len(),
                uses.open_jobs.len()
            ),
            details: json!(uses),
        });
    }
    store::products::delete(&mut tx, &member.tenant, &stored.id)
        .await
        .map_err(|e| PRODUCT.error(e))?;
    let change = Change {
        action: "product.deleted",
        table: "products",
        record: &stored.id,
        old: Some(audited(&stored)),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    // Its picture goes too (there may be none).
    if let Err(err) = app
        .files
        .delete(&image_key(&member.tenant, &stored.id))
        .await
    {
        tracing::debug!(product_id = %stored.id, error = %err, "no product picture removed");
    }
    Ok(Envelope::ok(json!({ "id": stored.id, "deleted": true })))
}

/// GET /api/v1/products/{product_id}/components — the product's components.
pub async fn components(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Vec<Component>> {
    let product = find(&app, &member.tenant, &id).await?;
    let mut conn = app.store.conn().await?;
    Ok(Envelope::all(
        store::products::components(&mut conn, &member.tenant, Some(&product.id)).await?,
    ))
}

/// A component as a client sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ComponentBody {
    pub(crate) component_name: Option<String>,
    pub(crate) component_type: Option<String>,
    pub(crate) quantity_required: Option<i64>,
    pub(crate) notes: Option<String>,
}

impl ComponentBody {
    /// The component's values, or the fields that are wrong.
    pub(crate) fn parse(&self) -> Result<ComponentFields, Invalid> {
        let mut invalid = Invalid::default();
        let name = match &self.component_name {
            Some(name) => invalid.take(parse_name("component_name", name)),
            None => {
                invalid.0.push(FieldError {
                    field: "component_name".into(),
                    message: "component_name is required".into(),
                });
                None
            }
        };
        let component_type = match self.component_type.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(kind) => invalid.take(parse_name("component_type", kind)),
        };
        let quantity_required = self.quantity_required.unwrap_or(1);
        if !(1..=10_000).contains(&quantity_required) {
            invalid.0.push(FieldError {
                field: "quantity_required".into(),
                message: "quantity_required must be from 1 to 10000".into(),
            });
        }
        let notes = self
            .notes
            .as_deref()
            .and_then(|n| invalid.take(parse_description("notes", n)))
            .flatten();
        invalid.into_result()?;
        Ok(ComponentFields {
            component_name: name.unwrap_or_default(),
            component_type,
            quantity_required,
            notes,
        })
    }
}

/// POST /api/v1/products/{product_id}/components — adds a component (admins).
pub async fn add_component(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ComponentBody>,
) -> ApiResult<Component> {
    let fields = body.parse()?;
    let component = add_component_to(&app, &Actor::member(&member, client), &id, fields).await?;
    Ok(Envelope::created(component))
}

/// Adds a component to the farm's product `product_id`: the one way in for the API and
/// the dashboard (audited).
pub async fn add_component_to(
    app: &App,
    actor: &Actor,
    product_id: &str,
    fields: ComponentFields,
) -> Result<Component, ApiError> {
    let product = find(app, &actor.tenant, product_id).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let component =
        store::products::add_component(&mut tx, &actor.tenant, &product.id, &fields, &now)
            .await
            .map_err(|e| PRODUCT.error(e))?;
    let change = Change {
        action: "product.component_added",
        table: "product_components",
        record: &component.id,
        new: Some(
            json!({ "product_id": product.id, "component_name": component.component_name, "quantity_required": component.quantity_required }),
        ),
        ..Change::default()
    };
    actor.record(&mut tx, change, &now).await?;
    tx.commit().await?;
    Ok(component)
}

/// Which component `DELETE …/components` removes (none named: all of them).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WhichComponent {
    component_id: Option<String>,
    #[serde(rename = "componentId")]
    component_id_camel: Option<String>,
}

impl WhichComponent {
    fn id(&self) -> Option<&str> {
        self.component_id
            .as_deref()
            .or(self.component_id_camel.as_deref())
            .filter(|id| !id.is_empty())
    }
}

/// DELETE /api/v1/products/{product_id}/components — removes one component
/// (`component_id`, in the query or the body) or, none named, all of them (admins).
pub async fn remove_components(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<WhichComponent>,
    OptionalJson(body): OptionalJson<WhichComponent>,
) -> ApiResult<Value> {
    let product = find(&app, &member.tenant, &id).await?;
    let component = query.id().or(body.id()).map(str::to_string);
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let removed = store::products::remove_components(
        &mut tx,
        &member.tenant,
        &product.id,
        component.as_deref(),
    )
    .await?;
    if component.is_some() && removed == 0 {
        return Err(ApiError::not_found("COMPONENT_NOT_FOUND", "component"));
    }
    let change = Change {
        action: "product.components_removed",
        table: "product_components",
        record: component.as_deref().unwrap_or(&product.id),
        old: Some(json!({ "product_id": product.id, "removed": removed })),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(json!({ "removed": removed })))
}

/// Where a product's picture is kept in the file store (its kind is read from its bytes
/// when served, so the key needs no extension and a new picture replaces the old one).
fn image_key(tenant: &TenantId, product: &str) -> String {
    format!("{tenant}/images/products/{product}")
}

/// POST /api/v1/products/{product_id}/image — stores the product's picture (multipart
/// `file`: PNG, JPEG, GIF or WebP, at most 10 MiB) and points `image_url` at it (admins).
pub async fn upload_image(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    req: axum::extract::Request,
) -> ApiResult<Value> {
    let product = find(&app, &member.tenant, &id).await?;
    let key = image_key(&member.tenant, &product.id);
    let (_, size) = crate::files::store_image(&app, req, |_| key.clone()).await?;
    let url = format!("/api/v1/products/{}/image", product.id);
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let updated = store::products::set_image_url(&mut tx, &member.tenant, &product.id, &url, &now)
        .await
        .map_err(|e| PRODUCT.error(e))?;
    let change = Change {
        action: "product.image_set",
        table: "products",
        record: &product.id,
        old: Some(json!({ "image_url": product.image_url })),
        new: Some(json!({ "image_url": url, "size": size })),
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::created(view(&updated)))
}

/// GET /api/v1/products/{product_id}/image — the product's picture.
pub async fn image(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::response::Response, ApiError> {
    let product = find(&app, &member.tenant, &id).await?;
    crate::files::serve_image(&app, &image_key(&member.tenant, &product.id)).await
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::{PAGING, Param, SORT_ORDER};
    use axum::http::Method as M;
    use domain::Role;
    crate::api::Routes::new()
        .add(M::GET, "/api/v1/products", Member(Role::Viewer), "The farm's products (filters: category, is_active, search; sortBy, sortOrder, page, limit)", list)
        .query(PAGING)
        .query(&[("category", Param::Text), ("is_active", Param::Flag), ("search", Param::Text), ("sortBy", Param::OneOf(SORTABLE)), SORT_ORDER])
        .add(M::POST, "/api/v1/products", Member(Role::Admin), "Add a product (a name is unique in the farm)", create)
        .example(json!({"name": "Keychain", "category": "Accessories", "requires_assembly": false, "printer_priority": ["P1S", "X1C"]}))
        .add(M::GET, "/api/v1/products/categories", Member(Role::Viewer), "The categories the farm's products use", categories)
        .add(M::GET, "/api/v1/products/components/all", Member(Role::Viewer), "Every component of the farm's products", all_components)
        .add(M::GET, "/api/v1/products/{product_id}", Member(Role::Viewer), "One product with its components", get_one)
        .add(M::PUT, "/api/v1/products/{product_id}", Member(Role::Admin), "Change a product", update)
        .example(json!({"description": "A keychain in the farm's colours"}))
        .add(M::DELETE, "/api/v1/products/{product_id}", Member(Role::Admin), "Remove a product with its SKUs (not while stock or open jobs use it)", delete)
        .add(M::GET, "/api/v1/products/{product_id}/components", Member(Role::Viewer), "The product's components", components)
        .add(M::POST, "/api/v1/products/{product_id}/components", Member(Role::Admin), "Add a component", add_component)
        .example(json!({"component_name": "Key ring", "component_type": "hardware", "quantity_required": 1}))
        .add_streaming(M::POST, "/api/v1/products/{product_id}/image", Member(Role::Admin), "Store the product's picture (multipart 'file')", crate::api::Upload::Multipart(&[]), upload_image)
        .add(M::GET, "/api/v1/products/{product_id}/image", Member(Role::Viewer), "The product's picture", image)
        .add(M::DELETE, "/api/v1/products/{product_id}/components", Member(Role::Admin), "Remove one component (component_id) or all of them", remove_components)
        .query(&[("component_id", Param::Text)])
}
