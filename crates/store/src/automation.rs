//! Automation rules of a farm and their run history. Every function takes the farm first.
//! JSON columns (conditions, action config, printer and product ids) are stored as the
//! server checked them; a webhook secret is never in them (webhooks go through channels).

use crate::{Conn, StoreResult};
use domain::TenantId;
use serde::Serialize;

/// A rule row as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Rule {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: Option<String>,
    pub trigger_type: String,
    pub trigger_conditions: Option<String>,
    pub action_type: String,
    pub action_config: Option<String>,
    pub printer_ids: Option<String>,
    pub product_ids: Option<String>,
    pub schedule_cron: Option<String>,
    pub schedule_timezone: Option<String>,
    pub is_enabled: i64,
    pub last_triggered_at: Option<String>,
    pub trigger_count: i64,
    pub cooldown_seconds: i64,
    pub max_triggers_per_hour: Option<i64>,
    pub last_scheduled_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, tenant_id, name, description, trigger_type, trigger_conditions,
    action_type, action_config, printer_ids, product_ids, schedule_cron, schedule_timezone,
    is_enabled, last_triggered_at, trigger_count, cooldown_seconds, max_triggers_per_hour,
    last_scheduled_at, created_at, updated_at";

/// Every setting of a rule a client chooses, complete (the server merges a change with the
/// stored row).
#[derive(Debug, Clone, Default)]
pub struct RuleFields {
    pub name: String,
    pub description: Option<String>,
    pub trigger_type: String,
    pub trigger_conditions: Option<String>,
    pub action_type: String,
    pub action_config: Option<String>,
    pub printer_ids: Option<String>,
    pub product_ids: Option<String>,
    pub schedule_cron: Option<String>,
    pub schedule_timezone: Option<String>,
    pub is_enabled: i64,
    pub cooldown_seconds: i64,
    pub max_triggers_per_hour: Option<i64>,
}

impl From<&Rule> for RuleFields {
    fn from(r: &Rule) -> Self {
        RuleFields {
            name: r.name.clone(),
            description: r.description.clone(),
            trigger_type: r.trigger_type.clone(),
            trigger_conditions: r.trigger_conditions.clone(),
            action_type: r.action_type.clone(),
            action_config: r.action_config.clone(),
            printer_ids: r.printer_ids.clone(),
            product_ids: r.product_ids.clone(),
            schedule_cron: r.schedule_cron.clone(),
            schedule_timezone: r.schedule_timezone.clone(),
            is_enabled: r.is_enabled,
            cooldown_seconds: r.cooldown_seconds,
            max_triggers_per_hour: r.max_triggers_per_hour,
        }
    }
}

/// Filters of a rule list.
#[derive(Debug, Clone, Default)]
pub struct RuleQuery {
    pub trigger_type: Option<String>,
    pub action_type: Option<String>,
    pub is_enabled: Option<i64>,
}

/// The farm's rules matching `query`, newest first, one page, and how many match.
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    query: &RuleQuery,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Rule>, i64)> {
    const FILTER: &str = "tenant_id = $1 AND ($2 IS NULL OR trigger_type = $2)
        AND ($3 IS NULL OR action_type = $3) AND ($4 IS NULL OR is_enabled = $4)";
    let sql = format!(
        "SELECT {COLUMNS} FROM automation_rules WHERE {FILTER}
         ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6"
    );
    let rules = sqlx::query_as::<_, Rule>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(query.trigger_type.as_deref())
        .bind(query.action_type.as_deref())
        .bind(query.is_enabled)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let count_sql = format!("SELECT COUNT(*) FROM automation_rules WHERE {FILTER}");
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count_sql))
        .bind(tenant.as_str())
        .bind(query.trigger_type.as_deref())
        .bind(query.action_type.as_deref())
        .bind(query.is_enabled)
        .fetch_one(&mut *conn)
        .await?;
    Ok((rules, total))
}

/// One rule of the farm.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Rule> {
    let sql = format!("SELECT {COLUMNS} FROM automation_rules WHERE tenant_id = $1 AND id = $2");
    Ok(sqlx::query_as::<_, Rule>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?)
}

/// The farm's enabled rules of a trigger, oldest first (the order they run in).
pub async fn enabled_for(
    conn: &mut Conn,
    tenant: &TenantId,
    trigger_type: &str,
) -> StoreResult<Vec<Rule>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM automation_rules
         WHERE tenant_id = $1 AND trigger_type = $2 AND is_enabled = 1
         ORDER BY created_at, id"
    );
    Ok(sqlx::query_as::<_, Rule>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(trigger_type)
        .fetch_all(&mut *conn)
        .await?)
}

/// Whether the farm has an enabled rule of a trigger (an event nobody listens to is not
/// queued).
pub async fn any_enabled_for(
    conn: &mut Conn,
    tenant: &TenantId,
    trigger_type: &str,
) -> StoreResult<bool> {
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM automation_rules
         WHERE tenant_id = $1 AND trigger_type = $2 AND is_enabled = 1 LIMIT 1",
    )
    .bind(tenant.as_str())
    .bind(trigger_type)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}

/// Every enabled schedule rule of every farm (the scheduler looks at them each minute).
pub async fn enabled_schedules(conn: &mut Conn) -> StoreResult<Vec<Rule>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM automation_rules
         WHERE trigger_type = 'schedule' AND is_enabled = 1 ORDER BY created_at, id"
    );
    Ok(sqlx::query_as::<_, Rule>(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?)
}

/// Claims a schedule's time for one node: moves `last_scheduled_at` from what it was read
/// as to `slot`; `false` when another node moved it first.
pub async fn claim_schedule(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    seen: Option<&str>,
    slot: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE automation_rules SET last_scheduled_at = $4
         WHERE tenant_id = $1 AND id = $2
           AND (last_scheduled_at = $3 OR (last_scheduled_at IS NULL AND $3 IS NULL))",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(seen)
    .bind(slot)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Adds a rule.
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    fields: &RuleFields,
    now: &str,
) -> StoreResult<Rule> {
    let sql = format!(
        "INSERT INTO automation_rules (id, tenant_id, name, description, trigger_type,
            trigger_conditions, action_type, action_config, printer_ids, product_ids,
            schedule_cron, schedule_timezone, is_enabled, cooldown_seconds,
            max_triggers_per_hour, last_scheduled_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $16)
         RETURNING {COLUMNS}"
    );
    // A new schedule starts counting from now: it does not run for times before it existed.
    let query = sqlx::query_as::<_, Rule>(sqlx::AssertSqlSafe(sql))
        .bind(crate::new_id())
        .bind(tenant.as_str());
    Ok(bind_fields(query, fields, now)
        .fetch_one(&mut *conn)
        .await?)
}

/// Replaces a rule's settings.
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    fields: &RuleFields,
    now: &str,
) -> StoreResult<Rule> {
    let sql = format!(
        "UPDATE automation_rules SET name = $3, description = $4, trigger_type = $5,
            trigger_conditions = $6, action_type = $7, action_config = $8, printer_ids = $9,
            product_ids = $10, schedule_cron = $11, schedule_timezone = $12, is_enabled = $13,
            cooldown_seconds = $14, max_triggers_per_hour = $15,
            last_scheduled_at = COALESCE(last_scheduled_at, $16), updated_at = $16
         WHERE tenant_id = $2 AND id = $1 RETURNING {COLUMNS}"
    );
    let query = sqlx::query_as::<_, Rule>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(tenant.as_str());
    Ok(bind_fields(query, fields, now)
        .fetch_one(&mut *conn)
        .await?)
}

/// A rule statement being bound.
type RuleStatement<'q> =
    sqlx::query::QueryAs<'q, sqlx::Any, Rule, <sqlx::Any as sqlx::Database>::Arguments>;

/// Binds a rule's settings and the time, `$3` to `$16` of both the insert and the update.
fn bind_fields<'q>(
    query: RuleStatement<'q>,
    fields: &'q RuleFields,
    now: &'q str,
) -> RuleStatement<'q> {
    query
        .bind(&fields.name)
        .bind(fields.description.as_deref())
        .bind(&fields.trigger_type)
        .bind(fields.trigger_conditions.as_deref())
        .bind(&fields.action_type)
        .bind(fields.action_config.as_deref())
        .bind(fields.printer_ids.as_deref())
        .bind(fields.product_ids.as_deref())
        .bind(fields.schedule_cron.as_deref())
        .bind(fields.schedule_timezone.as_deref())
        .bind(fields.is_enabled)
        .bind(fields.cooldown_seconds)
        .bind(fields.max_triggers_per_hour)
        .bind(now)
}

/// Deletes a rule (its runs go with it).
pub async fn delete(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM automation_rules WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(crate::StoreError::NotFound);
    }
    Ok(())
}

/// Locks a rule for one evaluation (its limits are counted and its run recorded under the
/// lock, so two workers never both pass a limit) and returns it as it is now.
pub async fn lock(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Rule> {
    let sql = format!(
        "UPDATE automation_rules SET trigger_count = trigger_count
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as::<_, Rule>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?)
}

/// Counts a run of the rule (not a run by hand: those do not move its limits).
pub async fn ran(conn: &mut Conn, tenant: &TenantId, id: &str, now: &str) -> StoreResult<()> {
    sqlx::query(
        "UPDATE automation_rules SET trigger_count = trigger_count + 1, last_triggered_at = $3
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One run of a rule as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Run {
    pub id: String,
    pub tenant_id: String,
    pub rule_id: String,
    pub trigger_type: String,
    pub event_id: String,
    pub facts: String,
    pub outcome: String,
    pub detail: Option<String>,
    pub by_hand: i64,
    pub created_at: String,
}

/// A run to record.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub rule_id: &'a str,
    pub trigger_type: &'a str,
    pub event_id: &'a str,
    pub facts: &'a str,
    pub outcome: &'a str,
    pub detail: Option<&'a str>,
    pub by_hand: bool,
}

/// Records a run; `None` when the rule already ran for that event (handled twice).
pub async fn record_run(
    conn: &mut Conn,
    tenant: &TenantId,
    run: &NewRun<'_>,
    now: &str,
) -> StoreResult<Option<Run>> {
    Ok(sqlx::query_as::<_, Run>(
        "INSERT INTO automation_runs (id, tenant_id, rule_id, trigger_type, event_id, facts,
            outcome, detail, by_hand, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (rule_id, event_id) DO NOTHING
         RETURNING id, tenant_id, rule_id, trigger_type, event_id, facts, outcome, detail,
            by_hand, created_at",
    )
    .bind(crate::new_ordered_id())
    .bind(tenant.as_str())
    .bind(run.rule_id)
    .bind(run.trigger_type)
    .bind(run.event_id)
    .bind(run.facts)
    .bind(run.outcome)
    .bind(run.detail)
    .bind(i64::from(run.by_hand))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Whether the rule already ran (or was held back) for an event.
pub async fn ran_for(
    conn: &mut Conn,
    tenant: &TenantId,
    rule_id: &str,
    event_id: &str,
) -> StoreResult<bool> {
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM automation_runs WHERE tenant_id = $1 AND rule_id = $2 AND event_id = $3",
    )
    .bind(tenant.as_str())
    .bind(rule_id)
    .bind(event_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}

/// Runs of the rule since `since` that count against its hourly limit (not by hand, not
/// held back).
pub async fn counted_runs_since(
    conn: &mut Conn,
    tenant: &TenantId,
    rule_id: &str,
    since: &str,
) -> StoreResult<i64> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM automation_runs
         WHERE tenant_id = $1 AND rule_id = $2 AND created_at > $3
           AND by_hand = 0 AND outcome <> 'skipped'",
    )
    .bind(tenant.as_str())
    .bind(rule_id)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    Ok(count)
}

/// A rule's runs, newest first, one page, and how many there are.
pub async fn runs(
    conn: &mut Conn,
    tenant: &TenantId,
    rule_id: &str,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Run>, i64)> {
    let runs = sqlx::query_as::<_, Run>(
        "SELECT id, tenant_id, rule_id, trigger_type, event_id, facts, outcome, detail, by_hand,
            created_at
         FROM automation_runs WHERE tenant_id = $1 AND rule_id = $2
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
    )
    .bind(tenant.as_str())
    .bind(rule_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let (total,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM automation_runs WHERE tenant_id = $1 AND rule_id = $2",
    )
    .bind(tenant.as_str())
    .bind(rule_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((runs, total))
}

/// Whether an event of a trigger has anyone to act on it in the farm: an enabled rule, or
/// an enabled notification channel that takes it (an event nobody listens to is not queued).
pub async fn listens(conn: &mut Conn, tenant: &TenantId, trigger_type: &str) -> StoreResult<bool> {
    // Channels list their events as JSON text: `"print_failed"` or `"*"` appear quoted.
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT 1 FROM automation_rules
         WHERE tenant_id = $1 AND trigger_type = $2 AND is_enabled = 1
         UNION ALL
         SELECT 1 FROM notification_channels
         WHERE tenant_id = $1 AND is_enabled = 1 AND (events LIKE $3 OR events LIKE '%\"*\"%')
         LIMIT 1",
    )
    .bind(tenant.as_str())
    .bind(trigger_type)
    .bind(format!("%\"{trigger_type}\"%"))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}
