-- PrintFarm schema: the original system's 37 tables (reference/data-model.md), in one
-- SQL text that runs unchanged on SQLite and PostgreSQL.
--
-- Portable choices, applied to every table:
-- * integers are BIGINT (sqlx's Any driver decodes PostgreSQL INT4 as i32; we read i64
--   everywhere); booleans are BIGINT 0/1, never BOOLEAN; money is BIGINT cents; REAL is
--   DOUBLE PRECISION.
-- * columns that have a numeric default are NOT NULL, so a read never meets NULL there.
-- * timestamps are TEXT in one fixed UTC format written by the application
--   (2026-11-25T06:55:51.123Z); the original's datetime('now') defaults are not portable,
--   so created_at/updated_at are NOT NULL without a default and the store always sets
--   them; other timestamps lose their default and are set by the store.
-- * CHECK value sets, foreign keys with their ON DELETE rules and UNIQUE keys are kept.

-- hub_token_*: the farm's hub provisioning token (new): hashed for lookup, sealed (AES-256-GCM) so admins can read it back.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    subdomain TEXT NOT NULL,
    company_name TEXT NOT NULL,
    is_active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    hub_token_hash TEXT,
    hub_token_encrypted TEXT,
    hub_token_created_at TEXT,
    UNIQUE (subdomain),
    UNIQUE (hub_token_hash)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    full_name TEXT NOT NULL,
    password_hash TEXT,
    is_active BIGINT NOT NULL DEFAULT 1,
    last_login TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    email_verified BIGINT NOT NULL DEFAULT 0,
    avatar_url TEXT,
    UNIQUE (email)
);

CREATE TABLE tenant_members (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'operator',
    invited_by TEXT,
    invited_at TEXT,
    accepted_at TEXT,
    is_active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, user_id),
    CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
    FOREIGN KEY (invited_by) REFERENCES users (id) ON DELETE NO ACTION,
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_tenant_members_tenant ON tenant_members (tenant_id);

CREATE INDEX IF NOT EXISTS idx_tenant_members_invited_by ON tenant_members (invited_by);

CREATE INDEX IF NOT EXISTS idx_tenant_members_user_id ON tenant_members (user_id);

CREATE TABLE hubs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT,
    name TEXT,
    secret_hash TEXT NOT NULL,
    firmware_version TEXT,
    hardware_version TEXT,
    is_online BIGINT NOT NULL DEFAULT 0,
    last_seen_at TEXT,
    ip_address TEXT,
    mac_address TEXT,
    claimed_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE SET NULL
);

CREATE INDEX IF NOT EXISTS idx_hubs_tenant ON hubs (tenant_id);

CREATE TABLE printers (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    hub_id TEXT,
    name TEXT NOT NULL,
    model TEXT NOT NULL,
    manufacturer TEXT,
    firmware_version TEXT,
    total_print_time BIGINT NOT NULL DEFAULT 0,
    last_maintenance_date TEXT,
    status TEXT DEFAULT 'idle',
    current_color TEXT,
    current_color_hex TEXT,
    current_filament_type TEXT,
    current_build_plate TEXT,
    filament_level BIGINT NOT NULL DEFAULT 0,
    nozzle_size DOUBLE PRECISION,
    location TEXT,
    connection_type TEXT DEFAULT 'bambu',
    ip_address TEXT,
    serial_number TEXT,
    access_code TEXT,
    is_connected BIGINT NOT NULL DEFAULT 0,
    last_connection_attempt TEXT,
    connection_error TEXT,
    is_active BIGINT NOT NULL DEFAULT 1,
    cleared BIGINT NOT NULL DEFAULT 1,
    sort_order BIGINT NOT NULL DEFAULT 0,
    printer_id BIGINT,
    in_maintenance BIGINT NOT NULL DEFAULT 0,
    maintenance_type TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, printer_id),
    UNIQUE (tenant_id, name),
    CHECK (status IN ('idle', 'printing', 'paused', 'maintenance', 'offline', 'error')),
    CHECK (connection_type IN ('bambu', 'prusa', 'octoprint', 'klipper', 'other')),
    FOREIGN KEY (hub_id) REFERENCES hubs (id) ON DELETE SET NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_printers_tenant ON printers (tenant_id, status);

CREATE INDEX IF NOT EXISTS idx_printers_hub_id ON printers (hub_id);

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    category TEXT,
    print_file_id TEXT,
    file_name TEXT,
    requires_assembly BIGINT NOT NULL DEFAULT 0,
    requires_post_processing BIGINT NOT NULL DEFAULT 0,
    printer_priority TEXT,
    image_url TEXT,
    is_active BIGINT NOT NULL DEFAULT 1,
    wiki_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_products_tenant ON products (tenant_id);

CREATE TABLE product_skus (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    color TEXT NOT NULL,
    filament_type TEXT,
    hex_code TEXT,
    quantity BIGINT NOT NULL DEFAULT 1,
    stock_level BIGINT NOT NULL DEFAULT 0,
    price BIGINT,
    low_stock_threshold BIGINT NOT NULL DEFAULT 0,
    is_active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_product_skus_tenant ON product_skus (tenant_id);

CREATE INDEX IF NOT EXISTS idx_product_skus_product_id ON product_skus (product_id);

CREATE TABLE product_components (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL,
    component_name TEXT NOT NULL,
    component_type TEXT,
    quantity_required BIGINT NOT NULL DEFAULT 1,
    notes TEXT,
    created_at TEXT NOT NULL,
    FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_product_components_product_id ON product_components (product_id);

CREATE TABLE color_presets (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    color_name TEXT NOT NULL,
    hex_code TEXT NOT NULL,
    filament_type TEXT NOT NULL,
    is_active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, color_name, filament_type),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_color_presets_tenant ON color_presets (tenant_id);

CREATE TABLE build_plate_types (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    is_active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_build_plate_types_tenant ON build_plate_types (tenant_id);

CREATE TABLE print_files (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    product_id TEXT,
    name TEXT NOT NULL,
    file_size_bytes BIGINT,
    number_of_units BIGINT NOT NULL DEFAULT 1,
    local_file_path TEXT,
    r2_key TEXT,
    print_time_seconds BIGINT,
    filament_weight_grams DOUBLE PRECISION,
    filament_length_meters DOUBLE PRECISION,
    filament_type TEXT,
    printer_model_id TEXT,
    nozzle_diameter DOUBLE PRECISION,
    layer_count BIGINT,
    curr_bed_type TEXT,
    default_print_profile TEXT,
    object_count BIGINT NOT NULL DEFAULT 1,
    thumbnail_r2_key TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, name),
    FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE SET NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_print_files_tenant ON print_files (tenant_id);

CREATE INDEX IF NOT EXISTS idx_print_files_product_id ON print_files (product_id);

CREATE TABLE print_file_versions (
    id TEXT PRIMARY KEY,
    print_file_id TEXT NOT NULL,
    version_number BIGINT NOT NULL,
    file_url TEXT,
    r2_key TEXT,
    notes TEXT,
    is_current_version BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (print_file_id, version_number),
    CHECK (version_number BETWEEN 1 AND 3),
    FOREIGN KEY (print_file_id) REFERENCES print_files (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_print_file_versions_print_file_id ON print_file_versions (print_file_id);

CREATE TABLE print_jobs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    printer_id TEXT,
    print_file_id TEXT NOT NULL,
    product_sku_id TEXT,
    submitted_by TEXT,
    file_name TEXT NOT NULL,
    status TEXT DEFAULT 'queued',
    color TEXT NOT NULL,
    filament_type TEXT NOT NULL,
    material_type TEXT NOT NULL,
    number_of_units BIGINT NOT NULL DEFAULT 1,
    filament_needed_grams BIGINT,
    estimated_print_time_minutes BIGINT,
    actual_print_time_minutes BIGINT,
    progress_percentage BIGINT NOT NULL DEFAULT 0,
    bambu_job_id TEXT,
    printer_numeric_id BIGINT,
    last_sync_time TEXT,
    priority BIGINT NOT NULL DEFAULT 0,
    failure_reason TEXT,
    time_submitted TEXT,
    time_started TEXT,
    time_completed TEXT,
    requires_assembly BIGINT NOT NULL DEFAULT 0,
    quantity_per_print BIGINT NOT NULL DEFAULT 1,
    product_id TEXT,
    product_name TEXT,
    sku_name TEXT,
    printer_model TEXT,
    printer_name TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (status IN ('queued', 'processing', 'uploaded', 'printing', 'paused', 'completed', 'failed', 'cancelled')),
    FOREIGN KEY (submitted_by) REFERENCES users (id) ON DELETE SET NULL,
    FOREIGN KEY (product_sku_id) REFERENCES product_skus (id) ON DELETE SET NULL,
    FOREIGN KEY (print_file_id) REFERENCES print_files (id) ON DELETE NO ACTION,
    FOREIGN KEY (printer_id) REFERENCES printers (id) ON DELETE SET NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_print_jobs_tenant ON print_jobs (tenant_id, status);

CREATE INDEX IF NOT EXISTS idx_print_jobs_submitted_by ON print_jobs (submitted_by);

CREATE INDEX IF NOT EXISTS idx_print_jobs_product_sku_id ON print_jobs (product_sku_id);

CREATE INDEX IF NOT EXISTS idx_print_jobs_print_file_id ON print_jobs (print_file_id);

CREATE INDEX IF NOT EXISTS idx_print_jobs_printer_id ON print_jobs (printer_id);

CREATE TABLE finished_goods (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    product_sku_id TEXT NOT NULL,
    print_job_id TEXT,
    sku TEXT NOT NULL,
    color TEXT NOT NULL,
    material TEXT NOT NULL,
    current_stock BIGINT NOT NULL DEFAULT 0,
    low_stock_threshold BIGINT NOT NULL DEFAULT 5,
    quantity_per_sku BIGINT NOT NULL DEFAULT 1,
    unit_price BIGINT NOT NULL DEFAULT 0,
    extra_cost BIGINT NOT NULL DEFAULT 0,
    profit_margin BIGINT NOT NULL DEFAULT 0,
    requires_assembly BIGINT NOT NULL DEFAULT 0,
    quantity_assembled BIGINT NOT NULL DEFAULT 0,
    quantity_needs_assembly BIGINT NOT NULL DEFAULT 0,
    status TEXT DEFAULT 'active',
    assembly_status TEXT DEFAULT 'printed',
    image_url TEXT,
    is_active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (status IN ('active', 'in_stock', 'low_stock', 'out_of_stock', 'needs_assembly', 'discontinued')),
    CHECK (assembly_status IN ('printed', 'needs_assembly', 'assembled')),
    FOREIGN KEY (print_job_id) REFERENCES print_jobs (id) ON DELETE SET NULL,
    FOREIGN KEY (product_sku_id) REFERENCES product_skus (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_finished_goods_tenant ON finished_goods (tenant_id, status);

CREATE INDEX IF NOT EXISTS idx_finished_goods_print_job_id ON finished_goods (print_job_id);

CREATE INDEX IF NOT EXISTS idx_finished_goods_product_sku_id ON finished_goods (product_sku_id);

CREATE TABLE assembly_tasks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    finished_good_id TEXT NOT NULL,
    assigned_to TEXT,
    product_name TEXT NOT NULL,
    sku TEXT NOT NULL,
    quantity BIGINT NOT NULL DEFAULT 1,
    status TEXT DEFAULT 'pending',
    notes TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    completed_at TEXT,
    CHECK (status IN ('pending', 'in_progress', 'completed')),
    FOREIGN KEY (assigned_to) REFERENCES users (id) ON DELETE SET NULL,
    FOREIGN KEY (finished_good_id) REFERENCES finished_goods (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_assembly_tasks_tenant ON assembly_tasks (tenant_id, status);

CREATE INDEX IF NOT EXISTS idx_assembly_tasks_assigned_to ON assembly_tasks (assigned_to);

CREATE INDEX IF NOT EXISTS idx_assembly_tasks_finished_good_id ON assembly_tasks (finished_good_id);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    order_number TEXT NOT NULL,
    platform TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    customer_email TEXT,
    customer_phone TEXT,
    order_date TEXT NOT NULL,
    status TEXT DEFAULT 'pending',
    total_revenue BIGINT NOT NULL,
    shipping_cost BIGINT NOT NULL DEFAULT 0,
    tax_amount BIGINT NOT NULL DEFAULT 0,
    discount_amount BIGINT NOT NULL DEFAULT 0,
    shipping_street TEXT,
    shipping_city TEXT,
    shipping_state TEXT,
    shipping_zip TEXT,
    shipping_country TEXT DEFAULT 'USA',
    tracking_number TEXT,
    tracking_url TEXT,
    shipped_at TEXT,
    external_id TEXT,
    external_data TEXT,
    notes TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, order_number),
    CHECK (platform IN ('shopify', 'amazon', 'etsy', 'manual', 'other')),
    CHECK (status IN ('pending', 'processing', 'printed', 'assembled', 'shipped', 'fulfilled', 'cancelled', 'refunded')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_orders_tenant ON orders (tenant_id, status);

CREATE TABLE order_items (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    finished_good_id TEXT,
    product_sku_id TEXT,
    sku TEXT NOT NULL,
    product_name TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    total_price BIGINT NOT NULL,
    quantity_fulfilled BIGINT NOT NULL DEFAULT 0,
    fulfillment_status TEXT DEFAULT 'pending',
    notes TEXT,
    created_at TEXT NOT NULL,
    CHECK (fulfillment_status IN ('pending', 'partial', 'fulfilled', 'cancelled')),
    FOREIGN KEY (product_sku_id) REFERENCES product_skus (id) ON DELETE SET NULL,
    FOREIGN KEY (finished_good_id) REFERENCES finished_goods (id) ON DELETE SET NULL,
    FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_order_items_product_sku_id ON order_items (product_sku_id);

CREATE INDEX IF NOT EXISTS idx_order_items_finished_good_id ON order_items (finished_good_id);

CREATE INDEX IF NOT EXISTS idx_order_items_order_id ON order_items (order_id);

CREATE TABLE wiki_articles (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    title TEXT NOT NULL,
    slug TEXT NOT NULL,
    content TEXT,
    excerpt TEXT,
    category TEXT,
    tags TEXT,
    author_id TEXT,
    last_edited_by TEXT,
    product_id TEXT,
    is_published BIGINT NOT NULL DEFAULT 0,
    published_at TEXT,
    meta_title TEXT,
    meta_description TEXT,
    featured_image_url TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    description TEXT,
    estimated_time_minutes BIGINT,
    difficulty TEXT,
    tools_required TEXT,
    sections TEXT DEFAULT '[]',
    sku_id TEXT,
    UNIQUE (tenant_id, slug),
    FOREIGN KEY (sku_id) REFERENCES product_skus (id) ON DELETE SET NULL,
    FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE SET NULL,
    FOREIGN KEY (last_edited_by) REFERENCES users (id) ON DELETE SET NULL,
    FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE SET NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_wiki_articles_tenant ON wiki_articles (tenant_id);

CREATE INDEX IF NOT EXISTS idx_wiki_articles_sku_id ON wiki_articles (sku_id);

CREATE INDEX IF NOT EXISTS idx_wiki_articles_product_id ON wiki_articles (product_id);

CREATE INDEX IF NOT EXISTS idx_wiki_articles_last_edited_by ON wiki_articles (last_edited_by);

CREATE INDEX IF NOT EXISTS idx_wiki_articles_author_id ON wiki_articles (author_id);

CREATE TABLE cameras (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    printer_id TEXT,
    hub_id TEXT,
    camera_type TEXT NOT NULL DEFAULT 'ip',
    stream_url TEXT,
    snapshot_url TEXT,
    ip_address TEXT,
    port BIGINT,
    username TEXT,
    password TEXT,
    serial_number TEXT,
    is_active BIGINT NOT NULL DEFAULT 1,
    is_online BIGINT NOT NULL DEFAULT 0,
    last_snapshot_at TEXT,
    last_error TEXT,
    rotation BIGINT NOT NULL DEFAULT 0,
    flip_horizontal BIGINT NOT NULL DEFAULT 0,
    flip_vertical BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (camera_type IN ('bambu', 'ip', 'usb', 'rtsp', 'mjpeg')),
    FOREIGN KEY (hub_id) REFERENCES hubs (id) ON DELETE SET NULL,
    FOREIGN KEY (printer_id) REFERENCES printers (id) ON DELETE SET NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_cameras_tenant ON cameras (tenant_id);

CREATE INDEX IF NOT EXISTS idx_cameras_hub_id ON cameras (hub_id);

CREATE INDEX IF NOT EXISTS idx_cameras_printer_id ON cameras (printer_id);

CREATE TABLE automation_rules (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    trigger_type TEXT NOT NULL,
    trigger_conditions TEXT,
    action_type TEXT NOT NULL,
    action_config TEXT,
    printer_ids TEXT,
    product_ids TEXT,
    schedule_cron TEXT,
    schedule_timezone TEXT DEFAULT 'UTC',
    is_enabled BIGINT NOT NULL DEFAULT 1,
    last_triggered_at TEXT,
    trigger_count BIGINT NOT NULL DEFAULT 0,
    cooldown_seconds BIGINT NOT NULL DEFAULT 0,
    max_triggers_per_hour BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (trigger_type IN ( 'print_completed', 'print_failed', 'print_started', 'printer_offline', 'printer_online', 'printer_error', 'low_stock', 'order_received', 'order_fulfilled', 'assembly_completed', 'task_completed', 'hub_offline', 'hub_online', 'schedule')),
    CHECK (action_type IN ( 'send_notification', 'send_email', 'send_webhook', 'create_task', 'update_status', 'assign_printer', 'start_next_job', 'pause_queue', 'resume_queue', 'update_inventory', 'create_order_item', 'run_script')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_automation_rules_tenant ON automation_rules (tenant_id);

-- `id` was INTEGER AUTOINCREMENT in the original; autoincrement is not portable, so ids are UUID text here.
CREATE TABLE sync_logs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT,
    operation_type TEXT,
    table_name TEXT,
    record_id TEXT,
    status TEXT,
    error_message TEXT,
    created_at TEXT NOT NULL,
    CHECK (operation_type IN ('INSERT', 'UPDATE', 'DELETE', 'SYNC', 'ERROR')),
    CHECK (status IN ('SUCCESS', 'FAILED', 'PENDING', 'SKIPPED')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_sync_logs_tenant ON sync_logs (tenant_id, status);

CREATE TABLE audit_logs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT,
    action TEXT NOT NULL,
    table_name TEXT,
    record_id TEXT,
    old_values TEXT,
    new_values TEXT,
    metadata TEXT,
    ip_address TEXT,
    user_agent TEXT,
    created_at TEXT NOT NULL,
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_audit_logs_tenant ON audit_logs (tenant_id);

CREATE INDEX IF NOT EXISTS idx_audit_logs_user_id ON audit_logs (user_id);

CREATE TABLE printer_failures (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    printer_id TEXT,
    print_job_id TEXT,
    failure_type TEXT NOT NULL,
    failure_reason TEXT,
    error_code TEXT,
    progress_at_failure BIGINT,
    print_time_at_failure BIGINT,
    layer_at_failure BIGINT,
    resolution TEXT,
    resolved_at TEXT,
    resolved_by TEXT,
    created_at TEXT NOT NULL,
    CHECK (failure_type IN ( 'nozzle_clog', 'bed_adhesion', 'layer_shift', 'filament_runout', 'power_loss', 'network_disconnect', 'firmware_error', 'mechanical', 'thermal', 'user_cancelled', 'unknown', 'other' )),
    FOREIGN KEY (resolved_by) REFERENCES users (id) ON DELETE SET NULL,
    FOREIGN KEY (print_job_id) REFERENCES print_jobs (id) ON DELETE SET NULL,
    FOREIGN KEY (printer_id) REFERENCES printers (id) ON DELETE SET NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_printer_failures_tenant ON printer_failures (tenant_id);

CREATE INDEX IF NOT EXISTS idx_printer_failures_resolved_by ON printer_failures (resolved_by);

CREATE INDEX IF NOT EXISTS idx_printer_failures_print_job_id ON printer_failures (print_job_id);

CREATE INDEX IF NOT EXISTS idx_printer_failures_printer_id ON printer_failures (printer_id);

CREATE TABLE daily_analytics (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    date TEXT NOT NULL,
    revenue BIGINT NOT NULL DEFAULT 0,
    profit BIGINT NOT NULL DEFAULT 0,
    print_completion_percentage DOUBLE PRECISION NOT NULL DEFAULT 0,
    jobs_completed BIGINT NOT NULL DEFAULT 0,
    jobs_failed BIGINT NOT NULL DEFAULT 0,
    units_produced BIGINT NOT NULL DEFAULT 0,
    active_printers BIGINT NOT NULL DEFAULT 0,
    total_printers BIGINT NOT NULL DEFAULT 0,
    utilization_percentage DOUBLE PRECISION NOT NULL DEFAULT 0,
    average_job_time_minutes DOUBLE PRECISION NOT NULL DEFAULT 0,
    total_print_time_minutes BIGINT NOT NULL DEFAULT 0,
    time_saved_minutes BIGINT NOT NULL DEFAULT 0,
    materials_cost BIGINT NOT NULL DEFAULT 0,
    labor_cost BIGINT NOT NULL DEFAULT 0,
    overhead_cost BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, date),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_daily_analytics_tenant ON daily_analytics (tenant_id);

CREATE TABLE material_usage_history (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    material_type TEXT NOT NULL,
    material_id TEXT NOT NULL,
    print_job_id TEXT,
    usage_amount DOUBLE PRECISION NOT NULL,
    usage_date TEXT,
    reason TEXT,
    created_at TEXT NOT NULL,
    FOREIGN KEY (print_job_id) REFERENCES print_jobs (id) ON DELETE SET NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_material_usage_history_tenant ON material_usage_history (tenant_id);

CREATE INDEX IF NOT EXISTS idx_material_usage_history_print_job_id ON material_usage_history (print_job_id);

CREATE TABLE filament_inventory (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    type TEXT NOT NULL,
    color TEXT NOT NULL,
    hex_code TEXT,
    brand TEXT,
    diameter TEXT DEFAULT '1.75mm',
    remaining_grams DOUBLE PRECISION NOT NULL DEFAULT 0,
    spool_weight_grams DOUBLE PRECISION NOT NULL DEFAULT 1000,
    low_threshold DOUBLE PRECISION NOT NULL DEFAULT 100,
    status TEXT DEFAULT 'in_stock',
    location TEXT,
    cost_per_unit BIGINT,
    reorder_link TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (status IN ('in_stock', 'low', 'out_of_stock', 'on_order')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_filament_inventory_tenant ON filament_inventory (tenant_id, status);

CREATE TABLE packaging_inventory (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    type TEXT NOT NULL,
    name TEXT,
    color TEXT,
    brand TEXT,
    size TEXT,
    remaining_units BIGINT NOT NULL DEFAULT 0,
    low_threshold BIGINT NOT NULL DEFAULT 10,
    status TEXT DEFAULT 'in_stock',
    location TEXT,
    cost_per_unit BIGINT,
    reorder_link TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (status IN ('in_stock', 'low', 'out_of_stock', 'on_order')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_packaging_inventory_tenant ON packaging_inventory (tenant_id, status);

CREATE TABLE accessories_inventory (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    type TEXT NOT NULL,
    name TEXT,
    color TEXT,
    brand TEXT,
    diameter TEXT,
    size TEXT,
    remaining_units BIGINT NOT NULL DEFAULT 0,
    low_threshold BIGINT NOT NULL DEFAULT 5,
    status TEXT DEFAULT 'in_stock',
    location TEXT,
    cost_per_unit BIGINT,
    reorder_link TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (status IN ('in_stock', 'low', 'out_of_stock', 'on_order')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_accessories_inventory_tenant ON accessories_inventory (tenant_id, status);

CREATE TABLE printer_parts_inventory (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    type TEXT NOT NULL,
    name TEXT,
    color TEXT,
    brand TEXT,
    compatible_models TEXT,
    remaining_units BIGINT NOT NULL DEFAULT 0,
    low_threshold BIGINT NOT NULL DEFAULT 2,
    status TEXT DEFAULT 'in_stock',
    location TEXT,
    cost_per_unit BIGINT,
    reorder_link TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (status IN ('in_stock', 'low', 'out_of_stock', 'on_order')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_printer_parts_inventory_tenant ON printer_parts_inventory (tenant_id, status);

CREATE TABLE product_templates (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    category TEXT,
    print_time_minutes BIGINT NOT NULL,
    material_usage_grams BIGINT NOT NULL,
    production_cost BIGINT NOT NULL,
    base_selling_price BIGINT NOT NULL,
    specifications TEXT,
    image_url TEXT,
    is_active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_product_templates_tenant ON product_templates (tenant_id);

-- `token` holds the SHA-256 (hex) of the session token, never the token itself.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    token TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ip_address TEXT,
    user_agent TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (token),
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_sessions_user_id ON sessions (user_id);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    access_token TEXT,
    refresh_token TEXT,
    access_token_expires_at TEXT,
    refresh_token_expires_at TEXT,
    scope TEXT,
    id_token TEXT,
    password TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (provider_id, account_id),
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_accounts_user_id ON accounts (user_id);

CREATE TABLE verifications (
    id TEXT PRIMARY KEY,
    identifier TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE tenant_integrations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    credentials_encrypted TEXT NOT NULL,
    is_enabled BIGINT NOT NULL DEFAULT 1,
    sync_enabled BIGINT NOT NULL DEFAULT 1,
    webhook_enabled BIGINT NOT NULL DEFAULT 0,
    last_sync_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, platform),
    CHECK (platform IN ('shopify', 'amazon', 'etsy', 'woocommerce', 'other')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_tenant_integrations_tenant ON tenant_integrations (tenant_id);

CREATE TABLE shopify_orders_sync (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    shopify_order_id TEXT NOT NULL,
    shopify_order_number TEXT NOT NULL,
    local_order_id TEXT,
    sync_status TEXT DEFAULT 'synced',
    sync_error TEXT,
    shopify_created_at TEXT,
    synced_at TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, shopify_order_id),
    CHECK (sync_status IN ('synced', 'pending', 'error', 'skipped')),
    FOREIGN KEY (local_order_id) REFERENCES orders (id) ON DELETE SET NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_shopify_orders_sync_tenant ON shopify_orders_sync (tenant_id);

CREATE INDEX IF NOT EXISTS idx_shopify_orders_sync_local_order_id ON shopify_orders_sync (local_order_id);

CREATE TABLE dead_letter_messages (
    id TEXT PRIMARY KEY,
    tenant_id TEXT,
    original_queue TEXT NOT NULL,
    original_message TEXT NOT NULL,
    error_message TEXT,
    stack_trace TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    failed_at TEXT NOT NULL,
    retried_at TEXT,
    retry_count BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_dead_letter_messages_tenant ON dead_letter_messages (tenant_id);

CREATE TABLE worklist_tasks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    assembly_task_id TEXT,
    printer_id TEXT,
    assigned_to TEXT,
    title TEXT NOT NULL,
    subtitle TEXT,
    description TEXT,
    task_type TEXT NOT NULL,
    priority TEXT DEFAULT 'medium',
    status TEXT DEFAULT 'pending',
    estimated_time_minutes BIGINT,
    actual_time_minutes BIGINT,
    started_at TEXT,
    completed_at TEXT,
    due_date TEXT,
    metadata TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (task_type IN ('assembly', 'filament_change', 'collection', 'maintenance', 'quality_check')),
    CHECK (priority IN ('low', 'medium', 'high')),
    CHECK (status IN ('pending', 'in_progress', 'completed', 'cancelled')),
    FOREIGN KEY (assigned_to) REFERENCES users (id) ON DELETE SET NULL,
    FOREIGN KEY (printer_id) REFERENCES printers (id) ON DELETE SET NULL,
    FOREIGN KEY (assembly_task_id) REFERENCES assembly_tasks (id) ON DELETE SET NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_worklist_tasks_tenant ON worklist_tasks (tenant_id, status);

CREATE INDEX IF NOT EXISTS idx_worklist_tasks_assigned_to ON worklist_tasks (assigned_to);

CREATE INDEX IF NOT EXISTS idx_worklist_tasks_printer_id ON worklist_tasks (printer_id);

CREATE INDEX IF NOT EXISTS idx_worklist_tasks_assembly_task_id ON worklist_tasks (assembly_task_id);
