//! Printers: list, read, add, change, remove, status, maintenance, bed cleared, display
//! order, and the commands that go to the printer's hub.

use crate::app::App;
use crate::audit::Change;
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Meta, Paging, json_response};
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo, OptionalJson, query_flag};
use crate::farm::commands::access_code_context;
use crate::hubs::PrinterAction;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::printers::{
    ConnectionType, HexColour, MASKED_SECRET, PrinterStatus, parse_access_code, parse_name,
    parse_nozzle, parse_serial,
};
use domain::{Invalid, PrinterId, Role, TenantId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::StoreError;
use store::printers::{Printer, PrinterFields, PrinterKey, PrinterQuery, SORTABLE};

/// A printer as sent: the access code opened for owners and admins reading one
/// printer, masked everywhere else, absent when none is set. A masked copy is
/// serialised directly (no JSON tree per printer: lists of 50 are the hot path).
fn view(app: &App, printer: &Printer, reveal: bool) -> Printer {
    let mut shown = printer.clone();
    shown.access_code = match (&printer.access_code, reveal) {
        (None, _) => None,
        (Some(_), true) => app.farm.opened_access_code(printer),
        (Some(_), false) => Some(MASKED_SECRET.into()),
    };
    shown
}

/// The printer a path names in the member's farm; 404 otherwise.
pub(crate) async fn find(app: &App, tenant: &TenantId, key: &str) -> Result<Printer, ApiError> {
    let key = PrinterKey::parse(key).ok_or_else(not_found)?;
    let mut conn = app.store.conn().await?;
    store::printers::get(&mut conn, tenant, &key)
        .await
        .or_not_found("PRINTER_NOT_FOUND", "printer")
}

fn not_found() -> ApiError {
    ApiError::not_found("PRINTER_NOT_FOUND", "printer")
}

/// A unique-key conflict on a printer is its name being taken in the farm.
fn name_taken(err: StoreError) -> ApiError {
    match err {
        StoreError::Conflict { .. } => ApiError::Conflict {
            code: "PRINTER_NAME_TAKEN",
            field: Some("name".into()),
            message: "another printer of this farm has that name".into(),
        },
        other => other.into(),
    }
}

/// Query of the printer list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    page: Option<i64>,
    limit: Option<i64>,
    status: Option<String>,
    hub_id: Option<String>,
    model: Option<String>,
    is_active: Option<String>,
    in_maintenance: Option<String>,
    search: Option<String>,
    #[serde(rename = "sortBy", alias = "sort_by")]
    sort_by: Option<String>,
    #[serde(rename = "sortOrder", alias = "sort_order")]
    sort_order: Option<String>,
}

/// GET /api/v1/printers — the farm's printers (filters, order, pages).
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    RawQuery(raw): RawQuery,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let mut invalid = Invalid::default();
    let status = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| invalid.take(parse_name::<PrinterStatus>("status", s)));
    let is_active = invalid
        .take(query_flag("is_active", q.is_active.as_deref()))
        .flatten();
    let in_maintenance = invalid
        .take(query_flag("in_maintenance", q.in_maintenance.as_deref()))
        .flatten();
    let sort_by = match q.sort_by.as_deref() {
        None | Some("") => Some("sort_order"),
        Some(s) => {
            let found = SORTABLE.iter().copied().find(|c| *c == s);
            if found.is_none() {
                invalid.0.push(domain::FieldError {
                    field: "sortBy".into(),
                    message: format!("sortBy must be one of {}", SORTABLE.join(", ")),
                });
            }
            found
        }
    };
    let ascending = match q
        .sort_order
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") | Some("asc") => true,
        Some("desc") => false,
        Some(_) => {
            invalid.0.push(domain::FieldError {
                field: "sortOrder".into(),
                message: "sortOrder must be asc or desc".into(),
            });
            true
        }
    };
    invalid.into_result()?;
    // Without `page` or `limit`, the whole farm: the original's client never pages this list.
    let paging = (q.page.is_some() || q.limit.is_some()).then(|| Paging {
        page: q.page.unwrap_or(1),
        limit: q.limit.unwrap_or(100),
    });
    let query = PrinterQuery {
        status,
        hub_id: q.hub_id.filter(|h| !h.is_empty()),
        model: q.model.filter(|m| !m.is_empty()),
        is_active,
        in_maintenance,
        search: q.search.filter(|s| !s.trim().is_empty()),
        sort_by: sort_by.unwrap_or("sort_order"),
        ascending,
    };
    // Dashboards poll this list; an unchanged farm's answer is sent again as it was.
    let key = raw.unwrap_or_default();
    let cache = &app.realtime.answers;
    if let Some(body) = cache.get(&member.tenant, &key) {
        return Ok(json_response(StatusCode::OK, body));
    }
    let generation = cache.generation(&member.tenant);
    let mut conn = app.store.conn().await?;
    let (limit, offset) = paging.map_or((i64::MAX, 0), |p| (p.limit(), p.offset()));
    let (printers, total) =
        store::printers::list(&mut conn, &member.tenant, &query, limit, offset).await?;
    drop(conn);
    let views: Vec<Printer> = printers.iter().map(|p| view(&app, p, false)).collect();
    let meta = paging.map_or_else(|| Meta::whole(printers.len()), |p| p.meta(total));
    let (status, body) = Envelope::list(views, meta).into_json();
    cache.put(&member.tenant, &key, generation, body.clone());
    Ok(json_response(status, body))
}

/// GET /api/v1/printers/{printer_id} — one printer (by id or the farm's number).
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Printer> {
    let printer = find(&app, &member.tenant, &key).await?;
    Ok(Envelope::ok(view(
        &app,
        &printer,
        member.role >= Role::Admin,
    )))
}

/// Body of printer creation and update.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PrinterBody {
    name: Option<String>,
    model: Option<String>,
    manufacturer: Option<String>,
    hub_id: Option<String>,
    nozzle_size: Option<f64>,
    location: Option<String>,
    connection_type: Option<String>,
    ip_address: Option<String>,
    serial_number: Option<String>,
    access_code: Option<String>,
    current_color: Option<String>,
    current_color_hex: Option<String>,
    current_filament_type: Option<String>,
    current_build_plate: Option<String>,
    is_active: Option<bool>,
    sort_order: Option<i64>,
    /// Print hours between maintenance (0: not by hours).
    maintenance_interval_hours: Option<i64>,
}

/// A short optional text: trimmed, at most `max` characters.
fn short_text(
    invalid: &mut Invalid,
    field: &str,
    raw: &Option<String>,
    max: usize,
) -> Option<String> {
    let text = raw.as_deref()?.trim();
    if text.chars().count() > max {
        invalid.0.push(domain::FieldError {
            field: field.into(),
            message: format!("{field} must be at most {max} characters"),
        });
        return None;
    }
    Some(text.to_string())
}

impl PrinterBody {
    /// The checked fields and the access code, or every field error at once.
    fn parse(&self, creating: bool) -> Result<(PrinterFields, Option<String>), Invalid> {
        let mut invalid = Invalid::default();
        let name = short_text(&mut invalid, "name", &self.name, 100);
        let model = short_text(&mut invalid, "model", &self.model, 50);
        for (field, value) in [("name", &name), ("model", &model)] {
            let missing = value.as_deref().map(str::is_empty).unwrap_or(creating);
            if missing {
                invalid.0.push(domain::FieldError {
                    field: field.into(),
                    message: format!("{field} is required"),
                });
            }
        }
        let connection_type = self
            .connection_type
            .as_deref()
            .and_then(|c| invalid.take(parse_name::<ConnectionType>("connection_type", c)));
        let ip_address = self
            .ip_address
            .as_deref()
            .filter(|ip| !ip.trim().is_empty())
            .and_then(|ip| match ip.trim().parse::<std::net::IpAddr>() {
                Ok(addr) => Some(addr.to_string()),
                Err(_) => {
                    invalid.0.push(domain::FieldError {
                        field: "ip_address".into(),
                        message: "ip_address must be an IPv4 or IPv6 address".into(),
                    });
                    None
                }
            });
        let fields = PrinterFields {
            manufacturer: short_text(&mut invalid, "manufacturer", &self.manufacturer, 50),
            location: short_text(&mut invalid, "location", &self.location, 100),
            current_color: short_text(&mut invalid, "current_color", &self.current_color, 50),
            current_filament_type: short_text(
                &mut invalid,
                "current_filament_type",
                &self.current_filament_type,
                30,
            )
            .map(|t| t.to_uppercase()),
            current_build_plate: short_text(
                &mut invalid,
                "current_build_plate",
                &self.current_build_plate,
                50,
            ),
            hub_id: self.hub_id.clone().filter(|h| !h.trim().is_empty()),
            nozzle_size: self
                .nozzle_size
                .and_then(|n| invalid.take(parse_nozzle("nozzle_size", n))),
            serial_number: self
                .serial_number
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .and_then(|s| invalid.take(parse_serial("serial_number", s))),
            current_color_hex: self
                .current_color_hex
                .as_deref()
                .filter(|c| !c.trim().is_empty())
                .and_then(|c| invalid.take(HexColour::parse("current_color_hex", c)))
                .map(|c| c.as_str().to_string()),
            connection_type: connection_type.map(|c| c.as_str().to_string()),
            ip_address,
            is_active: self.is_active.map(i64::from),
            sort_order: self.sort_order,
            maintenance_interval_hours: self.maintenance_interval_hours.and_then(|hours| {
                if (0..=100_000).contains(&hours) {
                    Some(hours)
                } else {
                    invalid.0.push(domain::FieldError {
                        field: "maintenance_interval_hours".into(),
                        message: "maintenance_interval_hours must be from 0 (off) to 100000".into(),
                    });
                    None
                }
            }),
            name,
            model,
        };
        let access_code = self
            .access_code
            .as_deref()
            .filter(|c| !c.trim().is_empty() && *c != MASKED_SECRET)
            .and_then(|c| invalid.take(parse_access_code("access_code", c)));
        invalid.into_result()?;
        Ok((fields, access_code))
    }
}

/// Checks that a named hub is the farm's.
async fn check_hub(app: &App, tenant: &TenantId, hub_id: Option<&str>) -> Result<(), ApiError> {
    if let Some(hub) = hub_id {
        let mut conn = app.store.conn().await?;
        if !store::printers::hub_belongs(&mut conn, tenant, hub).await? {
            return Err(ApiError::field(
                "hub_id",
                "no hub with this id belongs to this farm",
            ));
        }
    }
    Ok(())
}

/// POST /api/v1/printers — adds a printer (admins). It shows offline until a hub manages it.
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiJson(body): ApiJson<PrinterBody>,
) -> ApiResult<Printer> {
    let (fields, access_code) = body.parse(true)?;
    check_hub(&app, &member.tenant, fields.hub_id.as_deref()).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let tenant = member.tenant.clone();
    let printer = store::printers::create(
        &mut tx,
        &member.tenant,
        &fields,
        |id| {
            access_code
                .as_deref()
                .map(|code| app.cipher.seal(code, &access_code_context(&tenant, id)))
        },
        &now,
    )
    .await
    .map_err(name_taken)?;
    let change = Change {
        action: "printer.created",
        table: "printers",
        record: &printer.id,
        new: Some(
            json!({ "name": printer.name, "model": printer.model, "serial_number": printer.serial_number }),
        ),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %member.tenant, printer_id = %printer.id, "printer added");
    changed(&app, &member.tenant, Some(&printer), "created");
    app.farm
        .tell_hub(&printer, proto::hub::ConfigureAction::Add);
    Ok(Envelope::created(view(&app, &printer, false)))
}

/// PUT /api/v1/printers/{printer_id} — changes a printer's settings (admins); the answer
/// masks the access code like every read but one, and tells whether new connection settings took.
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<PrinterBody>,
) -> ApiResult<Printer> {
    let printer = find(&app, &member.tenant, &key).await?;
    let (fields, access_code) = body.parse(false)?;
    check_hub(&app, &member.tenant, fields.hub_id.as_deref()).await?;
    let sealed = access_code.map(|code| {
        app.cipher
            .seal(&code, &access_code_context(&member.tenant, &printer.id))
    });
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let updated = store::printers::update(
        &mut tx,
        &member.tenant,
        &printer.printer_id(),
        &fields,
        sealed,
        &now,
    )
    .await
    .map_err(name_taken)?;
    let change = Change {
        action: "printer.updated",
        table: "printers",
        record: &printer.id,
        old: Some(
            json!({ "name": printer.name, "model": printer.model, "hub_id": printer.hub_id }),
        ),
        new: Some(
            json!({ "name": updated.name, "model": updated.model, "hub_id": updated.hub_id }),
        ),
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    changed(&app, &member.tenant, Some(&updated), "updated");
    let hub_moved = printer.hub_id != updated.hub_id;
    if hub_moved {
        app.farm
            .tell_hub(&printer, proto::hub::ConfigureAction::Remove);
    }
    let reconnects = hub_moved
        || printer.ip_address != updated.ip_address
        || printer.serial_number != updated.serial_number
        || printer.connection_type != updated.connection_type
        || printer.access_code != updated.access_code;
    let action = if hub_moved {
        proto::hub::ConfigureAction::Add
    } else {
        proto::hub::ConfigureAction::Update
    };
    let answer = Envelope::ok(view(&app, &updated, false));
    if !reconnects {
        app.farm.tell_hub(&updated, action);
        return Ok(answer);
    }
    // New connection settings: the hub tries them now, and the answer says how it went
    // (`auto_connect`, where the original's client reads it).
    let auto_connect = match app.farm.configure_printer(&updated, action).await {
        Ok(()) => json!({ "attempted": true, "success": true }),
        Err(err) => {
            json!({ "attempted": updated.hub_id.is_some(), "success": false, "error": err.to_string() })
        }
    };
    Ok(answer.beside(json!({ "auto_connect": auto_connect })))
}

/// DELETE /api/v1/printers/{printer_id} — removes a printer (admins), never while it holds a job.
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Value> {
    let printer = find(&app, &member.tenant, &key).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    if let Some(status) =
        store::printers::active_job(&mut tx, &member.tenant, &printer.printer_id()).await?
    {
        return Err(ApiError::Conflict {
            code: "PRINTER_BUSY",
            field: None,
            message: format!("the printer holds a {status} job; finish or cancel it first"),
        });
    }
    store::printers::delete(&mut tx, &member.tenant, &printer.printer_id()).await?;
    let change = Change {
        action: "printer.deleted",
        table: "printers",
        record: &printer.id,
        old: Some(
            json!({ "name": printer.name, "model": printer.model, "serial_number": printer.serial_number }),
        ),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %member.tenant, printer_id = %printer.id, "printer removed");
    changed(&app, &member.tenant, Some(&printer), "deleted");
    app.farm
        .tell_hub(&printer, proto::hub::ConfigureAction::Remove);
    Ok(Envelope::ok(json!({ "id": printer.id, "deleted": true })))
}

/// Body of a status change.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusBody {
    status: String,
}

/// PUT /api/v1/printers/{printer_id}/status — sets the status by hand (operators).
pub async fn set_status(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<StatusBody>,
) -> ApiResult<Printer> {
    let printer = find(&app, &member.tenant, &key).await?;
    let status = parse_name::<PrinterStatus>("status", &body.status)?;
    let mut conn = app.store.conn().await?;
    let updated = store::printers::set_status(
        &mut conn,
        &member.tenant,
        &printer.printer_id(),
        status,
        &store::now_text(),
    )
    .await?;
    changed(&app, &member.tenant, Some(&updated), "status");
    Ok(Envelope::ok(view(&app, &updated, false)))
}

/// Body of a maintenance change.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct MaintenanceBody {
    in_maintenance: bool,
    maintenance_type: Option<String>,
}

impl Default for MaintenanceBody {
    fn default() -> Self {
        MaintenanceBody {
            in_maintenance: true,
            maintenance_type: None,
        }
    }
}

async fn maintenance(
    app: &App,
    tenant: &TenantId,
    key: &str,
    on: bool,
    kind: Option<String>,
) -> ApiResult<Printer> {
    let printer = find(app, tenant, key).await?;
    if kind.as_deref().is_some_and(|k| k.chars().count() > 50) {
        return Err(ApiError::field(
            "maintenance_type",
            "maintenance_type must be at most 50 characters",
        ));
    }
    // Out of maintenance means done: recorded (the next falls due from the print time now)
    // and its maintenance tasks completed, by the farm's one rule for it.
    if !on {
        let updated = app.farm.maintenance_done(tenant, &printer, None).await?;
        return Ok(Envelope::ok(view(app, &updated, false)));
    }
    let mut conn = app.store.conn().await?;
    let updated = store::printers::set_maintenance(
        &mut conn,
        tenant,
        &printer.printer_id(),
        on,
        kind.as_deref(),
        &store::now_text(),
    )
    .await?;
    changed(app, tenant, Some(&updated), "maintenance");
    Ok(Envelope::ok(view(app, &updated, false)))
}

/// PUT /api/v1/printers/{printer_id}/maintenance — takes a printer into maintenance or out of it (operators).
pub async fn set_maintenance(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(key): ApiPath<String>,
    OptionalJson(body): OptionalJson<MaintenanceBody>,
) -> ApiResult<Printer> {
    maintenance(
        &app,
        &member.tenant,
        &key,
        body.in_maintenance,
        body.maintenance_type,
    )
    .await
}

/// POST /api/v1/printers/{printer_id}/maintenance/complete — maintenance is done (operators).
pub async fn complete_maintenance(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Printer> {
    maintenance(&app, &member.tenant, &key, false, None).await
}

/// Body of a bed-cleared confirmation.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct ClearedBody {
    cleared: bool,
}

impl Default for ClearedBody {
    fn default() -> Self {
        ClearedBody { cleared: true }
    }
}

/// PUT /api/v1/printers/{printer_id}/cleared — an operator confirms the bed is empty (or not).
pub async fn set_cleared(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(key): ApiPath<String>,
    OptionalJson(body): OptionalJson<ClearedBody>,
) -> ApiResult<Printer> {
    let printer = find(&app, &member.tenant, &key).await?;
    // Clearing completes the printer's collection tasks and wakes the dispatcher.
    let updated = app
        .farm
        .set_bed_cleared(&member.tenant, &printer, body.cleared)
        .await?;
    Ok(Envelope::ok(view(&app, &updated, false)))
}

/// Body of a display-order change: ids in the new order, or explicit positions.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OrderBody {
    printer_ids: Option<Vec<String>>,
    /// Explicit positions; `orders` is the name the original's client sends.
    #[serde(alias = "orders")]
    printers: Option<Vec<OrderEntry>>,
}

/// One printer's position.
#[derive(Debug, Deserialize)]
pub struct OrderEntry {
    id: String,
    sort_order: i64,
}

/// PUT /api/v1/printers/order — sets the display order of the farm's printers (operators).
pub async fn set_order(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiJson(body): ApiJson<OrderBody>,
) -> ApiResult<Value> {
    let entries: Vec<(String, i64)> = match (body.printer_ids, body.printers) {
        (Some(ids), _) => ids.into_iter().zip(0..).collect(),
        (None, Some(entries)) => entries.into_iter().map(|e| (e.id, e.sort_order)).collect(),
        (None, None) => {
            return Err(ApiError::field(
                "printer_ids",
                "give printer_ids in their new order",
            ));
        }
    };
    let mut order = Vec::with_capacity(entries.len());
    for (id, position) in entries {
        let id = PrinterId::parse(&id)
            .ok_or_else(|| ApiError::field("printer_ids", format!("'{id}' is not a printer id")))?;
        order.push((id, position));
    }
    let mut tx = app.store.begin().await?;
    store::printers::set_order(&mut tx, &member.tenant, &order, &store::now_text())
        .await
        .or_not_found("PRINTER_NOT_FOUND", "printer")?;
    tx.commit().await?;
    changed(&app, &member.tenant, None, "order");
    Ok(Envelope::ok(json!({ "updated": order.len() })))
}

/// Tells the farm's dashboards that a printer's record changed (`printer_updated`): what
/// the hub's reports do not carry (bed cleared, maintenance, name, order …), so every open
/// browser shows it without a reload. Additive: older clients ignore unknown types.
fn changed(app: &App, tenant: &TenantId, printer: Option<&Printer>, change: &'static str) {
    app.realtime.publish(
        tenant,
        proto::dashboard::ServerMessage::PrinterUpdated {
            printer_id: printer.map(crate::realtime::printer_number),
            printer_uuid: printer.map(|p| p.id.clone()),
            change: change.to_string(),
        },
    );
}

/// POST /api/v1/printers/{printer_id}/connect — asks the hub to manage the printer (operators).
pub async fn connect(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Value> {
    let printer = find(&app, &member.tenant, &key).await?;
    app.farm
        .configure_printer(&printer, proto::hub::ConfigureAction::Add)
        .await?;
    Ok(Envelope::ok(json!({ "id": printer.id, "sent": "connect" })))
}

/// POST /api/v1/printers/{printer_id}/disconnect — asks the hub to let go of the printer (operators).
pub async fn disconnect(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Value> {
    let printer = find(&app, &member.tenant, &key).await?;
    app.farm
        .configure_printer(&printer, proto::hub::ConfigureAction::Remove)
        .await?;
    Ok(Envelope::ok(
        json!({ "id": printer.id, "sent": "disconnect" }),
    ))
}

/// Body of a control command.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ControlBody {
    action: String,
}

/// POST /api/v1/printers/{printer_id}/control — pause, resume or stop the print (operators).
pub async fn control(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<ControlBody>,
) -> ApiResult<Value> {
    let action = match body.action.trim().to_ascii_lowercase().as_str() {
        "pause" => PrinterAction::Pause,
        "resume" => PrinterAction::Resume,
        "stop" | "cancel" => PrinterAction::Stop,
        "clear_bed" => PrinterAction::ClearBed,
        _ => {
            return Err(ApiError::field(
                "action",
                "action must be pause, resume, stop or clear_bed",
            ));
        }
    };
    let printer = find(&app, &member.tenant, &key).await?;
    app.farm.act_on_printer(&printer, action).await?;
    Ok(Envelope::ok(json!({ "id": printer.id, "sent": action })))
}

/// POST /api/printers/{printer_id}/print/{pause|resume} — the Pi-era paths the original's
/// client still calls for its pause and resume buttons (operators).
pub async fn print_command(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath((key, command)): ApiPath<(String, String)>,
) -> ApiResult<Value> {
    let action = match command.as_str() {
        "pause" => PrinterAction::Pause,
        "resume" => PrinterAction::Resume,
        _ => return Err(not_found()),
    };
    let printer = find(&app, &member.tenant, &key).await?;
    app.farm.act_on_printer(&printer, action).await?;
    Ok(Envelope::ok(json!({ "id": printer.id, "sent": action })))
}

/// Body of a light command: `{"on": true}` or `{"state": "on"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LightBody {
    on: Option<bool>,
    state: Option<String>,
}

/// POST /api/v1/printers/{printer_id}/light — chamber light on or off (operators).
pub async fn light(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<LightBody>,
) -> ApiResult<Value> {
    let on = match (
        body.on,
        body.state
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
    ) {
        (Some(on), _) => on,
        (None, Some("on")) => true,
        (None, Some("off")) => false,
        _ => {
            return Err(ApiError::field(
                "on",
                "say {\"on\": true} or {\"on\": false}",
            ));
        }
    };
    let printer = find(&app, &member.tenant, &key).await?;
    let action = if on {
        PrinterAction::LightOn
    } else {
        PrinterAction::LightOff
    };
    app.farm.act_on_printer(&printer, action).await?;
    Ok(Envelope::ok(json!({ "id": printer.id, "sent": action })))
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::{PAGING, Param, SORT_ORDER};
    use axum::http::Method as M;
    use domain::Role;
    use serde_json::json;
    crate::api::Routes::new()
        .add(M::GET, "/api/v1/printers", Member(Role::Viewer), "The farm's printers (filters: status, hub_id, model, is_active, in_maintenance, search; sortBy, sortOrder, page, limit)", list)
        .query(PAGING)
        .query(&[("status", Param::Text), ("hub_id", Param::Text), ("model", Param::Text), ("is_active", Param::Flag), ("in_maintenance", Param::Flag), ("search", Param::Text), ("sortBy", Param::OneOf(store::printers::SORTABLE)), SORT_ORDER])
        .add(M::POST, "/api/v1/printers", Member(Role::Admin), "Add a printer", create)
        .example(json!({"name": "P1S-01", "model": "P1S", "serial_number": "01P00A123456789", "access_code": "12345678", "ip_address": "192.0.2.10", "nozzle_size": 0.4}))
        .add(M::PUT, "/api/v1/printers/order", Member(Role::Operator), "Set the printers' display order", set_order)
        .example(json!({"printer_ids": []}))
        .add(M::GET, "/api/v1/printers/{printer_id}", Member(Role::Viewer), "One printer (by id or the farm's number)", get_one)
        .add(M::PUT, "/api/v1/printers/{printer_id}", Member(Role::Admin), "Change a printer", update)
        .example(json!({"location": "Rack A, shelf 2"}))
        .add(M::DELETE, "/api/v1/printers/{printer_id}", Member(Role::Admin), "Remove a printer (not while it holds a job)", delete)
        .add(M::PUT, "/api/v1/printers/{printer_id}/status", Member(Role::Operator), "Set a printer's status", set_status)
        .example(json!({"status": "idle"}))
        .add(M::PUT, "/api/v1/printers/{printer_id}/maintenance", Member(Role::Operator), "Take a printer into or out of maintenance", set_maintenance)
        .optional_example(json!({"in_maintenance": true, "maintenance_type": "nozzle change"}))
        .add(M::POST, "/api/v1/printers/{printer_id}/maintenance/complete", Member(Role::Operator), "Maintenance is done", complete_maintenance)
        .add(M::PUT, "/api/v1/printers/{printer_id}/cleared", Member(Role::Operator), "Confirm the bed is cleared", set_cleared)
        .optional_example(json!({"cleared": true}))
        .add(M::POST, "/api/v1/printers/{printer_id}/connect", Member(Role::Operator), "Ask the hub to manage the printer", connect)
        .add(M::POST, "/api/v1/printers/{printer_id}/disconnect", Member(Role::Operator), "Ask the hub to let go of the printer", disconnect)
        .add(M::POST, "/api/v1/printers/{printer_id}/control", Member(Role::Operator), "Pause, resume or stop the print", control)
        .example(json!({"action": "pause"}))
        .add(M::POST, "/api/v1/printers/{printer_id}/light", Member(Role::Operator), "Chamber light on or off", light)
        .example(json!({"on": true}))
        .add(M::POST, "/api/printers/{printer_id}/print/{command}", Member(Role::Operator), "Pause or resume the print (command: pause, resume; the original's Pi-era path)", print_command)
}
