//! Running rules: an event's worker evaluates each enabled rule of its trigger, and a
//! member may try a rule once by hand.
//!
//! Each rule runs in its own transaction: the rule row is locked, its limits counted, its
//! action done and its run recorded together, so two workers never both pass a limit and
//! an event handled twice runs a rule once (`automation_runs` is unique per rule and
//! event). A rule held back by its cooldown or hourly maximum records a `skipped` run
//! saying why; one whose conditions do not hold records nothing (most events meet most
//! rules' conditions not at all, and the history would drown in them).

use super::FarmEvent;
use crate::app::App;
use crate::notify::{self, Notice};
use crate::workers::WorkError;
use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::TenantId;
use domain::automation::{
    Action, ActionInput, ActionType, Condition, ConditionInput, Facts, Limits, Trigger,
};
use proto::dashboard::ServerMessage;
use serde_json::{Value, json};
use store::automation::{NewRun, Rule, Run};
use store::queue::Message;
use store::{Conn, StoreError};

/// A stored rule, checked again (settings are checked on the way in; a rule stored by an
/// older release that no longer checks fails its runs with the reason).
#[derive(Debug, Clone)]
pub struct CheckedRule {
    /// What makes it run.
    pub trigger: Trigger,
    /// What must hold.
    pub conditions: Vec<Condition>,
    /// What it does.
    pub action: Action,
    /// Printers it is narrowed to (empty: all).
    pub printer_ids: Vec<String>,
    /// Products it is narrowed to (empty: all).
    pub product_ids: Vec<String>,
    /// Its limits.
    pub limits: Limits,
}

/// Conditions as stored or sent: a list of `{field, op, value}`, or an object of
/// `field: value` pairs (each one `eq`), as the original's client sent them.
pub fn conditions_of(trigger: Trigger, value: &Value) -> Result<Vec<Condition>, Invalid> {
    let inputs: Vec<ConditionInput> = match value {
        Value::Null => Vec::new(),
        Value::Array(_) => serde_json::from_value(value.clone()).map_err(|e| {
            Invalid::field(
                "trigger_conditions",
                format!("each condition is {{\"field\", \"op\", \"value\"}}: {e}"),
            )
        })?,
        Value::Object(pairs) => pairs
            .iter()
            .map(|(field, v)| {
                serde_json::from_value(v.clone())
                    .map(|value| ConditionInput {
                        field: field.clone(),
                        op: None,
                        value,
                    })
                    .map_err(|_| {
                        Invalid::field(
                            "trigger_conditions",
                            format!("{field}: a condition's value is a text, number, true/false or a list"),
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(Invalid::field(
                "trigger_conditions",
                "trigger_conditions is a list of conditions or an object",
            ));
        }
    };
    domain::automation::parse_conditions(trigger, inputs)
}

/// An action's config as stored or sent.
pub fn action_of(action_type: ActionType, value: &Value) -> Result<Action, Invalid> {
    let input: ActionInput = match value {
        Value::Null => ActionInput::default(),
        Value::Object(_) => serde_json::from_value(value.clone())
            .map_err(|e| Invalid::field("action_config", format!("action_config: {e}")))?,
        _ => {
            return Err(Invalid::field(
                "action_config",
                "action_config is an object",
            ));
        }
    };
    domain::automation::parse_action(action_type, input)
}

/// Ids stored as a JSON list.
fn id_list(stored: &Option<String>) -> Vec<String> {
    stored
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// A stored rule checked.
pub fn checked(rule: &Rule) -> Result<CheckedRule, Invalid> {
    let trigger: Trigger = rule
        .trigger_type
        .parse()
        .map_err(|e: String| Invalid::field("trigger_type", e))?;
    let action_type: ActionType = rule
        .action_type
        .parse()
        .map_err(|e: String| Invalid::field("action_type", e))?;
    let json = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(Value::Null)
    };
    Ok(CheckedRule {
        trigger,
        conditions: conditions_of(trigger, &json(&rule.trigger_conditions))?,
        action: action_of(action_type, &json(&rule.action_config))?,
        printer_ids: id_list(&rule.printer_ids),
        product_ids: id_list(&rule.product_ids),
        limits: Limits {
            cooldown_seconds: rule.cooldown_seconds,
            max_per_hour: rule.max_triggers_per_hour,
        },
    })
}

/// Whether the event is one the rule acts on: its printers, products and conditions.
pub fn applies(rule: &CheckedRule, facts: &Facts) -> bool {
    let within = |ids: &[String], fact: &str| {
        ids.is_empty()
            || facts
                .get(fact)
                .is_some_and(|v| ids.iter().any(|id| *id == v.to_string()))
    };
    (!rule.trigger.concerns_printer() || within(&rule.printer_ids, "printer_id"))
        && (!rule.trigger.concerns_product() || within(&rule.product_ids, "product_id"))
        && domain::automation::conditions_hold(&rule.conditions, facts)
}

/// What a run left to do once its transaction commits.
#[derive(Debug, Default)]
struct After {
    messages: Vec<ServerMessage>,
    dispatch: bool,
    queued: bool,
}

/// Handles one claimed event: its channels, then each rule of its trigger.
pub async fn handle(app: &App, message: &Message, worker: &str) -> Result<(), WorkError> {
    let event: FarmEvent = serde_json::from_str(&message.payload)
        .map_err(|e| WorkError::BadMessage(format!("not a farm event: {e}")))?;
    let tenant = TenantId::parse(&event.tenant_id)
        .ok_or_else(|| WorkError::BadMessage(format!("bad tenant id '{}'", event.tenant_id)))?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let channels_key = format!("{}:channels", event.event_id);
    let mut queued = 0;
    if store::handled::mark(
        &mut tx,
        &channels_key,
        super::AUTOMATION,
        Some(&tenant),
        &now,
    )
    .await?
    {
        queued = notify::event_in(app, &mut tx, &tenant, &event, &now).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    if queued > 0 {
        app.background.work_queued();
    }
    let rules = {
        let mut conn = app.store.conn().await?;
        store::automation::enabled_for(&mut conn, &tenant, event.trigger.as_str()).await?
    };
    for rule in rules
        .iter()
        .filter(|r| event.rule_id.as_ref().is_none_or(|only| *only == r.id))
    {
        run(app, &tenant, &rule.id, &event, false).await?;
    }
    let mut tx = app.store.begin().await?;
    if !app.queue.complete(&mut tx, message, worker, &now).await? {
        tracing::warn!(message_id = %message.id, "claim lost before the farm event was done");
        return Ok(());
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Runs a rule for an event (`by_hand`: tried by a member, which skips its conditions and
/// limits and does not count against them). `None` when it did not run and there is
/// nothing to record: it is gone or switched off, it ran for the event already, or its
/// conditions do not hold.
pub async fn run(
    app: &App,
    tenant: &TenantId,
    rule_id: &str,
    event: &FarmEvent,
    by_hand: bool,
) -> Result<Option<Run>, WorkError> {
    let now_at = Utc::now();
    let now = domain::time::format(now_at);
    let mut tx = app.store.begin().await?;
    let rule = match store::automation::lock(&mut tx, tenant, rule_id).await {
        Ok(rule) => rule,
        Err(StoreError::NotFound) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    if !by_hand
        && (rule.is_enabled == 0
            || store::automation::ran_for(&mut tx, tenant, rule_id, &event.event_id).await?)
    {
        return Ok(None);
    }
    let record = Record {
        tenant,
        rule_id,
        trigger: &rule.trigger_type,
        event,
        by_hand,
        now: &now,
    };
    let checked = match checked(&rule) {
        Ok(checked) => checked,
        Err(invalid) => {
            let detail = format!("the rule's settings no longer hold: {invalid}");
            let run = record.write(&mut tx, "failed", &detail).await?;
            tx.commit().await.map_err(StoreError::from)?;
            return Ok(run);
        }
    };
    if !by_hand {
        if !applies(&checked, &event.facts) {
            return Ok(None);
        }
        let last = rule
            .last_triggered_at
            .as_deref()
            .and_then(domain::time::parse);
        let hour_ago = domain::time::format(now_at - chrono::Duration::hours(1));
        let runs =
            store::automation::counted_runs_since(&mut tx, tenant, rule_id, &hour_ago).await?;
        if let Err(skip) = domain::automation::may_run(checked.limits, last, runs, now_at) {
            let run = record.write(&mut tx, "skipped", &skip.to_string()).await?;
            tx.commit().await.map_err(StoreError::from)?;
            tracing::info!(tenant_id = %tenant, rule_id, reason = %skip, "automation rule held back");
            return Ok(run);
        }
    }
    let mut after = After::default();
    let (outcome, detail) = match perform(
        app, &mut tx, tenant, &rule, &checked, event, &now, &mut after,
    )
    .await
    {
        Ok(detail) => ("succeeded", detail),
        Err(ActionError::Refused(why)) => ("failed", why),
        Err(ActionError::Store(e)) => return Err(e.into()),
    };
    let run = record.write(&mut tx, outcome, &detail).await?;
    if run.is_none() {
        // Another worker ran the rule for this event meanwhile: ours is undone.
        return Ok(None);
    }
    if !by_hand {
        store::automation::ran(&mut tx, tenant, rule_id, &now).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(tenant_id = %tenant, rule_id, trigger = %checked.trigger, outcome, detail, by_hand, "automation rule ran");
    for message in after.messages {
        app.realtime.publish(tenant, message);
    }
    if after.dispatch {
        app.farm.wake_dispatcher(tenant);
    }
    if after.queued {
        app.background.work_queued();
    }
    Ok(run)
}

/// What a run's record says besides its outcome.
struct Record<'a> {
    tenant: &'a TenantId,
    rule_id: &'a str,
    trigger: &'a str,
    event: &'a FarmEvent,
    by_hand: bool,
    now: &'a str,
}

impl Record<'_> {
    /// Writes the run; `None` when the rule already has one for the event.
    async fn write(
        &self,
        tx: &mut Conn,
        outcome: &str,
        detail: &str,
    ) -> Result<Option<Run>, StoreError> {
        let facts = serde_json::to_string(&self.event.facts).unwrap_or_else(|_| "{}".into());
        store::automation::record_run(
            tx,
            self.tenant,
            &NewRun {
                rule_id: self.rule_id,
                trigger_type: self.trigger,
                event_id: &self.event.event_id,
                facts: &facts,
                outcome,
                detail: Some(detail),
                by_hand: self.by_hand,
            },
            self.now,
        )
        .await
    }
}

/// Why an action did not do its work.
#[derive(Debug)]
enum ActionError {
    /// It cannot, as set up (a channel gone, nothing to act on): the run failed.
    Refused(String),
    /// The database failed: the event is retried.
    Store(StoreError),
}

impl From<StoreError> for ActionError {
    fn from(e: StoreError) -> Self {
        ActionError::Store(e)
    }
}

/// Does a rule's action inside the run's transaction; says what it did.
#[allow(clippy::too_many_arguments)]
async fn perform(
    app: &App,
    tx: &mut Conn,
    tenant: &TenantId,
    rule: &Rule,
    checked: &CheckedRule,
    event: &FarmEvent,
    now: &str,
    after: &mut After,
) -> Result<String, ActionError> {
    let facts = &event.facts;
    let render = |text: &str| domain::automation::render(text, facts);
    match &checked.action {
        Action::CreateTask {
            task_type,
            title,
            description,
            priority,
        } => {
            let title = render(title);
            let description = description.as_deref().map(render);
            let printer = facts.get("printer_id").map(|p| p.to_string());
            let metadata = json!({ "rule_id": rule.id, "event_id": event.event_id });
            let task = store::worklist::create(
                tx,
                tenant,
                &store::worklist::NewTask {
                    task_type: task_type.as_str(),
                    title: &title,
                    description: description.as_deref(),
                    priority: priority.as_str(),
                    printer_id: printer.as_deref(),
                    metadata: Some(&metadata),
                    ..Default::default()
                },
                now,
            )
            .await?;
            after.messages.push(crate::farm::tasks::task_message(&task));
            Ok(format!("created task {}: {title}", task.id))
        }
        Action::SendNotification {
            title,
            message,
            channel_ids,
        } => {
            let channels = store::notifications::channels(tx, tenant).await?;
            let chosen: Vec<_> = if channel_ids.is_empty() {
                channels
                    .iter()
                    .filter(|c| notify::takes(c, notify::AUTOMATION_MESSAGES))
                    .collect()
            } else {
                channels
                    .iter()
                    .filter(|c| c.is_enabled == 1 && channel_ids.contains(&c.id))
                    .collect()
            };
            if chosen.is_empty() {
                return Err(ActionError::Refused(
                    "no enabled notification channel takes this rule's messages".into(),
                ));
            }
            let notice = Notice {
                event: notify::AUTOMATION_MESSAGES,
                subject: render(title),
                text: render(message),
                facts,
                rule_id: Some(&rule.id),
            };
            for channel in &chosen {
                notify::to_channel_in(app, tx, tenant, channel, &notice, now).await?;
            }
            after.queued = true;
            Ok(format!("queued {} notification(s)", chosen.len()))
        }
        Action::SendEmail { to, subject, body } => {
            let notice = Notice {
                event: checked.trigger.as_str(),
                subject: render(subject),
                text: render(body),
                facts,
                rule_id: Some(&rule.id),
            };
            let id = notify::email_in(app, tx, tenant, to, &notice, now).await?;
            after.queued = true;
            Ok(format!("queued email {id} to {}", to.join(", ")))
        }
        Action::SendWebhook { channel_id } => {
            let channel = match store::notifications::channel(tx, tenant, channel_id).await {
                Ok(c) if c.kind == "webhook" && c.is_enabled == 1 => c,
                Ok(_) => {
                    return Err(ActionError::Refused(format!(
                        "channel {channel_id} is not an enabled webhook channel"
                    )));
                }
                Err(StoreError::NotFound) => {
                    return Err(ActionError::Refused(format!(
                        "channel {channel_id} no longer exists"
                    )));
                }
                Err(other) => return Err(other.into()),
            };
            let notice = Notice {
                event: checked.trigger.as_str(),
                subject: format!(
                    "{}: {}",
                    rule.name,
                    notify::event_subject(checked.trigger, facts)
                ),
                text: notify::event_text(facts),
                facts,
                rule_id: Some(&rule.id),
            };
            let id = notify::to_channel_in(app, tx, tenant, &channel, &notice, now).await?;
            after.queued = true;
            Ok(format!("queued webhook {id} to {}", channel.target))
        }
        Action::StartNextJob => {
            after.dispatch = true;
            Ok("asked the dispatcher for a pass".into())
        }
        Action::PauseQueue | Action::ResumeQueue => {
            let on = matches!(checked.action, Action::ResumeQueue);
            let change = store::tenants::FarmChange {
                auto_dispatch: Some(on),
                ..Default::default()
            };
            store::tenants::update(tx, tenant, change, now).await?;
            let audit = crate::audit::Change {
                action: "tenant.auto_dispatch",
                table: "tenants",
                record: tenant.as_str(),
                new: Some(json!({ "auto_dispatch": on, "rule_id": rule.id })),
                ..Default::default()
            };
            crate::audit::record_by(tx, tenant, None, audit, now).await?;
            after.dispatch |= on;
            Ok(if on {
                "dispatch resumed"
            } else {
                "dispatch paused"
            }
            .into())
        }
        Action::SetJobPriority { priority } => {
            let jobs = if let Some(order) = facts.get("order_id") {
                store::jobs::set_queued_priority_of_order(
                    tx,
                    tenant,
                    &order.to_string(),
                    *priority,
                    now,
                )
                .await?
            } else if !checked.product_ids.is_empty() {
                let mut n = 0;
                for product in &checked.product_ids {
                    n += store::jobs::set_queued_priority_of_product(
                        tx, tenant, product, *priority, now,
                    )
                    .await?;
                }
                n
            } else if let Some(job) = facts.get("job_id") {
                store::jobs::set_queued_priority_of_job(
                    tx,
                    tenant,
                    &job.to_string(),
                    *priority,
                    now,
                )
                .await?
            } else {
                return Err(ActionError::Refused(
                    "the event names no order or job, and the rule no products".into(),
                ));
            };
            after.dispatch |= jobs > 0;
            Ok(format!("set priority {priority} on {jobs} queued job(s)"))
        }
    }
}

/// When a schedule rule would next run after `after` (for its view).
pub fn next_scheduled(rule: &Rule, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let schedule = domain::automation::Schedule::parse(
        rule.schedule_cron.as_deref()?,
        rule.schedule_timezone.as_deref().unwrap_or("UTC"),
    )
    .ok()?;
    schedule.next_after(after)
}
