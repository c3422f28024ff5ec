-- PrintFarm schema, part 2: hubs, printers, cameras and printer set-up lists.
-- Conventions: see the header of 0001_accounts_and_tenants.sql.

-- A hub is registered with an id and a secret (only the hash is kept in secret_hash), then
-- claimed by a farm (tenant_id); an unclaimed hub has tenant_id NULL.
CREATE TABLE hubs (
    id               TEXT NOT NULL PRIMARY KEY,
    tenant_id        TEXT,
    name             TEXT,
    secret_hash      TEXT NOT NULL,
    firmware_version TEXT,
    hardware_version TEXT,
    is_online        BIGINT NOT NULL DEFAULT 0,
    last_seen_at     TEXT,
    ip_address       TEXT,
    mac_address      TEXT,
    claimed_at       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_hubs_tenant ON hubs (tenant_id);

CREATE TABLE printers (
    id                      TEXT NOT NULL PRIMARY KEY,
    tenant_id               TEXT NOT NULL,
    hub_id                  TEXT,
    name                    TEXT NOT NULL,
    model                   TEXT NOT NULL,
    manufacturer            TEXT,
    firmware_version        TEXT,
    total_print_time        BIGINT NOT NULL DEFAULT 0,
    last_maintenance_date   TEXT,
    status                  TEXT NOT NULL DEFAULT 'idle',
    current_color           TEXT,
    current_color_hex       TEXT,
    current_filament_type   TEXT,
    current_build_plate     TEXT,
    filament_level          BIGINT NOT NULL DEFAULT 0,
    nozzle_size             DOUBLE PRECISION,
    location                TEXT,
    connection_type         TEXT NOT NULL DEFAULT 'bambu',
    ip_address              TEXT,
    serial_number           TEXT,
    -- Encrypted at rest by the application (AES-256-GCM), never plain text.
    access_code             TEXT,
    is_connected            BIGINT NOT NULL DEFAULT 0,
    last_connection_attempt TEXT,
    connection_error        TEXT,
    is_active               BIGINT NOT NULL DEFAULT 1,
    cleared                 BIGINT NOT NULL DEFAULT 1,
    sort_order              BIGINT NOT NULL DEFAULT 0,
    -- The farm's own numeric printer number (not a foreign key).
    printer_id              BIGINT,
    in_maintenance          BIGINT NOT NULL DEFAULT 0,
    maintenance_type        TEXT,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    UNIQUE (tenant_id, printer_id),
    UNIQUE (tenant_id, name),
    CHECK (status IN ('idle', 'printing', 'paused', 'maintenance', 'offline', 'error')),
    CHECK (connection_type IN ('bambu', 'prusa', 'octoprint', 'klipper', 'other')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (hub_id) REFERENCES hubs (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_printers_tenant_status ON printers (tenant_id, status);
-- Hubs report printers by serial number.
CREATE INDEX IF NOT EXISTS idx_printers_serial_number ON printers (serial_number);
CREATE INDEX IF NOT EXISTS idx_printers_hub_id ON printers (hub_id);

CREATE TABLE cameras (
    id               TEXT NOT NULL PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT,
    printer_id       TEXT,
    hub_id           TEXT,
    camera_type      TEXT NOT NULL DEFAULT 'ip',
    stream_url       TEXT,
    snapshot_url     TEXT,
    ip_address       TEXT,
    port             BIGINT,
    username         TEXT,
    -- Encrypted at rest by the application (AES-256-GCM), never plain text.
    password         TEXT,
    serial_number    TEXT,
    is_active        BIGINT NOT NULL DEFAULT 1,
    is_online        BIGINT NOT NULL DEFAULT 0,
    last_snapshot_at TEXT,
    last_error       TEXT,
    rotation         BIGINT NOT NULL DEFAULT 0,
    flip_horizontal  BIGINT NOT NULL DEFAULT 0,
    flip_vertical    BIGINT NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK (camera_type IN ('bambu', 'ip', 'usb', 'rtsp', 'mjpeg')),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (printer_id) REFERENCES printers (id) ON DELETE SET NULL,
    FOREIGN KEY (hub_id) REFERENCES hubs (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_cameras_tenant ON cameras (tenant_id);
CREATE INDEX IF NOT EXISTS idx_cameras_printer_id ON cameras (printer_id);
CREATE INDEX IF NOT EXISTS idx_cameras_hub_id ON cameras (hub_id);

CREATE TABLE color_presets (
    id            TEXT NOT NULL PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    color_name    TEXT NOT NULL,
    hex_code      TEXT NOT NULL,
    filament_type TEXT NOT NULL,
    is_active     BIGINT NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    UNIQUE (tenant_id, color_name, filament_type),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE TABLE build_plate_types (
    id          TEXT NOT NULL PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    is_active   BIGINT NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
