//! Resource limits and the byte-counting reader that enforces them.

use std::io::{self, Read};

use crate::ThreeMfError;

/// Bounds on what reading one 3MF file may cost.
///
/// 3MF files come from users and from the internet; a ZIP archive can
/// declare any sizes it likes and a deflate stream can expand a thousandfold.
/// These limits are enforced while decompressing (the bytes actually
/// produced are counted), so they hold even when the archive lies about its
/// sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// Most entries an archive may have. Real Bambu files have tens; the
    /// ZIP reader allocates per entry, so a cap bounds memory up front.
    pub max_entries: u64,
    /// Most uncompressed bytes read from one metadata entry
    /// (`slice_info.config`, `project_settings.config`, ...).
    pub max_entry_bytes: u64,
    /// Most uncompressed bytes read from all entries in one call.
    pub max_total_bytes: u64,
    /// Highest accepted ratio of uncompressed to compressed bytes for an
    /// entry, once it is past [`RATIO_FLOOR_BYTES`]. Text compresses about
    /// 5–20×; a ratio in the hundreds means a crafted file.
    pub max_ratio: u64,
    /// Most bytes read from the top of a plate's G-code while looking for
    /// the header block. The header is a few hundred bytes; the G-code
    /// itself can be hundreds of megabytes and is never read whole.
    pub max_header_bytes: u64,
    /// Most bytes of one plate thumbnail (`Metadata/plate_N.png`).
    pub max_thumbnail_bytes: u64,
}

/// Entries smaller than this are never flagged for their compression ratio:
/// a short run of identical characters legitimately compresses very well,
/// and a small entry cannot exhaust memory anyway.
pub const RATIO_FLOOR_BYTES: u64 = 1024 * 1024;

impl Default for Limits {
    /// Generous for any real Bambu Studio file, tight enough that a hostile
    /// upload costs at most a few hundred megabytes of work.
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_entry_bytes: 64 * 1024 * 1024,
            max_total_bytes: 256 * 1024 * 1024,
            max_ratio: 200,
            max_header_bytes: 256 * 1024,
            max_thumbnail_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Which limit a [`Bounded`] reader hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trip {
    /// More than the per-entry cap.
    Entry(u64),
    /// More than the compression ratio allows.
    Ratio,
    /// More than what is left of the per-call budget.
    Total(u64),
}

impl Trip {
    /// The public error for this trip, naming the entry.
    pub(crate) fn into_error(self, entry: &str) -> ThreeMfError {
        match self {
            Trip::Entry(limit) => ThreeMfError::EntryTooLarge {
                entry: entry.to_owned(),
                limit,
            },
            Trip::Ratio => ThreeMfError::ZipBomb {
                entry: entry.to_owned(),
            },
            Trip::Total(limit) => ThreeMfError::TotalTooLarge { limit },
        }
    }
}

/// A reader that counts the bytes it hands out and fails once any limit is
/// passed.
///
/// Counting the produced bytes (instead of trusting the sizes the archive
/// declares) is what makes the limits hold against lying headers. It never
/// hands out more than one byte beyond the tightest limit, so memory stays
/// bounded by the limits whatever the caller does with the data.
pub(crate) struct Bounded<R> {
    inner: R,
    /// Bytes produced so far.
    read: u64,
    /// Per-entry cap.
    entry_cap: u64,
    /// Cap derived from the compressed size and the allowed ratio.
    ratio_cap: u64,
    /// What is left of the per-call budget when this entry was opened.
    budget_left: u64,
    /// The whole per-call budget, for the error message.
    total_limit: u64,
    /// Set once a limit is passed; every later read fails the same way.
    trip: Option<Trip>,
}

impl<R: Read> Bounded<R> {
    /// Wraps `inner`, an entry whose compressed size is `compressed`.
    pub(crate) fn new(
        inner: R,
        compressed: u64,
        entry_cap: u64,
        limits: &Limits,
        budget_left: u64,
    ) -> Self {
        let ratio_cap = compressed
            .saturating_mul(limits.max_ratio)
            .max(RATIO_FLOOR_BYTES);
        Self {
            inner,
            read: 0,
            entry_cap,
            ratio_cap,
            budget_left,
            total_limit: limits.max_total_bytes,
            trip: None,
        }
    }

    /// Bytes produced so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The limit that was hit, if any.
    pub(crate) fn trip(&self) -> Option<Trip> {
        self.trip
    }

    fn check(&mut self) -> Option<Trip> {
        let trip = if self.read > self.entry_cap {
            Some(Trip::Entry(self.entry_cap))
        } else if self.read > self.ratio_cap {
            Some(Trip::Ratio)
        } else if self.read > self.budget_left {
            Some(Trip::Total(self.total_limit))
        } else {
            None
        };
        if trip.is_some() {
            self.trip = trip;
        }
        trip
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(trip) = self.trip {
            return Err(io::Error::other(format!("limit exceeded: {trip:?}")));
        }
        // Allow exactly one byte past the tightest limit: that byte is how we
        // tell "exactly at the limit" from "over it" without trusting EOF
        // bookkeeping in the decompressor.
        let tightest = self.entry_cap.min(self.ratio_cap).min(self.budget_left);
        let allowed = tightest.saturating_add(1).saturating_sub(self.read);
        let len = usize::try_from(allowed)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        if len == 0 && !buf.is_empty() {
            // Unreachable in practice (check() trips first), kept so a
            // zero-length read can never be mistaken for EOF.
            return Err(io::Error::other("limit exceeded"));
        }
        let n = self.inner.read(&mut buf[..len])?;
        self.read += n as u64;
        if let Some(trip) = self.check() {
            return Err(io::Error::other(format!("limit exceeded: {trip:?}")));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_ratio: 10,
            ..Limits::default()
        }
    }

    #[test]
    fn exact_size_is_fine_one_more_is_not() {
        let data = [7u8; 100];
        let mut ok = Bounded::new(&data[..], 100, 100, &limits(), u64::MAX);
        let mut out = Vec::new();
        ok.read_to_end(&mut out).expect("exactly at the cap");
        assert_eq!(out.len(), 100);

        let mut over = Bounded::new(&data[..], 100, 99, &limits(), u64::MAX);
        assert!(over.read_to_end(&mut Vec::new()).is_err());
        assert_eq!(over.trip(), Some(Trip::Entry(99)));
    }

    #[test]
    fn ratio_trips_past_the_floor_only() {
        // 2 MiB out of a claimed 1 KiB of compressed input: ratio 2048 > 10.
        let data = vec![0u8; 2 * 1024 * 1024];
        let mut r = Bounded::new(&data[..], 1024, u64::MAX, &limits(), u64::MAX);
        let mut out = Vec::new();
        assert!(r.read_to_end(&mut out).is_err());
        assert_eq!(r.trip(), Some(Trip::Ratio));
        // Never buffered more than the floor plus one byte.
        assert!(out.len() as u64 <= RATIO_FLOOR_BYTES + 1);

        // Small entries pass whatever their ratio.
        let small = vec![0u8; 1000];
        let mut r = Bounded::new(&small[..], 1, u64::MAX, &limits(), u64::MAX);
        r.read_to_end(&mut Vec::new()).expect("under the floor");
    }

    #[test]
    fn total_budget_trips() {
        let data = [1u8; 50];
        let mut r = Bounded::new(&data[..], 50, u64::MAX, &limits(), 10);
        assert!(r.read_to_end(&mut Vec::new()).is_err());
        assert!(matches!(r.trip(), Some(Trip::Total(_))));
    }
}
