//! Helpers shared by the integration tests: fixture paths and small
//! archives built in memory with the `zip` crate's writer.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{Cursor, Write};

use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

/// Path of a real fixture file under `shared/fixtures/3mf/`.
pub fn fixture(name: &str) -> String {
    format!(
        "{}/../../../shared/fixtures/3mf/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Bytes of a real fixture file.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture is readable")
}

/// Deflate options, as Bambu Studio writes its metadata.
pub fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

/// A ZIP holding `entries` (all deflated).
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, deflated()).expect("start entry");
        w.write_all(data).expect("write entry");
    }
    w.finish().expect("finish zip").into_inner()
}

pub const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<model unit="millimeter" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">
 <metadata name="Application">BambuStudio-02.01.01.52</metadata>
 <metadata name="Title">Test &amp; Co &#233;</metadata>
 <resources>
 </resources>
 <build/>
</model>"#;

pub const SLICE_INFO: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<config>
  <header>
    <header_item key="X-BBL-Client-Type" value="slicer"/>
    <header_item key="X-BBL-Client-Version" value="02.01.01.52"/>
  </header>
  <plate>
    <metadata key="index" value="1"/>
    <metadata key="printer_model_id" value="C12"/>
    <metadata key="nozzle_diameters" value="0.4"/>
    <metadata key="prediction" value="3723"/>
    <metadata key="weight" value="10.48"/>
    <object identify_id="184" name="wormdrive.step" skipped="false"/>
    <filament id="1" tray_info_idx="GFA00" type="PLA" color="#00ae42" used_m="3.46" used_g="10.48"/>
  </plate>
</config>"##;

pub const PROJECT_SETTINGS: &str = r#"{
    "printer_model": "Bambu Lab P1S",
    "print_settings_id": "0.20mm Standard @BBL X1C",
    "layer_height": "0.2",
    "nozzle_diameter": ["0.4"],
    "curr_bed_type": "Cool Plate",
    "filament_settings_id": ["Bambu PLA Basic @BBL X1C"],
    "unrelated": {"nested": [1, 2, {"x": null}]}
}"#;

pub const GCODE: &str = "; HEADER_BLOCK_START\n; BambuStudio 02.01.01.52\n\
; model printing time: 50m 1s; total estimated time: 1h 2m 3s\n\
; total layer number: 350\n; HEADER_BLOCK_END\n\n; CONFIG_BLOCK_START\n; layer_height = 0.2\n\
; CONFIG_BLOCK_END\nG28\n";

/// A small, valid sliced file; tests replace one entry to break it.
pub fn minimal_entries() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("3D/3dmodel.model", MODEL.as_bytes().to_vec()),
        ("Metadata/slice_info.config", SLICE_INFO.as_bytes().to_vec()),
        (
            "Metadata/project_settings.config",
            PROJECT_SETTINGS.as_bytes().to_vec(),
        ),
        ("Metadata/plate_1.gcode", GCODE.as_bytes().to_vec()),
        ("Metadata/plate_1.png", b"\x89PNG\r\n\x1a\nfake".to_vec()),
    ]
}

/// [`minimal_entries`] with entry `name` replaced (or added) by `data`.
pub fn minimal_with(name: &'static str, data: &[u8]) -> Vec<u8> {
    let mut entries = minimal_entries();
    match entries.iter_mut().find(|(n, _)| *n == name) {
        Some(entry) => entry.1 = data.to_vec(),
        None => entries.push((name, data.to_vec())),
    }
    let borrowed: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (*n, d.as_slice())).collect();
    zip_of(&borrowed)
}

/// Replaces every occurrence of `from` with `to` (same length) in the raw
/// archive bytes: how tests plant names the ZIP writer would refuse or
/// normalise, in both the local and the central headers.
pub fn replace_bytes(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len(), "replacement must keep the length");
    let mut count = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            count += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    count
}
