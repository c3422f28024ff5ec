//! From a printer's merged report to the `printer_status` the server understands.

use bambu::report::{GcodeState, HmsSeverity, Report};
use bambu::{Hms, PrintError};
use domain::printers::PrinterStatus as Status;
use proto::status::{FilamentSlot, PrinterStatus, Temperatures};

/// What the server is told when a printer refuses the access code.
pub const ACCESS_CODE_REFUSED: &str = "the printer refused the access code";
/// What the server is told when a printer refuses unsigned commands.
pub const DEVELOPER_MODE_OFF: &str =
    "the printer refused the command: enable LAN-only mode and Developer Mode on the printer";

/// How the hub's connection to a printer stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Connected; reports flow.
    Connected,
    /// Not connected (yet, or lost); the hub keeps trying.
    Offline,
    /// The printer will not let the hub in; the reason, in words.
    Refused(String),
}

/// The status of one printer from its link and its merged report.
pub fn printer_status(
    serial: &str,
    link: &Link,
    report: &Report,
    job_id: Option<&str>,
) -> PrinterStatus {
    let mut status = PrinterStatus {
        printer_id: serial.to_owned(),
        status: Status::Offline,
        is_connected: Some(*link == Link::Connected),
        ..PrinterStatus::default()
    };
    match link {
        Link::Offline => return status,
        Link::Refused(reason) => {
            status.status = Status::Error;
            status.error_message = Some(reason.clone());
            return status;
        }
        Link::Connected => {}
    }
    let state = report.gcode_state;
    status.gcode_state = state.map(|s| s.as_str().to_owned());
    status.status = match state {
        Some(GcodeState::Running | GcodeState::Prepare | GcodeState::Slicing) => Status::Printing,
        Some(GcodeState::Pause) => Status::Paused,
        Some(GcodeState::Offline) => Status::Offline,
        _ => Status::Idle,
    };
    status.progress_percentage = report.percent.map(i64::from);
    status.remaining_time_seconds = report.remaining_minutes.map(|m| i64::from(m) * 60);
    status.current_layer = report.layer.map(i64::from);
    status.total_layers = report.total_layers.map(i64::from);
    status.temperatures = Some(Temperatures {
        nozzle: report.nozzle_temp,
        nozzle_target: report.nozzle_target,
        bed: report.bed_temp,
        bed_target: report.bed_target,
        chamber: report.chamber_temp,
    });
    status.job_id = job_id.map(str::to_owned);
    status.filaments = filaments(report);

    // A failed job's code, else the worst active health message. A cancel is not an error:
    // the user asked for it, and the printer keeps showing the code for a few seconds.
    let print_error = report
        .print_error
        .filter(|e| !e.is_cancel() && state == Some(GcodeState::Failed));
    let hms = worst_hms(&report.hms);
    if let Some(error) = print_error {
        status.status = Status::Error;
        status.error_code = Some(error.to_string());
        status.error_message = print_error_words(error).map(str::to_owned);
    } else if let Some(hms) = hms {
        if stops_the_printer(hms) {
            status.status = Status::Error;
        }
        status.error_code = Some(hms.to_string());
        status.error_message = hms_words(hms).map(str::to_owned);
    }
    status
}

/// The fields whose change is sent at once rather than with the next periodic update.
pub fn state_changed(old: &PrinterStatus, new: &PrinterStatus) -> bool {
    old.status != new.status
        || old.gcode_state != new.gcode_state
        || old.error_code != new.error_code
        || old.error_message != new.error_message
        || old.is_connected != new.is_connected
        || old.job_id != new.job_id
}

fn filaments(report: &Report) -> Vec<FilamentSlot> {
    let mut slots = Vec::new();
    for unit in &report.ams {
        let Ok(unit_index) = unit.id.parse::<u32>() else {
            continue;
        };
        for tray in unit.trays.iter().filter(|t| t.loaded) {
            let Ok(tray_index) = tray.id.parse::<u32>() else {
                continue;
            };
            slots.push(FilamentSlot {
                slot: unit_index * 4 + tray_index,
                filament_type: tray.material.clone(),
                colour: tray.colour.clone(),
                remaining: tray.remain_percent.map(i64::from),
            });
        }
    }
    if let Some(spool) = report.external_spool.as_ref().filter(|t| t.loaded) {
        slots.push(FilamentSlot {
            slot: 254,
            filament_type: spool.material.clone(),
            colour: spool.colour.clone(),
            remaining: spool.remain_percent.map(i64::from),
        });
    }
    slots
}

fn worst_hms(hms: &[Hms]) -> Option<Hms> {
    let rank = |h: &Hms| match h.severity() {
        HmsSeverity::Fatal => 0,
        HmsSeverity::Serious => 1,
        HmsSeverity::Common => 2,
        HmsSeverity::Info => 4,
        HmsSeverity::Unknown => 3,
    };
    hms.iter()
        .filter(|h| h.severity() != HmsSeverity::Info)
        .min_by_key(|h| rank(h))
        .copied()
}

/// Whether a health message means the printer needs a person before it can print.
fn stops_the_printer(hms: Hms) -> bool {
    // The verification message is marked fatal but only says a command was refused;
    // the printer itself is fine (the command's ack carries the explanation).
    hms != Hms::COMMAND_VERIFICATION_FAILED
        && matches!(hms.severity(), HmsSeverity::Fatal | HmsSeverity::Serious)
}

/// Words for the `print_error` codes a farm meets most.
fn print_error_words(error: PrintError) -> Option<&'static str> {
    Some(match error {
        PrintError::CANCELLED => "the print was cancelled",
        PrintError::FILAMENT_RUNOUT => "the filament ran out",
        PrintError::FILE_UNPARSABLE => "the printer could not read the print file",
        _ => return None,
    })
}

/// Words for the health messages a farm meets most.
fn hms_words(hms: Hms) -> Option<&'static str> {
    Some(match hms {
        Hms::HEATBED_TEMPERATURE_ABNORMAL => {
            "the heatbed temperature is abnormal; the sensor may be open circuit"
        }
        Hms::COMMAND_VERIFICATION_FAILED => DEVELOPER_MODE_OFF,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bambu::PrinterState;
    use serde_json::json;

    fn report(print: serde_json::Value) -> Report {
        let mut state = PrinterState::new();
        state.merge(&print);
        state.report()
    }

    #[test]
    fn a_running_print_reads_as_printing_with_progress_and_ams_slots() {
        let report = report(json!({
            "gcode_state": "RUNNING", "mc_percent": 42, "mc_remaining_time": 10,
            "layer_num": 5, "total_layer_num": 50, "nozzle_temper": 219.5, "bed_temper": 55,
            "ams": {"ams": [{"id": "0", "tray": [
                {"id": "0", "tray_type": "PLA", "tray_color": "000000FF", "remain": 63},
                {"id": "2"}
            ]}]},
            "vt_tray": {"id": "254", "tray_type": ""}
        }));
        let status = printer_status("S1", &Link::Connected, &report, Some("job-1"));
        assert_eq!(status.status, Status::Printing);
        assert_eq!(status.progress_percentage, Some(42));
        assert_eq!(status.remaining_time_seconds, Some(600));
        assert_eq!(
            (status.current_layer, status.total_layers),
            (Some(5), Some(50))
        );
        assert_eq!(status.job_id.as_deref(), Some("job-1"));
        assert_eq!(status.filaments.len(), 1, "empty slot and spool left out");
        assert_eq!(status.filaments[0].remaining, Some(63));
        assert_eq!(status.temperatures.and_then(|t| t.nozzle), Some(219.5));
    }

    #[test]
    fn a_failed_print_is_an_error_in_words_but_a_cancel_is_not() {
        let failed = report(json!({"gcode_state": "FAILED", "print_error": 0x0300_8015u32}));
        let status = printer_status("S1", &Link::Connected, &failed, None);
        assert_eq!(status.status, Status::Error);
        assert_eq!(status.error_code.as_deref(), Some("0300_8015"));
        assert_eq!(
            status.error_message.as_deref(),
            Some("the filament ran out")
        );

        let cancelled = report(json!({"gcode_state": "FAILED", "print_error": 0x0300_400Cu32}));
        let status = printer_status("S1", &Link::Connected, &cancelled, None);
        assert_eq!(status.status, Status::Idle);
        assert_eq!(status.gcode_state.as_deref(), Some("FAILED"));
    }

    #[test]
    fn a_fatal_health_message_is_an_error_and_an_offline_printer_says_so() {
        let hot = report(
            json!({"gcode_state": "IDLE", "hms": [Hms::HEATBED_TEMPERATURE_ABNORMAL.to_json()]}),
        );
        let status = printer_status("S1", &Link::Connected, &hot, None);
        assert_eq!(status.status, Status::Error);
        assert_eq!(
            status.error_code.as_deref(),
            Some("HMS_0300_0100_0001_0007")
        );

        let status = printer_status("S1", &Link::Offline, &hot, None);
        assert_eq!(
            (status.status.as_str(), status.is_connected),
            ("offline", Some(false))
        );
        let status = printer_status("S1", &Link::Refused(ACCESS_CODE_REFUSED.into()), &hot, None);
        assert_eq!(status.status, Status::Error);
        assert_eq!(status.error_message.as_deref(), Some(ACCESS_CODE_REFUSED));
    }
}
