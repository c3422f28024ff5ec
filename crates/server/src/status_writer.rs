//! Printer status written behind: hub sessions hand the writer what a printer reports (its
//! state, connection and loaded filament), and one writer per node flushes the newest of
//! every changed printer in one transaction per tick.
//!
//! A hub session used to write each change itself, inline: 5,000 printers coming online
//! were 5,000 transactions queued on SQLite's one writer while their reports waited behind
//! them. Status is state, so only the newest per printer is kept; what must not be lost
//! (a job's completion, a failure) still commits at once through the job moves and the queue.

use crate::app::App;
use crate::farm::Farm;
use domain::TenantId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use store::printers::Reported;
use store::{StoreError, StoreResult};
use tokio::sync::watch;

/// How often changed statuses are written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// One printer's newest report, waiting to be written.
#[derive(Debug, Clone)]
struct Pending {
    tenant: TenantId,
    reported: Reported,
    at: String,
}

/// The printers' newest reported state, until the next flush.
#[derive(Debug, Default)]
pub struct StatusWriter {
    pending: Mutex<HashMap<String, Pending>>,
    /// One flush at a time, so a later flush never lands before an earlier one.
    flushing: tokio::sync::Mutex<()>,
}

impl StatusWriter {
    /// Keeps `reported` as the printer's newest state, to be written at the next flush.
    pub fn record(&self, tenant: &TenantId, printer_id: &str, reported: Reported) {
        let pending = Pending {
            tenant: tenant.clone(),
            reported,
            at: store::now_text(),
        };
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(printer_id.to_string(), pending);
    }

    /// How many printers wait to be written.
    pub fn waiting(&self) -> usize {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Writes every waiting status in one transaction; then the dispatcher looks at the
    /// farms where a printer became idle, and their cached reads go stale.
    pub async fn flush(&self, farm: &Farm) -> StoreResult<usize> {
        let _turn = self.flushing.lock().await;
        let batch: Vec<(String, Pending)> = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.drain().collect()
        };
        if batch.is_empty() {
            return Ok(0);
        }
        let written = self.write(farm, &batch).await;
        if let Err(err) = written {
            // Not lost: what was not superseded meanwhile is tried again at the next tick.
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            for (printer, status) in batch {
                pending.entry(printer).or_insert(status);
            }
            return Err(err);
        }
        let mut farms: HashMap<&TenantId, bool> = HashMap::new();
        for (_, status) in &batch {
            let ready = status.reported.status == domain::printers::PrinterStatus::Idle
                && status.reported.is_connected;
            *farms.entry(&status.tenant).or_default() |= ready;
        }
        for (tenant, ready) in farms {
            farm.realtime.farm_changed(tenant);
            if ready {
                farm.wake_dispatcher(tenant);
            }
        }
        Ok(batch.len())
    }

    async fn write(&self, farm: &Farm, batch: &[(String, Pending)]) -> StoreResult<()> {
        let rows: Vec<store::printers::ReportedRow<'_>> = batch
            .iter()
            .map(|(printer, status)| store::printers::ReportedRow {
                tenant: &status.tenant,
                id: printer,
                reported: &status.reported,
                at: &status.at,
            })
            .collect();
        let mut tx = farm.store.begin().await?;
        store::printers::apply_reported(&mut tx, &rows).await?;
        tx.commit().await.map_err(StoreError::from)
    }
}

/// Flushes the node's waiting statuses every [`FLUSH_EVERY`] until `stop`, then once more.
pub fn spawn(app: App, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            if let Err(err) = app.status_writer.flush(&app).await {
                tracing::warn!(error = %err, "printer statuses not written; trying again");
            }
        }
        if let Err(err) = app.status_writer.flush(&app).await {
            tracing::warn!(error = %err, "printer statuses not written at shutdown");
        }
    })
}
