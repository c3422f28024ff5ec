//! `Metadata/slice_info.config`: the slicer's per-plate results.

use crate::xml::{self, Attrs};
use crate::{Filament, ThreeMfError, num};

/// Entry name.
pub(crate) const ENTRY: &str = "Metadata/slice_info.config";

/// One `<plate>` of slice_info, as written.
#[derive(Debug, Default)]
pub(crate) struct SlicedPlate {
    pub index: Option<u32>,
    pub printer_model_id: Option<String>,
    pub nozzle_diameter: Option<f64>,
    pub prediction_seconds: Option<u64>,
    pub weight_grams: Option<f64>,
    pub filaments: Vec<Filament>,
    /// `(identify_id, name)` of each `<object>`.
    pub objects: Vec<(Option<u64>, String)>,
}

/// What slice_info says.
#[derive(Debug, Default)]
pub(crate) struct SliceInfo {
    pub plates: Vec<SlicedPlate>,
}

/// Parses slice_info. A project file has only the `<header>`; that is an
/// empty plate list, not an error.
pub(crate) fn parse(bytes: &[u8]) -> Result<SliceInfo, ThreeMfError> {
    let text = xml::as_text(ENTRY, bytes)?;
    let mut info = SliceInfo::default();
    xml::walk(ENTRY, text, |ancestors, name, attrs| {
        let parent = ancestors.last().map(String::as_str);
        match (parent, name) {
            (Some("config"), "plate") => info.plates.push(SlicedPlate::default()),
            (Some("plate"), _) => {
                if let Some(plate) = info.plates.last_mut() {
                    plate_child(plate, name, attrs);
                }
            }
            _ => {}
        }
    })?;
    Ok(info)
}

/// Applies one child element of `<plate>`.
fn plate_child(plate: &mut SlicedPlate, name: &str, attrs: &Attrs) {
    match name {
        "metadata" => {
            let value = attrs.get("value");
            match attrs.get("key") {
                Some("index") => plate.index = value.and_then(num::parse_u32),
                Some("printer_model_id") => plate.printer_model_id = num::non_empty(value),
                // Several extruders (H2D) write a list; the first is the
                // main nozzle and what a single-nozzle check compares.
                Some("nozzle_diameters") => plate.nozzle_diameter = value.and_then(num::first_f64),
                Some("prediction") => plate.prediction_seconds = value.and_then(num::parse_seconds),
                Some("weight") => plate.weight_grams = value.and_then(num::parse_f64),
                _ => {}
            }
        }
        "object" => {
            let id = attrs.get("identify_id").and_then(num::parse_u64);
            let name = attrs.get("name").unwrap_or_default().to_owned();
            plate.objects.push((id, name));
        }
        "filament" => {
            let Some(slot) = attrs.get("id").and_then(num::parse_u32) else {
                return;
            };
            plate.filaments.push(Filament {
                slot,
                filament_type: num::non_empty(attrs.get("type")),
                colour: attrs.get("color").and_then(num::normalise_colour),
                used_grams: attrs.get("used_g").and_then(num::parse_f64),
                used_metres: attrs.get("used_m").and_then(num::parse_f64),
                tray_info_idx: num::non_empty(attrs.get("tray_info_idx")),
            });
        }
        _ => {}
    }
}
