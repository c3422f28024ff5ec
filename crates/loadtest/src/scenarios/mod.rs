//! The scenarios, one module each: options, run, and what it reports.

pub mod fanout;
pub mod ftps;
pub mod hub;
pub mod server;
