//! Housekeeping that runs beside the server: expired sessions, reset links and old hub
//! hello nonces are deleted.

use crate::app::App;
use std::time::Duration;

/// How often the sweep runs.
const EVERY: Duration = Duration::from_secs(3600);

/// Deletes expired sessions and proofs; returns how many of each.
pub async fn sweep(app: &App) -> Result<(u64, u64), store::StoreError> {
    let now = store::now_text();
    let mut conn = app.store.conn().await?;
    let sessions = store::sessions::delete_expired(&mut conn, &now).await?;
    let proofs = store::verifications::delete_expired(&mut conn, &now).await?;
    // Hello nonces only matter inside the hello window; twice the window is safe to drop.
    let before = chrono::Utc::now() - chrono::Duration::seconds(2 * proto::hub::HELLO_WINDOW_SECS);
    store::hubs::forget_nonces(&mut conn, &domain::time::format(before)).await?;
    Ok((sessions, proofs))
}

/// Runs `sweep` every hour until `stop` fires.
pub fn spawn(
    app: App,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => match sweep(&app).await {
                    Ok((sessions, proofs)) if sessions + proofs > 0 => {
                        tracing::info!(sessions, proofs, "expired sessions and reset links deleted");
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "housekeeping sweep failed"),
                },
                _ = stop.changed() => return,
            }
        }
    })
}
