-- A SKU names the print file and plate that make it (over its product's file), so that a
-- job can be queued for a SKU and a quantity.
ALTER TABLE product_skus ADD COLUMN print_file_id TEXT;
ALTER TABLE product_skus ADD COLUMN plate_index BIGINT;

-- One stock truth: finished_goods counts a SKU's units; product_skus.stock_level is kept
-- equal to it by the store. Goods created before this release started at 0 beside a SKU's
-- own count: the larger of the two is what the farm last said it had.
UPDATE finished_goods SET current_stock = (
    SELECT CASE WHEN s.stock_level > finished_goods.current_stock THEN s.stock_level
                ELSE finished_goods.current_stock END
    FROM product_skus s WHERE s.id = finished_goods.product_sku_id)
WHERE EXISTS (SELECT 1 FROM product_skus s WHERE s.id = finished_goods.product_sku_id);
UPDATE product_skus SET stock_level = (
    SELECT g.current_stock FROM finished_goods g WHERE g.product_sku_id = product_skus.id)
WHERE EXISTS (SELECT 1 FROM finished_goods g WHERE g.product_sku_id = product_skus.id);

-- Whether the farm was told a material is low (one alert per fall, as for stock).
ALTER TABLE filament_inventory ADD COLUMN low_alerted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE packaging_inventory ADD COLUMN low_alerted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accessories_inventory ADD COLUMN low_alerted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE printer_parts_inventory ADD COLUMN low_alerted BIGINT NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS idx_material_usage_material ON material_usage_history (tenant_id, material_id);
