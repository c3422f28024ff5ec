//! Schedules: every minute each node looks at the enabled schedule rules; a rule whose
//! time came gets one event for it. The time is claimed with a conditional update of
//! `last_scheduled_at` and the event has a dedupe key, so with several nodes a time runs
//! once; a server that was down runs a rule once for the latest time it missed, not once
//! per missed time.

use super::FarmEvent;
use crate::app::App;
use chrono::{DateTime, Utc};
use domain::TenantId;
use domain::automation::{Fact, Facts, Schedule, Trigger};
use std::time::Duration;
use store::StoreResult;

/// How often schedules are looked at (cron's granularity is a minute).
const TICK: Duration = Duration::from_secs(20);

/// Queues an event for every schedule rule whose time came by `now`; returns how many.
pub async fn tick(app: &App, now: DateTime<Utc>) -> StoreResult<usize> {
    let rules = {
        let mut conn = app.store.conn().await?;
        store::automation::enabled_schedules(&mut conn).await?
    };
    let mut queued = 0;
    for rule in rules {
        let tenant = TenantId::from_stored(rule.tenant_id.clone());
        let zone = rule.schedule_timezone.as_deref().unwrap_or("UTC");
        let Some(schedule) = rule
            .schedule_cron
            .as_deref()
            .and_then(|cron| Schedule::parse(cron, zone).ok())
        else {
            tracing::warn!(tenant_id = %tenant, rule_id = %rule.id, "a schedule rule without a valid schedule");
            continue;
        };
        let since = rule
            .last_scheduled_at
            .as_deref()
            .or(Some(rule.created_at.as_str()))
            .and_then(domain::time::parse)
            .unwrap_or(now);
        let Some(slot) = schedule.due(since, now) else {
            continue;
        };
        let slot_text = domain::time::format(slot);
        let mut tx = app.store.begin().await?;
        let claimed = store::automation::claim_schedule(
            &mut tx,
            &tenant,
            &rule.id,
            rule.last_scheduled_at.as_deref(),
            &slot_text,
        )
        .await?;
        if claimed {
            let facts: Facts = [("scheduled_at".to_string(), Fact::from(slot_text.as_str()))]
                .into_iter()
                .collect();
            let key = format!("{}:{slot_text}", rule.id);
            // Due now (the slot may be a time the tick was told is now, in tests).
            let queued_at = store::now_text();
            let mut event = FarmEvent::new(&tenant, Trigger::Schedule, &key, facts, &queued_at);
            event.rule_id = Some(rule.id.clone());
            queued += usize::from(
                super::enqueue_in(&*app.queue, &mut tx, &tenant, &event, &queued_at).await?,
            );
        }
        tx.commit().await?;
    }
    if queued > 0 {
        app.background.work_queued();
    }
    Ok(queued)
}

/// Runs the schedule until `stop` fires.
pub fn spawn(
    app: App,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(err) = tick(&app, Utc::now()).await {
                tracing::warn!(error = %err, "the automation schedule could not run");
            }
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.changed() => return,
            }
        }
    })
}
