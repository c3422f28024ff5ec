//! `3D/3dmodel.model`: only the `<metadata>` at the top is read.
//!
//! In a project file this part can hold whole meshes (megabytes of
//! vertices). The metadata comes before `<resources>`, so parsing stops
//! there and the meshes are never decompressed.

use std::io::{BufReader, Read};

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::xml::{self, Attrs, bad_xml};
use crate::{ThreeMfError, num};

/// Entry name. Bambu Studio always uses this path for the root model part.
pub(crate) const ENTRY: &str = "3D/3dmodel.model";

/// Longest metadata value kept. `Title` and `Application` are short; the
/// cap keeps a huge value from being accumulated for nothing.
const MAX_VALUE_CHARS: usize = 4096;

/// The model metadata this crate reports.
#[derive(Debug, Default)]
pub(crate) struct ModelMeta {
    pub application: Option<String>,
    pub title: Option<String>,
}

/// Which metadata value is being collected.
#[derive(Clone, Copy)]
enum Wanted {
    Application,
    Title,
}

/// Reads metadata from the start of the model part up to `<resources>`.
pub(crate) fn parse(reader: &mut dyn Read) -> Result<ModelMeta, ThreeMfError> {
    let mut xml = Reader::from_reader(BufReader::new(reader));
    let mut buf = Vec::new();
    let mut meta = ModelMeta::default();
    // The metadata element we are inside, if it is one we want.
    let mut current: Option<(Wanted, String)> = None;
    let mut depth = 0usize;
    loop {
        let event = xml
            .read_event_into(&mut buf)
            .map_err(|e| bad_xml(ENTRY, format!("{e} at byte {}", xml.error_position())))?;
        match event {
            Event::Start(e) => {
                depth += 1;
                match e.local_name().as_ref() {
                    // Everything after this is geometry.
                    "resources" | "build" => break,
                    "metadata" => {
                        let attrs = Attrs::of(&e).map_err(|d| bad_xml(ENTRY, d))?;
                        current = match attrs.get("name") {
                            Some("Application") => Some((Wanted::Application, String::new())),
                            Some("Title") => Some((Wanted::Title, String::new())),
                            _ => None,
                        };
                    }
                    _ => {}
                }
            }
            Event::Empty(e) => {
                if matches!(e.local_name().as_ref(), "resources" | "build") {
                    break;
                }
            }
            Event::Text(t) => {
                if let Some((_, value)) = current.as_mut()
                    && value.len() < MAX_VALUE_CHARS
                {
                    value.push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0));
                }
            }
            Event::CData(t) => {
                if let Some((_, value)) = current.as_mut()
                    && value.len() < MAX_VALUE_CHARS
                {
                    value.push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0));
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, value)) = current.as_mut()
                    && value.len() < MAX_VALUE_CHARS
                {
                    xml::push_ref(value, &r).map_err(|d| bad_xml(ENTRY, d))?;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if let Some((wanted, value)) = current.take() {
                    let value = num::non_empty(Some(&value));
                    match wanted {
                        Wanted::Application => meta.application = value,
                        Wanted::Title => meta.title = value,
                    }
                }
                if depth == 0 {
                    break;
                }
            }
            Event::Eof => {
                if depth > 0 {
                    return Err(bad_xml(ENTRY, "document ends inside an element"));
                }
                break;
            }
            _ => {}
        }
        buf.clear();
    }
    Ok(meta)
}
