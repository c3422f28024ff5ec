-- PrintFarm schema, part 22: analytics (the day cache and the indexes its figures are read by).
-- Conventions: see the header of 0001_accounts_and_tenants.sql.
--
-- daily_analytics is a cache of a closed day's figures, never the truth (store::analytics
-- explains the design). A row is fresh when stale = 0: its figures, and its day's rows in the
-- breakdown tables below, were built from the real tables. Every write that changes a day's
-- source rows marks the day stale in its own transaction and moves its revision on; a
-- rebuild is written only if the revision is still the one read before building.
ALTER TABLE daily_analytics ADD COLUMN stale BIGINT NOT NULL DEFAULT 1;
ALTER TABLE daily_analytics ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
-- Printer failures recorded that day and orders dated that day (not cancelled or refunded).
ALTER TABLE daily_analytics ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE daily_analytics ADD COLUMN order_count BIGINT NOT NULL DEFAULT 0;

-- A closed day per printer. No foreign key to printers: a deleted printer's jobs lose their
-- printer (print_jobs.printer_id is SET NULL) and its rows here are left out by the reader,
-- which shows the farm's printers only; so a rebuild never races a printer's deletion.
CREATE TABLE daily_printer_analytics (
    tenant_id          TEXT NOT NULL,
    date               TEXT NOT NULL,
    printer_id         TEXT NOT NULL,
    jobs_completed     BIGINT NOT NULL DEFAULT 0,
    jobs_failed        BIGINT NOT NULL DEFAULT 0,
    units_produced     BIGINT NOT NULL DEFAULT 0,
    print_time_minutes BIGINT NOT NULL DEFAULT 0,
    failures           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, date, printer_id),
    FOREIGN KEY (tenant_id, date) REFERENCES daily_analytics (tenant_id, date) ON DELETE CASCADE
);
-- A range of days read from the index alone (a printer-first index would walk every day the
-- farm ever had for a week's figures).
CREATE INDEX IF NOT EXISTS idx_daily_printer_analytics_sums ON daily_printer_analytics
    (tenant_id, date, printer_id, jobs_completed, jobs_failed, units_produced, print_time_minutes, failures);

-- A closed month per printer: the sum of its days, so a year is read as twelve months
-- (6,000 rows for 500 printers) and the days of the months it only partly covers. Its own
-- row in monthly_analytics is its gate, marked stale with any of its days.
CREATE TABLE monthly_analytics (
    tenant_id  TEXT NOT NULL,
    month      TEXT NOT NULL,
    stale      BIGINT NOT NULL DEFAULT 1,
    revision   BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, month),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE TABLE monthly_printer_analytics (
    tenant_id          TEXT NOT NULL,
    month              TEXT NOT NULL,
    printer_id         TEXT NOT NULL,
    jobs_completed     BIGINT NOT NULL DEFAULT 0,
    jobs_failed        BIGINT NOT NULL DEFAULT 0,
    units_produced     BIGINT NOT NULL DEFAULT 0,
    print_time_minutes BIGINT NOT NULL DEFAULT 0,
    failures           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, month, printer_id),
    FOREIGN KEY (tenant_id, month) REFERENCES monthly_analytics (tenant_id, month) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_monthly_printer_analytics_sums ON monthly_printer_analytics
    (tenant_id, month, printer_id, jobs_completed, jobs_failed, units_produced, print_time_minutes, failures);

-- A closed day's printer failures per failure_type.
CREATE TABLE daily_failure_analytics (
    tenant_id    TEXT NOT NULL,
    date         TEXT NOT NULL,
    failure_type TEXT NOT NULL,
    failures     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, date, failure_type),
    FOREIGN KEY (tenant_id, date) REFERENCES daily_analytics (tenant_id, date) ON DELETE CASCADE
);

-- A closed day's orders per platform (cents; not cancelled or refunded).
CREATE TABLE daily_platform_analytics (
    tenant_id   TEXT NOT NULL,
    date        TEXT NOT NULL,
    platform    TEXT NOT NULL,
    order_count BIGINT NOT NULL DEFAULT 0,
    revenue     BIGINT NOT NULL DEFAULT 0,
    profit      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, date, platform),
    FOREIGN KEY (tenant_id, date) REFERENCES daily_analytics (tenant_id, date) ON DELETE CASCADE
);

-- A closed day's use of each material (material_usage_history; grams of filament, units
-- of the rest).
CREATE TABLE daily_material_analytics (
    tenant_id     TEXT NOT NULL,
    date          TEXT NOT NULL,
    material_type TEXT NOT NULL,
    material_id   TEXT NOT NULL,
    usage_amount  DOUBLE PRECISION NOT NULL DEFAULT 0,
    uses          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, date, material_type, material_id),
    FOREIGN KEY (tenant_id, date) REFERENCES daily_analytics (tenant_id, date) ON DELETE CASCADE
);

-- The real tables by the time that places a row in a day, each with the columns the
-- figures sum, so a day (or today, live) is read from the index alone.
CREATE INDEX IF NOT EXISTS idx_print_jobs_tenant_finished ON print_jobs
    (tenant_id, time_completed, status, printer_id, quantity_per_print, actual_print_time_minutes);
CREATE INDEX IF NOT EXISTS idx_printer_failures_tenant_created ON printer_failures
    (tenant_id, created_at, failure_type, printer_id);
-- No route resolves a failure yet, so most are unresolved: counted from this small index.
CREATE INDEX IF NOT EXISTS idx_printer_failures_unresolved ON printer_failures (tenant_id)
    WHERE resolved_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_orders_tenant_date ON orders
    (tenant_id, order_date, status, platform, total_revenue, shipping_cost, tax_amount);
CREATE INDEX IF NOT EXISTS idx_material_usage_tenant_date ON material_usage_history
    (tenant_id, usage_date, material_type, material_id, usage_amount);
