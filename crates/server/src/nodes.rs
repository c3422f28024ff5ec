//! This server node's lease, and the sweep that marks offline the hubs of nodes that died.
//!
//! A node that stops cleanly writes its hubs offline itself. One killed (kill -9, a lost
//! machine) cannot: its hubs and printers would read online until each hub reconnected.
//! Every node renews a lease in the database while it runs; every node also looks for
//! leases that ran out and releases what their nodes held. It works the same with one node
//! (the next start finds the old lease) and with several (a peer finds it).

use crate::app::App;
use proto::dashboard::ServerMessage;
use std::time::Duration;
use tokio::sync::watch;

/// How often the lease is renewed and dead nodes are looked for.
pub const RENEW_EVERY: Duration = Duration::from_secs(15);
/// How long a lease lasts without renewal: a dead node's hubs read offline within this
/// and one more sweep (at most 60 s).
pub const LEASE: Duration = Duration::from_secs(45);

fn text_after(after: Duration) -> String {
    let at = chrono::Utc::now() + chrono::Duration::from_std(after).unwrap_or_default();
    domain::time::format(at)
}

/// Renews this node's lease and releases the hubs of nodes whose lease ran out; returns
/// how many hubs were released.
pub async fn renew_and_sweep(app: &App) -> Result<usize, store::StoreError> {
    let now = store::now_text();
    let mut conn = app.store.conn().await?;
    store::nodes::renew(&mut conn, &app.node_id, &text_after(LEASE), &now).await?;
    let dead = store::nodes::expired(&mut conn, &now).await?;
    drop(conn);
    let mut released = 0;
    for node in dead {
        released += release(app, &node).await?;
    }
    Ok(released)
}

/// Marks what `node` held offline, tells the farms' dashboards, and forgets the node.
async fn release(app: &App, node: &str) -> Result<usize, store::StoreError> {
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let hubs = store::nodes::release(&mut tx, node, &now).await?;
    tx.commit().await?;
    for hub in &hubs {
        if let Some(tenant) = hub.tenant() {
            app.realtime.publish(
                &tenant,
                ServerMessage::HubStatus {
                    hub_id: hub.id.clone(),
                    is_online: false,
                },
            );
        }
    }
    if !hubs.is_empty() {
        tracing::warn!(node_id = %node, hubs = hubs.len(), "hubs of a node that stopped answering marked offline");
    }
    Ok(hubs.len())
}

/// Keeps this node's lease until `stop`; then gives it up (the hubs are offline by then).
pub fn spawn(app: App, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RENEW_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(err) = renew_and_sweep(&app).await {
                        tracing::warn!(error = %err, "node lease not renewed");
                    }
                }
                _ = stop.changed() => break,
            }
        }
        if let Err(err) = release(&app, &app.node_id).await {
            tracing::warn!(error = %err, "node lease not given up");
        }
    })
}
