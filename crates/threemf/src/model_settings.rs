//! `Metadata/model_settings.config`: objects and which plate they sit on.
//! It is the only source of plates and objects in an unsliced project.

use crate::xml::{self, Attrs};
use crate::{ThreeMfError, num};

/// Entry name.
pub(crate) const ENTRY: &str = "Metadata/model_settings.config";

/// One `<object>`.
#[derive(Debug, Default)]
pub(crate) struct Object {
    pub id: Option<u64>,
    /// The object-level `name` metadata (parts have their own, ignored).
    pub name: Option<String>,
}

/// One `<plate>`.
#[derive(Debug, Default)]
pub(crate) struct Plate {
    pub index: Option<u32>,
    /// Per-plate bed type override, when the user set one.
    pub bed_type: Option<String>,
    /// `object_id` of each `<model_instance>`, in order.
    pub object_ids: Vec<u64>,
}

/// What model_settings says.
#[derive(Debug, Default)]
pub(crate) struct ModelSettings {
    pub objects: Vec<Object>,
    pub plates: Vec<Plate>,
}

/// Parses model_settings.
pub(crate) fn parse(bytes: &[u8]) -> Result<ModelSettings, ThreeMfError> {
    let text = xml::as_text(ENTRY, bytes)?;
    let mut out = ModelSettings::default();
    xml::walk(ENTRY, text, |ancestors, name, attrs| {
        let parent = ancestors.last().map(String::as_str);
        let grandparent = ancestors
            .len()
            .checked_sub(2)
            .and_then(|i| ancestors.get(i))
            .map(String::as_str);
        match (grandparent, parent, name) {
            (_, Some("config"), "object") => out.objects.push(Object {
                id: attrs.get("id").and_then(num::parse_u64),
                name: None,
            }),
            (_, Some("object"), "metadata") => {
                if let Some(object) = out.objects.last_mut()
                    && attrs.get("key") == Some("name")
                {
                    object.name = num::non_empty(attrs.get("value"));
                }
            }
            (_, Some("config"), "plate") => out.plates.push(Plate::default()),
            (_, Some("plate"), "metadata") => {
                if let Some(plate) = out.plates.last_mut() {
                    plate_metadata(plate, attrs);
                }
            }
            (Some("plate"), Some("model_instance"), "metadata") => {
                if let Some(plate) = out.plates.last_mut()
                    && attrs.get("key") == Some("object_id")
                    && let Some(id) = attrs.get("value").and_then(num::parse_u64)
                {
                    plate.object_ids.push(id);
                }
            }
            _ => {}
        }
    })?;
    Ok(out)
}

fn plate_metadata(plate: &mut Plate, attrs: &Attrs) {
    let value = attrs.get("value");
    match attrs.get("key") {
        Some("plater_id") => plate.index = value.and_then(num::parse_u32),
        Some("bed_type") => plate.bed_type = num::non_empty(value),
        _ => {}
    }
}
