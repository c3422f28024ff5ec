-- PrintFarm schema, part 7: automation rules, logs, analytics, the background queue and
-- its dead letters.
-- Conventions: see the header of 0001_accounts_and_tenants.sql.

-- In trigger_type, 'schedule' is the time-based trigger; in action_type, 'run_script' is
-- custom script execution. (The original had these notes as comments inside the CHECK
-- value lists; they are moved here.)
CREATE TABLE automation_rules (
    id                    TEXT NOT NULL PRIMARY KEY,
    tenant_id             TEXT NOT NULL,
    name                  TEXT NOT NULL,
    description           TEXT,
    trigger_type          TEXT NOT NULL,
    -- trigger_conditions, action_config, printer_ids, product_ids: JSON.
    trigger_conditions    TEXT,
    action_type           TEXT NOT NULL,
    action_config         TEXT,
    printer_ids           TEXT,
    product_ids           TEXT,
    schedule_cron         TEXT,
    schedule_timezone     TEXT DEFAULT 'UTC',
    is_enabled            BIGINT NOT NULL DEFAULT 1,
    last_triggered_at     TEXT,
    trigger_count         BIGINT NOT NULL DEFAULT 0,
    cooldown_seconds      BIGINT NOT NULL DEFAULT 0,
    max_triggers_per_hour BIGINT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    CHECK (trigger_type IN (
        'print_completed', 'print_failed', 'print_started', 'printer_offline',
        'printer_online', 'printer_error', 'low_stock', 'order_received',
        'order_fulfilled', 'assembly_completed', 'task_completed', 'hub_offline',
        'hub_online', 'schedule'
    )),
    CHECK (action_type IN (
        'send_notification', 'send_email', 'send_webhook', 'create_task',
        'update_status', 'assign_printer', 'start_next_job', 'pause_queue',
        'resume_queue', 'update_inventory', 'create_order_item', 'run_script'
    )),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_automation_rules_tenant ON automation_rules (tenant_id);

CREATE TABLE sync_logs (
    -- Was INTEGER PRIMARY KEY AUTOINCREMENT in the original. Autoincrement is not portable
    -- (SQLite AUTOINCREMENT vs PostgreSQL SERIAL/IDENTITY), so the id is UUID text like every
    -- other table; order rows by created_at instead.
    id             TEXT NOT NULL PRIMARY KEY,
    tenant_id      TEXT,
    operation_type TEXT,
    table_name     TEXT,
    record_id      TEXT,
    status         TEXT,
    error_message  TEXT,
    created_at     TEXT NOT NULL,
    CHECK (operation_type IN ('INSERT', 'UPDATE', 'DELETE', 'SYNC', 'ERROR')),
    CHECK (status IN ('SUCCESS', 'FAILED', 'PENDING', 'SKIPPED')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_sync_logs_tenant_status ON sync_logs (tenant_id, status);
-- sync_logs has no sequence any more (see id): list by created_at.
CREATE INDEX IF NOT EXISTS idx_sync_logs_tenant_created ON sync_logs (tenant_id, created_at);

CREATE TABLE audit_logs (
    id         TEXT NOT NULL PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    user_id    TEXT,
    action     TEXT NOT NULL,
    table_name TEXT,
    record_id  TEXT,
    -- old_values, new_values, metadata: JSON.
    old_values TEXT,
    new_values TEXT,
    metadata   TEXT,
    ip_address TEXT,
    user_agent TEXT,
    created_at TEXT NOT NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL
);
-- Audit lists are per farm, newest first.
CREATE INDEX IF NOT EXISTS idx_audit_logs_tenant_created ON audit_logs (tenant_id, created_at);
CREATE INDEX IF NOT EXISTS idx_audit_logs_user_id ON audit_logs (user_id);

CREATE TABLE daily_analytics (
    id                          TEXT NOT NULL PRIMARY KEY,
    tenant_id                   TEXT NOT NULL,
    date                        TEXT NOT NULL,
    revenue                     BIGINT NOT NULL DEFAULT 0,
    profit                      BIGINT NOT NULL DEFAULT 0,
    print_completion_percentage DOUBLE PRECISION NOT NULL DEFAULT 0,
    jobs_completed              BIGINT NOT NULL DEFAULT 0,
    jobs_failed                 BIGINT NOT NULL DEFAULT 0,
    units_produced              BIGINT NOT NULL DEFAULT 0,
    active_printers             BIGINT NOT NULL DEFAULT 0,
    total_printers              BIGINT NOT NULL DEFAULT 0,
    utilization_percentage      DOUBLE PRECISION NOT NULL DEFAULT 0,
    average_job_time_minutes    DOUBLE PRECISION NOT NULL DEFAULT 0,
    total_print_time_minutes    BIGINT NOT NULL DEFAULT 0,
    time_saved_minutes          BIGINT NOT NULL DEFAULT 0,
    materials_cost              BIGINT NOT NULL DEFAULT 0,
    labor_cost                  BIGINT NOT NULL DEFAULT 0,
    overhead_cost               BIGINT NOT NULL DEFAULT 0,
    created_at                  TEXT NOT NULL,
    UNIQUE (tenant_id, date),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

-- New: the durable background queue that replaces Cloudflare Queues (print-events,
-- file-processing, notifications, shopify-sync). A message is written in the same
-- transaction as the change that caused it, claimed with a lease (locked_until/locked_by),
-- retried with backoff (run_at, attempts), and marked 'dead' after max_attempts
-- (dead_letter_messages keeps the admin view of those).
CREATE TABLE queue_messages (
    id           TEXT NOT NULL PRIMARY KEY,
    -- Queue name: print-events, file-processing, notifications, shopify-sync, ...
    queue        TEXT NOT NULL,
    -- NULL for messages that belong to no farm; a farm's messages go with the farm.
    tenant_id    TEXT,
    -- JSON.
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 5,
    -- Earliest time to run (retries push it forward with backoff).
    run_at       TEXT NOT NULL,
    -- Lease of the worker that claimed the message; an expired lease may be claimed again.
    locked_until TEXT,
    locked_by    TEXT,
    last_error   TEXT,
    -- Optional; UNIQUE together with queue so that one event is enqueued (and handled) once.
    -- NULLs never collide, so messages without a key are unconstrained.
    dedupe_key   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (queue, dedupe_key),
    CHECK (status IN ('pending', 'running', 'done', 'dead')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_queue_messages_tenant_status ON queue_messages (tenant_id, status);
-- Claiming: the next pending message of a queue whose run_at has come.
CREATE INDEX IF NOT EXISTS idx_queue_messages_ready ON queue_messages (queue, status, run_at);

CREATE TABLE dead_letter_messages (
    id               TEXT NOT NULL PRIMARY KEY,
    tenant_id        TEXT,
    original_queue   TEXT NOT NULL,
    original_message TEXT NOT NULL,
    error_message    TEXT,
    stack_trace      TEXT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    failed_at        TEXT NOT NULL,
    retried_at       TEXT,
    retry_count      BIGINT NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_dead_letter_messages_tenant ON dead_letter_messages (tenant_id);
-- Admin dead-letter view, by queue, newest first.
CREATE INDEX IF NOT EXISTS idx_dead_letter_messages_queue ON dead_letter_messages (original_queue, failed_at);
