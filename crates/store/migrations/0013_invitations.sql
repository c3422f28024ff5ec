-- Invitations to a farm, pending until the invitee accepts them. Inviting creates no
-- account and no membership: the membership is made when the account with this email
-- accepts (by the mailed link or from its list), so an unknown email can still sign up.
CREATE TABLE tenant_invitations (
    id          TEXT NOT NULL PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    -- Trimmed and lower-cased, as users.email.
    email       TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT 'operator',
    invited_by  TEXT,
    -- SHA-256 hex of the link's token (256 random bits); the token is only in the mail.
    token_hash  TEXT NOT NULL,
    -- pending until accepted, declined or revoked; expiry is read from expires_at.
    status      TEXT NOT NULL DEFAULT 'pending',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    accepted_at TEXT,
    -- The account that accepted or declined.
    answered_by TEXT,
    declined_at TEXT,
    revoked_at  TEXT,
    UNIQUE (token_hash),
    CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
    CHECK (status IN ('pending', 'accepted', 'declined', 'revoked')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (invited_by) REFERENCES users (id) ON DELETE SET NULL,
    FOREIGN KEY (answered_by) REFERENCES users (id) ON DELETE SET NULL
);
-- One pending invitation per farm and email: inviting again refreshes it (new link,
-- role and expiry). Partial unique indexes work the same on SQLite and PostgreSQL.
CREATE UNIQUE INDEX IF NOT EXISTS idx_tenant_invitations_one_pending
    ON tenant_invitations (tenant_id, email) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS idx_tenant_invitations_tenant_id_status ON tenant_invitations (tenant_id, status);
-- An invitee's list: their pending invitations by email.
CREATE INDEX IF NOT EXISTS idx_tenant_invitations_email_status ON tenant_invitations (email, status);
CREATE INDEX IF NOT EXISTS idx_tenant_invitations_invited_by ON tenant_invitations (invited_by);
CREATE INDEX IF NOT EXISTS idx_tenant_invitations_answered_by ON tenant_invitations (answered_by);
