//! PrintFarm's server: the `/api/v1` HTTP API with its envelope, accounts and farms,
//! health, the OpenAPI document, and the web dashboard (`web`).

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod colours;
pub mod connections;
pub mod dead_letters;
pub mod dispatch;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod farm;
pub mod file_store;
pub mod files;
pub mod health;
pub mod hubs;
pub mod inventory;
pub mod invitations;
pub mod jobs;
pub mod links;
pub mod live_socket;
pub mod mail;
pub mod maintenance;
pub mod materials;
pub mod members;
pub mod memory;
pub mod nodes;
pub mod orders;
pub mod plates;
pub mod printers;
pub mod production;
pub mod products;
pub mod queue;
pub mod read_cache;
pub mod realtime;
pub mod settings;
pub mod shopify;
pub mod skus;
pub mod status_writer;
pub mod telemetry;
pub mod tenants;
pub mod web;
pub mod workers;

pub use app::{App, Server};
pub use settings::Settings;
