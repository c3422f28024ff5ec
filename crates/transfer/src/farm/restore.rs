//! `printfarm import --from`: an export folder onto this server, whole or not at all.
//!
//! Everything is checked before anything is written: the manifest, the key, each file's
//! SHA-256, the columns against this database's, and that the server holds nothing the
//! farm's rows must own (the farm, its subdomain, its hubs; an account of one of its
//! members under another id). Then one transaction writes every row and the objects are
//! stored; a failure rolls the rows back and removes the objects stored.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use server::app::App;
use store::copy::{Column, Scope};
use store::secrets::Cipher;

use super::{
    CopyError, FORMAT, FORMAT_VERSION, FarmLine, Manifest, ObjectLine, Rekey, TABLES, TableFile,
    TableSecrets, TableSpec, file_sha256, from_json, key_id, kind_from, object_path,
};
use crate::report::Check;

/// What to restore.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The export folder.
    pub from: PathBuf,
    /// The export's key file (default: beside the folder).
    pub key_file: Option<PathBuf>,
    /// Draw a progress bar.
    pub progress: bool,
}

/// What a restore wrote.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// The folder.
    pub from: String,
    /// The farm.
    pub farm: FarmLine,
    /// Per table: rows in the export, written, and kept (accounts this server had).
    pub tables: BTreeMap<String, RestoredTable>,
    /// Objects stored.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Secrets sealed with this server's key.
    pub sealed_secrets: u64,
    /// What could not be restored whole.
    pub problems: Vec<String>,
    /// The export against the farm here.
    pub verification: Vec<Check>,
    /// How long it took.
    pub seconds: f64,
}

/// A table's figures in a restore.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoredTable {
    /// Rows in the export.
    pub exported: u64,
    /// Rows written.
    pub written: u64,
    /// Rows this server had already (an account of a member), kept as they were.
    pub kept: u64,
}

impl RestoreReport {
    /// Whether the farm here agrees with the export.
    pub fn verified(&self) -> bool {
        self.verification.iter().all(|c| c.ok)
    }

    /// The report as text for a terminal.
    pub fn text(&self) -> String {
        let mut out = format!(
            "Restored farm '{}' ({}, id {}) from {} in {:.1} s\n\n  {:<28} {:>10} {:>10} {:>6}\n",
            self.farm.name,
            self.farm.subdomain,
            self.farm.id,
            self.from,
            self.seconds,
            "table",
            "exported",
            "written",
            "kept"
        );
        for (table, t) in &self.tables {
            out.push_str(&format!(
                "  {table:<28} {:>10} {:>10} {:>6}\n",
                t.exported, t.written, t.kept
            ));
        }
        out.push_str(&format!(
            "\n{} objects ({} bytes); {} secrets sealed with this server's key\n",
            self.objects, self.bytes, self.sealed_secrets
        ));
        for problem in &self.problems {
            out.push_str(&format!("problem: {problem}\n"));
        }
        out.push_str(&crate::report::checks_text(
            "Verification (the export against the farm)",
            "export",
            &self.verification,
        ));
        out
    }
}

/// Rows written per statement batch.
const BATCH: usize = 500;

/// Restores the export of `options` into `app`'s database and file store.
pub async fn restore(app: &App, options: &RestoreOptions) -> Result<RestoreReport, CopyError> {
    let started = Instant::now();
    let from = &options.from;
    let manifest = read_manifest(from)?;
    let export_cipher = read_key(from, options.key_file.as_deref(), &manifest)?;
    let dialect = app.store.dialect();
    let tenant = domain::TenantId::from_stored(manifest.farm.id.clone());
    let plans = {
        let mut conn = app.store.conn().await?;
        let here = store::copy::migration(&mut conn).await?;
        if manifest.migration > here {
            return Err(CopyError::NotAnExport(format!(
                "the export was made by a newer release (schema {}; this server's is {here}): \
                 upgrade this server first",
                manifest.migration
            )));
        }
        let plans = plan_tables(&mut conn, dialect, &manifest).await?;
        check_files(from, &manifest).await?;
        check_clashes(&mut conn, from, &manifest, &plans).await?;
        plans
    };

    let mut report = RestoreReport {
        from: from.display().to_string(),
        farm: manifest.farm.clone(),
        tables: BTreeMap::new(),
        objects: 0,
        bytes: 0,
        sealed_secrets: 0,
        problems: Vec::new(),
        verification: Vec::new(),
        seconds: 0.0,
    };
    let total: u64 = manifest.tables.iter().map(|t| t.rows).sum();
    let bar = crate::pi::progress_bar(options.progress, total, "restoring");
    let mut tx = app.store.begin().await?;
    let mut stored = Vec::new();
    let written = write_all(
        app,
        &mut tx,
        from,
        &tenant,
        &plans,
        &export_cipher,
        &mut report,
        &bar,
    )
    .await;
    let written = match written {
        Ok(()) => store_objects(&app.files, from, &manifest.objects, &mut stored).await,
        Err(error) => Err(error),
    };
    bar.finish_and_clear();
    let now = store::now_text();
    let written = match written {
        Ok(()) => {
            let change = server::audit::Change {
                action: "farm.restored",
                table: "tenants",
                record: tenant.as_str(),
                new: Some(serde_json::json!({
                    "from": report.from,
                    "exported_at": manifest.exported_at,
                    "printfarm_version": manifest.printfarm_version,
                })),
                ..server::audit::Change::default()
            };
            server::audit::record_by(&mut tx, &tenant, None, change, &now)
                .await
                .map_err(CopyError::from)
        }
        Err(error) => Err(error),
    };
    if let Err(error) = written {
        drop(tx);
        remove_objects(app, &stored).await;
        return Err(error);
    }
    if let Err(error) = tx.commit().await {
        remove_objects(app, &stored).await;
        return Err(store::StoreError::from(error).into());
    }
    report.objects = manifest.objects.len() as u64;
    report.bytes = manifest.objects.iter().map(|o| o.bytes).sum();
    report.verification = verify(app, &manifest, &tenant).await?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// A table to restore: its spec, the export's file and columns, and where the sealed
/// and late columns are.
struct TablePlan {
    spec: &'static TableSpec,
    file: TableFile,
    columns: Vec<Column>,
}

fn read_manifest(from: &Path) -> Result<Manifest, CopyError> {
    let path = from.join("manifest.json");
    let text = std::fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CopyError::NotAnExport(format!(
                "{} has no manifest.json: it is not an export, or one that did not finish",
                from.display()
            ))
        } else {
            CopyError::Io(path.clone(), e)
        }
    })?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| {
        CopyError::NotAnExport(format!(
            "{} is not an export's manifest: {e}",
            path.display()
        ))
    })?;
    if manifest.format != FORMAT {
        return Err(CopyError::NotAnExport(format!(
            "{} is a '{}', not a {FORMAT}",
            path.display(),
            manifest.format
        )));
    }
    if manifest.version != FORMAT_VERSION {
        return Err(CopyError::NotAnExport(format!(
            "the export's format is version {}; this release reads version {FORMAT_VERSION}",
            manifest.version
        )));
    }
    if domain::TenantId::parse(&manifest.farm.id).is_none() {
        return Err(CopyError::NotAnExport(format!(
            "the manifest's farm id '{}' is not an id",
            manifest.farm.id
        )));
    }
    Ok(manifest)
}

fn read_key(from: &Path, given: Option<&Path>, manifest: &Manifest) -> Result<Cipher, CopyError> {
    let path = given
        .map(Path::to_path_buf)
        .unwrap_or_else(|| super::default_key_file(from));
    let key = std::fs::read_to_string(&path).map_err(|e| {
        CopyError::Key(format!(
            "cannot read the export's key file {} ({e}): give it with --key-file",
            path.display()
        ))
    })?;
    if key_id(&key) != manifest.key_id {
        return Err(CopyError::Key(format!(
            "{} is not the key of this export",
            path.display()
        )));
    }
    Cipher::from_base64(key.trim()).map_err(|e| CopyError::Key(format!("{}: {e}", path.display())))
}

/// Each exported table against this database: known to this release, and every column
/// it carries one this database has.
async fn plan_tables(
    conn: &mut store::Conn,
    dialect: store::Dialect,
    manifest: &Manifest,
) -> Result<Vec<TablePlan>, CopyError> {
    let mut plans = Vec::new();
    for file in &manifest.tables {
        if !TABLES.iter().any(|t| t.name == file.name) {
            return Err(CopyError::NotAnExport(format!(
                "the export has a table '{}' this release does not know",
                file.name
            )));
        }
    }
    for spec in TABLES {
        let Some(file) = manifest.tables.iter().find(|t| t.name == spec.name) else {
            continue;
        };
        let here = store::copy::columns(conn, dialect, spec.name).await?;
        let mut columns = Vec::new();
        for line in &file.columns {
            let Some(column) = here.iter().find(|c| c.name == line.name) else {
                return Err(CopyError::NotAnExport(format!(
                    "the export's column {}.{} is not in this database",
                    spec.name, line.name
                )));
            };
            if kind_from(&line.kind).is_none() {
                return Err(CopyError::NotAnExport(format!(
                    "the column {}.{} has an unknown kind '{}'",
                    spec.name, line.name, line.kind
                )));
            }
            columns.push(column.clone());
        }
        plans.push(TablePlan {
            spec,
            file: file.clone(),
            columns,
        });
    }
    Ok(plans)
}

/// Every file of the folder is the one the manifest describes.
async fn check_files(from: &Path, manifest: &Manifest) -> Result<(), CopyError> {
    for table in &manifest.tables {
        let path = from.join("tables").join(format!("{}.jsonl", table.name));
        let (sha256, _) = file_sha256(&path).await?;
        if sha256 != table.sha256 {
            return Err(CopyError::Damaged(format!(
                "{} is not the file the export wrote (SHA-256 differs)",
                path.display()
            )));
        }
    }
    check_objects(from, &manifest.objects, &format!("{}/", manifest.farm.id)).await
}

/// Checks that each object's file is there with the size and SHA-256 the folder's manifest
/// gives, and that its key is under `prefix` and stays in the folder.
pub(crate) async fn check_objects(
    from: &Path,
    objects: &[ObjectLine],
    prefix: &str,
) -> Result<(), CopyError> {
    for object in objects {
        let path = object_path(from, &object.key)
            .filter(|_| object.key.starts_with(prefix))
            .ok_or_else(|| {
                CopyError::Damaged(format!(
                    "the object key '{}' is not one of the folder's",
                    object.key
                ))
            })?;
        let (sha256, bytes) = file_sha256(&path).await?;
        if sha256 != object.sha256 || bytes != object.bytes {
            return Err(CopyError::Damaged(format!(
                "{} is not the object the folder's manifest lists (its size or SHA-256 differs)",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Refuses a restore onto a server that holds the farm, its subdomain or its hubs, or an
/// account of the farm's under another id.
async fn check_clashes(
    conn: &mut store::Conn,
    from: &Path,
    manifest: &Manifest,
    plans: &[TablePlan],
) -> Result<(), CopyError> {
    let farm = &manifest.farm;
    if store::copy::exists(conn, "tenants", "id", &farm.id).await? {
        return Err(CopyError::Clash(format!(
            "this server has the farm {} already",
            farm.id
        )));
    }
    if store::copy::exists(conn, "tenants", "subdomain", &farm.subdomain).await? {
        return Err(CopyError::Clash(format!(
            "another farm here has the subdomain '{}'",
            farm.subdomain
        )));
    }
    for plan in plans {
        match plan.spec.name {
            "hubs" => {
                for row in read_rows(from, plan)? {
                    let row = row?;
                    if let Some(id) = value(plan, &row, "id")
                        && store::copy::exists(conn, "hubs", "id", id).await?
                    {
                        return Err(CopyError::Clash(format!(
                            "this server has the hub {id} already"
                        )));
                    }
                }
            }
            "users" => {
                for row in read_rows(from, plan)? {
                    let row = row?;
                    let (Some(id), Some(email)) =
                        (value(plan, &row, "id"), value(plan, &row, "email"))
                    else {
                        continue;
                    };
                    if let Some(here) = store::copy::user_by_email(conn, email).await?
                        && here != id
                    {
                        return Err(CopyError::Clash(format!(
                            "the account {email} is on this server as another account ({here}); \
                             the farm's rows name it as {id}"
                        )));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The text of `column` in a row of `plan`.
fn value<'r>(plan: &TablePlan, row: &'r [Option<String>], column: &str) -> Option<&'r str> {
    plan.columns
        .iter()
        .position(|c| c.name == column)
        .and_then(|i| row.get(i))
        .and_then(|v| v.as_deref())
}

/// The rows of a table's file, each in the order of the plan's columns.
fn read_rows(
    from: &Path,
    plan: &TablePlan,
) -> Result<impl Iterator<Item = Result<Vec<Option<String>>, CopyError>>, CopyError> {
    let path = from
        .join("tables")
        .join(format!("{}.jsonl", plan.spec.name));
    let file = std::fs::File::open(&path).map_err(|e| CopyError::Io(path.clone(), e))?;
    let names: Vec<String> = plan.columns.iter().map(|c| c.name.clone()).collect();
    Ok(std::io::BufReader::new(file)
        .lines()
        .enumerate()
        .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(move |(n, line)| {
            let line = line.map_err(|e| CopyError::Io(path.clone(), e))?;
            let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line)
                .map_err(|e| {
                    CopyError::Damaged(format!("{} line {}: {e}", path.display(), n + 1))
                })?;
            if let Some(extra) = object.keys().find(|k| !names.contains(k)) {
                return Err(CopyError::Damaged(format!(
                    "{} line {}: the column '{extra}' is not in the manifest",
                    path.display(),
                    n + 1
                )));
            }
            Ok(names
                .iter()
                .map(|name| object.get(name).and_then(from_json))
                .collect())
        }))
}

/// A column's values held back for a cycle: its table, the column, and (row id, value).
type HeldBack = (&'static str, Column, Vec<(String, String)>);

/// Writes every table's rows, then the references held back for a cycle.
#[allow(clippy::too_many_arguments)]
async fn write_all(
    app: &App,
    tx: &mut store::Tx,
    from: &Path,
    tenant: &domain::TenantId,
    plans: &[TablePlan],
    export_cipher: &Cipher,
    report: &mut RestoreReport,
    bar: &indicatif::ProgressBar,
) -> Result<(), CopyError> {
    let rekey = Rekey {
        tenant,
        from: export_cipher,
        to: &app.cipher,
    };
    let mut late: Vec<HeldBack> = Vec::new();
    for plan in plans {
        let names: Vec<String> = plan.columns.iter().map(|c| c.name.clone()).collect();
        let secrets = TableSecrets::of(plan.spec.name, &names);
        let id = secrets.id();
        let late_columns: Vec<usize> = plan
            .spec
            .late
            .iter()
            .filter_map(|c| names.iter().position(|n| n == c))
            .collect();
        let mut held: HashMap<usize, Vec<(String, String)>> = HashMap::new();
        // Accounts (and their tokens) this server has already are kept as they are.
        let keep_existing = matches!(plan.spec.scope, Scope::Users | Scope::MembersOwn);
        let mut counts = RestoredTable {
            exported: plan.file.rows,
            ..RestoredTable::default()
        };
        let mut batch = Vec::with_capacity(BATCH);
        for row in read_rows(from, plan)? {
            let mut row = row?;
            bar.inc(1);
            if keep_existing
                && let Some(row_id) = id.and_then(|i| row[i].as_deref())
                && store::copy::exists(tx, plan.spec.name, "id", row_id).await?
            {
                counts.kept += 1;
                continue;
            }
            report.sealed_secrets +=
                rekey.row(plan.spec.name, &mut row, &secrets, &mut report.problems);
            for &i in &late_columns {
                if let (Some(row_id), Some(value)) =
                    (id.and_then(|k| row[k].clone()), row[i].take())
                {
                    held.entry(i).or_default().push((row_id, value));
                }
            }
            batch.push(row);
            counts.written += 1;
            if batch.len() == BATCH {
                insert(tx, plan, &batch).await?;
                batch.clear();
            }
        }
        insert(tx, plan, &batch).await?;
        for (i, values) in held {
            late.push((plan.spec.name, plan.columns[i].clone(), values));
        }
        report.tables.insert(plan.spec.name.to_string(), counts);
    }
    for (table, column, values) in late {
        store::copy::set_column(tx, table, &column, &values).await?;
    }
    Ok(())
}

async fn insert(
    tx: &mut store::Tx,
    plan: &TablePlan,
    rows: &[Vec<Option<String>>],
) -> Result<(), CopyError> {
    store::copy::insert(tx, plan.spec.name, &plan.columns, rows)
        .await
        .map_err(|e| match e {
            store::StoreError::Conflict { field } => CopyError::Clash(format!(
                "a row of {} has a {field} this server holds already",
                plan.spec.name
            )),
            other => other.into(),
        })
}

/// Stores every object of the folder, noting each stored so a failure can remove them.
pub(crate) async fn store_objects(
    files: &server::file_store::FileStore,
    from: &Path,
    objects: &[ObjectLine],
    stored: &mut Vec<String>,
) -> Result<(), CopyError> {
    for object in objects {
        let Some(path) = object_path(from, &object.key) else {
            continue;
        };
        files.put_file(&object.key, &path).await?;
        stored.push(object.key.clone());
    }
    Ok(())
}

async fn remove_objects(app: &App, keys: &[String]) {
    for key in keys {
        if let Err(error) = app.files.delete(key).await {
            tracing::warn!(key, %error, "could not remove an object after a failed restore");
        }
    }
}

/// The export's counts against the farm's rows and objects here.
async fn verify(
    app: &App,
    manifest: &Manifest,
    tenant: &domain::TenantId,
) -> Result<Vec<Check>, CopyError> {
    let mut conn = app.store.conn().await?;
    let mut checks = Vec::new();
    for file in &manifest.tables {
        let Some(spec) = TABLES.iter().find(|t| t.name == file.name) else {
            continue;
        };
        let here = store::copy::count(&mut conn, spec.name, spec.scope, tenant.as_str()).await?;
        // The restore's own audit entry.
        let expected = file.rows + u64::from(spec.name == "audit_logs");
        checks.push(Check {
            what: format!("{}: rows", spec.name),
            source: expected,
            farm: here,
            ok: here == expected,
        });
    }
    let listed = app.files.list(&format!("{tenant}/")).await?;
    let sizes: HashMap<&str, u64> = listed.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    let matching = manifest
        .objects
        .iter()
        .filter(|o| sizes.get(o.key.as_str()) == Some(&o.bytes))
        .count() as u64;
    checks.push(Check {
        what: "objects stored with their size".into(),
        source: manifest.objects.len() as u64,
        farm: matching,
        ok: matching == manifest.objects.len() as u64,
    });
    Ok(checks)
}
