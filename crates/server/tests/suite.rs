//! The server's integration tests, one binary: each file is a module (linking one test
//! binary instead of one per file saves most of the suite's build), all sharing `common`.

mod common;

mod accounts;
mod analytics;
mod api_contract;
mod automation;
mod cameras;
mod catalogue;
mod e2e;
mod e2e_faults;
mod files;
mod health;
mod hostile;
mod https;
mod hubs;
mod invitations;
mod isolation;
mod jobs;
mod live;
mod mail;
mod materials;
mod nodes;
mod object_store;
mod old_client;
mod orders;
mod print_events;
mod printers;
mod shopify;
mod tenants;
mod web;
mod web_catalogue;
mod web_hubs_team;
mod web_jobs_files;
mod web_orders;
mod web_story;
mod web_worklist;
mod wiki;
mod worklist;
