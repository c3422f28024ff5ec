//! The automation page (the farm's rules, each with its recent runs; admins switch, try,
//! remove and add rules) and the notifications page (channels, what was sent, and a retry
//! for a dead delivery). Both call the JSON API through `live.js`, so a rule made here is
//! checked exactly as one made by a script.

use super::{FarmPage, PageError, Section, html};
use crate::app::App;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use domain::Role;
use domain::automation::{ActionType, Trigger};
use domain::worklist::{TaskPriority, TaskType};
use store::automation::RuleQuery;

/// Runs shown under each rule.
const RUNS_SHOWN: i64 = 5;
/// Log lines shown.
const LOG_SHOWN: i64 = 50;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/automation", get(page))
        .route("/automation/list", get(fragment))
        .route("/notifications", get(notifications))
        .route("/notifications/list", get(notifications_fragment))
}

/// `2026-12-03 12:04` of a stored time.
fn minute(at: &str) -> String {
    at.chars().take(16).collect::<String>().replace('T', " ")
}

/// One run as its row shows it.
pub struct RunRow {
    /// When.
    pub when: String,
    /// succeeded, failed or skipped.
    pub outcome: String,
    /// What it did, or why not.
    pub detail: String,
    /// Whether someone tried the rule by hand.
    pub by_hand: bool,
}

/// One rule as its card shows it.
pub struct RuleCard {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// "When a print job failed, if progress gte 50: Put a task on the worklist".
    pub summary: String,
    /// Whether it runs.
    pub enabled: bool,
    /// Runs counted against its limits.
    pub count: i64,
    /// Its limits in words, if it has any.
    pub limits: Option<String>,
    /// When it last ran.
    pub last: Option<String>,
    /// A schedule's next time.
    pub next: Option<String>,
    /// Its newest runs.
    pub runs: Vec<RunRow>,
}

/// The rules with what the member may do.
pub struct RuleList {
    /// The cards, newest rule first.
    pub cards: Vec<RuleCard>,
    /// Whether the member may change rules.
    pub admin: bool,
}

fn summary(rule: &store::automation::Rule) -> String {
    let trigger = rule
        .trigger_type
        .parse::<Trigger>()
        .map(|t| t.description().to_lowercase())
        .unwrap_or_else(|_| rule.trigger_type.clone());
    let action = rule
        .action_type
        .parse::<ActionType>()
        .map(|a| a.description().to_string())
        .unwrap_or_else(|_| rule.action_type.clone());
    let conditions: Vec<String> = rule
        .trigger_conditions
        .as_deref()
        .and_then(|c| serde_json::from_str::<Vec<serde_json::Value>>(c).ok())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let value = match &c["value"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!(
                "{} {} {value}",
                c["field"].as_str().unwrap_or(""),
                c["op"].as_str().unwrap_or("eq")
            )
        })
        .collect();
    let when = match &rule.schedule_cron {
        Some(cron) if rule.trigger_type == "schedule" => format!(
            "On schedule {cron} ({})",
            rule.schedule_timezone.as_deref().unwrap_or("UTC")
        ),
        _ => format!("When {trigger}"),
    };
    if conditions.is_empty() {
        format!("{when}: {action}")
    } else {
        format!("{when}, if {}: {action}", conditions.join(" and "))
    }
}

async fn load(app: &App, member: &FarmPage) -> Result<RuleList, PageError> {
    let mut conn = app.store.conn().await?;
    let (rules, _) =
        store::automation::list(&mut conn, &member.tenant, &RuleQuery::default(), 200, 0).await?;
    let mut cards = Vec::with_capacity(rules.len());
    for rule in &rules {
        let (runs, _) =
            store::automation::runs(&mut conn, &member.tenant, &rule.id, RUNS_SHOWN, 0).await?;
        let mut limits = Vec::new();
        if rule.cooldown_seconds > 0 {
            limits.push(format!("waits {} s between runs", rule.cooldown_seconds));
        }
        if let Some(max) = rule.max_triggers_per_hour {
            limits.push(format!("at most {max} an hour"));
        }
        cards.push(RuleCard {
            id: rule.id.clone(),
            name: rule.name.clone(),
            summary: summary(rule),
            enabled: rule.is_enabled == 1,
            count: rule.trigger_count,
            limits: (!limits.is_empty()).then(|| limits.join(", ")),
            last: rule.last_triggered_at.as_deref().map(minute),
            next: (rule.is_enabled == 1)
                .then(|| crate::automation::engine::next_scheduled(rule, chrono::Utc::now()))
                .flatten()
                .map(|t| minute(&domain::time::format(t))),
            runs: runs
                .iter()
                .map(|r| RunRow {
                    when: minute(&r.created_at),
                    outcome: r.outcome.clone(),
                    detail: r.detail.clone().unwrap_or_default(),
                    by_hand: r.by_hand == 1,
                })
                .collect(),
        });
    }
    Ok(RuleList {
        cards,
        admin: member.role.at_least(Role::Admin),
    })
}

/// The automation page.
#[derive(Template)]
#[template(path = "automation.html", whitespace = "minimize")]
struct AutomationPage {
    layout: super::Layout,
    list: RuleList,
    triggers: Vec<(&'static str, &'static str)>,
    actions: Vec<(&'static str, &'static str)>,
    task_types: Vec<&'static str>,
    priorities: Vec<&'static str>,
    webhooks: Vec<(String, String)>,
}

/// The rules alone, for the script to swap in.
#[derive(Template)]
#[template(path = "automation_list.html", whitespace = "minimize")]
struct AutomationFragment {
    list: RuleList,
}

/// GET /automation — the farm's rules and their runs.
pub async fn page(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let list = load(&app, &member).await?;
    let mut conn = app.store.conn().await?;
    let webhooks = store::notifications::channels(&mut conn, &member.tenant)
        .await?
        .into_iter()
        .filter(|c| c.kind == "webhook")
        .map(|c| (c.id, c.name))
        .collect();
    Ok(html(
        StatusCode::OK,
        &AutomationPage {
            layout: member.layout(Section::Automation, "Automation"),
            list,
            triggers: Trigger::ALL
                .iter()
                .map(|t| (t.as_str(), t.description()))
                .collect(),
            actions: ActionType::ALL
                .iter()
                .filter(|a| a.supported())
                .map(|a| (a.as_str(), a.description()))
                .collect(),
            task_types: TaskType::ALL.iter().map(|t| t.as_str()).collect(),
            priorities: TaskPriority::ALL.iter().map(|p| p.as_str()).collect(),
            webhooks,
        },
    ))
}

/// GET /automation/list — the rules alone.
pub async fn fragment(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let list = load(&app, &member).await?;
    Ok(html(StatusCode::OK, &AutomationFragment { list }))
}

/// One channel as its row shows it.
pub struct ChannelRow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// email or webhook.
    pub kind: String,
    /// Addresses, or the URL's origin.
    pub target: String,
    /// What it takes, comma separated.
    pub events: String,
    /// Whether it sends.
    pub enabled: bool,
}

/// One log line as its row shows it.
pub struct DeliveryRow {
    /// When it was queued.
    pub when: String,
    /// email or webhook.
    pub kind: String,
    /// Where to.
    pub target: String,
    /// What about.
    pub subject: String,
    /// queued, sent, failed or dead.
    pub status: String,
    /// Tries so far.
    pub attempts: i64,
    /// Why the last try failed.
    pub error: Option<String>,
    /// The dead letter to retry, when it is one.
    pub dead_letter: Option<String>,
}

/// Channels and log, for admins.
pub struct NotificationList {
    /// The channels.
    pub channels: Vec<ChannelRow>,
    /// The newest deliveries.
    pub log: Vec<DeliveryRow>,
}

async fn load_notifications(app: &App, member: &FarmPage) -> Result<NotificationList, PageError> {
    if !member.role.at_least(Role::Admin) {
        return Err(PageError::Api(crate::error::ApiError::forbidden(
            "ADMIN_ONLY",
            "notification settings are for the farm's admins",
        )));
    }
    let mut conn = app.store.conn().await?;
    let channels = store::notifications::channels(&mut conn, &member.tenant).await?;
    let (log, _) = store::notifications::log(
        &mut conn,
        &member.tenant,
        &store::notifications::DeliveryQuery::default(),
        LOG_SHOWN,
        0,
    )
    .await?;
    // A dead delivery's dead letter, by the delivery id in its payload.
    let letters = store::queue::dead_letters(
        &mut conn,
        &member.tenant,
        Some(crate::notify::NOTIFICATIONS),
    )
    .await?;
    let letter_of = |delivery: &str| {
        letters
            .iter()
            .find(|l| {
                serde_json::from_str::<crate::notify::Delivery>(&l.original_message)
                    .is_ok_and(|d| d.delivery_id == delivery)
            })
            .map(|l| l.id.clone())
    };
    Ok(NotificationList {
        channels: channels
            .iter()
            .map(|c| ChannelRow {
                id: c.id.clone(),
                name: c.name.clone(),
                kind: c.kind.clone(),
                target: c.target.clone(),
                events: crate::notify::events_of(c).join(", "),
                enabled: c.is_enabled == 1,
            })
            .collect(),
        log: log
            .iter()
            .map(|d| DeliveryRow {
                when: minute(&d.created_at),
                kind: d.kind.clone(),
                target: d.target.clone(),
                subject: d.subject.clone(),
                status: d.status.clone(),
                attempts: d.attempts,
                error: d.last_error.clone(),
                dead_letter: (d.status == "dead").then(|| letter_of(&d.id)).flatten(),
            })
            .collect(),
    })
}

/// The notifications page.
#[derive(Template)]
#[template(path = "notifications.html", whitespace = "minimize")]
struct NotificationsPage {
    layout: super::Layout,
    list: NotificationList,
    events: Vec<&'static str>,
}

/// The channels and log alone.
#[derive(Template)]
#[template(path = "notifications_list.html", whitespace = "minimize")]
struct NotificationsFragment {
    list: NotificationList,
}

/// GET /notifications — where the farm's notifications go, and what was sent (admins).
pub async fn notifications(
    State(app): State<App>,
    member: FarmPage,
) -> Result<Response, PageError> {
    let list = load_notifications(&app, &member).await?;
    Ok(html(
        StatusCode::OK,
        &NotificationsPage {
            layout: member.layout(Section::Automation, "Notifications"),
            list,
            events: crate::notify::channels::event_names(),
        },
    ))
}

/// GET /notifications/list — the channels and log alone.
pub async fn notifications_fragment(
    State(app): State<App>,
    member: FarmPage,
) -> Result<Response, PageError> {
    let list = load_notifications(&app, &member).await?;
    Ok(html(StatusCode::OK, &NotificationsFragment { list }))
}
