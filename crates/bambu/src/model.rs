//! Printer models: the codes printers announce (`DevModel.bambu.com`, slice_info
//! `printer_model_id`) and the serial prefixes (protocol reference §5.3).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Bambu Lab printer model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Model {
    /// X1 Carbon.
    X1C,
    /// X1.
    X1,
    /// X1E.
    X1E,
    /// P1P.
    P1P,
    /// P1S.
    P1S,
    /// A1.
    A1,
    /// A1 mini.
    A1Mini,
}

impl Model {
    /// Every model, in a stable order.
    pub const ALL: [Model; 7] = [
        Model::X1C,
        Model::X1,
        Model::X1E,
        Model::P1P,
        Model::P1S,
        Model::A1,
        Model::A1Mini,
    ];

    /// The model code printers announce and slicers write (`BL-P001`, `C12`, `N1` ...).
    pub fn code(self) -> &'static str {
        match self {
            Model::X1C => "BL-P001",
            Model::X1 => "BL-P002",
            Model::X1E => "C13",
            Model::P1P => "C11",
            Model::P1S => "C12",
            Model::A1 => "N2S",
            Model::A1Mini => "N1",
        }
    }

    /// Parses a model code, including the legacy SSDP names of the X1 series
    /// (`3DPrinter-X1-Carbon`, `3DPrinter-X1`). Case-insensitive.
    pub fn from_code(code: &str) -> Option<Model> {
        let code = code.trim();
        let legacy = [
            ("3DPrinter-X1-Carbon", Model::X1C),
            ("3DPrinter-X1", Model::X1),
        ];
        legacy
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(code))
            .map(|(_, model)| *model)
            .or_else(|| {
                Model::ALL
                    .into_iter()
                    .find(|model| model.code().eq_ignore_ascii_case(code))
            })
    }

    /// The product name, as `get_version` reports it without the "Bambu Lab " prefix.
    pub fn name(self) -> &'static str {
        match self {
            Model::X1C => "X1 Carbon",
            Model::X1 => "X1",
            Model::X1E => "X1E",
            Model::P1P => "P1P",
            Model::P1S => "P1S",
            Model::A1 => "A1",
            Model::A1Mini => "A1 mini",
        }
    }

    /// The first three characters of this model's serial numbers.
    ///
    /// The X1 prefix is disputed (`00W` in BambuStudio, `00M` in ha-bambulab);
    /// `00W` is used here so that it differs from the X1 Carbon.
    pub fn serial_prefix(self) -> &'static str {
        match self {
            Model::X1C => "00M",
            Model::X1 => "00W",
            Model::X1E => "03W",
            Model::P1P => "01S",
            Model::P1S => "01P",
            Model::A1 => "039",
            Model::A1Mini => "030",
        }
    }

    /// Guesses the model from a serial number's prefix.
    pub fn from_serial(serial: &str) -> Option<Model> {
        let prefix = serial.get(..3)?;
        Model::ALL
            .into_iter()
            .find(|model| model.serial_prefix().eq_ignore_ascii_case(prefix))
    }

    /// Whether this is an X1-series printer: full reports, RTSPS camera, real chamber temperature.
    pub fn is_x1_series(self) -> bool {
        matches!(self, Model::X1C | Model::X1 | Model::X1E)
    }

    /// The `hw_ver` and `project_name` of the main module in `get_version`, used
    /// by clients to tell models apart (protocol reference §1.4).
    pub fn version_module(self) -> (&'static str, &'static str) {
        match self {
            Model::X1C | Model::X1 => ("AP05", ""),
            Model::X1E => ("AP02", ""),
            Model::P1P => ("AP04", "C11"),
            Model::P1S => ("AP04", "C12"),
            Model::A1 => ("AP05", "N2S"),
            Model::A1Mini => ("AP05", "N1"),
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_legacy_x1_names_are_normalised() {
        for model in Model::ALL {
            assert_eq!(Model::from_code(model.code()), Some(model));
        }
        assert_eq!(Model::from_code("3DPrinter-X1-Carbon"), Some(Model::X1C));
        assert_eq!(Model::from_code("3dprinter-x1"), Some(Model::X1));
        assert_eq!(Model::from_code("n2s"), Some(Model::A1));
        assert_eq!(Model::from_code("O1D"), None);
    }

    #[test]
    fn serial_prefix_names_the_model() {
        assert_eq!(Model::from_serial("01P00A123456789"), Some(Model::P1S));
        assert_eq!(Model::from_serial("01S00C000000000"), Some(Model::P1P));
        assert_eq!(Model::from_serial("0"), None);
    }
}
