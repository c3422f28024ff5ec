//! The farm overview: how many printers are in each state, the jobs in progress with
//! their expected ends, and today's completed and failed prints (with a chart by hour).
//! Its live part is also a fragment, which `live.js` fetches again when jobs or printer
//! states change.

use super::chart::{Series, stacked_bars};
use super::printers::state_label;
use super::{FarmPage, PageError, Section, duration_words, html};
use crate::app::App;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Local, Timelike, Utc};
use domain::Role;
use domain::jobs::JobStatus;
use domain::printers::PrinterStatus;
use std::collections::HashMap;
use store::jobs::JobQuery;

/// Job statuses that hold a printer.
const IN_PROGRESS: [JobStatus; 4] = [
    JobStatus::Processing,
    JobStatus::Uploaded,
    JobStatus::Printing,
    JobStatus::Paused,
];
/// The most jobs in progress listed (one per printer, so a large farm's worth).
const MOST_JOBS: i64 = 1000;

/// Printers in one state.
pub struct StateCount {
    /// The state (`data-state`, for its colour).
    pub state: &'static str,
    /// In words.
    pub label: &'static str,
    /// How many.
    pub count: i64,
}

/// A job in progress as the overview lists it.
pub struct RunningJob {
    /// The file printed.
    pub file_name: String,
    /// Plate number.
    pub plate: i64,
    /// The printer's id (live updates find the row by it).
    pub printer_id: String,
    /// The printer's name.
    pub printer_name: String,
    /// The job's status in words.
    pub status: &'static str,
    /// Progress in percent.
    pub progress: i64,
    /// Time left, in words, when known.
    pub remaining: Option<String>,
    /// The expected end (RFC 3339), when known.
    pub ends_at: Option<String>,
    /// The expected end in words, relative ("in 1 h 05 min").
    pub ends_in: Option<String>,
    ends: Option<DateTime<Utc>>,
}

/// The live part of the overview.
pub struct OverviewLive {
    /// Printers per state, in a fixed order.
    pub counts: Vec<StateCount>,
    /// All printers.
    pub total: i64,
    /// Jobs in progress, soonest end first.
    pub jobs: Vec<RunningJob>,
    /// Prints completed since midnight.
    pub completed: u32,
    /// Prints failed since midnight.
    pub failed: u32,
    /// The chart of both by hour (SVG).
    pub chart: String,
    /// Whether the farm's dispatcher starts queued jobs by itself.
    pub auto_dispatch: bool,
    /// The farm's id (the dispatcher switch's API path).
    pub farm_id: String,
    /// Whether the member may switch the dispatcher (admins).
    pub admin: bool,
}

/// States in the order the overview shows them: what needs a person first.
const STATES: [PrinterStatus; 6] = [
    PrinterStatus::Error,
    PrinterStatus::Printing,
    PrinterStatus::Paused,
    PrinterStatus::Idle,
    PrinterStatus::Offline,
    PrinterStatus::Maintenance,
];

fn job_status_words(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Processing => "Sending the file",
        JobStatus::Uploaded => "Starting",
        JobStatus::Printing => "Printing",
        JobStatus::Paused => "Paused",
        _ => "In progress",
    }
}

/// Midnight of today on the server's clock, as UTC.
fn start_of_today() -> DateTime<Utc> {
    let now = Local::now();
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|midnight| midnight.and_local_timezone(Local).earliest())
        .map(|t| t.with_timezone(&Utc))
        // A day that skips midnight (a DST change at 00:00): count the last 24 hours.
        .unwrap_or_else(|| Utc::now() - Duration::hours(24))
}

/// Reads what the overview shows for a farm.
pub async fn load(app: &App, member: &FarmPage) -> Result<OverviewLive, PageError> {
    let tenant = &member.tenant;
    let now = Utc::now();
    let since = start_of_today();
    let (counts, jobs, finished) = {
        let mut conn = app.store.conn().await?;
        let counts = store::printers::counts_by_state(&mut conn, tenant).await?;
        let query = JobQuery {
            statuses: IN_PROGRESS.to_vec(),
            sort_by: "created_at",
            ascending: true,
            ..Default::default()
        };
        let (jobs, _) = store::jobs::list(&mut conn, tenant, &query, MOST_JOBS, 0).await?;
        let finished =
            store::jobs::finished_since(&mut conn, tenant, &domain::time::format(since)).await?;
        (counts, jobs, finished)
    };

    let mut per_state: HashMap<&'static str, i64> = HashMap::new();
    let mut total = 0;
    for (state, n) in counts {
        // A state the farm doesn't know is shown as an error, as the printer cards do.
        let state = state.parse().unwrap_or(PrinterStatus::Error);
        *per_state.entry(state.as_str()).or_default() += n;
        total += n;
    }
    let counts = STATES
        .iter()
        .map(|s| StateCount {
            state: s.as_str(),
            label: state_label(*s),
            count: per_state.get(s.as_str()).copied().unwrap_or(0),
        })
        .collect();

    let live = app.realtime.printers_of(tenant);
    let mut jobs: Vec<RunningJob> = jobs
        .into_iter()
        .map(|job| {
            let printer_id = job.printer_id.clone().unwrap_or_default();
            let report = live.get(&printer_id);
            // The printer's own countdown when it reports one; else the slicer's estimate.
            let left = report
                .and_then(|s| s.remaining_time_seconds)
                .filter(|_| matches!(job.status.as_str(), "printing" | "paused"));
            let ends = match left {
                Some(secs) => Some(now + Duration::seconds(secs)),
                None => job
                    .time_started
                    .as_deref()
                    .and_then(domain::time::parse)
                    .zip(job.estimated_print_time_minutes)
                    .map(|(start, minutes)| start + Duration::minutes(minutes)),
            };
            RunningJob {
                file_name: job.file_name,
                plate: job.plate_index,
                printer_name: job.printer_name.unwrap_or_else(|| "—".into()),
                printer_id,
                status: job_status_words(job.status),
                progress: report
                    .and_then(|s| s.progress_percentage)
                    .unwrap_or(job.progress_percentage),
                remaining: left.map(duration_words),
                ends_at: ends.map(domain::time::format),
                ends_in: ends.map(|at| match (at - now).num_seconds() {
                    s if s > 0 => format!("in {}", duration_words(s)),
                    _ => "any moment".into(),
                }),
                ends,
            }
        })
        .collect();
    jobs.sort_by_key(|j| (j.ends.is_none(), j.ends));

    let mut completed_by_hour = [0u32; 24];
    let mut failed_by_hour = [0u32; 24];
    for (status, at) in &finished {
        let Some(at) = domain::time::parse(at) else {
            continue;
        };
        let hour = at.with_timezone(&Local).hour() as usize % 24;
        match status.as_str() {
            "completed" => completed_by_hour[hour] += 1,
            _ => failed_by_hour[hour] += 1,
        }
    }
    let completed: u32 = completed_by_hour.iter().sum();
    let failed: u32 = failed_by_hour.iter().sum();
    let labels: Vec<String> = (0..24).map(|h| format!("{h:02}:00")).collect();
    let chart = stacked_bars(
        &format!("Prints finished today by hour: {completed} completed, {failed} failed."),
        &labels,
        &[
            Series {
                name: "completed",
                class: "bar-ok",
                values: &completed_by_hour,
            },
            Series {
                name: "failed",
                class: "bar-bad",
                values: &failed_by_hour,
            },
        ],
    );
    Ok(OverviewLive {
        counts,
        total,
        jobs,
        completed,
        failed,
        chart,
        auto_dispatch: member.auto_dispatch,
        farm_id: tenant.to_string(),
        admin: member.role.at_least(Role::Admin),
    })
}

/// The overview page.
#[derive(Template)]
#[template(path = "overview.html", whitespace = "minimize")]
struct OverviewPage {
    layout: super::Layout,
    live: OverviewLive,
}

/// GET / — the farm at a glance.
pub async fn page(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let live = load(&app, &member).await?;
    Ok(html(
        StatusCode::OK,
        &OverviewPage {
            layout: member.layout(Section::Overview, "Overview"),
            live,
        },
    ))
}

/// The live part alone.
#[derive(Template)]
#[template(path = "overview_live.html", whitespace = "minimize")]
struct OverviewFragment {
    live: OverviewLive,
}

/// GET /overview/live — the overview's live part, for the script to swap in.
pub async fn fragment(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let live = load(&app, &member).await?;
    Ok(html(StatusCode::OK, &OverviewFragment { live }))
}
