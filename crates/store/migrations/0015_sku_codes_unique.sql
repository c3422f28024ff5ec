-- A SKU code names one SKU in a farm (orders and Shopify lines are matched by it): the
-- plain index of 0003 becomes a unique one.
DROP INDEX IF EXISTS idx_product_skus_tenant_sku;
CREATE UNIQUE INDEX IF NOT EXISTS idx_product_skus_tenant_sku_unique ON product_skus (tenant_id, sku);
