//! PrintFarm's domain: the farm's rules as plain data and pure functions.
//!
//! Nothing here does I/O or reads the clock: callers pass `now` in, so every
//! rule is tested directly.

pub mod account;
pub mod analytics;
pub mod automation;
pub mod cameras;
pub mod catalogue;
pub mod dispatch;
pub mod ids;
pub mod invitation;
pub mod jobs;
pub mod materials;
pub mod membership;
pub mod orders;
pub mod printers;
pub mod role;
pub mod stock;
pub mod time;
pub mod validation;
pub mod wiki;
pub mod worklist;

pub use ids::{ApiTokenId, CameraId, InvitationId, JobId, PrinterId, TenantId, UserId};
pub use role::Role;
pub use validation::{FieldError, Invalid};
