//! Small helpers over quick-xml: the config files are flat enough that a
//! walk with the ancestor path beats building a tree.

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

use crate::ThreeMfError;

/// Deepest element nesting accepted. Bambu's files nest four levels; the cap
/// only stops pathological input from growing the ancestor stack.
const MAX_DEPTH: usize = 64;

/// Attributes of one element, unescaped, in document order.
#[derive(Debug, Default)]
pub(crate) struct Attrs(Vec<(String, String)>);

impl Attrs {
    /// Value of attribute `key`, if present.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Collects the attributes of `e`; malformed attributes are an error,
    /// since silently dropping one could hide the very value we look for.
    pub(crate) fn of(e: &BytesStart<'_>) -> Result<Self, String> {
        let mut out = Vec::new();
        for attr in e.attributes() {
            let attr = attr.map_err(|err| err.to_string())?;
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| err.to_string())?;
            out.push((attr.key.as_ref().to_owned(), value.into_owned()));
        }
        Ok(Self(out))
    }
}

/// Turns entry bytes into text, dropping a UTF-8 byte-order mark.
pub(crate) fn as_text<'a>(entry: &str, bytes: &'a [u8]) -> Result<&'a str, ThreeMfError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| bad_xml(entry, format!("not UTF-8: {e}")))
}

/// Builds a [`ThreeMfError::BadXml`].
pub(crate) fn bad_xml(entry: &str, detail: impl Into<String>) -> ThreeMfError {
    ThreeMfError::BadXml {
        entry: entry.to_owned(),
        detail: detail.into(),
    }
}

/// Calls `f(ancestors, name, attrs)` for every element of `xml`, in
/// document order, with local (prefix-free) names. Fails on any
/// well-formedness error, including a document that ends with open elements.
pub(crate) fn walk(
    entry: &str,
    xml: &str,
    mut f: impl FnMut(&[String], &str, &Attrs),
) -> Result<(), ThreeMfError> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| bad_xml(entry, format!("{e} at byte {}", reader.error_position())))?;
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_owned();
                let attrs = Attrs::of(&e).map_err(|d| bad_xml(entry, d))?;
                f(&stack, &name, &attrs);
                if stack.len() >= MAX_DEPTH {
                    return Err(bad_xml(entry, "elements nested too deeply"));
                }
                stack.push(name);
            }
            Event::Empty(e) => {
                let name = e.local_name().as_ref().to_owned();
                let attrs = Attrs::of(&e).map_err(|d| bad_xml(entry, d))?;
                f(&stack, &name, &attrs);
            }
            Event::End(_) => {
                // quick-xml already checks that end names match.
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(bad_xml(entry, format!("document ends inside <{open}>")));
    }
    Ok(())
}

/// Appends the text an entity reference stands for (`&amp;`, `&#233;`);
/// quick-xml reports references as separate events.
pub(crate) fn push_ref(out: &mut String, r: &BytesRef<'_>) -> Result<(), String> {
    if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
        out.push(c);
        return Ok(());
    }
    let name = r.xml_content(quick_xml::XmlVersion::Implicit1_0);
    match quick_xml::escape::resolve_predefined_entity(&name) {
        Some(s) => out.push_str(s),
        // An undeclared entity is a well-formedness error; keep it visible
        // rather than guess.
        None => return Err(format!("unknown entity &{name};")),
    }
    Ok(())
}
