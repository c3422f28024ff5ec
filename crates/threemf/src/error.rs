//! The one error type of the crate.

/// Why a 3MF file could not be read.
///
/// Uploaded files are untrusted, so every way an archive can be hostile or
/// broken maps to its own variant: callers can tell "the user sent garbage"
/// (show the message) apart from "the user sent an attack" (log it) without
/// parsing strings.
#[derive(Debug, thiserror::Error)]
pub enum ThreeMfError {
    /// The bytes are not a readable ZIP archive at all.
    #[error("not a 3MF file: not a readable ZIP archive ({detail})")]
    NotAZip {
        /// What the ZIP reader complained about.
        detail: String,
    },

    /// An entry decompresses to far more than its compressed size allows
    /// (compression ratio above [`crate::Limits::max_ratio`]).
    #[error("zip bomb: entry {entry:?} expands far beyond its compressed size")]
    ZipBomb {
        /// Name of the offending entry.
        entry: String,
    },

    /// An entry is larger than the limit for that kind of entry.
    #[error("entry {entry:?} is larger than the limit of {limit} bytes")]
    EntryTooLarge {
        /// Name of the offending entry.
        entry: String,
        /// The limit that was exceeded, in uncompressed bytes.
        limit: u64,
    },

    /// Reading the entries this crate needs would decompress more than
    /// [`crate::Limits::max_total_bytes`] in one call.
    #[error("the archive decompresses to more than the limit of {limit} bytes in total")]
    TotalTooLarge {
        /// The limit that was exceeded, in uncompressed bytes.
        limit: u64,
    },

    /// The archive has more entries than [`crate::Limits::max_entries`].
    #[error("the archive has {count} entries, more than the limit of {limit}")]
    TooManyEntries {
        /// Number of entries the archive declares.
        count: u64,
        /// The configured limit.
        limit: u64,
    },

    /// An entry name could escape an extraction directory (absolute path,
    /// `..`, backslash, drive letter, NUL). The whole archive is rejected:
    /// no legitimate slicer writes such names, and the file may later be
    /// unpacked by a tool less careful than this one.
    #[error("unsafe entry name {entry:?} (absolute path, '..' or backslash)")]
    UnsafePath {
        /// The entry name as stored in the archive.
        entry: String,
    },

    /// Two entries share one name. Different tools would pick different
    /// copies, so what we parse might not be what the printer prints.
    #[error("the archive holds two entries with the same name")]
    DuplicateEntries,

    /// An entry exists but cannot be decompressed (corrupt data, CRC
    /// mismatch, encryption, unsupported compression method).
    #[error("entry {entry:?} cannot be read: {detail}")]
    CorruptEntry {
        /// Name of the entry.
        entry: String,
        /// What went wrong.
        detail: String,
    },

    /// An XML entry is not well-formed.
    #[error("entry {entry:?} is not valid XML: {detail}")]
    BadXml {
        /// Name of the entry.
        entry: String,
        /// Parser message, with position where known.
        detail: String,
    },

    /// A JSON entry is not valid JSON of the expected shape.
    #[error("entry {entry:?} is not valid JSON: {detail}")]
    BadJson {
        /// Name of the entry.
        entry: String,
        /// Parser message, with line and column.
        detail: String,
    },

    /// An entry the request needs is absent (for instance the core model
    /// part, or the thumbnail of a plate that has none).
    #[error("the archive has no entry {entry:?}")]
    MissingEntry {
        /// Name of the missing entry.
        entry: String,
    },

    /// The caller asked for sliced data but the file is a project without
    /// G-code: it must be sliced in Bambu Studio before it can be printed.
    #[error(
        "the 3MF file is not sliced: it holds no plate G-code (slice it in Bambu Studio first)"
    )]
    NotSliced,

    /// Opening or seeking the underlying file failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
