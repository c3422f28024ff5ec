-- PrintFarm schema, part 20: the operator's day (maintenance by print hours, the worklist's
-- pages at scale).
-- Conventions: see the header of 0001_accounts_and_tenants.sql.

-- Maintenance falls due after this many print hours since the last one (0: never by hours);
-- `print_minutes_at_maintenance` is `total_print_time` (minutes) when it was last done.
ALTER TABLE printers ADD COLUMN maintenance_interval_hours BIGINT NOT NULL DEFAULT 200;
ALTER TABLE printers ADD COLUMN print_minutes_at_maintenance BIGINT NOT NULL DEFAULT 0;

-- The worklist newest first, one page at a time, with thousands of tasks open.
CREATE INDEX IF NOT EXISTS idx_worklist_tasks_tenant_created ON worklist_tasks (tenant_id, created_at, id);
-- Open tasks of a kind (filament changes to close, maintenance already due).
CREATE INDEX IF NOT EXISTS idx_worklist_tasks_tenant_type_status ON worklist_tasks (tenant_id, task_type, status);
CREATE INDEX IF NOT EXISTS idx_assembly_tasks_tenant_created ON assembly_tasks (tenant_id, created_at, id);
