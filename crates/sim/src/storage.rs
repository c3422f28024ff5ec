//! A printer's SD card: files kept in memory, with a size limit.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use serde::Serialize;

/// One file on a simulated card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredFile {
    /// Path from the card root, no leading slash (`cache/part.gcode.3mf`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
}

/// Files and folders of one card.
#[derive(Debug)]
pub(crate) struct Card {
    files: BTreeMap<String, Bytes>,
    dirs: BTreeSet<String>,
    /// Capacity in bytes.
    pub limit: u64,
    /// Fault: every store is refused as if the card were full.
    pub full: bool,
    /// Quirk: answer 426 after a complete upload, as P1/X1 sometimes do.
    pub answer_426_after_store: bool,
    /// Uploads stored since the printer started (a replaced file counts again).
    pub stored: u64,
}

impl Card {
    pub fn new(limit: u64) -> Card {
        Card {
            files: BTreeMap::new(),
            // The folders real printers have (protocol reference §4.2).
            dirs: ["cache", "timelapse", "image", "logger"]
                .into_iter()
                .map(String::from)
                .collect(),
            limit,
            full: false,
            answer_426_after_store: false,
            stored: 0,
        }
    }

    pub fn used(&self) -> u64 {
        self.files.values().map(|f| f.len() as u64).sum()
    }

    /// Bytes a new file at `path` may take (replacing a file frees its bytes).
    pub fn room_for(&self, path: &str) -> u64 {
        if self.full {
            return 0;
        }
        let replaced = self.files.get(path).map_or(0, |f| f.len() as u64);
        self.limit.saturating_sub(self.used() - replaced)
    }

    pub fn get(&self, path: &str) -> Option<Bytes> {
        self.files.get(path).cloned()
    }

    pub fn put(&mut self, path: String, content: Bytes) {
        self.stored += 1;
        self.files.insert(path, content);
    }

    pub fn remove(&mut self, path: &str) -> bool {
        self.files.remove(path).is_some()
    }

    pub fn make_dir(&mut self, path: String) {
        if !path.is_empty() {
            self.dirs.insert(path);
        }
    }

    pub fn is_dir(&self, path: &str) -> bool {
        path.is_empty()
            || self.dirs.contains(path)
            || self
                .files
                .keys()
                .any(|f| f.starts_with(&format!("{path}/")))
    }

    pub fn list(&self) -> Vec<StoredFile> {
        self.files
            .iter()
            .map(|(path, content)| StoredFile {
                path: path.clone(),
                size: content.len() as u64,
            })
            .collect()
    }

    /// Direct children of `dir`: (name, size or `None` for a folder).
    pub fn children(&self, dir: &str) -> Vec<(String, Option<u64>)> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: BTreeMap<String, Option<u64>> = BTreeMap::new();
        let paths = self
            .files
            .iter()
            .map(|(p, c)| (p.as_str(), Some(c.len() as u64)))
            .chain(self.dirs.iter().map(|d| (d.as_str(), None)));
        for (path, size) in paths {
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            match rest.split_once('/') {
                Some((sub, _)) => {
                    out.entry(sub.to_owned()).or_insert(None);
                }
                None if !rest.is_empty() => {
                    out.insert(rest.to_owned(), size);
                }
                None => {}
            }
        }
        out.into_iter().collect()
    }
}

/// Resolves an FTP path argument against the working folder: `/` and `.`
/// handled, `..` never climbs above the root. No leading slash in the result.
pub(crate) fn resolve(cwd: &str, arg: &str) -> String {
    let mut parts: Vec<&str> = if arg.starts_with('/') {
        Vec::new()
    } else {
        cwd.split('/').filter(|p| !p.is_empty()).collect()
    };
    for part in arg.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_against_the_working_folder() {
        assert_eq!(resolve("", "/a.3mf"), "a.3mf");
        assert_eq!(resolve("cache", "a.3mf"), "cache/a.3mf");
        assert_eq!(resolve("cache", "../../a.3mf"), "a.3mf");
        assert_eq!(resolve("", "sdcard//x/./y"), "sdcard/x/y");
    }

    #[test]
    fn the_limit_counts_replaced_files_once() {
        let mut card = Card::new(10);
        card.put("a".into(), Bytes::from_static(b"123456"));
        assert_eq!(card.room_for("b"), 4);
        assert_eq!(card.room_for("a"), 10);
        card.full = true;
        assert_eq!(card.room_for("a"), 0);
    }

    #[test]
    fn listing_shows_direct_children() {
        let mut card = Card::new(100);
        card.put("a.3mf".into(), Bytes::from_static(b"12"));
        card.put("cache/b.3mf".into(), Bytes::from_static(b"123"));
        let root = card.children("");
        assert!(root.contains(&("a.3mf".into(), Some(2))));
        assert!(root.contains(&("cache".into(), None)));
        assert_eq!(card.children("cache"), vec![("b.3mf".into(), Some(3))]);
    }
}
