//! Export and restore of a whole farm: `printfarm export` writes it as JSON lines plus
//! its stored objects; `printfarm import --from` puts it on another server (another
//! database, another file store, another encryption key) with the same ids, so every
//! answer of the API is the same there.
//!
//! An export is a folder:
//!
//! ```text
//! manifest.json            what is in it: the farm, each table's columns and row count,
//!                          each object's size and SHA-256, the schema's migration
//! tables/<table>.jsonl     one row per line, {"column": value}
//! objects/<key>            the farm's print files, thumbnails and images, by key
//! ```
//!
//! Sealed secrets (printer access codes, camera passwords, the shop's credentials,
//! webhook secrets, the hub token and hub keys) cannot be opened without the server's
//! key, which stays on the server. The export opens each and seals it again with a new
//! key of its own, written to a key file kept apart from the folder (`<folder>.key` by
//! default); the restore opens them with that key and seals them with the new server's.
//! Without the key file the export's secrets are useless, which is the point: a copy of
//! the folder alone gives nobody a printer's access code.

mod export;
mod restore;

pub(crate) use export::copy_objects;
pub use export::{ExportOptions, ExportReport, export};
pub use restore::{RestoreOptions, RestoreReport, restore};
pub(crate) use restore::{check_objects, store_objects};

use std::path::{Path, PathBuf};

use domain::TenantId;
use serde::{Deserialize, Serialize};
use store::StoreError;
use store::copy::Scope;
use store::import::Kind;

/// What an export folder says it is.
pub const FORMAT: &str = "printfarm-farm-export";
/// The folder layout's version: a restore refuses one it does not know.
pub const FORMAT_VERSION: u32 = 1;

/// Why an export or a restore did not run (nothing was written).
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// No farm has the name.
    #[error("no farm is named '{0}'")]
    NoFarm(String),
    /// Several farms have the name.
    #[error("several farms are named '{0}' ({1}): name it by its subdomain")]
    AmbiguousFarm(String, String),
    /// The folder to write is there and not empty.
    #[error("{0} is not empty: write into a new folder")]
    NotEmpty(PathBuf),
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The folder is not an export this release can restore.
    #[error("{0}")]
    NotAnExport(String),
    /// The key file is missing or wrong.
    #[error("{0}")]
    Key(String),
    /// The target server holds something the farm's rows need to be theirs.
    #[error("{0}; nothing was restored")]
    Clash(String),
    /// An exported file does not match the manifest.
    #[error("{0}; nothing was restored")]
    Damaged(String),
    /// A tool or setting the copy needs is missing or failed (pg_dump, the file store).
    #[error("{0}")]
    Tool(String),
    /// The database refused.
    #[error("the database: {0}")]
    Store(#[from] StoreError),
    /// The file store refused.
    #[error("the file store: {0}")]
    Objects(#[from] object_store::Error),
}

/// A table a copy carries, in the order a restore writes them (each after what it refers to).
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// The table.
    pub name: &'static str,
    /// Which rows are the farm's.
    pub scope: Scope,
    /// The key the rows are written in order of (a stable, comparable file).
    pub order: &'static [&'static str],
    /// References to a table written later (a cycle): restored as NULL first, then set.
    pub late: &'static [&'static str],
}

const fn spec(name: &'static str) -> TableSpec {
    TableSpec {
        name,
        scope: Scope::Farm,
        order: &["id"],
        late: &[],
    }
}

/// Every table a copy carries.
pub const TABLES: &[TableSpec] = &[
    TableSpec {
        scope: Scope::TheFarm,
        ..spec("tenants")
    },
    TableSpec {
        scope: Scope::Users,
        ..spec("users")
    },
    spec("tenant_members"),
    TableSpec {
        scope: Scope::MembersOwn,
        ..spec("api_tokens")
    },
    TableSpec {
        order: &["sequence"],
        ..spec("tenant_counters")
    },
    spec("tenant_invitations"),
    spec("hubs"),
    spec("printers"),
    spec("cameras"),
    spec("color_presets"),
    spec("build_plate_types"),
    spec("products"),
    spec("product_skus"),
    TableSpec {
        scope: Scope::Through {
            column: "product_id",
            parent: "products",
        },
        ..spec("product_components")
    },
    spec("product_templates"),
    spec("print_files"),
    TableSpec {
        scope: Scope::Through {
            column: "print_file_id",
            parent: "print_files",
        },
        ..spec("print_file_versions")
    },
    spec("wiki_articles"),
    spec("orders"),
    // A job names its order line, the line its finished good, the good its job.
    TableSpec {
        late: &["order_item_id"],
        ..spec("print_jobs")
    },
    spec("finished_goods"),
    TableSpec {
        scope: Scope::Through {
            column: "order_id",
            parent: "orders",
        },
        ..spec("order_items")
    },
    spec("assembly_tasks"),
    spec("worklist_tasks"),
    spec("printer_failures"),
    spec("material_usage_history"),
    spec("tenant_integrations"),
    spec("shopify_orders_sync"),
    spec("filament_inventory"),
    spec("packaging_inventory"),
    spec("accessories_inventory"),
    spec("printer_parts_inventory"),
    spec("automation_rules"),
    spec("automation_runs"),
    spec("notification_channels"),
    spec("notification_log"),
    spec("sync_logs"),
    spec("audit_logs"),
    TableSpec {
        order: &["event_id"],
        ..spec("handled_events")
    },
    TableSpec {
        order: &["platform", "delivery_id"],
        ..spec("webhook_deliveries")
    },
    spec("dead_letter_messages"),
];

/// The schema's tables a copy leaves out, and why.
pub const NOT_COPIED: &[(&str, &str)] = &[
    (
        "sessions",
        "sign-in sessions: everyone signs in again on the new server",
    ),
    ("accounts", "sign-in with other providers, unused"),
    ("verifications", "email and password-reset links in flight"),
    (
        "queue_messages",
        "work in flight on the old server (export a quiet farm)",
    ),
    ("hub_nonces", "the hub hello replay guard, minutes long"),
    ("server_nodes", "the old server's nodes"),
    (
        "daily_analytics",
        "analytics cache, rebuilt from the rows when read",
    ),
    (
        "daily_printer_analytics",
        "analytics cache, rebuilt from the rows when read",
    ),
    (
        "daily_failure_analytics",
        "analytics cache, rebuilt from the rows when read",
    ),
    (
        "daily_platform_analytics",
        "analytics cache, rebuilt from the rows when read",
    ),
    (
        "daily_material_analytics",
        "analytics cache, rebuilt from the rows when read",
    ),
    (
        "monthly_analytics",
        "analytics cache, rebuilt from the rows when read",
    ),
    (
        "monthly_printer_analytics",
        "analytics cache, rebuilt from the rows when read",
    ),
];

/// A column holding a sealed secret, and what it is sealed to.
struct Sealed {
    table: &'static str,
    column: &'static str,
    /// What the stored text starts with before the sealed part (`sealed:` for camera
    /// URLs, which are plain when they carry no password).
    prefix: &'static str,
    context: fn(&TenantId, &str) -> String,
}

/// Every sealed column of the farm's tables.
const SEALED: &[Sealed] = &[
    Sealed {
        table: "tenants",
        column: "hub_token_encrypted",
        prefix: "",
        context: |t, _| server::tenants::hub_token_context(t),
    },
    Sealed {
        table: "hubs",
        column: "hello_key_sealed",
        prefix: "",
        context: |_, id| store::hubs::key_context(id),
    },
    Sealed {
        table: "printers",
        column: "access_code",
        prefix: "",
        context: server::farm::commands::access_code_context,
    },
    Sealed {
        table: "cameras",
        column: "stream_url",
        prefix: server::cameras::SEALED_URL,
        context: |t, id| server::cameras::secret_context(t, id, "stream_url"),
    },
    Sealed {
        table: "cameras",
        column: "snapshot_url",
        prefix: server::cameras::SEALED_URL,
        context: |t, id| server::cameras::secret_context(t, id, "snapshot_url"),
    },
    Sealed {
        table: "cameras",
        column: "password",
        prefix: "",
        context: |t, id| server::cameras::secret_context(t, id, "password"),
    },
    Sealed {
        table: "tenant_integrations",
        column: "credentials_encrypted",
        prefix: "",
        context: |t, _| server::shopify::sealing_context(t),
    },
    Sealed {
        table: "notification_channels",
        column: "target_sealed",
        prefix: "",
        context: |t, id| server::notify::secret_context(t, id, "url"),
    },
    Sealed {
        table: "notification_channels",
        column: "secret_sealed",
        prefix: "",
        context: |t, id| server::notify::secret_context(t, id, "secret"),
    },
];

/// One sealed column found in a table's columns.
struct SealedColumn {
    index: usize,
    spec: &'static Sealed,
}

/// Where a table's sealed columns and its `id` are among its columns.
pub(crate) struct TableSecrets {
    sealed: Vec<SealedColumn>,
    id: Option<usize>,
}

impl TableSecrets {
    /// The sealed columns among `columns` of `table`.
    pub(crate) fn of(table: &str, columns: &[String]) -> TableSecrets {
        let sealed = SEALED
            .iter()
            .filter(|s| s.table == table)
            .filter_map(|spec| {
                columns
                    .iter()
                    .position(|c| c == spec.column)
                    .map(|index| SealedColumn { index, spec })
            })
            .collect();
        TableSecrets {
            sealed,
            id: columns.iter().position(|c| c == "id"),
        }
    }

    /// Where the row's `id` is.
    pub(crate) fn id(&self) -> Option<usize> {
        self.id
    }
}

/// Secrets of one farm opened with one key and sealed with another.
pub(crate) struct Rekey<'a> {
    /// The farm (every context names it).
    pub tenant: &'a TenantId,
    /// The key they are sealed with now.
    pub from: &'a store::secrets::Cipher,
    /// The key they are to be sealed with.
    pub to: &'a store::secrets::Cipher,
}

impl Rekey<'_> {
    /// Opens each sealed value of `row` and seals it again; the number re-sealed. A value
    /// that does not open is left as it is and named in `problems` (the old server could
    /// not open it either).
    pub(crate) fn row(
        &self,
        table: &str,
        row: &mut [Option<String>],
        secrets: &TableSecrets,
        problems: &mut Vec<String>,
    ) -> u64 {
        let row_id = if table == "tenants" {
            self.tenant.to_string()
        } else {
            secrets
                .id
                .and_then(|i| row.get(i).cloned().flatten())
                .unwrap_or_default()
        };
        let mut n = 0;
        for column in &secrets.sealed {
            let Some(Some(value)) = row.get(column.index) else {
                continue;
            };
            let Some(body) = value.strip_prefix(column.spec.prefix) else {
                continue;
            };
            if table == "hubs" && is_plain_hello_key(body) {
                // An older server's plain key: the new server seals it when it starts.
                continue;
            }
            let context = (column.spec.context)(self.tenant, &row_id);
            match self.from.open(body, &context) {
                Ok(plain) => {
                    let resealed =
                        format!("{}{}", column.spec.prefix, self.to.seal(&plain, &context));
                    row[column.index] = Some(resealed);
                    n += 1;
                }
                Err(_) => problems.push(format!(
                    "{table} {row_id}: the {} does not open; carried as it was",
                    column.spec.column
                )),
            }
        }
        n
    }
}

/// A hub key an older release stored unsealed (64 hex digits).
fn is_plain_hello_key(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What a manifest says of a table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableFile {
    /// The table.
    pub name: String,
    /// Its columns, in the order of the rows' keys.
    pub columns: Vec<ColumnLine>,
    /// How many rows the file holds.
    pub rows: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// A column in a manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnLine {
    /// Its name.
    pub name: String,
    /// `text`, `int` or `real`.
    pub kind: String,
}

/// A stored object in a manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ObjectLine {
    /// Its key (`{farm}/files/...`).
    pub key: String,
    /// Its size.
    pub bytes: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// The farm an export holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FarmLine {
    /// Its id.
    pub id: String,
    /// Its subdomain.
    pub subdomain: String,
    /// Its name.
    pub name: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// The release that wrote it.
    pub printfarm_version: String,
    /// The last migration of the database it was read from.
    pub migration: i64,
    /// When.
    pub exported_at: String,
    /// The farm.
    pub farm: FarmLine,
    /// Its tables, in restore order.
    pub tables: Vec<TableFile>,
    /// Its stored objects.
    pub objects: Vec<ObjectLine>,
    /// How many secrets were sealed with the export's key.
    pub sealed_secrets: u64,
    /// The first 16 hex digits of the key's SHA-256: tells the right key file from another.
    pub key_id: String,
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text",
        Kind::Int => "int",
        Kind::Real => "real",
    }
}

fn kind_from(name: &str) -> Option<Kind> {
    match name {
        "text" => Some(Kind::Text),
        "int" => Some(Kind::Int),
        "real" => Some(Kind::Real),
        _ => None,
    }
}

/// A stored text as JSON: numbers for numeric columns, so the file reads naturally.
fn to_json(kind: Kind, value: Option<String>) -> serde_json::Value {
    use serde_json::Value;
    let Some(text) = value else {
        return Value::Null;
    };
    match kind {
        Kind::Int => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(Value::String(text)),
        Kind::Real => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::String(text)),
        Kind::Text => Value::String(text),
    }
}

/// A JSON value back as the text bound for its column.
fn from_json(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        other => Some(other.to_string()),
    }
}

/// The key file's identity as the manifest records it.
pub(crate) fn key_id(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.trim().as_bytes()))[..16].to_string()
}

/// The default key file of an export folder: beside it, never in it.
pub fn default_key_file(folder: &Path) -> PathBuf {
    let name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    folder.with_file_name(format!("{name}.key"))
}

/// Where an object's file is in an export folder; `None` for a key that would leave it.
fn object_path(folder: &Path, key: &str) -> Option<PathBuf> {
    let safe = !key.is_empty()
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && !key.contains('\\');
    safe.then(|| folder.join("objects").join(key))
}

/// SHA-256 of a file, read in parts.
pub(crate) async fn file_sha256(path: &Path) -> Result<(String, u64), CopyError> {
    use sha2::Digest;
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| CopyError::Io(path.to_path_buf(), e))?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = file
            .read(&mut buffer)
            .await
            .map_err(|e| CopyError::Io(path.to_path_buf(), e))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buffer[..n]);
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// The farm by subdomain or name.
async fn find_farm(
    app: &server::app::App,
    name: &str,
) -> Result<store::tenants::Tenant, CopyError> {
    let mut conn = app.store.conn().await?;
    let mut found = store::tenants::find_by_name(&mut conn, name.trim()).await?;
    match found.len() {
        0 => Err(CopyError::NoFarm(name.to_string())),
        1 => Ok(found.remove(0)),
        _ => Err(CopyError::AmbiguousFarm(
            name.to_string(),
            found
                .iter()
                .map(|t| t.subdomain.clone())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_the_json_file() {
        for (kind, text) in [
            (Kind::Int, "42"),
            (Kind::Int, "-7"),
            (Kind::Real, "0.4"),
            (Kind::Real, "1234.5678"),
            (Kind::Real, "3"),
            (Kind::Text, "PLA Basic"),
            (Kind::Text, "{\"a\":1}"),
            (Kind::Text, ""),
        ] {
            let json = to_json(kind, Some(text.into()));
            let back = from_json(&json);
            assert!(
                store::import::same_value(kind, back.as_deref(), Some(text)),
                "{kind:?} {text} -> {json} -> {back:?}"
            );
        }
        assert_eq!(from_json(&to_json(Kind::Text, None)), None);
        // Text in a numeric column (SQLite allows it) is kept as text.
        assert_eq!(
            from_json(&to_json(Kind::Int, Some("n/a".into()))),
            Some("n/a".into())
        );
    }

    #[test]
    fn object_keys_cannot_leave_the_folder() {
        let folder = Path::new("/backups/farm");
        assert_eq!(
            object_path(folder, "t1/files/f1/ab/x.3mf"),
            Some(PathBuf::from("/backups/farm/objects/t1/files/f1/ab/x.3mf"))
        );
        for bad in ["../etc/passwd", "t1/../../x", "/abs", "t1//x", "", "t1\\x"] {
            assert_eq!(object_path(folder, bad), None, "{bad}");
        }
    }

    #[test]
    fn the_key_file_sits_beside_the_folder() {
        assert_eq!(
            default_key_file(Path::new("/backups/farm-2026-12-04")),
            PathBuf::from("/backups/farm-2026-12-04.key")
        );
    }

    #[test]
    fn secrets_are_sealed_again_with_the_other_key_and_open_there() {
        let tenant = TenantId::from_stored("t1".to_string());
        let server_a = store::secrets::Cipher::from_base64(&store::secrets::Cipher::generate_key())
            .expect("key");
        let export_key =
            store::secrets::Cipher::from_base64(&store::secrets::Cipher::generate_key())
                .expect("key");
        let columns: Vec<String> = ["id", "tenant_id", "access_code"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let context = server::farm::commands::access_code_context(&tenant, "p1");
        let mut row = vec![
            Some("p1".to_string()),
            Some("t1".to_string()),
            Some(server_a.seal("12345678", &context)),
        ];
        let secrets = TableSecrets::of("printers", &columns);
        let rekey = Rekey {
            tenant: &tenant,
            from: &server_a,
            to: &export_key,
        };
        let mut problems = Vec::new();
        let n = rekey.row("printers", &mut row, &secrets, &mut problems);
        assert_eq!((n, problems.len()), (1, 0));
        let stored = row[2].clone().expect("sealed");
        assert!(!stored.contains("12345678"));
        assert_eq!(
            export_key.open(&stored, &context).expect("opens"),
            "12345678"
        );
        assert!(server_a.open(&stored, &context).is_err());
        // A value the old key cannot open is carried as it was, and named.
        let mut bad = vec![Some("p2".into()), Some("t1".into()), Some("garbage".into())];
        let n = rekey.row("printers", &mut bad, &secrets, &mut problems);
        assert_eq!(n, 0);
        assert_eq!(bad[2].as_deref(), Some("garbage"));
        assert_eq!(problems.len(), 1);
    }
}
