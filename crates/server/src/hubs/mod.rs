//! Hubs: the LAN agents that talk to printers. This module holds the command link
//! through which printer, job and hub routes reach a connected hub.

pub mod discoveries;
pub mod link;
pub mod routes;
pub mod socket;

pub use link::{CommandError, HubCommand, HubCommands, HubLink, PrinterAction};

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use axum::http::Method as M;
    use domain::Role;
    use serde_json::json;
    crate::api::Routes::new()
        .add(M::POST, "/api/v1/hubs/register", Public, "Register a hub: a farm admin (claimed at once) or a factory with X-Provisioning-Key; the secret is shown once", routes::register)
        .example(json!({"hub_id": "pfhub-a1b2c3d4", "name": "Rack A hub"}))
        .add(M::POST, "/api/v1/hubs/claim", Member(Role::Admin), "Claim an unclaimed hub for the farm", routes::claim)
        .example(json!({"hub_id": "pfhub-a1b2c3d4", "name": "Rack A hub"}))
        .add(M::GET, "/ws/hub/{hub_id}", Public, "A hub's socket (WebSocket; the hub proves its secret with hub_hello)", socket::connect)
        .add(M::GET, "/api/v1/hubs", Member(Role::Viewer), "The farm's hubs", routes::list)
        .add(M::GET, "/api/v1/hubs/{hub_id}", Member(Role::Viewer), "One hub", routes::get_one)
        .add(M::PUT, "/api/v1/hubs/{hub_id}", Member(Role::Admin), "Rename a hub", routes::update)
        .example(json!({"name": "Rack B hub"}))
        .add(M::DELETE, "/api/v1/hubs/{hub_id}", Member(Role::Admin), "Release a hub from the farm", routes::release)
        .add(M::GET, "/api/v1/hubs/{hub_id}/connection", Member(Role::Viewer), "Whether the hub is connected", routes::connection)
        .add(M::GET, "/api/v1/hubs/{hub_id}/status", Member(Role::Viewer), "The hub and its printers", routes::status)
        .add(M::POST, "/api/v1/hubs/{hub_id}/discover", Member(Role::Operator), "Ask the hub to look for printers", routes::discover)
        .add(M::POST, "/api/v1/hubs/{hub_id}/disconnect", Member(Role::Admin), "Tell the hub to disconnect", routes::disconnect)
        .add(M::POST, "/api/v1/hubs/{hub_id}/gpio", Member(Role::Admin), "Set a GPIO pin of the hub", routes::gpio)
        .example(json!({"pin": 17, "state": true}))
}
