//! The hubs page: register and claim a hub, its online state, discover printers on its
//! network and add them.

use crate::app::App;
use axum::Router;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
}
