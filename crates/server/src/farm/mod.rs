//! The farm service: the one place where the farm's rules about jobs, printers and hubs
//! are applied. HTTP handlers, the hub session, the dispatcher and the workers all call it;
//! it speaks [`FarmError`], never HTTP, and takes its rules from `domain`.
//!
//! - [`jobs`]: queueing a plate, changing a job, and every move of the job state machine
//!   with the print event it emits;
//! - [`launch`]: starting a job on a printer (by an operator or the dispatcher);
//! - [`orders`]: taking orders, sharing stock among them, the prints that cover a
//!   shortfall, fulfilment and cancelling;
//! - [`commands`]: commands from the farm to a printer through its hub;
//! - [`tasks`]: the worklist and assembly, and what closing a task does (a bed cleared,
//!   units assembled, maintenance recorded, a filament loaded);
//! - [`status`]: what a printer's report does to its job (status intake).

pub mod commands;
pub mod error;
pub mod jobs;
pub mod launch;
pub mod orders;
pub mod status;
pub mod tasks;

pub use error::{FarmError, FarmResult};

use crate::hubs::HubCommands;
use crate::queue::DurableQueue;
use crate::realtime::Realtime;
use crate::status_writer::StatusWriter;
use crate::workers::Background;
use domain::TenantId;
use std::sync::Arc;
use store::Store;
use store::secrets::Cipher;

/// What the farm service works with: the database, the hubs, the farm events and the
/// background signals. Cheap to clone; every node builds one at start.
#[derive(Clone)]
pub struct Farm {
    /// The database.
    pub store: Store,
    /// Seals and opens secrets at rest (printer access codes for their hubs).
    pub cipher: Cipher,
    /// Commands to hubs, wherever their sockets are held.
    pub hubs: Arc<dyn HubCommands>,
    /// Farm events for live clients, and the printers' newest status.
    pub realtime: Arc<Realtime>,
    /// Printer statuses waiting to be written.
    pub status_writer: Arc<StatusWriter>,
    /// Signals to the background workers and the dispatcher.
    pub background: Arc<Background>,
    /// Work that must not be lost (print events), committed with the change behind it.
    pub queue: Arc<dyn DurableQueue>,
    /// Signs download and upload links.
    pub links: crate::links::LinkSigner,
    /// The public URL's origin (`scheme://host[:port]`), for links a hub follows.
    pub public_origin: String,
}

impl Farm {
    /// Asks for a dispatch pass of the farm (it runs only if the farm has auto-dispatch on).
    pub fn wake_dispatcher(&self, tenant: &TenantId) {
        self.background.dispatch_wanted(tenant);
    }
}
