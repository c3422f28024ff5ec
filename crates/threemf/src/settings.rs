//! The JSON entries: `Metadata/project_settings.config` and
//! `Metadata/plate_N.json`.
//!
//! Only the handful of keys this crate reports are materialised; serde skips
//! the several hundred others without allocating. Each wanted key is taken
//! as any JSON value and interpreted leniently, because Bambu writes most
//! values as strings, per-filament values as arrays, and other slicers vary.

use serde::Deserialize;
use serde_json::Value;

use crate::{ThreeMfError, num};

/// Entry name of the project settings.
pub(crate) const PROJECT_ENTRY: &str = "Metadata/project_settings.config";

/// The project settings this crate reports.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ProjectSettings {
    printer_model: Option<Value>,
    print_settings_id: Option<Value>,
    layer_height: Option<Value>,
    nozzle_diameter: Option<Value>,
    curr_bed_type: Option<Value>,
    filament_settings_id: Option<Value>,
}

impl ProjectSettings {
    /// `printer_model`, e.g. "Bambu Lab A1 mini".
    pub(crate) fn printer_model(&self) -> Option<String> {
        self.printer_model.as_ref().and_then(first_string)
    }
    /// `print_settings_id`, the process preset name.
    pub(crate) fn print_profile(&self) -> Option<String> {
        self.print_settings_id.as_ref().and_then(first_string)
    }
    /// `layer_height` in millimetres.
    pub(crate) fn layer_height(&self) -> Option<f64> {
        self.layer_height.as_ref().and_then(first_f64)
    }
    /// First extruder's `nozzle_diameter` in millimetres.
    pub(crate) fn nozzle_diameter(&self) -> Option<f64> {
        self.nozzle_diameter.as_ref().and_then(first_f64)
    }
    /// `curr_bed_type`, e.g. "Textured PEI Plate".
    pub(crate) fn bed_type(&self) -> Option<String> {
        self.curr_bed_type.as_ref().and_then(first_string)
    }
    /// `filament_settings_id`, one preset name per project filament.
    pub(crate) fn filament_settings_ids(&self) -> Vec<String> {
        self.filament_settings_id
            .as_ref()
            .map(strings)
            .unwrap_or_default()
    }
}

/// Parses project_settings.
pub(crate) fn parse_project(bytes: &[u8]) -> Result<ProjectSettings, ThreeMfError> {
    serde_json::from_slice(bytes).map_err(|e| bad_json(PROJECT_ENTRY, &e))
}

/// What a `plate_N.json` says that this crate reports.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PlateJson {
    bed_type: Option<Value>,
    nozzle_diameter: Option<Value>,
    bbox_objects: Option<Value>,
}

impl PlateJson {
    /// `bed_type`, e.g. "textured_plate".
    pub(crate) fn bed_type(&self) -> Option<String> {
        self.bed_type.as_ref().and_then(first_string)
    }
    /// Nozzle diameter, rounded: Studio writes the float32 value
    /// (0.4000000059604645), and callers compare it with 0.4.
    pub(crate) fn nozzle_diameter(&self) -> Option<f64> {
        self.nozzle_diameter
            .as_ref()
            .and_then(first_f64)
            .map(|d| (d * 1000.0).round() / 1000.0)
    }
    /// Names from `bbox_objects`, a fallback when slice_info lists none.
    pub(crate) fn object_names(&self) -> Vec<String> {
        let Some(Value::Array(items)) = &self.bbox_objects else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|o| o.get("name").and_then(first_string))
            .collect()
    }
}

/// Parses a plate JSON entry.
pub(crate) fn parse_plate(entry: &str, bytes: &[u8]) -> Result<PlateJson, ThreeMfError> {
    serde_json::from_slice(bytes).map_err(|e| bad_json(entry, &e))
}

fn bad_json(entry: &str, e: &serde_json::Error) -> ThreeMfError {
    ThreeMfError::BadJson {
        entry: entry.to_owned(),
        detail: e.to_string(),
    }
}

/// A string, or the first element of an array of strings; numbers become
/// their decimal text. Empty strings count as absent.
fn first_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => num::non_empty(Some(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => items.first().and_then(first_string),
        _ => None,
    }
}

/// A number, a numeric string, or the first element of an array of those.
fn first_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Value::String(s) => num::first_f64(s),
        Value::Array(items) => items.first().and_then(first_f64),
        _ => None,
    }
}

/// Every string of an array (or the single string).
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}
