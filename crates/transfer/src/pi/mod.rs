//! The legacy Pi import: a Pi's SQLite file and folder of print files into a farm.
//!
//! The run, in order: the files folder and the database are checked (not SQLite, an
//! unknown schema or an unreadable folder is refused before anything is written); the
//! schema is recognised table by table; then one transaction makes the farm if asked,
//! stores the print files' contents (3MF metadata and thumbnails read again), and writes
//! every row by an id mapped from the Pi's ([`tables::map_id`]), so a second run finds
//! its rows and changes only what changed. A dry run does all of it and rolls back
//! (the files are read, not stored). The report lists every value rewritten, every row
//! that could not come over whole, and, after a real run, the source compared with the farm.

pub mod normalise;
pub mod source;
pub mod tables;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use domain::TenantId;
use server::app::App;
use store::StoreError;
use store::import::{Field, Kind, Outcome, Table};

use crate::report::{Check, FarmLine, Problem, Report, SchemaReport, TableCounts};
use source::{PiRow, PiValue, Source};
use tables::{Context, Planned, SPECS};

/// What to import, and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Pi's database file (`tenant.db`).
    pub db: PathBuf,
    /// The Pi's print files folder (`{id}.3mf` files); `None` imports rows only.
    pub files: Option<PathBuf>,
    /// The farm: its subdomain or name.
    pub farm: String,
    /// Email of the account that owns the farm when the import makes it.
    pub owner: Option<String>,
    /// Read and report everything, write nothing.
    pub dry_run: bool,
    /// Draw a progress bar on the terminal.
    pub progress: bool,
    /// Where every value changed is listed, one JSON line each.
    pub changes_file: Option<PathBuf>,
}

/// Why an import did not run.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The database file is not SQLite.
    #[error("{0} is not a SQLite database")]
    NotSqlite(PathBuf),
    /// A file or folder could not be read.
    #[error("cannot read {0}: {1}")]
    Unreadable(PathBuf, std::io::Error),
    /// The files folder could not be read.
    #[error("cannot read the print files folder {0}: {1}")]
    FilesFolder(PathBuf, std::io::Error),
    /// Reading the Pi's database failed.
    #[error("reading the Pi database: {0}")]
    Source(String),
    /// The file has none of the Pi's tables.
    #[error(
        "this is not a Pi database PrintFarm knows: it has none of the tables {expected} (its tables: {found})"
    )]
    UnknownSchema {
        /// The tables looked for, with their required columns.
        expected: String,
        /// The tables the file has.
        found: String,
    },
    /// A known table lacks columns the import needs.
    #[error("table {table} lacks the columns {missing} (expected at least: {expected})")]
    MissingColumns {
        /// The table.
        table: String,
        /// The columns it lacks.
        missing: String,
        /// The columns it must have.
        expected: String,
    },
    /// No farm has the name, and no owner was given to make one.
    #[error("no farm is named '{0}': give --owner EMAIL to make it")]
    NoFarm(String),
    /// Several farms have the name.
    #[error("several farms are named '{0}' ({1}): name it by its subdomain")]
    AmbiguousFarm(String, String),
    /// The owner has no account.
    #[error("no account has the email '{0}': sign up first")]
    NoOwner(String),
    /// A row wants a unique value a row the farm had before holds.
    #[error("{table} {pi_id}: {message}; nothing was imported")]
    Conflict {
        /// The table.
        table: String,
        /// The Pi row.
        pi_id: String,
        /// What clashes.
        message: String,
    },
    /// The database refused.
    #[error("the database: {0}")]
    Store(#[from] StoreError),
    /// Storing a print file failed.
    #[error("storing a print file: {0}")]
    FileStore(String),
}

/// Rows read and written per batch.
const BATCH: usize = 1_000;
/// Rows per table compared value by value after the import.
const SPOT_CHECKS: usize = 25;

/// Imports the Pi database of `options` into its farm on `app`'s database and file store.
pub async fn import(app: &App, options: &Options) -> Result<Report, ImportError> {
    let started = Instant::now();
    if let Some(dir) = &options.files {
        std::fs::read_dir(dir).map_err(|e| ImportError::FilesFolder(dir.clone(), e))?;
    }
    let source = Source::open(&options.db).await?;
    let mut report = Report {
        source: options.db.display().to_string(),
        dry_run: options.dry_run,
        ..Report::default()
    };
    report.schema = recognise(&source).await?;
    let result = run(app, options, &source, &mut report).await;
    source.close().await;
    result?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Recognises the Pi release by its tables and columns: what is known is read, what is
/// not is named; a file with none of the tables, or a table without its key columns, is
/// refused.
async fn recognise(source: &Source) -> Result<SchemaReport, ImportError> {
    let mut schema = SchemaReport::default();
    let known: BTreeSet<&str> = SPECS
        .iter()
        .map(|s| s.table.as_str())
        .chain(tables::NOT_IMPORTED.iter().map(|(t, _)| *t))
        .collect();
    for spec in SPECS {
        let name = spec.table.as_str();
        let Some(columns) = source.tables.get(name) else {
            schema.missing_tables.push(name.to_string());
            continue;
        };
        let missing: Vec<&str> = spec
            .required
            .iter()
            .copied()
            .filter(|c| !columns.iter().any(|have| have == c))
            .collect();
        if !missing.is_empty() {
            return Err(ImportError::MissingColumns {
                table: name.to_string(),
                missing: missing.join(", "),
                expected: spec.required.join(", "),
            });
        }
        let unknown: Vec<String> = columns
            .iter()
            .filter(|c| !spec.required.contains(&c.as_str()) && !spec.known.contains(&c.as_str()))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            schema.unknown_columns.insert(name.to_string(), unknown);
        }
        schema
            .tables
            .insert(name.to_string(), source.count(name).await?);
    }
    if schema.tables.is_empty() {
        return Err(ImportError::UnknownSchema {
            expected: SPECS
                .iter()
                .map(|s| format!("{} ({})", s.table.as_str(), s.required.join(", ")))
                .collect::<Vec<_>>()
                .join("; "),
            found: source.tables.keys().cloned().collect::<Vec<_>>().join(", "),
        });
    }
    for (table, why) in tables::NOT_IMPORTED {
        if source.tables.contains_key(table) {
            schema
                .not_imported
                .insert(table.to_string(), why.to_string());
        }
    }
    schema.unknown_tables = source
        .tables
        .keys()
        .filter(|t| !known.contains(t.as_str()))
        .cloned()
        .collect();
    Ok(schema)
}

/// The farm to import into: found by subdomain or name, or made for `owner` (`None`
/// when it is to be made).
async fn find_farm(
    app: &App,
    options: &Options,
) -> Result<Option<store::tenants::Tenant>, ImportError> {
    let mut conn = app.store.conn().await?;
    let mut found = store::tenants::find_by_name(&mut conn, options.farm.trim()).await?;
    match found.len() {
        0 => match &options.owner {
            Some(_) => Ok(None),
            None => Err(ImportError::NoFarm(options.farm.clone())),
        },
        1 => Ok(found.pop()),
        _ => Err(ImportError::AmbiguousFarm(
            options.farm.clone(),
            found
                .iter()
                .map(|t| t.subdomain.clone())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// A print file's contents read from the files folder.
struct FileContents {
    contents: store::files::Contents,
    path: PathBuf,
    /// Whether the farm has these contents already (a version with the same hash).
    known: bool,
}

async fn run(
    app: &App,
    options: &Options,
    source: &Source,
    report: &mut Report,
) -> Result<(), ImportError> {
    let existing = find_farm(app, options).await?;
    let owner = match (&existing, &options.owner) {
        (None, Some(email)) => {
            let mut conn = app.store.conn().await?;
            let user = store::users::find_by_email(&mut conn, email.trim())
                .await?
                .map(|(user, _)| user)
                .ok_or_else(|| ImportError::NoOwner(email.clone()))?;
            Some(user)
        }
        _ => None,
    };
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let tenant =
        match (&existing, &owner) {
            (Some(farm), _) => farm.clone(),
            (None, Some(user)) => {
                let name = domain::validation::FarmName::parse("farm", options.farm.trim())
                    .map_err(|e| ImportError::Conflict {
                        table: "tenants".into(),
                        pi_id: String::new(),
                        message: e.to_string(),
                    })?;
                let client = server::extract::ClientInfo::default();
                server::tenants::create_farm(&mut tx, user, &client, &name, None, &now)
                    .await
                    .map_err(|e| ImportError::FileStore(e.to_string()))?
            }
            (None, None) => return Err(ImportError::NoFarm(options.farm.clone())),
        };
    report.farm = FarmLine {
        id: tenant.id.clone(),
        name: tenant.company_name.clone(),
        created: existing.is_none(),
    };
    let tenant_id = tenant.tenant_id();
    let mut cx = Context::new(&tenant.id, &now);
    cx.changes = crate::report::ChangeLog::new(options.changes_file.as_deref());
    // Print files are referred to by products, which come first; their ids are all known.
    if source.tables.contains_key(Table::PrintFiles.as_str()) {
        let ids = source.column(Table::PrintFiles.as_str(), "id").await?;
        cx.imported.insert(
            Table::PrintFiles,
            ids.iter().filter_map(PiValue::as_text).collect(),
        );
    }
    let total: u64 = report.schema.tables.values().sum();
    let bar = progress_bar(options.progress, total, "importing");
    let mut stored_objects: Vec<String> = Vec::new();
    let result = write_rows(
        app,
        options,
        source,
        report,
        &mut tx,
        &tenant_id,
        &mut cx,
        &bar,
        &mut stored_objects,
    )
    .await;
    bar.finish_and_clear();
    if let Err(error) = result {
        drop(tx);
        remove_objects(app, &stored_objects).await;
        return Err(error);
    }
    let (changes, unwritten) = std::mem::take(&mut cx.changes).finish();
    report.changes = changes;
    if let Some(why) = unwritten {
        cx.problems.push(Problem {
            table: String::new(),
            id: String::new(),
            message: format!("the changes file is incomplete: {why}"),
        });
    }
    report.problems = std::mem::take(&mut cx.problems);
    let change = server::audit::Change {
        action: "farm.imported",
        table: "tenants",
        record: &tenant.id,
        new: Some(serde_json::json!({
            "source": report.source,
            "tables": report.tables,
            "files": report.files,
            "changes": report.changes.total,
            "problems": report.problems.len(),
        })),
        ..server::audit::Change::default()
    };
    server::audit::record_by(&mut tx, &tenant_id, None, change, &now).await?;
    if options.dry_run {
        tx.rollback().await.map_err(StoreError::from)?;
        return Ok(());
    }
    if let Err(error) = tx.commit().await {
        remove_objects(app, &stored_objects).await;
        return Err(StoreError::from(error).into());
    }
    report.verification = Some(verify(app, source, &tenant_id, report, &cx).await?);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn write_rows(
    app: &App,
    options: &Options,
    source: &Source,
    report: &mut Report,
    tx: &mut store::Tx,
    tenant: &TenantId,
    cx: &mut Context,
    bar: &indicatif::ProgressBar,
    stored_objects: &mut Vec<String>,
) -> Result<(), ImportError> {
    let mut printer_numbers = 0i64;
    let mut days: BTreeSet<String> = BTreeSet::new();
    for spec in SPECS {
        let name = spec.table.as_str();
        if !report.schema.tables.contains_key(name) {
            continue;
        }
        let mut counts = TableCounts::default();
        let mut after = i64::MIN;
        loop {
            let (rows, last) = source.batch(name, after, BATCH).await?;
            if rows.is_empty() {
                break;
            }
            after = last;
            for row in rows {
                counts.read += 1;
                bar.inc(1);
                let Some(mut planned) = tables::plan(spec.table, &row, cx) else {
                    counts.skipped += 1;
                    continue;
                };
                refuse_taken_keys(tx, tenant, spec.table, &planned).await?;
                let contents = match spec.table {
                    Table::PrintFiles => {
                        file_contents(
                            app,
                            options,
                            tx,
                            tenant,
                            &row,
                            &planned,
                            report,
                            cx,
                            stored_objects,
                        )
                        .await?
                    }
                    _ => None,
                };
                if let Some(file) = &contents {
                    overlay_contents(&mut planned, &file.contents, cx);
                }
                let outcome =
                    store::import::upsert(tx, tenant, spec.table, &planned.id, &planned.fields)
                        .await
                        .map_err(|e| conflict(spec.table, &planned, e))?;
                let outcome = match &planned.access_code {
                    Some(code) => {
                        seal_access_code(app, tx, tenant, &planned, code, outcome).await?
                    }
                    None => outcome,
                };
                match outcome {
                    Outcome::Inserted => counts.inserted += 1,
                    Outcome::Updated(_) => counts.updated += 1,
                    Outcome::Unchanged => counts.unchanged += 1,
                }
                if let Some(file) = contents
                    && !file.known
                {
                    let updated = field(&planned, "updated_at").unwrap_or(&cx.now).to_string();
                    store::files::add_version(
                        tx,
                        tenant,
                        &planned.id,
                        &file.contents,
                        Some("imported from the Pi"),
                        &updated,
                    )
                    .await?;
                    let _ = file.path;
                }
                if spec.table == Table::Printers
                    && let Some(n) =
                        field(&planned, "printer_id").and_then(|n| n.parse::<i64>().ok())
                {
                    printer_numbers = printer_numbers.max(n);
                }
                if spec.table == Table::PrintJobs
                    && let Some(day) = field(&planned, "time_completed")
                {
                    days.insert(day[..10.min(day.len())].to_string());
                }
                cx.remember(spec.table, &planned);
            }
        }
        report.tables.insert(name.to_string(), counts);
    }
    if printer_numbers > 0 {
        store::import::raise_printer_counter(tx, tenant, printer_numbers).await?;
    }
    // The analytics cache of every day the imported jobs count on is stale now.
    let days: Vec<Option<&str>> = days.iter().map(|d| Some(d.as_str())).collect();
    store::analytics::touch(tx, tenant.as_str(), &days).await?;
    Ok(())
}

/// The text of `column` in a planned row.
fn field<'p>(planned: &'p Planned, column: &str) -> Option<&'p str> {
    planned
        .fields
        .iter()
        .find(|f| f.column == column)
        .and_then(|f| f.value.as_deref())
}

/// A unique key the farm already holds by another row (a printer of the same name made
/// by hand before the import) refuses the import, naming both.
async fn refuse_taken_keys(
    tx: &mut store::Tx,
    tenant: &TenantId,
    table: Table,
    planned: &Planned,
) -> Result<(), ImportError> {
    for (columns, values) in &planned.unique {
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let typed: Vec<(&'static str, Kind)> = columns
            .iter()
            .map(|c| {
                let kind = planned.fields.iter().find(|f| f.column == *c);
                (*c, kind.map_or(Kind::Text, |f| f.kind))
            })
            .collect();
        if let Some(holder) =
            store::import::holder(tx, tenant, table, &typed, &values, &planned.id).await?
        {
            return Err(ImportError::Conflict {
                table: table.as_str().to_string(),
                pi_id: planned.pi_id.clone(),
                message: format!(
                    "the farm's {} {holder} already has {} '{}'; rename one of them",
                    table.as_str(),
                    columns.join(" and "),
                    values.join("', '")
                ),
            });
        }
    }
    Ok(())
}

fn conflict(table: Table, planned: &Planned, error: StoreError) -> ImportError {
    match error {
        StoreError::Conflict { field } => ImportError::Conflict {
            table: table.as_str().to_string(),
            pi_id: planned.pi_id.clone(),
            message: format!("its {field} is taken in the database"),
        },
        other => other.into(),
    }
}

/// Seals the printer's access code (AES-GCM, as the API does) unless the farm holds the
/// same code already: sealing is randomised, so the plain codes are compared.
async fn seal_access_code(
    app: &App,
    tx: &mut store::Tx,
    tenant: &TenantId,
    planned: &Planned,
    code: &str,
    outcome: Outcome,
) -> Result<Outcome, ImportError> {
    let context = server::farm::commands::access_code_context(tenant, &planned.id);
    let stored = store::import::read(tx, tenant, Table::Printers, &planned.id, &["access_code"])
        .await?
        .and_then(|mut values| values.pop().flatten());
    let same = stored
        .as_deref()
        .and_then(|sealed| app.farm.cipher.open(sealed, &context).ok())
        .is_some_and(|plain| plain == code);
    if same {
        return Ok(outcome);
    }
    let sealed = app.farm.cipher.seal(code, &context);
    let fields = [Field {
        column: "access_code",
        kind: Kind::Text,
        value: Some(sealed),
        insert_only: false,
    }];
    store::import::upsert(tx, tenant, Table::Printers, &planned.id, &fields).await?;
    Ok(match outcome {
        Outcome::Inserted => Outcome::Inserted,
        Outcome::Updated(mut columns) => {
            columns.push("access_code");
            Outcome::Updated(columns)
        }
        Outcome::Unchanged => Outcome::Updated(vec!["access_code"]),
    })
}

/// The print file of a Pi row, looked up in the files folder (`{id}.3mf`, or the file
/// name of the row's `local_file_path`), read, and stored unless this is a dry run or the
/// farm has the same contents already. A missing or unreadable file is a problem, not an
/// error: the row comes over without contents.
#[allow(clippy::too_many_arguments)]
async fn file_contents(
    app: &App,
    options: &Options,
    tx: &mut store::Tx,
    tenant: &TenantId,
    row: &PiRow,
    planned: &Planned,
    report: &mut Report,
    cx: &mut Context,
    stored_objects: &mut Vec<String>,
) -> Result<Option<FileContents>, ImportError> {
    let Some(dir) = &options.files else {
        return Ok(None);
    };
    let Some(path) = locate(dir, row) else {
        report.files.missing += 1;
        cx.problems.push(Problem {
            table: "print_files".into(),
            id: planned.pi_id.clone(),
            message: format!(
                "no file {}.3mf in {}: imported without its contents",
                planned.pi_id,
                dir.display()
            ),
        });
        return Ok(None);
    };
    let name = object_name(field(planned, "name").unwrap_or("file.3mf"));
    let read = server::files::contents_on_disk(app, tenant, &planned.id, &name, &path, false).await;
    let contents = match read {
        Ok(contents) => contents,
        Err(error) => {
            report.files.unreadable += 1;
            cx.problems.push(Problem {
                table: "print_files".into(),
                id: planned.pi_id.clone(),
                message: format!("{}: {error}; imported without its contents", path.display()),
            });
            return Ok(None);
        }
    };
    let versions = store::files::versions(tx, tenant, &planned.id)
        .await
        .unwrap_or_default();
    let known = versions
        .iter()
        .any(|v| v.content_sha256.as_deref() == Some(contents.content_sha256.as_str()));
    if known {
        report.files.unchanged += 1;
        let current = versions
            .iter()
            .find(|v| v.is_current_version == 1)
            .or(versions.first());
        let mut contents = contents;
        if let Some(version) = current {
            contents.r2_key = version.r2_key.clone().unwrap_or(contents.r2_key);
            contents.thumbnail_r2_key = version.thumbnail_r2_key.clone();
        }
        return Ok(Some(FileContents {
            contents,
            path,
            known: true,
        }));
    }
    report.files.stored += 1;
    if options.dry_run {
        return Ok(Some(FileContents {
            contents,
            path,
            known: false,
        }));
    }
    let contents = server::files::contents_on_disk(app, tenant, &planned.id, &name, &path, true)
        .await
        .map_err(|e| ImportError::FileStore(e.to_string()))?;
    stored_objects.push(contents.r2_key.clone());
    stored_objects.extend(contents.thumbnail_r2_key.clone());
    Ok(Some(FileContents {
        contents,
        path,
        known: false,
    }))
}

/// Where the Pi's file of `row` is in `dir`.
fn locate(dir: &Path, row: &PiRow) -> Option<PathBuf> {
    let by_id = dir.join(format!("{}.3mf", row.id()));
    if by_id.is_file() {
        return Some(by_id);
    }
    let local = row.get("local_file_path").as_text()?;
    let name = Path::new(&local).file_name()?;
    let by_path = dir.join(name);
    by_path.is_file().then_some(by_path)
}

/// A file name safe as the last part of an object key.
fn object_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "file.3mf".into()
    } else {
        clean
    }
}

/// The file row takes what the 3MF says over what the Pi recorded (reported where they
/// differ), as an upload would.
fn overlay_contents(planned: &mut Planned, c: &store::files::Contents, cx: &mut Context) {
    let real = |v: Option<f64>| v.map(|v| v.to_string());
    let from_file: [(&'static str, Kind, Option<String>); 16] = [
        (
            "file_size_bytes",
            Kind::Int,
            Some(c.file_size_bytes.to_string()),
        ),
        ("r2_key", Kind::Text, Some(c.r2_key.clone())),
        ("thumbnail_r2_key", Kind::Text, c.thumbnail_r2_key.clone()),
        ("content_sha256", Kind::Text, Some(c.content_sha256.clone())),
        ("metadata_json", Kind::Text, Some(c.metadata_json.clone())),
        (
            "is_sliced",
            Kind::Int,
            Some(if c.is_sliced { "1" } else { "0" }.to_string()),
        ),
        (
            "print_time_seconds",
            Kind::Int,
            c.print_time_seconds.map(|v| v.to_string()),
        ),
        (
            "filament_weight_grams",
            Kind::Real,
            real(c.filament_weight_grams),
        ),
        (
            "filament_length_meters",
            Kind::Real,
            real(c.filament_length_meters),
        ),
        ("filament_type", Kind::Text, c.filament_type.clone()),
        ("printer_model_id", Kind::Text, c.printer_model_id.clone()),
        ("nozzle_diameter", Kind::Real, real(c.nozzle_diameter)),
        (
            "layer_count",
            Kind::Int,
            c.layer_count.map(|v| v.to_string()),
        ),
        ("curr_bed_type", Kind::Text, c.curr_bed_type.clone()),
        (
            "default_print_profile",
            Kind::Text,
            c.default_print_profile.clone(),
        ),
        ("object_count", Kind::Int, Some(c.object_count.to_string())),
    ];
    let reported = [
        "file_size_bytes",
        "print_time_seconds",
        "filament_weight_grams",
        "filament_type",
        "printer_model_id",
        "layer_count",
        "object_count",
    ];
    for (column, kind, value) in from_file {
        match planned.fields.iter_mut().find(|f| f.column == column) {
            Some(existing) => {
                if reported.contains(&column)
                    && existing.value.is_some()
                    && !store::import::same_value(kind, existing.value.as_deref(), value.as_deref())
                {
                    cx.changes.push(crate::report::ChangeLine {
                        table: "print_files".into(),
                        id: planned.pi_id.clone(),
                        column: column.into(),
                        from: existing.value.clone().unwrap_or_default(),
                        to: value.clone(),
                        rule: "read again from the 3MF".into(),
                    });
                }
                existing.value = value;
            }
            None => planned.fields.push(Field {
                column,
                kind,
                value,
                insert_only: false,
            }),
        }
    }
}

async fn remove_objects(app: &App, keys: &[String]) {
    for key in keys {
        if let Err(error) = app.files.delete(key).await {
            tracing::warn!(key, %error, "could not remove a stored object after a failed import");
        }
    }
}

/// A progress bar over `total` rows on the terminal, or a hidden one.
pub(crate) fn progress_bar(
    show: bool,
    total: u64,
    message: &'static str,
) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {msg} [{bar:40}] {pos}/{len} rows ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

/// Compares the Pi with the farm after the import: per table, the rows that should be
/// there against the rows that are; references that lead nowhere; and a value-by-value
/// check of sampled rows.
async fn verify(
    app: &App,
    source: &Source,
    tenant: &TenantId,
    report: &Report,
    cx: &Context,
) -> Result<Vec<Check>, ImportError> {
    let mut conn = app.store.conn().await?;
    let mut checks = Vec::new();
    for spec in SPECS {
        let name = spec.table.as_str();
        let Some(counts) = report.tables.get(name) else {
            continue;
        };
        let source_rows = source.count(name).await?;
        checks.push(Check {
            what: format!("{name}: rows read"),
            source: source_rows,
            farm: counts.read,
            ok: source_rows == counts.read,
        });
        let expected = counts.read - counts.skipped;
        let ids: Vec<String> = cx
            .imported
            .get(&spec.table)
            .map(|ids| {
                ids.iter()
                    .map(|pi| tables::map_id(tenant.as_str(), spec.table, pi))
                    .collect()
            })
            .unwrap_or_default();
        let present = store::import::count_present(&mut conn, tenant, spec.table, &ids).await?;
        checks.push(Check {
            what: format!("{name}: rows in the farm"),
            source: expected,
            farm: present,
            ok: present == expected,
        });
    }
    for (table, column, to) in REFERENCES {
        if !report.tables.contains_key(table.as_str()) {
            continue;
        }
        let dangling = store::import::dangling(&mut conn, tenant, table, column, to).await?;
        checks.push(Check {
            what: format!("{}.{column} leading nowhere", table.as_str()),
            source: 0,
            farm: dangling,
            ok: dangling == 0,
        });
    }
    for (table, samples) in &cx.samples {
        let mut matching = 0u64;
        for planned in samples {
            let columns: Vec<&'static str> = planned
                .fields
                .iter()
                .filter(|f| !f.insert_only)
                .map(|f| f.column)
                .collect();
            let stored =
                store::import::read(&mut conn, tenant, *table, &planned.id, &columns).await?;
            let same = stored.is_some_and(|values| {
                planned
                    .fields
                    .iter()
                    .filter(|f| !f.insert_only)
                    .zip(values)
                    .all(|(f, v)| {
                        store::import::same_value(f.kind, f.value.as_deref(), v.as_deref())
                    })
            });
            matching += u64::from(same);
        }
        let n = samples.len() as u64;
        checks.push(Check {
            what: format!("{}: sampled rows equal to the Pi's", table.as_str()),
            source: n,
            farm: matching,
            ok: matching == n,
        });
    }
    Ok(checks)
}

/// The references an import writes: (table, column, the table referred to).
const REFERENCES: [(Table, &str, Table); 12] = [
    (Table::PrintFiles, "product_id", Table::Products),
    (Table::Products, "print_file_id", Table::PrintFiles),
    (Table::ProductSkus, "product_id", Table::Products),
    (Table::PrintJobs, "printer_id", Table::Printers),
    (Table::PrintJobs, "print_file_id", Table::PrintFiles),
    (Table::PrintJobs, "product_sku_id", Table::ProductSkus),
    (Table::PrintJobs, "product_id", Table::Products),
    (Table::FinishedGoods, "product_sku_id", Table::ProductSkus),
    (Table::FinishedGoods, "print_job_id", Table::PrintJobs),
    (
        Table::AssemblyTasks,
        "finished_good_id",
        Table::FinishedGoods,
    ),
    (
        Table::WorklistTasks,
        "assembly_task_id",
        Table::AssemblyTasks,
    ),
    (Table::WorklistTasks, "printer_id", Table::Printers),
];

/// Samples kept per table for the spot check: every row until the table has
/// [`SPOT_CHECKS`], then an evenly spread replacement keeps memory flat.
pub(crate) fn keep_sample(
    samples: &mut HashMap<Table, Vec<Planned>>,
    seen: &mut BTreeMap<Table, u64>,
    table: Table,
    planned: &Planned,
) {
    let n = seen.entry(table).or_insert(0);
    *n += 1;
    let list = samples.entry(table).or_default();
    if list.len() < SPOT_CHECKS {
        list.push(planned.clone());
    } else if (*n).is_power_of_two() {
        let slot = (n.trailing_zeros() as usize) % SPOT_CHECKS;
        list[slot] = planned.clone();
    }
}
