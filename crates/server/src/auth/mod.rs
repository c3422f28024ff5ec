//! Who is calling: sessions (cookie or bearer), personal API tokens, and the farm
//! membership guard that every tenant route uses.

pub mod api_tokens;
pub mod cache;
pub mod member;
pub mod routes;
pub mod session;
pub mod throttle;

pub use member::{Member, roles};
pub use session::{AuthUser, Authenticated, Credential};
