-- Per-farm numbers without a race, and hub keys the database cannot use on its own.
-- Conventions: see the header of 0001_accounts_and_tenants.sql.

-- New: the last number handed out per farm and sequence ('printer', later 'order', ...).
-- `UPDATE ... SET value = value + 1 RETURNING value` locks the row, so two transactions
-- never get the same number (MAX(...) + 1 did on PostgreSQL under concurrent creates).
CREATE TABLE tenant_counters (
    tenant_id TEXT NOT NULL,
    sequence  TEXT NOT NULL,
    value     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, sequence),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

INSERT INTO tenant_counters (tenant_id, sequence, value)
SELECT tenant_id, 'printer', MAX(printer_id) FROM printers
WHERE printer_id IS NOT NULL GROUP BY tenant_id;

-- The hub hello's HMAC key (SHA-256 of the hub secret) was stored as plain hex, which made
-- a copy of the database a hub credential. It is now sealed with the server's encryption
-- key (AES-256-GCM, bound to the hub id); rows written before this migration are sealed at
-- the next start (`store::hubs::seal_plain_keys`), which needs the key and so is not SQL.
ALTER TABLE hubs RENAME COLUMN secret_hash TO hello_key_sealed;
