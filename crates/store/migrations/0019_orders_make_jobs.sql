-- PrintFarm schema, part 19: orders that make their own print jobs, and Shopify's intake.
-- Conventions: see the header of 0001_accounts_and_tenants.sql.

-- A job queued to cover an order line's shortfall names the line (and its order, for the
-- order's page and for cancelling). Its prints count for that line only, so two orders
-- short on one SKU never both count the same incoming prints.
ALTER TABLE print_jobs ADD COLUMN order_id TEXT REFERENCES orders (id) ON DELETE SET NULL;
ALTER TABLE print_jobs ADD COLUMN order_item_id TEXT REFERENCES order_items (id) ON DELETE SET NULL;
CREATE INDEX IF NOT EXISTS idx_print_jobs_order_item ON print_jobs (order_item_id);
CREATE INDEX IF NOT EXISTS idx_print_jobs_tenant_order ON print_jobs (tenant_id, order_id);

-- The order's own priority (added to the dispatcher's bonus for order jobs), and whether it
-- fulfils itself from stock once every line is covered.
ALTER TABLE orders ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN auto_fulfill BIGINT NOT NULL DEFAULT 0;
-- The list pages newest first; a SKU's open lines are read in order when stock is shared out.
CREATE INDEX IF NOT EXISTS idx_orders_tenant_created ON orders (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS idx_orders_tenant_external ON orders (tenant_id, platform, external_id);
CREATE INDEX IF NOT EXISTS idx_order_items_sku_status ON order_items (product_sku_id, fulfillment_status);

-- An integration's settings beyond the on/off columns (JSON: auto-fulfil, pushing
-- fulfilments back, the priority of its orders' jobs).
ALTER TABLE tenant_integrations ADD COLUMN settings TEXT;

-- Webhook deliveries taken, by the sender's delivery id: a retried delivery is answered
-- at once and changes nothing.
CREATE TABLE webhook_deliveries (
    tenant_id    TEXT NOT NULL,
    platform     TEXT NOT NULL,
    delivery_id  TEXT NOT NULL,
    topic        TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, platform, delivery_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

-- A queue's claim takes the oldest due message in one index range, in the index's order
-- (it sorted every message the queue ever held before; `store::queue::claim`).
CREATE INDEX IF NOT EXISTS idx_queue_messages_due ON queue_messages (queue, status, run_at, created_at, id);
