//! Which printer a job goes to: scoring, availability, strict dispatch and why a job waits.
//!
//! Two rules live here. [`score`] and [`best_printer`] are the original auto-assignment:
//! every fact that matches adds points, every known mismatch costs some, and the best
//! available printer wins. The dispatcher that actually *starts* jobs is stricter
//! ([`can_start`], [`next_job_for`], [`why_waiting`]): it starts a job only on an idle,
//! connected printer with a cleared bed whose model, nozzle, plate, material and colour
//! are the ones the job states, because a print started on the wrong nozzle or filament
//! is wasted and may damage the printer.

use crate::PrinterId;
use crate::printers::{HexColour, PrinterStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::cmp::Ordering;
use std::fmt;

/// What the dispatcher knows about one printer.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterFacts {
    /// The printer.
    pub id: PrinterId,
    /// Its name in the farm, for messages.
    pub name: String,
    /// Its display position (`sort_order`); lower wins ties.
    pub sort_order: i64,
    /// Its model, as a name ("P1S") or a Bambu model id ("C12"); empty when unknown.
    pub model: String,
    /// False when the printer is retired from the farm.
    pub is_active: bool,
    /// Taken out of service for maintenance.
    pub in_maintenance: bool,
    /// What it is doing.
    pub status: PrinterStatus,
    /// Whether its hub has a live connection to it.
    pub is_connected: bool,
    /// Whether a hub manages it (without one no job can reach it).
    pub on_hub: bool,
    /// Whether an operator confirmed the bed is empty since the last print.
    pub bed_cleared: bool,
    /// The nozzle fitted, in mm.
    pub nozzle_size: Option<f64>,
    /// The filament type loaded ("PLA", "PETG" ...).
    pub filament_type: Option<String>,
    /// The filament colour loaded, `#RRGGBB` or `RRGGBBAA` as Bambu reports it.
    pub colour_hex: Option<String>,
    /// The build plate on the bed ("Textured PEI Plate" ...).
    pub build_plate: Option<String>,
    /// Every filament slot the printer's report lists (AMS trays, external spool). A job
    /// fits when a slot holds its filament (it then prints from that slot, [`slot_for`]) or
    /// when `filament_type` and `colour_hex` (what the farm states is loaded, or the one
    /// slot a printer reports) do; [`slot_to_load`] says where a new filament goes.
    pub loaded: Vec<LoadedFilament>,
}

/// A filament a printer holds, as its report lists it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedFilament {
    /// AMS unit × 4 + tray, or [`EXTERNAL_SPOOL`].
    pub slot: u32,
    /// "PLA", "PETG" ...; `None` for an empty tray.
    pub filament_type: Option<String>,
    /// `#RRGGBB`.
    pub colour_hex: Option<String>,
    /// Remaining, in percent, when the AMS knows.
    pub remaining: Option<i64>,
}

/// The slot number Bambu gives the spool holder outside the AMS.
pub const EXTERNAL_SPOOL: u32 = 254;

/// Whether a slot holds the filament type and colour asked (each only when asked).
fn slot_holds(slot: &LoadedFilament, filament_type: Option<&str>, colour: Option<&str>) -> bool {
    let type_ok = match known(filament_type) {
        None => known(slot.filament_type.as_deref()).is_some(),
        Some(wanted) => {
            known(slot.filament_type.as_deref()).is_some_and(|t| same_filament(t, wanted))
        }
    };
    let colour_ok = match known(colour) {
        None => true,
        Some(wanted) => known(slot.colour_hex.as_deref()).is_some_and(|c| same_colour(c, wanted)),
    };
    type_ok && colour_ok
}

/// Whether any of the slots holds the filament type and colour asked.
pub fn holds_filament(
    loaded: &[LoadedFilament],
    filament_type: Option<&str>,
    colour: Option<&str>,
) -> bool {
    loaded
        .iter()
        .any(|slot| slot_holds(slot, filament_type, colour))
}

/// The slot a job would print from: the first that holds its filament type and colour.
/// `None` when none does, or when the printer lists no slots (its one filament is then
/// what it prints with).
pub fn slot_for<'a>(printer: &'a PrinterFacts, job: &JobNeeds) -> Option<&'a LoadedFilament> {
    printer.loaded.iter().find(|slot| {
        slot_holds(
            slot,
            job.filament_type.as_deref(),
            job.colour_hex.as_deref(),
        )
    })
}

/// The slot to load a new filament into. Reports list loaded slots only, so a tray of an
/// AMS that is not listed is empty: the first of those, else the loaded tray with the least
/// left (unknown counts as full), lowest slot on ties; without an AMS, the external spool.
/// `None` when the printer lists nothing (it has not reported).
pub fn slot_to_load(loaded: &[LoadedFilament]) -> Option<u32> {
    let trays: Vec<&LoadedFilament> = loaded.iter().filter(|s| s.slot < EXTERNAL_SPOOL).collect();
    let Some(last) = trays.iter().map(|s| s.slot).max() else {
        return (!loaded.is_empty()).then_some(EXTERNAL_SPOOL);
    };
    let units = last / 4 + 1;
    if let Some(empty) = (0..units * 4).find(|n| {
        !trays
            .iter()
            .any(|s| s.slot == *n && known(s.filament_type.as_deref()).is_some())
    }) {
        return Some(empty);
    }
    trays
        .iter()
        .min_by_key(|s| (s.remaining.unwrap_or(100), s.slot))
        .map(|s| s.slot)
}

/// A slot as an operator reads it: "AMS 1 tray 2", or "the external spool".
pub fn slot_name(slot: u32) -> String {
    if slot == EXTERNAL_SPOOL {
        "the external spool".into()
    } else {
        format!("AMS {} tray {}", slot / 4 + 1, slot % 4 + 1)
    }
}

/// What a job asks of a printer; `None` means the job does not care.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobNeeds {
    /// The printer model it was sliced for, as a Bambu model id ("N2S") or name ("A1").
    pub model: Option<String>,
    /// The nozzle it was sliced for, in mm.
    pub nozzle: Option<f64>,
    /// The filament type it prints in.
    pub filament_type: Option<String>,
    /// The colour it prints in.
    pub colour_hex: Option<String>,
    /// The build plate it was sliced for.
    pub build_plate: Option<String>,
}

/// Bambu model ids (3MF `printer_model_id`, SSDP `DevModel`) and the model names they mean.
///
/// From the model-code table of `bambu-lan-protocol.md` §5.3, including the legacy SSDP
/// names of the X1 series. P2S and H2S have no known model id there, so they match by name only.
const MODEL_IDS: [(&str, &str); 12] = [
    ("BL-P001", "X1C"),
    ("3DPrinter-X1-Carbon", "X1C"),
    ("X1 Carbon", "X1C"),
    ("BL-P002", "X1"),
    ("3DPrinter-X1", "X1"),
    ("C13", "X1E"),
    ("C11", "P1P"),
    ("C12", "P1S"),
    ("N1", "A1 mini"),
    ("N2S", "A1"),
    ("O1D", "H2D"),
    ("N6", "X2D"),
];

/// Model names written the way the farm shows them, so "a1 MINI" reads back as "A1 mini".
const MODEL_NAMES: [&str; 11] = [
    "X1C", "X1", "X1E", "P1P", "P1S", "A1 mini", "A1", "H2D", "H2S", "P2S", "X2D",
];

/// The model name for a Bambu model id or name: "C12", "P1S" and "Bambu Lab P1S" all give "P1S".
///
/// Unknown ids and names come back trimmed, so they still match themselves.
pub fn model_name(id_or_name: &str) -> String {
    let text = id_or_name.trim();
    // Bambu Studio's project settings and the printers' own reports say "Bambu Lab A1".
    let text = match text.get(..10) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bambu lab ") => text[10..].trim(),
        _ => text,
    };
    MODEL_IDS
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(text))
        .map(|(_, name)| *name)
        .or_else(|| {
            MODEL_NAMES
                .iter()
                .copied()
                .find(|n| n.eq_ignore_ascii_case(text))
        })
        .unwrap_or(text)
        .to_string()
}

/// Whether two model ids or names mean the same printer model.
pub fn same_model(a: &str, b: &str) -> bool {
    model_name(a).eq_ignore_ascii_case(&model_name(b))
}

/// Whether two colours are the same, ignoring case, a leading '#' and Bambu's alpha byte.
pub fn same_colour(a: &str, b: &str) -> bool {
    colour_key(a) == colour_key(b)
}

/// A colour reduced to what identifies it; names that are not hex ("Red") compare as text.
fn colour_key(colour: &str) -> String {
    match HexColour::parse("colour", colour) {
        Ok(hex) => hex.as_str().to_string(),
        Err(_) => colour.trim().trim_start_matches('#').to_ascii_uppercase(),
    }
}

/// Whether two filament types are the same, ignoring case ("petg" is "PETG").
pub fn same_filament(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Whether two nozzle diameters are the same; stored diameters are floats, so within 0.01 mm.
pub fn same_nozzle(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.01
}

/// Whether two build plates are the same, ignoring case and a trailing "Plate".
///
/// Bambu Studio writes "Textured PEI Plate" while the farm's plate list says "Textured PEI".
pub fn same_plate(a: &str, b: &str) -> bool {
    plate_key(a) == plate_key(b)
}

/// A plate name in lower case without the word "plate" at its end.
fn plate_key(plate: &str) -> String {
    let lower = plate.trim().to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    match words.split_last() {
        Some((&"plate", rest)) if !rest.is_empty() => rest.join(" "),
        _ => words.join(" "),
    }
}

/// A text that is known: present and not blank.
fn known(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// How one fact compares when both sides know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fact {
    /// Both know it and agree.
    Same,
    /// Both know it and disagree.
    Differs,
    /// At least one side does not know it; it neither helps nor hurts.
    Unknown,
}

/// Compares two optional values with `same`.
fn compare<T: Copy>(printer: Option<T>, job: Option<T>, same: impl Fn(T, T) -> bool) -> Fact {
    match (printer, job) {
        (Some(p), Some(j)) if same(p, j) => Fact::Same,
        (Some(_), Some(_)) => Fact::Differs,
        _ => Fact::Unknown,
    }
}

/// The printer's facts against the job's needs: model, nozzle, plate, filament type, colour.
struct Facts {
    model: Fact,
    nozzle: Fact,
    plate: Fact,
    filament: Fact,
    colour: Fact,
}

impl Facts {
    /// Compares each fact of `printer` with what `job` states.
    fn of(printer: &PrinterFacts, job: &JobNeeds) -> Facts {
        // A reported slot holding the job's filament is a match (the job prints from it);
        // otherwise what the farm states is loaded speaks for the printer.
        let (filament_type, colour_hex) = match slot_for(printer, job) {
            Some(slot) => (slot.filament_type.as_deref(), slot.colour_hex.as_deref()),
            None => (
                printer.filament_type.as_deref(),
                printer.colour_hex.as_deref(),
            ),
        };
        Facts {
            model: compare(
                known(Some(&printer.model)),
                known(job.model.as_deref()),
                same_model,
            ),
            nozzle: compare(printer.nozzle_size, job.nozzle, same_nozzle),
            plate: compare(
                known(printer.build_plate.as_deref()),
                known(job.build_plate.as_deref()),
                same_plate,
            ),
            filament: compare(
                known(filament_type),
                known(job.filament_type.as_deref()),
                same_filament,
            ),
            colour: compare(
                known(colour_hex),
                known(job.colour_hex.as_deref()),
                same_colour,
            ),
        }
    }
}

/// Points for a fact: `same` when both agree, `differs` when they disagree, 0 when unknown.
fn points(fact: Fact, same: i64, differs: i64) -> i64 {
    match fact {
        Fact::Same => same,
        Fact::Differs => differs,
        Fact::Unknown => 0,
    }
}

/// Whether the printer is in maintenance, by its flag or by its status.
fn in_maintenance(printer: &PrinterFacts) -> bool {
    printer.in_maintenance || printer.status == PrinterStatus::Maintenance
}

/// How well `printer` suits `job`, with the original system's weights; higher is better.
pub fn score(printer: &PrinterFacts, job: &JobNeeds) -> i64 {
    let facts = Facts::of(printer, job);
    let mut total = 0;
    if printer.status == PrinterStatus::Idle {
        total += if printer.is_connected { 100 } else { 50 };
    }
    total += points(facts.model, 50, -20);
    total += points(facts.filament, 30, -10);
    total += points(facts.colour, 40, -5);
    total += points(facts.nozzle, 20, -30);
    // A different plate often still prints (with a note to the operator), so no penalty.
    total += points(facts.plate, 15, 0);
    if in_maintenance(printer) {
        total -= 200;
    }
    if !printer.is_active {
        total -= 500;
    }
    match printer.status {
        PrinterStatus::Error => total -= 300,
        PrinterStatus::Printing => total -= 150,
        _ => {}
    }
    total
}

/// Whether a printer may be given a job: active, not in maintenance, not in error,
/// not printing or paused, and managed by a hub.
///
/// A paused printer still has a job on its bed, so it counts as printing here.
pub fn is_available(printer: &PrinterFacts) -> bool {
    printer.is_active
        && !in_maintenance(printer)
        && !matches!(
            printer.status,
            PrinterStatus::Error | PrinterStatus::Printing | PrinterStatus::Paused
        )
        && printer.on_hub
}

/// Auto-assignment picks a printer only when its score is above this.
///
/// Only available printers are scored, so the penalties for maintenance, error, printing and
/// inactivity never apply here. An idle printer always clears it (100 or 50 points against at
/// most 65 of mismatches) as it did in the original; a printer that is not idle needs at
/// least one matching fact, so an offline printer nobody knows anything about is not picked.
pub const MIN_SCORE: i64 = 0;

/// The available printer that suits `job` best, with its score; ties go to the lower sort
/// position, then the lower id.
///
/// This is the original auto-assignment: it may pick a printer with a known mismatch when
/// nothing better is free. The dispatcher still starts the job only when [`can_start`] holds.
pub fn best_printer(printers: &[PrinterFacts], job: &JobNeeds) -> Option<(PrinterId, i64)> {
    printers
        .iter()
        .filter(|p| is_available(p))
        .map(|p| (p, score(p, job)))
        .filter(|(_, s)| *s > MIN_SCORE)
        .min_by(|(a, sa), (b, sb)| sb.cmp(sa).then_with(|| printer_order(a, b)))
        .map(|(p, s)| (p.id.clone(), s))
}

/// The farm's stable printer order: sort position, then id.
fn printer_order(a: &PrinterFacts, b: &PrinterFacts) -> Ordering {
    a.sort_order
        .cmp(&b.sort_order)
        .then_with(|| a.id.cmp(&b.id))
}

/// A stated fact the printer must match strictly: unknown on the printer's side is not a match.
fn strict(fact: Fact, stated: bool) -> bool {
    !stated || fact == Fact::Same
}

/// Whether the printer's model, nozzle and plate are the ones the job states.
fn hardware_fits(printer: &PrinterFacts, job: &JobNeeds) -> bool {
    let facts = Facts::of(printer, job);
    strict(facts.model, known(job.model.as_deref()).is_some())
        && strict(facts.nozzle, job.nozzle.is_some())
        && strict(facts.plate, known(job.build_plate.as_deref()).is_some())
}

/// Whether the printer has the filament type the job states.
fn material_fits(printer: &PrinterFacts, job: &JobNeeds) -> bool {
    let stated = known(job.filament_type.as_deref()).is_some();
    strict(Facts::of(printer, job).filament, stated)
}

/// Whether the printer has the colour the job states.
fn colour_fits(printer: &PrinterFacts, job: &JobNeeds) -> bool {
    let stated = known(job.colour_hex.as_deref()).is_some();
    strict(Facts::of(printer, job).colour, stated)
}

/// Whether everything the job states (model, nozzle, plate, material, colour) is known on the
/// printer and matches.
pub fn meets_needs(printer: &PrinterFacts, job: &JobNeeds) -> bool {
    hardware_fits(printer, job) && material_fits(printer, job) && colour_fits(printer, job)
}

/// Whether the printer is free to start a print now: available, idle and connected.
fn is_ready(printer: &PrinterFacts) -> bool {
    is_available(printer) && printer.status == PrinterStatus::Idle && printer.is_connected
}

/// Whether the dispatcher may start `job` on `printer` now (strict mode): ready, bed cleared,
/// and meeting every need the job states.
pub fn can_start(printer: &PrinterFacts, job: &JobNeeds) -> bool {
    is_ready(printer) && printer.bed_cleared && meets_needs(printer, job)
}

/// Why a queued job is not being started, for the queue page and the job's detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum WaitReason {
    /// The farm has no active printer at all.
    NoPrinters,
    /// No active printer has the model, nozzle and build plate the job was sliced for.
    NoMatchingPrinter,
    /// Every printer that fits is printing, paused, offline, in maintenance or in error.
    AllPrintersBusy,
    /// Free printers that fit have another filament type loaded.
    MaterialNotLoaded {
        /// The filament type the job needs.
        filament_type: String,
    },
    /// Free printers that fit have the right material but another colour loaded.
    ColourNotLoaded {
        /// The colour the job needs.
        colour: String,
    },
    /// A free printer with everything right is waiting for its bed to be cleared.
    BedNotCleared {
        /// That printer's name.
        printer: String,
    },
}

impl WaitReason {
    /// The reason in a sentence for the operator.
    pub fn message(&self) -> String {
        match self {
            WaitReason::NoPrinters => "the farm has no active printers".to_string(),
            WaitReason::NoMatchingPrinter => {
                "no printer has the model, nozzle and build plate this job was sliced for"
                    .to_string()
            }
            WaitReason::AllPrintersBusy => {
                "every printer that fits this job is busy, offline or in maintenance".to_string()
            }
            WaitReason::MaterialNotLoaded { filament_type } => {
                format!("no free printer that fits this job has {filament_type} loaded")
            }
            WaitReason::ColourNotLoaded { colour } => {
                format!("no free printer that fits this job has colour {colour} loaded")
            }
            WaitReason::BedNotCleared { printer } => {
                format!("waiting for the bed of {printer} to be cleared")
            }
        }
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Why no printer can start `job` now, or `None` when one can ([`can_start`]).
///
/// Reasons are checked from the farm's side inwards, so the answer is the first thing an
/// operator must fix: no printers, none that fits, none free, wrong material, wrong colour,
/// bed not cleared. Material and colour are judged on free printers only, because loading
/// filament on a free printer is what gets the job going. For a job already assigned to a
/// printer, pass just that printer.
pub fn why_waiting(printers: &[PrinterFacts], job: &JobNeeds) -> Option<WaitReason> {
    let mut active: Vec<&PrinterFacts> = printers.iter().filter(|p| p.is_active).collect();
    if active.is_empty() {
        return Some(WaitReason::NoPrinters);
    }
    active.sort_by(|a, b| printer_order(a, b));
    let fitting: Vec<_> = active
        .into_iter()
        .filter(|p| hardware_fits(p, job))
        .collect();
    if fitting.is_empty() {
        return Some(WaitReason::NoMatchingPrinter);
    }
    let free: Vec<_> = fitting.into_iter().filter(|p| is_ready(p)).collect();
    if free.is_empty() {
        return Some(WaitReason::AllPrintersBusy);
    }
    let with_material: Vec<_> = free.into_iter().filter(|p| material_fits(p, job)).collect();
    if with_material.is_empty() {
        return Some(WaitReason::MaterialNotLoaded {
            filament_type: job.filament_type.clone().unwrap_or_default(),
        });
    }
    let with_colour: Vec<_> = with_material
        .into_iter()
        .filter(|p| colour_fits(p, job))
        .collect();
    match with_colour.iter().find(|p| p.bed_cleared) {
        Some(_) => None,
        None => match with_colour.first() {
            Some(p) => Some(WaitReason::BedNotCleared {
                printer: p.name.clone(),
            }),
            None => Some(WaitReason::ColourNotLoaded {
                colour: job.colour_hex.clone().unwrap_or_default(),
            }),
        },
    }
}

/// A filament an operator should load so that a waiting job can start.
#[derive(Debug, Clone, PartialEq)]
pub struct FilamentChange {
    /// The printer to load it on.
    pub printer: PrinterId,
    /// Its name, for the task's title.
    pub printer_name: String,
    /// The job waiting for it.
    pub job_id: String,
    /// The filament type the job needs.
    pub filament_type: Option<String>,
    /// The colour the job needs.
    pub colour_hex: Option<String>,
    /// The slot to load it into, when the printer lists its slots.
    pub slot: Option<u32>,
}

/// The filament changes that would let waiting jobs start: for each job (highest effective
/// priority first) whose filament no free printer holds, the first free printer (ready, bed
/// cleared, the job's model, nozzle and plate) that has no change asked of it yet.
///
/// A printer that is ready with a cleared bed after a dispatch pass holds nothing any
/// queued job could start with (else it would have started one), so changing its filament
/// takes nothing from another job. Jobs in `asked` (a change is open for them) and
/// printers in `busy` (a change is open on them) are left alone, so a pass run again asks
/// nothing twice.
pub fn filament_changes(
    printers: &[PrinterFacts],
    waiting: &[QueuedJob],
    asked: &std::collections::HashSet<String>,
    busy: &std::collections::HashSet<PrinterId>,
) -> Vec<FilamentChange> {
    let mut jobs: Vec<&QueuedJob> = waiting
        .iter()
        .filter(|job| !asked.contains(&job.id))
        .filter(|job| {
            known(job.needs.filament_type.as_deref()).is_some()
                || known(job.needs.colour_hex.as_deref()).is_some()
        })
        .collect();
    jobs.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.submitted_at.cmp(&b.submitted_at))
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut free: Vec<&PrinterFacts> = printers
        .iter()
        .filter(|p| is_ready(p) && p.bed_cleared && !busy.contains(&p.id))
        .collect();
    free.sort_by(|a, b| printer_order(a, b));
    let mut changes = Vec::new();
    let mut claimed: std::collections::HashSet<&PrinterId> = std::collections::HashSet::new();
    for job in jobs {
        let fits = |p: &&&PrinterFacts| {
            job.printer_id.as_ref().is_none_or(|id| *id == p.id) && hardware_fits(p, &job.needs)
        };
        // A free printer that could start it now means it waits for nothing we can ask.
        if free
            .iter()
            .filter(fits)
            .any(|p| material_fits(p, &job.needs) && colour_fits(p, &job.needs))
        {
            continue;
        }
        let Some(printer) = free.iter().filter(fits).find(|p| !claimed.contains(&p.id)) else {
            continue;
        };
        claimed.insert(&printer.id);
        changes.push(FilamentChange {
            printer: printer.id.clone(),
            printer_name: printer.name.clone(),
            job_id: job.id.clone(),
            filament_type: known(job.needs.filament_type.as_deref()).map(str::to_string),
            colour_hex: known(job.needs.colour_hex.as_deref()).map(str::to_string),
            slot: slot_to_load(&printer.loaded),
        });
    }
    changes
}

/// A queued job as the dispatcher sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedJob {
    /// The job's id.
    pub id: String,
    /// The printer it is assigned to, if any.
    pub printer_id: Option<PrinterId>,
    /// Its effective priority now ([`crate::jobs::effective_priority`]).
    pub priority: i64,
    /// When it was queued.
    pub submitted_at: DateTime<Utc>,
    /// What it asks of a printer.
    pub needs: JobNeeds,
}

/// The job `printer` should start next, or `None` when it cannot start any now.
///
/// Only jobs assigned to this printer or to none, and whose needs it meets ([`can_start`]).
/// Jobs assigned to it come first (someone chose this printer for them), then higher
/// effective priority, then the oldest; the id settles exact ties so every node agrees.
pub fn next_job_for<'a>(printer: &PrinterFacts, queued: &'a [QueuedJob]) -> Option<&'a QueuedJob> {
    if !(is_ready(printer) && printer.bed_cleared) {
        return None;
    }
    let assigned_here = |job: &QueuedJob| job.printer_id.as_ref() == Some(&printer.id);
    queued
        .iter()
        .filter(|job| job.printer_id.is_none() || assigned_here(job))
        .filter(|job| meets_needs(printer, &job.needs))
        .min_by(|a, b| {
            assigned_here(b)
                .cmp(&assigned_here(a))
                .then_with(|| b.priority.cmp(&a.priority))
                .then_with(|| a.submitted_at.cmp(&b.submitted_at))
                .then_with(|| a.id.cmp(&b.id))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn id(n: u32) -> PrinterId {
        PrinterId::parse(&format!("00000000-0000-0000-0000-{n:012}")).unwrap()
    }

    /// A printer that scores 0 for any job: active, on a hub, offline, nothing known.
    fn blank(n: u32) -> PrinterFacts {
        PrinterFacts {
            id: id(n),
            name: format!("Printer {n}"),
            sort_order: n as i64,
            model: String::new(),
            is_active: true,
            in_maintenance: false,
            status: PrinterStatus::Offline,
            is_connected: false,
            on_hub: true,
            bed_cleared: true,
            nozzle_size: None,
            filament_type: None,
            colour_hex: None,
            build_plate: None,
            loaded: Vec::new(),
        }
    }

    /// An idle, connected P1S with 0.4 nozzle, yellow PLA on a textured plate, bed cleared.
    fn ready_p1s(n: u32) -> PrinterFacts {
        PrinterFacts {
            model: "P1S".into(),
            status: PrinterStatus::Idle,
            is_connected: true,
            nozzle_size: Some(0.4),
            filament_type: Some("PLA".into()),
            colour_hex: Some("#F7D959".into()),
            build_plate: Some("Textured PEI Plate".into()),
            ..blank(n)
        }
    }

    /// A job sliced for a P1S (by model id), 0.4 nozzle, yellow PLA, textured plate.
    fn p1s_job() -> JobNeeds {
        JobNeeds {
            model: Some("C12".into()),
            nozzle: Some(0.4),
            filament_type: Some("PLA".into()),
            colour_hex: Some("#F7D959".into()),
            build_plate: Some("Textured PEI Plate".into()),
        }
    }

    fn no_needs() -> JobNeeds {
        JobNeeds::default()
    }

    #[test]
    fn a_printer_nobody_knows_anything_about_scores_zero() {
        assert_eq!(score(&blank(1), &p1s_job()), 0);
        assert_eq!(score(&ready_p1s(1), &no_needs()), 100);
    }

    #[test]
    fn an_idle_connected_printer_gains_100_points() {
        let p = PrinterFacts {
            status: PrinterStatus::Idle,
            is_connected: true,
            ..blank(1)
        };
        assert_eq!(score(&p, &no_needs()), 100);
    }

    #[test]
    fn an_idle_printer_that_is_not_connected_gains_50_points() {
        let p = PrinterFacts {
            status: PrinterStatus::Idle,
            ..blank(1)
        };
        assert_eq!(score(&p, &no_needs()), 50);
    }

    #[test]
    fn a_connected_printer_that_is_not_idle_gains_nothing_for_it() {
        let p = PrinterFacts {
            is_connected: true,
            ..blank(1)
        };
        assert_eq!(score(&p, &no_needs()), 0);
    }

    #[test]
    fn a_matching_model_gains_50_points() {
        let p = PrinterFacts {
            model: "P1S".into(),
            ..blank(1)
        };
        let job = JobNeeds {
            model: Some("C12".into()),
            ..no_needs()
        };
        assert_eq!(score(&p, &job), 50);
    }

    #[test]
    fn a_different_model_loses_20_points() {
        let p = PrinterFacts {
            model: "P1P".into(),
            ..blank(1)
        };
        let job = JobNeeds {
            model: Some("C12".into()),
            ..no_needs()
        };
        assert_eq!(score(&p, &job), -20);
    }

    #[test]
    fn a_matching_filament_type_gains_30_points() {
        let p = PrinterFacts {
            filament_type: Some("PETG".into()),
            ..blank(1)
        };
        let job = JobNeeds {
            filament_type: Some("petg".into()),
            ..no_needs()
        };
        assert_eq!(score(&p, &job), 30);
    }

    #[test]
    fn a_different_filament_type_loses_10_points() {
        let p = PrinterFacts {
            filament_type: Some("PLA".into()),
            ..blank(1)
        };
        let job = JobNeeds {
            filament_type: Some("PETG".into()),
            ..no_needs()
        };
        assert_eq!(score(&p, &job), -10);
    }

    #[test]
    fn a_matching_colour_gains_40_points() {
        let p = PrinterFacts {
            colour_hex: Some("F7D959FF".into()),
            ..blank(1)
        };
        let job = JobNeeds {
            colour_hex: Some("#f7d959".into()),
            ..no_needs()
        };
        assert_eq!(score(&p, &job), 40);
    }

    #[test]
    fn a_different_colour_loses_5_points() {
        let p = PrinterFacts {
            colour_hex: Some("#000000".into()),
            ..blank(1)
        };
        let job = JobNeeds {
            colour_hex: Some("#F7D959".into()),
            ..no_needs()
        };
        assert_eq!(score(&p, &job), -5);
    }

    #[test]
    fn a_matching_nozzle_gains_20_points() {
        let p = PrinterFacts {
            nozzle_size: Some(0.4),
            ..blank(1)
        };
        let job = JobNeeds {
            nozzle: Some(0.400_000_1),
            ..no_needs()
        };
        assert_eq!(score(&p, &job), 20);
    }

    #[test]
    fn a_different_nozzle_loses_30_points() {
        let p = PrinterFacts {
            nozzle_size: Some(0.6),
            ..blank(1)
        };
        let job = JobNeeds {
            nozzle: Some(0.4),
            ..no_needs()
        };
        assert_eq!(score(&p, &job), -30);
    }

    #[test]
    fn a_matching_build_plate_gains_15_points_and_a_different_one_costs_nothing() {
        let p = PrinterFacts {
            build_plate: Some("Textured PEI".into()),
            ..blank(1)
        };
        let job = JobNeeds {
            build_plate: Some("textured pei plate".into()),
            ..no_needs()
        };
        assert_eq!(score(&p, &job), 15);
        let other = JobNeeds {
            build_plate: Some("Cool Plate".into()),
            ..no_needs()
        };
        assert_eq!(score(&p, &other), 0);
    }

    #[test]
    fn a_printer_in_maintenance_loses_200_points() {
        let flagged = PrinterFacts {
            in_maintenance: true,
            ..blank(1)
        };
        assert_eq!(score(&flagged, &no_needs()), -200);
        let by_status = PrinterFacts {
            status: PrinterStatus::Maintenance,
            ..blank(1)
        };
        assert_eq!(score(&by_status, &no_needs()), -200);
    }

    #[test]
    fn an_inactive_printer_loses_500_points() {
        let p = PrinterFacts {
            is_active: false,
            ..blank(1)
        };
        assert_eq!(score(&p, &no_needs()), -500);
    }

    #[test]
    fn a_printer_in_error_loses_300_points() {
        let p = PrinterFacts {
            status: PrinterStatus::Error,
            ..blank(1)
        };
        assert_eq!(score(&p, &no_needs()), -300);
    }

    #[test]
    fn a_printing_printer_loses_150_points() {
        let p = PrinterFacts {
            status: PrinterStatus::Printing,
            is_connected: true,
            ..blank(1)
        };
        assert_eq!(score(&p, &no_needs()), -150);
    }

    #[test]
    fn a_fact_only_counts_when_both_sides_know_it() {
        // The printer knows everything, the job nothing: only the idle bonus.
        assert_eq!(score(&ready_p1s(1), &no_needs()), 100);
        // The job states everything, the printer knows nothing.
        assert_eq!(score(&blank(1), &p1s_job()), 0);
        // Blank text is unknown too.
        let p = PrinterFacts {
            filament_type: Some("  ".into()),
            ..blank(1)
        };
        assert_eq!(score(&p, &p1s_job()), 0);
    }

    #[test]
    fn a_perfect_idle_match_scores_every_bonus() {
        assert_eq!(
            score(&ready_p1s(1), &p1s_job()),
            100 + 50 + 30 + 40 + 20 + 15
        );
    }

    #[test]
    fn model_ids_and_names_mean_the_same_printers() {
        let pairs = [
            ("BL-P001", "X1C"),
            ("BL-P001", "X1 Carbon"),
            ("3DPrinter-X1-Carbon", "X1C"),
            ("BL-P002", "X1"),
            ("3DPrinter-X1", "X1"),
            ("C13", "X1E"),
            ("C11", "P1P"),
            ("C12", "P1S"),
            ("N1", "A1 mini"),
            ("N2S", "A1"),
            ("O1D", "H2D"),
            ("N6", "X2D"),
            ("n2s", "Bambu Lab A1"),
            ("Bambu Lab P1S", "p1s"),
            ("N1", "A1 Mini"),
        ];
        for (code, name) in pairs {
            assert!(same_model(code, name), "{code} = {name}");
        }
        for (a, b) in [
            ("BL-P001", "X1"),
            ("BL-P002", "X1C"),
            ("N1", "A1"),
            ("N2S", "A1 mini"),
            ("C11", "C12"),
        ] {
            assert!(!same_model(a, b), "{a} != {b}");
        }
        assert_eq!(model_name("bambu lab a1 mini"), "A1 mini");
        assert_eq!(model_name("Ender-3"), "Ender-3");
        assert!(same_model("P2S", "p2s"));
    }

    #[test]
    fn colours_compare_ignoring_case_hash_and_alpha() {
        assert!(same_colour("#f7d959", "F7D959"));
        assert!(same_colour("F7D959FF", "#F7D959"));
        assert!(!same_colour("#F7D959", "#F7D958"));
        assert!(same_colour("Red", "red"));
    }

    #[test]
    fn filament_types_compare_ignoring_case_and_nozzles_within_a_hundredth() {
        assert!(same_filament("PLA", " pla "));
        assert!(!same_filament("PLA", "PETG"));
        assert!(same_nozzle(0.4, 0.405));
        assert!(!same_nozzle(0.4, 0.6));
    }

    #[test]
    fn build_plates_compare_ignoring_case_and_the_word_plate() {
        assert!(same_plate("Textured PEI Plate", "textured pei"));
        assert!(same_plate("Cool Plate", "cool plate"));
        assert!(!same_plate("Cool Plate", "Textured Cool Plate"));
        assert!(!same_plate("Plate", "Cool Plate"));
    }

    #[test]
    fn only_active_free_printers_on_a_hub_are_available() {
        assert!(is_available(&ready_p1s(1)));
        assert!(is_available(&blank(1)), "offline printers can be assigned");
        let unavailable = [
            PrinterFacts {
                is_active: false,
                ..ready_p1s(1)
            },
            PrinterFacts {
                in_maintenance: true,
                ..ready_p1s(1)
            },
            PrinterFacts {
                status: PrinterStatus::Maintenance,
                ..ready_p1s(1)
            },
            PrinterFacts {
                status: PrinterStatus::Error,
                ..ready_p1s(1)
            },
            PrinterFacts {
                status: PrinterStatus::Printing,
                ..ready_p1s(1)
            },
            PrinterFacts {
                status: PrinterStatus::Paused,
                ..ready_p1s(1)
            },
            PrinterFacts {
                on_hub: false,
                ..ready_p1s(1)
            },
        ];
        for p in unavailable {
            assert!(!is_available(&p), "{p:?}");
        }
    }

    #[test]
    fn the_best_available_printer_wins() {
        let wrong_colour = PrinterFacts {
            colour_hex: Some("#000000".into()),
            ..ready_p1s(1)
        };
        let right = ready_p1s(2);
        let busy_but_perfect = PrinterFacts {
            status: PrinterStatus::Printing,
            ..ready_p1s(3)
        };
        let printers = [wrong_colour, right, busy_but_perfect];
        assert_eq!(best_printer(&printers, &p1s_job()), Some((id(2), 255)));
    }

    #[test]
    fn no_printer_is_chosen_at_or_below_the_minimum_score() {
        let offline_unknown = blank(1);
        let offline_mismatch = PrinterFacts {
            nozzle_size: Some(0.6),
            ..blank(2)
        };
        assert_eq!(
            best_printer(&[offline_unknown, offline_mismatch], &p1s_job()),
            None
        );
        assert_eq!(best_printer(&[], &p1s_job()), None);
        // An idle printer always clears the minimum, even with every fact wrong.
        let all_wrong = PrinterFacts {
            model: "A1".into(),
            nozzle_size: Some(0.6),
            filament_type: Some("PETG".into()),
            colour_hex: Some("#000000".into()),
            build_plate: Some("Cool Plate".into()),
            ..ready_p1s(3)
        };
        assert_eq!(
            best_printer(&[all_wrong], &p1s_job()),
            Some((id(3), 100 - 20 - 10 - 5 - 30))
        );
    }

    #[test]
    fn ties_go_to_the_lower_sort_position_then_the_lower_id() {
        let later = PrinterFacts {
            sort_order: 5,
            ..ready_p1s(1)
        };
        let earlier = PrinterFacts {
            sort_order: 2,
            ..ready_p1s(9)
        };
        assert_eq!(
            best_printer(&[later.clone(), earlier.clone()], &p1s_job()).map(|(id, _)| id),
            Some(id(9))
        );
        let same_position = PrinterFacts {
            sort_order: 2,
            ..ready_p1s(4)
        };
        assert_eq!(
            best_printer(&[earlier, later, same_position], &p1s_job()).map(|(id, _)| id),
            Some(id(4))
        );
    }

    #[test]
    fn strict_dispatch_needs_a_ready_printer_with_a_cleared_bed_and_every_stated_need() {
        assert!(can_start(&ready_p1s(1), &p1s_job()));
        assert!(can_start(&ready_p1s(1), &no_needs()));
        let cases = [
            PrinterFacts {
                bed_cleared: false,
                ..ready_p1s(1)
            },
            PrinterFacts {
                is_connected: false,
                ..ready_p1s(1)
            },
            PrinterFacts {
                status: PrinterStatus::Offline,
                ..ready_p1s(1)
            },
            PrinterFacts {
                on_hub: false,
                ..ready_p1s(1)
            },
            PrinterFacts {
                model: "A1".into(),
                ..ready_p1s(1)
            },
            PrinterFacts {
                nozzle_size: Some(0.2),
                ..ready_p1s(1)
            },
            PrinterFacts {
                build_plate: Some("Cool Plate".into()),
                ..ready_p1s(1)
            },
            PrinterFacts {
                filament_type: Some("PETG".into()),
                ..ready_p1s(1)
            },
            PrinterFacts {
                colour_hex: Some("#FFFFFF".into()),
                ..ready_p1s(1)
            },
            // Strict: a need the printer cannot confirm is not met.
            PrinterFacts {
                colour_hex: None,
                ..ready_p1s(1)
            },
        ];
        for p in cases {
            assert!(!can_start(&p, &p1s_job()), "{p:?}");
        }
    }

    #[test]
    fn a_farm_without_active_printers_says_so() {
        assert_eq!(why_waiting(&[], &p1s_job()), Some(WaitReason::NoPrinters));
        let retired = PrinterFacts {
            is_active: false,
            ..ready_p1s(1)
        };
        assert_eq!(
            why_waiting(&[retired], &p1s_job()),
            Some(WaitReason::NoPrinters)
        );
    }

    #[test]
    fn a_job_no_printer_fits_waits_for_a_matching_printer() {
        let a1 = PrinterFacts {
            model: "A1".into(),
            ..ready_p1s(1)
        };
        let small_nozzle = PrinterFacts {
            nozzle_size: Some(0.2),
            ..ready_p1s(2)
        };
        assert_eq!(
            why_waiting(&[a1, small_nozzle], &p1s_job()),
            Some(WaitReason::NoMatchingPrinter)
        );
    }

    #[test]
    fn a_job_whose_printers_are_all_busy_says_so() {
        let printing = PrinterFacts {
            status: PrinterStatus::Printing,
            ..ready_p1s(1)
        };
        let offline = PrinterFacts {
            status: PrinterStatus::Offline,
            is_connected: false,
            ..ready_p1s(2)
        };
        let maintenance = PrinterFacts {
            in_maintenance: true,
            ..ready_p1s(3)
        };
        let wrong_model_but_free = PrinterFacts {
            model: "A1".into(),
            ..ready_p1s(4)
        };
        assert_eq!(
            why_waiting(
                &[printing, offline, maintenance, wrong_model_but_free],
                &p1s_job()
            ),
            Some(WaitReason::AllPrintersBusy)
        );
    }

    #[test]
    fn a_job_waits_for_its_material_to_be_loaded() {
        let petg = PrinterFacts {
            filament_type: Some("PETG".into()),
            ..ready_p1s(1)
        };
        let reason = why_waiting(&[petg], &p1s_job());
        assert_eq!(
            reason,
            Some(WaitReason::MaterialNotLoaded {
                filament_type: "PLA".into()
            })
        );
        assert_eq!(
            reason.unwrap().to_string(),
            "no free printer that fits this job has PLA loaded"
        );
    }

    #[test]
    fn a_job_waits_for_its_colour_to_be_loaded() {
        let black = PrinterFacts {
            colour_hex: Some("#000000".into()),
            ..ready_p1s(1)
        };
        let reason = why_waiting(&[black], &p1s_job());
        assert_eq!(
            reason,
            Some(WaitReason::ColourNotLoaded {
                colour: "#F7D959".into()
            })
        );
        assert!(reason.unwrap().message().contains("#F7D959"));
    }

    #[test]
    fn a_job_waits_for_a_bed_to_be_cleared() {
        let later = PrinterFacts {
            bed_cleared: false,
            name: "P1S-07".into(),
            sort_order: 7,
            ..ready_p1s(1)
        };
        let first = PrinterFacts {
            bed_cleared: false,
            name: "P1S-02".into(),
            sort_order: 2,
            ..ready_p1s(2)
        };
        let reason = why_waiting(&[later, first], &p1s_job());
        assert_eq!(
            reason,
            Some(WaitReason::BedNotCleared {
                printer: "P1S-02".into()
            })
        );
        assert_eq!(
            reason.unwrap().to_string(),
            "waiting for the bed of P1S-02 to be cleared"
        );
    }

    #[test]
    fn a_job_a_printer_can_start_is_not_waiting() {
        let busy = PrinterFacts {
            status: PrinterStatus::Printing,
            ..ready_p1s(1)
        };
        assert_eq!(why_waiting(&[busy, ready_p1s(2)], &p1s_job()), None);
    }

    #[test]
    fn why_waiting_is_silent_exactly_when_some_printer_can_start_the_job() {
        let variants = [
            ready_p1s(1),
            PrinterFacts {
                bed_cleared: false,
                ..ready_p1s(2)
            },
            PrinterFacts {
                colour_hex: Some("#000000".into()),
                ..ready_p1s(3)
            },
            PrinterFacts {
                filament_type: Some("ABS".into()),
                ..ready_p1s(4)
            },
            PrinterFacts {
                status: PrinterStatus::Printing,
                ..ready_p1s(5)
            },
            PrinterFacts {
                model: "X1C".into(),
                ..ready_p1s(6)
            },
        ];
        // Every subset of the variants (64 farms).
        for mask in 0u32..(1 << variants.len()) {
            let farm: Vec<PrinterFacts> = variants
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, p)| p.clone())
                .collect();
            let startable = farm.iter().any(|p| can_start(p, &p1s_job()));
            assert_eq!(
                why_waiting(&farm, &p1s_job()).is_none(),
                startable,
                "farm {mask:06b}"
            );
        }
    }

    #[test]
    fn wait_reasons_are_sent_tagged_with_their_name() {
        let json = serde_json::to_value(WaitReason::ColourNotLoaded {
            colour: "#F7D959".into(),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"reason": "colour_not_loaded", "colour": "#F7D959"})
        );
        assert_eq!(
            serde_json::to_value(WaitReason::AllPrintersBusy).unwrap(),
            serde_json::json!({"reason": "all_printers_busy"})
        );
    }

    fn queued(id: &str, printer: Option<u32>, priority: i64, minute: i64) -> QueuedJob {
        QueuedJob {
            id: id.into(),
            printer_id: printer.map(self::id),
            priority,
            submitted_at: Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap()
                + chrono::Duration::minutes(minute),
            needs: p1s_job(),
        }
    }

    #[test]
    fn a_printer_takes_jobs_assigned_to_it_before_higher_priority_ones() {
        let jobs = [
            queued("urgent", None, 200, 0),
            queued("mine", Some(1), 10, 30),
        ];
        assert_eq!(next_job_for(&ready_p1s(1), &jobs).unwrap().id, "mine");
    }

    #[test]
    fn a_printer_takes_the_highest_priority_job_next() {
        let jobs = [queued("normal", None, 50, 0), queued("high", None, 100, 30)];
        assert_eq!(next_job_for(&ready_p1s(1), &jobs).unwrap().id, "high");
    }

    #[test]
    fn among_equal_priorities_the_oldest_job_goes_first() {
        let jobs = [
            queued("newer", None, 50, 30),
            queued("older", None, 50, 0),
            queued("b-same", None, 50, 0),
        ];
        assert_eq!(next_job_for(&ready_p1s(1), &jobs).unwrap().id, "b-same");
    }

    #[test]
    fn a_printer_never_takes_another_printers_job_or_one_it_cannot_print() {
        let mut other_colour = queued("black", None, 200, 0);
        other_colour.needs.colour_hex = Some("#000000".into());
        let jobs = [
            queued("theirs", Some(2), 200, 0),
            other_colour,
            queued("fits", None, 10, 60),
        ];
        assert_eq!(next_job_for(&ready_p1s(1), &jobs).unwrap().id, "fits");
        assert!(next_job_for(&ready_p1s(1), &jobs[..2]).is_none());
    }

    #[test]
    fn a_printer_that_cannot_start_a_print_now_gets_no_job() {
        let jobs = [queued("any", None, 50, 0)];
        let not_ready = [
            PrinterFacts {
                bed_cleared: false,
                ..ready_p1s(1)
            },
            PrinterFacts {
                status: PrinterStatus::Printing,
                ..ready_p1s(1)
            },
            PrinterFacts {
                is_connected: false,
                ..ready_p1s(1)
            },
        ];
        for p in not_ready {
            assert!(next_job_for(&p, &jobs).is_none(), "{p:?}");
        }
        assert!(next_job_for(&ready_p1s(1), &[]).is_none());
    }

    fn tray(
        slot: u32,
        filament_type: Option<&str>,
        colour: &str,
        remaining: i64,
    ) -> LoadedFilament {
        LoadedFilament {
            slot,
            filament_type: filament_type.map(str::to_string),
            colour_hex: Some(colour.into()),
            remaining: Some(remaining),
        }
    }

    fn with_ams(n: u32, trays: Vec<LoadedFilament>) -> PrinterFacts {
        PrinterFacts {
            filament_type: None,
            colour_hex: None,
            loaded: trays,
            ..ready_p1s(n)
        }
    }

    fn waiting(id: &str, priority: i64, needs: JobNeeds) -> QueuedJob {
        QueuedJob {
            id: id.into(),
            printer_id: None,
            priority,
            submitted_at: chrono::Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap(),
            needs,
        }
    }

    fn red_petg() -> JobNeeds {
        JobNeeds {
            filament_type: Some("PETG".into()),
            colour_hex: Some("#FF0000".into()),
            ..p1s_job()
        }
    }

    #[test]
    fn a_job_prints_from_the_tray_that_holds_its_filament() {
        let printer = with_ams(
            1,
            vec![
                tray(0, Some("PLA"), "#FFFFFF", 80),
                tray(1, None, "#000000", 0),
                tray(2, Some("PETG"), "#FF0000", 40),
            ],
        );
        assert!(can_start(&printer, &red_petg()));
        assert_eq!(slot_for(&printer, &red_petg()).map(|s| s.slot), Some(2));
        // Red PLA is nowhere: the type is loaded in white only.
        let red_pla = JobNeeds {
            filament_type: Some("PLA".into()),
            colour_hex: Some("#FF0000".into()),
            ..p1s_job()
        };
        assert!(slot_for(&printer, &red_pla).is_none());
        assert!(!can_start(&printer, &red_pla));
        // What the farm states is loaded still counts when no slot holds it.
        let stated = PrinterFacts {
            filament_type: Some("PLA".into()),
            colour_hex: Some("#FF0000".into()),
            ..printer.clone()
        };
        assert!(can_start(&stated, &red_pla));
        assert!(holds_filament(
            &printer.loaded,
            Some("pla"),
            Some("#ffffff")
        ));
        assert!(!holds_filament(
            &printer.loaded,
            Some("PLA"),
            Some("#FF0000")
        ));
    }

    #[test]
    fn a_new_filament_goes_into_an_empty_tray_else_the_emptiest() {
        // Trays 1 and 2 are not listed: empty.
        assert_eq!(
            slot_to_load(&[
                tray(0, Some("PLA"), "#FFFFFF", 80),
                tray(3, Some("PLA"), "#000000", 5)
            ]),
            Some(1)
        );
        let full: Vec<_> = (0..4)
            .map(|n| tray(n, Some("PLA"), "#000000", [80, 15, 60, 15][n as usize]))
            .collect();
        assert_eq!(slot_to_load(&full), Some(1));
        // No AMS: the external spool; nothing reported: unknown.
        assert_eq!(
            slot_to_load(&[tray(EXTERNAL_SPOOL, Some("PLA"), "#000000", 50)]),
            Some(EXTERNAL_SPOOL)
        );
        assert_eq!(slot_to_load(&[]), None);
        assert_eq!(slot_name(5), "AMS 2 tray 2");
        assert_eq!(slot_name(EXTERNAL_SPOOL), "the external spool");
    }

    #[test]
    fn a_waiting_job_asks_one_free_printer_to_load_its_filament_once() {
        let printers = vec![
            with_ams(
                1,
                vec![
                    tray(0, Some("PLA"), "#FFFFFF", 80),
                    tray(1, None, "#000000", 0),
                ],
            ),
            with_ams(2, vec![tray(0, Some("PLA"), "#FFFFFF", 10)]),
            // Busy printers are not asked.
            PrinterFacts {
                status: PrinterStatus::Printing,
                ..with_ams(3, vec![])
            },
        ];
        let jobs = vec![
            waiting("low", 10, red_petg()),
            waiting("urgent", 200, red_petg()),
        ];
        let none = std::collections::HashSet::new();
        let changes = filament_changes(&printers, &jobs, &none, &std::collections::HashSet::new());
        assert_eq!(changes.len(), 2);
        // The most urgent job gets the first printer, into its empty tray.
        assert_eq!(changes[0].job_id, "urgent");
        assert_eq!(changes[0].printer, id(1));
        assert_eq!(changes[0].slot, Some(1));
        assert_eq!(changes[0].filament_type.as_deref(), Some("PETG"));
        assert_eq!(changes[1].printer, id(2));
        // Asked already, or the printer already has a change open: nothing again.
        let asked: std::collections::HashSet<String> = ["urgent".to_string()].into();
        let busy: std::collections::HashSet<PrinterId> = [id(2)].into();
        let again = filament_changes(&printers, &jobs, &asked, &busy);
        assert_eq!(again.len(), 1);
        assert_eq!(
            (again[0].job_id.as_str(), &again[0].printer),
            ("low", &id(1))
        );
    }

    #[test]
    fn no_change_is_asked_when_a_free_printer_already_holds_the_filament_or_none_fits() {
        let holding = with_ams(1, vec![tray(2, Some("PETG"), "#FF0000", 50)]);
        let jobs = vec![waiting("j", 50, red_petg())];
        let none = std::collections::HashSet::new();
        assert!(
            filament_changes(&[holding], &jobs, &none, &std::collections::HashSet::new())
                .is_empty()
        );
        // An A1 can't print a P1S file: no point loading it there.
        let a1 = PrinterFacts {
            model: "A1".into(),
            ..with_ams(2, vec![])
        };
        assert!(
            filament_changes(&[a1], &jobs, &none, &std::collections::HashSet::new()).is_empty()
        );
        // A bed still holding a print is collected first.
        let uncleared = PrinterFacts {
            bed_cleared: false,
            ..with_ams(3, vec![])
        };
        assert!(
            filament_changes(
                &[uncleared],
                &jobs,
                &none,
                &std::collections::HashSet::new()
            )
            .is_empty()
        );
    }
}
