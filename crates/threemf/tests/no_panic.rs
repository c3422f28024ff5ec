//! Property tests: whatever bytes arrive, `read` and `thumbnail` return
//! (Ok or Err) and never panic.

mod common;

use std::io::Cursor;
use std::sync::OnceLock;

use proptest::prelude::*;
use threemf::Limits;

fn sample_a() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| common::fixture_bytes("sample-a.3mf"))
}

/// Limits small enough that a mutation which inflates an entry is caught
/// quickly, large enough that sample-a itself parses.
fn limits() -> Limits {
    Limits {
        max_entry_bytes: 1024 * 1024,
        max_total_bytes: 4 * 1024 * 1024,
        ..Limits::default()
    }
}

fn exercise(bytes: &[u8]) {
    let _ = threemf::read(Cursor::new(bytes), &limits());
    let _ = threemf::thumbnail(Cursor::new(bytes), 1, &limits());
}

/// Where to mutate: anywhere, or where the parser actually looks (the
/// metadata entries near the start, the central directory at the end).
fn position(len: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        0..len,
        0..len.min(48 * 1024),
        len.saturating_sub(4 * 1024)..len,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        exercise(&bytes);
    }

    #[test]
    fn random_bytes_after_a_zip_signature_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..2048)
    ) {
        let mut bytes = b"PK\x03\x04".to_vec();
        bytes.extend_from_slice(&tail);
        bytes.extend_from_slice(b"PK\x05\x06");
        bytes.extend_from_slice(&tail[..tail.len().min(18)]);
        exercise(&bytes);
    }

    #[test]
    fn mutated_sample_a_never_panics(
        edits in proptest::collection::vec((position(sample_a().len()), any::<u8>()), 1..16),
        truncate in proptest::option::weighted(0.2, 0..sample_a().len()),
    ) {
        let mut bytes = sample_a().to_vec();
        for (at, byte) in edits {
            bytes[at] = byte;
        }
        if let Some(len) = truncate {
            bytes.truncate(len);
        }
        exercise(&bytes);
    }

    #[test]
    fn random_metadata_text_never_panics(
        slice_info in ".{0,400}",
        settings in ".{0,400}",
        gcode in ".{0,400}",
        model in ".{0,400}",
    ) {
        let bytes = common::zip_of(&[
            ("3D/3dmodel.model", model.as_bytes()),
            ("Metadata/slice_info.config", slice_info.as_bytes()),
            ("Metadata/project_settings.config", settings.as_bytes()),
            ("Metadata/plate_1.gcode", gcode.as_bytes()),
            ("Metadata/model_settings.config", slice_info.as_bytes()),
            ("Metadata/plate_1.json", settings.as_bytes()),
        ]);
        exercise(&bytes);
    }

    #[test]
    fn xml_like_metadata_never_panics(
        pieces in proptest::collection::vec(
            prop_oneof![
                Just("<config>"), Just("</config>"), Just("<plate>"), Just("</plate>"),
                Just("<metadata key=\"index\" value=\"1\"/>"),
                Just("<metadata key=\"prediction\" value=\"9\"/>"),
                Just("<filament id=\"1\" color=\"#FFF\"/>"),
                Just("<object identify_id=\"3\" name=\"a&amp;b\"/>"),
                Just("<model_instance>"), Just("</model_instance>"),
                Just("<metadata key=\"object_id\" value=\"3\"/>"),
                Just("&#0;"), Just("&bogus;"), Just("<![CDATA[x]]>"), Just("<?xml version=\"1.0\"?>"),
            ],
            0..40,
        )
    ) {
        let xml = pieces.concat();
        let model = format!("<model><metadata name=\"Title\">{xml}</metadata><resources/></model>");
        let bytes = common::zip_of(&[
            ("3D/3dmodel.model", model.as_bytes()),
            ("Metadata/slice_info.config", xml.as_bytes()),
            ("Metadata/model_settings.config", xml.as_bytes()),
        ]);
        exercise(&bytes);
    }
}
