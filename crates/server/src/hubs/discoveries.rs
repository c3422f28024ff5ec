//! What each hub found when asked to look for printers: a moment's view of a LAN, kept in
//! memory for a while for the hubs page, not a farm record.

use chrono::{DateTime, Utc};
use domain::TenantId;
use proto::hub::DiscoveredPrinter;
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a discovery is shown on the page.
pub const DISCOVERY_SHOWN: chrono::Duration = chrono::Duration::minutes(30);

/// What became of the last "look for printers" on one hub.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The hub answered with these printers (maybe none).
    Found(Vec<DiscoveredPrinter>),
    /// The command did not run, in words.
    Failed(String),
    /// The hub acknowledged but its findings did not arrive in time.
    NoAnswer,
}

/// One discovery, kept for the hubs page.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// When the hub was asked.
    pub asked: DateTime<Utc>,
    /// What came of it.
    pub outcome: Outcome,
}

/// The latest discovery of each hub, by farm and hub. Kept in this process's memory: the
/// findings are a moment's view of a LAN, not farm records, and the API has nowhere to
/// store them (a node that did not serve the request does not show them).
#[derive(Debug, Default)]
pub struct Discoveries(Mutex<HashMap<(TenantId, String), Discovery>>);

impl Discoveries {
    /// Keeps the latest discovery of a hub (and forgets stale ones).
    pub fn remember(&self, tenant: &TenantId, hub: &str, discovery: Discovery) {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let stale = discovery.asked - DISCOVERY_SHOWN;
        all.retain(|_, d| d.asked > stale);
        all.insert((tenant.clone(), hub.to_string()), discovery);
    }

    /// The discoveries of a farm's hubs still worth showing, by hub.
    pub fn of(&self, tenant: &TenantId, now: DateTime<Utc>) -> HashMap<String, Discovery> {
        let all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.iter()
            .filter(|((t, _), d)| t == tenant && d.asked > now - DISCOVERY_SHOWN)
            .map(|((_, hub), d)| (hub.clone(), d.clone()))
            .collect()
    }
}
