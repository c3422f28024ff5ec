//! Backups of a whole installation, and their restore: `printfarm backup --to DIR` and
//! `printfarm restore --from DIR`.
//!
//! A backup is a folder:
//!
//! ```text
//! backup.json          what is in it (written last: a folder without it is unfinished)
//! database.sqlite      SQLite: one consistent snapshot (VACUUM INTO), taken while the
//!                      server runs
//! database.pgdump      PostgreSQL: pg_dump's custom format, also taken while it runs
//! encryption.key       the key the database's secrets are sealed with, when it is the
//!                      data directory's key file (a key given in settings stays there)
//! objects/<key>        every object of the file store: print files, thumbnails, pictures
//! ```
//!
//! Unlike `printfarm export` (one farm, re-sealed with a key kept apart), a backup is the
//! installation as it is, key included: keep it as private as the server's own disk.
//!
//! The database is copied first and the objects after it, so every object its rows name
//! is in the backup (an object made in between is in it too, and harmless). A restore
//! checks every file against the manifest, refuses a database of the other kind, a newer
//! schema, a server still running on the target, a target that holds a farm (unless told
//! to replace it) and a key that would not open the secrets; then it stores the objects,
//! the key and the database, in that order, and brings the schema up to this release.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use server::file_store::FileStore;
use server::settings::Settings;
use store::Dialect;

use crate::farm::{CopyError, ObjectLine};

/// What a backup folder says it is.
pub const FORMAT: &str = "printfarm-backup";
/// The folder layout's version: a restore refuses one it does not know.
pub const FORMAT_VERSION: u32 = 1;
const MANIFEST: &str = "backup.json";
const KEY_FILE: &str = "encryption.key";

/// A backup folder's manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupManifest {
    /// [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// The release that wrote it.
    pub printfarm_version: String,
    /// When it was taken.
    pub created_at: String,
    /// The database copy.
    pub database: DatabaseCopy,
    /// The encryption key's fingerprint (not the key), and whether the key is in the folder.
    pub encryption_key: KeyCopy,
    /// Every object of the file store.
    pub objects: Vec<ObjectLine>,
}

/// The database in a backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseCopy {
    /// `sqlite` or `postgres`.
    pub kind: String,
    /// Its file in the folder.
    pub file: String,
    /// Its size.
    pub bytes: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// The newest migration applied to it.
    pub schema_version: i64,
}

/// The key in a backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyCopy {
    /// The first 16 hex digits of the key's SHA-256: which key, without the key.
    pub fingerprint: String,
    /// Whether `encryption.key` is in the folder.
    pub included: bool,
}

/// What `printfarm backup` reports.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    /// The folder written.
    pub folder: String,
    /// The database copy.
    pub database: DatabaseCopy,
    /// Objects copied.
    pub objects: usize,
    /// Their bytes.
    pub object_bytes: u64,
    /// Whether the key is in the folder.
    pub key_included: bool,
    /// How long it took, in milliseconds.
    pub took_ms: u128,
}

impl BackupReport {
    /// The report in words.
    pub fn text(&self) -> String {
        let key = if self.key_included {
            "the encryption key is in it: keep the folder private".to_string()
        } else {
            "the encryption key is in your settings, not in the folder: keep it with the backup"
                .to_string()
        };
        format!(
            "Backed up to {}: the {} database (schema {}, {} bytes), {} objects ({} bytes), in {} ms; {key}.\n",
            self.folder,
            self.database.kind,
            self.database.schema_version,
            self.database.bytes,
            self.objects,
            self.object_bytes,
            self.took_ms
        )
    }
}

/// Writes a backup of the installation `settings` describe into the new folder `to`.
pub async fn backup(settings: &Settings, to: &Path) -> Result<BackupReport, CopyError> {
    let started = Instant::now();
    let url = settings.database_url();
    let dialect = store::backup::dialect_of(&url)?;
    let found = store::backup::inspect(&url, &store::now_text()).await?;
    let schema_version = found.schema_version.ok_or_else(|| {
        CopyError::NotAnExport(format!(
            "no PrintFarm database at {}: nothing to back up",
            server::settings::redact_url(&url)
        ))
    })?;
    let (key, key_included) = current_key(settings)?;
    prepare_folder(to)?;

    let file = match dialect {
        Dialect::Sqlite => {
            let file = to.join("database.sqlite");
            store::backup::sqlite_snapshot(&url, &file).await?;
            file
        }
        Dialect::Postgres => {
            let file = to.join("database.pgdump");
            let mut command = postgres_tool("pg_dump", &url)?;
            command
                .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                .arg(&file);
            run(command, "pg_dump").await?;
            file
        }
    };
    let (sha256, bytes) = crate::farm::file_sha256(&file).await?;
    let database = DatabaseCopy {
        kind: kind_name(dialect).into(),
        file: file_name(&file),
        bytes,
        sha256,
        schema_version,
    };
    if key_included {
        write_private(&to.join(KEY_FILE), key.as_bytes())?;
    }
    let files = FileStore::from_settings(settings).map_err(|e| CopyError::Tool(e.to_string()))?;
    let objects = crate::farm::copy_objects(&files, "", to).await?;
    let manifest = BackupManifest {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        printfarm_version: env!("CARGO_PKG_VERSION").into(),
        created_at: store::now_text(),
        database: database.clone(),
        encryption_key: KeyCopy {
            fingerprint: crate::farm::key_id(&key),
            included: key_included,
        },
        objects,
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| CopyError::Tool(e.to_string()))?;
    write_private(&to.join(MANIFEST), &text)?;
    Ok(BackupReport {
        folder: to.display().to_string(),
        database,
        objects: manifest.objects.len(),
        object_bytes: manifest.objects.iter().map(|o| o.bytes).sum(),
        key_included,
        took_ms: started.elapsed().as_millis(),
    })
}

/// What `printfarm restore` reports.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// The folder restored from.
    pub folder: String,
    /// When the backup was taken.
    pub backup_taken_at: String,
    /// The schema the backup had, and the one the database has now.
    pub schema_version_before: i64,
    /// After the restore's migrations.
    pub schema_version_after: i64,
    /// Objects stored.
    pub objects: usize,
    /// Rows of the tables a person checks first, as restored.
    pub rows: Vec<(String, i64)>,
    /// How long it took, in milliseconds.
    pub took_ms: u128,
}

impl RestoreReport {
    /// The report in words.
    pub fn text(&self) -> String {
        let rows: Vec<String> = self.rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
        format!(
            "Restored the backup of {} from {}: schema {} brought to {}, {} objects; rows: {}; in {} ms.\n",
            self.backup_taken_at,
            self.folder,
            self.schema_version_before,
            self.schema_version_after,
            self.objects,
            rows.join(", "),
            self.took_ms
        )
    }
}

/// Restores the backup in `from` onto the installation `settings` describe. `replace`
/// allows a target database that already holds a PrintFarm (it is overwritten).
pub async fn restore(
    settings: &Settings,
    from: &Path,
    replace: bool,
) -> Result<RestoreReport, CopyError> {
    let started = Instant::now();
    let manifest = read_manifest(from)?;
    let url = settings.database_url();
    let dialect = store::backup::dialect_of(&url)?;
    if manifest.database.kind != kind_name(dialect) {
        return Err(CopyError::Clash(format!(
            "the backup is of a {} database and the settings name a {} one: restore it onto {0}, \
             or move farms across with `printfarm export` and `printfarm import`",
            manifest.database.kind,
            kind_name(dialect)
        )));
    }
    let newest = store::backup::latest_migration();
    if manifest.database.schema_version > newest {
        return Err(CopyError::Clash(format!(
            "the backup's schema ({}) is newer than this release knows ({newest}): restore it with PrintFarm {} or later",
            manifest.database.schema_version, manifest.printfarm_version
        )));
    }
    let database_file = from.join(&manifest.database.file);
    if manifest.database.file.contains('/') || manifest.database.file.contains("..") {
        return Err(CopyError::NotAnExport(format!(
            "the manifest names the database file '{}', which is not in the folder",
            manifest.database.file
        )));
    }
    let (sha256, bytes) = crate::farm::file_sha256(&database_file).await?;
    if sha256 != manifest.database.sha256 || bytes != manifest.database.bytes {
        return Err(CopyError::Damaged(format!(
            "{} is not the database the backup wrote (its size or SHA-256 differs)",
            database_file.display()
        )));
    }
    crate::farm::check_objects(from, &manifest.objects, "").await?;
    let key = backup_key(settings, from, &manifest, replace)?;

    let found = store::backup::inspect(&url, &store::now_text()).await?;
    if !found.live_nodes.is_empty() {
        return Err(CopyError::Clash(format!(
            "a server is running on {} (node {}): stop it first",
            server::settings::redact_url(&url),
            found.live_nodes.join(", ")
        )));
    }
    if let Some(there) = found
        .schema_version
        .filter(|v| *v > manifest.database.schema_version)
        && dialect == Dialect::Postgres
    {
        // pg_restore replaces what the dump holds; the newer schema's own tables would stay.
        return Err(CopyError::Clash(format!(
            "{} has a newer schema ({there}) than the backup ({}): restore it into an empty database",
            server::settings::redact_url(&url),
            manifest.database.schema_version
        )));
    }
    if found.tables > 0 && !replace {
        let what = match found.schema_version {
            Some(version) => format!("a PrintFarm database (schema {version})"),
            None => format!("{} tables", found.tables),
        };
        return Err(CopyError::Clash(format!(
            "{} already holds {what}: restore with --replace to overwrite it",
            server::settings::redact_url(&url)
        )));
    }

    // Objects first, then the key, then the database: a server started half way never
    // finds rows whose files are missing.
    let files = FileStore::from_settings(settings).map_err(|e| CopyError::Tool(e.to_string()))?;
    let mut stored = Vec::new();
    crate::farm::store_objects(&files, from, &manifest.objects, &mut stored).await?;
    if let Some(key) = key {
        std::fs::create_dir_all(&settings.data_dir)
            .map_err(|e| CopyError::Io(settings.data_dir.clone(), e))?;
        replace_file(&settings.data_dir.join(KEY_FILE), key.as_bytes())?;
    }
    match dialect {
        Dialect::Sqlite => restore_sqlite(&url, &database_file)?,
        Dialect::Postgres => {
            let mut command = postgres_tool("pg_restore", &url)?;
            command
                .args([
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    "--exit-on-error",
                ])
                .arg(&database_file);
            run(command, "pg_restore").await?;
        }
    }
    let migrated = store::Store::open(&url).await?;
    migrated.close().await;
    store::backup::end_leases(&url, &store::now_text()).await?;
    let after = store::backup::inspect(&url, &store::now_text()).await?;
    let rows = store::backup::headline_counts(&url)
        .await?
        .into_iter()
        .map(|(t, n)| (t.to_string(), n))
        .collect();
    Ok(RestoreReport {
        folder: from.display().to_string(),
        backup_taken_at: manifest.created_at,
        schema_version_before: manifest.database.schema_version,
        schema_version_after: after.schema_version.unwrap_or_default(),
        objects: stored.len(),
        rows,
        took_ms: started.elapsed().as_millis(),
    })
}

fn kind_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "sqlite",
        Dialect::Postgres => "postgres",
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The key the database's secrets are sealed with, and whether it is the data directory's
/// key file (which the backup carries) rather than a setting.
fn current_key(settings: &Settings) -> Result<(String, bool), CopyError> {
    if let Some(key) = &settings.encryption_key {
        return Ok((key.trim().to_string(), false));
    }
    let path = settings.data_dir.join(KEY_FILE);
    let key = std::fs::read_to_string(&path).map_err(|e| CopyError::Io(path.clone(), e))?;
    Ok((key.trim().to_string(), true))
}

/// Which key the restored server will open the secrets with: the backup's key to write
/// into the data directory, or none when the settings already hold the right one.
fn backup_key(
    settings: &Settings,
    from: &Path,
    manifest: &BackupManifest,
    replace: bool,
) -> Result<Option<String>, CopyError> {
    let wanted = &manifest.encryption_key.fingerprint;
    if let Some(key) = &settings.encryption_key {
        if &crate::farm::key_id(key) == wanted {
            return Ok(None);
        }
        return Err(CopyError::Key(format!(
            "the encryption key in the settings is not the backup's (fingerprint {wanted}): \
             its secrets would not open; set the backup's key, or remove the setting{}",
            if manifest.encryption_key.included {
                " to use the key in the backup"
            } else {
                ""
            }
        )));
    }
    if !manifest.encryption_key.included {
        return Err(CopyError::Key(format!(
            "the backup's secrets are sealed with a key from its server's settings (fingerprint \
             {wanted}), not in the folder: set PRINTFARM_ENCRYPTION_KEY to it"
        )));
    }
    let path = from.join(KEY_FILE);
    let key = std::fs::read_to_string(&path).map_err(|e| CopyError::Io(path.clone(), e))?;
    let key = key.trim().to_string();
    if &crate::farm::key_id(&key) != wanted {
        return Err(CopyError::Damaged(format!(
            "{} is not the key the backup wrote",
            path.display()
        )));
    }
    let existing = settings.data_dir.join(KEY_FILE);
    if let Ok(there) = std::fs::read_to_string(&existing)
        && crate::farm::key_id(&there) != *wanted
        && !replace
    {
        return Err(CopyError::Clash(format!(
            "{} holds another key: restore with --replace to overwrite it (with the database)",
            existing.display()
        )));
    }
    Ok(Some(key))
}

fn read_manifest(from: &Path) -> Result<BackupManifest, CopyError> {
    let path = from.join(MANIFEST);
    let text = std::fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CopyError::NotAnExport(format!(
                "{} has no {MANIFEST}: not a backup, or one that did not finish",
                from.display()
            ))
        } else {
            CopyError::Io(path.clone(), e)
        }
    })?;
    let manifest: BackupManifest = serde_json::from_slice(&text)
        .map_err(|e| CopyError::NotAnExport(format!("{}: {e}", path.display())))?;
    if manifest.format != FORMAT || manifest.version != FORMAT_VERSION {
        return Err(CopyError::NotAnExport(format!(
            "{} is a {} version {}; this release restores {FORMAT} version {FORMAT_VERSION}",
            path.display(),
            manifest.format,
            manifest.version
        )));
    }
    Ok(manifest)
}

/// The folder must be new or empty; it is made private to its owner.
fn prepare_folder(to: &Path) -> Result<(), CopyError> {
    if to.exists() {
        let mut entries = std::fs::read_dir(to).map_err(|e| CopyError::Io(to.to_path_buf(), e))?;
        if entries.next().is_some() {
            return Err(CopyError::NotEmpty(to.to_path_buf()));
        }
    }
    std::fs::create_dir_all(to).map_err(|e| CopyError::Io(to.to_path_buf(), e))?;
    server::settings::make_private(to).map_err(|e| CopyError::Io(to.to_path_buf(), e))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CopyError> {
    server::settings::write_private(path, bytes).map_err(|e| CopyError::Io(path.to_path_buf(), e))
}

/// Writes `path` whole or not at all: a new file beside it, renamed over it.
fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), CopyError> {
    let new = path.with_extension("restoring");
    let _ = std::fs::remove_file(&new);
    write_private(&new, bytes)?;
    std::fs::rename(&new, path).map_err(|e| CopyError::Io(path.to_path_buf(), e))
}

/// Puts the snapshot in place of the SQLite file: copied beside it, then renamed over it,
/// with the old file's write-ahead log removed (it belongs to the old database).
fn restore_sqlite(url: &str, snapshot: &Path) -> Result<(), CopyError> {
    let target = store::backup::sqlite_file(url)?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CopyError::Io(dir.to_path_buf(), e))?;
    }
    let new = target.with_extension("restoring");
    std::fs::copy(snapshot, &new).map_err(|e| CopyError::Io(new.clone(), e))?;
    std::fs::File::open(&new)
        .and_then(|f| f.sync_all())
        .map_err(|e| CopyError::Io(new.clone(), e))?;
    for suffix in ["-wal", "-shm"] {
        let mut side = target.clone().into_os_string();
        side.push(suffix);
        match std::fs::remove_file(PathBuf::from(&side)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(CopyError::Io(PathBuf::from(side), e));
            }
            _ => {}
        }
    }
    std::fs::rename(&new, &target).map_err(|e| CopyError::Io(target.clone(), e))
}

/// `pg_dump` or `pg_restore` for the database at `url`: the password goes in the
/// environment, never on the command line where `ps` shows it.
fn postgres_tool(tool: &str, url: &str) -> Result<tokio::process::Command, CopyError> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| CopyError::Tool(format!("database URL: {e}")))?;
    let password = parsed.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    let _ = parsed.set_password(None);
    let mut command = tokio::process::Command::new(tool);
    command
        .arg("--dbname")
        .arg(parsed.as_str())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    Ok(command)
}

async fn run(mut command: tokio::process::Command, tool: &str) -> Result<(), CopyError> {
    let output = command.output().await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CopyError::Tool(format!(
                "{tool} is not installed: install PostgreSQL's client tools (Debian: postgresql-client) \
                 of the server's major version or newer"
            ))
        } else {
            CopyError::Tool(format!("{tool}: {e}"))
        }
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(CopyError::Tool(format!(
            "{tool} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}
