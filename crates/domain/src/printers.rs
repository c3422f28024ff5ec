//! Printer facts and the values a client may set on a printer.

use crate::validation::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Declares a closed set of names with `as_str`, `FromStr` (listing the allowed names) and serde.
macro_rules! name_set {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and sent name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().to_ascii_lowercase();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == wanted)
                    .ok_or_else(|| {
                        let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        format!("unknown {} '{}': expected one of {}", $what, s, names.join(", "))
                    })
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }
    };
}

pub(crate) use name_set;

name_set!(
    /// What a printer is doing, as the farm sees it.
    PrinterStatus, "printer status" {
        /// Ready for a job.
        Idle => "idle",
        /// Printing a job.
        Printing => "printing",
        /// A job is paused on it.
        Paused => "paused",
        /// Taken out of service for maintenance.
        Maintenance => "maintenance",
        /// Not reachable.
        Offline => "offline",
        /// Reports an error.
        Error => "error",
    }
);

impl Default for PrinterStatus {
    /// A printer not heard from is offline.
    fn default() -> Self {
        PrinterStatus::Offline
    }
}

impl PrinterStatus {
    /// The status a hub or a stored row names; a name this release does not know is an
    /// error to look at, never a printer that looks ready.
    pub fn from_reported(name: &str) -> PrinterStatus {
        name.parse().unwrap_or(PrinterStatus::Error)
    }
}

name_set!(
    /// How the farm talks to a printer.
    ConnectionType, "connection type" {
        /// Bambu Lab LAN (MQTT + FTPS through a hub).
        Bambu => "bambu",
        /// Prusa Connect / PrusaLink.
        Prusa => "prusa",
        /// OctoPrint.
        Octoprint => "octoprint",
        /// Klipper (Moonraker).
        Klipper => "klipper",
        /// Anything else.
        Other => "other",
    }
);

name_set!(
    /// What kind of camera watches a printer (the `cameras.camera_type` column).
    CameraType, "camera type" {
        /// A Bambu printer's own camera, reached through its hub.
        Bambu => "bambu",
        /// A network camera with a snapshot URL.
        Ip => "ip",
        /// A USB camera on a hub (no snapshot from the server).
        Usb => "usb",
        /// An RTSP stream (no snapshot from the server).
        Rtsp => "rtsp",
        /// An MJPEG camera with a snapshot URL.
        Mjpeg => "mjpeg",
    }
);
/// Parses a value of a name set for `field`.
pub fn parse_name<T: FromStr<Err = String>>(field: &str, raw: &str) -> Result<T, Invalid> {
    raw.parse::<T>().map_err(|e| Invalid::field(field, e))
}

/// A colour as `#RRGGBB`, upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct HexColour(String);

impl HexColour {
    /// Accepts `#RRGGBB`, `RRGGBB` and Bambu's `RRGGBBAA` (the alpha is dropped).
    pub fn parse(field: &str, raw: &str) -> Result<HexColour, Invalid> {
        let hex = raw.trim().trim_start_matches('#');
        let hex = if hex.len() == 8 { &hex[..6] } else { hex };
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(HexColour(format!("#{}", hex.to_ascii_uppercase())))
        } else {
            Err(Invalid::field(
                field,
                format!("{field} must be a colour like #F7D959"),
            ))
        }
    }

    /// The colour as `#RRGGBB`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Nozzle diameters Bambu printers take, in millimetres.
pub const NOZZLE_SIZES: [f64; 4] = [0.2, 0.4, 0.6, 0.8];

/// Checks a nozzle diameter (mm).
pub fn parse_nozzle(field: &str, value: f64) -> Result<f64, Invalid> {
    NOZZLE_SIZES
        .iter()
        .copied()
        .find(|n| (n - value).abs() < 0.001)
        .ok_or_else(|| {
            Invalid::field(
                field,
                format!("{field} must be one of 0.2, 0.4, 0.6 or 0.8 (mm)"),
            )
        })
}

/// Checks a Bambu LAN access code: 8 letters or digits, shown on the printer's screen.
pub fn parse_access_code(field: &str, raw: &str) -> Result<String, Invalid> {
    let code = raw.trim();
    if code.len() == 8 && code.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(code.to_string())
    } else {
        Err(Invalid::field(
            field,
            "the access code is the 8 letters or digits shown in the printer's LAN settings",
        ))
    }
}

/// Checks a printer serial number: 8 to 20 letters or digits (Bambu's are 15, e.g. `01P00A123456789`).
pub fn parse_serial(field: &str, raw: &str) -> Result<String, Invalid> {
    let serial = raw.trim().to_ascii_uppercase();
    if (8..=20).contains(&serial.len()) && serial.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(serial)
    } else {
        Err(Invalid::field(
            field,
            "a serial number is 8 to 20 letters or digits, e.g. 01P00A123456789",
        ))
    }
}

/// What an access code shows as to those who may not read it.
pub const MASKED_SECRET: &str = "[ENCRYPTED]";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_and_unknown_ones_list_the_allowed_values() {
        assert_eq!(
            "Printing".parse::<PrinterStatus>(),
            Ok(PrinterStatus::Printing)
        );
        let err = "busy".parse::<PrinterStatus>().unwrap_err();
        assert!(
            err.contains("idle, printing, paused, maintenance, offline, error"),
            "{err}"
        );
        assert_eq!(
            parse_name::<ConnectionType>("connection_type", "ender")
                .unwrap_err()
                .0[0]
                .field,
            "connection_type"
        );
    }

    #[test]
    fn colours_are_normalised_to_hash_rrggbb() {
        assert_eq!(HexColour::parse("c", "f7d959").unwrap().as_str(), "#F7D959");
        assert_eq!(
            HexColour::parse("c", "#F7D959FF").unwrap().as_str(),
            "#F7D959"
        );
        assert!(HexColour::parse("c", "yellow").is_err());
        assert!(HexColour::parse("c", "#F7D95").is_err());
    }

    #[test]
    fn nozzles_access_codes_and_serials_are_checked() {
        assert_eq!(parse_nozzle("n", 0.4).unwrap(), 0.4);
        assert!(parse_nozzle("n", 0.5).is_err());
        assert_eq!(parse_access_code("a", " 12345678 ").unwrap(), "12345678");
        assert!(parse_access_code("a", "1234").is_err());
        assert!(parse_access_code("a", "1234 678").is_err());
        assert_eq!(
            parse_serial("s", "01p00a123456789").unwrap(),
            "01P00A123456789"
        );
        assert!(parse_serial("s", "short").is_err());
    }
}
