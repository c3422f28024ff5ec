//! The cameras page: a picture from each of the farm's active cameras, taken again every
//! few seconds while the page is looked at (`live.js`, `[data-camera]`), and the printers'
//! own cameras through their hubs.

use super::{FarmPage, PageError, Section, html};
use crate::app::App;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use store::cameras::CameraQuery;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new().route("/cameras", get(page))
}

/// One camera as its figure shows it.
pub struct CameraTile {
    /// Its name.
    pub name: String,
    /// Where its picture comes from.
    pub snapshot: String,
    /// The last error it had, if any.
    pub last_error: Option<String>,
}

/// The page.
#[derive(Template)]
#[template(path = "cameras.html", whitespace = "minimize")]
struct CamerasPage {
    layout: super::Layout,
    cameras: Vec<CameraTile>,
}

/// GET /cameras — every active camera's picture, live while looked at.
pub async fn page(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let query = CameraQuery {
        is_active: Some(1),
        ..CameraQuery::default()
    };
    let mut conn = app.store.conn().await?;
    let cameras = store::cameras::list(&mut conn, &member.tenant, &query).await?;
    Ok(html(
        StatusCode::OK,
        &CamerasPage {
            layout: member.layout(Section::Printers, "Cameras"),
            cameras: cameras
                .into_iter()
                .map(|c| CameraTile {
                    snapshot: format!("/api/v1/cameras/{}/snapshot", c.id),
                    name: c.name,
                    last_error: c.last_error,
                })
                .collect(),
        },
    ))
}
