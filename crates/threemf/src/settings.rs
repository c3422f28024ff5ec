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
    /// Only the objects' names are kept: a plate of many objects has a plate JSON of tens of
    /// MB, which as a `Value` tree took ~460 MB to read.
    #[serde(default)]
    bbox_objects: ObjectNames,
}

/// The `name` of each element of `bbox_objects`; anything else in it is skipped unread.
#[derive(Debug, Default)]
struct ObjectNames(Vec<String>);

impl<'de> Deserialize<'de> for ObjectNames {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NamesVisitor)
    }
}

/// Reads a list of objects for their names; a value that is no list has none.
struct NamesVisitor;

impl<'de> serde::de::Visitor<'de> for NamesVisitor {
    type Value = ObjectNames;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<ObjectNames, A::Error> {
        let mut names = Vec::new();
        while let Some(NameOf(name)) = seq.next_element()? {
            names.extend(name);
        }
        Ok(ObjectNames(names))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ObjectNames, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(ObjectNames::default())
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<ObjectNames, E> {
        Ok(ObjectNames::default())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<ObjectNames, E> {
        Ok(ObjectNames::default())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<ObjectNames, E> {
        Ok(ObjectNames::default())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<ObjectNames, E> {
        Ok(ObjectNames::default())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<ObjectNames, E> {
        Ok(ObjectNames::default())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<ObjectNames, E> {
        Ok(ObjectNames::default())
    }
}

/// One element of `bbox_objects`: its `name` (a string, or the first of a list), if any.
struct NameOf(Option<String>);

impl<'de> Deserialize<'de> for NameOf {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ElementVisitor;
        impl<'de> serde::de::Visitor<'de> for ElementVisitor {
            type Value = NameOf;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<NameOf, A::Error> {
                let mut name = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "name" && name.is_none() {
                        name = first_string(&map.next_value::<Value>()?);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(NameOf(name))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<NameOf, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(NameOf(None))
            }

            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<NameOf, E> {
                Ok(NameOf(None))
            }

            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<NameOf, E> {
                Ok(NameOf(None))
            }

            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<NameOf, E> {
                Ok(NameOf(None))
            }

            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<NameOf, E> {
                Ok(NameOf(None))
            }

            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<NameOf, E> {
                Ok(NameOf(None))
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<NameOf, E> {
                Ok(NameOf(None))
            }
        }
        deserializer.deserialize_any(ElementVisitor)
    }
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
        self.bbox_objects.0.clone()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plate_json_keeps_only_its_objects_names_whatever_else_it_holds() {
        let plate = parse_plate(
            "Metadata/plate_1.json",
            br#"{"bed_type":"textured_plate","nozzle_diameter":0.4000000059604645,
                 "bbox_objects":[{"area":1.5,"bbox":[1,2,3,4],"name":"bracket.stl","id":1},
                                 {"id":2},{"name":["hinge.stl"]},7,"x",[1,2]]}"#,
        )
        .unwrap();
        assert_eq!(plate.object_names(), vec!["bracket.stl", "hinge.stl"]);
        assert_eq!(plate.bed_type().as_deref(), Some("textured_plate"));
        assert_eq!(plate.nozzle_diameter(), Some(0.4));
        for odd in [
            r#"{"bbox_objects":{"a":1}}"#,
            r#"{"bbox_objects":null}"#,
            r#"{"bbox_objects":3}"#,
            "{}",
        ] {
            let plate = parse_plate("Metadata/plate_1.json", odd.as_bytes()).unwrap();
            assert!(plate.object_names().is_empty(), "{odd}");
        }
    }
}
