//! The farm's catalogue vocabulary: colour presets (a named colour of one filament type)
//! and build plate types, as a client names them.

use crate::printers::HexColour;
use crate::validation::Invalid;

/// The longest colour, plate or filament-type name kept.
pub const MAX_NAME: usize = 100;
/// The longest plate description kept.
pub const MAX_DESCRIPTION: usize = 1_000;

/// Filament types as Bambu Studio names them, in the spelling the farm sees everywhere
/// (a type written in another case is taken in this spelling).
pub const FILAMENT_TYPES: &[&str] = &[
    "PLA", "PLA-CF", "PETG", "PETG-CF", "PET-CF", "ABS", "ASA", "TPU", "PA", "PA-CF", "PAHT-CF",
    "PC", "PVA", "HIPS", "PPS", "Support",
];

/// The build plates a Bambu farm has, offered by `POST /plates/seed-defaults`:
/// (name, what it is for).
pub const DEFAULT_PLATES: &[(&str, &str)] = &[
    (
        "Cool Plate",
        "Smooth cool plate for PLA and PLA blends at low bed temperatures",
    ),
    (
        "Cool Plate SuperTack",
        "High-adhesion cool plate for PLA without glue",
    ),
    (
        "Engineering Plate",
        "For PETG, ABS, ASA, PC and nylons, with glue",
    ),
    (
        "High Temp Plate",
        "Smooth high-temperature plate for PETG, ABS, ASA and PC",
    ),
    (
        "Textured PEI Plate",
        "Textured PEI: PLA, PETG, ABS and TPU release when cool",
    ),
    ("Smooth PEI Plate", "Smooth PEI for a glossy bottom face"),
];

/// A name a client chose (colour, plate): trimmed, not empty, at most [`MAX_NAME`] characters.
pub fn parse_name(field: &str, raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Invalid::field(field, format!("{field} must not be empty")));
    }
    if name.chars().count() > MAX_NAME {
        return Err(Invalid::field(
            field,
            format!("{field} must be at most {MAX_NAME} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Invalid::field(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(name.to_string())
}

/// A filament type: a known type in its usual spelling (`pla` → `PLA`), any other name as
/// written (farms use their own, such as `Nylon` or `Silk PLA`).
pub fn parse_filament_type(field: &str, raw: &str) -> Result<String, Invalid> {
    let name = parse_name(field, raw)?;
    Ok(FILAMENT_TYPES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(&name))
        .map_or(name, |known| (*known).to_string()))
}

/// An optional description: trimmed, empty is none, at most [`MAX_DESCRIPTION`] characters.
pub fn parse_description(field: &str, raw: &str) -> Result<Option<String>, Invalid> {
    let text = raw.trim();
    if text.chars().count() > MAX_DESCRIPTION {
        return Err(Invalid::field(
            field,
            format!("{field} must be at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

/// A colour preset as a client sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColourPreset {
    /// What the farm calls the colour ("Forest Green").
    pub name: String,
    /// Its colour.
    pub hex: HexColour,
    /// The filament type it is a colour of.
    pub filament_type: String,
    /// Offered when choosing a colour.
    pub is_active: bool,
}

impl ColourPreset {
    /// Reads a whole preset, naming every field that is wrong (`prefix` names its place in a
    /// batch: `colors[2].`).
    pub fn parse(
        prefix: &str,
        name: Option<&str>,
        hex: Option<&str>,
        filament_type: Option<&str>,
        is_active: Option<bool>,
    ) -> Result<ColourPreset, Invalid> {
        let mut invalid = Invalid::default();
        let field = |name: &str| format!("{prefix}{name}");
        fn required<'v>(field: &str, value: Option<&'v str>) -> Result<&'v str, Invalid> {
            value.ok_or_else(|| Invalid::field(field, format!("{field} is required")))
        }
        let name = invalid.take(
            required(&field("color_name"), name).and_then(|v| parse_name(&field("color_name"), v)),
        );
        let hex = invalid.take(
            required(&field("hex_code"), hex).and_then(|v| HexColour::parse(&field("hex_code"), v)),
        );
        let filament_type = invalid.take(
            required(&field("filament_type"), filament_type)
                .and_then(|v| parse_filament_type(&field("filament_type"), v)),
        );
        invalid.into_result()?;
        match (name, hex, filament_type) {
            (Some(name), Some(hex), Some(filament_type)) => Ok(ColourPreset {
                name,
                hex,
                filament_type,
                is_active: is_active.unwrap_or(true),
            }),
            // Each is Some when no error was collected.
            _ => Err(Invalid::field(&field("color_name"), "incomplete colour")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_filament_type_takes_its_usual_spelling_and_others_stay_as_written() {
        assert_eq!(parse_filament_type("t", " petg ").unwrap(), "PETG");
        assert_eq!(parse_filament_type("t", "pla-cf").unwrap(), "PLA-CF");
        assert_eq!(parse_filament_type("t", "Nylon").unwrap(), "Nylon");
        assert!(parse_filament_type("t", "  ").is_err());
    }

    #[test]
    fn a_colour_preset_names_every_wrong_field_at_its_place_in_a_batch() {
        let err =
            ColourPreset::parse("colors[2].", Some(""), Some("#12345"), None, None).unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "colors[2].color_name",
                "colors[2].hex_code",
                "colors[2].filament_type"
            ]
        );
    }

    #[test]
    fn a_colour_preset_is_trimmed_upper_cased_and_active_unless_said() {
        let preset =
            ColourPreset::parse("", Some(" Sunny D "), Some("ff9100"), Some("pla"), None).unwrap();
        assert_eq!(preset.name, "Sunny D");
        assert_eq!(preset.hex.as_str(), "#FF9100");
        assert_eq!(preset.filament_type, "PLA");
        assert!(preset.is_active);
    }

    #[test]
    fn names_are_bounded_and_printable() {
        assert!(parse_name("name", &"x".repeat(MAX_NAME)).is_ok());
        assert!(parse_name("name", &"x".repeat(MAX_NAME + 1)).is_err());
        assert!(parse_name("name", "bad\u{7}name").is_err());
        assert_eq!(parse_description("d", "  ").unwrap(), None);
    }
}
