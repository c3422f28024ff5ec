-- PrintFarm schema, part 4: print jobs and what they produce (finished goods, assembly,
-- worklist), printer failures and material usage.
-- Conventions: see the header of 0001_accounts_and_tenants.sql.

CREATE TABLE print_jobs (
    id                           TEXT NOT NULL PRIMARY KEY,
    tenant_id                    TEXT NOT NULL,
    printer_id                   TEXT,
    print_file_id                TEXT NOT NULL,
    product_sku_id               TEXT,
    submitted_by                 TEXT,
    file_name                    TEXT NOT NULL,
    status                       TEXT NOT NULL DEFAULT 'queued',
    color                        TEXT NOT NULL,
    filament_type                TEXT NOT NULL,
    material_type                TEXT NOT NULL,
    number_of_units              BIGINT NOT NULL DEFAULT 1,
    filament_needed_grams        BIGINT,
    estimated_print_time_minutes BIGINT,
    actual_print_time_minutes    BIGINT,
    progress_percentage          BIGINT NOT NULL DEFAULT 0,
    bambu_job_id                 TEXT,
    printer_numeric_id           BIGINT,
    last_sync_time               TEXT,
    priority                     BIGINT NOT NULL DEFAULT 0,
    failure_reason               TEXT,
    -- Original default datetime('now') dropped (not portable); the application sets it.
    time_submitted               TEXT,
    time_started                 TEXT,
    time_completed               TEXT,
    requires_assembly            BIGINT NOT NULL DEFAULT 0,
    quantity_per_print           BIGINT NOT NULL DEFAULT 1,
    -- No foreign key, as in the original model (a denormalised copy for display).
    product_id                   TEXT,
    product_name                 TEXT,
    sku_name                     TEXT,
    printer_model                TEXT,
    printer_name                 TEXT,
    created_at                   TEXT NOT NULL,
    updated_at                   TEXT NOT NULL,
    CHECK (status IN (
        'queued', 'processing', 'uploaded', 'printing', 'paused', 'completed', 'failed',
        'cancelled'
    )),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (printer_id) REFERENCES printers (id) ON DELETE SET NULL,
    FOREIGN KEY (print_file_id) REFERENCES print_files (id) ON DELETE NO ACTION,
    FOREIGN KEY (product_sku_id) REFERENCES product_skus (id) ON DELETE SET NULL,
    FOREIGN KEY (submitted_by) REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_print_jobs_tenant_status ON print_jobs (tenant_id, status);
-- A printer's next job: the jobs assigned to it, by status.
CREATE INDEX IF NOT EXISTS idx_print_jobs_printer_status ON print_jobs (printer_id, status);
CREATE INDEX IF NOT EXISTS idx_print_jobs_print_file_id ON print_jobs (print_file_id);
CREATE INDEX IF NOT EXISTS idx_print_jobs_product_sku_id ON print_jobs (product_sku_id);
CREATE INDEX IF NOT EXISTS idx_print_jobs_submitted_by ON print_jobs (submitted_by);

CREATE TABLE finished_goods (
    id                      TEXT NOT NULL PRIMARY KEY,
    tenant_id               TEXT NOT NULL,
    product_sku_id          TEXT NOT NULL,
    print_job_id            TEXT,
    sku                     TEXT NOT NULL,
    color                   TEXT NOT NULL,
    material                TEXT NOT NULL,
    current_stock           BIGINT NOT NULL DEFAULT 0,
    low_stock_threshold     BIGINT NOT NULL DEFAULT 5,
    quantity_per_sku        BIGINT NOT NULL DEFAULT 1,
    unit_price              BIGINT NOT NULL DEFAULT 0,
    extra_cost              BIGINT NOT NULL DEFAULT 0,
    profit_margin           BIGINT NOT NULL DEFAULT 0,
    requires_assembly       BIGINT NOT NULL DEFAULT 0,
    quantity_assembled      BIGINT NOT NULL DEFAULT 0,
    quantity_needs_assembly BIGINT NOT NULL DEFAULT 0,
    status                  TEXT NOT NULL DEFAULT 'active',
    assembly_status         TEXT NOT NULL DEFAULT 'printed',
    image_url               TEXT,
    is_active               BIGINT NOT NULL DEFAULT 1,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    CHECK (status IN (
        'active', 'in_stock', 'low_stock', 'out_of_stock', 'needs_assembly',
        'discontinued'
    )),
    CHECK (assembly_status IN ('printed', 'needs_assembly', 'assembled')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (product_sku_id) REFERENCES product_skus (id) ON DELETE CASCADE,
    FOREIGN KEY (print_job_id) REFERENCES print_jobs (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_finished_goods_tenant_status ON finished_goods (tenant_id, status);
-- Stock lookups by SKU text when orders are fulfilled.
CREATE INDEX IF NOT EXISTS idx_finished_goods_tenant_sku ON finished_goods (tenant_id, sku);
CREATE INDEX IF NOT EXISTS idx_finished_goods_product_sku_id ON finished_goods (product_sku_id);
CREATE INDEX IF NOT EXISTS idx_finished_goods_print_job_id ON finished_goods (print_job_id);

CREATE TABLE assembly_tasks (
    id               TEXT NOT NULL PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    finished_good_id TEXT NOT NULL,
    assigned_to      TEXT,
    product_name     TEXT NOT NULL,
    sku              TEXT NOT NULL,
    quantity         BIGINT NOT NULL DEFAULT 1,
    status           TEXT NOT NULL DEFAULT 'pending',
    notes            TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    completed_at     TEXT,
    CHECK (status IN ('pending', 'in_progress', 'completed')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (finished_good_id) REFERENCES finished_goods (id) ON DELETE CASCADE,
    FOREIGN KEY (assigned_to) REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_assembly_tasks_tenant_status ON assembly_tasks (tenant_id, status);
CREATE INDEX IF NOT EXISTS idx_assembly_tasks_finished_good_id ON assembly_tasks (finished_good_id);
CREATE INDEX IF NOT EXISTS idx_assembly_tasks_assigned_to ON assembly_tasks (assigned_to);

CREATE TABLE worklist_tasks (
    id                     TEXT NOT NULL PRIMARY KEY,
    tenant_id              TEXT NOT NULL,
    assembly_task_id       TEXT,
    printer_id             TEXT,
    assigned_to            TEXT,
    title                  TEXT NOT NULL,
    subtitle               TEXT,
    description            TEXT,
    task_type              TEXT NOT NULL,
    priority               TEXT NOT NULL DEFAULT 'medium',
    status                 TEXT NOT NULL DEFAULT 'pending',
    estimated_time_minutes BIGINT,
    actual_time_minutes    BIGINT,
    started_at             TEXT,
    completed_at           TEXT,
    due_date               TEXT,
    -- JSON.
    metadata               TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    CHECK (task_type IN (
        'assembly', 'filament_change', 'collection', 'maintenance', 'quality_check'
    )),
    CHECK (priority IN ('low', 'medium', 'high')),
    CHECK (status IN ('pending', 'in_progress', 'completed', 'cancelled')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (assembly_task_id) REFERENCES assembly_tasks (id) ON DELETE SET NULL,
    FOREIGN KEY (printer_id) REFERENCES printers (id) ON DELETE SET NULL,
    FOREIGN KEY (assigned_to) REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_worklist_tasks_tenant_status ON worklist_tasks (tenant_id, status);
CREATE INDEX IF NOT EXISTS idx_worklist_tasks_assembly_task_id ON worklist_tasks (assembly_task_id);
CREATE INDEX IF NOT EXISTS idx_worklist_tasks_printer_id ON worklist_tasks (printer_id);
CREATE INDEX IF NOT EXISTS idx_worklist_tasks_assigned_to ON worklist_tasks (assigned_to);

CREATE TABLE printer_failures (
    id                    TEXT NOT NULL PRIMARY KEY,
    tenant_id             TEXT NOT NULL,
    printer_id            TEXT,
    print_job_id          TEXT,
    failure_type          TEXT NOT NULL,
    failure_reason        TEXT,
    error_code            TEXT,
    progress_at_failure   BIGINT,
    print_time_at_failure BIGINT,
    layer_at_failure      BIGINT,
    resolution            TEXT,
    resolved_at           TEXT,
    resolved_by           TEXT,
    created_at            TEXT NOT NULL,
    CHECK (failure_type IN (
        'nozzle_clog', 'bed_adhesion', 'layer_shift', 'filament_runout', 'power_loss',
        'network_disconnect', 'firmware_error', 'mechanical', 'thermal',
        'user_cancelled', 'unknown', 'other'
    )),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (printer_id) REFERENCES printers (id) ON DELETE SET NULL,
    FOREIGN KEY (print_job_id) REFERENCES print_jobs (id) ON DELETE SET NULL,
    FOREIGN KEY (resolved_by) REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_printer_failures_tenant ON printer_failures (tenant_id);
CREATE INDEX IF NOT EXISTS idx_printer_failures_printer_id ON printer_failures (printer_id);
CREATE INDEX IF NOT EXISTS idx_printer_failures_print_job_id ON printer_failures (print_job_id);
CREATE INDEX IF NOT EXISTS idx_printer_failures_resolved_by ON printer_failures (resolved_by);

CREATE TABLE material_usage_history (
    id            TEXT NOT NULL PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    material_type TEXT NOT NULL,
    material_id   TEXT NOT NULL,
    print_job_id  TEXT,
    usage_amount  DOUBLE PRECISION NOT NULL,
    -- Original default datetime('now') dropped (not portable); the application sets it.
    usage_date    TEXT,
    reason        TEXT,
    created_at    TEXT NOT NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (print_job_id) REFERENCES print_jobs (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_material_usage_history_tenant ON material_usage_history (tenant_id);
CREATE INDEX IF NOT EXISTS idx_material_usage_history_print_job_id ON material_usage_history (print_job_id);
