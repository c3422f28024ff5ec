//! Latency recording: an HDR histogram in microseconds, summarised in milliseconds.

use crate::error::{Error, Result};
use hdrhistogram::Histogram;
use serde::Serialize;

/// The longest latency told apart from longer ones: one hour, in microseconds.
const HIGHEST_US: u64 = 3_600_000_000;

/// Latencies in microseconds, with 3 significant digits.
#[derive(Debug, Clone)]
pub struct Latencies(Histogram<u64>);

impl Latencies {
    /// An empty recorder.
    pub fn new() -> Result<Latencies> {
        Histogram::new_with_bounds(1, HIGHEST_US, 3)
            .map(Latencies)
            .map_err(|error| Error::Invalid(format!("latency histogram: {error}")))
    }

    /// Records one latency; longer than an hour counts as an hour.
    pub fn record_us(&mut self, micros: u64) {
        self.0.saturating_record(micros.max(1));
    }

    /// Adds another recorder's latencies.
    pub fn merge(&mut self, other: &Latencies) {
        // Both have the same bounds, so adding cannot fail; a failure would only lose samples.
        let _ = self.0.add(&other.0);
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// p50, p90, p99, p99.9 and max in milliseconds (all 0 when nothing was recorded).
    pub fn summary(&self) -> LatencySummary {
        let ms = |us: u64| us as f64 / 1000.0;
        let at = |q: f64| {
            if self.0.is_empty() {
                0.0
            } else {
                ms(self.0.value_at_quantile(q))
            }
        };
        LatencySummary {
            count: self.0.len(),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: if self.0.is_empty() {
                0.0
            } else {
                ms(self.0.max())
            },
            mean_ms: if self.0.is_empty() {
                0.0
            } else {
                self.0.mean() / 1000.0
            },
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// How many were recorded.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_out_in_milliseconds_and_merge() {
        let mut a = Latencies::new().unwrap();
        for us in 1..=1000 {
            a.record_us(us * 10);
        }
        let mut b = Latencies::new().unwrap();
        b.record_us(u64::MAX);
        a.merge(&b);
        let summary = a.summary();
        assert_eq!(summary.count, 1001);
        assert!((summary.p50_ms - 5.0).abs() < 0.05, "{summary:?}");
        assert!((summary.p99_ms - 9.9).abs() < 0.05, "{summary:?}");
        assert!(
            summary.max_ms >= 3_600_000.0 * 0.999,
            "saturated at an hour"
        );
        assert_eq!(
            Latencies::new().unwrap().summary(),
            LatencySummary::default()
        );
    }
}
