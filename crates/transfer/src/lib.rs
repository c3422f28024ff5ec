//! Moving farms onto PrintFarm: the legacy Pi import ([`pi`]) and its [`report`], the
//! export and restore of any farm ([`farm`]), and backups of a whole installation
//! ([`backup`]).
//!
//! The importer writes through the store like the server does (one transaction, ids
//! mapped the same way every run) and stores print files through the server's file code,
//! so an imported farm is what the API would have made.

pub mod backup;
pub mod farm;
pub mod pi;
pub mod report;

pub use pi::{ImportError, Options, import};
pub use report::Report;
