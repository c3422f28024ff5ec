//! The hubs page: register and claim a hub, its online state, discover printers on its
//! network and add them.
//!
//! Registering, claiming, renaming, releasing and adding printers are forms and buttons
//! that call the JSON API (`live.js`), so the API's own role rules and words apply.
//! Discovery is a plain form to this page: the hub listens for printer announcements for
//! a few seconds and answers with a `printer_discovered` farm event, which the handler
//! waits for and keeps (see [`Discoveries`]) so the list shows it until it is stale.

use super::accounts::FormErrors;
use super::{FarmPage, PageError, Section, html, see_other};
use crate::app::App;
use crate::error::ApiError;
use crate::hubs::discoveries::{Discovery, Outcome};
use crate::hubs::{CommandError, HubCommand};
use crate::realtime::FarmEvent;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use domain::{Role, TenantId};
use proto::dashboard::ServerMessage;
use proto::hub::DiscoveredPrinter;
use std::time::Duration;
use store::StoreError;
use store::hubs::Hub;
use store::printers::{Printer, PrinterQuery};
use tokio::sync::broadcast::error::RecvError;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/hubs", get(page))
        .route("/hubs/list", get(list))
        .route("/hubs/{hub_id}/discover", post(discover))
}

/// The most printers read to show under their hubs.
const MOST_PRINTERS: i64 = 1000;
/// How long after the hub's ack the handler still waits for its findings (they are sent
/// just before the ack, but travel as a farm event).
const FINDINGS_AFTER_ACK: Duration = Duration::from_secs(3);
/// How long findings that missed the page's answer are still waited for.
const LATE_FINDINGS: Duration = Duration::from_secs(120);
/// Model names the "add by hand" form suggests.
pub const MODELS: &[&str] = &[
    "X1C", "X1E", "X1", "P1S", "P1P", "A1", "A1 mini", "H2D", "H2S", "P2S",
];

/// A time in words with its machine-readable form.
pub struct When {
    /// RFC 3339, for `<time datetime>`.
    pub at: String,
    /// "5 min ago".
    pub words: String,
}

/// How long ago `at` was, in words: "just now", "5 min ago", "3 h ago", "2 days ago".
pub fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - at).num_seconds().max(0);
    match seconds {
        s if s < 60 => "just now".into(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s if s < 2 * 86_400 => "yesterday".into(),
        s => format!("{} days ago", s / 86_400),
    }
}

fn when(text: &str, now: DateTime<Utc>) -> Option<When> {
    domain::time::parse(text).map(|at| When {
        at: text.to_string(),
        words: ago(at, now),
    })
}

/// A printer the hub found, as the page offers it.
pub struct FoundView {
    /// Its serial number.
    pub serial: String,
    /// Its address on the LAN.
    pub ip: String,
    /// Its model name ("P1S"), from the code it announced.
    pub model: String,
    /// A name to start from.
    pub name: String,
    /// The farm's printer with this serial, when it is one already.
    pub in_farm: Option<String>,
}

/// The last discovery of a hub, as the page shows it.
pub struct DiscoveryView {
    /// When it was asked.
    pub asked: String,
    /// What it found (empty: nothing, or see `problem`).
    pub found: Vec<FoundView>,
    /// Why there is nothing to show, in words.
    pub problem: Option<String>,
}

/// A printer of a hub, linked from its card.
pub struct HubPrinter {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A hub as its card shows it.
pub struct HubView {
    /// The hub's id (as in `hub.toml`).
    pub id: String,
    /// Its name, or its id without one.
    pub name: String,
    /// Its name as stored, for the rename field.
    pub given_name: String,
    /// Whether its socket is open (`data-online`).
    pub online: bool,
    /// `idle` (green) or `offline` (grey), for the badge's colour.
    pub state: &'static str,
    /// "Online" or "Offline".
    pub state_label: &'static str,
    /// When the server last heard from it.
    pub last_seen: Option<When>,
    /// The hub software's version it reported.
    pub version: Option<String>,
    /// Its LAN address, if it reported one.
    pub ip: Option<String>,
    /// How many printers it manages.
    pub printer_count: i64,
    /// Those printers.
    pub printers: Vec<HubPrinter>,
    /// Its last discovery, while it is recent.
    pub discovery: Option<DiscoveryView>,
}

impl HubView {
    /// The card of `hub`, with its printers (all the farm's; its own are picked) and its
    /// last discovery.
    fn new(
        hub: &Hub,
        connected: bool,
        printers: &[Printer],
        discovery: Option<&Discovery>,
        now: DateTime<Utc>,
    ) -> HubView {
        let online = connected || hub.is_online == 1;
        let name = hub
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| hub.id.clone());
        HubView {
            id: hub.id.clone(),
            given_name: hub.name.clone().unwrap_or_default(),
            name,
            online,
            state: if online { "idle" } else { "offline" },
            state_label: if online { "Online" } else { "Offline" },
            last_seen: hub.last_seen_at.as_deref().and_then(|t| when(t, now)),
            version: hub.firmware_version.clone().filter(|v| !v.is_empty()),
            ip: hub.ip_address.clone().filter(|v| !v.is_empty()),
            printer_count: hub.printer_count,
            printers: printers
                .iter()
                .filter(|p| p.hub_id.as_deref() == Some(hub.id.as_str()))
                .map(|p| HubPrinter {
                    id: p.id.clone(),
                    name: p.name.clone(),
                })
                .collect(),
            discovery: discovery.map(|d| discovery_view(d, printers, now)),
        }
    }
}

/// A discovery in words, each found printer marked when the farm has it already.
fn discovery_view(
    discovery: &Discovery,
    printers: &[Printer],
    now: DateTime<Utc>,
) -> DiscoveryView {
    let asked = ago(discovery.asked, now);
    match &discovery.outcome {
        Outcome::Found(found) => DiscoveryView {
            asked,
            found: found
                .iter()
                .map(|f| {
                    let model = domain::dispatch::model_name(&f.model);
                    // Serials end with the unit's own digits; the last four tell printers apart.
                    let tail: String = {
                        let chars: Vec<char> = f.serial_number.chars().collect();
                        chars[chars.len().saturating_sub(4)..].iter().collect()
                    };
                    FoundView {
                        name: f
                            .name
                            .clone()
                            .filter(|n| !n.trim().is_empty())
                            .unwrap_or_else(|| format!("{model}-{tail}")),
                        in_farm: printers
                            .iter()
                            .find(|p| p.serial_number.as_deref() == Some(f.serial_number.as_str()))
                            .map(|p| p.name.clone()),
                        serial: f.serial_number.clone(),
                        ip: f.ip_address.clone(),
                        model,
                    }
                })
                .collect(),
            problem: found
                .is_empty()
                .then(|| "The hub found no printer announcing itself on its network. Check that the printers are on, in LAN mode and on the hub's network, then look again.".into()),
        },
        Outcome::Failed(words) => DiscoveryView {
            asked,
            found: Vec::new(),
            problem: Some(format!("Could not look for printers. {words}")),
        },
        Outcome::NoAnswer => DiscoveryView {
            asked,
            found: Vec::new(),
            problem: Some(
                "The hub is looking, but its findings have not arrived yet. They appear here when they come; reload the page in a moment.".into(),
            ),
        },
    }
}

/// The hubs of a farm as cards.
async fn load(app: &App, tenant: &TenantId) -> Result<Vec<HubView>, PageError> {
    let (hubs, printers) = {
        let mut conn = app.store.conn().await?;
        let hubs = store::hubs::list(&mut conn, tenant).await?;
        let query = PrinterQuery::display_order();
        let (printers, _) =
            store::printers::list(&mut conn, tenant, &query, MOST_PRINTERS, 0).await?;
        (hubs, printers)
    };
    let now = Utc::now();
    let discoveries = app.discoveries.of(tenant, now);
    Ok(hubs
        .iter()
        .map(|hub| {
            HubView::new(
                hub,
                app.hubs.is_connected(&hub.id),
                &printers,
                discoveries.get(&hub.id),
                now,
            )
        })
        .collect())
}

/// The hubs page.
#[derive(Template)]
#[template(path = "hubs.html", whitespace = "minimize")]
struct HubsPage {
    layout: super::Layout,
    admin: bool,
    operator: bool,
    hubs: Vec<HubView>,
    models: &'static [&'static str],
    /// What goes in `hub.toml` as `server_url`.
    server_url: String,
}

/// GET /hubs — the farm's hubs, registering and claiming one, and adding printers.
pub async fn page(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let hubs = load(&app, &member.tenant).await?;
    let layout = member.layout(Section::Hubs, "Hubs");
    Ok(html(
        StatusCode::OK,
        &HubsPage {
            admin: member.role.at_least(Role::Admin),
            operator: member.role.at_least(Role::Operator),
            layout,
            hubs,
            models: MODELS,
            server_url: app.public_origin.clone(),
        },
    ))
}

/// The hub cards without the page.
#[derive(Template)]
#[template(path = "hubs_list.html", whitespace = "minimize")]
struct HubList {
    admin: bool,
    operator: bool,
    hubs: Vec<HubView>,
}

/// GET /hubs/list — the hub cards, for the script after a hub's state changed.
pub async fn list(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let hubs = load(&app, &member.tenant).await?;
    Ok(html(
        StatusCode::OK,
        &HubList {
            admin: member.role.at_least(Role::Admin),
            operator: member.role.at_least(Role::Operator),
            hubs,
        },
    ))
}

/// Whether `event` is `hub`'s findings, and which.
fn findings(event: &FarmEvent, hub: &str) -> Option<Vec<DiscoveredPrinter>> {
    match &event.message {
        ServerMessage::PrinterDiscovered { hub_id, printers } if hub_id == hub => {
            Some(printers.clone())
        }
        _ => None,
    }
}

/// Sends `discover_printers` to the hub and waits for its findings: the hub listens for a
/// few seconds, sends what it heard, then acknowledges. The events are read while the
/// ack is awaited, so a busy farm's other events do not push the findings out. Without
/// findings yet, the events are handed back to keep listening.
async fn look_for_printers(app: &App, tenant: &TenantId, hub: &Hub) -> (Outcome, Option<Events>) {
    let mut events = app.realtime.subscribe(tenant).events;
    let ack = app.hubs.send(&hub.id, HubCommand::DiscoverPrinters);
    tokio::pin!(ack);
    let mut acked: Option<tokio::time::Instant> = None;
    loop {
        let give_up = acked.map(|at| at + FINDINGS_AFTER_ACK);
        tokio::select! {
            result = &mut ack, if acked.is_none() => match result {
                Ok(()) => acked = Some(tokio::time::Instant::now()),
                // A hub told to listen longer than the ack deadline may still answer.
                Err(CommandError::Timeout) => return (Outcome::NoAnswer, Some(events)),
                Err(err) => {
                    let name = hub.name.clone().unwrap_or_else(|| hub.id.clone());
                    let err = ApiError::from(crate::farm::FarmError::command_failed(
                        err,
                        format!("the hub {name} is offline"),
                    ));
                    return (Outcome::Failed(in_words(&err)), None);
                }
            },
            event = events.recv() => match event {
                Ok(event) => {
                    if let Some(found) = findings(&event, &hub.id) {
                        return (Outcome::Found(found), None);
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return (Outcome::NoAnswer, None),
            },
            _ = sleep_until(give_up) => return (Outcome::NoAnswer, Some(events)),
        }
    }
}

/// Farm events as one listener receives them.
type Events = tokio::sync::broadcast::Receiver<std::sync::Arc<FarmEvent>>;

/// Keeps listening for findings that come after the page was answered, and keeps them
/// for the page (the same event makes open pages fetch their hub list again).
async fn late_findings(
    app: App,
    mut events: Events,
    tenant: TenantId,
    hub: String,
    asked: DateTime<Utc>,
) {
    let deadline = tokio::time::Instant::now() + LATE_FINDINGS;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(event)) => {
                if let Some(found) = findings(&event, &hub) {
                    let discovery = Discovery {
                        asked,
                        outcome: Outcome::Found(found),
                    };
                    app.discoveries.remember(&tenant, &hub, discovery);
                    return;
                }
            }
            Ok(Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) | Err(_) => return,
        }
    }
}

/// Sleeps until `at`, or forever without one.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// An API error as one sentence.
fn in_words(err: &ApiError) -> String {
    FormErrors::from_api(err, &[])
        .all()
        .iter()
        .map(|p| p.message.clone())
        .collect::<Vec<_>>()
        .join(" ")
}

/// POST /hubs/{hub_id}/discover — an operator asks the hub which printers announce
/// themselves on its network (the API's `discover`, waiting for the answer); back to the
/// hub's card, which lists them with a form to add each.
pub async fn discover(
    State(app): State<App>,
    member: FarmPage,
    Path(hub_id): Path<String>,
) -> Result<Response, PageError> {
    if !member.role.at_least(Role::Operator) {
        return Err(PageError::Api(ApiError::forbidden(
            "INSUFFICIENT_ROLE",
            "only operators, admins and owners may look for printers",
        )));
    }
    let hub = {
        let mut conn = app.store.conn().await?;
        match store::hubs::get(&mut conn, &member.tenant, &hub_id).await {
            Ok(hub) => hub,
            Err(StoreError::NotFound) => return Err(PageError::NotFound("The hub".into())),
            Err(other) => return Err(other.into()),
        }
    };
    let asked = Utc::now();
    let (outcome, events) = look_for_printers(&app, &member.tenant, &hub).await;
    if let Some(events) = events {
        tokio::spawn(late_findings(
            app.clone(),
            events,
            member.tenant.clone(),
            hub.id.clone(),
            asked,
        ));
    }
    tracing::info!(
        tenant_id = %member.tenant,
        hub_id = %hub.id,
        found = match &outcome { Outcome::Found(f) => f.len(), _ => 0 },
        "discovery from the dashboard"
    );
    app.discoveries
        .remember(&member.tenant, &hub.id, Discovery { asked, outcome });
    Ok(see_other(&format!("/hubs#hub-{}", hub.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn hub() -> Hub {
        Hub {
            id: "hub-1".into(),
            tenant_id: Some("t".into()),
            name: Some("Rack A".into()),
            firmware_version: Some("0.4.0".into()),
            hardware_version: None,
            is_online: 0,
            last_seen_at: Some("2026-01-02T03:00:00.000Z".into()),
            ip_address: None,
            mac_address: None,
            claimed_at: None,
            created_at: String::new(),
            updated_at: String::new(),
            printer_count: 1,
        }
    }

    fn printer(serial: &str, hub: Option<&str>) -> Printer {
        serde_json::from_value(serde_json::json!({
            "id": "p1", "tenant_id": "t", "hub_id": hub, "name": "P1S-01", "model": "P1S",
            "manufacturer": null, "firmware_version": null, "total_print_time": 0,
            "last_maintenance_date": null, "status": "idle", "current_color": null,
            "current_color_hex": null, "current_filament_type": null, "current_build_plate": null,
            "filament_level": 0, "nozzle_size": 0.4, "location": null, "connection_type": "bambu",
            "ip_address": null, "serial_number": serial, "access_code": null, "is_connected": 0,
            "last_connection_attempt": null, "connection_error": null, "is_active": 1,
            "cleared": 0, "sort_order": 0, "printer_id": 1, "in_maintenance": 0,
            "maintenance_type": null, "maintenance_interval_hours": 200,
            "print_minutes_at_maintenance": 0, "created_at": "", "updated_at": ""
        }))
        .expect("a printer row")
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 5, 30)
            .single()
            .expect("a time")
    }

    #[test]
    fn times_read_as_how_long_ago() {
        let now = now();
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(now - chrono::Duration::minutes(5), now), "5 min ago");
        assert_eq!(ago(now - chrono::Duration::hours(3), now), "3 h ago");
        assert_eq!(ago(now - chrono::Duration::hours(30), now), "yesterday");
        assert_eq!(ago(now - chrono::Duration::days(9), now), "9 days ago");
        assert_eq!(ago(now + chrono::Duration::minutes(5), now), "just now");
    }

    #[test]
    fn a_hub_without_its_socket_reads_offline_with_its_printers() {
        let printers = [printer("01P00A1", Some("hub-1")), printer("X", None)];
        let view = HubView::new(&hub(), false, &printers, None, now());
        assert!(!view.online);
        assert_eq!((view.state, view.state_label), ("offline", "Offline"));
        assert_eq!(view.printers.len(), 1);
        assert_eq!(
            view.last_seen.map(|w| w.words).as_deref(),
            Some("5 min ago")
        );
        let connected = HubView::new(&hub(), true, &printers, None, now());
        assert_eq!(connected.state_label, "Online");
    }

    #[test]
    fn found_printers_get_model_names_and_are_marked_when_the_farm_has_them() {
        let discovery = Discovery {
            asked: now(),
            outcome: Outcome::Found(vec![
                DiscoveredPrinter {
                    serial_number: "01P00A123456789".into(),
                    ip_address: "192.168.1.20".into(),
                    model: "C12".into(),
                    name: None,
                },
                DiscoveredPrinter {
                    serial_number: "0300AA000000001".into(),
                    ip_address: "192.168.1.21".into(),
                    model: "N1".into(),
                    name: Some("Corner".into()),
                },
            ]),
        };
        let view = discovery_view(&discovery, &[printer("0300AA000000001", None)], now());
        assert_eq!(view.found[0].model, "P1S");
        assert_eq!(view.found[0].name, "P1S-6789");
        assert_eq!(view.found[0].in_farm, None);
        assert_eq!(view.found[1].model, "A1 mini");
        assert_eq!(view.found[1].name, "Corner");
        assert_eq!(view.found[1].in_farm.as_deref(), Some("P1S-01"));
        assert!(view.problem.is_none());

        let none = Discovery {
            asked: now(),
            outcome: Outcome::Found(vec![]),
        };
        assert!(
            discovery_view(&none, &[], now())
                .problem
                .is_some_and(|p| p.contains("found no printer"))
        );
    }

    #[test]
    fn a_discovery_is_shown_to_its_own_farm_only_and_for_half_an_hour() {
        let store = crate::hubs::discoveries::Discoveries::default();
        let ours = TenantId::from_stored("00000000-0000-0000-0000-000000000001".into());
        let theirs = TenantId::from_stored("00000000-0000-0000-0000-000000000002".into());
        store.remember(
            &ours,
            "hub-1",
            Discovery {
                asked: now(),
                outcome: Outcome::NoAnswer,
            },
        );
        assert!(store.of(&ours, now()).contains_key("hub-1"));
        assert!(store.of(&theirs, now()).is_empty());
        assert!(
            store
                .of(&ours, now() + chrono::Duration::minutes(31))
                .is_empty()
        );
    }
}
