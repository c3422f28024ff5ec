//! Materials a farm keeps beside its finished goods: filament (grams on spools), packaging,
//! components (the original's "accessories": magnets, screws, keyrings) and printer parts
//! (units). What status an amount gives, which spool a print's filament comes from, and
//! what share of a print's filament a stopped print used.

use crate::printers::name_set;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The four kinds of material, each its own table and route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaterialKind {
    /// `filament_inventory`, in grams.
    Filament,
    /// `packaging_inventory`, in units.
    Packaging,
    /// `accessories_inventory`, in units (`/materials/components`).
    Component,
    /// `printer_parts_inventory`, in units.
    Part,
}

impl MaterialKind {
    /// Its name in `material_usage_history.material_type` and in alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            MaterialKind::Filament => "filament",
            MaterialKind::Packaging => "packaging",
            MaterialKind::Component => "component",
            MaterialKind::Part => "part",
        }
    }

    /// Whether it is counted in grams (else in whole units).
    pub fn in_grams(self) -> bool {
        self == MaterialKind::Filament
    }

    /// The unit its amounts are in.
    pub fn unit(self) -> &'static str {
        if self.in_grams() { "g" } else { "units" }
    }

    /// The threshold a new row gets when none is given (the data model's defaults).
    pub fn default_threshold(self) -> f64 {
        match self {
            MaterialKind::Filament => 100.0,
            MaterialKind::Packaging => 10.0,
            MaterialKind::Component => 5.0,
            MaterialKind::Part => 2.0,
        }
    }
}

name_set!(
    /// A material row's status, as stored.
    MaterialStatus, "material status" {
        /// Above its low threshold.
        InStock => "in_stock",
        /// At or below its threshold, not empty.
        Low => "low",
        /// None left.
        OutOfStock => "out_of_stock",
        /// Low or empty, and reordered (set by an operator; kept until restocked).
        OnOrder => "on_order",
    }
);

/// The status `remaining` gives against `threshold`; a reorder (`on_order`) stands while
/// the amount is still at or below the threshold.
pub fn material_status(remaining: f64, threshold: f64, on_order: bool) -> MaterialStatus {
    if remaining > threshold {
        MaterialStatus::InStock
    } else if on_order {
        MaterialStatus::OnOrder
    } else if remaining <= 0.0 {
        MaterialStatus::OutOfStock
    } else {
        MaterialStatus::Low
    }
}

/// Whether `remaining` is low enough to alert.
pub fn is_low(remaining: f64, threshold: f64) -> bool {
    remaining <= threshold
}

/// The grams a print that stopped at `progress` percent used of the `grams` its plate needs.
pub fn printed_share(grams: f64, progress: i64) -> f64 {
    grams * (progress.clamp(0, 100) as f64) / 100.0
}

/// A colour as `RRGGBB`, uppercase, without `#` or alpha: the 3MF says `#FFFFFF`, the AMS
/// `FFFFFFFF`, an operator may type `#ffffff`.
pub fn colour_key(colour: &str) -> Option<String> {
    let hex = colour.trim().trim_start_matches('#');
    if !(hex.len() == 6 || hex.len() == 8) || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some(hex[..6].to_ascii_uppercase())
}

/// A spool as the choice of where a print's filament came from needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Spool<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its filament type ("PLA").
    pub filament_type: &'a str,
    /// Its colour (`#RRGGBB`), if known.
    pub hex_code: Option<&'a str>,
    /// Grams left.
    pub remaining_grams: f64,
}

/// The spool a print's filament of `filament_type` in `colour` is taken from: the same type
/// (any case) and colour; of several, the one with the least left that still has some
/// (an open spool is used up before a fresh one), else any match.
pub fn spool_for<'a>(
    spools: &'a [Spool<'a>],
    filament_type: &str,
    colour: &str,
) -> Option<&'a Spool<'a>> {
    let wanted = colour_key(colour)?;
    let matching = spools.iter().filter(|s| {
        s.filament_type.eq_ignore_ascii_case(filament_type.trim())
            && s.hex_code.and_then(colour_key).as_deref() == Some(wanted.as_str())
    });
    let (with_some, empty): (Vec<_>, Vec<_>) = matching.partition(|s| s.remaining_grams > 0.0);
    with_some
        .into_iter()
        .min_by(|a, b| a.remaining_grams.total_cmp(&b.remaining_grams))
        .or_else(|| empty.into_iter().next())
}

/// Grams left on a spool the AMS reports `percent` full.
pub fn grams_from_percent(percent: i64, spool_weight_grams: f64) -> f64 {
    spool_weight_grams * (percent.clamp(0, 100) as f64) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_amount_and_a_reorder_stands_until_restocked() {
        assert_eq!(
            material_status(500.0, 100.0, false),
            MaterialStatus::InStock
        );
        assert_eq!(material_status(100.0, 100.0, false), MaterialStatus::Low);
        assert_eq!(
            material_status(0.0, 100.0, false),
            MaterialStatus::OutOfStock
        );
        assert_eq!(material_status(20.0, 100.0, true), MaterialStatus::OnOrder);
        assert_eq!(material_status(150.0, 100.0, true), MaterialStatus::InStock);
    }

    #[test]
    fn a_stopped_print_used_its_share_of_the_filament() {
        assert_eq!(printed_share(40.0, 50), 20.0);
        assert_eq!(printed_share(40.0, 0), 0.0);
        assert_eq!(printed_share(40.0, 140), 40.0);
    }

    #[test]
    fn colours_compare_without_hash_case_or_alpha() {
        assert_eq!(colour_key("#ff00aa").as_deref(), Some("FF00AA"));
        assert_eq!(colour_key("FF00AAFF").as_deref(), Some("FF00AA"));
        assert_eq!(colour_key("red"), None);
        assert_eq!(colour_key("#FFF"), None);
    }

    #[test]
    fn the_open_spool_of_the_same_type_and_colour_is_used_first() {
        let spools = [
            Spool {
                id: "fresh",
                filament_type: "PLA",
                hex_code: Some("#FFFFFF"),
                remaining_grams: 1000.0,
            },
            Spool {
                id: "open",
                filament_type: "pla",
                hex_code: Some("ffffff"),
                remaining_grams: 120.0,
            },
            Spool {
                id: "empty",
                filament_type: "PLA",
                hex_code: Some("#FFFFFF"),
                remaining_grams: 0.0,
            },
            Spool {
                id: "petg",
                filament_type: "PETG",
                hex_code: Some("#FFFFFF"),
                remaining_grams: 50.0,
            },
            Spool {
                id: "black",
                filament_type: "PLA",
                hex_code: Some("#000000"),
                remaining_grams: 10.0,
            },
        ];
        assert_eq!(
            spool_for(&spools, "PLA", "#FFFFFFFF").map(|s| s.id),
            Some("open")
        );
        assert_eq!(
            spool_for(&spools, "PETG", "#FFFFFF").map(|s| s.id),
            Some("petg")
        );
        assert_eq!(spool_for(&spools, "ABS", "#FFFFFF"), None);
        assert_eq!(spool_for(&spools, "PLA", "not a colour"), None);
        let only_empty = [spools[2].clone()];
        assert_eq!(
            spool_for(&only_empty, "PLA", "#FFFFFF").map(|s| s.id),
            Some("empty")
        );
    }

    #[test]
    fn ams_percent_becomes_grams_of_the_spool() {
        assert_eq!(grams_from_percent(40, 1000.0), 400.0);
        assert_eq!(grams_from_percent(-1, 1000.0), 0.0);
    }
}
