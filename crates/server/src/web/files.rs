//! The file library: upload with progress, thumbnails, metadata per plate and
//! filament, and versions.

use crate::app::App;
use axum::Router;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
}
