//! The jobs pages: the queue (create from a file and plate, assign or leave to the
//! dispatcher, start, cancel, retry, priority, why a job waits) and the history.
//!
//! The queue lists the jobs that wait or hold a printer, in the order the dispatcher
//! takes them, with the reason each waiting job waits, judged by the dispatcher's own
//! rule (`domain::dispatch::why_waiting`) on the farm as it is now. Its table is also a
//! fragment (`/jobs/queue`) that `live.js` fetches again on job and printer changes.
//! The queue form and the buttons call the JSON API (`POST /api/v1/jobs` with an optional
//! `printer_id`, `…/assign`, `…/unassign`, `…/start` …).

use super::{FarmPage, PageError, Section, duration_words, html};
use crate::app::App;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use domain::TenantId;
use domain::dispatch::{JobNeeds, PrinterFacts};
use domain::jobs::{JobStatus, Priority, PriorityInput};
use domain::printers::HexColour;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use store::jobs::{Job, JobQuery, QueuedForDispatch};
use store::printers::{Printer, PrinterQuery};

/// Statuses shown in the queue: waiting, or holding a printer.
const QUEUE: [JobStatus; 5] = [
    JobStatus::Queued,
    JobStatus::Processing,
    JobStatus::Uploaded,
    JobStatus::Printing,
    JobStatus::Paused,
];
/// Statuses shown in the history.
const FINISHED: [JobStatus; 3] = [
    JobStatus::Completed,
    JobStatus::Failed,
    JobStatus::Cancelled,
];
/// The most jobs the queue lists (the API pages past this).
const MOST_JOBS: i64 = 1000;
/// The most files and printers the create form offers.
const MOST_CHOICES: i64 = 1000;
/// Jobs per history page.
const HISTORY_PAGE: i64 = 50;

/// The named priority levels, lowest first: (name the API takes, words, value).
const LEVELS: [(&str, &str, i64); 4] = [
    ("low", "Low", 10),
    ("normal", "Normal", 50),
    ("high", "High", 100),
    ("urgent", "Urgent", 200),
];

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/jobs", get(page))
        .route("/jobs/queue", get(queue))
        .route("/jobs/history", get(history))
        .route("/jobs/history/list", get(history_list))
}

/// A job's state in words; a queued job with a printer is "Assigned".
pub fn state_words(status: JobStatus, assigned: bool) -> &'static str {
    match status {
        JobStatus::Queued if assigned => "Assigned",
        JobStatus::Queued => "Queued",
        JobStatus::Processing => "Sending to the printer",
        JobStatus::Uploaded => "Starting",
        JobStatus::Printing => "Printing",
        JobStatus::Paused => "Paused",
        JobStatus::Completed => "Completed",
        JobStatus::Failed => "Failed",
        JobStatus::Cancelled => "Cancelled",
    }
}

/// A priority in words: "High (100)", or the number alone between the levels.
pub fn priority_words(value: i64) -> String {
    match LEVELS.iter().find(|(_, _, v)| *v == value) {
        Some((_, words, v)) => format!("{words} ({v})"),
        None => value.to_string(),
    }
}

/// A priority level a button moves a job to.
pub struct Level {
    /// Its words ("High").
    pub words: &'static str,
    /// The API body that sets it.
    pub body: String,
}

fn level(entry: &(&'static str, &'static str, i64)) -> Level {
    Level {
        words: entry.1,
        body: json!({ "priority": entry.0 }).to_string(),
    }
}

/// The next named level above `value`, if any.
fn raised(value: i64) -> Option<Level> {
    LEVELS.iter().find(|(_, _, v)| *v > value).map(level)
}

/// The next named level below `value`, if any.
fn lowered(value: i64) -> Option<Level> {
    LEVELS.iter().rev().find(|(_, _, v)| *v < value).map(level)
}

/// A first letter in capitals and a full stop: the domain's reasons are phrases.
fn sentence(phrase: &str) -> String {
    let mut chars = phrase.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// A stored time as "2024-05-01 14:03 UTC" with its machine form, when it parses.
pub fn when(text: Option<&str>) -> Option<(String, String)> {
    let at = domain::time::parse(text?)?;
    Some((
        domain::time::format(at),
        at.format("%Y-%m-%d %H:%M UTC").to_string(),
    ))
}

/// A job in the queue as its row shows it.
pub struct QueueRow {
    /// The job's id (`data-job-id`).
    pub id: String,
    /// Its file's id.
    pub file_id: String,
    /// Its file's name.
    pub file_name: String,
    /// The plate printed.
    pub plate: i64,
    /// Units one print makes.
    pub units: i64,
    /// The stored status (`data-state`).
    pub status: &'static str,
    /// The badge's colour key (`assigned` for a queued job with a printer).
    pub badge: &'static str,
    /// The state in words.
    pub state_words: &'static str,
    /// The printer's name, when it has one.
    pub printer: Option<String>,
    /// The base priority in words.
    pub priority: String,
    /// Raise to this level (queued jobs below urgent).
    pub raise: Option<Level>,
    /// Lower to this level (queued jobs above low).
    pub lower: Option<Level>,
    /// Progress in percent, for a job on a printer.
    pub progress: Option<i64>,
    /// Time left in words, from the printer's live report.
    pub remaining: Option<String>,
    /// Why a queued job waits, in a sentence.
    pub waits: Option<String>,
    /// Queued without a printer: it can be assigned.
    pub can_assign: bool,
    /// Queued with a printer: it can start, or go back to the dispatcher.
    pub can_start: bool,
    /// Printing: it can pause.
    pub can_pause: bool,
    /// Paused: it can resume.
    pub can_resume: bool,
    /// Whether cancelling stops a print on its printer.
    pub on_printer: bool,
    /// Its place in dispatch order (see [`dispatch_order`]).
    order: (u8, i64, String, String),
}

impl QueueRow {
    /// What the cancel button asks first.
    pub fn cancel_question(&self) -> String {
        match (&self.printer, self.on_printer) {
            (Some(printer), true) => format!(
                "Cancel {} (plate {})? This stops the print on {printer}; a cancelled job can't be resumed.",
                self.file_name, self.plate
            ),
            _ => format!(
                "Cancel {} (plate {})? A cancelled job can't be started again.",
                self.file_name, self.plate
            ),
        }
    }
}

/// A printer offered in the selects.
pub struct PrinterChoice {
    /// Its id.
    pub id: String,
    /// "P1S-01 (P1S)".
    pub label: String,
}

/// A file offered by the create form.
pub struct FileChoice {
    /// Its id.
    pub id: String,
    /// "bracket.3mf · 2 plates · A1 mini", or "(not sliced)".
    pub label: String,
    /// Its plates' numbers (the plate select offers these for this file).
    pub plates: Vec<u32>,
    /// Whether it is the file the form shows first.
    pub first: bool,
}

/// Sorts the queue as the dispatcher takes it: jobs on printers first (oldest first),
/// then waiting jobs by effective priority (highest first), the oldest, then id.
pub fn dispatch_order(rows: &mut [QueueRow]) {
    rows.sort_by(|a, b| a.order.cmp(&b.order));
}

/// What a job asks of a printer, as the dispatcher reads it (`crate::dispatch`).
fn needs_of(row: &QueuedForDispatch) -> JobNeeds {
    JobNeeds {
        model: row.printer_model_id.clone(),
        nozzle: row.nozzle_diameter,
        filament_type: Some(row.filament_type.clone()),
        colour_hex: HexColour::parse("color", &row.color)
            .ok()
            .map(|c| c.as_str().to_string()),
        build_plate: None,
    }
}

/// Why a queued job waits now, in a sentence.
fn why_waiting(row: &QueuedForDispatch, fleet: &[PrinterFacts], auto_dispatch: bool) -> String {
    let needs = needs_of(row);
    // A job assigned to a printer waits for that printer alone.
    let printers: Vec<PrinterFacts> = match &row.printer_id {
        Some(id) => {
            let chosen: Vec<PrinterFacts> = fleet
                .iter()
                .filter(|p| p.id.as_str() == id)
                .cloned()
                .collect();
            if chosen.is_empty() {
                return "Its printer is no longer in the farm: send it back to the dispatcher."
                    .into();
            }
            chosen
        }
        None => fleet.to_vec(),
    };
    match domain::dispatch::why_waiting(&printers, &needs) {
        Some(reason) => sentence(&reason.message()),
        None if auto_dispatch => "A printer is ready: the dispatcher starts it next.".into(),
        None if row.printer_id.is_some() => {
            "Its printer is ready: start it (auto-dispatch is off in this farm).".into()
        }
        None => {
            "A printer is ready: assign it and start it (auto-dispatch is off in this farm).".into()
        }
    }
}

/// The queue row of `job`; `waiting` is its dispatcher row when it is queued.
fn queue_row(
    job: &Job,
    waiting: Option<&QueuedForDispatch>,
    fleet: &[PrinterFacts],
    live: &HashMap<String, proto::PrinterStatus>,
    auto_dispatch: bool,
    now: DateTime<Utc>,
) -> QueueRow {
    let status = job.status;
    let assigned = job.printer_id.is_some();
    let queued = status == JobStatus::Queued;
    let printer = job.printer_name.clone().or_else(|| {
        job.printer_id.as_ref().and_then(|id| {
            fleet
                .iter()
                .find(|p| p.id.as_str() == id)
                .map(|p| p.name.clone())
        })
    });
    let submitted = job.time_submitted.clone().unwrap_or(job.created_at.clone());
    let order = if queued {
        let submitted_at = domain::time::parse(&submitted).unwrap_or(now);
        let input = PriorityInput {
            base: Priority::from_stored(job.priority),
            submitted_at,
            order_priority: None,
            sku_low_on_stock: waiting.is_some_and(|w| w.low_on_stock == 1),
            needs_assembly: job.requires_assembly == 1,
        };
        let effective = domain::jobs::effective_priority(&input, now);
        (1, -effective, submitted, job.id.clone())
    } else {
        let started = job.time_started.clone().unwrap_or(submitted);
        (0, 0, started, job.id.clone())
    };
    let on_printer = status.is_active();
    QueueRow {
        id: job.id.clone(),
        file_id: job.print_file_id.clone(),
        file_name: job.file_name.clone(),
        plate: job.plate_index,
        units: job.number_of_units,
        status: status.as_str(),
        badge: if queued && assigned {
            "assigned"
        } else {
            status.as_str()
        },
        state_words: state_words(status, assigned),
        printer,
        priority: priority_words(job.priority),
        raise: raised(job.priority).filter(|_| queued),
        lower: lowered(job.priority).filter(|_| queued),
        progress: on_printer.then_some(job.progress_percentage),
        remaining: job
            .printer_id
            .as_ref()
            .filter(|_| matches!(status, JobStatus::Printing | JobStatus::Paused))
            .and_then(|id| live.get(id))
            .and_then(|s| s.remaining_time_seconds)
            .map(duration_words),
        waits: waiting.map(|w| why_waiting(w, fleet, auto_dispatch)),
        can_assign: queued && !assigned,
        can_start: queued && assigned,
        can_pause: status == JobStatus::Printing,
        can_resume: status == JobStatus::Paused,
        on_printer,
        order,
    }
}

/// The queue of a farm, with what its forms offer.
pub struct Queue {
    /// The jobs, in dispatch order.
    pub rows: Vec<QueueRow>,
    /// The farm's printers, for the assign selects.
    pub printers: Vec<PrinterChoice>,
    /// Whether the farm's dispatcher starts jobs by itself.
    pub auto_dispatch: bool,
}

/// The farm's printers in display order.
async fn printers_of(conn: &mut store::Conn, tenant: &TenantId) -> Result<Vec<Printer>, PageError> {
    let query = PrinterQuery::display_order();
    Ok(store::printers::list(conn, tenant, &query, MOST_CHOICES, 0)
        .await?
        .0)
}

fn printer_choice(p: &Printer) -> PrinterChoice {
    PrinterChoice {
        id: p.id.clone(),
        label: format!("{} ({})", p.name, p.model),
    }
}

/// Reads the queue of the member's farm.
pub async fn load_queue(app: &App, member: &FarmPage) -> Result<Queue, PageError> {
    let tenant = &member.tenant;
    let (jobs, waiting, printers, busy) = {
        let mut conn = app.store.conn().await?;
        let query = JobQuery {
            statuses: QUEUE.to_vec(),
            sort_by: "created_at",
            ascending: true,
            ..Default::default()
        };
        let (jobs, _) = store::jobs::list(&mut conn, tenant, &query, MOST_JOBS, 0).await?;
        let waiting = store::jobs::queued_for_dispatch(&mut conn, tenant).await?;
        let printers = printers_of(&mut conn, tenant).await?;
        let busy = store::printers::with_active_jobs(&mut conn, tenant).await?;
        (jobs, waiting, printers, busy)
    };
    // The dispatcher's view of the printers: a printer holding a job is busy whatever it reports.
    let fleet: Vec<PrinterFacts> = printers
        .iter()
        .map(|p| {
            let mut facts = app.farm.facts(p);
            if busy.contains(&p.id) {
                facts.status = domain::printers::PrinterStatus::Printing;
            }
            facts
        })
        .collect();
    let live = app.realtime.printers_of(tenant);
    let waiting: HashMap<&str, &QueuedForDispatch> =
        waiting.iter().map(|w| (w.id.as_str(), w)).collect();
    let auto_dispatch = member.auto_dispatch;
    let now = Utc::now();
    let mut rows: Vec<QueueRow> = jobs
        .iter()
        .map(|job| {
            queue_row(
                job,
                waiting.get(job.id.as_str()).copied(),
                &fleet,
                &live,
                auto_dispatch,
                now,
            )
        })
        .collect();
    dispatch_order(&mut rows);
    Ok(Queue {
        rows,
        printers: printers.iter().map(printer_choice).collect(),
        auto_dispatch,
    })
}

/// The jobs page.
#[derive(Template)]
#[template(path = "jobs.html", whitespace = "minimize")]
struct JobsPage {
    layout: super::Layout,
    operator: bool,
    queue: Queue,
    files: Vec<FileChoice>,
}

/// GET /jobs — the queue, and (for operators) the form that queues a plate.
pub async fn page(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let queue = load_queue(&app, &member).await?;
    let layout = member.layout(Section::Jobs, "Jobs");
    let operator = layout.operator();
    let files = if operator {
        let mut conn = app.store.conn().await?;
        let (files, _) =
            store::files::list(&mut conn, &member.tenant, None, None, MOST_CHOICES, 0).await?;
        files
            .iter()
            .enumerate()
            .map(|(n, f)| {
                let numbers: Vec<u32> = super::files::project_of(f)
                    .map(|p| p.plates.iter().map(|plate| plate.index).collect())
                    .unwrap_or_default();
                let plates = numbers.len();
                let mut label = f.name.clone();
                if plates > 0 {
                    label.push_str(&format!(
                        " · {plates} plate{}",
                        if plates == 1 { "" } else { "s" }
                    ));
                }
                if let Some(model) = &f.printer_model_id {
                    label.push_str(&format!(" · {}", domain::dispatch::model_name(model)));
                }
                if f.is_sliced == 0 {
                    label.push_str(" (not sliced)");
                }
                FileChoice {
                    id: f.id.clone(),
                    label,
                    // A file without plate metadata still offers plate 1 (the API decides).
                    plates: if numbers.is_empty() { vec![1] } else { numbers },
                    first: n == 0,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(html(
        StatusCode::OK,
        &JobsPage {
            operator,
            layout,
            queue,
            files,
        },
    ))
}

/// The queue without the page around it.
#[derive(Template)]
#[template(path = "jobs_queue.html", whitespace = "minimize")]
struct QueueFragment {
    operator: bool,
    queue: Queue,
}

/// GET /jobs/queue — the queue alone, for the script to swap in.
pub async fn queue(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let queue = load_queue(&app, &member).await?;
    Ok(html(
        StatusCode::OK,
        &QueueFragment {
            operator: member.role.at_least(domain::Role::Operator),
            queue,
        },
    ))
}

/// A finished job as the history shows it.
pub struct HistoryRow {
    /// The job's id.
    pub id: String,
    /// Its file's id.
    pub file_id: String,
    /// Its file's name.
    pub file_name: String,
    /// The plate printed.
    pub plate: i64,
    /// completed, failed or cancelled (`data-state`).
    pub status: &'static str,
    /// In words.
    pub state_words: &'static str,
    /// The printer it ran on.
    pub printer: Option<String>,
    /// When it ended: (machine form, words).
    pub ended: Option<(String, String)>,
    /// How long it printed, in words.
    pub printed_for: Option<String>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Failed: the API can queue it again.
    pub can_retry: bool,
    /// The body that queues the same plate again as a new job.
    pub again_body: String,
}

impl HistoryRow {
    fn new(job: &Job) -> HistoryRow {
        let status = job.status;
        HistoryRow {
            id: job.id.clone(),
            file_id: job.print_file_id.clone(),
            file_name: job.file_name.clone(),
            plate: job.plate_index,
            status: status.as_str(),
            state_words: state_words(status, false),
            printer: job.printer_name.clone(),
            // A cancel records no end; its last change is when it was cancelled.
            ended: when(job.time_completed.as_deref()).or_else(|| when(Some(&job.updated_at))),
            printed_for: job
                .actual_print_time_minutes
                .map(|m| duration_words(m * 60)),
            failure: job.failure_reason.clone().filter(|r| !r.trim().is_empty()),
            can_retry: status == JobStatus::Failed,
            again_body: json!({
                "print_file_id": job.print_file_id,
                "plate_index": job.plate_index,
                "priority": job.priority,
                "number_of_units": job.number_of_units,
            })
            .to_string(),
        }
    }
}

/// A page of the history.
pub struct HistoryList {
    /// Whether the member sees the buttons.
    pub operator: bool,
    /// The jobs of the page.
    pub rows: Vec<HistoryRow>,
    /// How many finished jobs the farm has.
    pub total: i64,
    /// The page shown (1-based).
    pub page: i64,
    /// How many pages there are.
    pub pages: i64,
}

/// The history page.
#[derive(Template)]
#[template(path = "jobs_history.html", whitespace = "minimize")]
struct HistoryPage {
    layout: super::Layout,
    list: HistoryList,
}

/// The history's table without the page around it.
#[derive(Template)]
#[template(path = "jobs_history_list.html", whitespace = "minimize")]
struct HistoryFragment {
    list: HistoryList,
}

/// The page asked for (`?page=2`); anything else is the first.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

impl PageQuery {
    /// The 1-based page number.
    pub fn number(&self) -> i64 {
        self.page
            .as_deref()
            .and_then(|p| p.parse::<i64>().ok())
            .filter(|p| (1..=100_000).contains(p))
            .unwrap_or(1)
    }
}

/// Reads a page of finished jobs, newest first.
async fn load_history(app: &App, member: &FarmPage, page: i64) -> Result<HistoryList, PageError> {
    let query = JobQuery {
        statuses: FINISHED.to_vec(),
        sort_by: "updated_at",
        ascending: false,
        ..Default::default()
    };
    let (jobs, total) = {
        let mut conn = app.store.conn().await?;
        store::jobs::list(
            &mut conn,
            &member.tenant,
            &query,
            HISTORY_PAGE,
            (page - 1) * HISTORY_PAGE,
        )
        .await?
    };
    Ok(HistoryList {
        operator: member.role.at_least(domain::Role::Operator),
        rows: jobs.iter().map(HistoryRow::new).collect(),
        total,
        page,
        pages: ((total + HISTORY_PAGE - 1) / HISTORY_PAGE).max(1),
    })
}

/// GET /jobs/history — completed, failed and cancelled jobs, newest first, 50 a page.
pub async fn history(
    State(app): State<App>,
    member: FarmPage,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let list = load_history(&app, &member, q.number()).await?;
    let layout = member.layout(Section::Jobs, "Job history");
    Ok(html(StatusCode::OK, &HistoryPage { layout, list }))
}

/// GET /jobs/history/list — a page of the history alone, for the script to swap in.
pub async fn history_list(
    State(app): State<App>,
    member: FarmPage,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let list = load_history(&app, &member, q.number()).await?;
    Ok(html(StatusCode::OK, &HistoryFragment { list }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, status: &str, priority: i64, submitted: &str) -> Job {
        Job {
            id: id.into(),
            tenant_id: "t".into(),
            printer_id: None,
            print_file_id: "f".into(),
            product_sku_id: None,
            submitted_by: None,
            file_name: "bracket.3mf".into(),
            status: status.parse().expect("a job status"),
            color: "#F7D959".into(),
            filament_type: "PLA".into(),
            material_type: "PLA".into(),
            number_of_units: 1,
            filament_needed_grams: Some(4),
            estimated_print_time_minutes: Some(16),
            actual_print_time_minutes: None,
            progress_percentage: 40,
            printer_numeric_id: None,
            priority,
            failure_reason: None,
            time_submitted: Some(submitted.into()),
            time_started: None,
            time_completed: None,
            requires_assembly: 0,
            quantity_per_print: 1,
            product_id: None,
            product_name: None,
            sku_name: None,
            printer_model: None,
            printer_name: None,
            plate_index: 1,
            wait_reason: None,
            order_id: None,
            order_item_id: None,
            created_at: submitted.into(),
            updated_at: submitted.into(),
            bambu_job_id: None,
            last_sync_time: None,
        }
    }

    fn waiting(j: &Job) -> QueuedForDispatch {
        QueuedForDispatch {
            id: j.id.clone(),
            printer_id: j.printer_id.clone(),
            priority: j.priority,
            time_submitted: j.time_submitted.clone(),
            created_at: j.created_at.clone(),
            filament_type: j.filament_type.clone(),
            color: j.color.clone(),
            requires_assembly: 0,
            wait_reason: None,
            printer_model_id: Some("N1".into()),
            nozzle_diameter: Some(0.4),
            low_on_stock: 0,
            order_priority: None,
        }
    }

    fn now() -> DateTime<Utc> {
        domain::time::parse("2024-05-01T12:00:00Z").expect("time")
    }

    fn row(j: &Job, auto: bool) -> QueueRow {
        let w = (j.status == JobStatus::Queued).then(|| waiting(j));
        queue_row(j, w.as_ref(), &[], &HashMap::new(), auto, now())
    }

    #[test]
    fn the_queue_puts_printing_jobs_first_then_higher_priority_then_older() {
        let old_normal = job("a", "queued", 50, "2024-05-01T11:50:00Z");
        let new_high = job("b", "queued", 100, "2024-05-01T11:59:00Z");
        let printing = job("c", "printing", 10, "2024-05-01T10:00:00Z");
        let new_normal = job("d", "queued", 50, "2024-05-01T11:58:00Z");
        let mut rows: Vec<QueueRow> = [&old_normal, &new_high, &printing, &new_normal]
            .iter()
            .map(|j| row(j, false))
            .collect();
        dispatch_order(&mut rows);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["c", "b", "a", "d"]);
    }

    #[test]
    fn a_waiting_job_says_why_in_a_sentence_and_a_printing_one_shows_progress() {
        let queued = row(&job("a", "queued", 50, "2024-05-01T11:50:00Z"), false);
        assert_eq!(
            queued.waits.as_deref(),
            Some("The farm has no active printers.")
        );
        assert_eq!(queued.state_words, "Queued");
        assert_eq!(queued.priority, "Normal (50)");
        assert!(queued.can_assign && !queued.can_start);
        assert_eq!(queued.progress, None);
        assert_eq!(queued.raise.as_ref().map(|l| l.words), Some("High"));
        assert_eq!(
            queued.lower.as_ref().map(|l| l.body.as_str()),
            Some(r#"{"priority":"low"}"#)
        );

        let printing = row(&job("c", "printing", 200, "2024-05-01T10:00:00Z"), false);
        assert_eq!(printing.progress, Some(40));
        assert_eq!(printing.waits, None);
        assert!(printing.can_pause && !printing.can_assign);
        assert!(printing.raise.is_none(), "only queued jobs change priority");
    }

    #[test]
    fn an_assigned_job_whose_printer_left_says_so() {
        let mut j = job("a", "queued", 50, "2024-05-01T11:50:00Z");
        j.printer_id = Some("gone".into());
        let r = row(&j, true);
        assert_eq!(r.state_words, "Assigned");
        assert_eq!(r.badge, "assigned");
        assert!(r.can_start);
        assert!(
            r.waits
                .as_deref()
                .unwrap_or("")
                .contains("no longer in the farm")
        );
    }

    #[test]
    fn priorities_read_as_levels_and_step_between_them() {
        assert_eq!(priority_words(200), "Urgent (200)");
        assert_eq!(priority_words(75), "75");
        assert!(raised(200).is_none());
        assert_eq!(raised(75).map(|l| l.words), Some("High"));
        assert!(lowered(10).is_none());
        assert!(lowered(5).is_none());
        let named: Vec<i64> = LEVELS.iter().map(|l| l.2).collect();
        let domain = [
            Priority::LOW,
            Priority::NORMAL,
            Priority::HIGH,
            Priority::URGENT,
        ];
        assert_eq!(named, domain.map(|p| p.value()).to_vec());
    }
}
