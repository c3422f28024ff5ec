//! The Bambu Lab LAN protocol, shared by the hub agent and the printer simulator.
//!
//! - [`camera`]: the P1/A1 camera's JPEG frames over TLS (auth packet, frame headers).
//! - [`rtsps`]: the X1 camera's H.264 over RTSPS, read one picture at a time as a JPEG.
//! - [`report`]: the `print` report, kept whole by deep-merging partial pushes.
//! - [`command`]: request payloads (build and parse) and command responses.
//! - [`tls`]: certificate pinning at first contact (printers present self-signed certificates).
//! - [`ftps`]: implicit-FTPS upload from a stream, with TLS session reuse and a size check.
//! - [`discovery`]: the SSDP-style `NOTIFY` announcements and a UDP listener.
//! - [`mqtt`]: `rumqttc` options and topics for one printer.
//! - [`model`]: printer models, their codes and serial prefixes.
//!
//! Everything is reverse-engineered (see `reference/bambu-lan-protocol.md`):
//! parsers accept unknown keys and treat every key as optional.

#![warn(missing_docs)]

pub mod camera;
pub mod command;
pub mod discovery;
pub mod ftps;
pub mod model;
pub mod mqtt;
pub mod report;
pub mod rtsps;
pub mod tls;

pub use command::{Command, ProjectFile, Request, Response};
pub use model::Model;
pub use report::{GcodeState, Hms, PrintError, PrinterState, Report};
