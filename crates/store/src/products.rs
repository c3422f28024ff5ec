//! Products (`products`) and their assembly components (`product_components`): what the
//! farm sells, before its SKUs (colours, stock, prices) say how.

use crate::{Conn, StoreError, StoreResult};
use domain::TenantId;
use serde::Serialize;

/// A stored product; `printer_priority` is JSON text (a list of printer model codes).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Product {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: Option<String>,
    pub category: Option<String>,
    pub print_file_id: Option<String>,
    pub file_name: Option<String>,
    pub requires_assembly: i64,
    pub requires_post_processing: i64,
    pub printer_priority: Option<String>,
    pub image_url: Option<String>,
    pub is_active: i64,
    pub wiki_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// How many SKUs it has.
    pub sku_count: i64,
}

/// A product's values as a client sets them (the caller merged a change into the stored ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFields {
    pub name: String,
    pub description: Option<String>,
    pub category: Option<String>,
    pub print_file_id: Option<String>,
    pub file_name: Option<String>,
    pub requires_assembly: bool,
    pub requires_post_processing: bool,
    /// JSON text of the model codes, in order of preference.
    pub printer_priority: Option<String>,
    pub image_url: Option<String>,
    pub is_active: bool,
    pub wiki_id: Option<String>,
}

const COLUMNS: &str = "p.id, p.tenant_id, p.name, p.description, p.category, p.print_file_id, p.file_name,
    p.requires_assembly, p.requires_post_processing, p.printer_priority, p.image_url, p.is_active,
    p.wiki_id, p.created_at, p.updated_at,
    (SELECT CAST(COUNT(*) AS BIGINT) FROM product_skus s WHERE s.product_id = p.id AND s.tenant_id = p.tenant_id) AS sku_count";

/// Columns a product list may be sorted by.
pub const SORTABLE: &[&str] = &["name", "category", "created_at", "updated_at"];

/// Filters and order of the product list.
#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    pub category: Option<String>,
    pub is_active: Option<i64>,
    /// Part of the name, any case.
    pub search: Option<String>,
    /// A column of [`SORTABLE`].
    pub sort_by: &'static str,
    pub ascending: bool,
}

const FILTER: &str = "p.tenant_id = $1
    AND ($2 IS NULL OR p.category = $2)
    AND ($3 IS NULL OR p.is_active = $3)
    AND ($4 IS NULL OR LOWER(p.name) LIKE $4)";

fn name_taken(err: sqlx::Error) -> StoreError {
    match StoreError::from(err) {
        StoreError::Conflict { .. } => StoreError::Conflict {
            field: "name".into(),
        },
        other => other,
    }
}

/// A page of the farm's products and how many match in all.
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    query: &ProductQuery,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Product>, i64)> {
    let sort_by = SORTABLE
        .iter()
        .find(|c| **c == query.sort_by)
        .copied()
        .unwrap_or("name");
    let direction = if query.ascending { "ASC" } else { "DESC" };
    let search = query
        .search
        .as_ref()
        .map(|s| format!("%{}%", s.to_lowercase()));
    // Only a whitelisted column and a fixed word are spliced in; values are bound.
    let sql = format!(
        "SELECT {COLUMNS} FROM products p WHERE {FILTER}
         ORDER BY p.{sort_by} {direction}, p.id LIMIT $5 OFFSET $6"
    );
    let rows = sqlx::query_as::<_, Product>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(query.category.as_deref())
        .bind(query.is_active)
        .bind(search.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let count = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM products p WHERE {FILTER}");
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count))
        .bind(tenant.as_str())
        .bind(query.category.as_deref())
        .bind(query.is_active)
        .bind(search.as_deref())
        .fetch_one(&mut *conn)
        .await?;
    Ok((rows, total))
}

/// One product of the farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Product> {
    let sql = format!("SELECT {COLUMNS} FROM products p WHERE p.tenant_id = $1 AND p.id = $2");
    Ok(sqlx::query_as::<_, Product>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?)
}

/// Adds a product; `Conflict { field: "name" }` when the farm has one of that name.
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    fields: &ProductFields,
    now: &str,
) -> StoreResult<Product> {
    let id = crate::new_id();
    sqlx::query(
        "INSERT INTO products (id, tenant_id, name, description, category, print_file_id, file_name,
            requires_assembly, requires_post_processing, printer_priority, image_url, is_active, wiki_id,
            created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
    )
    .bind(&id)
    .bind(tenant.as_str())
    .bind(&fields.name)
    .bind(fields.description.as_deref())
    .bind(fields.category.as_deref())
    .bind(fields.print_file_id.as_deref())
    .bind(fields.file_name.as_deref())
    .bind(i64::from(fields.requires_assembly))
    .bind(i64::from(fields.requires_post_processing))
    .bind(fields.printer_priority.as_deref())
    .bind(fields.image_url.as_deref())
    .bind(i64::from(fields.is_active))
    .bind(fields.wiki_id.as_deref())
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(name_taken)?;
    get(conn, tenant, &id).await
}

/// Replaces a product's values.
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    fields: &ProductFields,
    now: &str,
) -> StoreResult<Product> {
    let done = sqlx::query(
        "UPDATE products SET name = $3, description = $4, category = $5, print_file_id = $6, file_name = $7,
            requires_assembly = $8, requires_post_processing = $9, printer_priority = $10, image_url = $11,
            is_active = $12, wiki_id = $13, updated_at = $14
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(&fields.name)
    .bind(fields.description.as_deref())
    .bind(fields.category.as_deref())
    .bind(fields.print_file_id.as_deref())
    .bind(fields.file_name.as_deref())
    .bind(i64::from(fields.requires_assembly))
    .bind(i64::from(fields.requires_post_processing))
    .bind(fields.printer_priority.as_deref())
    .bind(fields.image_url.as_deref())
    .bind(i64::from(fields.is_active))
    .bind(fields.wiki_id.as_deref())
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(name_taken)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, tenant, id).await
}

/// What keeps a product from being deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProductUse {
    /// Its SKUs that hold stock (as SKU stock or finished goods), by SKU code.
    pub skus_with_stock: Vec<String>,
    /// Ids of its jobs that have not ended.
    pub open_jobs: Vec<String>,
}

impl ProductUse {
    /// Whether nothing uses it.
    pub fn is_free(&self) -> bool {
        self.skus_with_stock.is_empty() && self.open_jobs.is_empty()
    }
}

/// What uses the product (stock, open jobs).
pub async fn uses(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<ProductUse> {
    let skus: Vec<(String,)> = sqlx::query_as(
        "SELECT s.sku FROM product_skus s WHERE s.tenant_id = $1 AND s.product_id = $2
           AND (s.stock_level > 0 OR EXISTS (SELECT 1 FROM finished_goods g
                 WHERE g.tenant_id = s.tenant_id AND g.product_sku_id = s.id
                   AND (g.current_stock > 0 OR g.quantity_needs_assembly > 0 OR g.quantity_assembled > 0)))
         ORDER BY s.sku",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let jobs: Vec<(String,)> = sqlx::query_as(
        "SELECT j.id FROM print_jobs j WHERE j.tenant_id = $1
           AND (j.product_id = $2 OR j.product_sku_id IN (SELECT s.id FROM product_skus s WHERE s.tenant_id = $1 AND s.product_id = $2))
           AND j.status IN ('queued', 'processing', 'uploaded', 'printing', 'paused')
         ORDER BY j.id",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ProductUse {
        skus_with_stock: skus.into_iter().map(|(s,)| s).collect(),
        open_jobs: jobs.into_iter().map(|(j,)| j).collect(),
    })
}

/// Removes a product with its SKUs and components (the caller checked [`uses`]).
pub async fn delete(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<()> {
    // Components and SKUs go by their foreign keys' cascade; said here for SQLite
    // connections without foreign keys enforced.
    sqlx::query("DELETE FROM product_components WHERE product_id IN (SELECT id FROM products WHERE tenant_id = $1 AND id = $2)")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM product_skus WHERE tenant_id = $1 AND product_id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM products WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The categories the farm's products use, each once, sorted.
pub async fn categories(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT category FROM products WHERE tenant_id = $1 AND category IS NOT NULL AND category <> ''
         ORDER BY category",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(c,)| c).collect())
}

/// A part a product is assembled with.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Component {
    pub id: String,
    pub product_id: String,
    /// The product's name (in farm-wide lists).
    pub product_name: String,
    pub component_name: String,
    pub component_type: Option<String>,
    pub quantity_required: i64,
    pub notes: Option<String>,
    pub created_at: String,
}

/// A component's values as a client sets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentFields {
    pub component_name: String,
    pub component_type: Option<String>,
    pub quantity_required: i64,
    pub notes: Option<String>,
}

const COMPONENT_COLUMNS: &str = "c.id, c.product_id, p.name AS product_name, c.component_name,
    c.component_type, c.quantity_required, c.notes, c.created_at";

/// The components of the farm's products (of one product when `product` is given), by
/// product name, then component name.
pub async fn components(
    conn: &mut Conn,
    tenant: &TenantId,
    product: Option<&str>,
) -> StoreResult<Vec<Component>> {
    let sql = format!(
        "SELECT {COMPONENT_COLUMNS} FROM product_components c JOIN products p ON p.id = c.product_id
         WHERE p.tenant_id = $1 AND ($2 IS NULL OR p.id = $2)
         ORDER BY p.name, c.component_name, c.id"
    );
    Ok(sqlx::query_as::<_, Component>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(product)
        .fetch_all(&mut *conn)
        .await?)
}

/// The components of the farm's products `products` (by product, then name), in one query.
pub async fn components_of(
    conn: &mut Conn,
    tenant: &TenantId,
    products: &[String],
) -> StoreResult<Vec<Component>> {
    if products.is_empty() {
        return Ok(Vec::new());
    }
    // Only numbered placeholders are spliced in; the ids are bound.
    let places: Vec<String> = (0..products.len()).map(|n| format!("${}", n + 2)).collect();
    let sql = format!(
        "SELECT {COMPONENT_COLUMNS} FROM product_components c JOIN products p ON p.id = c.product_id
         WHERE p.tenant_id = $1 AND p.id IN ({})
         ORDER BY p.id, c.component_name, c.id",
        places.join(", ")
    );
    let mut query = sqlx::query_as::<_, Component>(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str());
    for product in products {
        query = query.bind(product.as_str());
    }
    Ok(query.fetch_all(&mut *conn).await?)
}

/// Adds a component to the farm's product `product` (the caller found the product).
pub async fn add_component(
    conn: &mut Conn,
    tenant: &TenantId,
    product: &str,
    fields: &ComponentFields,
    now: &str,
) -> StoreResult<Component> {
    let id = crate::new_id();
    let done = sqlx::query(
        "INSERT INTO product_components (id, product_id, component_name, component_type, quantity_required, notes, created_at)
         SELECT $1, p.id, $3, $4, $5, $6, $7 FROM products p WHERE p.tenant_id = $2 AND p.id = $8",
    )
    .bind(&id)
    .bind(tenant.as_str())
    .bind(&fields.component_name)
    .bind(fields.component_type.as_deref())
    .bind(fields.quantity_required)
    .bind(fields.notes.as_deref())
    .bind(now)
    .bind(product)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    let sql = format!(
        "SELECT {COMPONENT_COLUMNS} FROM product_components c JOIN products p ON p.id = c.product_id
         WHERE p.tenant_id = $1 AND c.id = $2"
    );
    Ok(sqlx::query_as::<_, Component>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(&id)
        .fetch_one(&mut *conn)
        .await?)
}

/// Removes one component of the product (`Some(id)`), or all of them (`None`); returns how
/// many went.
pub async fn remove_components(
    conn: &mut Conn,
    tenant: &TenantId,
    product: &str,
    component: Option<&str>,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "DELETE FROM product_components WHERE ($3 IS NULL OR id = $3)
           AND product_id IN (SELECT id FROM products WHERE tenant_id = $1 AND id = $2)",
    )
    .bind(tenant.as_str())
    .bind(product)
    .bind(component)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Sets where the product's picture is served from.
pub async fn set_image_url(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    url: &str,
    now: &str,
) -> StoreResult<Product> {
    let done = sqlx::query(
        "UPDATE products SET image_url = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(url)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, tenant, id).await
}
