//! `printfarm export`: a farm's rows and objects into a folder, read in one snapshot.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;
use server::app::App;
use store::copy::{Column, Scope};
use store::secrets::Cipher;

use super::{
    ColumnLine, CopyError, FORMAT, FORMAT_VERSION, FarmLine, Manifest, NOT_COPIED, ObjectLine,
    Rekey, TABLES, TableFile, TableSecrets, file_sha256, find_farm, key_id, kind_name, object_path,
    to_json,
};

/// What to export, and where.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The farm: its subdomain or name.
    pub farm: String,
    /// A new (or empty) folder.
    pub out: PathBuf,
    /// Where the key of the export's secrets goes (default: beside the folder).
    pub key_file: Option<PathBuf>,
    /// Draw a progress bar.
    pub progress: bool,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The folder.
    pub out: String,
    /// The key file.
    pub key_file: String,
    /// The farm.
    pub farm: FarmLine,
    /// Rows per table.
    pub tables: BTreeMap<String, u64>,
    /// Objects written.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Secrets sealed with the export's key.
    pub sealed_secrets: u64,
    /// Tables left out, and why.
    pub not_copied: BTreeMap<String, String>,
    /// Tables of the database this release does not know (not copied).
    pub unknown_tables: Vec<String>,
    /// What could not be copied whole.
    pub problems: Vec<String>,
    /// How long it took.
    pub seconds: f64,
}

impl ExportReport {
    /// The report as text for a terminal.
    pub fn text(&self) -> String {
        let mut out = format!(
            "Exported farm '{}' ({}) to {}\n\n{:<28} {:>10}\n",
            self.farm.name, self.farm.subdomain, self.out, "table", "rows"
        );
        for (table, rows) in &self.tables {
            out.push_str(&format!("{table:<28} {rows:>10}\n"));
        }
        out.push_str(&format!(
            "\n{} objects ({} bytes); {} secrets sealed with the export's key\n",
            self.objects, self.bytes, self.sealed_secrets
        ));
        out.push_str(&format!(
            "The key is in {}: keep it apart from the folder; the restore needs it.\n",
            self.key_file
        ));
        for (table, why) in &self.not_copied {
            out.push_str(&format!("not copied: {table}: {why}\n"));
        }
        for table in &self.unknown_tables {
            out.push_str(&format!("not copied: {table}: unknown to this release\n"));
        }
        for problem in &self.problems {
            out.push_str(&format!("problem: {problem}\n"));
        }
        out.push_str(&format!("took {:.1} s\n", self.seconds));
        out
    }
}

/// Exports the farm of `options` from `app`'s database and file store.
pub async fn export(app: &App, options: &ExportOptions) -> Result<ExportReport, CopyError> {
    let started = Instant::now();
    let farm = find_farm(app, &options.farm).await?;
    let tenant = farm.tenant_id();
    let out = &options.out;
    let key_file = options
        .key_file
        .clone()
        .unwrap_or_else(|| super::default_key_file(out));
    prepare_folder(out, &key_file)?;
    let key = Cipher::generate_key();
    let export_cipher =
        Cipher::from_base64(&key).map_err(|e| CopyError::Key(format!("a new key: {e}")))?;

    let mut report = ExportReport {
        out: out.display().to_string(),
        key_file: key_file.display().to_string(),
        farm: FarmLine {
            id: farm.id.clone(),
            subdomain: farm.subdomain.clone(),
            name: farm.company_name.clone(),
        },
        tables: BTreeMap::new(),
        objects: 0,
        bytes: 0,
        sealed_secrets: 0,
        not_copied: NOT_COPIED
            .iter()
            .map(|(t, why)| (t.to_string(), why.to_string()))
            .collect(),
        unknown_tables: Vec::new(),
        problems: Vec::new(),
        seconds: 0.0,
    };
    let dialect = app.store.dialect();
    let mut conn = app.store.conn().await?;
    // Every table from one snapshot: rows that refer to each other agree.
    let mut snapshot = store::copy::snapshot(&mut conn, dialect).await?;
    let known: HashSet<&str> = TABLES
        .iter()
        .map(|t| t.name)
        .chain(NOT_COPIED.iter().map(|(t, _)| *t))
        .collect();
    report.unknown_tables = store::copy::tables(&mut snapshot, dialect)
        .await?
        .into_iter()
        .filter(|t| !known.contains(t.as_str()))
        .collect();
    let migration = store::copy::migration(&mut snapshot).await?;
    let mut total = 0;
    for spec in TABLES {
        total += store::copy::count(&mut snapshot, spec.name, spec.scope, tenant.as_str()).await?;
    }
    let bar = crate::pi::progress_bar(options.progress, total, "exporting");
    let members = member_ids(&mut snapshot, tenant.as_str()).await?;
    let mut referenced_objects = BTreeSet::new();
    let mut tables = Vec::new();
    let rekey = Rekey {
        tenant: &tenant,
        from: &app.cipher,
        to: &export_cipher,
    };
    for spec in TABLES {
        let columns = store::copy::columns(&mut snapshot, dialect, spec.name).await?;
        if columns.is_empty() {
            report
                .problems
                .push(format!("{}: not in this database", spec.name));
            continue;
        }
        let path = out.join("tables").join(format!("{}.jsonl", spec.name));
        let file = std::fs::File::create(&path).map_err(|e| CopyError::Io(path.clone(), e))?;
        let mut writer = HashingWriter::new(std::io::BufWriter::new(file));
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let secrets = TableSecrets::of(spec.name, &names);
        let id = secrets.id();
        let password = names.iter().position(|c| c == "password_hash");
        let object_columns: Vec<usize> = names
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.as_str(), "r2_key" | "thumbnail_r2_key"))
            .map(|(i, _)| i)
            .collect();
        let mut rows = 0u64;
        {
            let mut stream = store::copy::rows(
                &mut snapshot,
                spec.name,
                spec.scope,
                tenant.as_str(),
                &columns,
                spec.order,
            )?;
            while let Some(row) = stream.next().await {
                let mut row = row?;
                report.sealed_secrets +=
                    rekey.row(spec.name, &mut row, &secrets, &mut report.problems);
                // An account the farm's rows only name (a former member) comes without
                // its password: it keeps the references, not a way in.
                if spec.scope == Scope::Users
                    && let (Some(p), Some(i)) = (password, id)
                    && !row[i].as_ref().is_some_and(|id| members.contains(id))
                {
                    row[p] = None;
                }
                for &i in &object_columns {
                    if let Some(key) = &row[i] {
                        referenced_objects.insert(key.clone());
                    }
                }
                write_row(&mut writer, &columns, row)
                    .map_err(|e| CopyError::Io(path.clone(), e))?;
                rows += 1;
                bar.inc(1);
            }
        }
        let sha256 = writer
            .finish()
            .map_err(|e| CopyError::Io(path.clone(), e))?;
        report.tables.insert(spec.name.to_string(), rows);
        tables.push(TableFile {
            name: spec.name.to_string(),
            columns: columns
                .iter()
                .map(|c| ColumnLine {
                    name: c.name.clone(),
                    kind: kind_name(c.kind).into(),
                })
                .collect(),
            rows,
            sha256,
        });
    }
    // Read-only: nothing to keep.
    snapshot.rollback().await.map_err(store::StoreError::from)?;
    drop(conn);
    bar.finish_and_clear();

    let objects = copy_objects(&app.files, &format!("{tenant}/"), out).await?;
    let listed: BTreeSet<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    for key in &referenced_objects {
        if !listed.contains(key.as_str()) {
            report.problems.push(format!(
                "the object {key} that the farm's files name is not in the file store"
            ));
        }
    }
    report.objects = objects.len() as u64;
    report.bytes = objects.iter().map(|o| o.bytes).sum();
    let manifest = Manifest {
        format: FORMAT.into(),
        version: FORMAT_VERSION,
        printfarm_version: env!("CARGO_PKG_VERSION").into(),
        migration,
        exported_at: store::now_text(),
        farm: report.farm.clone(),
        tables,
        objects,
        sealed_secrets: report.sealed_secrets,
        key_id: key_id(&key),
    };
    write_key(&key_file, &key)?;
    // The manifest last: a folder without one is an export that did not finish.
    let path = out.join("manifest.json");
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| CopyError::Io(path.clone(), std::io::Error::other(e)))?;
    std::fs::write(&path, text).map_err(|e| CopyError::Io(path.clone(), e))?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Makes the folder (it must be new or empty) and refuses a key file in it or already there.
fn prepare_folder(out: &Path, key_file: &Path) -> Result<(), CopyError> {
    if let Ok(mut entries) = std::fs::read_dir(out)
        && entries.next().is_some()
    {
        return Err(CopyError::NotEmpty(out.to_path_buf()));
    }
    std::fs::create_dir_all(out).map_err(|e| CopyError::Io(out.to_path_buf(), e))?;
    let out_real = std::fs::canonicalize(out).map_err(|e| CopyError::Io(out.to_path_buf(), e))?;
    let key_dir = key_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let key_real =
        std::fs::canonicalize(key_dir).map_err(|e| CopyError::Io(key_dir.to_path_buf(), e))?;
    if key_real.starts_with(&out_real) {
        return Err(CopyError::Key(format!(
            "the key file {} must not be inside the export folder",
            key_file.display()
        )));
    }
    if key_file.exists() {
        return Err(CopyError::Key(format!(
            "{} is there already: give another --key-file",
            key_file.display()
        )));
    }
    for dir in [out.join("tables"), out.join("objects")] {
        std::fs::create_dir_all(&dir).map_err(|e| CopyError::Io(dir.clone(), e))?;
    }
    Ok(())
}

/// Writes the key readable by its owner only.
fn write_key(path: &Path, key: &str) -> Result<(), CopyError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| CopyError::Io(path.to_path_buf(), e))?;
    writeln!(file, "{key}").map_err(|e| CopyError::Io(path.to_path_buf(), e))
}

/// The farm's members' account ids.
async fn member_ids(conn: &mut store::Conn, tenant: &str) -> Result<HashSet<String>, CopyError> {
    let column = [Column {
        name: "user_id".into(),
        kind: store::import::Kind::Text,
        nullable: false,
    }];
    let mut ids = HashSet::new();
    let mut stream = store::copy::rows(
        conn,
        "tenant_members",
        Scope::Farm,
        tenant,
        &column,
        &["user_id"],
    )?;
    while let Some(row) = stream.next().await {
        if let Some(Some(id)) = row?.pop() {
            ids.insert(id);
        }
    }
    Ok(ids)
}

fn write_row(
    writer: &mut impl Write,
    columns: &[Column],
    row: Vec<Option<String>>,
) -> std::io::Result<()> {
    let object: serde_json::Map<String, serde_json::Value> = columns
        .iter()
        .zip(row)
        .map(|(c, v)| (c.name.clone(), to_json(c.kind, v)))
        .collect();
    serde_json::to_writer(&mut *writer, &object).map_err(std::io::Error::other)?;
    writer.write_all(b"\n")
}

/// Copies every object under `prefix` (a farm's `{tenant}/`, or all of them) into the
/// folder's `objects/`, each with its SHA-256.
pub(crate) async fn copy_objects(
    files: &server::file_store::FileStore,
    prefix: &str,
    out: &Path,
) -> Result<Vec<ObjectLine>, CopyError> {
    use tokio::io::AsyncWriteExt;
    let mut lines = Vec::new();
    for (key, _) in files.list(prefix).await? {
        let Some(path) = object_path(out, &key) else {
            continue;
        };
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| CopyError::Io(dir.to_path_buf(), e))?;
        }
        let (_, mut stream) = files.stream(&key).await?;
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| CopyError::Io(path.clone(), e))?;
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk?)
                .await
                .map_err(|e| CopyError::Io(path.clone(), e))?;
        }
        file.flush()
            .await
            .map_err(|e| CopyError::Io(path.clone(), e))?;
        let (sha256, bytes) = file_sha256(&path).await?;
        lines.push(ObjectLine { key, bytes, sha256 });
    }
    Ok(lines)
}

/// A writer that hashes what passes through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: sha2::Sha256,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        use sha2::Digest;
        HashingWriter {
            inner,
            hasher: sha2::Sha256::new(),
        }
    }

    /// Flushes and gives the SHA-256 of everything written, hex.
    fn finish(mut self) -> std::io::Result<String> {
        use sha2::Digest;
        self.inner.flush()?;
        Ok(hex::encode(self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
