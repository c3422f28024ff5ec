//! The Pi's odd values made regular: pure functions, each returning the value PrintFarm
//! stores and, when that differs from what the Pi held, why (the report lists each).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::source::PiValue;

/// A value changed on the way in, and the rule that changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// What the Pi held, as text.
    pub from: String,
    /// What is stored (`None`: NULL).
    pub to: Option<String>,
    /// The rule, in a few words (the report groups by it).
    pub rule: &'static str,
}

/// A normalised value: what to store, and the rewrite when it is not what the Pi held.
pub type Normalised = (Option<String>, Option<Rewrite>);

fn unchanged(value: Option<String>) -> Normalised {
    (value, None)
}

fn rewritten(from: &PiValue, to: Option<String>, rule: &'static str) -> Normalised {
    let from = match from {
        PiValue::Null => "NULL".to_string(),
        PiValue::Blob(n) => format!("<{n} bytes>"),
        other => other.as_text().unwrap_or_default(),
    };
    (to.clone(), Some(Rewrite { from, to, rule }))
}

/// Text: an empty or blank string is NULL (the Pi wrote `''` for "none").
pub fn text(value: &PiValue) -> Normalised {
    match value {
        PiValue::Text(t) if t.trim().is_empty() => rewritten(value, None, "empty text is null"),
        PiValue::Blob(_) => rewritten(value, None, "binary value dropped"),
        other => unchanged(other.as_text()),
    }
}

/// Text a column requires: blank stays what `default` says.
pub fn required_text(value: &PiValue, default: &str) -> Normalised {
    match text(value) {
        (Some(t), rewrite) => (Some(t), rewrite),
        (None, _) => rewritten(value, Some(default.to_string()), "missing required text"),
    }
}

/// An integer: integer text read as a number, a whole float as an integer.
pub fn integer(value: &PiValue) -> Normalised {
    match value {
        PiValue::Int(i) => unchanged(Some(i.to_string())),
        PiValue::Null => unchanged(None),
        PiValue::Real(f) if f.fract() == 0.0 && f.is_finite() => {
            rewritten(value, Some(format!("{}", *f as i64)), "whole number")
        }
        PiValue::Real(f) if f.is_finite() => rewritten(
            value,
            Some(format!("{}", f.round() as i64)),
            "rounded to a whole number",
        ),
        PiValue::Text(t) if t.trim().is_empty() => rewritten(value, None, "empty text is null"),
        PiValue::Text(t) => match t.trim().parse::<i64>() {
            Ok(i) => rewritten(value, Some(i.to_string()), "number given as text"),
            Err(_) => match t.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => rewritten(
                    value,
                    Some(format!("{}", f.round() as i64)),
                    "number given as text",
                ),
                _ => rewritten(value, None, "not a number: dropped"),
            },
        },
        _ => rewritten(value, None, "not a number: dropped"),
    }
}

/// A float.
pub fn real(value: &PiValue) -> Normalised {
    match value {
        PiValue::Real(f) if f.is_finite() => unchanged(Some(f.to_string())),
        PiValue::Int(i) => unchanged(Some(i.to_string())),
        PiValue::Null => unchanged(None),
        PiValue::Text(t) if t.trim().is_empty() => rewritten(value, None, "empty text is null"),
        PiValue::Text(t) => match t.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => rewritten(value, Some(f.to_string()), "number given as text"),
            _ => rewritten(value, None, "not a number: dropped"),
        },
        _ => rewritten(value, None, "not a number: dropped"),
    }
}

/// A 0/1 flag: the Pi's booleans are 0/1, sometimes `'true'`/`'false'`; NULL is `default`.
pub fn flag(value: &PiValue, default: bool) -> Normalised {
    let as_flag = |b: bool| Some(if b { "1" } else { "0" }.to_string());
    match value {
        PiValue::Int(0) => unchanged(as_flag(false)),
        PiValue::Int(1) => unchanged(as_flag(true)),
        PiValue::Int(i) => rewritten(value, as_flag(*i != 0), "flag as a number"),
        PiValue::Null => unchanged(as_flag(default)),
        PiValue::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "t" | "yes" | "y" => rewritten(value, as_flag(true), "flag as text"),
            "0" | "false" | "f" | "no" | "n" => rewritten(value, as_flag(false), "flag as text"),
            "" => rewritten(value, as_flag(default), "empty text is null"),
            _ => rewritten(value, as_flag(default), "not a flag: default"),
        },
        _ => rewritten(value, as_flag(default), "not a flag: default"),
    }
}

/// A moment, stored in PrintFarm's one UTC format (`2025-10-01T00:52:28.907Z`).
///
/// The Pi wrote Python's `str(datetime)` (`2025-10-01 00:52:28.907856`, sometimes with
/// `+00:00`), ISO with a `T`, plain dates, and now and then Unix seconds or milliseconds.
/// Times without a zone were written by the Pi in UTC and are read so. Rewriting the
/// format is not reported per value (every timestamp would be); a moved zone, a number
/// and an unreadable text are.
pub fn timestamp(value: &PiValue) -> Normalised {
    match value {
        PiValue::Null => unchanged(None),
        PiValue::Int(n) => match epoch(*n) {
            Some(at) => rewritten(value, Some(domain::time::format(at)), "Unix time"),
            None => rewritten(value, None, "unreadable time: dropped"),
        },
        PiValue::Real(f) if f.is_finite() => match epoch(*f as i64) {
            Some(at) => rewritten(value, Some(domain::time::format(at)), "Unix time"),
            None => rewritten(value, None, "unreadable time: dropped"),
        },
        PiValue::Text(t) if t.trim().is_empty() => rewritten(value, None, "empty text is null"),
        PiValue::Text(t) => match parse_time(t.trim()) {
            Some((at, zoned)) => {
                let text = domain::time::format(at);
                if zoned {
                    rewritten(value, Some(text), "time in another zone, moved to UTC")
                } else {
                    unchanged(Some(text))
                }
            }
            None => match t.trim().parse::<i64>() {
                Ok(n) => match epoch(n) {
                    Some(at) => rewritten(value, Some(domain::time::format(at)), "Unix time"),
                    None => rewritten(value, None, "unreadable time: dropped"),
                },
                Err(_) => rewritten(value, None, "unreadable time: dropped"),
            },
        },
        _ => rewritten(value, None, "unreadable time: dropped"),
    }
}

/// A required moment: a missing or unreadable one becomes `fallback` (reported).
pub fn required_timestamp(value: &PiValue, fallback: &str) -> Normalised {
    match timestamp(value) {
        (Some(t), rewrite) => (Some(t), rewrite),
        (None, _) => rewritten(value, Some(fallback.to_string()), "missing time: set"),
    }
}

/// A calendar day (`2025-11-05`), from a date or a moment.
pub fn date(value: &PiValue) -> Normalised {
    if let PiValue::Text(t) = value {
        let t = t.trim();
        if NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok() {
            return unchanged(Some(t.to_string()));
        }
    }
    match timestamp(value) {
        (Some(at), _) => rewritten(value, Some(at[..10].to_string()), "moment read as its day"),
        (None, rewrite) => (None, rewrite),
    }
}

/// The moment of `n` seconds or milliseconds since 1970 (either, by size).
fn epoch(n: i64) -> Option<DateTime<Utc>> {
    if n > 100_000_000_000 {
        Utc.timestamp_millis_opt(n).single()
    } else if n > 0 {
        Utc.timestamp_opt(n, 0).single()
    } else {
        None
    }
}

/// Reads a Pi time text; the flag says whether it carried a zone other than UTC.
fn parse_time(text: &str) -> Option<(DateTime<Utc>, bool)> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some((at.with_timezone(&Utc), at.offset().local_minus_utc() != 0));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(at) = DateTime::parse_from_str(text, format) {
            return Some((at.with_timezone(&Utc), at.offset().local_minus_utc() != 0));
        }
    }
    let naive = text.strip_suffix('Z').unwrap_or(text);
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(naive, format) {
            return Some((at.and_utc(), false));
        }
    }
    NaiveDate::parse_from_str(naive, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|at| (at.and_utc(), false))
}

/// Whether `text` is a hex colour (`#1b4c0e`, `1b4c0e`, `#fff`).
pub fn is_hex_colour(text: &str) -> bool {
    let hex = text.trim().strip_prefix('#').unwrap_or(text.trim());
    matches!(hex.len(), 3 | 6 | 8) && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// A hex colour as `#rrggbb` in lower case (`#FFF` → `#ffffff`); anything else as text.
pub fn hex_colour(value: &PiValue) -> Normalised {
    let (text_value, rewrite) = text(value);
    let Some(t) = text_value else {
        return (None, rewrite);
    };
    if !is_hex_colour(&t) {
        return rewritten(value, None, "not a hex colour: dropped");
    }
    let hex = t.trim().trim_start_matches('#').to_ascii_lowercase();
    let hex = match hex.len() {
        3 => hex.chars().flat_map(|c| [c, c]).collect(),
        8 => hex[..6].to_string(),
        _ => hex,
    };
    let clean = format!("#{hex}");
    if clean == t {
        unchanged(Some(clean))
    } else {
        rewritten(value, Some(clean), "hex colour written as #rrggbb")
    }
}

/// A filament type (`PLA`, `PETG`): the Pi sometimes stored the colour's hex code there.
/// A hex code gives way to `material` (the row's material column) or else `PLA`, and
/// the hex is returned for the row's colour.
pub fn filament_type(value: &PiValue, material: Option<&str>) -> (Normalised, Option<String>) {
    let (t, rewrite) = text(value);
    match t {
        Some(t) if is_hex_colour(&t) => {
            let to = material
                .filter(|m| !m.trim().is_empty() && !is_hex_colour(m))
                .unwrap_or("PLA")
                .trim()
                .to_string();
            let hex = hex_colour(&PiValue::Text(t)).0;
            (
                rewritten(value, Some(to), "hex colour in filament_type"),
                hex,
            )
        }
        other => ((other, rewrite), None),
    }
}

/// A price in cents: integers are cents already; text (`"4.80"`, `"$4.80"`, `"4,80"`) and
/// floats are currency units.
pub fn price_cents(value: &PiValue) -> Normalised {
    match value {
        PiValue::Int(i) => unchanged(Some(i.to_string())),
        PiValue::Null => unchanged(None),
        PiValue::Real(f) if f.is_finite() => rewritten(
            value,
            Some(format!("{}", (f * 100.0).round() as i64)),
            "price in currency units, stored in cents",
        ),
        PiValue::Text(t) => {
            let cleaned: String = t
                .trim()
                .trim_start_matches(['$', '€', '£'])
                .trim_end_matches(|c: char| c.is_ascii_alphabetic() || c.is_whitespace())
                .replace(',', ".")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if cleaned.is_empty() {
                return rewritten(value, None, "empty text is null");
            }
            if let Ok(cents) = cleaned.parse::<i64>()
                && !t.contains(['$', '€', '£', '.', ','])
            {
                return rewritten(value, Some(cents.to_string()), "price as text");
            }
            match cleaned.parse::<f64>() {
                Ok(units) if units.is_finite() && units >= 0.0 => rewritten(
                    value,
                    Some(format!("{}", (units * 100.0).round() as i64)),
                    "price as text, stored in cents",
                ),
                _ => rewritten(value, None, "unreadable price: dropped"),
            }
        }
        _ => rewritten(value, None, "unreadable price: dropped"),
    }
}

/// A product's printer priority: PrintFarm keeps a JSON list of model names as printers
/// name their model (`A1`, `P1S`); the Pi mixed names with model codes (`N2S`, `C12`).
/// Entries that name no known model are kept as written (and reported).
pub fn printer_priority(value: &PiValue) -> (Normalised, Vec<String>) {
    let (t, rewrite) = text(value);
    let Some(t) = t else {
        return ((None, rewrite), Vec::new());
    };
    let entries: Vec<String> = match serde_json::from_str::<Vec<serde_json::Value>>(&t) {
        Ok(list) => list
            .into_iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect(),
        Err(_) => t.split(',').map(|s| s.trim().to_string()).collect(),
    };
    let mut names: Vec<String> = Vec::new();
    let mut unknown = Vec::new();
    for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let name = match model_name(entry) {
            Some(name) => name.to_string(),
            None => {
                unknown.push(entry.to_string());
                entry.to_string()
            }
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let stored = (!names.is_empty()).then(|| serde_json::json!(names).to_string());
    if stored.as_deref() == Some(t.as_str()) {
        ((stored, None), unknown)
    } else {
        (
            rewritten(value, stored, "printer models given as codes"),
            unknown,
        )
    }
}

/// The model name printers use for a model name or code (`N2S` → `A1`, `x1c` → `X1C`).
pub fn model_name(entry: &str) -> Option<&'static str> {
    const NAMES: [(&str, &str); 7] = [
        ("X1C", "X1C"),
        ("X1", "X1"),
        ("X1E", "X1E"),
        ("P1P", "P1P"),
        ("P1S", "P1S"),
        ("A1", "A1"),
        ("A1 mini", "A1 mini"),
    ];
    let trimmed = entry.trim();
    if let Some((_, name)) = NAMES.iter().find(|(n, _)| {
        n.eq_ignore_ascii_case(trimmed) || n.replace(' ', "").eq_ignore_ascii_case(trimmed)
    }) {
        return Some(name);
    }
    bambu::Model::from_code(trimmed).map(|model| match model {
        bambu::Model::X1C => "X1C",
        bambu::Model::X1 => "X1",
        bambu::Model::X1E => "X1E",
        bambu::Model::P1P => "P1P",
        bambu::Model::P1S => "P1S",
        bambu::Model::A1 => "A1",
        bambu::Model::A1Mini => "A1 mini",
    })
}

/// A status mapped through `map` (Pi value → PrintFarm value); an unknown one is
/// `fallback`, reported.
pub fn status(value: &PiValue, map: &[(&str, &'static str)], fallback: &'static str) -> Normalised {
    let t = value.as_text().map(|t| t.trim().to_ascii_lowercase());
    match t.as_deref() {
        Some(s) => match map.iter().find(|(from, _)| *from == s) {
            Some((from, to)) if from == to => unchanged(Some(to.to_string())),
            Some((_, to)) => rewritten(value, Some(to.to_string()), "status mapped"),
            None => rewritten(value, Some(fallback.to_string()), "unknown status"),
        },
        None => rewritten(value, Some(fallback.to_string()), "missing status"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> PiValue {
        PiValue::Text(s.to_string())
    }

    #[test]
    fn every_pi_time_format_reads_as_the_same_utc_moment() {
        for written in [
            "2025-10-01 00:52:28.907856",
            "2025-10-01 00:52:28.907856+00:00",
            "2025-10-01T00:52:28.907856",
            "2025-10-01T00:52:28.907Z",
            "2025-10-01T02:52:28.907856+02:00",
        ] {
            assert_eq!(
                timestamp(&t(written)).0.as_deref(),
                Some("2025-10-01T00:52:28.907Z"),
                "{written}"
            );
        }
        assert_eq!(
            timestamp(&t("2025-11-02 04:08:21")).0.as_deref(),
            Some("2025-11-02T04:08:21.000Z")
        );
        // A format rewrite is not reported; a zone move, a Unix time and garbage are.
        assert!(timestamp(&t("2025-10-01 00:52:28.907856")).1.is_none());
        assert_eq!(
            timestamp(&t("2025-10-01T02:52:28+02:00")).1.map(|r| r.rule),
            Some("time in another zone, moved to UTC")
        );
        let (value, rewrite) = timestamp(&PiValue::Int(1_759_279_948));
        assert_eq!(value.as_deref(), Some("2025-10-01T00:52:28.000Z"));
        assert_eq!(rewrite.map(|r| r.rule), Some("Unix time"));
        assert_eq!(
            timestamp(&PiValue::Int(1_759_279_948_907)).0.as_deref(),
            Some("2025-10-01T00:52:28.907Z")
        );
        let (value, rewrite) = timestamp(&t("last tuesday"));
        assert_eq!(value, None);
        assert_eq!(rewrite.map(|r| r.from), Some("last tuesday".to_string()));
        assert_eq!(timestamp(&t("")).0, None);
        assert_eq!(date(&t("2025-11-05")).0.as_deref(), Some("2025-11-05"));
        assert_eq!(
            date(&t("2025-11-05 10:00:00")).0.as_deref(),
            Some("2025-11-05")
        );
    }

    #[test]
    fn prices_as_text_become_cents() {
        assert_eq!(price_cents(&PiValue::Int(480)).0.as_deref(), Some("480"));
        assert!(price_cents(&PiValue::Int(480)).1.is_none());
        for written in ["4.80", "$4.80", "4,80", " 4.8 USD"] {
            let (value, rewrite) = price_cents(&t(written));
            assert_eq!(value.as_deref(), Some("480"), "{written}");
            assert!(rewrite.is_some());
        }
        assert_eq!(price_cents(&t("480")).0.as_deref(), Some("480"));
        assert_eq!(price_cents(&PiValue::Real(4.8)).0.as_deref(), Some("480"));
        assert_eq!(price_cents(&t("free")).0, None);
        assert_eq!(price_cents(&t("")).0, None);
    }

    #[test]
    fn a_hex_colour_in_filament_type_gives_way_to_the_material() {
        let ((value, rewrite), hex) = filament_type(&t("#1B4C0E"), Some("PETG"));
        assert_eq!(value.as_deref(), Some("PETG"));
        assert_eq!(hex.as_deref(), Some("#1b4c0e"));
        assert_eq!(rewrite.map(|r| r.rule), Some("hex colour in filament_type"));
        assert_eq!(
            filament_type(&t("1b4c0e"), None).0.0.as_deref(),
            Some("PLA")
        );
        let ((value, rewrite), hex) = filament_type(&t("PLA"), Some("PLA"));
        assert_eq!((value.as_deref(), rewrite, hex), (Some("PLA"), None, None));
    }

    #[test]
    fn printer_priorities_name_models_as_printers_do() {
        let ((value, rewrite), unknown) =
            printer_priority(&t(r#"["P1P","X1C","N1","N2S","P1S","X1","X1E"]"#));
        assert_eq!(
            value.as_deref(),
            Some(r#"["P1P","X1C","A1 mini","A1","P1S","X1","X1E"]"#)
        );
        assert!(rewrite.is_some() && unknown.is_empty());
        let ((value, _), unknown) = printer_priority(&t("C12, Ender 3"));
        assert_eq!(value.as_deref(), Some(r#"["P1S","Ender 3"]"#));
        assert_eq!(unknown, vec!["Ender 3".to_string()]);
        let ((value, rewrite), _) = printer_priority(&t(r#"["P1S","A1"]"#));
        assert_eq!((value.as_deref(), rewrite), (Some(r#"["P1S","A1"]"#), None));
        assert_eq!(printer_priority(&t("")).0.0, None);
    }

    #[test]
    fn empty_text_flags_and_numbers() {
        assert_eq!(text(&t("  ")).0, None);
        assert_eq!(text(&t("  ")).1.map(|r| r.rule), Some("empty text is null"));
        assert_eq!(flag(&t("true"), false).0.as_deref(), Some("1"));
        assert_eq!(flag(&PiValue::Null, true).0.as_deref(), Some("1"));
        assert_eq!(integer(&t("12")).0.as_deref(), Some("12"));
        assert_eq!(integer(&t("twelve")).0, None);
        assert_eq!(hex_colour(&t("#FFF")).0.as_deref(), Some("#ffffff"));
        assert_eq!(hex_colour(&t("#1b4c0e")).1, None);
        let map = [("idle", "idle"), ("busy", "printing")];
        assert_eq!(
            status(&t("Busy"), &map, "offline").0.as_deref(),
            Some("printing")
        );
        assert_eq!(status(&t("idle"), &map, "offline").1, None);
        assert_eq!(
            status(&t("??"), &map, "offline").0.as_deref(),
            Some("offline")
        );
    }
}
