//! The jobs pages: the queue (create from a file and plate, assign or leave to the
//! dispatcher, start, cancel, retry, priority, why a job waits) and the history.

use crate::app::App;
use axum::Router;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
}
