//! Products and their SKUs, as print jobs and finished goods need them.
//!
//! The catalogue routes (create, edit, components, images) come with the catalogue work;
//! this module holds what jobs and the print-events worker read, and the inserts that
//! seed a catalogue.

use crate::{Conn, StoreResult};
use domain::TenantId;
use serde::Serialize;

/// A SKU with what a finished print of it needs to know about its product.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SkuForPrint {
    /// The SKU's id.
    pub id: String,
    /// The SKU code ("KEYCHAIN-RED").
    pub sku: String,
    /// Its colour name.
    pub color: String,
    /// Its filament type, if set.
    pub filament_type: Option<String>,
    /// Units one print makes.
    pub quantity: i64,
    /// Price in cents.
    pub price: Option<i64>,
    /// Low-stock threshold.
    pub low_stock_threshold: i64,
    /// The product's id.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// 1 when printed units must be assembled before they can be sold.
    pub requires_assembly: i64,
    /// The print file that makes it: the SKU's own, else its product's.
    pub print_file_id: Option<String>,
    /// The plate of that file that makes it (1 when the SKU names none).
    pub plate_index: i64,
}

/// The farm's SKU `id` with its product, or `NotFound`.
pub async fn sku_for_print(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
) -> StoreResult<SkuForPrint> {
    Ok(sqlx::query_as::<_, SkuForPrint>(
        "SELECT s.id, s.sku, s.color, s.filament_type, s.quantity, s.price, s.low_stock_threshold,
                p.id AS product_id, p.name AS product_name, p.requires_assembly,
                COALESCE(s.print_file_id, p.print_file_id) AS print_file_id,
                COALESCE(s.plate_index, 1) AS plate_index
         FROM product_skus s JOIN products p ON p.id = s.product_id AND p.tenant_id = s.tenant_id
         WHERE s.tenant_id = $1 AND s.id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_one(&mut *conn)
    .await?)
}

/// The name of the farm's product `id`, or `NotFound`.
pub async fn product_name(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<String> {
    let (name,): (String,) =
        sqlx::query_as("SELECT name FROM products WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(name)
}

/// A new product.
#[derive(Debug, Clone, Default)]
pub struct NewProduct<'a> {
    /// Its name, unique in the farm.
    pub name: &'a str,
    /// Whether printed units need assembly.
    pub requires_assembly: bool,
}

/// Adds a product; returns its id.
pub async fn create_product(
    conn: &mut Conn,
    tenant: &TenantId,
    product: &NewProduct<'_>,
    now: &str,
) -> StoreResult<String> {
    let id = crate::new_id();
    sqlx::query(
        "INSERT INTO products (id, tenant_id, name, requires_assembly, requires_post_processing, is_active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 0, 1, $5, $5)",
    )
    .bind(&id)
    .bind(tenant.as_str())
    .bind(product.name)
    .bind(i64::from(product.requires_assembly))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// A new SKU of a product.
#[derive(Debug, Clone, Default)]
pub struct NewSku<'a> {
    /// The product it belongs to.
    pub product_id: &'a str,
    /// The SKU code.
    pub sku: &'a str,
    /// Colour name.
    pub color: &'a str,
    /// Filament type.
    pub filament_type: Option<&'a str>,
    /// Units one print makes.
    pub quantity: i64,
    /// Price in cents.
    pub price: Option<i64>,
    /// Low-stock threshold.
    pub low_stock_threshold: i64,
}

/// Adds a SKU; returns its id.
pub async fn create_sku(
    conn: &mut Conn,
    tenant: &TenantId,
    sku: &NewSku<'_>,
    now: &str,
) -> StoreResult<String> {
    let id = crate::new_id();
    sqlx::query(
        "INSERT INTO product_skus (id, product_id, tenant_id, sku, color, filament_type, quantity, stock_level,
                                   price, low_stock_threshold, is_active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, 1, $10, $10)",
    )
    .bind(&id)
    .bind(sku.product_id)
    .bind(tenant.as_str())
    .bind(sku.sku)
    .bind(sku.color)
    .bind(sku.filament_type)
    .bind(sku.quantity)
    .bind(sku.price)
    .bind(sku.low_stock_threshold)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}
