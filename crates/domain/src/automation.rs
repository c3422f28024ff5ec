//! Automation rules: when something happens on the farm (a trigger with its facts), a rule
//! whose conditions hold runs its action, within its limits (a cooldown after each run and
//! a maximum number of runs per hour).
//!
//! Facts are the small, flat record of what happened (`printer_name`, `progress`,
//! `stock_level` ...); conditions compare them; action texts may name them as `{field}`.
//! Everything here is pure: the server gathers the facts, the store counts the runs.

use crate::printers::name_set;
use crate::validation::Invalid;
use crate::worklist::{TaskPriority, TaskType};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

name_set!(
    /// What makes a rule run (`automation_rules.trigger_type`).
    Trigger, "trigger type" {
        /// A print finished.
        PrintCompleted => "print_completed",
        /// A print failed.
        PrintFailed => "print_failed",
        /// A print started.
        PrintStarted => "print_started",
        /// A printer stopped reporting.
        PrinterOffline => "printer_offline",
        /// A printer reports again.
        PrinterOnline => "printer_online",
        /// A printer reported an error.
        PrinterError => "printer_error",
        /// A SKU's ready stock fell to its threshold.
        LowStock => "low_stock",
        /// An order came in.
        OrderReceived => "order_received",
        /// An order was fulfilled.
        OrderFulfilled => "order_fulfilled",
        /// Units were assembled.
        AssemblyCompleted => "assembly_completed",
        /// A worklist task was completed.
        TaskCompleted => "task_completed",
        /// A hub's socket closed.
        HubOffline => "hub_offline",
        /// A hub connected.
        HubOnline => "hub_online",
        /// A time of the rule's schedule came.
        Schedule => "schedule",
    }
);

const PRINTER_FACTS: &[&str] = &["printer_id", "printer_name", "printer_model"];
const JOB_FACTS: &[&str] = &[
    "printer_id",
    "printer_name",
    "printer_model",
    "job_id",
    "job_name",
    "product_id",
    "sku_id",
    "sku",
    "filament_type",
    "color",
    "quantity",
    "priority",
    "progress",
];

impl Trigger {
    /// What the trigger means, for people choosing one.
    pub fn description(self) -> &'static str {
        match self {
            Trigger::PrintCompleted => "A print job finished successfully",
            Trigger::PrintFailed => "A print job failed",
            Trigger::PrintStarted => "A print job started on a printer",
            Trigger::PrinterOffline => "A printer stopped reporting",
            Trigger::PrinterOnline => "A printer is reporting again",
            Trigger::PrinterError => "A printer reported an error",
            Trigger::LowStock => "A SKU's ready stock fell to its low-stock threshold",
            Trigger::OrderReceived => "A new order came in",
            Trigger::OrderFulfilled => "An order was fulfilled",
            Trigger::AssemblyCompleted => "Printed units were assembled",
            Trigger::TaskCompleted => "A worklist task was completed",
            Trigger::HubOffline => "A hub lost its connection",
            Trigger::HubOnline => "A hub connected",
            Trigger::Schedule => "A time of the rule's schedule (cron) came",
        }
    }

    /// The facts an event of this trigger carries: what conditions and texts may name.
    pub fn facts(self) -> Vec<&'static str> {
        let mut facts: Vec<&'static str> = match self {
            Trigger::PrintCompleted | Trigger::PrintStarted => JOB_FACTS.to_vec(),
            Trigger::PrintFailed => {
                let mut f = JOB_FACTS.to_vec();
                f.extend(["failure_type", "failure_reason"]);
                f
            }
            Trigger::PrinterOffline | Trigger::PrinterOnline => PRINTER_FACTS.to_vec(),
            Trigger::PrinterError => {
                let mut f = PRINTER_FACTS.to_vec();
                f.extend(["error_code", "error_message"]);
                f
            }
            Trigger::LowStock => vec![
                "product_id",
                "sku_id",
                "sku",
                "product_name",
                "stock_level",
                "threshold",
            ],
            Trigger::OrderReceived | Trigger::OrderFulfilled => vec![
                "order_id",
                "order_number",
                "platform",
                "customer_name",
                "total_cents",
                "item_count",
            ],
            Trigger::AssemblyCompleted => {
                vec![
                    "task_id",
                    "product_id",
                    "sku_id",
                    "sku",
                    "product_name",
                    "units",
                ]
            }
            Trigger::TaskCompleted => vec![
                "task_id",
                "task_type",
                "task_title",
                "printer_id",
                "printer_name",
                "assigned_to",
            ],
            Trigger::HubOffline | Trigger::HubOnline => vec!["hub_id", "hub_name"],
            Trigger::Schedule => vec!["scheduled_at"],
        };
        facts.extend(["trigger", "happened_at"]);
        facts
    }

    /// Whether the event concerns a printer (a rule's `printer_ids` then narrows it).
    pub fn concerns_printer(self) -> bool {
        self.facts().contains(&"printer_id")
    }

    /// Whether the event concerns a product (a rule's `product_ids` then narrows it).
    pub fn concerns_product(self) -> bool {
        self.facts().contains(&"product_id")
    }
}

name_set!(
    /// What a rule does (`automation_rules.action_type`).
    ActionType, "action type" {
        /// Tells the farm's notification channels.
        SendNotification => "send_notification",
        /// Mails the addresses given.
        SendEmail => "send_email",
        /// Posts a signed webhook.
        SendWebhook => "send_webhook",
        /// Puts a task on the worklist.
        CreateTask => "create_task",
        /// Kept from the original; not run.
        UpdateStatus => "update_status",
        /// Kept from the original; not run.
        AssignPrinter => "assign_printer",
        /// Asks the dispatcher for a pass.
        StartNextJob => "start_next_job",
        /// Stops the dispatcher starting jobs.
        PauseQueue => "pause_queue",
        /// Lets the dispatcher start jobs again.
        ResumeQueue => "resume_queue",
        /// Kept from the original; not run.
        UpdateInventory => "update_inventory",
        /// Kept from the original; not run.
        CreateOrderItem => "create_order_item",
        /// Kept from the original; never run (arbitrary code on the server).
        RunScript => "run_script",
        /// Sets the priority of queued jobs.
        SetJobPriority => "set_job_priority",
    }
);

impl ActionType {
    /// What the action does, for people choosing one.
    pub fn description(self) -> &'static str {
        match self {
            ActionType::SendNotification => {
                "Notify the farm's notification channels (email, webhooks) chosen for it"
            }
            ActionType::SendEmail => "Send an email to the given addresses",
            ActionType::SendWebhook => "POST a signed JSON webhook to a URL",
            ActionType::CreateTask => "Put a task on the worklist",
            ActionType::StartNextJob => "Ask the dispatcher to start the next queued jobs",
            ActionType::PauseQueue => "Pause dispatch: no queued job starts until resumed",
            ActionType::ResumeQueue => "Resume dispatch",
            ActionType::SetJobPriority => {
                "Set the priority of the queued jobs of the event's order or of the rule's products"
            }
            ActionType::UpdateStatus
            | ActionType::AssignPrinter
            | ActionType::UpdateInventory
            | ActionType::CreateOrderItem => "Not supported by this server",
            ActionType::RunScript => "Not supported: scripts do not run on the server",
        }
    }

    /// Whether rules with this action can be made and run.
    pub fn supported(self) -> bool {
        !matches!(
            self,
            ActionType::UpdateStatus
                | ActionType::AssignPrinter
                | ActionType::UpdateInventory
                | ActionType::CreateOrderItem
                | ActionType::RunScript
        )
    }
}

/// One fact's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Fact {
    /// true or false.
    Bool(bool),
    /// A whole number (counts, cents, percentages as reported).
    Integer(i64),
    /// Any other number.
    Number(f64),
    /// Text (names, ids, kinds).
    Text(String),
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fact::Bool(b) => write!(f, "{b}"),
            Fact::Integer(n) => write!(f, "{n}"),
            Fact::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => write!(f, "{}", *n as i64),
            Fact::Number(n) => write!(f, "{n}"),
            Fact::Text(t) => f.write_str(t),
        }
    }
}

impl From<&str> for Fact {
    fn from(value: &str) -> Fact {
        Fact::Text(value.to_string())
    }
}

impl From<String> for Fact {
    fn from(value: String) -> Fact {
        Fact::Text(value)
    }
}

impl From<i64> for Fact {
    fn from(value: i64) -> Fact {
        Fact::Integer(value)
    }
}

/// What happened, as facts by name.
pub type Facts = BTreeMap<String, Fact>;

name_set!(
    /// How a condition compares a fact with its value.
    Op, "operator" {
        /// Equal (text without regard to case).
        Eq => "eq",
        /// Not equal.
        Ne => "ne",
        /// Greater than.
        Gt => "gt",
        /// Greater or equal.
        Gte => "gte",
        /// Less than.
        Lt => "lt",
        /// Less or equal.
        Lte => "lte",
        /// The text contains the value (without regard to case).
        Contains => "contains",
        /// Equal to one of the values.
        In => "in",
    }
);

/// A condition's value: one, or a list for `in`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Expected {
    /// One value.
    One(Fact),
    /// Several values (`in`).
    Many(Vec<Fact>),
}

/// A condition as a client sends it: `{"field": "progress", "op": "gte", "value": 50}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ConditionInput {
    /// The fact compared.
    pub field: String,
    /// The comparison; `eq` when left out.
    #[serde(default)]
    pub op: Option<String>,
    /// What the fact is compared with.
    pub value: Expected,
}

/// One checked condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// The fact compared.
    pub field: String,
    /// The comparison.
    pub op: Op,
    /// What the fact is compared with.
    pub value: Expected,
}

/// Checks conditions against the facts `trigger` carries; errors name `conditions[i]`.
pub fn parse_conditions(
    trigger: Trigger,
    inputs: Vec<ConditionInput>,
) -> Result<Vec<Condition>, Invalid> {
    let facts = trigger.facts();
    let mut invalid = Invalid::default();
    let mut conditions = Vec::new();
    for (i, input) in inputs.into_iter().enumerate() {
        let at = format!("trigger_conditions[{i}]");
        if !facts.contains(&input.field.as_str()) {
            invalid.add(
                &at,
                format!(
                    "{} has no fact '{}': it has {}",
                    trigger,
                    input.field,
                    facts.join(", ")
                ),
            );
            continue;
        }
        let op = match input.op.as_deref().unwrap_or("eq").parse::<Op>() {
            Ok(op) => op,
            Err(e) => {
                invalid.add(&at, e);
                continue;
            }
        };
        let mut value = input.value;
        // A form sends every value as text: a comparison's number may come as "50".
        if let (Op::Gt | Op::Gte | Op::Lt | Op::Lte, Expected::One(Fact::Text(t))) = (&op, &value)
            && let Ok(n) = t.trim().parse::<f64>()
        {
            value = Expected::One(if n.fract() == 0.0 && n.abs() < 1e15 {
                Fact::Integer(n as i64)
            } else {
                Fact::Number(n)
            });
        }
        let shape_ok = match (&op, &value) {
            (Op::In, Expected::Many(_)) => true,
            (Op::In, Expected::One(_)) | (_, Expected::Many(_)) => false,
            (Op::Gt | Op::Gte | Op::Lt | Op::Lte, Expected::One(value)) => number_kind(value),
            (Op::Contains, Expected::One(value)) => matches!(value, Fact::Text(_)),
            (Op::Eq | Op::Ne, Expected::One(_)) => true,
        };
        if !shape_ok {
            invalid.add(
                &at,
                match op {
                    Op::In => "'in' takes a list of values",
                    Op::Gt | Op::Gte | Op::Lt | Op::Lte => "this operator compares with a number",
                    Op::Contains => "'contains' takes a text",
                    _ => "this operator takes one value",
                },
            );
            continue;
        }
        conditions.push(Condition {
            field: input.field,
            op,
            value,
        });
    }
    invalid.into_result().map(|()| conditions)
}

fn equal(fact: &Fact, value: &Fact) -> bool {
    match (fact, value) {
        (Fact::Text(a), Fact::Text(b)) => a.eq_ignore_ascii_case(b),
        (Fact::Bool(a), Fact::Bool(b)) => a == b,
        (a, b) if number_kind(a) && number_kind(b) => {
            matches!((number(a), number(b)), (Some(x), Some(y)) if (x - y).abs() < 1e-9)
        }
        // A number stated as text, or the other way round, compares by its text.
        (a, b) => a.to_string().eq_ignore_ascii_case(&b.to_string()),
    }
}

fn number_kind(fact: &Fact) -> bool {
    matches!(fact, Fact::Integer(_) | Fact::Number(_))
}

fn number(fact: &Fact) -> Option<f64> {
    match fact {
        Fact::Integer(n) => Some(*n as f64),
        Fact::Number(n) => Some(*n),
        Fact::Text(t) => t.trim().parse().ok(),
        Fact::Bool(_) => None,
    }
}

/// Whether every condition holds for `facts` (a fact the event lacks never holds).
pub fn conditions_hold(conditions: &[Condition], facts: &Facts) -> bool {
    conditions.iter().all(|c| {
        let Some(fact) = facts.get(&c.field) else {
            return false;
        };
        match (&c.op, &c.value) {
            (Op::Eq, Expected::One(v)) => equal(fact, v),
            (Op::Ne, Expected::One(v)) => !equal(fact, v),
            (Op::In, Expected::Many(vs)) => vs.iter().any(|v| equal(fact, v)),
            (Op::Contains, Expected::One(v)) => fact
                .to_string()
                .to_lowercase()
                .contains(&v.to_string().to_lowercase()),
            (op, Expected::One(v)) => match (number(fact), number(v)) {
                (Some(a), Some(b)) => match op {
                    Op::Gt => a > b,
                    Op::Gte => a >= b,
                    Op::Lt => a < b,
                    Op::Lte => a <= b,
                    _ => false,
                },
                _ => false,
            },
            _ => false,
        }
    })
}

/// Fills `{fact}` placeholders of `template` from `facts`; an unknown name stays as written.
pub fn render(template: &str, facts: &Facts) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if is_name(&after[..close]) => {
                match facts.get(&after[..close]) {
                    Some(fact) => out.push_str(&fact.to_string()),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A rule's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Seconds after a run before the next may run (0: none).
    pub cooldown_seconds: i64,
    /// Runs allowed in any hour (`None`: no limit).
    pub max_per_hour: Option<i64>,
}

/// Why a rule whose trigger came did not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    /// The rule is switched off.
    #[error("the rule is disabled")]
    Disabled,
    /// The event does not meet the conditions, printers or products of the rule.
    #[error("the conditions do not hold")]
    ConditionsNotMet,
    /// The last run was too recent.
    #[error("cooling down until {0}")]
    CoolingDown(String),
    /// The rule ran its maximum this hour.
    #[error("already ran {0} time(s) in the last hour")]
    HourlyLimit(i64),
}

/// Whether a rule may run at `now`, given its last run and how many runs the last hour saw.
pub fn may_run(
    limits: Limits,
    last_run: Option<DateTime<Utc>>,
    runs_in_last_hour: i64,
    now: DateTime<Utc>,
) -> Result<(), Skip> {
    if let Some(last) = last_run {
        let until = last + chrono::Duration::seconds(limits.cooldown_seconds.max(0));
        if limits.cooldown_seconds > 0 && now < until {
            return Err(Skip::CoolingDown(crate::time::format(until)));
        }
    }
    match limits.max_per_hour {
        Some(max) if runs_in_last_hour >= max => Err(Skip::HourlyLimit(max)),
        _ => Ok(()),
    }
}

/// Checks a rule's limits as a client gives them.
pub fn parse_limits(cooldown_seconds: i64, max_per_hour: Option<i64>) -> Result<Limits, Invalid> {
    let mut invalid = Invalid::default();
    if !(0..=30 * 24 * 3600).contains(&cooldown_seconds) {
        invalid.add(
            "cooldown_seconds",
            "cooldown_seconds must be between 0 and 2592000 (30 days)",
        );
    }
    if max_per_hour.is_some_and(|m| !(1..=3600).contains(&m)) {
        invalid.add(
            "max_triggers_per_hour",
            "max_triggers_per_hour must be between 1 and 3600, or null for no limit",
        );
    }
    invalid.into_result().map(|()| Limits {
        cooldown_seconds,
        max_per_hour,
    })
}

/// A rule's schedule: a cron pattern read in a time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: croner::Cron,
    zone: chrono_tz::Tz,
}

impl Schedule {
    /// Parses a five-field cron pattern (`0 8 * * 1-5`) and an IANA zone (`Europe/Berlin`).
    pub fn parse(cron: &str, zone: &str) -> Result<Schedule, Invalid> {
        let mut invalid = Invalid::default();
        let pattern = cron.trim();
        let parsed = if pattern.split_whitespace().count() != 5 {
            invalid.add(
                "schedule_cron",
                "schedule_cron must have five fields: minute hour day-of-month month day-of-week",
            );
            None
        } else {
            match croner::Cron::from_str(pattern) {
                Ok(c) => Some(c),
                Err(e) => {
                    invalid.add("schedule_cron", format!("schedule_cron: {e}"));
                    None
                }
            }
        };
        let zone = match zone.trim().parse::<chrono_tz::Tz>() {
            Ok(z) => Some(z),
            Err(_) => {
                invalid.add(
                    "schedule_timezone",
                    format!("unknown time zone '{zone}' (use an IANA name like Europe/Berlin)"),
                );
                None
            }
        };
        invalid.into_result()?;
        match (parsed, zone) {
            (Some(cron), Some(zone)) => Ok(Schedule { cron, zone }),
            _ => Err(Invalid::field("schedule_cron", "invalid schedule")),
        }
    }

    /// The first time of the schedule strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.zone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The latest time of the schedule in `(after, now]`, if one came: a schedule that missed
    /// several times (the server was down) runs once, not once per missed time.
    pub fn due(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut due = None;
        let mut from = after;
        // Bounded: a pattern firing every minute over a long outage is found in steps.
        for _ in 0..10_000 {
            match self.next_after(from) {
                Some(next) if next <= now => {
                    due = Some(next);
                    from = next;
                }
                _ => break,
            }
        }
        due
    }
}

/// An action as stored in `action_config` and checked: what the rule does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Notify the farm's channels (all that take `send_notification`, or those named).
    SendNotification {
        /// The message's subject.
        title: String,
        /// The message.
        message: String,
        /// Channels to use; empty: every enabled channel subscribed to the trigger.
        channel_ids: Vec<String>,
    },
    /// Mail the addresses given.
    SendEmail {
        /// Recipients.
        to: Vec<String>,
        /// Subject.
        subject: String,
        /// Body (plain text).
        body: String,
    },
    /// Post a webhook through a webhook channel (its URL and signing secret).
    SendWebhook {
        /// The channel.
        channel_id: String,
    },
    /// Put a task on the worklist.
    CreateTask {
        /// Its kind.
        task_type: TaskType,
        /// Its title.
        title: String,
        /// Its description.
        description: Option<String>,
        /// How soon.
        priority: TaskPriority,
    },
    /// Ask the dispatcher for a pass.
    StartNextJob,
    /// Stop dispatch.
    PauseQueue,
    /// Resume dispatch.
    ResumeQueue,
    /// Set queued jobs' priority.
    SetJobPriority {
        /// The new base priority (0 to 1000; higher goes first).
        priority: i64,
    },
}

/// `action_config` as a client sends it: every action's fields, all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ActionInput {
    /// Notification and task title.
    pub title: Option<String>,
    /// Notification text.
    pub message: Option<String>,
    /// Notification channels.
    pub channel_ids: Option<Vec<String>>,
    /// Email recipients (a list, or one address).
    pub to: Option<Recipients>,
    /// Email subject.
    pub subject: Option<String>,
    /// Email body.
    pub body: Option<String>,
    /// Webhook channel.
    pub channel_id: Option<String>,
    /// Task kind.
    pub task_type: Option<String>,
    /// Task description.
    pub description: Option<String>,
    /// Task priority (low, medium, high) or job priority (a number).
    pub priority: Option<Fact>,
}

/// Recipients as a list or one address.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Recipients {
    /// One address.
    One(String),
    /// Several.
    Many(Vec<String>),
}

fn required(invalid: &mut Invalid, field: &str, value: Option<String>, max: usize) -> String {
    let text = value
        .as_deref()
        .and_then(|v| invalid.text(&format!("action_config.{field}"), v, max));
    if text.is_none() && !invalid.0.iter().any(|e| e.field.ends_with(field)) {
        invalid.add(
            &format!("action_config.{field}"),
            format!("{field} is required"),
        );
    }
    text.unwrap_or_default()
}

/// Checks `action_config` for `action_type`.
pub fn parse_action(action_type: ActionType, input: ActionInput) -> Result<Action, Invalid> {
    let mut invalid = Invalid::default();
    let action = match action_type {
        ActionType::SendNotification => Action::SendNotification {
            title: required(&mut invalid, "title", input.title, 200),
            message: required(&mut invalid, "message", input.message, 4000),
            channel_ids: input.channel_ids.unwrap_or_default(),
        },
        ActionType::SendEmail => {
            let to = match input.to {
                Some(Recipients::One(one)) => vec![one],
                Some(Recipients::Many(many)) => many,
                None => vec![],
            };
            if to.is_empty() || to.len() > 20 {
                invalid.add("action_config.to", "give 1 to 20 recipient addresses");
            }
            let to: Vec<String> = to
                .iter()
                .filter_map(
                    |a| match crate::validation::Email::parse("action_config.to", a) {
                        Ok(email) => Some(email.as_str().to_string()),
                        Err(_) => {
                            invalid
                                .add("action_config.to", format!("'{a}' is not an email address"));
                            None
                        }
                    },
                )
                .collect();
            Action::SendEmail {
                to,
                subject: required(&mut invalid, "subject", input.subject, 200),
                body: required(&mut invalid, "body", input.body, 10_000),
            }
        }
        ActionType::SendWebhook => Action::SendWebhook {
            channel_id: required(&mut invalid, "channel_id", input.channel_id, 64),
        },
        ActionType::CreateTask => {
            let task_type = match input.task_type.as_deref().unwrap_or("maintenance").parse() {
                Ok(t) => t,
                Err(e) => {
                    invalid.add("action_config.task_type", e);
                    TaskType::Maintenance
                }
            };
            let priority = match &input.priority {
                None => TaskPriority::Medium,
                Some(p) => match p.to_string().parse() {
                    Ok(p) => p,
                    Err(e) => {
                        invalid.add("action_config.priority", e);
                        TaskPriority::Medium
                    }
                },
            };
            let description = input
                .description
                .as_deref()
                .and_then(|d| invalid.text("action_config.description", d, 4000));
            Action::CreateTask {
                task_type,
                title: required(&mut invalid, "title", input.title, 200),
                description,
                priority,
            }
        }
        ActionType::StartNextJob => Action::StartNextJob,
        ActionType::PauseQueue => Action::PauseQueue,
        ActionType::ResumeQueue => Action::ResumeQueue,
        ActionType::SetJobPriority => {
            let priority = input
                .priority
                .as_ref()
                .map(|p| p.to_string().parse::<crate::jobs::Priority>());
            match priority {
                Some(Ok(p)) => Action::SetJobPriority {
                    priority: p.value(),
                },
                Some(Err(e)) => {
                    invalid.add("action_config.priority", e.to_string());
                    Action::SetJobPriority { priority: 0 }
                }
                None => {
                    invalid.add("action_config.priority", "priority is required");
                    Action::SetJobPriority { priority: 0 }
                }
            }
        }
        ActionType::UpdateStatus
        | ActionType::AssignPrinter
        | ActionType::UpdateInventory
        | ActionType::CreateOrderItem
        | ActionType::RunScript => {
            return Err(Invalid::field(
                "action_type",
                format!(
                    "{action_type} is not supported by this server: use one of {}",
                    supported_actions().join(", ")
                ),
            ));
        }
    };
    invalid.into_result().map(|()| action)
}

/// The names of the actions rules may use.
pub fn supported_actions() -> Vec<&'static str> {
    ActionType::ALL
        .iter()
        .filter(|a| a.supported())
        .map(|a| a.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn facts(pairs: &[(&str, Fact)]) -> Facts {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn condition(field: &str, op: &str, value: Expected) -> ConditionInput {
        ConditionInput {
            field: field.into(),
            op: Some(op.into()),
            value,
        }
    }

    #[test]
    fn conditions_compare_the_events_facts() {
        let checked = parse_conditions(
            Trigger::PrintFailed,
            vec![
                condition("progress", "gte", Expected::One(Fact::Number(50.0))),
                condition(
                    "printer_model",
                    "in",
                    Expected::Many(vec!["X1C".into(), "P1S".into()]),
                ),
                condition("failure_reason", "contains", Expected::One("clog".into())),
            ],
        )
        .expect("valid");
        let late = facts(&[
            ("progress", Fact::Number(72.0)),
            ("printer_model", "p1s".into()),
            ("failure_reason", "Nozzle CLOG detected".into()),
        ]);
        assert!(conditions_hold(&checked, &late));
        let early = facts(&[
            ("progress", Fact::Number(10.0)),
            ("printer_model", "P1S".into()),
            ("failure_reason", "clog".into()),
        ]);
        assert!(!conditions_hold(&checked, &early));
        // A fact the event lacks never holds.
        assert!(!conditions_hold(
            &checked,
            &facts(&[("progress", Fact::Number(90.0))])
        ));
        assert!(conditions_hold(&[], &Facts::new()));
    }

    #[test]
    fn conditions_name_only_facts_the_trigger_carries() {
        let err = parse_conditions(
            Trigger::LowStock,
            vec![
                condition("progress", "gt", Expected::One(Fact::Number(1.0))),
                condition("stock_level", "gt", Expected::One("many".into())),
                condition("sku", "in", Expected::One("A".into())),
                condition("sku", "like", Expected::One("A".into())),
            ],
        )
        .expect_err("invalid");
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "trigger_conditions[0]",
                "trigger_conditions[1]",
                "trigger_conditions[2]",
                "trigger_conditions[3]"
            ]
        );
        assert!(
            err.0[0].message.contains("stock_level"),
            "{}",
            err.0[0].message
        );
    }

    #[test]
    fn texts_name_facts_in_braces() {
        let f = facts(&[
            ("printer_name", "P1S-04".into()),
            ("progress", Fact::Number(42.0)),
        ]);
        assert_eq!(
            render(
                "{printer_name} failed at {progress}% {unknown} {not a name} {",
                &f
            ),
            "P1S-04 failed at 42% {unknown} {not a name} {"
        );
    }

    #[test]
    fn cooldown_and_hourly_limit_hold_a_rule_back() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        let limits = Limits {
            cooldown_seconds: 300,
            max_per_hour: Some(3),
        };
        assert_eq!(may_run(limits, None, 0, now), Ok(()));
        let recent = now - chrono::Duration::seconds(60);
        assert!(matches!(
            may_run(limits, Some(recent), 1, now),
            Err(Skip::CoolingDown(until)) if until == "2026-12-03T12:04:00.000Z"
        ));
        let old = now - chrono::Duration::seconds(301);
        assert_eq!(may_run(limits, Some(old), 2, now), Ok(()));
        assert_eq!(
            may_run(limits, Some(old), 3, now),
            Err(Skip::HourlyLimit(3))
        );
        let free = Limits {
            cooldown_seconds: 0,
            max_per_hour: None,
        };
        assert_eq!(may_run(free, Some(now), 1000, now), Ok(()));
        assert!(parse_limits(-1, Some(0)).is_err());
        assert_eq!(
            parse_limits(60, None),
            Ok(Limits {
                cooldown_seconds: 60,
                max_per_hour: None
            })
        );
    }

    #[test]
    fn schedules_run_once_for_the_latest_time_missed_in_their_zone() {
        let schedule = Schedule::parse("0 8 * * *", "Europe/Berlin").expect("valid");
        let before = Utc.with_ymd_and_hms(2026, 12, 3, 6, 0, 0).unwrap();
        // 08:00 in Berlin in winter is 07:00 UTC.
        assert_eq!(
            schedule.next_after(before),
            Some(Utc.with_ymd_and_hms(2026, 12, 3, 7, 0, 0).unwrap())
        );
        assert_eq!(
            schedule.due(before, before + chrono::Duration::minutes(30)),
            None
        );
        let three_days = before + chrono::Duration::days(3);
        assert_eq!(
            schedule.due(before, three_days),
            Some(Utc.with_ymd_and_hms(2026, 12, 5, 7, 0, 0).unwrap())
        );
        let err = Schedule::parse("every day", "Mars/Olympus").expect_err("invalid");
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["schedule_cron", "schedule_timezone"]);
        assert!(Schedule::parse("61 * * * *", "UTC").is_err());
    }

    #[test]
    fn actions_check_their_config() {
        let task = parse_action(
            ActionType::CreateTask,
            ActionInput {
                title: Some("Check {printer_name}".into()),
                task_type: Some("quality_check".into()),
                priority: Some("high".into()),
                ..Default::default()
            },
        )
        .expect("valid");
        assert_eq!(
            task,
            Action::CreateTask {
                task_type: TaskType::QualityCheck,
                title: "Check {printer_name}".into(),
                description: None,
                priority: TaskPriority::High,
            }
        );
        let err = parse_action(
            ActionType::SendEmail,
            ActionInput {
                to: Some(Recipients::Many(vec![
                    "ops@farm.test".into(),
                    "nope".into(),
                ])),
                ..Default::default()
            },
        )
        .expect_err("invalid");
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "action_config.to",
                "action_config.subject",
                "action_config.body"
            ]
        );
        let script = parse_action(ActionType::RunScript, ActionInput::default()).expect_err("no");
        assert_eq!(script.0[0].field, "action_type");
        assert!(
            parse_action(
                ActionType::SetJobPriority,
                ActionInput {
                    priority: Some(Fact::Number(1.5)),
                    ..Default::default()
                }
            )
            .is_err()
        );
    }
}
