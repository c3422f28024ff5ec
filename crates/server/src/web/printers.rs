//! The printers page: one live card per printer (state, progress, time left, layer,
//! temperatures, AMS colours, errors in words) with the operator's buttons, which call the
//! JSON API. The cards are also served alone, as fragments `live.js` swaps in after a
//! resync or a `printer_updated` event (bed cleared, maintenance, a rename). Admins add a
//! printer on the page, edit one on its own page, and anyone who runs the farm arranges
//! the display order on `/printers/arrange` (drag, or move buttons for the keyboard).
//!
//! A big farm has a compact view of the same page (`?view=compact`, remembered in the
//! `pf_printers_view` cookie): a small tile per printer (name, state in colour and words,
//! progress, time left, the plate's picture, an error badge) linking to the printer's own
//! page, filtered by state, model and hub in the URL, so a link reproduces the view.

use super::{FarmPage, PageError, Section, duration_words, html};
use crate::app::App;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use cookie::{Cookie, SameSite};
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
    live.map_or(printer.status, |s| s.status)
}

/// What is wrong with a printer, in words: what it reports, or why the hub can't reach it.
fn error_of(printer: &Printer, live: Option<&proto::PrinterStatus>) -> Option<String> {
    live.and_then(|s| {
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
    })
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

/// The words for a state on a tile, where "In maintenance" is too wide.
pub fn tile_label(state: PrinterStatus) -> &'static str {
    match state {
        PrinterStatus::Maintenance => "Maintenance",
        other => state_label(other),
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
        let error = error_of(printer, live);
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
    let live = app.realtime.printers_of(tenant);
    Ok(printers
        .iter()
        .map(|p| PrinterCard::new(p, live.get(&p.id)))
        .collect())
}

/// The cookie that remembers which view of the printers page a member chose last.
pub const VIEW_COOKIE: &str = "pf_printers_view";

/// How the printers page shows the farm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// A large card per printer, with its buttons.
    #[default]
    Cards,
    /// Small tiles: a farm of a hundred printers on one screen.
    Compact,
}

impl View {
    /// The view named `word` (`cards` or `compact`), as links and the cookie name it.
    pub fn parse(word: &str) -> Option<View> {
        match word {
            "cards" => Some(View::Cards),
            "compact" => Some(View::Compact),
            _ => None,
        }
    }

    /// Its name in links and the cookie.
    pub fn as_str(self) -> &'static str {
        match self {
            View::Cards => "cards",
            View::Compact => "compact",
        }
    }
}

/// Which printers the compact view shows: those in one of `states` (any, when empty), of
/// `model` and on `hub` (any, when unset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TileFilter {
    /// The states shown, in the order of [`PrinterStatus::ALL`].
    pub states: Vec<PrinterStatus>,
    /// The model shown.
    pub model: Option<String>,
    /// The hub (by id) whose printers are shown.
    pub hub: Option<String>,
}

/// The printers page's query: `?view=compact&state=error&state=offline&model=P1S&hub=…`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrintersQuery {
    /// The view the link asks for; it wins over the cookie, which then remembers it.
    pub view: Option<View>,
    /// What the compact view shows.
    pub filter: TileFilter,
}

impl PrintersQuery {
    /// Reads a page's raw query. A link may be old or edited by hand: an unknown state,
    /// view or key is left out rather than refused, and empty values mean "any".
    pub fn parse(raw: &str) -> PrintersQuery {
        let mut query = PrintersQuery::default();
        for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let value = value.trim();
            match key.as_ref() {
                "view" => query.view = View::parse(value).or(query.view),
                "state" => {
                    if let Ok(state) = value.parse::<PrinterStatus>()
                        && !query.filter.states.contains(&state)
                    {
                        query.filter.states.push(state);
                    }
                }
                "model" if !value.is_empty() => query.filter.model = Some(value.to_string()),
                "hub" if !value.is_empty() => query.filter.hub = Some(value.to_string()),
                _ => {}
            }
        }
        // One order, so that two links choosing the same states are the same link.
        query
            .filter
            .states
            .sort_by_key(|s| PrinterStatus::ALL.iter().position(|a| a == s));
        query
    }
}

impl TileFilter {
    /// The filter as a query (`state=error&model=P1S`); empty when it takes every printer.
    pub fn query(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for state in &self.states {
            out.append_pair("state", state.as_str());
        }
        if let Some(model) = &self.model {
            out.append_pair("model", model);
        }
        if let Some(hub) = &self.hub {
            out.append_pair("hub", hub);
        }
        out.finish()
    }

    /// Whether the filter chooses nothing (every printer is shown).
    pub fn is_empty(&self) -> bool {
        self.states.is_empty() && self.model.is_none() && self.hub.is_none()
    }

    /// The states shown, space-separated (`data-states`, which `live.js` follows).
    pub fn states_attr(&self) -> String {
        let names: Vec<&str> = self.states.iter().map(|s| s.as_str()).collect();
        names.join(" ")
    }

    /// Whether a printer in `state` is shown.
    fn takes_state(&self, state: PrinterStatus) -> bool {
        self.states.is_empty() || self.states.contains(&state)
    }

    /// Whether the printer's record (model, hub) belongs in the view, whatever its state.
    fn takes_printer(&self, printer: &Printer) -> bool {
        self.model.as_ref().is_none_or(|m| *m == printer.model)
            && self
                .hub
                .as_ref()
                .is_none_or(|h| printer.hub_id.as_ref() == Some(h))
    }
}

/// A printer as its tile in the compact view shows it.
pub struct PrinterTile {
    /// The printer's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its model.
    pub model: String,
    /// idle, printing, paused, maintenance, offline or error (`data-state`).
    pub state: &'static str,
    /// The state in words, on its colour.
    pub state_label: &'static str,
    /// Whether it is in maintenance (which wins over what it reports).
    pub in_maintenance: bool,
    /// Progress of the print in percent, while there is one.
    pub progress: Option<i64>,
    /// Time left, in words.
    pub remaining: Option<String>,
    /// What is wrong, in words (the badge's text).
    pub error: Option<String>,
    /// The picture of the plate its current job prints.
    pub thumb: Option<String>,
    /// That job's id (`live.js` fetches the tiles again when another job holds the printer).
    pub job_id: Option<String>,
    /// Whether the filter's states take it now; `live.js` shows and hides it as they change.
    pub shown: bool,
}

impl PrinterTile {
    /// The tile of `printer`, with its newest live report and the plate it prints.
    pub fn new(
        printer: &Printer,
        live: Option<&proto::PrinterStatus>,
        plate: Option<&store::jobs::PlateOnPrinter>,
        filter: &TileFilter,
    ) -> PrinterTile {
        let state = state_of(printer, live);
        PrinterTile {
            id: printer.id.clone(),
            name: printer.name.clone(),
            model: printer.model.clone(),
            state: state.as_str(),
            state_label: tile_label(state),
            in_maintenance: printer.in_maintenance == 1,
            progress: live.and_then(|s| s.progress_percentage),
            remaining: live
                .and_then(|s| s.remaining_time_seconds)
                .map(duration_words),
            error: error_of(printer, live),
            thumb: plate.filter(|p| p.thumbnail_r2_key.is_some()).map(|p| {
                format!(
                    "/files/{}/plates/{}/thumbnail?v={}",
                    p.print_file_id,
                    p.plate_index,
                    super::files::tag_of(p.content_sha256.as_deref(), &p.file_updated_at)
                )
            }),
            job_id: plate.map(|p| p.job_id.clone()),
            shown: filter.takes_state(state),
        }
    }

    /// Whether its error badge shows: it says what is wrong, or it is in error.
    pub fn badge(&self) -> bool {
        self.error.is_some() || self.state == "error"
    }
}

/// The compact view's tiles: every printer the model and hub filter take, in display
/// order, each shown or hidden by its state.
pub struct Tiles {
    /// The tiles.
    pub tiles: Vec<PrinterTile>,
    /// How many of them are shown.
    pub shown: usize,
    /// How many printers the farm has.
    pub in_farm: usize,
}

impl Tiles {
    /// "12 of 100 printers shown (120 in the farm)"; `live.js` writes the same words.
    pub fn count_words(&self) -> String {
        let mut words = format!("{} of {} printers shown", self.shown, self.tiles.len());
        if self.in_farm != self.tiles.len() {
            words.push_str(&format!(" ({} in the farm)", self.in_farm));
        }
        words
    }
}

/// The farm's `printers` (in display order) as tiles, as `filter` takes them.
pub async fn tiles_of(
    app: &App,
    tenant: &TenantId,
    printers: &[Printer],
    filter: &TileFilter,
) -> Result<Tiles, PageError> {
    let plates: HashMap<String, store::jobs::PlateOnPrinter> = {
        let mut conn = app.store.conn().await?;
        store::jobs::plates_on_printers(&mut conn, tenant)
            .await?
            .into_iter()
            // Oldest first: a printer's newest job is the one kept.
            .map(|p| (p.printer_id.clone(), p))
            .collect()
    };
    let live = app.realtime.printers_of(tenant);
    let tiles: Vec<PrinterTile> = printers
        .iter()
        .filter(|p| filter.takes_printer(p))
        .map(|p| PrinterTile::new(p, live.get(&p.id), plates.get(&p.id), filter))
        .collect();
    Ok(Tiles {
        shown: tiles.iter().filter(|t| t.shown).count(),
        in_farm: printers.len(),
        tiles,
    })
}

/// A state the filter form offers.
pub struct StateChoice {
    /// Its name in the query.
    pub value: &'static str,
    /// Its words.
    pub label: &'static str,
    /// Whether the filter shows it.
    pub checked: bool,
}

/// A model the filter form offers.
pub struct ModelChoice {
    /// The model's name.
    pub name: String,
    /// Whether the filter shows it.
    pub selected: bool,
}

/// The filter form's choices, from the farm's own printers and hubs.
pub struct FilterForm {
    /// Every state, those the filter shows checked.
    pub states: Vec<StateChoice>,
    /// The models of the farm's printers.
    pub models: Vec<ModelChoice>,
    /// The farm's hubs, the one chosen selected.
    pub hubs: Vec<HubChoice>,
}

/// The filter form for `filter` in `tenant`'s farm.
async fn filter_form(
    app: &App,
    tenant: &TenantId,
    printers: &[Printer],
    filter: &TileFilter,
) -> Result<FilterForm, PageError> {
    let mut models: Vec<String> = printers.iter().map(|p| p.model.clone()).collect();
    models.sort();
    models.dedup();
    Ok(FilterForm {
        states: PrinterStatus::ALL
            .iter()
            .map(|&s| StateChoice {
                value: s.as_str(),
                label: state_label(s),
                checked: filter.states.contains(&s),
            })
            .collect(),
        models: models
            .into_iter()
            .map(|name| ModelChoice {
                selected: filter.model.as_ref() == Some(&name),
                name,
            })
            .collect(),
        hubs: hub_choices(app, tenant, filter.hub.as_deref()).await?,
    })
}

/// The cookie that remembers `view`.
fn view_cookie(app: &App, view: View) -> HeaderValue {
    let cookie = Cookie::build((VIEW_COOKIE, view.as_str()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(app.secure_cookies)
        .max_age(cookie::time::Duration::days(365))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
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

/// The printers page, as cards or as compact tiles.
#[derive(Template)]
#[template(path = "printers.html", whitespace = "minimize")]
struct PrintersPage {
    layout: super::Layout,
    operator: bool,
    admin: bool,
    /// How many printers the farm has.
    total: usize,
    /// The cards (in the cards view).
    cards: Vec<PrinterCard>,
    /// The filter (in the compact view).
    compact: Option<CompactView>,
    /// The tiles (in the compact view).
    tiles: Option<Tiles>,
    hubs: Vec<HubChoice>,
    models: &'static [&'static str],
    filaments: &'static [&'static str],
    plates: &'static [(&'static str, &'static str)],
}

/// The compact view's filter and its form.
struct CompactView {
    filter: TileFilter,
    form: FilterForm,
}

impl PrintersPage {
    /// The link to the other view, keeping the compact view's filter.
    fn compact_href(&self) -> String {
        let filter = self.compact.as_ref().map(|c| c.filter.query());
        match filter.filter(|q| !q.is_empty()) {
            Some(q) => format!("/printers?view=compact&{q}"),
            None => "/printers?view=compact".into(),
        }
    }
}

impl CompactView {
    /// The URL of the tiles alone, for `live.js` to fetch again after a resync.
    fn fragment_url(&self) -> String {
        let q = self.filter.query();
        if q.is_empty() {
            "/printers/tiles".into()
        } else {
            format!("/printers/tiles?{q}")
        }
    }
}

/// GET /printers — the farm's printers as live cards (and, for admins, the add form), or,
/// in the compact view (`?view=compact`, then remembered), as small tiles with a filter
/// by state, model and hub that the URL keeps.
pub async fn page(
    State(app): State<App>,
    member: FarmPage,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let query = PrintersQuery::parse(raw.as_deref().unwrap_or(""));
    let remembered = super::cookie_value(&headers, VIEW_COOKIE).and_then(|v| View::parse(&v));
    let view = query.view.or(remembered).unwrap_or_default();
    let admin = member.role.at_least(domain::Role::Admin);
    let (total, cards, compact, tiles, hubs) = match view {
        View::Cards => {
            let cards = load_cards(&app, &member.tenant).await?;
            let hubs = if admin {
                hub_choices(&app, &member.tenant, None).await?
            } else {
                Vec::new()
            };
            (cards.len(), cards, None, None, hubs)
        }
        View::Compact => {
            let printers = in_display_order(&app, &member.tenant).await?;
            let filter = query.filter;
            let tiles = tiles_of(&app, &member.tenant, &printers, &filter).await?;
            let compact = CompactView {
                form: filter_form(&app, &member.tenant, &printers, &filter).await?,
                filter,
            };
            (
                printers.len(),
                Vec::new(),
                Some(compact),
                Some(tiles),
                Vec::new(),
            )
        }
    };
    let layout = member.layout(Section::Printers, "Printers");
    let mut response = html(
        StatusCode::OK,
        &PrintersPage {
            operator: layout.operator(),
            admin,
            layout,
            total,
            cards,
            compact,
            tiles,
            hubs,
            models: MODELS,
            filaments: FILAMENTS,
            plates: PLATES,
        },
    );
    if query.view.is_some_and(|v| Some(v) != remembered) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, view_cookie(&app, view));
    }
    Ok(response)
}

/// The compact view's tiles without the page around them.
#[derive(Template)]
#[template(path = "printer_tiles.html", whitespace = "minimize")]
struct TilesFragment {
    tiles: Tiles,
}

/// GET /printers/tiles — the compact view's tiles for the filter in the query, for the
/// script to swap in after a resync, a printer added or changed, or a new job on one.
pub async fn tiles(
    State(app): State<App>,
    member: FarmPage,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let filter = PrintersQuery::parse(raw.as_deref().unwrap_or("")).filter;
    let printers = in_display_order(&app, &member.tenant).await?;
    let tiles = tiles_of(&app, &member.tenant, &printers, &filter).await?;
    Ok(html(StatusCode::OK, &TilesFragment { tiles }))
}

/// One printer's page: its live card alone.
#[derive(Template)]
#[template(path = "printer.html", whitespace = "minimize")]
struct PrinterPage {
    layout: super::Layout,
    operator: bool,
    admin: bool,
    card: PrinterCard,
}

/// GET /printers/{printer_id} — one printer's live card, where its tile links to.
pub async fn one(
    State(app): State<App>,
    member: FarmPage,
    Path(key): Path<String>,
) -> Result<Response, PageError> {
    let printer = find(&app, &member.tenant, &key).await?;
    let live = app.realtime.printer(&member.tenant, &printer.id);
    let layout = member.layout(Section::Printers, &printer.name);
    Ok(html(
        StatusCode::OK,
        &PrinterPage {
            operator: layout.operator(),
            admin: member.role.at_least(domain::Role::Admin),
            layout,
            card: PrinterCard::new(&printer, live.as_ref()),
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
            "maintenance_type": null, "maintenance_interval_hours": 200,
            "print_minutes_at_maintenance": 0, "created_at": "", "updated_at": ""
        }))
        .expect("a printer row")
    }

    #[test]
    fn a_live_report_fills_the_card_in_words() {
        let live = proto::PrinterStatus {
            printer_id: "p1".into(),
            status: PrinterStatus::Printing,
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
    fn a_link_s_query_chooses_the_view_and_the_filter() {
        let query =
            PrintersQuery::parse("view=compact&state=offline&state=Error&model=P1S&hub=h-1");
        assert_eq!(query.view, Some(View::Compact));
        assert_eq!(
            query.filter.states,
            vec![PrinterStatus::Offline, PrinterStatus::Error]
        );
        assert_eq!(query.filter.model.as_deref(), Some("P1S"));
        assert_eq!(query.filter.hub.as_deref(), Some("h-1"));
        assert_eq!(query.filter.states_attr(), "offline error");
        assert_eq!(
            query.filter.query(),
            "state=offline&state=error&model=P1S&hub=h-1"
        );
    }

    #[test]
    fn an_old_or_edited_link_is_read_as_far_as_it_makes_sense() {
        let query =
            PrintersQuery::parse("view=huge&state=busy&state=idle&state=idle&model=&hub=+&x=1");
        assert_eq!(query.view, None, "an unknown view leaves the cookie's");
        assert_eq!(query.filter.states, vec![PrinterStatus::Idle]);
        assert_eq!(query.filter.model, None, "empty means any model");
        assert_eq!(query.filter.hub, None);
        assert!(PrintersQuery::parse("").filter.is_empty());
        let spaced = PrintersQuery::parse("model=A1+mini");
        assert_eq!(spaced.filter.model.as_deref(), Some("A1 mini"));
        assert_eq!(spaced.filter.query(), "model=A1+mini");
    }

    #[test]
    fn a_tile_hidden_by_the_state_filter_is_still_drawn_to_appear_live() {
        let filter = PrintersQuery::parse("state=error&model=P1S").filter;
        let live = proto::PrinterStatus {
            printer_id: "p1".into(),
            status: PrinterStatus::Printing,
            progress_percentage: Some(42),
            remaining_time_seconds: Some(65 * 60),
            ..Default::default()
        };
        let tile = PrinterTile::new(&printer(), Some(&live), None, &filter);
        assert!(filter.takes_printer(&printer()));
        assert!(!tile.shown, "printing is not among the states shown");
        assert_eq!(tile.state_label, "Printing");
        assert_eq!(tile.remaining.as_deref(), Some("1 h 05 min"));
        assert!(!tile.badge());
        let mut x1 = printer();
        x1.model = "X1C".into();
        assert!(
            !filter.takes_printer(&x1),
            "another model is not drawn at all"
        );
        let failed = proto::PrinterStatus {
            printer_id: "p1".into(),
            status: PrinterStatus::Error,
            ..Default::default()
        };
        let tile = PrinterTile::new(&printer(), Some(&failed), None, &filter);
        assert!(tile.shown);
        assert!(tile.badge(), "an error shows its badge even without words");
    }

    #[test]
    fn maintenance_wins_over_what_the_printer_reports() {
        let mut p = printer();
        p.in_maintenance = 1;
        let live = proto::PrinterStatus {
            printer_id: "p1".into(),
            status: PrinterStatus::Idle,
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
