//! Lenient parsing of the text values the slicer writes. A value that does
//! not parse is reported as unknown (`None`) rather than failing the file:
//! one odd field must not hide everything else a user needs to see.

/// Trimmed, owned text; empty counts as absent (Studio writes `value=""`
/// for unset fields, e.g. `printer_model_id` from CLI slices).
pub(crate) fn non_empty(s: Option<&str>) -> Option<String> {
    let s = s?.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    s.trim().parse().ok()
}

/// A finite decimal number.
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

/// The first number of a list such as `0.4`, `0.4,0.4` or `0.4 0.6`.
pub(crate) fn first_f64(s: &str) -> Option<f64> {
    s.split([',', ';', ' '])
        .map(str::trim)
        .find(|p| !p.is_empty())
        .and_then(parse_f64)
}

/// Whole seconds; a fractional value is rounded, a negative one rejected.
pub(crate) fn parse_seconds(s: &str) -> Option<u64> {
    if let Ok(n) = s.trim().parse::<u64>() {
        return Some(n);
    }
    let f = parse_f64(s)?;
    // Upper bound keeps the cast exact and rejects absurd values.
    (0.0..1e15).contains(&f).then(|| f.round() as u64)
}

/// Normalises a colour to `#RRGGBB` uppercase. Accepts `#RRGGBB`, `RRGGBB`
/// and the `RRGGBBAA` form MQTT and some files use (alpha dropped, since
/// farm colours are opaque filament).
pub(crate) fn normalise_colour(s: &str) -> Option<String> {
    let hex = s.trim();
    let hex = hex.strip_prefix('#').unwrap_or(hex);
    if !(hex.len() == 6 || hex.len() == 8) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!("#{}", hex[..6].to_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        assert_eq!(normalise_colour("#F7D959").as_deref(), Some("#F7D959"));
        assert_eq!(normalise_colour("f7d959").as_deref(), Some("#F7D959"));
        assert_eq!(normalise_colour("#00AE42FF").as_deref(), Some("#00AE42"));
        assert_eq!(normalise_colour("#12345"), None);
        assert_eq!(normalise_colour("red"), None);
        assert_eq!(normalise_colour("#ÄÄÄ"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(first_f64("0.4,0.6"), Some(0.4));
        assert_eq!(first_f64(""), None);
        assert_eq!(parse_seconds("926"), Some(926));
        assert_eq!(parse_seconds("926.6"), Some(927));
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("NaN"), None);
        assert_eq!(parse_f64("inf"), None);
        assert_eq!(non_empty(Some("  ")), None);
    }
}
