//! The printers page: one live card per printer (state, progress, time left, layer,
//! temperatures, AMS colours, errors in words) with the operator's buttons, which call the
//! JSON API. The cards are also served alone, as fragments `live.js` swaps in after a
//! resync or a `printer_updated` event (bed cleared, maintenance, a rename). Admins add a
//! printer on the page, edit one on its own page, and anyone who runs the farm arranges
//! the display order on `/printers/arrange` (drag, or move buttons for the keyboard).

use super::{FarmPage, PageError, Section, duration_words, html};
use crate::app::App;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::TenantId;
use domain::printers::{HexColour, PrinterStatus};
use std::collections::HashMap;
use store::StoreError;
use store::printers::{Printer, PrinterKey, PrinterQuery};

/// The most printers a page shows (the API pages past this; a farm this large needs filters).
const MOST_CARDS: i64 = 1000;

/// A printer as its card shows it: the farm's record with the newest live report on top.
pub struct PrinterCard {
    /// The printer's id.
    pub id: String,
    /// The farm's number for it.
    pub number: Option<i64>,
    /// Its name.
    pub name: String,
    /// Its model.
    pub model: String,
    /// Where it stands.
    pub location: Option<String>,
    /// idle, printing, paused, maintenance, offline or error (`data-state`).
    pub state: &'static str,
    /// The state in words.
    pub state_label: &'static str,
    /// Progress of the print in percent, while there is one.
    pub progress: Option<i64>,
    /// Time left, in words.
    pub remaining: Option<String>,
    /// "12 of 200".
    pub layer: Option<String>,
    /// "215 / 220 °C".
    pub nozzle: Option<String>,
    /// "60 / 60 °C".
    pub bed: Option<String>,
    /// Loaded filaments.
    pub slots: Vec<SlotView>,
    /// What is wrong, in words.
    pub error: Option<String>,
    /// Whether the bed was confirmed empty.
    pub cleared: bool,
    /// Whether it is in maintenance.
    pub in_maintenance: bool,
    /// The operator's buttons.
    pub actions: Vec<Action>,
}

/// One filament slot on a card.
pub struct SlotView {
    /// `#RRGGBB`, or empty when the slot has no colour.
    pub colour: String,
    /// "AMS 1 · slot 2: PLA, 80 %".
    pub label: String,
}

/// A button that calls the API for a printer.
pub struct Action {
    /// What it does (`data-do`); focus comes back to the button with the same key after
    /// the card is drawn again, so a toggle keeps one key in both states.
    pub key: &'static str,
    /// Its words.
    pub label: &'static str,
    /// Its icon in the sprite.
    pub icon: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// The API path after the printer's (`/api/v1/printers/{id}/` + this).
    pub path: &'static str,
    /// The JSON body.
    pub body: &'static str,
    /// The states it applies to (space-separated; empty: any). `live.js` hides it in others.
    pub when: &'static str,
    /// A question to confirm first.
    pub confirm: Option<String>,
    /// `btn-danger`, `btn-primary` or empty.
    pub class: &'static str,
    /// Hidden in the state rendered.
    pub hidden: bool,
}

/// The state of a printer as the dashboard names it.
fn state_of(printer: &Printer, live: Option<&proto::PrinterStatus>) -> PrinterStatus {
    if printer.in_maintenance == 1 {
        return PrinterStatus::Maintenance;
    }
    let reported = live.map(|s| s.status.as_str()).unwrap_or(&printer.status);
    // A report the farm does not know is shown as an error, as the hub link stores it.
    reported.parse().unwrap_or(PrinterStatus::Error)
}

/// The words for a state.
pub fn state_label(state: PrinterStatus) -> &'static str {
    match state {
        PrinterStatus::Idle => "Idle",
        PrinterStatus::Printing => "Printing",
        PrinterStatus::Paused => "Paused",
        PrinterStatus::Maintenance => "In maintenance",
        PrinterStatus::Offline => "Offline",
        PrinterStatus::Error => "Error",
    }
}

/// "215 / 220 °C", or "27 °C" without a target.
fn temperature(now: Option<f64>, target: Option<f64>) -> Option<String> {
    match (now, target) {
        (Some(n), Some(t)) if t > 0.0 => Some(format!("{n:.0} / {t:.0} °C")),
        (Some(n), _) => Some(format!("{n:.0} °C")),
        _ => None,
    }
}

/// A filament slot in words: unit × 4 + tray, 254 the external spool.
fn slot_view(slot: &proto::status::FilamentSlot) -> SlotView {
    let place = if slot.slot == 254 {
        "External spool".to_string()
    } else {
        format!("AMS {} · slot {}", slot.slot / 4 + 1, slot.slot % 4 + 1)
    };
    let what = match (&slot.filament_type, slot.remaining) {
        (Some(kind), Some(left)) if left >= 0 => format!("{kind}, {left} %"),
        (Some(kind), _) => kind.clone(),
        (None, _) => "empty".into(),
    };
    SlotView {
        colour: slot
            .colour
            .as_deref()
            .and_then(|c| HexColour::parse("colour", c).ok())
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        label: format!("{place}: {what}"),
    }
}

impl PrinterCard {
    /// The card of `printer`, with its newest live report if there is one.
    pub fn new(printer: &Printer, live: Option<&proto::PrinterStatus>) -> PrinterCard {
        let state = state_of(printer, live);
        let temps = live.and_then(|s| s.temperatures.as_ref());
        let error = live
            .and_then(|s| {
                s.error_message.clone().or_else(|| {
                    s.error_code
                        .as_ref()
                        .map(|code| format!("The printer reports error {code}."))
                })
            })
            .or_else(|| {
                printer
                    .connection_error
                    .as_ref()
                    .filter(|_| printer.is_connected == 0)
                    .map(|e| format!("Not connected: {e}"))
            });
        let mut slots: Vec<SlotView> = live
            .map(|s| s.filaments.iter().map(slot_view).collect())
            .unwrap_or_default();
        if slots.is_empty()
            && let Some(kind) = &printer.current_filament_type
        {
            // Without a live report, the filament the farm last recorded.
            slots.push(SlotView {
                colour: printer.current_color_hex.clone().unwrap_or_default(),
                label: format!("Loaded: {kind}"),
            });
        }
        PrinterCard {
            id: printer.id.clone(),
            number: printer.printer_id,
            name: printer.name.clone(),
            model: printer.model.clone(),
            location: printer.location.clone(),
            state: state.as_str(),
            state_label: state_label(state),
            progress: live.and_then(|s| s.progress_percentage),
            remaining: live
                .and_then(|s| s.remaining_time_seconds)
                .map(duration_words),
            layer: live.and_then(|s| match (s.current_layer, s.total_layers) {
                (Some(c), Some(t)) if t > 0 => Some(format!("{c} of {t}")),
                (Some(c), _) => Some(c.to_string()),
                _ => None,
            }),
            nozzle: temps.and_then(|t| temperature(t.nozzle, t.nozzle_target)),
            bed: temps.and_then(|t| temperature(t.bed, t.bed_target)),
            slots,
            error,
            cleared: printer.cleared == 1,
            in_maintenance: printer.in_maintenance == 1,
            actions: actions(printer, state),
        }
    }

    /// The id of the element that shows what became of a button press.
    pub fn out_id(&self) -> String {
        format!("printer-{}-out", self.id)
    }

    /// The API path of the printer, which the buttons' paths follow.
    pub fn api_base(&self) -> String {
        format!("/api/v1/printers/{}", self.id)
    }

    /// Words for the bed.
    pub fn bed_words(&self) -> &'static str {
        match (self.state, self.cleared) {
            ("printing" | "paused", _) => "Bed in use",
            (_, true) => "Bed cleared",
            (_, false) => "Bed needs clearing",
        }
    }
}

/// The buttons of a card: all that apply to the printer's farm record; the live state
/// only hides or shows them (`when`), so the script can follow it without the server.
fn actions(printer: &Printer, state: PrinterStatus) -> Vec<Action> {
    let state = state.as_str();
    let mut list = vec![
        Action {
            key: "pause",
            label: "Pause",
            icon: "pause",
            method: "POST",
            path: "control",
            body: r#"{"action":"pause"}"#,
            when: "printing",
            confirm: None,
            class: "",
            hidden: false,
        },
        Action {
            key: "resume",
            label: "Resume",
            icon: "play",
            method: "POST",
            path: "control",
            body: r#"{"action":"resume"}"#,
            when: "paused",
            confirm: None,
            class: "btn-primary",
            hidden: false,
        },
        Action {
            key: "stop",
            label: "Stop",
            icon: "stop",
            method: "POST",
            path: "control",
            body: r#"{"action":"stop"}"#,
            when: "printing paused",
            confirm: Some(format!(
                "Stop the print on {}? A stopped print can't be resumed.",
                printer.name
            )),
            class: "btn-danger",
            hidden: false,
        },
    ];
    if printer.cleared == 0 {
        list.push(Action {
            key: "cleared",
            label: "Bed cleared",
            icon: "check",
            method: "PUT",
            path: "cleared",
            body: r#"{"cleared":true}"#,
            when: "idle error offline maintenance",
            confirm: None,
            class: "btn-primary",
            hidden: false,
        });
    }
    list.push(Action {
        key: "light-on",
        label: "Light on",
        icon: "light",
        method: "POST",
        path: "light",
        body: r#"{"on":true}"#,
        when: "",
        confirm: None,
        class: "",
        hidden: false,
    });
    list.push(Action {
        key: "light-off",
        label: "Light off",
        icon: "light-off",
        method: "POST",
        path: "light",
        body: r#"{"on":false}"#,
        when: "",
        confirm: None,
        class: "",
        hidden: false,
    });
    list.push(if printer.in_maintenance == 1 {
        Action {
            // One key in both states: after the toggle, focus comes back to it.
            key: "maintenance",
            label: "End maintenance",
            icon: "wrench",
            method: "PUT",
            path: "maintenance",
            body: r#"{"in_maintenance":false}"#,
            when: "",
            confirm: None,
            class: "",
            hidden: false,
        }
    } else {
        Action {
            key: "maintenance",
            label: "Maintenance",
            icon: "wrench",
            method: "PUT",
            path: "maintenance",
            body: r#"{"in_maintenance":true}"#,
            when: "",
            confirm: None,
            class: "",
            hidden: false,
        }
    });
    for action in &mut list {
        action.hidden = !action.when.is_empty() && !action.when.split(' ').any(|w| w == state);
    }
    list
}

/// The farm's printers in display order (as many as a page shows).
async fn in_display_order(app: &App, tenant: &TenantId) -> Result<Vec<Printer>, PageError> {
    let mut conn = app.store.conn().await?;
    let query = PrinterQuery::display_order();
    Ok(
        store::printers::list(&mut conn, tenant, &query, MOST_CARDS, 0)
            .await?
            .0,
    )
}

/// The cards of a farm, in its display order.
pub async fn load_cards(app: &App, tenant: &TenantId) -> Result<Vec<PrinterCard>, PageError> {
    let printers = in_display_order(app, tenant).await?;
    let live: HashMap<String, proto::PrinterStatus> = app
        .realtime
        .printers_of(tenant)
        .into_iter()
        .map(|s| (s.printer_id.clone(), s))
        .collect();
    Ok(printers
        .iter()
        .map(|p| PrinterCard::new(p, live.get(&p.id)))
        .collect())
}

/// Printer models the forms suggest (any other name is accepted, as the API does).
pub const MODELS: &[&str] = &["X1C", "X1E", "X1", "P1S", "P1P", "A1", "A1 mini", "H2D"];

/// Filament types the forms suggest.
pub const FILAMENTS: &[&str] = &["PLA", "PETG", "ABS", "ASA", "TPU", "PA", "PC", "PVA"];

/// Build plates as Bambu Studio names them in a 3MF (what the dispatcher matches), with words.
pub const PLATES: &[(&str, &str)] = &[
    ("", "Not stated"),
    ("textured_plate", "Textured PEI plate"),
    ("hot_plate", "Smooth PEI / high temperature plate"),
    ("cool_plate", "Cool plate"),
    ("engineering_plate", "Engineering plate"),
    ("supertack_plate", "Cool plate SuperTack"),
];

/// A hub a printer can be managed by, for the forms' select.
pub struct HubChoice {
    /// The hub's id.
    pub id: String,
    /// Its name, or its id when unnamed.
    pub name: String,
    /// Whether the printer edited is on it.
    pub selected: bool,
}

/// The farm's hubs as choices, `current` selected.
async fn hub_choices(
    app: &App,
    tenant: &TenantId,
    current: Option<&str>,
) -> Result<Vec<HubChoice>, PageError> {
    let hubs = {
        let mut conn = app.store.conn().await?;
        store::hubs::list(&mut conn, tenant).await?
    };
    Ok(hubs
        .into_iter()
        .map(|h| HubChoice {
            selected: current == Some(h.id.as_str()),
            name: h.name.clone().unwrap_or_else(|| h.id.clone()),
            id: h.id,
        })
        .collect())
}

/// The printers page.
#[derive(Template)]
#[template(path = "printers.html", whitespace = "minimize")]
struct PrintersPage {
    layout: super::Layout,
    operator: bool,
    admin: bool,
    cards: Vec<PrinterCard>,
    hubs: Vec<HubChoice>,
    models: &'static [&'static str],
    filaments: &'static [&'static str],
    plates: &'static [(&'static str, &'static str)],
}

/// GET /printers — the farm's printers as live cards (and, for admins, the add form).
pub async fn page(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let cards = load_cards(&app, &member.tenant).await?;
    let admin = member.role.at_least(domain::Role::Admin);
    let hubs = if admin {
        hub_choices(&app, &member.tenant, None).await?
    } else {
        Vec::new()
    };
    let layout = member.layout(Section::Printers, "Printers");
    Ok(html(
        StatusCode::OK,
        &PrintersPage {
            operator: layout.operator(),
            admin,
            layout,
            cards,
            hubs,
            models: MODELS,
            filaments: FILAMENTS,
            plates: PLATES,
        },
    ))
}

/// The page that edits one printer.
#[derive(Template)]
#[template(path = "printer_edit.html", whitespace = "minimize")]
struct EditPage {
    layout: super::Layout,
    printer: Printer,
    hubs: Vec<HubChoice>,
    models: &'static [&'static str],
    filaments: &'static [&'static str],
    plates: &'static [(&'static str, &'static str)],
}

impl EditPage {
    /// A text for a form field: the value or nothing.
    fn text(value: &Option<String>) -> &str {
        value.as_deref().unwrap_or("")
    }
}

/// GET /printers/{printer_id}/edit — a printer's settings (admins; the API says no to others).
pub async fn edit(
    State(app): State<App>,
    member: FarmPage,
    Path(key): Path<String>,
) -> Result<Response, PageError> {
    let printer = find(&app, &member.tenant, &key).await?;
    let hubs = hub_choices(&app, &member.tenant, printer.hub_id.as_deref()).await?;
    let layout = member.layout(Section::Printers, &format!("Edit {}", printer.name));
    Ok(html(
        StatusCode::OK,
        &EditPage {
            layout,
            printer,
            hubs,
            models: MODELS,
            filaments: FILAMENTS,
            plates: PLATES,
        },
    ))
}

/// The page that arranges the printers' display order.
#[derive(Template)]
#[template(path = "printers_arrange.html", whitespace = "minimize")]
struct ArrangePage {
    layout: super::Layout,
    operator: bool,
    printers: Vec<Printer>,
}

/// GET /printers/arrange — the display order, to drag or move with buttons (operators).
pub async fn arrange(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let printers = in_display_order(&app, &member.tenant).await?;
    let layout = member.layout(Section::Printers, "Arrange printers");
    Ok(html(
        StatusCode::OK,
        &ArrangePage {
            operator: layout.operator(),
            layout,
            printers,
        },
    ))
}

/// The farm's printer by id or number, or the page's 404.
async fn find(app: &App, tenant: &TenantId, key: &str) -> Result<Printer, PageError> {
    let not_found = || PageError::NotFound("The printer".into());
    let key = PrinterKey::parse(key).ok_or_else(not_found)?;
    let mut conn = app.store.conn().await?;
    match store::printers::get(&mut conn, tenant, &key).await {
        Ok(printer) => Ok(printer),
        Err(StoreError::NotFound) => Err(not_found()),
        Err(other) => Err(other.into()),
    }
}

/// All cards, without the page around them.
#[derive(Template)]
#[template(path = "printer_cards.html", whitespace = "minimize")]
struct CardsFragment {
    operator: bool,
    admin: bool,
    cards: Vec<PrinterCard>,
}

/// GET /printers/cards — every card, for the script to swap in after a resync.
pub async fn cards(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let cards = load_cards(&app, &member.tenant).await?;
    Ok(html(
        StatusCode::OK,
        &CardsFragment {
            operator: member.role.at_least(domain::Role::Operator),
            admin: member.role.at_least(domain::Role::Admin),
            cards,
        },
    ))
}

/// One card alone.
#[derive(Template)]
#[template(path = "printer_card.html", whitespace = "minimize")]
struct CardFragment {
    operator: bool,
    admin: bool,
    card: PrinterCard,
}

/// GET /printers/{printer_id}/card — one card (by id or the farm's number), after a change.
pub async fn card(
    State(app): State<App>,
    member: FarmPage,
    Path(key): Path<String>,
) -> Result<Response, PageError> {
    let printer = find(&app, &member.tenant, &key).await?;
    let live = app.realtime.printer(&member.tenant, &printer.id);
    Ok(html(
        StatusCode::OK,
        &CardFragment {
            operator: member.role.at_least(domain::Role::Operator),
            admin: member.role.at_least(domain::Role::Admin),
            card: PrinterCard::new(&printer, live.as_ref()),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printer() -> Printer {
        serde_json::from_value(serde_json::json!({
            "id": "p1", "tenant_id": "t", "hub_id": null, "name": "P1S-01", "model": "P1S",
            "manufacturer": null, "firmware_version": null, "total_print_time": 0,
            "last_maintenance_date": null, "status": "idle", "current_color": null,
            "current_color_hex": null, "current_filament_type": null, "current_build_plate": null,
            "filament_level": 0, "nozzle_size": 0.4, "location": null, "connection_type": "bambu",
            "ip_address": null, "serial_number": null, "access_code": null, "is_connected": 0,
            "last_connection_attempt": null, "connection_error": null, "is_active": 1,
            "cleared": 0, "sort_order": 0, "printer_id": 1, "in_maintenance": 0,
            "maintenance_type": null, "created_at": "", "updated_at": ""
        }))
        .expect("a printer row")
    }

    #[test]
    fn a_live_report_fills_the_card_in_words() {
        let live = proto::PrinterStatus {
            printer_id: "p1".into(),
            status: "printing".into(),
            progress_percentage: Some(42),
            remaining_time_seconds: Some(65 * 60),
            current_layer: Some(12),
            total_layers: Some(200),
            temperatures: Some(proto::Temperatures {
                nozzle: Some(214.6),
                nozzle_target: Some(220.0),
                bed: Some(60.0),
                bed_target: Some(0.0),
                chamber: None,
            }),
            filaments: vec![
                proto::status::FilamentSlot {
                    slot: 1,
                    filament_type: Some("PLA".into()),
                    colour: Some("F7D959FF".into()),
                    remaining: Some(80),
                },
                proto::status::FilamentSlot {
                    slot: 254,
                    filament_type: None,
                    colour: Some("javascript:".into()),
                    remaining: None,
                },
            ],
            ..Default::default()
        };
        let card = PrinterCard::new(&printer(), Some(&live));
        assert_eq!(card.state, "printing");
        assert_eq!(card.remaining.as_deref(), Some("1 h 05 min"));
        assert_eq!(card.layer.as_deref(), Some("12 of 200"));
        assert_eq!(card.nozzle.as_deref(), Some("215 / 220 °C"));
        assert_eq!(card.bed.as_deref(), Some("60 °C"));
        assert_eq!(card.slots[0].colour, "#F7D959");
        assert_eq!(card.slots[0].label, "AMS 1 · slot 2: PLA, 80 %");
        assert_eq!(card.slots[1].colour, "", "only colours reach the markup");
        assert_eq!(card.slots[1].label, "External spool: empty");
        assert_eq!(card.bed_words(), "Bed in use");
        let shown: Vec<&str> = card
            .actions
            .iter()
            .filter(|a| !a.hidden)
            .map(|a| a.label)
            .collect();
        assert_eq!(
            shown,
            vec!["Pause", "Stop", "Light on", "Light off", "Maintenance"]
        );
    }

    #[test]
    fn maintenance_wins_over_what_the_printer_reports() {
        let mut p = printer();
        p.in_maintenance = 1;
        let live = proto::PrinterStatus {
            printer_id: "p1".into(),
            status: "idle".into(),
            error_code: Some("0300_0100".into()),
            ..Default::default()
        };
        let card = PrinterCard::new(&p, Some(&live));
        assert_eq!(card.state, "maintenance");
        assert_eq!(
            card.error.as_deref(),
            Some("The printer reports error 0300_0100.")
        );
        assert!(card.actions.iter().any(|a| a.label == "End maintenance"));
    }
}
