//! What an import did, for a person (text) and for a program (`--json`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// The whole report of one import run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The Pi database read.
    pub source: String,
    /// The farm written (or that would be).
    pub farm: FarmLine,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// The Pi release's schema as recognised.
    pub schema: SchemaReport,
    /// Per PrintFarm table: what happened to its rows.
    pub tables: BTreeMap<String, TableCounts>,
    /// The values changed on the way in: how many, grouped, the first ones, and the file
    /// that lists every one.
    pub changes: ChangeSummary,
    /// Rows or files that could not come over whole, and why.
    pub problems: Vec<Problem>,
    /// The print files: stored, already there, missing.
    pub files: FileCounts,
    /// Source and farm compared after the import (absent in a dry run).
    pub verification: Option<Vec<Check>>,
    /// Seconds the run took.
    pub seconds: f64,
}

/// The farm of the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FarmLine {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether this run made it.
    pub created: bool,
}

/// How the Pi's tables and columns were recognised.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SchemaReport {
    /// Known tables found, with their row counts.
    pub tables: BTreeMap<String, u64>,
    /// Known tables this release lacks (nothing to import from them).
    pub missing_tables: Vec<String>,
    /// Tables the importer does not know: named, not imported.
    pub unknown_tables: Vec<String>,
    /// Columns the importer does not know, per table: named, not imported.
    pub unknown_columns: BTreeMap<String, Vec<String>>,
    /// Known tables read but deliberately not imported, and why.
    pub not_imported: BTreeMap<String, String>,
}

/// Row counts of one table.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct TableCounts {
    /// Rows read from the Pi.
    pub read: u64,
    /// New rows.
    pub inserted: u64,
    /// Rows there already, changed.
    pub updated: u64,
    /// Rows there already, the same.
    pub unchanged: u64,
    /// Rows not imported (see the problems).
    pub skipped: u64,
}

/// One value rewritten.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChangeLine {
    /// The Pi table.
    pub table: String,
    /// The Pi row's id.
    pub id: String,
    /// The column.
    pub column: String,
    /// What the Pi held.
    pub from: String,
    /// What is stored (`None`: NULL).
    pub to: Option<String>,
    /// The rule.
    pub rule: String,
}

/// Changes kept in the report itself; the rest are in the changes file only, so memory
/// does not grow with a Pi's oddities (100,000 jobs with hex colours).
const KEPT_CHANGES: usize = 1_000;

/// The changes of a run as the report holds them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChangeSummary {
    /// How many values were changed.
    pub total: u64,
    /// Per table, column and rule: how many, and the first.
    pub groups: Vec<ChangeGroup>,
    /// The first changes, one by one.
    pub first: Vec<ChangeLine>,
    /// The JSON-lines file listing every change, when one was written.
    pub file: Option<String>,
}

/// Changes of one kind.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChangeGroup {
    /// The Pi table.
    pub table: String,
    /// The column.
    pub column: String,
    /// The rule.
    pub rule: String,
    /// How many values.
    pub count: u64,
    /// The first of them.
    pub example: ChangeLine,
}

/// Every change of a run as it happens: written to the changes file, counted per kind,
/// the first [`KEPT_CHANGES`] kept.
#[derive(Debug, Default)]
pub struct ChangeLog {
    summary: ChangeSummary,
    groups: BTreeMap<(String, String, String), ChangeGroup>,
    file: Option<std::io::BufWriter<std::fs::File>>,
    /// Why the file could not be written (reported once, the run goes on).
    file_error: Option<String>,
}

impl ChangeLog {
    /// A log that writes every change to `path` (made, or emptied) when given.
    pub fn new(path: Option<&std::path::Path>) -> ChangeLog {
        let mut log = ChangeLog::default();
        if let Some(path) = path {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            match std::fs::File::create(path) {
                Ok(file) => {
                    log.file = Some(std::io::BufWriter::new(file));
                    log.summary.file = Some(path.display().to_string());
                }
                Err(e) => log.file_error = Some(format!("{}: {e}", path.display())),
            }
        }
        log
    }

    /// Records one change.
    pub fn push(&mut self, line: ChangeLine) {
        use std::io::Write;
        self.summary.total += 1;
        if let Some(file) = &mut self.file {
            let written = serde_json::to_writer(&mut *file, &line)
                .map_err(std::io::Error::other)
                .and_then(|()| file.write_all(b"\n"));
            if let Err(e) = written {
                self.file_error = Some(e.to_string());
                self.file = None;
                self.summary.file = None;
            }
        }
        self.groups
            .entry((line.table.clone(), line.column.clone(), line.rule.clone()))
            .and_modify(|g| g.count += 1)
            .or_insert_with(|| ChangeGroup {
                table: line.table.clone(),
                column: line.column.clone(),
                rule: line.rule.clone(),
                count: 1,
                example: line.clone(),
            });
        if self.summary.first.len() < KEPT_CHANGES {
            self.summary.first.push(line);
        }
    }

    /// The changes so far, as a report holds them.
    pub fn iter(&self) -> impl Iterator<Item = &ChangeLine> {
        self.summary.first.iter()
    }

    /// Flushes the file and gives the summary (and why the file is incomplete, if it is).
    pub fn finish(mut self) -> (ChangeSummary, Option<String>) {
        use std::io::Write;
        if let Some(mut file) = self.file.take()
            && let Err(e) = file.flush()
        {
            self.file_error = Some(e.to_string());
            self.summary.file = None;
        }
        self.summary.groups = self.groups.into_values().collect();
        (self.summary, self.file_error)
    }
}

/// A row or file that did not come over whole.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// The Pi table.
    pub table: String,
    /// The Pi row's id.
    pub id: String,
    /// What happened.
    pub message: String,
}

/// The print files.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct FileCounts {
    /// Found in the files folder and stored (a new version).
    pub stored: u64,
    /// Found, with the same contents stored already.
    pub unchanged: u64,
    /// Not in the files folder (the row is imported without contents).
    pub missing: u64,
    /// Found but not a 3MF PrintFarm can read.
    pub unreadable: u64,
}

/// One verification line: a count, a relationship or a spot check.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    /// What was compared.
    pub what: String,
    /// The Pi's figure.
    pub source: u64,
    /// The farm's figure.
    pub farm: u64,
    /// Whether they agree.
    pub ok: bool,
}

/// Changes listed one by one in the text; past that they are grouped (`--json` has all).
const LISTED_CHANGES: usize = 50;

impl Report {
    /// Whether verification found nothing wrong.
    pub fn verified(&self) -> bool {
        self.verification
            .as_ref()
            .is_some_and(|checks| checks.iter().all(|c| c.ok))
    }

    /// The report for a person.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} {} into farm '{}' ({}{}) in {:.1} s",
            if self.dry_run {
                "Dry run: would import"
            } else {
                "Imported"
            },
            self.source,
            self.farm.name,
            self.farm.id,
            if self.farm.created { ", new" } else { "" },
            self.seconds
        );
        let s = &self.schema;
        let _ = writeln!(out, "\nSchema");
        let found: Vec<String> = s.tables.iter().map(|(t, n)| format!("{t} ({n})")).collect();
        let _ = writeln!(out, "  tables read: {}", found.join(", "));
        if !s.missing_tables.is_empty() {
            let _ = writeln!(
                out,
                "  tables this release lacks: {}",
                s.missing_tables.join(", ")
            );
        }
        if !s.unknown_tables.is_empty() {
            let _ = writeln!(
                out,
                "  unknown tables, not imported: {}",
                s.unknown_tables.join(", ")
            );
        }
        for (table, columns) in &s.unknown_columns {
            let _ = writeln!(
                out,
                "  unknown columns of {table}, not imported: {}",
                columns.join(", ")
            );
        }
        for (table, why) in &s.not_imported {
            let _ = writeln!(out, "  {table}: not imported ({why})");
        }
        let _ = writeln!(
            out,
            "\n  {:<20} {:>8} {:>9} {:>8} {:>10} {:>8}",
            "table", "read", "inserted", "updated", "unchanged", "skipped"
        );
        for (table, c) in &self.tables {
            let _ = writeln!(
                out,
                "  {table:<20} {:>8} {:>9} {:>8} {:>10} {:>8}",
                c.read, c.inserted, c.updated, c.unchanged, c.skipped
            );
        }
        let f = &self.files;
        let _ = writeln!(
            out,
            "\nPrint files: {} stored, {} unchanged, {} missing, {} unreadable",
            f.stored, f.unchanged, f.missing, f.unreadable
        );
        let c = &self.changes;
        let _ = writeln!(out, "\nValues changed on the way in: {}", c.total);
        if c.total as usize <= LISTED_CHANGES && c.first.len() as u64 == c.total {
            for c in &c.first {
                let _ = writeln!(
                    out,
                    "  {}.{} of {}: '{}' -> {} ({})",
                    c.table,
                    c.column,
                    c.id,
                    c.from,
                    c.to.as_deref()
                        .map_or("NULL".to_string(), |t| format!("'{t}'")),
                    c.rule
                );
            }
        } else {
            for g in &c.groups {
                let _ = writeln!(
                    out,
                    "  {}.{}: {} × {} (e.g. '{}' -> {})",
                    g.table,
                    g.column,
                    g.count,
                    g.rule,
                    g.example.from,
                    g.example.to.as_deref().unwrap_or("NULL")
                );
            }
        }
        if let Some(file) = &c.file {
            let _ = writeln!(out, "  every change, one by one: {file}");
        }
        let _ = writeln!(out, "\nProblems: {}", self.problems.len());
        for p in &self.problems {
            let _ = writeln!(out, "  {} {}: {}", p.table, p.id, p.message);
        }
        if let Some(checks) = &self.verification {
            out.push_str(&checks_text(
                "Verification (the Pi against the farm)",
                "pi",
                checks,
            ));
        }
        out
    }
}

/// Checks as a table under `title`, the source's figures headed `source`, and whether
/// all agree.
pub fn checks_text(title: &str, source: &str, checks: &[Check]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{title}");
    let _ = writeln!(out, "  {:<48} {:>8} {:>8}  ", "check", source, "farm");
    for c in checks {
        let _ = writeln!(
            out,
            "  {:<48} {:>8} {:>8}  {}",
            c.what,
            c.source,
            c.farm,
            if c.ok { "ok" } else { "DIFFERS" }
        );
    }
    let _ = writeln!(
        out,
        "  {}",
        if checks.iter().all(|c| c.ok) {
            "all checks agree"
        } else {
            "SOME CHECKS DIFFER"
        }
    );
    out
}
