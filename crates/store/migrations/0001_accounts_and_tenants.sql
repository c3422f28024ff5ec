-- PrintFarm schema, part 1: accounts and tenants.
--
-- The schema is the original system's 37 tables (shared/reference/data-model.md), spread
-- over migrations 0001-0007 by area, plus what the new system needs (marked "New:").
-- Every file is one SQL text that runs UNCHANGED on SQLite (3.40+) and PostgreSQL 15
-- through sqlx's Any driver. Conventions used in every file:
--
-- * Ids are UUID text: `id TEXT NOT NULL PRIMARY KEY`. NOT NULL is spelled out because
--   SQLite, unlike PostgreSQL, accepts NULL in a non-INTEGER primary key.
--   The original's UNIQUE(id) beside each PRIMARY KEY only repeats the key: left out.
-- * Integers are BIGINT: the Any driver decodes PostgreSQL INT4 as i32, and the store
--   reads i64 everywhere. Booleans are BIGINT 0/1 with the original default (never
--   BOOLEAN: it cannot be decoded through Any on SQLite). Money is BIGINT cents.
--   REAL columns are DOUBLE PRECISION (REAL is 4-byte float on PostgreSQL).
-- * Every numeric column (boolean, counter, threshold, money, percentage) that has a
--   default is NOT NULL, so a read never meets NULL where the original meant the default.
--   Likewise every status-like column with a CHECK value set and a default is NOT NULL:
--   a NULL would slip past the CHECK (NULL IN (...) is not false) and leave a row with
--   no state. Free-text defaults (shipping_country, diameter, schedule_timezone,
--   sections) keep the original's default and stay nullable.
-- * Timestamps are TEXT in one fixed UTC format written by the application
--   (2026-11-25T06:55:51.123Z), so that they compare and sort as text on both databases.
--   The original's datetime('now') defaults are not portable (SQLite only), so they are
--   dropped: created_at and updated_at are TEXT NOT NULL without a default, and the
--   application always sets them. Other columns that defaulted to datetime('now')
--   (print_jobs.time_submitted, material_usage_history.usage_date,
--   shopify_orders_sync.synced_at) lose the default, stay nullable, and are set by the
--   application.
-- * JSON is TEXT.
-- * Every CHECK value set, foreign key (with its ON DELETE rule) and UNIQUE key of the
--   data model is kept. Tables are created after the tables they reference.
-- * Indexes: (tenant_id, status) where a table has a status, otherwise (tenant_id) unless
--   a UNIQUE key already starts with tenant_id; and every foreign-key column not already
--   leading an index (deleting a parent row must find its children quickly).
-- * Portable SQL only: no AUTOINCREMENT/SERIAL, no datetime()/NOW(), no BOOLEAN; indexes
--   use CREATE INDEX IF NOT EXISTS. No BEGIN/COMMIT: sqlx runs each file as one
--   multi-statement execution.

CREATE TABLE tenants (
    id                   TEXT NOT NULL PRIMARY KEY,
    subdomain            TEXT NOT NULL,
    company_name         TEXT NOT NULL,
    is_active            BIGINT NOT NULL DEFAULT 1,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    -- New: the farm's hub provisioning token. SHA-256 hex of the token, for lookup when a hub
    -- presents it; UNIQUE so one token names one farm.
    hub_token_hash       TEXT,
    -- New: the same token sealed with AES-256-GCM (nonce || ciphertext, base64), so that owners
    -- and admins can read it back in the dashboard.
    hub_token_encrypted  TEXT,
    -- New: when the current hub token was issued (rotation resets it).
    hub_token_created_at TEXT,
    UNIQUE (subdomain),
    UNIQUE (hub_token_hash)
);

CREATE TABLE users (
    id             TEXT NOT NULL PRIMARY KEY,
    email          TEXT NOT NULL,
    full_name      TEXT NOT NULL,
    password_hash  TEXT,
    is_active      BIGINT NOT NULL DEFAULT 1,
    last_login     TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    email_verified BIGINT NOT NULL DEFAULT 0,
    avatar_url     TEXT,
    UNIQUE (email)
);

CREATE TABLE tenant_members (
    id          TEXT NOT NULL PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT 'operator',
    invited_by  TEXT,
    invited_at  TEXT,
    accepted_at TEXT,
    is_active   BIGINT NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (tenant_id, user_id),
    CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    FOREIGN KEY (invited_by) REFERENCES users (id) ON DELETE NO ACTION
);
CREATE INDEX IF NOT EXISTS idx_tenant_members_user_id ON tenant_members (user_id);
CREATE INDEX IF NOT EXISTS idx_tenant_members_invited_by ON tenant_members (invited_by);

-- Browser and bearer sessions (Better Auth layout).
CREATE TABLE sessions (
    id         TEXT NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL,
    -- Name kept from the original, but it holds the SHA-256 hex hash of the session token, never
    -- the token itself: a leaked database gives no usable session. UNIQUE as in the original.
    token      TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ip_address TEXT,
    user_agent TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (token),
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
-- A user's sessions: sign-out everywhere, and the foreign key's cascade.
CREATE INDEX IF NOT EXISTS idx_sessions_user_id ON sessions (user_id);
-- The expiry sweep deletes sessions by expires_at.
CREATE INDEX IF NOT EXISTS idx_sessions_expires_at ON sessions (expires_at);

-- Sign-in methods per user (Better Auth layout).
CREATE TABLE accounts (
    id                       TEXT NOT NULL PRIMARY KEY,
    user_id                  TEXT NOT NULL,
    provider_id              TEXT NOT NULL,
    account_id               TEXT NOT NULL,
    access_token             TEXT,
    refresh_token            TEXT,
    access_token_expires_at  TEXT,
    refresh_token_expires_at TEXT,
    scope                    TEXT,
    id_token                 TEXT,
    password                 TEXT,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL,
    UNIQUE (provider_id, account_id),
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_accounts_user_id ON accounts (user_id);

-- One-time proofs (email verification, password reset), Better Auth layout.
CREATE TABLE verifications (
    id         TEXT NOT NULL PRIMARY KEY,
    identifier TEXT NOT NULL,
    value      TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- Proofs are taken by identifier and swept by expiry.
CREATE INDEX IF NOT EXISTS idx_verifications_identifier ON verifications (identifier);
CREATE INDEX IF NOT EXISTS idx_verifications_expires_at ON verifications (expires_at);

-- New: personal API tokens for integrators' scripts (Authorization: Bearer). Not in the
-- original, which only had sessions. Only a hash of each token is stored.
CREATE TABLE api_tokens (
    id           TEXT NOT NULL PRIMARY KEY,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    -- SHA-256 hex of the token; the token itself is shown once at creation and never stored.
    token_hash   TEXT NOT NULL,
    -- First characters of the token, shown in lists so a user can tell tokens apart.
    token_prefix TEXT NOT NULL,
    last_used_at TEXT,
    expires_at   TEXT,
    revoked_at   TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (token_hash),
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_api_tokens_user_id ON api_tokens (user_id);
