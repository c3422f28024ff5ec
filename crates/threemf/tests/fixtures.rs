//! The real files in `shared/fixtures/3mf/`, compared field by field with
//! what the files themselves say (slice_info.config, project_settings.config,
//! model_settings.config, plate_N.json and the G-code header).

mod common;

use std::io::{Cursor, Read, Seek, SeekFrom};

use common::{fixture, fixture_bytes};
use threemf::{Limits, ThreeMfError};

fn read_fixture(name: &str) -> threemf::Project {
    threemf::read_path(fixture(name), &Limits::default()).expect("fixture parses")
}

#[test]
fn sample_a_a1_mini_pla() {
    let p = read_fixture("sample-a.3mf");
    assert!(p.sliced);
    assert!(p.require_sliced().is_ok());
    assert_eq!(p.application.as_deref(), Some("BambuStudio-02.01.01.52"));
    assert_eq!(p.title.as_deref(), Some("Mini Bag Clip"));
    assert_eq!(p.printer_model.as_deref(), Some("Bambu Lab A1 mini"));
    assert_eq!(p.printer_model_id.as_deref(), Some("N1"));
    assert_eq!(p.nozzle_diameter, Some(0.4));
    assert_eq!(p.bed_type.as_deref(), Some("Textured PEI Plate"));
    assert_eq!(p.print_profile.as_deref(), Some("0.24mm Draft @BBL A1M"));
    assert_eq!(p.layer_height, Some(0.24));
    assert_eq!(p.filament_settings_ids, ["Bambu PLA Matte @BBL A1M"]);

    assert_eq!(p.plates.len(), 1);
    let plate = &p.plates[0];
    assert_eq!(plate.index, 1);
    assert_eq!(plate.printer_model_id.as_deref(), Some("N1"));
    assert_eq!(plate.nozzle_diameter, Some(0.4));
    assert_eq!(plate.prediction_seconds, Some(926));
    assert_eq!(plate.weight_grams, Some(3.57));
    assert_eq!(plate.layer_count, Some(42));
    // "total estimated time: 15m 26s" agrees with slice_info's prediction.
    assert_eq!(plate.estimated_seconds, Some(926));
    assert_eq!(plate.bed_type.as_deref(), Some("textured_plate"));
    assert_eq!(plate.object_names, ["2_6.stl"]);
    assert_eq!(plate.object_count, 1);
    assert_eq!(plate.gcode_path.as_deref(), Some("Metadata/plate_1.gcode"));
    assert_eq!(
        plate.thumbnail_path.as_deref(),
        Some("Metadata/plate_1.png")
    );

    assert_eq!(plate.filaments.len(), 1);
    let f = &plate.filaments[0];
    assert_eq!(f.slot, 1);
    assert_eq!(f.filament_type.as_deref(), Some("PLA"));
    assert_eq!(f.colour.as_deref(), Some("#F7D959"));
    assert_eq!(f.used_grams, Some(3.57));
    assert_eq!(f.used_metres, Some(1.12));
    assert_eq!(f.tray_info_idx.as_deref(), Some("GFA01"));

    assert_eq!(p.objects.len(), 1);
    assert_eq!(p.objects[0].id, Some(102));
    assert_eq!(p.objects[0].name, "2_6.stl");
    assert_eq!(p.objects[0].plate, Some(1));
}

#[test]
fn sample_d_a1_petg() {
    let p = read_fixture("sample-d.3mf");
    assert!(p.sliced);
    assert_eq!(p.printer_model.as_deref(), Some("Bambu Lab A1"));
    assert_eq!(p.printer_model_id.as_deref(), Some("N2S"));
    assert_eq!(p.print_profile.as_deref(), Some("0.24mm Draft @BBL A1"));
    assert_eq!(p.layer_height, Some(0.24));
    assert_eq!(p.nozzle_diameter, Some(0.4));
    assert_eq!(p.bed_type.as_deref(), Some("Textured PEI Plate"));
    assert_eq!(p.filament_settings_ids, ["Generic PETG @BBL A1"]);

    assert_eq!(p.plates.len(), 1);
    let plate = &p.plates[0];
    assert_eq!(plate.index, 1);
    assert_eq!(plate.printer_model_id.as_deref(), Some("N2S"));
    assert_eq!(plate.prediction_seconds, Some(1099));
    assert_eq!(plate.weight_grams, Some(3.32));
    assert_eq!(plate.layer_count, Some(42));
    assert_eq!(plate.estimated_seconds, Some(1099)); // 18m 19s
    assert_eq!(plate.bed_type.as_deref(), Some("textured_plate"));
    let f = &plate.filaments[0];
    assert_eq!(plate.filaments.len(), 1);
    assert_eq!(f.filament_type.as_deref(), Some("PETG"));
    assert_eq!(f.colour.as_deref(), Some("#F7D959"));
    assert_eq!(f.used_grams, Some(3.32));
    assert_eq!(f.used_metres, Some(1.09));
    assert_eq!(f.tray_info_idx.as_deref(), Some("GFG99"));
    assert_eq!(p.objects.len(), 1);
    assert_eq!(p.objects[0].id, Some(107));
}

#[test]
fn multiplate_project_is_not_sliced_but_fully_read() {
    let p = read_fixture("multiplate-4-plates-project.3mf");
    assert!(!p.sliced);
    assert!(matches!(p.require_sliced(), Err(ThreeMfError::NotSliced)));
    assert_eq!(p.application.as_deref(), Some("BambuStudio-02.01.00.59"));
    // The file's Title metadata is empty.
    assert_eq!(p.title, None);
    assert_eq!(p.printer_model.as_deref(), Some("Bambu Lab X1 Carbon"));
    // Only slice_info carries model codes, and this slice_info is empty.
    assert_eq!(p.printer_model_id, None);
    assert_eq!(p.print_profile.as_deref(), Some("0.20mm Standard @BBL X1C"));
    assert_eq!(p.bed_type.as_deref(), Some("Supertack Plate"));
    assert_eq!(p.layer_height, Some(0.2));
    assert_eq!(p.nozzle_diameter, Some(0.4));
    assert_eq!(p.filament_settings_ids.len(), 13);

    let indices: Vec<u32> = p.plates.iter().map(|pl| pl.index).collect();
    assert_eq!(indices, [1, 2, 3, 4]);
    for plate in &p.plates {
        assert_eq!(plate.gcode_path, None);
        assert_eq!(plate.prediction_seconds, None);
        assert_eq!(plate.layer_count, None);
        assert!(plate.filaments.is_empty());
        assert_eq!(
            plate.thumbnail_path.as_deref(),
            Some(format!("Metadata/plate_{}.png", plate.index).as_str())
        );
    }
    assert_eq!(p.plates[0].object_names, ["Cube"]);
    assert_eq!(p.plates[1].object_names, ["Cylinder"]);
    assert_eq!(p.plates[2].object_names, ["Rounded Rectangle"]);
    assert_eq!(
        p.plates[3].object_names,
        ["Disc", "Double Tear Romboid Cylinder"]
    );
    assert_eq!(p.plates[3].object_count, 2);

    assert_eq!(p.objects.len(), 5);
    let mut objects: Vec<(Option<u64>, &str, Option<u32>)> = p
        .objects
        .iter()
        .map(|o| (o.id, o.name.as_str(), o.plate))
        .collect();
    objects.sort();
    assert_eq!(
        objects,
        [
            (Some(2), "Cube", Some(1)),
            (Some(4), "Cylinder", Some(2)),
            (Some(6), "Rounded Rectangle", Some(3)),
            (Some(8), "Disc", Some(4)),
            (Some(10), "Double Tear Romboid Cylinder", Some(4)),
        ]
    );
}

/// The PNG bytes returned must be exactly the stored entry.
#[test]
fn thumbnails_are_the_stored_pngs() {
    let limits = Limits::default();
    for (file, plate, len) in [
        ("sample-a.3mf", 1, 9967),
        ("sample-d.3mf", 1, 9926),
        ("multiplate-4-plates-project.3mf", 1, 3711),
        ("multiplate-4-plates-project.3mf", 4, 3024),
    ] {
        let png = threemf::thumbnail(Cursor::new(fixture_bytes(file)), plate, &limits)
            .expect("thumbnail present");
        assert_eq!(png.len(), len, "{file} plate {plate}");
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{file}: PNG signature"
        );
    }
}

#[test]
fn missing_thumbnail_is_a_clear_error() {
    let err = threemf::thumbnail(
        Cursor::new(fixture_bytes("sample-a.3mf")),
        2,
        &Limits::default(),
    )
    .expect_err("sample-a has one plate");
    assert!(
        matches!(&err, ThreeMfError::MissingEntry { entry } if entry == "Metadata/plate_2.png"),
        "{err:?}"
    );
}

#[test]
fn thumbnail_respects_its_cap() {
    let limits = Limits {
        max_thumbnail_bytes: 1000,
        ..Limits::default()
    };
    let err = threemf::thumbnail(Cursor::new(fixture_bytes("sample-a.3mf")), 1, &limits)
        .expect_err("9967-byte thumbnail over a 1000-byte cap");
    assert!(
        matches!(err, ThreeMfError::EntryTooLarge { limit: 1000, .. }),
        "{err:?}"
    );
}

/// Counts the bytes pulled from the underlying file.
struct Counting<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// sample-a is 1 MB: 159 KB of compressed G-code and 890 KB of pictures.
/// Reading it must touch only the metadata and the head of the G-code.
#[test]
fn reads_only_what_it_needs() {
    let bytes = fixture_bytes("sample-a.3mf");
    let mut counting = Counting {
        inner: Cursor::new(&bytes),
        bytes: 0,
    };
    let p = threemf::read(&mut counting, &Limits::default()).expect("parses");
    assert_eq!(p.plates[0].layer_count, Some(42));
    assert!(
        counting.bytes < 100 * 1024,
        "read {} of {} bytes",
        counting.bytes,
        bytes.len()
    );
}

/// The G-code is never read whole: a per-entry cap far below its 970 KB
/// still yields the header values.
#[test]
fn gcode_is_not_read_whole() {
    let limits = Limits {
        max_entry_bytes: 128 * 1024,
        max_total_bytes: 256 * 1024,
        ..Limits::default()
    };
    let p = threemf::read_path(fixture("sample-a.3mf"), &limits).expect("parses");
    assert_eq!(p.plates[0].layer_count, Some(42));
    assert_eq!(p.plates[0].estimated_seconds, Some(926));
}

#[test]
fn serialises_with_snake_case_fields() {
    let p = read_fixture("sample-a.3mf");
    let json = serde_json::to_value(&p).expect("serialises");
    assert_eq!(json["printer_model_id"], "N1");
    assert_eq!(json["plates"][0]["prediction_seconds"], 926);
    assert_eq!(json["plates"][0]["filaments"][0]["used_grams"], 3.57);
    assert_eq!(json["plates"][0]["filaments"][0]["colour"], "#F7D959");
    assert_eq!(json["objects"][0]["plate"], 1);
    // And back, for callers that store the metadata as JSON.
    let back: threemf::Project = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, p);
}

#[test]
fn read_path_reports_missing_file_as_io() {
    let err = threemf::read_path(fixture("no-such-file.3mf"), &Limits::default())
        .expect_err("missing file");
    assert!(matches!(err, ThreeMfError::Io(_)), "{err:?}");
}
