//! Crafted bad files, built in the test with the `zip` writer: each must
//! fail with the matching error, quickly and with bounded memory.

mod common;

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use common::{GCODE, minimal_entries, minimal_with, replace_bytes, zip_of};
use threemf::{Limits, ThreeMfError};

fn read(bytes: &[u8]) -> Result<threemf::Project, ThreeMfError> {
    threemf::read(Cursor::new(bytes), &Limits::default())
}

#[test]
fn minimal_file_reads() {
    let p = read(&minimal_with("Metadata/plate_1.gcode", GCODE.as_bytes())).expect("valid");
    assert!(p.sliced);
    // Entities in model metadata are resolved.
    assert_eq!(p.title.as_deref(), Some("Test & Co é"));
    assert_eq!(p.printer_model_id.as_deref(), Some("C12"));
    let plate = &p.plates[0];
    assert_eq!(plate.estimated_seconds, Some(3723));
    assert_eq!(plate.prediction_seconds, Some(3723));
    assert_eq!(plate.layer_count, Some(350));
    // Lowercase colours are normalised.
    assert_eq!(plate.filaments[0].colour.as_deref(), Some("#00AE42"));
    assert_eq!(p.objects[0].id, Some(184));
}

#[test]
fn not_a_zip() {
    for junk in [
        &b""[..],
        b"hello",
        b"this is plainly not a zip archive but some text that is long enough",
        &[0u8; 4096],
    ] {
        let err = read(junk).expect_err("junk");
        assert!(matches!(err, ThreeMfError::NotAZip { .. }), "{err:?}");
    }
}

#[test]
fn zip_without_model_is_missing_entry() {
    let bytes = zip_of(&[("hello.txt", b"hi")]);
    let err = read(&bytes).expect_err("no model part");
    assert!(
        matches!(&err, ThreeMfError::MissingEntry { entry } if entry == "3D/3dmodel.model"),
        "{err:?}"
    );
}

/// Builds a ZIP whose slice_info.config is `mib` MiB of zeros, streamed
/// into the writer so the test itself stays small in memory.
fn zeros_bomb(mib: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("3D/3dmodel.model", common::deflated())
        .expect("start");
    w.write_all(common::MODEL.as_bytes()).expect("write");
    w.start_file("Metadata/slice_info.config", common::deflated())
        .expect("start");
    let chunk = vec![0u8; 1024 * 1024];
    for _ in 0..mib {
        w.write_all(&chunk).expect("write zeros");
    }
    w.finish().expect("finish").into_inner()
}

#[test]
fn zip_bomb_fails_fast() {
    let bomb = zeros_bomb(100);
    assert!(
        bomb.len() < 1024 * 1024,
        "compressed to {} bytes",
        bomb.len()
    );
    let start = Instant::now();
    let err = read(&bomb).expect_err("bomb");
    assert!(
        matches!(&err, ThreeMfError::ZipBomb { entry } if entry == "Metadata/slice_info.config"),
        "{err:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
}

/// The same bomb with its declared sizes rewritten to look tiny: the limits
/// must hold on the bytes actually produced, not on what the headers claim.
#[test]
fn zip_bomb_with_lying_sizes_still_fails() {
    let mut bomb = zeros_bomb(100);
    let real = (100u32 * 1024 * 1024).to_le_bytes();
    let fake = 1000u32.to_le_bytes();
    // The uncompressed size sits in the local header and in the central
    // directory; no other 4-byte field of this small file equals 100 MiB.
    assert_eq!(replace_bytes(&mut bomb, &real, &fake), 2);
    let start = Instant::now();
    let err = read(&bomb).expect_err("lying bomb");
    assert!(
        matches!(
            err,
            ThreeMfError::ZipBomb { .. }
                | ThreeMfError::EntryTooLarge { .. }
                | ThreeMfError::CorruptEntry { .. }
        ),
        "{err:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
}

/// An ordinary entry (plain text, normal ratio) over a tight per-entry cap.
#[test]
fn entry_over_cap_is_too_large() {
    let limits = Limits {
        max_entry_bytes: 2000,
        ..Limits::default()
    };
    let bytes = minimal_with("Metadata/project_settings.config", &[b' '; 4096]);
    let err = threemf::read(Cursor::new(bytes), &limits).expect_err("over cap");
    assert!(
        matches!(&err, ThreeMfError::EntryTooLarge { entry, limit: 2000 }
            if entry == "Metadata/project_settings.config"),
        "{err:?}"
    );
}

#[test]
fn total_budget_is_enforced() {
    let limits = Limits {
        max_total_bytes: 1000,
        ..Limits::default()
    };
    let err =
        threemf::read(Cursor::new(minimal_with("x.txt", b"x")), &limits).expect_err("over budget");
    assert!(
        matches!(err, ThreeMfError::TotalTooLarge { limit: 1000 }),
        "{err:?}"
    );
}

#[test]
fn unsafe_entry_names_reject_the_archive() {
    // The writer normalises names, so plant them by patching same-length
    // placeholders in the finished archive.
    for (placeholder, evil) in [
        ("zz/evil", "../evil"),
        ("zetc/passwd", "/etc/passwd"),
        ("dir/zz/zz/x", "dir/../../x"),
        ("Metadata/a_b", "Metadata\\a_b"),
        ("Zz/windows", "C:/windows"),
    ] {
        let mut bytes = minimal_with(placeholder, b"payload");
        assert_eq!(
            replace_bytes(&mut bytes, placeholder.as_bytes(), evil.as_bytes()),
            2,
            "{placeholder}"
        );
        let err = read(&bytes).expect_err(evil);
        assert!(
            matches!(&err, ThreeMfError::UnsafePath { entry } if entry == evil),
            "{evil}: {err:?}"
        );
    }
}

#[test]
fn duplicate_names_reject_the_archive() {
    let mut bytes = minimal_with("Metadata/plate_2.gcode", b"; nothing\n");
    assert_eq!(
        replace_bytes(
            &mut bytes,
            b"Metadata/plate_2.gcode",
            b"Metadata/plate_1.gcode"
        ),
        2
    );
    let err = read(&bytes).expect_err("duplicate");
    assert!(matches!(err, ThreeMfError::DuplicateEntries), "{err:?}");
}

#[test]
fn broken_xml_in_slice_info() {
    for broken in [
        &b"<config><plate><metadata key=\"index\" value=\"1\"/></pla></config>"[..],
        b"<config><plate>",
        b"<config><metadata key=\"a\" key=\"b\"/></config>",
        b"<config><metadata key=\"unterminated/></config>",
        b"<config>\xff\xfe</config>",
    ] {
        let err =
            read(&minimal_with("Metadata/slice_info.config", broken)).expect_err("broken xml");
        assert!(
            matches!(&err, ThreeMfError::BadXml { entry, .. } if entry == "Metadata/slice_info.config"),
            "{:?}: {err:?}",
            String::from_utf8_lossy(broken)
        );
    }
}

#[test]
fn broken_xml_in_model_settings_and_model() {
    let err = read(&minimal_with(
        "Metadata/model_settings.config",
        b"<config><object id=\"1\">",
    ))
    .expect_err("broken");
    assert!(matches!(err, ThreeMfError::BadXml { .. }), "{err:?}");
    let err = read(&minimal_with(
        "3D/3dmodel.model",
        b"<model><metadata name=\"Title\">x</model>",
    ))
    .expect_err("broken");
    assert!(
        matches!(&err, ThreeMfError::BadXml { entry, .. } if entry == "3D/3dmodel.model"),
        "{err:?}"
    );
}

#[test]
fn broken_json_in_project_settings() {
    for broken in [
        &b"{\"printer_model\": "[..],
        b"not json",
        b"[1, 2]",
        b"{\"a\": 1,}",
    ] {
        let err = read(&minimal_with("Metadata/project_settings.config", broken))
            .expect_err("broken json");
        assert!(
            matches!(&err, ThreeMfError::BadJson { entry, .. } if entry == "Metadata/project_settings.config"),
            "{err:?}"
        );
    }
}

#[test]
fn broken_plate_json() {
    let err = read(&minimal_with("Metadata/plate_1.json", b"{\"bed_type\": ")).expect_err("broken");
    assert!(
        matches!(&err, ThreeMfError::BadJson { entry, .. } if entry == "Metadata/plate_1.json"),
        "{err:?}"
    );
}

#[test]
fn too_many_entries() {
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let names: Vec<String> = (0..11).map(|i| format!("extra/{i}.txt")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let err = threemf::read(Cursor::new(zip_of(&entries)), &limits).expect_err("11 > 10");
    assert!(
        matches!(
            err,
            ThreeMfError::TooManyEntries {
                count: 11,
                limit: 10
            }
        ),
        "{err:?}"
    );

    // And with the default limit of 10 000.
    let names: Vec<String> = (0..10_001).map(|i| format!("e/{i}")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let err = read(&zip_of(&entries)).expect_err("10 001 entries");
    assert!(
        matches!(err, ThreeMfError::TooManyEntries { .. }),
        "{err:?}"
    );
}

#[test]
fn project_without_slice_info_is_not_sliced() {
    let entries = minimal_entries();
    let kept: Vec<(&str, &[u8])> = entries
        .iter()
        .filter(|(n, _)| !n.ends_with(".gcode") && !n.contains("slice_info"))
        .map(|(n, d)| (*n, d.as_slice()))
        .collect();
    let p = read(&zip_of(&kept)).expect("a project is not an error");
    assert!(!p.sliced);
    assert!(matches!(p.require_sliced(), Err(ThreeMfError::NotSliced)));
    // Settings and the thumbnail-only plate are still there.
    assert_eq!(p.printer_model.as_deref(), Some("Bambu Lab P1S"));
    assert_eq!(p.plates.len(), 1);
    assert_eq!(
        p.plates[0].thumbnail_path.as_deref(),
        Some("Metadata/plate_1.png")
    );
}

#[test]
fn gcode_header_past_the_cap_is_unknown_not_an_error() {
    let mut gcode = "; HEADER_BLOCK_START\n".to_owned();
    gcode.push_str(&"; padding padding padding\n".repeat(20_000));
    gcode.push_str("; total layer number: 7\n; HEADER_BLOCK_END\n");
    let p = read(&minimal_with("Metadata/plate_1.gcode", gcode.as_bytes())).expect("parses");
    assert_eq!(p.plates[0].layer_count, None);
    assert!(p.sliced);
}

#[test]
fn odd_values_are_unknown_not_errors() {
    let slice_info = br#"<config><plate>
        <metadata key="index" value="1"/>
        <metadata key="printer_model_id" value=""/>
        <metadata key="prediction" value="soon"/>
        <metadata key="weight" value="NaN"/>
        <filament id="x" type="PLA"/>
        <filament id="2" type="" color="blue" used_g="-" used_m="1e400"/>
        <object name="no id"/>
    </plate></config>"#;
    let p = read(&minimal_with("Metadata/slice_info.config", slice_info)).expect("lenient");
    let plate = &p.plates[0];
    assert_eq!(plate.printer_model_id, None);
    assert_eq!(plate.prediction_seconds, None);
    assert_eq!(plate.weight_grams, None);
    assert_eq!(plate.filaments.len(), 1);
    assert_eq!(plate.filaments[0].slot, 2);
    assert_eq!(plate.filaments[0].filament_type, None);
    assert_eq!(plate.filaments[0].colour, None);
    assert_eq!(plate.filaments[0].used_metres, None);
    assert_eq!(p.objects[0].id, None);
    assert_eq!(p.objects[0].name, "no id");
}
