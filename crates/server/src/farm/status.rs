//! Status intake: what a printer's report and its hub's file reports do to the job the
//! printer holds. The printer is the truth once the file is on it; a report that would be
//! a refused move (late, repeated, of the previous print) changes nothing. Every job that
//! moves or progresses is told to the farm's dashboards.

use super::{Farm, FarmResult};
use domain::TenantId;
use domain::jobs::{FileStage, JobStatus};
use proto::dashboard::ServerMessage;
use store::jobs::Job;

/// What a printer said about its print, as far as its job is concerned.
#[derive(Debug, Clone, Copy)]
pub struct PrintReport<'a> {
    /// Its state word (`RUNNING`, `FINISH` ...).
    pub gcode_state: &'a str,
    /// Progress in percent.
    pub progress: Option<i64>,
    /// Why it failed, when it did.
    pub failure_reason: &'a str,
}

impl Farm {
    /// Moves the printer's job with what the printer says (several steps when a report was
    /// lost), or records its progress; returns the job as it now is.
    pub async fn follow_printer(
        &self,
        tenant: &TenantId,
        job: Job,
        report: PrintReport<'_>,
    ) -> FarmResult<Job> {
        let progress = report.progress.map(|p| p.clamp(0, 100));
        let mut job = job;
        let mut moved = false;
        // At most two steps: a job whose "file complete" was lost goes uploaded, then printing.
        for _ in 0..2 {
            let Some(to) = domain::jobs::status_for_printer_state(job.status, report.gcode_state)
            else {
                break;
            };
            let reason = (to == JobStatus::Failed).then(|| report.failure_reason.to_string());
            job = self.record_move(tenant, &job, to, progress, reason).await?;
            self.publish_job(tenant, &job, None);
            moved = true;
            if to != JobStatus::Uploaded {
                break;
            }
        }
        if !moved
            && job.status == JobStatus::Printing
            && let Some(value) = progress
            && value != job.progress_percentage
        {
            job = self.record_progress(tenant, &job, value).await?;
            self.publish_job(tenant, &job, None);
        }
        Ok(job)
    }

    /// Moves a job with its hub's report of the file's transfer; transfer progress that
    /// moves nothing is for dashboards only.
    pub async fn follow_file_stage(
        &self,
        tenant: &TenantId,
        job: &Job,
        stage: FileStage,
        percent: i64,
        error: Option<String>,
    ) -> FarmResult<()> {
        match domain::jobs::status_for_file_stage(job.status, stage) {
            Some(to) if to != job.status => {
                let reason = error.unwrap_or_else(|| "the file did not reach the printer".into());
                let moved = self
                    .record_move(tenant, job, to, None, Some(reason))
                    .await?;
                self.publish_job(tenant, &moved, None);
            }
            _ => self.publish_job(tenant, job, Some(percent)),
        }
        Ok(())
    }

    /// Tells the farm's dashboards where a job is (with the file's transfer, while it is sent).
    pub fn publish_job(&self, tenant: &TenantId, job: &Job, file_progress: Option<i64>) {
        self.realtime.publish(
            tenant,
            ServerMessage::JobUpdate {
                job_id: job.id.clone(),
                status: job.status,
                progress_percentage: file_progress.is_none().then_some(job.progress_percentage),
                printer_id: job.printer_numeric_id.map(|n| n.to_string()),
                printer_uuid: job.printer_id.clone(),
                file_progress,
            },
        );
    }
}
