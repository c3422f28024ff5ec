//! `print_command`: download the file, stream it to the printer's card, start the plate.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bambu::ftps::{self, FtpsTarget};
use bambu::report::GcodeState;
use bambu::{Command, ProjectFile};
use futures::TryStreamExt;
use proto::hub::{FileStage, HubToServer};
use tokio::time::Instant;
use tokio_util::io::StreamReader;

use crate::outbox::Outbox;
use crate::printer::{Printer, lock};
use crate::store::{StartedJob, Store};

/// `file_progress` goes out at most this often while bytes flow.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(300);
/// How long the printer may take to answer `project_file` (it opens the 3MF first).
const START_ANSWER_WAIT: Duration = Duration::from_secs(30);

/// One `print_command`.
#[derive(Debug, Clone)]
pub struct PrintJob {
    /// The printer's serial.
    pub serial: String,
    /// The farm's job id.
    pub job_id: String,
    /// Signed download link.
    pub file_url: String,
    /// The file's name.
    pub file_name: String,
    /// The plate to print.
    pub plate_index: i64,
    /// The slot holding the job's filament, when the server knows it.
    pub ams_slot: Option<u32>,
}

/// What `print_command` needs from the hub.
pub struct Tools<'a> {
    /// For the download.
    pub http: &'a reqwest::Client,
    /// For `file_progress`.
    pub outbox: &'a Outbox,
    /// To remember the job.
    pub store: &'a Store,
}

/// Runs one print command to its end; `Err` carries the reason for the ack.
pub async fn print(tools: Tools<'_>, printer: Arc<Printer>, job: PrintJob) -> Result<(), String> {
    let plate = u32::try_from(job.plate_index)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| {
            format!(
                "plate {} does not exist (plates count from 1)",
                job.plate_index
            )
        })?;
    {
        let mut live = lock(&printer.live);
        let same_job = live.job.as_ref().is_some_and(|j| j.job_id == job.job_id);
        let busy = live.gcode_state.is_some_and(GcodeState::is_busy);
        if live.uploading.as_deref() == Some(job.job_id.as_str()) || (same_job && busy) {
            // The server re-sent a job the printer already has (an ack lost in an outage).
            tracing::info!(serial = %job.serial, job_id = %job.job_id, "job already on the printer; not printing it twice");
            return Ok(());
        }
        if !live.connected {
            return Err("the printer is not connected".to_owned());
        }
        if busy {
            return Err("the printer is busy with another print".to_owned());
        }
        if let Some(other) = &live.uploading {
            return Err(format!("the printer is receiving the file of job {other}"));
        }
        live.uploading = Some(job.job_id.clone());
    }
    let progress = Progress {
        outbox: tools.outbox,
        job: &job,
    };
    let result = deliver(&tools, &printer, &job, plate, &progress).await;
    lock(&printer.live).uploading = None;
    match &result {
        Ok(()) => progress.send(FileStage::Complete, 100, None),
        Err(reason) => {
            tracing::warn!(serial = %job.serial, job_id = %job.job_id, %reason, "print did not start");
            progress.send(FileStage::Failed, 0, Some(reason.clone()));
        }
    }
    result
}

async fn deliver(
    tools: &Tools<'_>,
    printer: &Printer,
    job: &PrintJob,
    plate: u32,
    progress: &Progress<'_>,
) -> Result<(), String> {
    progress.send(FileStage::Downloading, 0, None);
    let response = tools
        .http
        .get(&job.file_url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| format!("downloading the file failed: {}", without_url(&error)))?;
    let expected = response.content_length();
    let source = StreamReader::new(Box::pin(
        response
            .bytes_stream()
            .map_err(|error| io::Error::other(without_url(&error))),
    ));

    let settings = printer.settings.borrow().clone();
    let addr = tokio::net::lookup_host((settings.host.as_str(), settings.ftps_port))
        .await
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| format!("cannot resolve the printer's address {}", settings.host))?;
    let target = FtpsTarget::new(addr, settings.access_code.clone(), printer.tls.clone());
    let remote = card_name(&job.file_name, &job.job_id);
    let mut last: Option<(Instant, i64)> = None;
    progress.send(FileStage::Uploading, 0, None);
    let sent = ftps::upload(&target, &remote, source, |sent| {
        let percent = expected
            .filter(|total| *total > 0)
            .map_or(0, |total| (sent.min(total) * 100 / total) as i64);
        let due = last.is_none_or(|(at, shown)| {
            percent != shown && (at.elapsed() >= PROGRESS_INTERVAL || percent == 100)
        });
        if due {
            last = Some((Instant::now(), percent));
            progress.send(FileStage::Uploading, percent, None);
        }
    })
    .await
    .map_err(|error| error.to_string())?;
    if let Some(expected) = expected
        && sent != expected
    {
        return Err(format!(
            "the download ended early: {sent} of {expected} bytes reached the printer"
        ));
    }
    tracing::info!(serial = %job.serial, job_id = %job.job_id, bytes = sent, file = %remote, "file on the printer");

    let mut start = ProjectFile::new(&remote, plate);
    let previous = {
        let mut live = lock(&printer.live);
        start.use_ams = live.has_ams;
        // A single-filament plate prints from the slot the server matched; the external
        // spool means no AMS at all.
        match job.ams_slot {
            Some(proto::status::EXTERNAL_SPOOL) => start.use_ams = false,
            Some(slot) if live.has_ams => {
                start.ams_mapping = vec![i32::try_from(slot).unwrap_or(0)];
            }
            _ => {}
        }
        // Before the printer answers, so its first busy report already carries the job.
        let previous = live.job.replace(StartedJob {
            job_id: job.job_id.clone(),
            subtask_name: start.subtask_name.clone(),
        });
        live.job_confirmed = false;
        previous
    };
    let started = printer
        .command(
            Command::ProjectFile(Box::new(start.clone())),
            START_ANSWER_WAIT,
        )
        .await;
    if let Err(reason) = started {
        let mut live = lock(&printer.live);
        live.job = previous;
        live.job_confirmed = true;
        return Err(reason);
    }
    let remembered = StartedJob {
        job_id: job.job_id.clone(),
        subtask_name: start.subtask_name,
    };
    if let Err(error) = tools.store.set_job(&job.serial, Some(remembered)) {
        // The print runs; only a hub restart would lose the job id.
        tracing::warn!(serial = %job.serial, %error, "could not store the job");
    }
    Ok(())
}

struct Progress<'a> {
    outbox: &'a Outbox,
    job: &'a PrintJob,
}

impl Progress<'_> {
    fn send(&self, stage: FileStage, percent: i64, error: Option<String>) {
        self.outbox.send(HubToServer::FileProgress {
            printer_id: self.job.serial.clone(),
            job_id: self.job.job_id.clone(),
            stage,
            progress_percentage: percent,
            error,
        });
    }
}

/// The file's name on the card: the last path segment of `file_name`, ending in `.3mf`
/// (printers only start 3MF projects), with characters FTP paths choke on replaced.
pub fn card_name(file_name: &str, job_id: &str) -> String {
    let base = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim();
    let mut name: String = base
        .chars()
        .map(|c| if c.is_control() || c == '"' { '_' } else { c })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        name = format!("job-{job_id}{name}");
    }
    if !name.to_ascii_lowercase().ends_with(".3mf") {
        name.push_str(".3mf");
    }
    name
}

/// A reqwest error in words, without its URL: the signed link is a credential.
fn without_url(error: &reqwest::Error) -> String {
    if let Some(status) = error.status() {
        return format!("the server answered {status}");
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    match error.url() {
        Some(url) => text.replace(url.as_str(), "<file link>"),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_names_are_plain_3mf_names() {
        assert_eq!(card_name("bracket.gcode.3mf", "j1"), "bracket.gcode.3mf");
        assert_eq!(card_name("../../etc/passwd", "j1"), "passwd.3mf");
        assert_eq!(card_name("folder\\part.3MF", "j1"), "part.3MF");
        assert_eq!(card_name("", "j1"), "job-j1.3mf");
    }
}
