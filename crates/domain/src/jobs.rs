//! Print jobs: the status machine, file-transfer progress, priority and defaults from a file.
//!
//! A job moves queued → processing (file on its way to the printer) → uploaded → printing →
//! completed, and may pause, fail or be cancelled on the way. Every move goes through
//! [`transition`], so the API, the hub socket and the background events agree on one table.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A name that is not one of a closed set (job status, file stage, priority).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{value}': expected one of {allowed}")]
pub struct UnknownName {
    /// What was being parsed, in words ("job status").
    pub what: &'static str,
    /// The text as given.
    pub value: String,
    /// The accepted names, comma separated.
    pub allowed: String,
}

/// Finds `raw` (trimmed, any case) among `all` by `as_str`, or names the allowed values.
fn parse_among<T: Copy>(
    what: &'static str,
    raw: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, UnknownName> {
    let wanted = raw.trim().to_ascii_lowercase();
    all.iter()
        .copied()
        .find(|v| name(*v) == wanted)
        .ok_or_else(|| UnknownName {
            what,
            value: raw.to_string(),
            allowed: all.iter().map(|v| name(*v)).collect::<Vec<_>>().join(", "),
        })
}

/// Where a print job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting for a printer.
    Queued,
    /// Its file is being downloaded by the hub and sent to the printer.
    Processing,
    /// The file is on the printer; the print has not reported progress yet.
    Uploaded,
    /// The printer is printing it.
    Printing,
    /// Paused on the printer; the plate is still on the bed.
    Paused,
    /// Printed.
    Completed,
    /// Failed; may be queued again.
    Failed,
    /// Cancelled by someone; final.
    Cancelled,
}

use JobStatus::*;

impl JobStatus {
    /// Every status, in the order a job usually passes through them.
    pub const ALL: [JobStatus; 8] = [
        Queued, Processing, Uploaded, Printing, Paused, Completed, Failed, Cancelled,
    ];

    /// The name stored in the database and sent over the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Queued => "queued",
            Processing => "processing",
            Uploaded => "uploaded",
            Printing => "printing",
            Paused => "paused",
            Completed => "completed",
            Failed => "failed",
            Cancelled => "cancelled",
        }
    }

    /// Whether no move leads out of this status (completed, cancelled).
    ///
    /// Failed is not final: a failed job can be retried.
    pub fn is_final(self) -> bool {
        allowed_next(self).is_empty()
    }

    /// Whether a job in this status holds its printer (processing, uploaded, printing, paused).
    pub fn is_active(self) -> bool {
        matches!(self, Processing | Uploaded | Printing | Paused)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_among("job status", s, &JobStatus::ALL, JobStatus::as_str)
    }
}

impl TryFrom<String> for JobStatus {
    type Error = UnknownName;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// The statuses a job in `status` may move to; empty when `status` is final.
pub fn allowed_next(status: JobStatus) -> &'static [JobStatus] {
    match status {
        Queued => &[Processing, Cancelled],
        Processing => &[Uploaded, Failed, Cancelled],
        Uploaded => &[Printing, Failed, Cancelled],
        Printing => &[Completed, Paused, Failed, Cancelled],
        Paused => &[Printing, Cancelled],
        // A retry puts the job back in the queue; it keeps its id and history.
        Failed => &[Queued],
        Completed | Cancelled => &[],
    }
}

/// A refused status move, naming both states and where the job could go instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from} job cannot become {to}; from {from} it can move to: {}", next_in_words(*.from))]
pub struct TransitionError {
    /// The job's current status.
    pub from: JobStatus,
    /// The status that was asked for.
    pub to: JobStatus,
}

/// The allowed next statuses as a list for people.
fn next_in_words(from: JobStatus) -> String {
    let next = allowed_next(from);
    if next.is_empty() {
        format!("nothing ({from} is final)")
    } else {
        next.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Checks that a job may move from `from` to `to`. Staying in the same status is not a move.
pub fn transition(from: JobStatus, to: JobStatus) -> Result<(), TransitionError> {
    if allowed_next(from).contains(&to) {
        Ok(())
    } else {
        Err(TransitionError { from, to })
    }
}

/// What a job's move tells the rest of the farm; the print-events worker acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintEventKind {
    /// Sent to its printer, or printing for the first time.
    JobStarted,
    /// Paused on the printer.
    JobPaused,
    /// Printing again after a pause.
    JobResumed,
    /// Printed: the plate holds what it made.
    JobCompleted,
    /// Failed, with a reason.
    JobFailed,
    /// Cancelled by someone.
    JobCancelled,
    /// A failed job queued again.
    JobRetried,
    /// Any other step (the file reached the printer).
    JobProgress,
}

impl PrintEventKind {
    /// The name on the queue and in the audit of events.
    pub fn as_str(self) -> &'static str {
        match self {
            PrintEventKind::JobStarted => "job_started",
            PrintEventKind::JobPaused => "job_paused",
            PrintEventKind::JobResumed => "job_resumed",
            PrintEventKind::JobCompleted => "job_completed",
            PrintEventKind::JobFailed => "job_failed",
            PrintEventKind::JobCancelled => "job_cancelled",
            PrintEventKind::JobRetried => "job_retried",
            PrintEventKind::JobProgress => "job_progress",
        }
    }
}

impl fmt::Display for PrintEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The event a move from `from` to `to` emits: the one rule for every producer (the API,
/// the hub's reports, the dispatcher).
pub fn event_of_move(from: JobStatus, to: JobStatus) -> PrintEventKind {
    match to {
        Processing => PrintEventKind::JobStarted,
        Printing if from == Paused => PrintEventKind::JobResumed,
        Printing => PrintEventKind::JobStarted,
        Paused => PrintEventKind::JobPaused,
        Completed => PrintEventKind::JobCompleted,
        Failed => PrintEventKind::JobFailed,
        Cancelled => PrintEventKind::JobCancelled,
        Queued => PrintEventKind::JobRetried,
        Uploaded => PrintEventKind::JobProgress,
    }
}

/// Whether the move from `from` to `to` ends with (part of) a print on the printer's bed,
/// which must then be cleared before anything else starts there.
pub fn leaves_print_on_bed(from: JobStatus, to: JobStatus) -> bool {
    to == Completed || (matches!(to, Failed | Cancelled) && matches!(from, Printing | Paused))
}

/// What a move records on the job besides its status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoveRecord {
    /// Progress to set, in percent.
    pub progress: Option<i64>,
    /// Stamp the start time (the first time a job prints).
    pub started: bool,
    /// Stamp the completion time and the print minutes.
    pub completed: bool,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Back to the queue: printer, progress, times and reason cleared.
    pub requeue: bool,
}

/// What the move to `to` records, given the job's progress report (if any), whether it
/// had started before, and the reason a failure gives.
pub fn record_of_move(
    from: JobStatus,
    to: JobStatus,
    progress: Option<i64>,
    started_before: bool,
    failure_reason: Option<String>,
) -> MoveRecord {
    match to {
        Printing if from != Paused => MoveRecord {
            progress,
            started: !started_before,
            ..MoveRecord::default()
        },
        Completed => MoveRecord {
            progress: Some(100),
            completed: true,
            ..MoveRecord::default()
        },
        Failed => MoveRecord {
            failure_reason: Some(
                failure_reason.unwrap_or_else(|| "the print failed without a reason".into()),
            ),
            completed: true,
            ..MoveRecord::default()
        },
        Queued => MoveRecord {
            requeue: true,
            ..MoveRecord::default()
        },
        _ => MoveRecord::default(),
    }
}

/// What a plate of a print file says about the job that prints it (from its 3MF).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlateFacts {
    /// The first filament's type (`PLA`, `PETG` ...).
    pub filament_type: Option<String>,
    /// The first filament's colour.
    pub colour: Option<String>,
    /// Filament the plate uses, in grams.
    pub weight_grams: Option<f64>,
    /// The slicer's time estimate, in seconds.
    pub seconds: Option<i64>,
}

/// What a request asked for, over what the plate says (blank means not asked).
#[derive(Debug, Clone, Copy, Default)]
pub struct AskedMaterial<'a> {
    /// Filament type asked for.
    pub filament_type: Option<&'a str>,
    /// Material asked for.
    pub material_type: Option<&'a str>,
    /// Colour asked for.
    pub colour: Option<&'a str>,
}

/// What a new job takes: what was asked, else its plate's, else the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct JobDefaults {
    /// Filament type.
    pub filament_type: String,
    /// Material (`PLA` when nothing says).
    pub material_type: String,
    /// Colour (`unknown` when nothing says).
    pub colour: String,
    /// Filament needed, in whole grams.
    pub filament_grams: Option<i64>,
    /// Estimated print time, in minutes.
    pub minutes: Option<i64>,
}

/// The defaults a job takes from its plate, under what the request asked for.
pub fn defaults_from_plate(plate: &PlateFacts, asked: AskedMaterial<'_>) -> JobDefaults {
    let given = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let filament_type = given(asked.filament_type).or_else(|| plate.filament_type.clone());
    let material_type = default_material(
        given(asked.material_type)
            .as_deref()
            .or(filament_type.as_deref()),
    )
    .to_string();
    JobDefaults {
        filament_type: filament_type.unwrap_or_else(|| material_type.clone()),
        material_type,
        colour: given(asked.colour)
            .or_else(|| plate.colour.clone())
            .unwrap_or_else(|| "unknown".into()),
        filament_grams: plate.weight_grams.map(|g| g.round() as i64),
        minutes: plate.seconds.map(estimated_minutes),
    }
}

/// A stage of a file transfer, as the hub reports it in `file_progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStage {
    /// The hub is fetching the file from the server.
    Downloading,
    /// The hub is sending the file to the printer (FTPS).
    Uploading,
    /// The file is on the printer.
    Complete,
    /// The transfer failed; the report carries the reason.
    Failed,
}

impl FileStage {
    /// Every stage, in order.
    pub const ALL: [FileStage; 4] = [
        FileStage::Downloading,
        FileStage::Uploading,
        FileStage::Complete,
        FileStage::Failed,
    ];

    /// The name used on the hub socket.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStage::Downloading => "downloading",
            FileStage::Uploading => "uploading",
            FileStage::Complete => "complete",
            FileStage::Failed => "failed",
        }
    }
}

impl fmt::Display for FileStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FileStage {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_among("file stage", s, &FileStage::ALL, FileStage::as_str)
    }
}

/// The status a file report moves a job to; `None` when the job stays as it is.
///
/// Reports arrive late and repeat (every progress tick says `uploading`), so a report that
/// would be a refused move, or no move at all, is ignored rather than treated as an error:
/// a stale `downloading` must not pull an uploaded job back, nor revive a cancelled one.
/// Once the printer is printing (or paused) the transfer is over, so a late `failed` from it
/// must not fail a print that is running, though the table allows printing → failed.
pub fn status_for_file_stage(current: JobStatus, stage: FileStage) -> Option<JobStatus> {
    if matches!(current, Printing | Paused) {
        return None;
    }
    let target = match stage {
        FileStage::Downloading | FileStage::Uploading => Processing,
        FileStage::Complete => Uploaded,
        FileStage::Failed => Failed,
    };
    transition(current, target).ok().map(|()| target)
}

/// The status the first print progress report moves a job to: uploaded → printing, else none.
///
/// A paused job resumes only by an explicit resume, not by a progress report, so it is
/// left alone here.
pub fn status_for_first_progress(current: JobStatus) -> Option<JobStatus> {
    (current == Uploaded).then_some(Printing)
}

/// The status a printer's own state word (`gcode_state`) moves its job to, if any.
///
/// The printer is the truth once the file is on it: running moves an uploaded or paused
/// job to printing (and a job whose "file complete" report was lost to uploaded first),
/// PAUSE pauses, FINISH completes and FAILED fails a job that was on the printer. Anything
/// else (IDLE, an unknown word, a state that does not fit the job) changes nothing, so a
/// stale FINISH from the previous print can't complete a job that has not started.
pub fn status_for_printer_state(current: JobStatus, gcode_state: &str) -> Option<JobStatus> {
    let target = match (gcode_state.to_ascii_uppercase().as_str(), current) {
        ("PREPARE" | "RUNNING" | "SLICING", Processing) => Uploaded,
        ("PREPARE" | "RUNNING" | "SLICING", Uploaded | Paused) => Printing,
        ("PAUSE", Printing) => Paused,
        ("FINISH", Printing) => Completed,
        ("FAILED", Uploaded | Printing) => Failed,
        _ => return None,
    };
    transition(current, target).ok().map(|()| target)
}

/// A job's base priority: a named level or any number in `0..=1000`; higher goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawPriority", into = "i64")]
pub struct Priority(i64);

impl Priority {
    /// Whenever there is time.
    pub const LOW: Priority = Priority(10);
    /// The usual level.
    pub const NORMAL: Priority = Priority(50);
    /// Before the usual jobs.
    pub const HIGH: Priority = Priority(100);
    /// Before everything else.
    pub const URGENT: Priority = Priority(200);
    /// The highest number accepted, so that no client can sort a job above all others
    /// by sending a huge value (and the sums in [`effective_priority`] stay small).
    pub const MAX: i64 = 1000;

    /// The named levels with their names, lowest first.
    const NAMED: [(&'static str, Priority); 4] = [
        ("low", Priority::LOW),
        ("normal", Priority::NORMAL),
        ("high", Priority::HIGH),
        ("urgent", Priority::URGENT),
    ];

    /// A priority from a number; `None` outside `0..=1000`.
    pub fn new(value: i64) -> Option<Priority> {
        (0..=Priority::MAX)
            .contains(&value)
            .then_some(Priority(value))
    }

    /// Wraps a priority read back from the database (already checked when stored).
    pub fn from_stored(value: i64) -> Priority {
        Priority(value)
    }

    /// The number stored and compared.
    pub fn value(self) -> i64 {
        self.0
    }
}

impl Default for Priority {
    fn default() -> Self {
        Priority::NORMAL
    }
}

impl From<Priority> for i64 {
    fn from(p: Priority) -> i64 {
        p.0
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Priority {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let named = Priority::NAMED
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
            .map(|(_, p)| *p);
        named
            .or_else(|| text.parse::<i64>().ok().and_then(Priority::new))
            .ok_or_else(|| unknown_priority(s))
    }
}

/// The error for a priority that is neither a level name nor a number in range.
fn unknown_priority(value: &str) -> UnknownName {
    UnknownName {
        what: "priority",
        value: value.to_string(),
        allowed: format!(
            "low (10), normal (50), high (100), urgent (200) or a number from 0 to {}",
            Priority::MAX
        ),
    }
}

/// A priority as a client may send it: a number or a level name.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawPriority {
    /// `100`
    Number(i64),
    /// `"high"` or `"100"`
    Name(String),
}

impl TryFrom<RawPriority> for Priority {
    type Error = UnknownName;

    fn try_from(raw: RawPriority) -> Result<Self, Self::Error> {
        match raw {
            RawPriority::Number(n) => {
                Priority::new(n).ok_or_else(|| unknown_priority(&n.to_string()))
            }
            RawPriority::Name(name) => name.parse(),
        }
    }
}

/// Points for a job made for a customer order, on top of the order's own priority.
pub const ORDER_BONUS: i64 = 30;
/// Points for a job whose SKU is low on stock.
pub const LOW_STOCK_BONUS: i64 = 25;
/// Points taken from a job whose prints need assembly afterwards (they are not sellable yet).
pub const ASSEMBLY_PENALTY: i64 = 5;
/// The most points waiting can earn, so old low jobs rise but never pass urgent ones.
pub const MAX_WAIT_BONUS: i64 = 50;

/// What a job's effective priority is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityInput {
    /// The job's own priority.
    pub base: Priority,
    /// When the job was queued.
    pub submitted_at: DateTime<Utc>,
    /// `Some(order's own priority)` when the job was made for an order (0 if it has none).
    pub order_priority: Option<i64>,
    /// Whether the job's SKU is at or below its low-stock threshold.
    pub sku_low_on_stock: bool,
    /// Whether the job's product needs assembly after printing.
    pub needs_assembly: bool,
}

/// The priority the queue is sorted by at `now`: the base plus order, waiting and stock terms.
pub fn effective_priority(input: &PriorityInput, now: DateTime<Utc>) -> i64 {
    // A job submitted "in the future" (clock skew between nodes) has not waited at all.
    let waited_minutes = (now - input.submitted_at).num_minutes().max(0);
    let terms = [
        input.base.value(),
        input
            .order_priority
            .map_or(0, |own| ORDER_BONUS.saturating_add(own)),
        (waited_minutes / 10).min(MAX_WAIT_BONUS),
        if input.sku_low_on_stock {
            LOW_STOCK_BONUS
        } else {
            0
        },
        if input.needs_assembly {
            -ASSEMBLY_PENALTY
        } else {
            0
        },
    ];
    // Stored priorities are not re-checked, so sum without overflowing.
    terms.into_iter().fold(0, i64::saturating_add)
}

/// A file's print time in whole minutes, rounded up: a 61 s print is a 2-minute job.
pub fn estimated_minutes(seconds: i64) -> i64 {
    // Negative times only come from broken metadata; treat them as unknown-short.
    seconds.max(0).unsigned_abs().div_ceil(60) as i64
}

/// The material a job records when the file does not say: PLA, what most farms print.
pub fn default_material(filament_type: Option<&str>) -> &str {
    match filament_type.map(str::trim) {
        Some(t) if !t.is_empty() => t,
        _ => "PLA",
    }
}

/// The SKU name a job from a file shows: "colour (type)", e.g. "Forest Green (PETG)".
pub fn sku_name(colour: &str, filament_type: &str) -> String {
    format!("{} ({})", colour.trim(), filament_type.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_takes_its_plates_material_unless_the_request_asks_for_another() {
        let plate = PlateFacts {
            filament_type: Some("PETG".into()),
            colour: Some("#FF0000".into()),
            weight_grams: Some(12.6),
            seconds: Some(3_630),
        };
        let from_plate = defaults_from_plate(&plate, AskedMaterial::default());
        assert_eq!(from_plate.filament_type, "PETG");
        assert_eq!(from_plate.colour, "#FF0000");
        assert_eq!(from_plate.filament_grams, Some(13));
        assert_eq!(from_plate.minutes, Some(estimated_minutes(3_630)));
        let asked = AskedMaterial {
            filament_type: Some("PLA"),
            colour: Some("  "),
            ..AskedMaterial::default()
        };
        let overridden = defaults_from_plate(&plate, asked);
        assert_eq!(overridden.filament_type, "PLA");
        assert_eq!(
            overridden.colour, "#FF0000",
            "a blank colour is not asked for"
        );
        let nothing = defaults_from_plate(&PlateFacts::default(), AskedMaterial::default());
        assert_eq!(
            (
                nothing.material_type.as_str(),
                nothing.filament_type.as_str(),
                nothing.colour.as_str()
            ),
            (default_material(None), default_material(None), "unknown")
        );
    }

    #[test]
    fn each_move_emits_the_event_the_worker_acts_on() {
        use PrintEventKind::*;
        let cases = [
            (Queued, Processing, JobStarted),
            (Processing, Uploaded, JobProgress),
            (Uploaded, Printing, JobStarted),
            (Paused, Printing, JobResumed),
            (Printing, Paused, JobPaused),
            (Printing, Completed, JobCompleted),
            (Uploaded, Failed, JobFailed),
            (Queued, Cancelled, JobCancelled),
            (Failed, Queued, JobRetried),
        ];
        for (from, to, event) in cases {
            assert_eq!(event_of_move(from, to), event, "{from} -> {to}");
        }
        assert_eq!(JobCancelled.as_str(), "job_cancelled");
        assert_eq!(
            serde_json::to_value(JobRetried).unwrap(),
            serde_json::json!("job_retried")
        );
    }

    #[test]
    fn a_move_records_its_times_progress_and_reason() {
        let first = record_of_move(Uploaded, Printing, Some(3), false, None);
        assert!(first.started && first.progress == Some(3));
        assert!(!record_of_move(Uploaded, Printing, Some(3), true, None).started);
        // A resume is not a start.
        assert_eq!(
            record_of_move(Paused, Printing, Some(40), true, None),
            MoveRecord::default()
        );
        let done = record_of_move(Printing, Completed, Some(97), true, None);
        assert!(done.completed && done.progress == Some(100));
        let failed = record_of_move(Printing, Failed, None, true, Some("spaghetti".into()));
        assert_eq!(failed.failure_reason.as_deref(), Some("spaghetti"));
        assert!(failed.completed);
        assert!(record_of_move(Failed, Queued, None, true, None).requeue);
        assert!(leaves_print_on_bed(Printing, Completed));
        assert!(leaves_print_on_bed(Paused, Cancelled));
        assert!(
            !leaves_print_on_bed(Processing, Failed),
            "nothing was printed"
        );
        assert_eq!(JobStatus::try_from("Printing".to_string()), Ok(Printing));
        assert!(JobStatus::try_from("printed".to_string()).is_err());
    }

    #[test]
    fn the_printers_state_word_moves_the_job_it_holds() {
        let cases = [
            (Processing, "RUNNING", Some(Uploaded)),
            (Uploaded, "PREPARE", Some(Printing)),
            (Uploaded, "running", Some(Printing)),
            (Paused, "RUNNING", Some(Printing)),
            (Printing, "RUNNING", None),
            (Printing, "PAUSE", Some(Paused)),
            (Printing, "FINISH", Some(Completed)),
            // The table keeps paused → printing | cancelled: a resume is seen first.
            (Paused, "FINISH", None),
            (Paused, "FAILED", None),
            (Processing, "FINISH", None),
            (Uploaded, "FINISH", None),
            (Printing, "FAILED", Some(Failed)),
            (Uploaded, "FAILED", Some(Failed)),
            (Processing, "FAILED", None),
            (Printing, "IDLE", None),
            (Completed, "RUNNING", None),
            (Queued, "RUNNING", None),
            (Printing, "SOMETHING", None),
        ];
        for (current, state, expected) in cases {
            assert_eq!(
                status_for_printer_state(current, state),
                expected,
                "{current} + {state}"
            );
        }
    }
    use chrono::{Duration, TimeZone};

    /// The table from the reference, written out independently of `allowed_next`.
    const ALLOWED: [(JobStatus, JobStatus); 15] = [
        (Queued, Processing),
        (Queued, Cancelled),
        (Processing, Uploaded),
        (Processing, Failed),
        (Processing, Cancelled),
        (Uploaded, Printing),
        (Uploaded, Failed),
        (Uploaded, Cancelled),
        (Printing, Completed),
        (Printing, Paused),
        (Printing, Failed),
        (Printing, Cancelled),
        (Paused, Printing),
        (Paused, Cancelled),
        (Failed, Queued),
    ];

    #[test]
    fn every_move_in_the_table_is_allowed_and_every_other_move_is_refused() {
        let mut refused = 0;
        for from in JobStatus::ALL {
            for to in JobStatus::ALL {
                let expected = ALLOWED.contains(&(from, to));
                assert_eq!(
                    transition(from, to).is_ok(),
                    expected,
                    "{from} -> {to} should be {}",
                    if expected { "allowed" } else { "refused" }
                );
                if !expected {
                    refused += 1;
                    let err = transition(from, to).unwrap_err();
                    assert_eq!(err, TransitionError { from, to });
                }
            }
        }
        assert_eq!(refused, 64 - ALLOWED.len());
    }

    #[test]
    fn allowed_next_lists_exactly_the_moves_of_the_table() {
        for from in JobStatus::ALL {
            let mut expected: Vec<JobStatus> = ALLOWED
                .into_iter()
                .filter(|(f, _)| *f == from)
                .map(|(_, t)| t)
                .collect();
            let mut actual = allowed_next(from).to_vec();
            expected.sort_by_key(|s| s.as_str());
            actual.sort_by_key(|s| s.as_str());
            assert_eq!(actual, expected, "from {from}");
        }
    }

    #[test]
    fn a_queued_job_can_only_start_processing_or_be_cancelled() {
        assert!(transition(Queued, Processing).is_ok());
        assert!(transition(Queued, Cancelled).is_ok());
        for to in [Uploaded, Printing, Paused, Completed, Failed, Queued] {
            assert!(transition(Queued, to).is_err(), "queued -> {to}");
        }
    }

    #[test]
    fn a_processing_job_can_be_uploaded_fail_or_be_cancelled() {
        assert!(transition(Processing, Uploaded).is_ok());
        assert!(transition(Processing, Failed).is_ok());
        assert!(transition(Processing, Cancelled).is_ok());
        assert!(transition(Processing, Printing).is_err());
        assert!(transition(Processing, Queued).is_err());
    }

    #[test]
    fn an_uploaded_job_can_start_printing_fail_or_be_cancelled() {
        assert!(transition(Uploaded, Printing).is_ok());
        assert!(transition(Uploaded, Failed).is_ok());
        assert!(transition(Uploaded, Cancelled).is_ok());
        assert!(transition(Uploaded, Completed).is_err());
        assert!(transition(Uploaded, Paused).is_err());
    }

    #[test]
    fn a_printing_job_can_complete_pause_fail_or_be_cancelled() {
        for to in [Completed, Paused, Failed, Cancelled] {
            assert!(transition(Printing, to).is_ok(), "printing -> {to}");
        }
        assert!(transition(Printing, Queued).is_err());
        assert!(transition(Printing, Uploaded).is_err());
    }

    #[test]
    fn a_paused_job_can_only_resume_or_be_cancelled() {
        assert!(transition(Paused, Printing).is_ok());
        assert!(transition(Paused, Cancelled).is_ok());
        for to in [Queued, Processing, Uploaded, Paused, Completed, Failed] {
            assert!(transition(Paused, to).is_err(), "paused -> {to}");
        }
    }

    #[test]
    fn a_failed_job_can_only_be_retried() {
        assert!(transition(Failed, Queued).is_ok());
        for to in [Processing, Uploaded, Printing, Paused, Completed, Cancelled] {
            assert!(transition(Failed, to).is_err(), "failed -> {to}");
        }
        assert!(!Failed.is_final());
    }

    #[test]
    fn completed_and_cancelled_jobs_are_final() {
        for from in [Completed, Cancelled] {
            assert!(from.is_final());
            assert!(allowed_next(from).is_empty());
            for to in JobStatus::ALL {
                assert!(transition(from, to).is_err(), "{from} -> {to}");
            }
        }
        let finals: Vec<_> = JobStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, [Completed, Cancelled]);
    }

    #[test]
    fn staying_in_the_same_status_is_not_a_move() {
        for status in JobStatus::ALL {
            assert!(transition(status, status).is_err(), "{status}");
        }
    }

    #[test]
    fn a_refused_move_names_both_states_and_where_the_job_can_go() {
        assert_eq!(
            transition(Completed, Printing).unwrap_err().to_string(),
            "a completed job cannot become printing; from completed it can move to: nothing (completed is final)"
        );
        assert_eq!(
            transition(Queued, Printing).unwrap_err().to_string(),
            "a queued job cannot become printing; from queued it can move to: processing, cancelled"
        );
    }

    #[test]
    fn only_jobs_between_processing_and_paused_hold_a_printer() {
        let active: Vec<_> = JobStatus::ALL
            .into_iter()
            .filter(|s| s.is_active())
            .collect();
        assert_eq!(active, [Processing, Uploaded, Printing, Paused]);
    }

    #[test]
    fn job_statuses_round_trip_and_unknown_ones_list_the_allowed_values() {
        for status in JobStatus::ALL {
            assert_eq!(status.as_str().parse::<JobStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{status}\"")
            );
        }
        assert_eq!(" Printing ".parse::<JobStatus>(), Ok(Printing));
        let err = "done".parse::<JobStatus>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown job status 'done': expected one of queued, processing, uploaded, printing, paused, completed, failed, cancelled"
        );
        assert_eq!(
            serde_json::from_str::<JobStatus>("\"cancelled\"").unwrap(),
            Cancelled
        );
        assert!(serde_json::from_str::<JobStatus>("\"Cancelled\"").is_err());
    }

    #[test]
    fn file_stages_parse_and_unknown_ones_are_refused() {
        for stage in FileStage::ALL {
            assert_eq!(stage.as_str().parse::<FileStage>(), Ok(stage));
        }
        assert!(
            "sending"
                .parse::<FileStage>()
                .unwrap_err()
                .to_string()
                .contains("downloading, uploading, complete, failed")
        );
        assert_eq!(
            serde_json::from_str::<FileStage>("\"complete\"").unwrap(),
            FileStage::Complete
        );
    }

    #[test]
    fn downloading_or_uploading_starts_processing_a_queued_job() {
        assert_eq!(
            status_for_file_stage(Queued, FileStage::Downloading),
            Some(Processing)
        );
        assert_eq!(
            status_for_file_stage(Queued, FileStage::Uploading),
            Some(Processing)
        );
    }

    #[test]
    fn repeated_transfer_reports_leave_a_processing_job_alone() {
        assert_eq!(
            status_for_file_stage(Processing, FileStage::Downloading),
            None
        );
        assert_eq!(
            status_for_file_stage(Processing, FileStage::Uploading),
            None
        );
    }

    #[test]
    fn a_complete_transfer_marks_the_job_uploaded() {
        assert_eq!(
            status_for_file_stage(Processing, FileStage::Complete),
            Some(Uploaded)
        );
        assert_eq!(status_for_file_stage(Uploaded, FileStage::Complete), None);
    }

    #[test]
    fn a_failed_transfer_fails_the_job() {
        assert_eq!(
            status_for_file_stage(Processing, FileStage::Failed),
            Some(Failed)
        );
        assert_eq!(
            status_for_file_stage(Uploaded, FileStage::Failed),
            Some(Failed)
        );
    }

    #[test]
    fn a_late_transfer_report_never_moves_a_job_backwards_or_out_of_a_final_state() {
        for stage in FileStage::ALL {
            for current in [Printing, Paused, Completed, Cancelled] {
                assert_eq!(
                    status_for_file_stage(current, stage),
                    None,
                    "{current} + {stage}"
                );
            }
        }
        assert_eq!(
            status_for_file_stage(Uploaded, FileStage::Downloading),
            None
        );
        // The server moves a job to processing before it sends the file, so a queued job
        // cannot have a transfer to fail or finish.
        assert_eq!(status_for_file_stage(Queued, FileStage::Complete), None);
        assert_eq!(status_for_file_stage(Queued, FileStage::Failed), None);
    }

    #[test]
    fn the_first_progress_report_after_upload_means_printing() {
        assert_eq!(status_for_first_progress(Uploaded), Some(Printing));
        for current in JobStatus::ALL.into_iter().filter(|s| *s != Uploaded) {
            assert_eq!(status_for_first_progress(current), None, "{current}");
        }
    }

    #[test]
    fn priorities_parse_from_level_names_or_numbers() {
        assert_eq!("low".parse(), Ok(Priority::LOW));
        assert_eq!("Normal".parse(), Ok(Priority::NORMAL));
        assert_eq!(" HIGH ".parse(), Ok(Priority::HIGH));
        assert_eq!("urgent".parse(), Ok(Priority::URGENT));
        assert_eq!("75".parse::<Priority>().unwrap().value(), 75);
        assert_eq!("0".parse::<Priority>().unwrap().value(), 0);
        for bad in ["asap", "-1", "1001", "1.5", ""] {
            let err = bad.parse::<Priority>().unwrap_err().to_string();
            assert!(err.contains("urgent (200)"), "{bad}: {err}");
        }
        assert_eq!(Priority::default(), Priority::NORMAL);
    }

    #[test]
    fn priorities_come_in_as_numbers_or_names_and_go_out_as_numbers() {
        let p: Priority = serde_json::from_str("\"high\"").unwrap();
        assert_eq!(p, Priority::HIGH);
        let p: Priority = serde_json::from_str("120").unwrap();
        assert_eq!(p.value(), 120);
        assert!(serde_json::from_str::<Priority>("5000").is_err());
        assert_eq!(serde_json::to_string(&Priority::URGENT).unwrap(), "200");
    }

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn plain(base: Priority) -> PriorityInput {
        PriorityInput {
            base,
            submitted_at: at(0),
            order_priority: None,
            sku_low_on_stock: false,
            needs_assembly: false,
        }
    }

    #[test]
    fn a_fresh_job_has_its_base_priority() {
        assert_eq!(effective_priority(&plain(Priority::LOW), at(0)), 10);
        assert_eq!(effective_priority(&plain(Priority::URGENT), at(0)), 200);
    }

    #[test]
    fn a_job_for_an_order_gains_30_points() {
        let input = PriorityInput {
            order_priority: Some(0),
            ..plain(Priority::NORMAL)
        };
        assert_eq!(effective_priority(&input, at(0)), 80);
    }

    #[test]
    fn a_job_for_an_order_also_gains_the_orders_own_priority() {
        let input = PriorityInput {
            order_priority: Some(20),
            ..plain(Priority::NORMAL)
        };
        assert_eq!(effective_priority(&input, at(0)), 100);
    }

    #[test]
    fn a_job_gains_a_point_for_every_ten_full_minutes_waited() {
        let input = plain(Priority::NORMAL);
        assert_eq!(effective_priority(&input, at(9)), 50);
        assert_eq!(effective_priority(&input, at(10)), 51);
        assert_eq!(effective_priority(&input, at(29)), 52);
        assert_eq!(
            effective_priority(&input, at(10) - Duration::seconds(1)),
            50
        );
    }

    #[test]
    fn waiting_earns_at_most_50_points() {
        let input = plain(Priority::LOW);
        assert_eq!(effective_priority(&input, at(500)), 60);
        assert_eq!(effective_priority(&input, at(60 * 24 * 30)), 60);
    }

    #[test]
    fn a_job_submitted_after_now_has_not_waited() {
        let input = plain(Priority::NORMAL);
        assert_eq!(effective_priority(&input, at(-60)), 50);
    }

    #[test]
    fn a_job_whose_sku_is_low_on_stock_gains_25_points() {
        let input = PriorityInput {
            sku_low_on_stock: true,
            ..plain(Priority::NORMAL)
        };
        assert_eq!(effective_priority(&input, at(0)), 75);
    }

    #[test]
    fn a_job_that_needs_assembly_loses_5_points() {
        let input = PriorityInput {
            needs_assembly: true,
            ..plain(Priority::NORMAL)
        };
        assert_eq!(effective_priority(&input, at(0)), 45);
    }

    #[test]
    fn all_priority_terms_add_up() {
        let input = PriorityInput {
            base: Priority::HIGH,
            submitted_at: at(0),
            order_priority: Some(10),
            sku_low_on_stock: true,
            needs_assembly: true,
        };
        // 100 + 30 + 10 + 4 (45 min) + 25 - 5
        assert_eq!(effective_priority(&input, at(45)), 164);
    }

    #[test]
    fn estimated_minutes_round_the_print_time_up() {
        assert_eq!(estimated_minutes(0), 0);
        assert_eq!(estimated_minutes(1), 1);
        assert_eq!(estimated_minutes(60), 1);
        assert_eq!(estimated_minutes(61), 2);
        assert_eq!(estimated_minutes(3256), 55);
        assert_eq!(estimated_minutes(-5), 0);
    }

    #[test]
    fn a_file_without_a_filament_type_prints_in_pla() {
        assert_eq!(default_material(None), "PLA");
        assert_eq!(default_material(Some("  ")), "PLA");
        assert_eq!(default_material(Some(" PETG ")), "PETG");
    }

    #[test]
    fn a_sku_name_is_colour_then_type_in_brackets() {
        assert_eq!(sku_name("Forest Green", "PETG"), "Forest Green (PETG)");
        assert_eq!(sku_name(" Sunny D ", "PLA "), "Sunny D (PLA)");
    }
}
