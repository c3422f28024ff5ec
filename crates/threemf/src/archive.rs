//! Opening the ZIP container safely and reading single entries within the
//! limits.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom};

use zip::ZipArchive;
use zip::result::ZipError;

use crate::limits::Bounded;
use crate::{Limits, ThreeMfError};

/// Per-plate entries found by name, keyed by 1-based plate index.
#[derive(Debug, Default)]
pub(crate) struct PlateEntries {
    /// `Metadata/plate_N.gcode`
    pub gcode: BTreeMap<u32, String>,
    /// `Metadata/plate_N.png`
    pub png: BTreeMap<u32, String>,
    /// `Metadata/plate_N.json`
    pub json: BTreeMap<u32, String>,
}

/// An opened, vetted archive plus the running byte budget of this call.
pub(crate) struct Archive<R> {
    zip: ZipArchive<R>,
    limits: Limits,
    /// Uncompressed bytes produced so far in this call.
    total_read: u64,
    /// Plate entries, found once at open time.
    pub plates: PlateEntries,
}

impl<R: Read + Seek> Archive<R> {
    /// Opens the archive and rejects it if it is not a ZIP, has too many
    /// entries, or has any unsafe or duplicate entry name.
    pub(crate) fn open(mut reader: R, limits: &Limits) -> Result<Self, ThreeMfError> {
        // Check the entry count the end record declares before the ZIP crate
        // parses (and allocates for) the whole central directory.
        if let Some(count) = declared_entry_count(&mut reader)?
            && count > limits.max_entries
        {
            return Err(ThreeMfError::TooManyEntries {
                count,
                limit: limits.max_entries,
            });
        }
        reader.seek(SeekFrom::Start(0))?;
        let zip = ZipArchive::new(reader).map_err(|e| ThreeMfError::NotAZip {
            detail: e.to_string(),
        })?;
        // The declared count may be a ZIP64 placeholder; check the real one.
        let count = zip.len() as u64;
        if count > limits.max_entries {
            return Err(ThreeMfError::TooManyEntries {
                count,
                limit: limits.max_entries,
            });
        }

        let mut plates = PlateEntries::default();
        for name in zip.file_names() {
            let name = name.map_err(|e| ThreeMfError::NotAZip {
                detail: e.to_string(),
            })?;
            if !is_safe_name(&name) {
                return Err(ThreeMfError::UnsafePath {
                    entry: name.into_owned(),
                });
            }
            if let Some((index, kind)) = plate_entry(&name) {
                let map = match kind {
                    PlateKind::Gcode => &mut plates.gcode,
                    PlateKind::Png => &mut plates.png,
                    PlateKind::Json => &mut plates.json,
                };
                map.entry(index).or_insert_with(|| name.into_owned());
            }
        }
        if zip.has_duplicate_names() {
            return Err(ThreeMfError::DuplicateEntries);
        }

        Ok(Self {
            zip,
            limits: *limits,
            total_read: 0,
            plates,
        })
    }

    /// Reads a whole entry of at most `cap` uncompressed bytes.
    /// `Ok(None)` when the entry does not exist.
    pub(crate) fn read_all(
        &mut self,
        name: &str,
        cap: u64,
    ) -> Result<Option<Vec<u8>>, ThreeMfError> {
        self.with_entry(name, cap, true, |r, declared| {
            // Don't trust the declared size for more than a modest head start.
            let hint = usize::try_from(declared.min(cap).min(1024 * 1024)).unwrap_or(0);
            let mut out = Vec::with_capacity(hint);
            r.read_to_end(&mut out)
                .map_err(|e| io_to_corrupt(name, &e))?;
            Ok(out)
        })
    }

    /// Runs `f` on a bounded reader over entry `name`. `f` gets the reader
    /// and the size the archive declares (a hint only).
    ///
    /// With `whole` set, the declared sizes are checked first so that an
    /// obviously oversized entry fails before any decompression. Streams
    /// that read only a prefix (the model's metadata, the G-code header)
    /// skip that check, since a large entry is fine when we stop early.
    ///
    /// Whatever `f` returns, a limit that was hit wins: a parser error
    /// caused by a cut-off stream must be reported as the limit.
    pub(crate) fn with_entry<T>(
        &mut self,
        name: &str,
        cap: u64,
        whole: bool,
        f: impl FnOnce(&mut dyn Read, u64) -> Result<T, ThreeMfError>,
    ) -> Result<Option<T>, ThreeMfError> {
        let budget_left = self.limits.max_total_bytes.saturating_sub(self.total_read);
        let limits = self.limits;
        let file = match self.zip.by_name(name) {
            Ok(file) => file,
            Err(ZipError::FileNotFound) => return Ok(None),
            Err(e) => {
                return Err(ThreeMfError::CorruptEntry {
                    entry: name.to_owned(),
                    detail: e.to_string(),
                });
            }
        };
        let declared = file.size();
        let compressed = file.compressed_size();
        if whole {
            // Ratio first: for a bomb, "zip bomb" says more than "too large".
            if declared > crate::limits::RATIO_FLOOR_BYTES
                && declared > compressed.saturating_mul(limits.max_ratio)
            {
                return Err(ThreeMfError::ZipBomb {
                    entry: name.to_owned(),
                });
            }
            if declared > cap {
                return Err(ThreeMfError::EntryTooLarge {
                    entry: name.to_owned(),
                    limit: cap,
                });
            }
        }
        let mut bounded = Bounded::new(file, compressed, cap, &limits, budget_left);
        let result = f(&mut bounded, declared);
        self.total_read = self.total_read.saturating_add(bounded.bytes_read());
        if let Some(trip) = bounded.trip() {
            return Err(trip.into_error(name));
        }
        result.map(Some)
    }
}

/// Maps a read error that was not a limit trip (those are checked by the
/// caller) to a corrupt-entry error.
pub(crate) fn io_to_corrupt(name: &str, e: &io::Error) -> ThreeMfError {
    ThreeMfError::CorruptEntry {
        entry: name.to_owned(),
        detail: e.to_string(),
    }
}

/// Reads the entry count from the end-of-central-directory record, if one
/// can be found and is not a ZIP64 placeholder. Cheap: at most 64 KiB from
/// the end of the file.
fn declared_entry_count<R: Read + Seek>(reader: &mut R) -> Result<Option<u64>, ThreeMfError> {
    const EOCD_SIG: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const EOCD_LEN: u64 = 22;
    let len = reader.seek(SeekFrom::End(0))?;
    if len < EOCD_LEN {
        return Err(ThreeMfError::NotAZip {
            detail: format!("only {len} bytes long"),
        });
    }
    // The record is 22 bytes plus a comment of at most 65535 bytes.
    let tail_len = len.min(EOCD_LEN + 65_535);
    reader.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = Vec::with_capacity(usize::try_from(tail_len).unwrap_or(0));
    reader.by_ref().take(tail_len).read_to_end(&mut tail)?;
    let Some(pos) = tail
        .windows(4)
        .rposition(|w| w == EOCD_SIG)
        .filter(|&p| p + EOCD_LEN as usize <= tail.len())
    else {
        // Let the ZIP reader produce the precise complaint.
        return Ok(None);
    };
    let total = u16::from_le_bytes([tail[pos + 10], tail[pos + 11]]);
    Ok((total != u16::MAX).then_some(u64::from(total)))
}

/// Whether an entry name is safe to keep: relative, forward slashes only,
/// no `..` component, no drive letter, no NUL.
fn is_safe_name(name: &str) -> bool {
    if name.is_empty() || name.starts_with('/') || name.contains('\\') || name.contains('\0') {
        return false;
    }
    let bytes = name.as_bytes();
    // `C:foo` or `C:/foo`: a Windows drive path.
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return false;
    }
    !name.split('/').any(|part| part == "..")
}

/// Kinds of per-plate entries the reader cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlateKind {
    Gcode,
    Png,
    Json,
}

/// Recognises `Metadata/plate_N.gcode|png|json` with N a positive integer
/// written without leading zeros (the only form Bambu Studio writes, and the
/// only one whose name can be rebuilt from the index).
fn plate_entry(name: &str) -> Option<(u32, PlateKind)> {
    let rest = name.strip_prefix("Metadata/plate_")?;
    let (digits, ext) = rest.split_once('.')?;
    let kind = match ext {
        "gcode" => PlateKind::Gcode,
        "png" => PlateKind::Png,
        "json" => PlateKind::Json,
        _ => return None,
    };
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(|index| (index, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names() {
        for bad in [
            "../evil",
            "/etc/passwd",
            "a/../../b",
            "a\\b",
            "C:/x",
            "c:x",
            "",
            "a/..",
            "x\0y",
        ] {
            assert!(!is_safe_name(bad), "{bad:?} should be unsafe");
        }
        for good in [
            "Metadata/plate_1.gcode",
            "Auxiliaries/Model Pictures/a.webp",
            "[Content_Types].xml",
            "a..b/c",
            "Metadata/",
        ] {
            assert!(is_safe_name(good), "{good:?} should be safe");
        }
    }

    #[test]
    fn plate_names() {
        assert_eq!(
            plate_entry("Metadata/plate_1.gcode"),
            Some((1, PlateKind::Gcode))
        );
        assert_eq!(
            plate_entry("Metadata/plate_12.png"),
            Some((12, PlateKind::Png))
        );
        assert_eq!(
            plate_entry("Metadata/plate_3.json"),
            Some((3, PlateKind::Json))
        );
        for no in [
            "Metadata/plate_1_small.png",
            "Metadata/plate_no_light_1.png",
            "Metadata/plate_1.gcode.md5",
            "Metadata/plate_01.gcode",
            "Metadata/plate_0.gcode",
            "Metadata/plate_.png",
            "Metadata/top_1.png",
            "Metadata/plate_99999999999.gcode",
        ] {
            assert_eq!(plate_entry(no), None, "{no}");
        }
    }
}
