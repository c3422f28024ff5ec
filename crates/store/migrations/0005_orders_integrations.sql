-- PrintFarm schema, part 5: orders, order items and sales-platform integrations.
-- Conventions: see the header of 0001_accounts_and_tenants.sql.

CREATE TABLE orders (
    id               TEXT NOT NULL PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    order_number     TEXT NOT NULL,
    platform         TEXT NOT NULL,
    customer_name    TEXT NOT NULL,
    customer_email   TEXT,
    customer_phone   TEXT,
    order_date       TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    total_revenue    BIGINT NOT NULL,
    shipping_cost    BIGINT NOT NULL DEFAULT 0,
    tax_amount       BIGINT NOT NULL DEFAULT 0,
    discount_amount  BIGINT NOT NULL DEFAULT 0,
    shipping_street  TEXT,
    shipping_city    TEXT,
    shipping_state   TEXT,
    shipping_zip     TEXT,
    shipping_country TEXT DEFAULT 'USA',
    tracking_number  TEXT,
    tracking_url     TEXT,
    shipped_at       TEXT,
    external_id      TEXT,
    -- JSON.
    external_data    TEXT,
    notes            TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (tenant_id, order_number),
    CHECK (platform IN ('shopify', 'amazon', 'etsy', 'manual', 'other')),
    CHECK (status IN (
        'pending', 'processing', 'printed', 'assembled', 'shipped', 'fulfilled',
        'cancelled', 'refunded'
    )),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_orders_tenant_status ON orders (tenant_id, status);

CREATE TABLE order_items (
    id                 TEXT NOT NULL PRIMARY KEY,
    order_id           TEXT NOT NULL,
    finished_good_id   TEXT,
    product_sku_id     TEXT,
    sku                TEXT NOT NULL,
    product_name       TEXT NOT NULL,
    quantity           BIGINT NOT NULL,
    unit_price         BIGINT NOT NULL,
    total_price        BIGINT NOT NULL,
    quantity_fulfilled BIGINT NOT NULL DEFAULT 0,
    fulfillment_status TEXT NOT NULL DEFAULT 'pending',
    notes              TEXT,
    created_at         TEXT NOT NULL,
    CHECK (fulfillment_status IN ('pending', 'partial', 'fulfilled', 'cancelled')),
    FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
    FOREIGN KEY (finished_good_id) REFERENCES finished_goods (id) ON DELETE SET NULL,
    FOREIGN KEY (product_sku_id) REFERENCES product_skus (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_order_items_order_id ON order_items (order_id);
CREATE INDEX IF NOT EXISTS idx_order_items_finished_good_id ON order_items (finished_good_id);
CREATE INDEX IF NOT EXISTS idx_order_items_product_sku_id ON order_items (product_sku_id);

CREATE TABLE tenant_integrations (
    id                    TEXT NOT NULL PRIMARY KEY,
    tenant_id             TEXT NOT NULL,
    platform              TEXT NOT NULL,
    -- JSON credentials sealed with AES-256-GCM by the application.
    credentials_encrypted TEXT NOT NULL,
    is_enabled            BIGINT NOT NULL DEFAULT 1,
    sync_enabled          BIGINT NOT NULL DEFAULT 1,
    webhook_enabled       BIGINT NOT NULL DEFAULT 0,
    last_sync_at          TEXT,
    last_error            TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    UNIQUE (tenant_id, platform),
    CHECK (platform IN ('shopify', 'amazon', 'etsy', 'woocommerce', 'other')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE TABLE shopify_orders_sync (
    id                   TEXT NOT NULL PRIMARY KEY,
    tenant_id            TEXT NOT NULL,
    shopify_order_id     TEXT NOT NULL,
    shopify_order_number TEXT NOT NULL,
    local_order_id       TEXT,
    sync_status          TEXT NOT NULL DEFAULT 'synced',
    sync_error           TEXT,
    shopify_created_at   TEXT,
    -- Original default datetime('now') dropped (not portable); the application sets it.
    synced_at            TEXT,
    updated_at           TEXT NOT NULL,
    UNIQUE (tenant_id, shopify_order_id),
    CHECK (sync_status IN ('synced', 'pending', 'error', 'skipped')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (local_order_id) REFERENCES orders (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_shopify_orders_sync_local_order_id ON shopify_orders_sync (local_order_id);
