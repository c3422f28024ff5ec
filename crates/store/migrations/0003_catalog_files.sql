-- PrintFarm schema, part 3: products, SKUs, components, templates, print files and the wiki.
-- Conventions: see the header of 0001_accounts_and_tenants.sql.
--
-- Order: products first (print_files.product_id and wiki_articles point at it), then
-- product_skus, then print_files, then wiki_articles (points at products and product_skus).

CREATE TABLE products (
    id                       TEXT NOT NULL PRIMARY KEY,
    tenant_id                TEXT NOT NULL,
    name                     TEXT NOT NULL,
    description              TEXT,
    category                 TEXT,
    -- No foreign key, as in the original model (print_files is created after products and
    -- points back with print_files.product_id).
    print_file_id            TEXT,
    file_name                TEXT,
    requires_assembly        BIGINT NOT NULL DEFAULT 0,
    requires_post_processing BIGINT NOT NULL DEFAULT 0,
    -- JSON list of printer model codes.
    printer_priority         TEXT,
    image_url                TEXT,
    is_active                BIGINT NOT NULL DEFAULT 1,
    -- No foreign key, as in the original model (wiki_articles points at products instead).
    wiki_id                  TEXT,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL,
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE TABLE product_skus (
    id                  TEXT NOT NULL PRIMARY KEY,
    product_id          TEXT NOT NULL,
    tenant_id           TEXT NOT NULL,
    sku                 TEXT NOT NULL,
    color               TEXT NOT NULL,
    filament_type       TEXT,
    hex_code            TEXT,
    quantity            BIGINT NOT NULL DEFAULT 1,
    stock_level         BIGINT NOT NULL DEFAULT 0,
    price               BIGINT,
    low_stock_threshold BIGINT NOT NULL DEFAULT 0,
    is_active           BIGINT NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
-- GET /skus/by-sku/:sku and order-item SKU matching (not UNIQUE: the data model has
-- no such key).
CREATE INDEX IF NOT EXISTS idx_product_skus_tenant_sku ON product_skus (tenant_id, sku);
CREATE INDEX IF NOT EXISTS idx_product_skus_product_id ON product_skus (product_id);

CREATE TABLE product_components (
    id                TEXT NOT NULL PRIMARY KEY,
    product_id        TEXT NOT NULL,
    component_name    TEXT NOT NULL,
    component_type    TEXT,
    quantity_required BIGINT NOT NULL DEFAULT 1,
    notes             TEXT,
    created_at        TEXT NOT NULL,
    FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_product_components_product_id ON product_components (product_id);

CREATE TABLE product_templates (
    id                   TEXT NOT NULL PRIMARY KEY,
    tenant_id            TEXT NOT NULL,
    name                 TEXT NOT NULL,
    description          TEXT,
    category             TEXT,
    print_time_minutes   BIGINT NOT NULL,
    material_usage_grams BIGINT NOT NULL,
    production_cost      BIGINT NOT NULL,
    base_selling_price   BIGINT NOT NULL,
    specifications       TEXT,
    image_url            TEXT,
    is_active            BIGINT NOT NULL DEFAULT 1,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE TABLE print_files (
    id                     TEXT NOT NULL PRIMARY KEY,
    tenant_id              TEXT NOT NULL,
    product_id             TEXT,
    name                   TEXT NOT NULL,
    file_size_bytes        BIGINT,
    number_of_units        BIGINT NOT NULL DEFAULT 1,
    local_file_path        TEXT,
    r2_key                 TEXT,
    print_time_seconds     BIGINT,
    filament_weight_grams  DOUBLE PRECISION,
    filament_length_meters DOUBLE PRECISION,
    filament_type          TEXT,
    printer_model_id       TEXT,
    nozzle_diameter        DOUBLE PRECISION,
    layer_count            BIGINT,
    curr_bed_type          TEXT,
    default_print_profile  TEXT,
    object_count           BIGINT NOT NULL DEFAULT 1,
    thumbnail_r2_key       TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_print_files_product_id ON print_files (product_id);

-- At most 3 versions per file (CHECK), one of them current.
CREATE TABLE print_file_versions (
    id                 TEXT NOT NULL PRIMARY KEY,
    print_file_id      TEXT NOT NULL,
    version_number     BIGINT NOT NULL,
    file_url           TEXT,
    r2_key             TEXT,
    notes              TEXT,
    is_current_version BIGINT NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    UNIQUE (print_file_id, version_number),
    CHECK (version_number BETWEEN 1 AND 3),
    FOREIGN KEY (print_file_id) REFERENCES print_files (id) ON DELETE CASCADE
);

CREATE TABLE wiki_articles (
    id                     TEXT NOT NULL PRIMARY KEY,
    tenant_id              TEXT NOT NULL,
    title                  TEXT NOT NULL,
    slug                   TEXT NOT NULL,
    content                TEXT,
    excerpt                TEXT,
    category               TEXT,
    tags                   TEXT,
    author_id              TEXT,
    last_edited_by         TEXT,
    product_id             TEXT,
    is_published           BIGINT NOT NULL DEFAULT 0,
    published_at           TEXT,
    meta_title             TEXT,
    meta_description       TEXT,
    featured_image_url     TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    description            TEXT,
    estimated_time_minutes BIGINT,
    difficulty             TEXT,
    tools_required         TEXT,
    -- JSON array.
    sections               TEXT DEFAULT '[]',
    sku_id                 TEXT,
    UNIQUE (tenant_id, slug),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE SET NULL,
    FOREIGN KEY (last_edited_by) REFERENCES users (id) ON DELETE SET NULL,
    FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE SET NULL,
    FOREIGN KEY (sku_id) REFERENCES product_skus (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_wiki_articles_author_id ON wiki_articles (author_id);
CREATE INDEX IF NOT EXISTS idx_wiki_articles_last_edited_by ON wiki_articles (last_edited_by);
CREATE INDEX IF NOT EXISTS idx_wiki_articles_product_id ON wiki_articles (product_id);
CREATE INDEX IF NOT EXISTS idx_wiki_articles_sku_id ON wiki_articles (sku_id);
