//! The worklist page, made for a phone on the floor: the open tasks, most urgent first,
//! each a card with big Start and Done buttons (which call the JSON API, so completing a
//! collection clears the bed as it does anywhere), filtered by kind; new and moved tasks
//! appear without a reload (`live.js` fetches the list again on `task_updated`).

use super::{FarmPage, PageError, Section, html};
use crate::app::App;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use domain::Role;
use domain::worklist::{TaskStatus, TaskType};
use serde::Deserialize;
use store::worklist::{Task, TaskQuery};

/// Tasks per page.
const TASKS_PAGE: i64 = 50;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/worklist", get(page))
        .route("/worklist/list", get(fragment))
}

/// A task's kind in the floor's words.
fn kind_words(kind: Option<TaskType>) -> &'static str {
    match kind {
        Some(TaskType::Collection) => "Collect",
        Some(TaskType::FilamentChange) => "Filament",
        Some(TaskType::Assembly) => "Assemble",
        Some(TaskType::Maintenance) => "Maintain",
        Some(TaskType::QualityCheck) => "Check",
        None => "Task",
    }
}

/// One task as its card shows it.
pub struct TaskCard {
    /// Its id.
    pub id: String,
    /// Its kind (`data-kind`).
    pub kind: String,
    /// Its kind in words.
    pub kind_words: &'static str,
    /// What to do.
    pub title: String,
    /// The detail line (how many, which tray).
    pub subtitle: Option<String>,
    /// low, medium, high (`data-priority`).
    pub priority: String,
    /// pending or in_progress, or closed.
    pub status: String,
    /// Whether someone started it.
    pub started: bool,
    /// Whether it is still to do.
    pub open: bool,
    /// When it appeared (`YYYY-MM-DD HH:MM`, UTC).
    pub since: String,
    /// When it is due, if it is.
    pub due: Option<String>,
}

impl TaskCard {
    fn of(task: &Task) -> TaskCard {
        let status = task.status();
        let minute = |at: &str| at.chars().take(16).collect::<String>().replace('T', " ");
        TaskCard {
            id: task.id.clone(),
            kind: task.task_type.clone(),
            kind_words: kind_words(task.task_type()),
            title: task.title.clone(),
            subtitle: task.subtitle.clone(),
            priority: task.priority.clone(),
            status: task.status.clone(),
            started: status == TaskStatus::InProgress,
            open: !status.is_closed(),
            since: minute(&task.created_at),
            due: task
                .due_date
                .as_deref()
                .map(|d| d.chars().take(10).collect()),
        }
    }
}

/// The cards with their paging and filters.
pub struct TaskList {
    /// The cards.
    pub cards: Vec<TaskCard>,
    /// Tasks that match.
    pub total: i64,
    /// This page.
    pub page: i64,
    /// Pages in all.
    pub pages: i64,
    /// The filters as a query (`&type=collection&done=1`), to keep on other pages.
    pub filter: String,
    /// Whether the member may start and complete tasks.
    pub operator: bool,
}

/// `?type=&done=&page=` of the page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FloorQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Shows the tasks done (completed) instead of the open ones.
    done: Option<String>,
    page: Option<String>,
}

impl FloorQuery {
    fn kind(&self) -> Option<TaskType> {
        self.kind.as_deref().and_then(|k| k.parse().ok())
    }

    fn done(&self) -> bool {
        self.done.as_deref().is_some_and(|d| d == "1")
    }

    fn filter(&self) -> String {
        let mut filter = String::new();
        if let Some(kind) = self.kind() {
            filter.push_str(&format!("&type={}", kind.as_str()));
        }
        if self.done() {
            filter.push_str("&done=1");
        }
        filter
    }
}

async fn load(app: &App, member: &FarmPage, q: &FloorQuery) -> Result<TaskList, PageError> {
    let page = super::forms::page_number(q.page.as_deref());
    let done = q.done();
    let query = TaskQuery {
        task_type: q.kind(),
        status: done.then_some(TaskStatus::Completed),
        open: !done,
        floor_order: !done,
        ..TaskQuery::default()
    };
    let paging = crate::envelope::Paging {
        page,
        limit: TASKS_PAGE,
    };
    let mut conn = app.store.conn().await?;
    let (tasks, total) = store::worklist::list(
        &mut conn,
        &member.tenant,
        &query,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(TaskList {
        cards: tasks.iter().map(TaskCard::of).collect(),
        total,
        page,
        pages: ((total + TASKS_PAGE - 1) / TASKS_PAGE).max(1),
        filter: q.filter(),
        operator: member.role.at_least(Role::Operator),
    })
}

/// The page.
#[derive(Template)]
#[template(path = "worklist.html", whitespace = "minimize")]
struct WorklistPage {
    layout: super::Layout,
    list: TaskList,
    kinds: Vec<(&'static str, &'static str)>,
    kind: String,
    done: bool,
}

/// The list alone, for the script to swap in.
#[derive(Template)]
#[template(path = "worklist_list.html", whitespace = "minimize")]
struct WorklistFragment {
    list: TaskList,
}

/// GET /worklist — the open tasks, most urgent first (or those done, `?done=1`).
pub async fn page(
    State(app): State<App>,
    member: FarmPage,
    Query(q): Query<FloorQuery>,
) -> Result<Response, PageError> {
    let list = load(&app, &member, &q).await?;
    let kinds = TaskType::ALL
        .iter()
        .map(|k| (k.as_str(), kind_words(Some(*k))))
        .collect();
    Ok(html(
        StatusCode::OK,
        &WorklistPage {
            layout: member.layout(Section::Worklist, "Worklist"),
            list,
            kinds,
            kind: q.kind().map(|k| k.as_str().to_string()).unwrap_or_default(),
            done: q.done(),
        },
    ))
}

/// GET /worklist/list — the cards alone.
pub async fn fragment(
    State(app): State<App>,
    member: FarmPage,
    Query(q): Query<FloorQuery>,
) -> Result<Response, PageError> {
    let list = load(&app, &member, &q).await?;
    Ok(html(StatusCode::OK, &WorklistFragment { list }))
}
