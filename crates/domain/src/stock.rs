//! Finished goods arithmetic: what a finished print adds to stock, the stock status a
//! farm sees, when stock is low enough to alert, and what kind of failure a failed print was.

use crate::printers::name_set;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

name_set!(
    /// The stock status of a finished good, as stored in `finished_goods.status`.
    StockStatus, "stock status" {
        /// A legacy neutral status, kept for imported rows.
        Active => "active",
        /// Above its low-stock threshold.
        InStock => "in_stock",
        /// At or below its threshold, not empty.
        LowStock => "low_stock",
        /// Nothing ready to sell.
        OutOfStock => "out_of_stock",
        /// Nothing ready to sell, but printed parts wait for assembly.
        NeedsAssembly => "needs_assembly",
        /// No longer made.
        Discontinued => "discontinued",
    }
);

/// Stock of one SKU: units ready to sell and printed units that still need assembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stock {
    /// Units ready to sell (`current_stock`).
    pub ready: i64,
    /// Printed units waiting for assembly (`quantity_needs_assembly`).
    pub needs_assembly: i64,
    /// At or below this many ready units, stock is low.
    pub low_threshold: i64,
}

impl Stock {
    /// Adds the units of a finished print: to assembly when the product needs it, else ready.
    ///
    /// Negative or zero `units` add nothing: a print never takes stock away.
    pub fn add_printed(self, units: i64, requires_assembly: bool) -> Stock {
        let units = units.max(0);
        if requires_assembly {
            Stock {
                needs_assembly: self.needs_assembly.saturating_add(units),
                ..self
            }
        } else {
            Stock {
                ready: self.ready.saturating_add(units),
                ..self
            }
        }
    }

    /// The status the farm sees.
    pub fn status(self) -> StockStatus {
        if self.ready <= 0 && self.needs_assembly > 0 {
            StockStatus::NeedsAssembly
        } else if self.ready <= 0 {
            StockStatus::OutOfStock
        } else if self.ready <= self.low_threshold {
            StockStatus::LowStock
        } else {
            StockStatus::InStock
        }
    }

    /// Whether the farm should be told to make more: ready units at or below the threshold.
    pub fn is_low(self) -> bool {
        self.ready <= self.low_threshold
    }
}

/// Whether stock that is now `is_low` raises an alert, and whether it counts as alerted
/// after: one alert when it falls to its threshold (or is first seen there), none while it
/// stays low, the next only after it was restocked above the threshold.
pub fn low_stock_alert(is_low: bool, alerted_before: bool) -> (bool, bool) {
    (is_low && !alerted_before, is_low)
}

name_set!(
    /// What kind of failure a failed print was (`printer_failures.failure_type`).
    FailureType, "failure type" {
        /// The nozzle clogged.
        NozzleClog => "nozzle_clog",
        /// The print came loose from the plate.
        BedAdhesion => "bed_adhesion",
        /// Layers shifted.
        LayerShift => "layer_shift",
        /// Filament ran out or broke.
        FilamentRunout => "filament_runout",
        /// Power was lost.
        PowerLoss => "power_loss",
        /// The printer or hub lost its connection.
        NetworkDisconnect => "network_disconnect",
        /// The firmware reported an error (HMS).
        FirmwareError => "firmware_error",
        /// A mechanical fault.
        Mechanical => "mechanical",
        /// A temperature fault.
        Thermal => "thermal",
        /// Someone stopped it.
        UserCancelled => "user_cancelled",
        /// Nothing in the reason says.
        Unknown => "unknown",
        /// Something else.
        Other => "other",
    }
);

/// Words in a failure reason that name its kind, checked in order (first match wins).
const FAILURE_WORDS: &[(&[&str], FailureType)] = &[
    (&["clog", "extrusion"], FailureType::NozzleClog),
    (
        &["adhesion", "detach", "spaghetti", "warp"],
        FailureType::BedAdhesion,
    ),
    (&["layer shift", "shifted"], FailureType::LayerShift),
    (
        &["runout", "run out", "filament"],
        FailureType::FilamentRunout,
    ),
    (&["power"], FailureType::PowerLoss),
    (
        &["network", "disconnect", "offline", "hub did not"],
        FailureType::NetworkDisconnect,
    ),
    (&["temperature", "thermal", "heater"], FailureType::Thermal),
    (
        &["hms", "firmware", "error code"],
        FailureType::FirmwareError,
    ),
    (
        &["motor", "fan", "mechanical", "jam"],
        FailureType::Mechanical,
    ),
    (
        &["cancel", "stopped by", "user"],
        FailureType::UserCancelled,
    ),
];

/// Classifies a failure by the words of its reason; no reason is `Unknown`.
pub fn failure_type(reason: Option<&str>) -> FailureType {
    let Some(reason) = reason.map(str::to_ascii_lowercase) else {
        return FailureType::Unknown;
    };
    FAILURE_WORDS
        .iter()
        .find(|(words, _)| words.iter().any(|w| reason.contains(w)))
        .map_or(FailureType::Unknown, |(_, kind)| *kind)
}

/// The most units one request may ask to be printed.
pub const MAX_UNITS_PER_REQUEST: i64 = 100_000;

/// How many prints make `units` when one print makes `per_print`: the units rounded up to
/// whole prints; `None` for a quantity outside 1..=[`MAX_UNITS_PER_REQUEST`].
pub fn prints_needed(units: i64, per_print: i64) -> Option<i64> {
    if !(1..=MAX_UNITS_PER_REQUEST).contains(&units) {
        return None;
    }
    let per_print = per_print.max(1);
    Some((units + per_print - 1) / per_print)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stock(ready: i64, needs_assembly: i64, low_threshold: i64) -> Stock {
        Stock {
            ready,
            needs_assembly,
            low_threshold,
        }
    }

    #[test]
    fn a_print_adds_to_ready_stock_or_to_assembly() {
        assert_eq!(stock(2, 0, 5).add_printed(4, false), stock(6, 0, 5));
        assert_eq!(stock(2, 1, 5).add_printed(4, true), stock(2, 5, 5));
        assert_eq!(stock(2, 1, 5).add_printed(-3, false), stock(2, 1, 5));
        assert_eq!(stock(i64::MAX, 0, 5).add_printed(1, false).ready, i64::MAX);
    }

    #[test]
    fn the_status_follows_ready_units_threshold_and_assembly() {
        assert_eq!(stock(0, 0, 5).status(), StockStatus::OutOfStock);
        assert_eq!(stock(0, 3, 5).status(), StockStatus::NeedsAssembly);
        assert_eq!(stock(5, 0, 5).status(), StockStatus::LowStock);
        assert_eq!(stock(6, 0, 5).status(), StockStatus::InStock);
        assert_eq!(stock(1, 0, 0).status(), StockStatus::InStock);
        assert_eq!(
            "LOW_STOCK".to_lowercase().parse::<StockStatus>(),
            Ok(StockStatus::LowStock)
        );
    }

    #[test]
    fn stock_is_low_at_or_below_the_threshold() {
        assert!(stock(5, 0, 5).is_low());
        assert!(stock(0, 9, 0).is_low());
        assert!(!stock(6, 0, 5).is_low());
    }

    #[test]
    fn a_low_stock_alerts_once_and_again_only_after_a_restock_above_the_threshold() {
        // Falling to the threshold: one alert.
        assert_eq!(low_stock_alert(true, false), (true, true));
        // Still low (another sale, another print): none.
        assert_eq!(low_stock_alert(true, true), (false, true));
        // Restocked above: no alert, and the next fall alerts again.
        assert_eq!(low_stock_alert(false, true), (false, false));
        assert_eq!(low_stock_alert(true, false), (true, true));
    }

    #[test]
    fn a_failure_is_classified_by_its_reason() {
        let cases = [
            (Some("Nozzle clog detected"), FailureType::NozzleClog),
            (Some("print detached from plate"), FailureType::BedAdhesion),
            (Some("Layer shift on Z"), FailureType::LayerShift),
            (
                Some("Filament runout on AMS slot 2"),
                FailureType::FilamentRunout,
            ),
            (Some("power loss"), FailureType::PowerLoss),
            (
                Some("the hub did not take the job: offline"),
                FailureType::NetworkDisconnect,
            ),
            (
                Some("Heatbed temperature malfunction"),
                FailureType::Thermal,
            ),
            (Some("HMS 0300_0100_0001_0007"), FailureType::FirmwareError),
            (Some("toolhead fan failure"), FailureType::Mechanical),
            (Some("cancelled by operator"), FailureType::UserCancelled),
            (Some("???"), FailureType::Unknown),
            (None, FailureType::Unknown),
        ];
        for (reason, kind) in cases {
            assert_eq!(failure_type(reason), kind, "{reason:?}");
        }
    }

    #[test]
    fn prints_needed_rounds_up_to_whole_prints() {
        assert_eq!(prints_needed(10, 4), Some(3));
        assert_eq!(prints_needed(8, 4), Some(2));
        assert_eq!(prints_needed(1, 4), Some(1));
        assert_eq!(prints_needed(5, 1), Some(5));
        // A SKU stored with 0 units per print still makes one per print.
        assert_eq!(prints_needed(3, 0), Some(3));
    }

    #[test]
    fn prints_needed_refuses_no_units_and_too_many() {
        assert_eq!(prints_needed(0, 4), None);
        assert_eq!(prints_needed(-2, 4), None);
        assert_eq!(prints_needed(MAX_UNITS_PER_REQUEST + 1, 4), None);
    }
}
