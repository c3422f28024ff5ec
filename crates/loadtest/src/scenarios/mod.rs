//! The scenarios, one module each: options, run, and what it reports.

pub mod crash;
pub mod fanout;
pub mod ftps;
pub mod hub;
pub mod seed_analytics;
pub mod server;
