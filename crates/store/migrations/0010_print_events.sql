-- What the print-events worker and the dispatcher need.
--
-- handled_events: every background event that changed data is recorded here in the same
-- transaction as its effects, so an event delivered twice (a lost lease, a retried dead
-- letter) changes nothing the second time.
CREATE TABLE handled_events (
    event_id   TEXT NOT NULL PRIMARY KEY,
    queue      TEXT NOT NULL,
    tenant_id  TEXT,
    handled_at TEXT NOT NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

-- One finished-goods row per SKU, so that two prints of one SKU completing at once
-- increase one row instead of racing to create two.
CREATE UNIQUE INDEX IF NOT EXISTS idx_finished_goods_one_per_sku ON finished_goods (tenant_id, product_sku_id);

-- Whether the farm's queued jobs start by themselves on idle printers with a cleared bed.
ALTER TABLE tenants ADD COLUMN auto_dispatch BIGINT NOT NULL DEFAULT 0;
