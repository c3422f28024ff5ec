//! The configuration reference, made from the settings type itself: each setting's key,
//! environment variable, kind of value, default and doc comment. `docs/configuration.md`
//! is its output (`printfarm config --reference`) and a test keeps the two the same, so
//! the reference cannot drift from the code, and neither can the list of variables the
//! server reads ([`variables`]).

use super::Settings;
use serde_json::{Map, Value};
use utoipa::PartialSchema;

/// One setting as the reference lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its key in the TOML file (`smtp.host` for a key inside a table).
    pub key: String,
    /// The environment variable that sets it.
    pub variable: String,
    /// What kind of value it takes.
    pub kind: String,
    /// Whether it takes a list (written with commas between items in a variable).
    pub is_list: bool,
    /// Its default as TOML writes it; none when it has none.
    pub default: Option<String>,
    /// Whether a table that is given must give it.
    pub required: bool,
    /// What it does.
    pub description: String,
}

/// Every setting, by key in alphabetical order; a table's keys follow it.
pub fn entries() -> Vec<Entry> {
    let schema = serde_json::to_value(Settings::schema()).unwrap_or(Value::Null);
    let defaults = serde_json::to_value(Settings::default()).unwrap_or(Value::Null);
    let mut out = Vec::new();
    walk(&schema, &defaults, "", "PRINTFARM_", &mut out);
    out
}

/// The `PRINTFARM_*` variables the server reads: a top-level setting's name, or a table's
/// prefix (`SMTP__`) that any of its keys may follow.
pub fn variables() -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for entry in entries() {
        let name = entry.variable.trim_start_matches("PRINTFARM_");
        let name = match name.split_once("__") {
            Some((table, _)) => format!("{table}__"),
            None => name.to_string(),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The top-level settings that take lists (`trusted_origins`, ...).
pub fn list_keys() -> Vec<String> {
    entries()
        .into_iter()
        .filter(|e| e.is_list && !e.key.contains('.'))
        .map(|e| e.key)
        .collect()
}

fn walk(schema: &Value, defaults: &Value, prefix: &str, variable: &str, out: &mut Vec<Entry>) {
    let object = object_part(schema);
    let Some(properties) = object
        .and_then(|o| o.get("properties"))
        .and_then(Value::as_object)
    else {
        return;
    };
    let required: Vec<&str> = object
        .and_then(|o| o.get("required"))
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, property) in properties {
        let key = format!("{prefix}{name}");
        let default = defaults.get(name).unwrap_or(&Value::Null);
        let description = description(property);
        if let Some(table) = object_part(property).filter(|t| t.contains_key("properties")) {
            out.push(Entry {
                key: key.clone(),
                variable: format!("{variable}{}__*", name.to_uppercase()),
                kind: "table".into(),
                is_list: false,
                default: None,
                required: required.contains(&name.as_str()),
                description,
            });
            walk(
                &Value::Object(table.clone()),
                default,
                &format!("{key}."),
                &format!("{variable}{}__", name.to_uppercase()),
                out,
            );
            continue;
        }
        let schema_default = property
            .get("default")
            .or_else(|| members(property).find_map(|m| m.get("default")))
            .filter(|d| !d.is_null());
        out.push(Entry {
            key,
            variable: format!("{variable}{}", name.to_uppercase()),
            kind: kind(property),
            is_list: types(property).contains(&"array"),
            default: schema_default
                .or(Some(default).filter(|d| !d.is_null()))
                .map(toml_value),
            required: required.contains(&name.as_str()) && !prefix.is_empty(),
            description,
        });
    }
}

/// The object a schema describes, looking through `oneOf`/`anyOf`/`allOf` (an optional
/// table is "null or this object").
fn object_part(schema: &Value) -> Option<&Map<String, Value>> {
    let object = schema.as_object()?;
    if object.contains_key("properties") {
        return Some(object);
    }
    members(schema).find_map(object_part)
}

/// The parts of a composed schema (`oneOf`, `anyOf`, `allOf`).
fn members(schema: &Value) -> impl Iterator<Item = &Value> {
    ["oneOf", "anyOf", "allOf"]
        .into_iter()
        .filter_map(|k| schema.get(k).and_then(Value::as_array))
        .flatten()
}

/// The field's doc comment: on the property, or, for an inline type, on the part that
/// carries neither the type's values nor its keys.
fn description(property: &Value) -> String {
    let text = |v: &Value| {
        v.get("description")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    text(property)
        .or_else(|| {
            members(property)
                .find(|m| m.get("enum").is_none() && m.get("properties").is_none())
                .and_then(text)
        })
        .or_else(|| {
            object_part(property).and_then(|o| o.get("description")?.as_str().map(str::to_string))
        })
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn types(property: &Value) -> Vec<&str> {
    match property.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn kind(property: &Value) -> String {
    let values = property
        .get("enum")
        .or_else(|| members(property).find_map(|m| m.get("enum")));
    if let Some(values) = values.and_then(Value::as_array) {
        let names: Vec<String> = values
            .iter()
            .filter_map(Value::as_str)
            .map(|v| format!("`{v}`"))
            .collect();
        return format!("one of {}", names.join(", "));
    }
    let types = types(property);
    let optional = types.contains(&"null");
    let base = match types.iter().find(|t| **t != "null") {
        Some(&"array") => {
            let item = property
                .get("items")
                .map(kind)
                .unwrap_or_else(|| "value".into());
            format!("list of {item}s")
        }
        Some(other) => other.to_string(),
        None => "value".to_string(),
    };
    if optional {
        format!("{base}, optional")
    } else {
        base
    }
}

/// A JSON default as TOML writes it.
fn toml_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(toml_value).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// The reference as Markdown: what `docs/configuration.md` holds.
pub fn markdown() -> String {
    let mut md = String::from(
        "# Configuration reference\n\n\
         <!-- Made by `printfarm config --reference` from crates/server/src/settings.rs; \
         a test fails when the two differ. -->\n\n\
         The server reads its settings in this order, each overriding the one before:\n\n\
         1. the defaults below;\n\
         2. a TOML file, `printfarm serve --config FILE` (or `PRINTFARM_CONFIG=FILE`);\n\
         3. `PRINTFARM_*` environment variables: a table's key is `PRINTFARM_<TABLE>__<KEY>` \
         (two underscores), and a list has commas between its items;\n\
         4. the command line: `--listen`, `--data-dir`, `--database-url`, `--public-url`, \
         `--object-store`, `--bus`, `--log-format`.\n\n\
         A setting it does not know is an error, not ignored. `printfarm config` prints the \
         settings in effect, with every secret hidden.\n\n\
         ```toml\n\
         # /etc/printfarm/printfarm.toml, say\n\
         listen = \"0.0.0.0:8787\"\n\
         public_url = \"https://farm.example.com\"\n\
         data_dir = \"/var/lib/printfarm\"\n\
         log_format = \"json\"\n\n\
         [smtp]\n\
         host = \"smtp.example.com\"\n\
         username = \"printfarm\"\n\
         password = \"...\"\n\
         ```\n\n",
    );
    for entry in entries() {
        let depth = if entry.key.contains('.') {
            "####"
        } else {
            "###"
        };
        md.push_str(&format!("{depth} `{}`\n\n", entry.key));
        if !entry.description.is_empty() {
            md.push_str(&entry.description);
            md.push_str("\n\n");
        }
        let default = match (&entry.default, entry.required) {
            (Some(d), _) => format!("`{d}`"),
            (None, true) => "none: required in the table".into(),
            (None, false) => "none".into(),
        };
        md.push_str(&format!(
            "- {}; default {default}; variable `{}`\n\n",
            capitalised(&entry.kind),
            entry.variable
        ));
    }
    md
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_in_the_reference_with_its_doc_comment_and_default() {
        let entries = entries();
        let listen = entries.iter().find(|e| e.key == "listen").unwrap();
        assert_eq!(listen.variable, "PRINTFARM_LISTEN");
        assert_eq!(listen.default.as_deref(), Some("\"127.0.0.1:8787\""));
        assert_eq!(listen.description, "Address to listen on.");
        let host = entries.iter().find(|e| e.key == "smtp.host").unwrap();
        assert_eq!(host.variable, "PRINTFARM_SMTP__HOST");
        assert!(host.required);
        let origins = entries.iter().find(|e| e.key == "trusted_origins").unwrap();
        assert!(origins.is_list);
        assert_eq!(origins.default.as_deref(), Some("[]"));
        let format = entries.iter().find(|e| e.key == "log_format").unwrap();
        assert_eq!(format.kind, "one of `text`, `json`");
        // Every field of the type is listed (the JSON of the defaults names them all).
        let defaults = serde_json::to_value(Settings::default()).unwrap();
        for name in defaults.as_object().unwrap().keys() {
            assert!(entries.iter().any(|e| &e.key == name), "{name} is missing");
        }
        assert!(entries.iter().all(|e| !e.description.is_empty()));
    }

    #[test]
    fn the_committed_reference_is_what_the_settings_type_says() {
        let committed = include_str!("../../../../docs/configuration.md");
        assert!(
            committed == markdown(),
            "docs/configuration.md is out of date: run `printfarm config --reference > docs/configuration.md`"
        );
    }

    #[test]
    fn the_variables_read_are_the_settings_and_the_tables_prefixes() {
        let variables = variables();
        for name in [
            "LISTEN",
            "SMTP__",
            "TLS_CERTIFICATE",
            "METRICS_TOKEN",
            "DEMO_SIGN_IN__",
        ] {
            assert!(variables.iter().any(|v| v == name), "{name}");
        }
        assert_eq!(list_keys(), vec!["trusted_origins", "trusted_proxies"]);
    }
}
