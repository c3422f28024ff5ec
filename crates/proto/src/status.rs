//! A printer's live status, as the hub reports it and dashboards receive it.

use serde::{Deserialize, Deserializer, Serialize};

/// Reads a printer status leniently (see [`PrinterStatus::status`]).
fn reported_status<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<domain::printers::PrinterStatus, D::Error> {
    let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
    Ok(domain::printers::PrinterStatus::from_reported(&name))
}

/// Temperatures in °C.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Temperatures {
    pub nozzle: Option<f64>,
    pub nozzle_target: Option<f64>,
    pub bed: Option<f64>,
    pub bed_target: Option<f64>,
    pub chamber: Option<f64>,
}

/// The slot number of the spool holder outside the AMS.
pub use domain::dispatch::EXTERNAL_SPOOL;

/// One filament slot (AMS tray or external spool).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilamentSlot {
    /// AMS unit × 4 + tray, or 254 for the external spool.
    pub slot: u32,
    /// "PLA", "PETG" ...
    pub filament_type: Option<String>,
    /// `RRGGBB` or `RRGGBBAA`, as the printer reports it.
    pub colour: Option<String>,
    /// Remaining, in percent, when the AMS knows.
    pub remaining: Option<i64>,
}

/// The status of one printer.
///
/// On the hub socket `printer_id` is the printer's serial number; on the dashboard socket
/// it is the farm's printer number as text (`"3"`, as the original sent it: its client
/// matches cards on it) and `printer_uuid` the printer's id. Every field but the id and
/// status is optional: a hub sends what it knows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrinterStatus {
    pub printer_id: String,
    /// The printer's id in the farm (dashboard socket only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer_uuid: Option<String>,
    /// idle, printing, paused, error or offline (a name this release does not know reads
    /// as `error`: a newer hub is never taken for a ready printer).
    #[serde(deserialize_with = "reported_status")]
    pub status: domain::printers::PrinterStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_connected: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_percentage: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_time_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_layer: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_layers: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperatures: Option<Temperatures>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The printer's own state word (IDLE, PREPARE, RUNNING, PAUSE, FINISH, FAILED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcode_state: Option<String>,
    /// The job the printer is printing, when the hub started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Loaded filaments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filaments: Vec<FilamentSlot>,
}
