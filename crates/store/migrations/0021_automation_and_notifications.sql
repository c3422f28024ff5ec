-- PrintFarm schema, part 21: automation that runs (its run history), and notifications
-- (channels of what is sent where, and the log of what was sent).
-- Conventions: see the header of 0001_accounts_and_tenants.sql.

-- automation_rules is rebuilt (a CHECK cannot be altered on SQLite) to take the new action
-- 'set_job_priority' and the time of the schedule it last ran for (`last_scheduled_at`:
-- a run by hand moves last_triggered_at but must not make a schedule skip its time).
CREATE TABLE automation_rules_next (
    id                    TEXT NOT NULL PRIMARY KEY,
    tenant_id             TEXT NOT NULL,
    name                  TEXT NOT NULL,
    description           TEXT,
    trigger_type          TEXT NOT NULL,
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
    last_scheduled_at     TEXT,
    CHECK (trigger_type IN (
        'print_completed', 'print_failed', 'print_started', 'printer_offline',
        'printer_online', 'printer_error', 'low_stock', 'order_received',
        'order_fulfilled', 'assembly_completed', 'task_completed', 'hub_offline',
        'hub_online', 'schedule'
    )),
    CHECK (action_type IN (
        'send_notification', 'send_email', 'send_webhook', 'create_task',
        'update_status', 'assign_printer', 'start_next_job', 'pause_queue',
        'resume_queue', 'update_inventory', 'create_order_item', 'run_script',
        'set_job_priority'
    )),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
INSERT INTO automation_rules_next (
    id, tenant_id, name, description, trigger_type, trigger_conditions, action_type,
    action_config, printer_ids, product_ids, schedule_cron, schedule_timezone, is_enabled,
    last_triggered_at, trigger_count, cooldown_seconds, max_triggers_per_hour, created_at,
    updated_at
)
SELECT
    id, tenant_id, name, description, trigger_type, trigger_conditions, action_type,
    action_config, printer_ids, product_ids, schedule_cron, schedule_timezone, is_enabled,
    last_triggered_at, trigger_count, cooldown_seconds, max_triggers_per_hour, created_at,
    updated_at
FROM automation_rules;
DROP TABLE automation_rules;
ALTER TABLE automation_rules_next RENAME TO automation_rules;
-- An event looks up the farm's enabled rules of its trigger.
CREATE INDEX IF NOT EXISTS idx_automation_rules_tenant_trigger ON automation_rules (tenant_id, trigger_type, is_enabled);
CREATE INDEX IF NOT EXISTS idx_automation_rules_tenant_created ON automation_rules (tenant_id, created_at);

-- New: every time a rule ran (or was held back by its limits), with what happened.
CREATE TABLE automation_runs (
    id           TEXT NOT NULL PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    rule_id      TEXT NOT NULL,
    trigger_type TEXT NOT NULL,
    -- The event it ran for; a rule runs once per event.
    event_id     TEXT NOT NULL,
    -- JSON: the event's facts.
    facts        TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    -- What the action did, or why it did not run.
    detail       TEXT,
    -- 1 when someone tried the rule by hand (such runs do not count against its limits).
    by_hand      BIGINT NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    UNIQUE (rule_id, event_id),
    CHECK (outcome IN ('succeeded', 'failed', 'skipped')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (rule_id) REFERENCES automation_rules (id) ON DELETE CASCADE
);
-- A rule's history newest first, and its runs in the last hour.
CREATE INDEX IF NOT EXISTS idx_automation_runs_rule_created ON automation_runs (rule_id, created_at);
CREATE INDEX IF NOT EXISTS idx_automation_runs_tenant_created ON automation_runs (tenant_id, created_at);

-- New: where a farm's notifications go. An email channel mails its addresses; a webhook
-- channel posts signed JSON to its URL. `events` says which events it receives.
CREATE TABLE notification_channels (
    id            TEXT NOT NULL PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    -- Shown to members: the addresses, or the URL without its path, query and credentials.
    target        TEXT NOT NULL,
    -- Sealed (AES-GCM, like printer access codes): the full webhook URL (it often carries
    -- a token) and the webhook signing secret. NULL for email channels.
    target_sealed TEXT,
    secret_sealed TEXT,
    -- JSON list of trigger names (see automation_rules.trigger_type), or ["*"] for all.
    events        TEXT NOT NULL,
    is_enabled    BIGINT NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK (kind IN ('email', 'webhook')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_notification_channels_tenant ON notification_channels (tenant_id, created_at);

-- New: every notification the farm sent or tried to send.
CREATE TABLE notification_log (
    id              TEXT NOT NULL PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    channel_id      TEXT,
    rule_id         TEXT,
    kind            TEXT NOT NULL,
    -- As shown for the channel (never the sealed URL).
    target          TEXT NOT NULL,
    -- The trigger name, or 'test' for a test message.
    event           TEXT NOT NULL,
    subject         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued',
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    -- The receiver's HTTP status (webhooks).
    response_status BIGINT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    sent_at         TEXT,
    CHECK (kind IN ('email', 'webhook')),
    CHECK (status IN ('queued', 'sent', 'failed', 'dead')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (channel_id) REFERENCES notification_channels (id) ON DELETE SET NULL,
    FOREIGN KEY (rule_id) REFERENCES automation_rules (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_notification_log_tenant_created ON notification_log (tenant_id, created_at);
