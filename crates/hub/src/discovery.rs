//! `discover_printers`: listen for printer announcements for a while.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bambu::discovery::Listener;
use proto::hub::DiscoveredPrinter;

/// Listens on `addr` for `window` and returns each printer heard, once.
pub async fn discover(
    addr: SocketAddr,
    window: Duration,
) -> std::io::Result<Vec<DiscoveredPrinter>> {
    let listener = Listener::bind(addr)?;
    if addr.ip() == IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        && let Err(error) = listener.join_multicast(Ipv4Addr::UNSPECIFIED)
    {
        // Broadcast announcements still arrive; multicast ones are a bonus.
        tracing::debug!(%error, "not listening for multicast announcements");
    }
    let mut found: BTreeMap<String, DiscoveredPrinter> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + window;
    loop {
        let received = tokio::time::timeout_at(deadline, listener.recv()).await;
        let Ok(received) = received else {
            break;
        };
        let (announcement, from) = received?;
        let model = announcement
            .model()
            .map_or_else(|| announcement.model_code.clone(), |m| m.name().to_owned());
        let ip = announcement.ip.unwrap_or(from.ip());
        found.insert(
            announcement.serial.clone(),
            DiscoveredPrinter {
                serial_number: announcement.serial,
                ip_address: ip.to_string(),
                model,
                name: Some(announcement.name).filter(|n| !n.is_empty()),
            },
        );
    }
    Ok(found.into_values().collect())
}
