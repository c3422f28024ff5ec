//! Reads Bambu Studio 3MF files: what a print farm needs to know about a
//! file before it sends it to a printer.
//!
//! A 3MF is a ZIP archive. Bambu Studio writes two flavours:
//!
//! - **sliced** files (`.gcode.3mf`), with per-plate G-code and slicing
//!   results (`Metadata/slice_info.config`), and
//! - **project** files, with meshes and settings but no G-code. They are
//!   read just the same (plates, objects, settings) and come back with
//!   [`Project::sliced`] `false`; [`Project::require_sliced`] turns that
//!   into [`ThreeMfError::NotSliced`] where a caller needs G-code.
//!
//! Files are untrusted uploads. The reader opens only the entries it needs,
//! reads only the header of each plate's G-code, stops parsing the model
//! part before its meshes, and counts every decompressed byte against
//! [`Limits`], so a zip bomb or a lying archive fails fast with bounded
//! memory. Nothing here panics on bad input, does I/O beyond the given
//! reader, or blocks on anything but that reader.
//!
//! ```no_run
//! let project = threemf::read_path("part.gcode.3mf", &threemf::Limits::default())?;
//! for plate in &project.plates {
//!     println!("plate {}: {:?} s, {:?} g", plate.index, plate.prediction_seconds, plate.weight_grams);
//! }
//! # Ok::<(), threemf::ThreeMfError>(())
//! ```

#![warn(missing_docs)]

mod archive;
mod error;
mod gcode;
mod limits;
mod model;
mod model_settings;
mod num;
mod settings;
mod slice_info;
mod xml;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use serde::{Deserialize, Serialize};

use archive::Archive;

pub use error::ThreeMfError;
pub use gcode::parse_duration;
pub use limits::{Limits, RATIO_FLOOR_BYTES};

/// Everything this crate reads from one 3MF file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// Whether the file holds G-code for at least one plate
    /// (`Metadata/plate_N.gcode`). Only sliced files can be printed.
    pub sliced: bool,
    /// The program that wrote the file, from the model's `Application`
    /// metadata, e.g. `BambuStudio-02.01.01.52`.
    pub application: Option<String>,
    /// The model's `Title` metadata; absent when empty.
    pub title: Option<String>,
    /// `printer_model` from the project settings, e.g. `Bambu Lab A1 mini`.
    pub printer_model: Option<String>,
    /// The printer model code of the first plate that names one in
    /// slice_info (`N1`, `N2S`, `C12`, `BL-P001`, ...). Absent in unsliced
    /// projects and in CLI or third-party slices, which leave it empty.
    pub printer_model_id: Option<String>,
    /// Nozzle diameter in mm: the project's first `nozzle_diameter`, or the
    /// first plate's when the settings lack it.
    pub nozzle_diameter: Option<f64>,
    /// `curr_bed_type` from the project settings, e.g. `Textured PEI Plate`.
    pub bed_type: Option<String>,
    /// `print_settings_id`: the process preset, e.g. `0.20mm Standard @BBL A1`.
    pub print_profile: Option<String>,
    /// `layer_height` in mm.
    pub layer_height: Option<f64>,
    /// `filament_settings_id`: one filament preset name per project filament.
    pub filament_settings_ids: Vec<String>,
    /// Plates in index order. A project file lists its plates too, with no
    /// slicing results.
    pub plates: Vec<Plate>,
    /// The objects of the file (see [`ObjectInfo`] for which list is used).
    pub objects: Vec<ObjectInfo>,
}

impl Project {
    /// Returns the project if it is sliced, or [`ThreeMfError::NotSliced`].
    ///
    /// Reading a project file is not an error (its plates and settings are
    /// still worth showing); sending one to a printer is, so callers that
    /// need G-code ask here.
    pub fn require_sliced(&self) -> Result<&Self, ThreeMfError> {
        if self.sliced {
            Ok(self)
        } else {
            Err(ThreeMfError::NotSliced)
        }
    }

    /// The plate with 1-based index `index`, if the file has it.
    pub fn plate(&self, index: u32) -> Option<&Plate> {
        self.plates.iter().find(|p| p.index == index)
    }
}

/// One build plate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plate {
    /// 1-based plate number, the N of `plate_N.gcode`.
    pub index: u32,
    /// Printer model code this plate was sliced for (slice_info
    /// `printer_model_id`), checked against the printer before sending.
    pub printer_model_id: Option<String>,
    /// Nozzle diameter in mm the plate was sliced for (slice_info
    /// `nozzle_diameters`, else `plate_N.json`).
    pub nozzle_diameter: Option<f64>,
    /// Slicer's time estimate in seconds (slice_info `prediction`).
    pub prediction_seconds: Option<u64>,
    /// Total filament weight in grams (slice_info `weight`).
    pub weight_grams: Option<f64>,
    /// Filaments used on this plate (only the used ones are listed).
    pub filaments: Vec<Filament>,
    /// Number of layers, from the G-code header `total layer number`.
    pub layer_count: Option<u32>,
    /// Estimated time in seconds from the G-code header
    /// (`total estimated time`, or `estimated printing time (normal mode)`
    /// in older files).
    pub estimated_seconds: Option<u64>,
    /// Bed type of this plate (`plate_N.json` `bed_type`, e.g.
    /// `textured_plate`, or a per-plate override in model_settings).
    pub bed_type: Option<String>,
    /// Names of the objects on the plate, one per instance.
    pub object_names: Vec<String>,
    /// Number of object instances on the plate.
    pub object_count: usize,
    /// `Metadata/plate_N.gcode` when the file has G-code for this plate.
    pub gcode_path: Option<String>,
    /// `Metadata/plate_N.png` when the file has a thumbnail for this plate
    /// (fetch it with [`thumbnail`]).
    pub thumbnail_path: Option<String>,
}

/// A filament used on a plate, from slice_info.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filament {
    /// 1-based filament number in the project's filament list (slice_info
    /// `id`); the AMS mapping of a print job refers to it.
    pub slot: u32,
    /// Material, e.g. `PLA`, `PETG`.
    pub filament_type: Option<String>,
    /// Colour as `#RRGGBB`, uppercase.
    pub colour: Option<String>,
    /// Grams used on this plate.
    pub used_grams: Option<f64>,
    /// Metres used on this plate.
    pub used_metres: Option<f64>,
    /// Bambu filament id (`tray_info_idx`, e.g. `GFA01`), for matching AMS
    /// trays by material rather than by colour alone.
    pub tray_info_idx: Option<String>,
}

/// An object of the file.
///
/// Sliced files list their objects per plate in slice_info; `id` is then
/// the `identify_id`, the number the printer's skip-object command uses.
/// Unsliced projects have no such list; objects then come from
/// model_settings, with `id` the project's object id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectInfo {
    /// `identify_id` (sliced) or object id (project); absent if unreadable.
    pub id: Option<u64>,
    /// Object name as shown in the slicer (often the source file name).
    pub name: String,
    /// Plate the object is on, if any.
    pub plate: Option<u32>,
}

/// Reads a 3MF file from any seekable reader.
///
/// Opens only the entries it needs: slice_info, project and model
/// settings, `plate_N.json`, the head of `3D/3dmodel.model`, and the header
/// of each `plate_N.gcode`. Thumbnails are not read (see [`thumbnail`]).
///
/// An unsliced project is not an error: it comes back with `sliced: false`.
/// Errors are returned for archives that are not ZIPs, break a [`Limits`]
/// bound, hold unsafe entry names, lack `3D/3dmodel.model`, or have
/// malformed XML or JSON in an entry that is read.
pub fn read(reader: impl Read + Seek, limits: &Limits) -> Result<Project, ThreeMfError> {
    let mut archive = Archive::open(reader, limits)?;
    let cap = limits.max_entry_bytes;

    // The root model part is the one entry every 3MF must have; without it
    // this is some other ZIP and deserves a clear message.
    let meta = archive
        .with_entry(model::ENTRY, cap, false, |r, _| model::parse(r))?
        .ok_or_else(|| ThreeMfError::MissingEntry {
            entry: model::ENTRY.to_owned(),
        })?;
    let slices = match archive.read_all(slice_info::ENTRY, cap)? {
        Some(bytes) => slice_info::parse(&bytes)?,
        None => slice_info::SliceInfo::default(),
    };
    let settings = match archive.read_all(settings::PROJECT_ENTRY, cap)? {
        Some(bytes) => settings::parse_project(&bytes)?,
        None => settings::ProjectSettings::default(),
    };
    let models = match archive.read_all(model_settings::ENTRY, cap)? {
        Some(bytes) => model_settings::parse(&bytes)?,
        None => model_settings::ModelSettings::default(),
    };

    // slice_info plates without an index are numbered by position, which
    // is how Studio orders them.
    let sliced_plates: Vec<(u32, &slice_info::SlicedPlate)> = slices
        .plates
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                p.index
                    .unwrap_or_else(|| u32::try_from(i + 1).unwrap_or(u32::MAX)),
                p,
            )
        })
        .collect();

    // A plate exists if any source mentions it.
    let mut indices: BTreeSet<u32> = BTreeSet::new();
    indices.extend(sliced_plates.iter().map(|(i, _)| *i));
    indices.extend(models.plates.iter().filter_map(|p| p.index));
    indices.extend(archive.plates.gcode.keys());
    indices.extend(archive.plates.png.keys());
    indices.extend(archive.plates.json.keys());
    indices.remove(&0);

    let mut plates = Vec::with_capacity(indices.len());
    for index in indices {
        let sliced = sliced_plates
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, p)| *p);
        let model_plate = models.plates.iter().find(|p| p.index == Some(index));

        let json = match archive.plates.json.get(&index).cloned() {
            Some(name) => match archive.read_all(&name, cap)? {
                Some(bytes) => Some(settings::parse_plate(&name, &bytes)?),
                None => None,
            },
            None => None,
        };
        let gcode_path = archive.plates.gcode.get(&index).cloned();
        let header = match &gcode_path {
            Some(name) => archive
                .with_entry(name, cap, false, |r, _| {
                    Ok(gcode::read_header(r, limits.max_header_bytes))
                })?
                .unwrap_or_default(),
            None => gcode::Header::default(),
        };

        let object_names: Vec<String> = match (sliced, model_plate) {
            (Some(s), _) if !s.objects.is_empty() => {
                s.objects.iter().map(|(_, name)| name.clone()).collect()
            }
            (_, Some(m)) if !m.object_ids.is_empty() => m
                .object_ids
                .iter()
                .filter_map(|id| models.objects.iter().find(|o| o.id == Some(*id)))
                .map(|o| o.name.clone().unwrap_or_default())
                .collect(),
            _ => json
                .as_ref()
                .map(settings::PlateJson::object_names)
                .unwrap_or_default(),
        };

        plates.push(Plate {
            index,
            printer_model_id: sliced.and_then(|s| s.printer_model_id.clone()),
            nozzle_diameter: sliced
                .and_then(|s| s.nozzle_diameter)
                .or_else(|| json.as_ref().and_then(settings::PlateJson::nozzle_diameter)),
            prediction_seconds: sliced.and_then(|s| s.prediction_seconds),
            weight_grams: sliced.and_then(|s| s.weight_grams),
            filaments: sliced.map(|s| s.filaments.clone()).unwrap_or_default(),
            layer_count: header.layer_count,
            estimated_seconds: header.estimated_seconds,
            bed_type: json
                .as_ref()
                .and_then(settings::PlateJson::bed_type)
                .or_else(|| model_plate.and_then(|m| m.bed_type.clone())),
            object_count: object_names.len(),
            object_names,
            gcode_path,
            thumbnail_path: archive.plates.png.get(&index).cloned(),
        });
    }

    let objects = collect_objects(&sliced_plates, &models);
    let printer_model_id = plates.iter().find_map(|p| p.printer_model_id.clone());
    let nozzle_diameter = settings
        .nozzle_diameter()
        .or_else(|| plates.iter().find_map(|p| p.nozzle_diameter));

    Ok(Project {
        sliced: !archive.plates.gcode.is_empty(),
        application: meta.application,
        title: meta.title,
        printer_model: settings.printer_model(),
        printer_model_id,
        nozzle_diameter,
        bed_type: settings.bed_type(),
        print_profile: settings.print_profile(),
        layer_height: settings.layer_height(),
        filament_settings_ids: settings.filament_settings_ids(),
        plates,
        objects,
    })
}

/// Objects from slice_info when it lists any (sliced files), else from
/// model_settings (projects).
fn collect_objects(
    sliced_plates: &[(u32, &slice_info::SlicedPlate)],
    models: &model_settings::ModelSettings,
) -> Vec<ObjectInfo> {
    let from_slices: Vec<ObjectInfo> = sliced_plates
        .iter()
        .flat_map(|(index, plate)| {
            plate.objects.iter().map(|(id, name)| ObjectInfo {
                id: *id,
                name: name.clone(),
                plate: Some(*index),
            })
        })
        .collect();
    if !from_slices.is_empty() {
        return from_slices;
    }
    models
        .objects
        .iter()
        .map(|o| ObjectInfo {
            id: o.id,
            name: o.name.clone().unwrap_or_default(),
            plate: o.id.and_then(|id| {
                models
                    .plates
                    .iter()
                    .find(|p| p.object_ids.contains(&id))
                    .and_then(|p| p.index)
            }),
        })
        .collect()
}

/// Reads a 3MF file from disk; see [`read`].
pub fn read_path(path: impl AsRef<Path>, limits: &Limits) -> Result<Project, ThreeMfError> {
    // Buffered: the ZIP reader does many small reads of the directory.
    read(BufReader::new(File::open(path)?), limits)
}

/// Returns the PNG bytes of plate `plate_index`'s thumbnail
/// (`Metadata/plate_N.png`, the 512×512 render Studio shows), at most
/// [`Limits::max_thumbnail_bytes`] long.
///
/// The archive is vetted as in [`read`]. A plate without a thumbnail is
/// [`ThreeMfError::MissingEntry`].
pub fn thumbnail(
    reader: impl Read + Seek,
    plate_index: u32,
    limits: &Limits,
) -> Result<Vec<u8>, ThreeMfError> {
    let mut archive = Archive::open(reader, limits)?;
    let name = format!("Metadata/plate_{plate_index}.png");
    archive
        .read_all(&name, limits.max_thumbnail_bytes)?
        .ok_or(ThreeMfError::MissingEntry { entry: name })
}
