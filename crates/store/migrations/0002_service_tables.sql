-- What the new system needs beyond the original schema.

-- Personal API tokens for integrators' scripts (only the SHA-256 of a token is kept).
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    token_prefix TEXT NOT NULL,
    last_used_at TEXT,
    expires_at TEXT,
    revoked_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (token_hash),
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_api_tokens_user ON api_tokens (user_id);

-- The durable background queue: a message is written in the same transaction as the
-- change that caused it, claimed with a lease (locked_until), retried with backoff
-- (run_at), and marked dead after max_attempts. dedupe_key makes an event enqueue once.
CREATE TABLE queue_messages (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    tenant_id TEXT,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 5,
    run_at TEXT NOT NULL,
    locked_until TEXT,
    locked_by TEXT,
    last_error TEXT,
    dedupe_key TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (queue, dedupe_key),
    CHECK (status IN ('pending', 'running', 'done', 'dead')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_queue_messages_ready ON queue_messages (queue, status, run_at);

-- Sessions and proofs are looked up by user and swept by expiry.
CREATE INDEX IF NOT EXISTS idx_sessions_expires ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS idx_verifications_identifier ON verifications (identifier);
CREATE INDEX IF NOT EXISTS idx_audit_logs_created ON audit_logs (tenant_id, created_at);
