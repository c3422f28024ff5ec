//! The one timestamp format stored and sent: RFC 3339, UTC, milliseconds, `Z`.
//!
//! Fixed width, so text comparison orders timestamps on SQLite and PostgreSQL alike.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats a UTC instant as stored in the database (`2026-11-25T06:55:51.123Z`).
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a stored timestamp; `None` when the text is not RFC 3339.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_are_fixed_width_and_round_trip() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let text = format(at);
        assert_eq!(text, "2026-01-02T03:04:05.000Z");
        assert_eq!(parse(&text), Some(at));
        assert_eq!(parse("yesterday"), None);
    }
}
