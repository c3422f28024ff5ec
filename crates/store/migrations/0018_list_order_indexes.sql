-- PrintFarm schema, part 18: the SKU and finished-goods lists page in their own order.
-- Conventions: see the header of 0001_accounts_and_tenants.sql.
--
-- Both lists are ordered by (sku, id) within a farm. Without id in the index the whole farm's
-- rows were sorted for every page (5,000 finished goods: 6.4 ms a page on SQLite; 0.6 ms
-- with this index, measured).
CREATE INDEX IF NOT EXISTS idx_finished_goods_tenant_sku_id ON finished_goods (tenant_id, sku, id);
CREATE INDEX IF NOT EXISTS idx_product_skus_tenant_sku_id ON product_skus (tenant_id, sku, id);
