//! The materials page: filament spools with the grams left and a bar of how full each is
//! (left of its spool's weight), then packaging, components and printer parts in units.
//! Operators add a spool or an item and set what is left, with plain forms to this page
//! that call the API's own rules (`materials::add_material`, `materials::change_material`).

use super::accounts::{Field, FormErrors};
use super::catalogue::actor;
use super::forms::{at_least, field, given, hinted, mark, number, optional};
use super::{FarmPage, PageError, Section, html, see_other};
use crate::app::App;
use crate::error::ApiError;
use crate::extract::ClientInfo;
use crate::materials::MaterialBody;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use domain::materials::MaterialKind;
use domain::{Invalid, Role};
use serde::Deserialize;
use store::materials::{Material, MaterialQuery};

/// The most materials of one kind the page lists.
const MOST: i64 = 500;

/// The kinds counted in units, as the page names them: (path word, kind, heading).
const UNIT_KINDS: [(&str, MaterialKind, &str); 3] = [
    ("packaging", MaterialKind::Packaging, "Packaging"),
    (
        "components",
        MaterialKind::Component,
        "Accessories and components",
    ),
    ("parts", MaterialKind::Part, "Printer parts"),
];

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/materials", get(page))
        .route("/materials/filament", post(add_spool))
        .route("/materials/items", post(add_item))
        .route("/materials/{kind}/{material_id}", post(set_left))
}

/// The kind a path word names.
fn kind_of(word: &str) -> Option<MaterialKind> {
    match word {
        "filament" => Some(MaterialKind::Filament),
        other => UNIT_KINDS
            .iter()
            .find(|(w, _, _)| *w == other)
            .map(|(_, k, _)| *k),
    }
}

/// The path word of a kind.
fn word_of(kind: MaterialKind) -> &'static str {
    match kind {
        MaterialKind::Filament => "filament",
        other => UNIT_KINDS
            .iter()
            .find(|(_, k, _)| *k == other)
            .map_or("components", |(w, _, _)| *w),
    }
}

/// A material as its row shows it.
pub struct MaterialView {
    /// Its id.
    pub id: String,
    /// The path word of its kind.
    pub kind: &'static str,
    /// What it is called.
    pub label: String,
    /// Its type (PLA, box …).
    pub material_type: String,
    /// Its brand.
    pub brand: Option<String>,
    /// Its colour as `#RRGGBB`.
    pub hex: Option<String>,
    /// What is left, in words ("640 g", "12 units").
    pub left_words: String,
    /// What is left, for the bar and the form.
    pub left: String,
    /// A full spool's grams, for the bar (filament only).
    pub full: Option<String>,
    /// How full, in percent.
    pub percent: Option<i64>,
    /// The low threshold, for the bar.
    pub threshold: String,
    /// Whether it is at or below its threshold.
    pub low: bool,
    /// Its status in words.
    pub status: String,
}

/// A number without a needless ".0".
fn figure(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{}", value as i64)
    } else {
        format!("{value:.1}")
    }
}

impl MaterialView {
    fn new(material: &Material) -> MaterialView {
        let kind = material.kind();
        let unit = kind.unit();
        let full = material.spool_weight_grams.filter(|w| *w > 0.0);
        MaterialView {
            id: material.id.clone(),
            kind: word_of(kind),
            label: material.label(),
            material_type: material.material_type.clone(),
            brand: material.brand.clone(),
            hex: material.hex_code.clone(),
            left_words: format!("{} {unit}", figure(material.remaining)),
            left: figure(material.remaining),
            full: full.map(figure),
            percent: full
                .map(|w| (material.remaining / w * 100.0).clamp(0.0, 100.0).round() as i64),
            threshold: figure(material.low_threshold),
            low: material.is_low(),
            status: material.status.replace('_', " "),
        }
    }
}

/// One kind's list.
pub struct KindList {
    /// The path word of the kind.
    pub word: &'static str,
    /// Its heading.
    pub heading: &'static str,
    /// Its materials.
    pub rows: Vec<MaterialView>,
    /// How many the farm has.
    pub total: i64,
}

/// The materials page.
#[derive(Template)]
#[template(path = "materials.html", whitespace = "minimize")]
struct MaterialsPage {
    layout: super::Layout,
    operator: bool,
    filament: KindList,
    others: Vec<KindList>,
    spool_fields: Vec<Field>,
    item_fields: Vec<Field>,
    /// The kind the add-item form has chosen.
    item_kind: String,
    errors: FormErrors,
}

/// The add-spool form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SpoolForm {
    filament_type: String,
    color: String,
    hex_code: String,
    brand: String,
    remaining_grams: String,
    spool_weight_grams: String,
    low_threshold: String,
}

fn spool_fields(form: &SpoolForm) -> Vec<Field> {
    vec![
        hinted(
            field("filament_type", "Filament", "text", &form.filament_type),
            "PLA, PETG, ABS …",
        ),
        optional(field("color", "Colour name", "text", &form.color)),
        optional(hinted(
            field("hex_code", "Colour code", "text", &form.hex_code),
            "Like #F7D959. A colour name or a code is needed.",
        )),
        optional(field("brand", "Brand", "text", &form.brand)),
        field(
            "remaining_grams",
            "Grams left",
            "number",
            &form.remaining_grams,
        ),
        optional(hinted(
            field(
                "spool_weight_grams",
                "Grams on a full spool",
                "number",
                &form.spool_weight_grams,
            ),
            "The bar shows what is left of it.",
        )),
        optional(field(
            "low_threshold",
            "Low at or below (grams)",
            "number",
            &form.low_threshold,
        )),
    ]
}

/// The add-item form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ItemForm {
    item_kind: String,
    item_type: String,
    item_name: String,
    remaining_units: String,
    item_low_threshold: String,
}

fn item_fields(form: &ItemForm) -> Vec<Field> {
    let api = |mut f: Field, api_name: &'static str| {
        f.api_name = api_name;
        f
    };
    vec![
        api(
            hinted(
                field("item_type", "Kind of item", "text", &form.item_type),
                "Like “box”, “magnet”, “nozzle”.",
            ),
            "type",
        ),
        api(
            optional(field("item_name", "Name", "text", &form.item_name)),
            "name",
        ),
        field(
            "remaining_units",
            "Units in stock",
            "number",
            &form.remaining_units,
        ),
        api(
            optional(field(
                "item_low_threshold",
                "Low at or below (units)",
                "number",
                &form.item_low_threshold,
            )),
            "low_threshold",
        ),
    ]
}

async fn list_of(
    conn: &mut store::Conn,
    member: &FarmPage,
    kind: MaterialKind,
    word: &'static str,
    heading: &'static str,
) -> Result<KindList, PageError> {
    let (rows, total) = store::materials::list(
        conn,
        kind,
        &member.tenant,
        &MaterialQuery::default(),
        MOST,
        0,
    )
    .await?;
    Ok(KindList {
        word,
        heading,
        rows: rows.iter().map(MaterialView::new).collect(),
        total,
    })
}

/// Draws the materials page with its forms as they were left.
async fn draw(
    app: &App,
    member: &FarmPage,
    spool: &SpoolForm,
    item: &ItemForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let mut conn = app.store.conn().await?;
    let filament = list_of(
        &mut conn,
        member,
        MaterialKind::Filament,
        "filament",
        "Filament",
    )
    .await?;
    let mut others = Vec::new();
    for (word, kind, heading) in UNIT_KINDS {
        others.push(list_of(&mut conn, member, kind, word, heading).await?);
    }
    drop(conn);
    let mut spool_fields = spool_fields(spool);
    mark(&mut spool_fields, &errors);
    let mut item_fields = item_fields(item);
    mark(&mut item_fields, &errors);
    Ok(html(
        status,
        &MaterialsPage {
            layout: member.layout(Section::Materials, "Materials"),
            operator: member.role.at_least(Role::Operator),
            filament,
            others,
            spool_fields,
            item_fields,
            item_kind: if item.item_kind.is_empty() {
                "packaging".into()
            } else {
                item.item_kind.clone()
            },
            errors,
        },
    ))
}

/// GET /materials — filament with a bar per spool, packaging, components and parts.
pub async fn page(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    draw(
        &app,
        &member,
        &SpoolForm::default(),
        &ItemForm::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// POST /materials/filament — an operator adds a spool (the API's rule).
pub async fn add_spool(
    State(app): State<App>,
    member: FarmPage,
    client: ClientInfo,
    Form(form): Form<SpoolForm>,
) -> Result<Response, PageError> {
    at_least(member.role, Role::Operator, "add materials")?;
    let added = async {
        let mut invalid = Invalid::default();
        let remaining = number(&mut invalid, "remaining_grams", &form.remaining_grams);
        let spool = number(&mut invalid, "spool_weight_grams", &form.spool_weight_grams);
        let low = number(&mut invalid, "low_threshold", &form.low_threshold);
        invalid.into_result()?;
        let body = MaterialBody {
            material_type: Some(form.filament_type.clone()),
            color: Some(given(&form.color)),
            hex_code: Some(given(&form.hex_code)),
            brand: Some(given(&form.brand)),
            remaining,
            spool_weight_grams: spool,
            low_threshold: low,
            ..Default::default()
        };
        let fields = body.parse(MaterialKind::Filament, None)?;
        crate::materials::add_material(
            &app,
            &actor(&member, client),
            MaterialKind::Filament,
            &fields,
        )
        .await
    }
    .await;
    match added {
        Ok(spool) => Ok(see_other(&format!("/materials#filament-{}", spool.id))),
        Err(err) => {
            let mut errors_on = spool_fields(&form);
            // The API names the grams `remaining_grams` and the filament `type`.
            if let Some(f) = errors_on.iter_mut().find(|f| f.name == "filament_type") {
                f.api_name = "type";
            }
            let errors = FormErrors::from_api(&err, &errors_on);
            draw(
                &app,
                &member,
                &form,
                &ItemForm::default(),
                errors,
                err.status(),
            )
            .await
        }
    }
}

/// POST /materials/items — an operator adds packaging, a component or a part.
pub async fn add_item(
    State(app): State<App>,
    member: FarmPage,
    client: ClientInfo,
    Form(form): Form<ItemForm>,
) -> Result<Response, PageError> {
    at_least(member.role, Role::Operator, "add materials")?;
    let kind = kind_of(&form.item_kind)
        .filter(|k| !k.in_grams())
        .unwrap_or(MaterialKind::Packaging);
    let added = async {
        let mut invalid = Invalid::default();
        let remaining = number(&mut invalid, "remaining_units", &form.remaining_units);
        let low = number(&mut invalid, "low_threshold", &form.item_low_threshold);
        invalid.into_result()?;
        let body = MaterialBody {
            material_type: Some(form.item_type.clone()),
            name: Some(given(&form.item_name)),
            remaining,
            low_threshold: low,
            ..Default::default()
        };
        let fields = body.parse(kind, None)?;
        crate::materials::add_material(&app, &actor(&member, client), kind, &fields).await
    }
    .await;
    match added {
        Ok(item) => Ok(see_other(&format!(
            "/materials#{}-{}",
            word_of(kind),
            item.id
        ))),
        Err(err) => {
            let errors = FormErrors::from_api(&err, &item_fields(&form));
            draw(
                &app,
                &member,
                &SpoolForm::default(),
                &form,
                errors,
                err.status(),
            )
            .await
        }
    }
}

/// The "set what is left" form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LeftForm {
    remaining: String,
}

/// POST /materials/{kind}/{material_id} — an operator sets what is left of a material
/// after counting or weighing it (the API's PATCH rule: audited, alerts when it falls low).
pub async fn set_left(
    State(app): State<App>,
    member: FarmPage,
    client: ClientInfo,
    Path((word, id)): Path<(String, String)>,
    Form(form): Form<LeftForm>,
) -> Result<Response, PageError> {
    at_least(member.role, Role::Operator, "change materials")?;
    let Some(kind) = kind_of(&word) else {
        return Err(PageError::NotFound("The material".into()));
    };
    let changed = async {
        let mut invalid = Invalid::default();
        let field = if kind.in_grams() {
            "remaining_grams"
        } else {
            "remaining_units"
        };
        let remaining = number(&mut invalid, field, &form.remaining);
        if remaining.is_none() && invalid.0.is_empty() {
            return Err(ApiError::field(field, format!("{field} is required")));
        }
        invalid.into_result()?;
        let body = MaterialBody {
            remaining,
            ..Default::default()
        };
        crate::materials::change_material(&app, &actor(&member, client), kind, &id, &body).await
    }
    .await;
    match changed {
        Ok(material) => Ok(see_other(&format!("/materials#{word}-{}", material.id))),
        Err(ApiError::NotFound { .. }) => Err(PageError::NotFound("The material".into())),
        Err(err) => {
            let errors = FormErrors::from_api(&err, &[]);
            draw(
                &app,
                &member,
                &SpoolForm::default(),
                &ItemForm::default(),
                errors,
                err.status(),
            )
            .await
        }
    }
}
