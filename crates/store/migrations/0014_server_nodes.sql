-- Server nodes and their leases: which node holds each hub's socket, so that the hubs of a
-- node that died (kill -9, a lost machine) are marked offline by the others.
-- Conventions: see the header of 0001_accounts_and_tenants.sql.

-- New: one row per running server node, renewed while it lives.
CREATE TABLE server_nodes (
    id          TEXT NOT NULL PRIMARY KEY,
    started_at  TEXT NOT NULL,
    lease_until TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_server_nodes_lease ON server_nodes (lease_until);

-- New: the node holding the hub's socket while it is online.
ALTER TABLE hubs ADD COLUMN node_id TEXT;
CREATE INDEX IF NOT EXISTS idx_hubs_node ON hubs (node_id);
