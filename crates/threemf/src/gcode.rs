//! The comment header at the top of `plate_N.gcode`.
//!
//! Only the header is read: the G-code body can be hundreds of megabytes,
//! and everything a farm needs from it (layer count, estimated time) sits in
//! the first few hundred bytes.

use std::io::{BufRead, BufReader, Read};

/// Values from the G-code header.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// `; total layer number: 42`
    pub layer_count: Option<u32>,
    /// `total estimated time: 15m 26s`, or the older
    /// `estimated printing time (normal mode) = 1h 28m 7s`.
    pub estimated_seconds: Option<u64>,
}

/// Longest line looked at; longer lines (custom G-code blobs in the config
/// block) are skipped without being kept in memory.
const MAX_LINE: usize = 4096;

/// Reads header lines from `reader` until the header block ends, a non-
/// comment line starts the body, or `max_bytes` have been read.
///
/// Hitting the byte cap is not an error: the values simply stay unknown.
/// Read errors end the scan the same way, because a truncated or damaged
/// body must not make an otherwise good file unreadable; limit violations
/// are still reported by the caller, which checks the bounded reader.
pub(crate) fn read_header(reader: &mut dyn Read, max_bytes: u64) -> Header {
    let mut header = Header::default();
    let mut lines = BufReader::with_capacity(8 * 1024, reader.take(max_bytes));
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        // Read at most MAX_LINE + 1 bytes of this line, then skip the rest.
        let n = match lines
            .by_ref()
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if n > MAX_LINE && line.last() != Some(&b'\n') {
            if skip_rest_of_line(&mut lines).is_err() {
                break;
            }
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let Some(comment) = text.strip_prefix(';') else {
            // First command: the header is over.
            break;
        };
        let comment = comment.trim();
        if comment.eq_ignore_ascii_case("HEADER_BLOCK_END")
            || comment.starts_with("CONFIG_BLOCK_START")
            || comment.starts_with("EXECUTABLE_BLOCK_START")
        {
            break;
        }
        apply_line(&mut header, comment);
    }
    header
}

/// Discards bytes up to and including the next newline.
fn skip_rest_of_line(r: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            r.consume(i + 1);
            return Ok(());
        }
        let len = buf.len();
        r.consume(len);
    }
}

/// Applies one comment line (without the leading `;`). A line may hold
/// several `key: value` pairs separated by `;`, as in
/// `model printing time: 9m 28s; total estimated time: 15m 26s`.
fn apply_line(header: &mut Header, comment: &str) {
    for part in comment.split(';') {
        let Some((key, value)) = split_pair(part) else {
            continue;
        };
        match key.as_str() {
            "total layer number" | "total layers count" => {
                if let Ok(n) = value.parse() {
                    header.layer_count = Some(n);
                }
            }
            // The total includes preparation (bed levelling, heating),
            // matching slice_info's `prediction`; it wins over the older
            // key if both appear.
            "total estimated time" => {
                if let Some(s) = parse_duration(value) {
                    header.estimated_seconds = Some(s);
                }
            }
            "estimated printing time (normal mode)" if header.estimated_seconds.is_none() => {
                header.estimated_seconds = parse_duration(value);
            }
            _ => {}
        }
    }
}

/// Splits `key: value` or `key = value`, lowercasing the key.
fn split_pair(part: &str) -> Option<(String, &str)> {
    let idx = part.find([':', '='])?;
    let key = part[..idx].trim().to_ascii_lowercase();
    let value = part[idx + 1..].trim();
    Some((key, value))
}

/// Parses a slicer duration such as `15m 26s`, `1h 2m 3s` or `2d 1h` into
/// seconds.
///
/// Each piece is a whole number followed by `d`, `h`, `m` or `s`; pieces may
/// be separated by spaces or written together (`1h2m`). Anything else
/// (empty text, unknown units, a bare number, overflow) gives `None`, so a
/// caller never stores a wrong time for a format it does not understand.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut pieces = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        let after = rest[digits..].trim_start();
        let mut chars = after.chars();
        let unit = match chars.next()?.to_ascii_lowercase() {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        pieces += 1;
        rest = chars.as_str().trim_start();
    }
    (pieces > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m 26s"), Some(926));
        assert_eq!(parse_duration("1h 2m 3s"), Some(3723));
        assert_eq!(parse_duration("2d 1h"), Some(2 * 86_400 + 3_600));
        assert_eq!(parse_duration("1d 2h"), Some(93_600));
        assert_eq!(parse_duration("  9m 28s "), Some(568));
        assert_eq!(parse_duration("1h2m3s"), Some(3723));
        assert_eq!(parse_duration("0s"), Some(0));
        assert_eq!(parse_duration("45s"), Some(45));
    }

    #[test]
    fn duration_garbage() {
        for bad in [
            "",
            "   ",
            "garbage",
            "15",
            "15x",
            "m",
            "1h 2",
            "1.5h",
            "-3m",
            "1h, 2m",
            "h1",
            "99999999999999999999d",
            "18446744073709551615d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    fn header(text: &str) -> Header {
        read_header(&mut text.as_bytes(), 256 * 1024)
    }

    #[test]
    fn bambu_2x_header() {
        let h = header(
            "; HEADER_BLOCK_START\n; BambuStudio 02.01.01.52\n\
             ; model printing time: 9m 28s; total estimated time: 15m 26s\n\
             ; total layer number: 42\n; HEADER_BLOCK_END\n\n; CONFIG_BLOCK_START\n\
             ; total layer number: 7\n",
        );
        assert_eq!(
            h,
            Header {
                layer_count: Some(42),
                estimated_seconds: Some(926)
            }
        );
    }

    #[test]
    fn older_header_and_crlf() {
        let h = header(
            "; HEADER_BLOCK_START\r\n; estimated printing time (normal mode) = 1h 28m 7s\r\n\
             ; total layer number: 350\r\n; HEADER_BLOCK_END\r\n",
        );
        assert_eq!(h.layer_count, Some(350));
        assert_eq!(h.estimated_seconds, Some(5287));
    }

    #[test]
    fn stops_at_first_command_and_at_cap() {
        let h = header("G28\n; total layer number: 5\n");
        assert_eq!(h.layer_count, None);
        // The cap cuts the header before the layer line.
        let text = "; HEADER_BLOCK_START\n; total layer number: 5\n";
        let h = read_header(&mut text.as_bytes(), 10);
        assert_eq!(h.layer_count, None);
    }

    #[test]
    fn overlong_lines_are_skipped() {
        let long = format!("; junk {}\n; total layer number: 9\n", "x".repeat(10_000));
        assert_eq!(header(&long).layer_count, Some(9));
    }
}
