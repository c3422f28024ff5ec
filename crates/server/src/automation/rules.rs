//! `/api/v1/automation`: a farm's rules, what they may be made of, their run history, and
//! trying one by hand. Admins make and change rules; every member may read them.

use super::FarmEvent;
use super::engine::{self, checked};
use crate::app::App;
use crate::audit::Change;
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo, OptionalJson, body_flag, query_flag};
use axum::extract::State;
use domain::automation::{Action, ActionType, Facts, Schedule, Trigger};
use domain::{Invalid, TenantId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::automation::{Rule, RuleFields, RuleQuery, Run};

/// A rule as sent: JSON fields parsed, flags as booleans, the schedule's next time.
#[derive(Debug, Serialize)]
pub struct RuleView {
    id: String,
    tenant_id: String,
    name: String,
    description: Option<String>,
    trigger_type: String,
    trigger_conditions: Value,
    action_type: String,
    action_config: Value,
    printer_ids: Vec<String>,
    product_ids: Vec<String>,
    schedule_cron: Option<String>,
    schedule_timezone: Option<String>,
    is_enabled: bool,
    last_triggered_at: Option<String>,
    trigger_count: i64,
    cooldown_seconds: i64,
    max_triggers_per_hour: Option<i64>,
    next_run_at: Option<String>,
    created_at: String,
    updated_at: String,
}

fn json_of(stored: &Option<String>) -> Value {
    stored
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

/// The view of a stored rule.
pub fn view(rule: &Rule) -> RuleView {
    let ids = |s: &Option<String>| serde_json::from_value(json_of(s)).unwrap_or_default();
    let next = (rule.is_enabled == 1 && rule.trigger_type == Trigger::Schedule.as_str())
        .then(|| engine::next_scheduled(rule, chrono::Utc::now()))
        .flatten()
        .map(domain::time::format);
    RuleView {
        id: rule.id.clone(),
        tenant_id: rule.tenant_id.clone(),
        name: rule.name.clone(),
        description: rule.description.clone(),
        trigger_type: rule.trigger_type.clone(),
        trigger_conditions: match json_of(&rule.trigger_conditions) {
            Value::Null => json!([]),
            other => other,
        },
        action_type: rule.action_type.clone(),
        action_config: match json_of(&rule.action_config) {
            Value::Null => json!({}),
            other => other,
        },
        printer_ids: ids(&rule.printer_ids),
        product_ids: ids(&rule.product_ids),
        schedule_cron: rule.schedule_cron.clone(),
        schedule_timezone: rule.schedule_timezone.clone(),
        is_enabled: rule.is_enabled == 1,
        last_triggered_at: rule.last_triggered_at.clone(),
        trigger_count: rule.trigger_count,
        cooldown_seconds: rule.cooldown_seconds,
        max_triggers_per_hour: rule.max_triggers_per_hour,
        next_run_at: next,
        created_at: rule.created_at.clone(),
        updated_at: rule.updated_at.clone(),
    }
}

/// A run as sent: its facts parsed.
#[derive(Debug, Serialize)]
pub struct RunView {
    id: String,
    rule_id: String,
    trigger_type: String,
    event_id: String,
    facts: Value,
    outcome: String,
    detail: Option<String>,
    by_hand: bool,
    created_at: String,
}

/// The view of a stored run.
pub fn run_view(run: &Run) -> RunView {
    RunView {
        id: run.id.clone(),
        rule_id: run.rule_id.clone(),
        trigger_type: run.trigger_type.clone(),
        event_id: run.event_id.clone(),
        facts: serde_json::from_str(&run.facts).unwrap_or(Value::Null),
        outcome: run.outcome.clone(),
        detail: run.detail.clone(),
        by_hand: run.by_hand == 1,
        created_at: run.created_at.clone(),
    }
}

/// GET /api/v1/automation/trigger-types — what may make a rule run, with the facts each
/// carries.
pub async fn trigger_types(_member: Member<roles::Viewer>) -> ApiResult<Vec<Value>> {
    Ok(Envelope::all(
        Trigger::ALL
            .iter()
            .map(|t| {
                json!({
                    "type": t.as_str(),
                    "value": t.as_str(),
                    "description": t.description(),
                    "fields": t.facts(),
                })
            })
            .collect(),
    ))
}

/// GET /api/v1/automation/action-types — what a rule may do, and whether this server runs it.
pub async fn action_types(_member: Member<roles::Viewer>) -> ApiResult<Vec<Value>> {
    Ok(Envelope::all(
        ActionType::ALL
            .iter()
            .map(|a| {
                json!({
                    "type": a.as_str(),
                    "value": a.as_str(),
                    "description": a.description(),
                    "supported": a.supported(),
                })
            })
            .collect(),
    ))
}

/// Filters and page of the rule list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    trigger_type: Option<String>,
    action_type: Option<String>,
    is_enabled: Option<String>,
    page: Option<i64>,
    limit: Option<i64>,
}

/// GET /api/v1/automation — the farm's rules, newest first (filters: trigger_type,
/// action_type, is_enabled; paged).
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<RuleView>> {
    let mut invalid = Invalid::default();
    let trigger = q.trigger_type.as_deref().filter(|t| !t.is_empty());
    if let Some(Err(e)) = trigger.map(str::parse::<Trigger>) {
        invalid.add("trigger_type", e);
    }
    let action = q.action_type.as_deref().filter(|t| !t.is_empty());
    if let Some(Err(e)) = action.map(str::parse::<ActionType>) {
        invalid.add("action_type", e);
    }
    let enabled = invalid.take(query_flag("is_enabled", q.is_enabled.as_deref()));
    invalid.into_result().map_err(ApiError::Validation)?;
    let query = RuleQuery {
        trigger_type: trigger.map(str::to_string),
        action_type: action.map(str::to_string),
        is_enabled: enabled.flatten(),
    };
    let paging = Paging {
        page: q.page.unwrap_or(1),
        limit: q.limit.unwrap_or(50),
    };
    let mut conn = app.store.conn().await?;
    let (rules, total) = store::automation::list(
        &mut conn,
        &member.tenant,
        &query,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Envelope::list(
        rules.iter().map(view).collect(),
        paging.meta(total),
    ))
}

async fn find(app: &App, tenant: &TenantId, id: &str) -> Result<Rule, ApiError> {
    let mut conn = app.store.conn().await?;
    store::automation::get(&mut conn, tenant, id)
        .await
        .or_not_found("RULE_NOT_FOUND", "automation rule")
}

/// GET /api/v1/automation/{rule_id} — one rule.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<RuleView> {
    Ok(Envelope::ok(view(&find(&app, &member.tenant, &id).await?)))
}

/// A rule as a client sends it (a change names only what changes).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RuleBody {
    name: Option<String>,
    #[serde(deserialize_with = "crate::extract::given")]
    description: Option<Option<String>>,
    trigger_type: Option<String>,
    trigger_conditions: Option<Value>,
    action_type: Option<String>,
    action_config: Option<Value>,
    printer_ids: Option<Vec<String>>,
    product_ids: Option<Vec<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    schedule_cron: Option<Option<String>>,
    schedule_timezone: Option<String>,
    is_enabled: Option<Value>,
    cooldown_seconds: Option<i64>,
    #[serde(deserialize_with = "crate::extract::given")]
    max_triggers_per_hour: Option<Option<i64>>,
}

/// The fields a body gives over `base` (defaults, or the stored rule), checked as a whole:
/// a change of trigger checks the stored conditions against the new trigger's facts.
async fn fields_of(
    app: &App,
    tenant: &TenantId,
    body: &RuleBody,
    base: RuleFields,
) -> Result<RuleFields, ApiError> {
    let mut invalid = Invalid::default();
    let mut fields = base;
    if let Some(name) = &body.name {
        fields.name = invalid.text("name", name, 100).unwrap_or_default();
    }
    if fields.name.is_empty() && !invalid.0.iter().any(|e| e.field == "name") {
        invalid.add("name", "name is required");
    }
    if let Some(description) = &body.description {
        fields.description = description
            .as_deref()
            .and_then(|d| invalid.text("description", d, 2000));
    }
    if let Some(t) = &body.trigger_type {
        fields.trigger_type = t.trim().to_ascii_lowercase();
    }
    if let Some(a) = &body.action_type {
        fields.action_type = a.trim().to_ascii_lowercase();
    }
    let trigger = match fields.trigger_type.parse::<Trigger>() {
        Ok(t) => Some(t),
        Err(e) => {
            invalid.add(
                "trigger_type",
                if fields.trigger_type.is_empty() {
                    "trigger_type is required".into()
                } else {
                    e
                },
            );
            None
        }
    };
    let action_type = match fields.action_type.parse::<ActionType>() {
        Ok(a) => Some(a),
        Err(e) => {
            invalid.add(
                "action_type",
                if fields.action_type.is_empty() {
                    "action_type is required".into()
                } else {
                    e
                },
            );
            None
        }
    };
    if let Some(conditions) = &body.trigger_conditions {
        fields.trigger_conditions = Some(conditions.to_string());
    }
    if let Some(config) = &body.action_config {
        fields.action_config = Some(config.to_string());
    }
    let mut action = None;
    if let Some(trigger) = trigger {
        let stored = json_of(&fields.trigger_conditions);
        match engine::conditions_of(trigger, &stored) {
            Ok(conditions) => fields.trigger_conditions = Some(json!(conditions).to_string()),
            Err(e) => invalid.0.extend(e.0),
        }
    }
    if let Some(action_type) = action_type {
        match engine::action_of(action_type, &json_of(&fields.action_config)) {
            Ok(a) => action = Some(a),
            Err(e) => invalid.0.extend(e.0),
        }
    }
    if let Some(cron) = &body.schedule_cron {
        fields.schedule_cron = cron
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
    }
    if let Some(zone) = &body.schedule_timezone {
        fields.schedule_timezone = Some(zone.trim().to_string());
    }
    if trigger == Some(Trigger::Schedule) {
        match &fields.schedule_cron {
            None => invalid.add(
                "schedule_cron",
                "a schedule rule needs schedule_cron (like \"0 8 * * 1-5\")",
            ),
            Some(cron) => {
                let zone = fields.schedule_timezone.as_deref().unwrap_or("UTC");
                if let Err(e) = Schedule::parse(cron, zone) {
                    invalid.0.extend(e.0);
                }
            }
        }
    }
    if let Some(flag) = body_flag(&mut invalid, "is_enabled", body.is_enabled.as_ref()) {
        fields.is_enabled = i64::from(flag);
    }
    if let Some(c) = body.cooldown_seconds {
        fields.cooldown_seconds = c;
    }
    if let Some(m) = body.max_triggers_per_hour {
        fields.max_triggers_per_hour = m;
    }
    if let Err(e) =
        domain::automation::parse_limits(fields.cooldown_seconds, fields.max_triggers_per_hour)
    {
        invalid.0.extend(e.0);
    }
    if let Some(ids) = &body.printer_ids {
        fields.printer_ids = (!ids.is_empty()).then(|| json!(ids).to_string());
    }
    if let Some(ids) = &body.product_ids {
        fields.product_ids = (!ids.is_empty()).then(|| json!(ids).to_string());
    }
    invalid.into_result().map_err(ApiError::Validation)?;
    // What the rule names must be the farm's own.
    let mut conn = app.store.conn().await?;
    let ids = |s: &Option<String>| -> Vec<String> {
        serde_json::from_value(json_of(s)).unwrap_or_default()
    };
    for printer in ids(&fields.printer_ids) {
        let known = match store::printers::PrinterKey::parse(&printer) {
            Some(key) => store::printers::get(&mut conn, tenant, &key)
                .await
                .map(|_| ()),
            None => Err(store::StoreError::NotFound),
        };
        exists(
            known,
            "printer_ids",
            &format!("no printer '{printer}' in this farm"),
        )?;
    }
    for product in ids(&fields.product_ids) {
        let known = store::products::get(&mut conn, tenant, &product)
            .await
            .map(|_| ());
        exists(
            known,
            "product_ids",
            &format!("no product '{product}' in this farm"),
        )?;
    }
    match &action {
        Some(Action::SendWebhook { channel_id }) => {
            let channel = store::notifications::channel(&mut conn, tenant, channel_id).await;
            match channel {
                Ok(c) if c.kind == "webhook" => {}
                Ok(_) => {
                    return Err(ApiError::field(
                        "action_config.channel_id",
                        "the channel is not a webhook channel",
                    ));
                }
                Err(e) => exists(
                    Err(e),
                    "action_config.channel_id",
                    "no such notification channel in this farm",
                )?,
            }
        }
        Some(Action::SendNotification { channel_ids, .. }) => {
            for id in channel_ids {
                let known = store::notifications::channel(&mut conn, tenant, id)
                    .await
                    .map(|_| ());
                exists(
                    known,
                    "action_config.channel_ids",
                    &format!("no notification channel '{id}' in this farm"),
                )?;
            }
        }
        _ => {}
    }
    Ok(fields)
}

/// A lookup's NotFound as a field error; other failures as they are.
fn exists(
    found: Result<(), store::StoreError>,
    field: &str,
    message: &str,
) -> Result<(), ApiError> {
    match found {
        Ok(()) => Ok(()),
        Err(store::StoreError::NotFound) => Err(ApiError::field(field, message)),
        Err(other) => Err(other.into()),
    }
}

/// POST /api/v1/automation — adds a rule (admins).
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiJson(body): ApiJson<RuleBody>,
) -> ApiResult<RuleView> {
    let base = RuleFields {
        is_enabled: 1,
        schedule_timezone: Some("UTC".into()),
        ..RuleFields::default()
    };
    let fields = fields_of(&app, &member.tenant, &body, base).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let rule = store::automation::create(&mut tx, &member.tenant, &fields, &now).await?;
    let change = Change {
        action: "automation.created",
        table: "automation_rules",
        record: &rule.id,
        new: Some(
            json!({ "name": rule.name, "trigger_type": rule.trigger_type, "action_type": rule.action_type }),
        ),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::created(view(&rule)))
}

/// PUT /api/v1/automation/{rule_id} — changes a rule (admins).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RuleBody>,
) -> ApiResult<RuleView> {
    let stored = find(&app, &member.tenant, &id).await?;
    let fields = fields_of(&app, &member.tenant, &body, RuleFields::from(&stored)).await?;
    save(
        &app,
        &member,
        &client,
        &stored,
        &fields,
        "automation.updated",
    )
    .await
}

/// Writes a rule's new settings with their audit.
async fn save(
    app: &App,
    member: &Member<roles::Admin>,
    client: &ClientInfo,
    stored: &Rule,
    fields: &RuleFields,
    action: &str,
) -> ApiResult<RuleView> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let rule = store::automation::update(&mut tx, &member.tenant, &stored.id, fields, &now)
        .await
        .or_not_found("RULE_NOT_FOUND", "automation rule")?;
    let change = Change {
        action,
        table: "automation_rules",
        record: &rule.id,
        old: Some(json!(view(stored))),
        new: Some(json!(view(&rule))),
    };
    member.audit(&mut tx, client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(view(&rule)))
}

/// `{is_enabled}` of a toggle; without it, the rule flips.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ToggleBody {
    is_enabled: Option<Value>,
}

/// PUT /api/v1/automation/{rule_id}/toggle — switches a rule on or off (admins).
pub async fn toggle(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<ToggleBody>,
) -> ApiResult<RuleView> {
    let stored = find(&app, &member.tenant, &id).await?;
    let mut invalid = Invalid::default();
    let asked = body_flag(&mut invalid, "is_enabled", body.is_enabled.as_ref());
    invalid.into_result().map_err(ApiError::Validation)?;
    let mut fields = RuleFields::from(&stored);
    fields.is_enabled = i64::from(asked.unwrap_or(stored.is_enabled == 0));
    save(
        &app,
        &member,
        &client,
        &stored,
        &fields,
        "automation.toggled",
    )
    .await
}

/// DELETE /api/v1/automation/{rule_id} — removes a rule and its history (admins).
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    store::automation::delete(&mut tx, &member.tenant, &id)
        .await
        .or_not_found("RULE_NOT_FOUND", "automation rule")?;
    let change = Change {
        action: "automation.deleted",
        table: "automation_rules",
        record: &id,
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(json!({ "deleted": id })))
}

/// Page of a rule's runs.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunsQuery {
    page: Option<i64>,
    limit: Option<i64>,
}

/// GET /api/v1/automation/{rule_id}/runs — the rule's runs, newest first (paged).
pub async fn runs(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RunsQuery>,
) -> ApiResult<Vec<RunView>> {
    find(&app, &member.tenant, &id).await?;
    let paging = Paging {
        page: q.page.unwrap_or(1),
        limit: q.limit.unwrap_or(50),
    };
    let mut conn = app.store.conn().await?;
    let (runs, total) = store::automation::runs(
        &mut conn,
        &member.tenant,
        &id,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Envelope::list(
        runs.iter().map(run_view).collect(),
        paging.meta(total),
    ))
}

/// `{facts}` to try a rule with (an example event).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TryBody {
    facts: Option<Facts>,
}

/// POST /api/v1/automation/{rule_id}/test — runs the rule's action once now, by hand, with
/// the facts given (its conditions and limits are not applied, and the run does not count
/// against them); the answer is the run, and whether the conditions would have held.
pub async fn try_once(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<TryBody>,
) -> ApiResult<Value> {
    let rule = find(&app, &member.tenant, &id).await?;
    let checked = checked(&rule).map_err(ApiError::Validation)?;
    let facts = body.facts.unwrap_or_default();
    let key = format!("by-hand:{}", store::new_id());
    let now = store::now_text();
    let event = FarmEvent::new(&member.tenant, checked.trigger, &key, facts, &now);
    let would_hold = engine::applies(&checked, &event.facts);
    let run = engine::run(&app, &member.tenant, &id, &event, true)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("trying the rule: {e}")))?
        .ok_or_else(|| ApiError::not_found("RULE_NOT_FOUND", "automation rule"))?;
    let run = run_view(&run);
    let mut conn = app.store.conn().await?;
    let change = Change {
        action: "automation.tried",
        table: "automation_rules",
        record: &id,
        new: Some(json!({ "run": run })),
        ..Change::default()
    };
    member.audit(&mut conn, &client, change, &now).await?;
    Ok(Envelope::ok(
        json!({ "run": run, "conditions_hold": would_hold }),
    ))
}

/// The routes of `/api/v1/automation`.
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::{PAGING, Param};
    use axum::http::Method as M;
    use domain::Role;
    const TRIGGERS: &[&str] = &[
        "print_completed",
        "print_failed",
        "print_started",
        "printer_offline",
        "printer_online",
        "printer_error",
        "low_stock",
        "order_received",
        "order_fulfilled",
        "assembly_completed",
        "task_completed",
        "hub_offline",
        "hub_online",
        "schedule",
    ];
    crate::api::Routes::new()
        .add(M::GET, "/api/v1/automation", Member(Role::Viewer), "The farm's automation rules, newest first (filters: trigger_type, action_type, is_enabled; paged)", list)
        .query(PAGING)
        .query(&[("trigger_type", Param::OneOf(TRIGGERS)), ("action_type", Param::Text), ("is_enabled", Param::Flag)])
        .add(M::POST, "/api/v1/automation", Member(Role::Admin), "Add a rule: a trigger, conditions on its facts, an action, a cooldown and a maximum per hour", create)
        .example(json!({"name": "Late failures need a look", "trigger_type": "print_failed", "trigger_conditions": [{"field": "progress", "op": "gte", "value": 50}], "action_type": "create_task", "action_config": {"task_type": "quality_check", "title": "Check {printer_name}: failed at {progress}%", "priority": "high"}, "cooldown_seconds": 600, "max_triggers_per_hour": 4}))
        .add(M::GET, "/api/v1/automation/trigger-types", Member(Role::Viewer), "What may make a rule run, with the facts each carries", trigger_types)
        .add(M::GET, "/api/v1/automation/action-types", Member(Role::Viewer), "What a rule may do", action_types)
        .add(M::GET, "/api/v1/automation/{rule_id}", Member(Role::Viewer), "One rule", get_one)
        .add(M::PUT, "/api/v1/automation/{rule_id}", Member(Role::Admin), "Change a rule (fields left out stay)", update)
        .example(json!({"cooldown_seconds": 300}))
        .add(M::PUT, "/api/v1/automation/{rule_id}/toggle", Member(Role::Admin), "Switch a rule on or off (is_enabled; without it, the rule flips)", toggle)
        .example(json!({"is_enabled": false}))
        .add(M::DELETE, "/api/v1/automation/{rule_id}", Member(Role::Admin), "Remove a rule and its history", delete)
        .add(M::GET, "/api/v1/automation/{rule_id}/runs", Member(Role::Viewer), "The rule's runs, newest first, with their outcome (paged)", runs)
        .query(PAGING)
        .add(M::POST, "/api/v1/automation/{rule_id}/test", Member(Role::Admin), "Run the rule's action once now with example facts (conditions and limits not applied; recorded as by hand)", try_once)
        .example(json!({"facts": {"printer_name": "P1S-04", "progress": 72}}))
}
