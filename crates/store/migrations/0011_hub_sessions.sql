-- Hub socket authentication: every nonce a hub signed its hello with, so that no hello
-- is accepted twice (a replay within the 5-minute window). Rows older than the window
-- are deleted by the housekeeping sweep.
CREATE TABLE hub_nonces (
    hub_id  TEXT NOT NULL,
    nonce   TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (hub_id, nonce),
    FOREIGN KEY (hub_id) REFERENCES hubs (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_hub_nonces_seen_at ON hub_nonces (seen_at);
