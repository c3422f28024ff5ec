-- PrintFarm schema, part 6: materials inventories (filament, packaging, accessories,
-- printer parts).
-- Conventions: see the header of 0001_accounts_and_tenants.sql.

CREATE TABLE filament_inventory (
    id                 TEXT NOT NULL PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    type               TEXT NOT NULL,
    color              TEXT NOT NULL,
    hex_code           TEXT,
    brand              TEXT,
    diameter           TEXT DEFAULT '1.75mm',
    remaining_grams    DOUBLE PRECISION NOT NULL DEFAULT 0,
    spool_weight_grams DOUBLE PRECISION NOT NULL DEFAULT 1000,
    low_threshold      DOUBLE PRECISION NOT NULL DEFAULT 100,
    status             TEXT NOT NULL DEFAULT 'in_stock',
    location           TEXT,
    cost_per_unit      BIGINT,
    reorder_link       TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CHECK (status IN ('in_stock', 'low', 'out_of_stock', 'on_order')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_filament_inventory_tenant_status ON filament_inventory (tenant_id, status);

CREATE TABLE packaging_inventory (
    id              TEXT NOT NULL PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    type            TEXT NOT NULL,
    name            TEXT,
    color           TEXT,
    brand           TEXT,
    size            TEXT,
    remaining_units BIGINT NOT NULL DEFAULT 0,
    low_threshold   BIGINT NOT NULL DEFAULT 10,
    status          TEXT NOT NULL DEFAULT 'in_stock',
    location        TEXT,
    cost_per_unit   BIGINT,
    reorder_link    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK (status IN ('in_stock', 'low', 'out_of_stock', 'on_order')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_packaging_inventory_tenant_status ON packaging_inventory (tenant_id, status);

CREATE TABLE accessories_inventory (
    id              TEXT NOT NULL PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    type            TEXT NOT NULL,
    name            TEXT,
    color           TEXT,
    brand           TEXT,
    diameter        TEXT,
    size            TEXT,
    remaining_units BIGINT NOT NULL DEFAULT 0,
    low_threshold   BIGINT NOT NULL DEFAULT 5,
    status          TEXT NOT NULL DEFAULT 'in_stock',
    location        TEXT,
    cost_per_unit   BIGINT,
    reorder_link    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK (status IN ('in_stock', 'low', 'out_of_stock', 'on_order')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_accessories_inventory_tenant_status ON accessories_inventory (tenant_id, status);

CREATE TABLE printer_parts_inventory (
    id                TEXT NOT NULL PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    type              TEXT NOT NULL,
    name              TEXT,
    color             TEXT,
    brand             TEXT,
    compatible_models TEXT,
    remaining_units   BIGINT NOT NULL DEFAULT 0,
    low_threshold     BIGINT NOT NULL DEFAULT 2,
    status            TEXT NOT NULL DEFAULT 'in_stock',
    location          TEXT,
    cost_per_unit     BIGINT,
    reorder_link      TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    CHECK (status IN ('in_stock', 'low', 'out_of_stock', 'on_order')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_printer_parts_inventory_tenant_status ON printer_parts_inventory (tenant_id, status);
