//! The team pages: members (invite, roles, remove), personal API tokens, and the
//! password reset pages for visitors.

use crate::app::App;
use axum::Router;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
}
