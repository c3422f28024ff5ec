//! The file library: upload with progress, thumbnails, metadata per plate and
//! filament, and versions.
//!
//! Uploads, versions and deletion go through the JSON API (the forms and buttons call it).
//! Thumbnails are served here, behind the page session, because an `<img>` can't send the
//! API's `X-Tenant-ID`; their URLs carry the version (`?v=`), so browsers keep them.

use super::{FarmPage, PageError, Section, duration_words, html};
use crate::app::App;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::printers::HexColour;
use domain::{Role, TenantId};
use serde::Deserialize;
use serde_json::Value;
use store::StoreError;
use store::files::{FileVersion, PrintFile};

/// Files per library page.
const LIBRARY_PAGE: i64 = 50;
/// The largest 3MF a plate thumbnail is read out of (the whole file is read for it).
const MOST_BYTES_FOR_A_PLATE_THUMBNAIL: i64 = 64 * 1024 * 1024;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/files", get(page))
        .route("/files/library", get(library))
        .route("/files/{file_id}", get(file_page))
        .route("/files/{file_id}/detail", get(detail))
        .route("/files/{file_id}/thumbnail", get(thumbnail))
        .route(
            "/files/{file_id}/plates/{plate}/thumbnail",
            get(plate_thumbnail),
        )
}

/// The 3MF project stored with a file (plates, filaments, objects), if it reads.
pub fn project_of(file: &PrintFile) -> Option<threemf::Project> {
    let mut stored: Value = serde_json::from_str(file.metadata_json.as_deref()?).ok()?;
    serde_json::from_value(stored.get_mut("project")?.take()).ok()
}

/// A size in words: "812 bytes", "1.2 MB".
pub fn size_words(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{} bytes", bytes.max(0));
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.1}");
    format!("{} {}", text.trim_end_matches(".0"), UNITS[unit])
}

/// Grams in words: "3.57 g", "12 g".
pub fn grams_words(grams: f64) -> String {
    let text = format!("{grams:.2}");
    format!("{} g", text.trim_end_matches('0').trim_end_matches('.'))
}

/// A Bambu bed type in the words Bambu Studio shows.
pub fn bed_words(bed: &str) -> String {
    match bed {
        "cool_plate" => "Cool Plate".into(),
        "eng_plate" => "Engineering Plate".into(),
        "hot_plate" => "High Temp Plate".into(),
        "textured_plate" => "Textured PEI Plate".into(),
        "supertack_plate" => "Cool Plate SuperTack".into(),
        other => other.replace('_', " "),
    }
}

/// A colour swatch with its words (the colour is never the only sign).
pub struct Swatch {
    /// `#RRGGBB`, or empty when unknown (drawn dashed).
    pub colour: String,
    /// "PLA #F7D959".
    pub label: String,
}

fn swatch(filament: &threemf::Filament) -> Swatch {
    let colour = filament
        .colour
        .as_deref()
        .and_then(|c| HexColour::parse("colour", c).ok())
        .map(|c| c.as_str().to_string())
        .unwrap_or_default();
    let kind = filament.filament_type.as_deref().unwrap_or("Filament");
    Swatch {
        label: if colour.is_empty() {
            kind.to_string()
        } else {
            format!("{kind} {colour}")
        },
        colour,
    }
}

/// The tag that changes with a file's contents, for cacheable thumbnail URLs.
fn version_tag(file: &PrintFile) -> String {
    tag_of(file.content_sha256.as_deref(), &file.updated_at)
}

/// The version tag of a file from its digest (or, without one, when it last changed).
pub(super) fn tag_of(content_sha256: Option<&str>, updated_at: &str) -> String {
    content_sha256
        .unwrap_or(updated_at)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect()
}

/// A file in the library.
pub struct FileRow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The thumbnail's URL, when it has one.
    pub thumb: Option<String>,
    /// The printer model it was sliced for, in words.
    pub model: Option<String>,
    /// Whether it has G-code (only sliced files print).
    pub sliced: bool,
    /// Print time of its first plate, in words.
    pub time: Option<String>,
    /// Filament weight of its first plate, in words.
    pub weight: Option<String>,
    /// The filaments its plates use.
    pub filaments: Vec<Swatch>,
    /// How many plates.
    pub plates: usize,
    /// The current version's number.
    pub version: Option<i64>,
    /// Its size in words.
    pub size: String,
    /// When it was uploaded: (machine form, words).
    pub uploaded: Option<(String, String)>,
}

impl FileRow {
    /// The library row of `file`, with its versions.
    pub fn new(file: &PrintFile, versions: &[FileVersion]) -> FileRow {
        let project = project_of(file);
        let mut filaments: Vec<Swatch> = Vec::new();
        for filament in project
            .iter()
            .flat_map(|p| &p.plates)
            .flat_map(|p| &p.filaments)
        {
            let s = swatch(filament);
            if !filaments.iter().any(|f| f.label == s.label) {
                filaments.push(s);
            }
        }
        FileRow {
            id: file.id.clone(),
            name: file.name.clone(),
            thumb: file
                .thumbnail_r2_key
                .as_ref()
                .map(|_| format!("/files/{}/thumbnail?v={}", file.id, version_tag(file))),
            model: file
                .printer_model_id
                .as_deref()
                .map(domain::dispatch::model_name),
            sliced: file.is_sliced == 1,
            time: file.print_time_seconds.map(duration_words),
            weight: file.filament_weight_grams.map(grams_words),
            filaments,
            plates: project.as_ref().map_or(0, |p| p.plates.len()),
            version: versions
                .iter()
                .find(|v| v.is_current_version == 1)
                .map(|v| v.version_number),
            size: size_words(file.file_size_bytes.unwrap_or(0)),
            uploaded: super::jobs::when(Some(&file.created_at)),
        }
    }
}

/// A page of the library.
pub struct Library {
    /// The files of the page, newest first.
    pub rows: Vec<FileRow>,
    /// How many files the farm has.
    pub total: i64,
    /// The page shown (1-based).
    pub page: i64,
    /// How many pages there are.
    pub pages: i64,
}

/// Reads a page of the farm's files.
async fn load_library(app: &App, tenant: &TenantId, page: i64) -> Result<Library, PageError> {
    let mut conn = app.store.conn().await?;
    let (files, total) = store::files::list(
        &mut conn,
        tenant,
        None,
        None,
        LIBRARY_PAGE,
        (page - 1) * LIBRARY_PAGE,
    )
    .await?;
    let mut rows = Vec::with_capacity(files.len());
    for file in &files {
        let versions = store::files::versions(&mut conn, tenant, &file.id).await?;
        rows.push(FileRow::new(file, &versions));
    }
    Ok(Library {
        rows,
        total,
        page,
        pages: ((total + LIBRARY_PAGE - 1) / LIBRARY_PAGE).max(1),
    })
}

/// The files page.
#[derive(Template)]
#[template(path = "files.html", whitespace = "minimize")]
struct FilesPage {
    layout: super::Layout,
    operator: bool,
    most_bytes: String,
    /// The same in bytes, for the browser to check before sending.
    max_bytes: u64,
    library: Library,
}

/// GET /files — the library, and (for operators) the upload form.
pub async fn page(
    State(app): State<App>,
    member: FarmPage,
    Query(q): Query<super::jobs::PageQuery>,
) -> Result<Response, PageError> {
    let library = load_library(&app, &member.tenant, q.number()).await?;
    let layout = member.layout(Section::Files, "Files");
    Ok(html(
        StatusCode::OK,
        &FilesPage {
            operator: layout.operator(),
            layout,
            most_bytes: size_words(
                i64::try_from(app.settings.max_upload_bytes).unwrap_or(i64::MAX),
            ),
            max_bytes: app.settings.max_upload_bytes,
            library,
        },
    ))
}

/// The library's table without the page around it.
#[derive(Template)]
#[template(path = "files_library.html", whitespace = "minimize")]
struct LibraryFragment {
    library: Library,
}

/// GET /files/library — a page of the library alone, for the script to swap in.
pub async fn library(
    State(app): State<App>,
    member: FarmPage,
    Query(q): Query<super::jobs::PageQuery>,
) -> Result<Response, PageError> {
    let library = load_library(&app, &member.tenant, q.number()).await?;
    Ok(html(StatusCode::OK, &LibraryFragment { library }))
}

/// A filament of a plate.
pub struct FilamentView {
    /// The swatch.
    pub swatch: Swatch,
    /// Its AMS mapping number in the project.
    pub slot: u32,
    /// Grams used, in words.
    pub grams: Option<String>,
    /// Metres used.
    pub metres: Option<String>,
}

/// One plate of a file.
pub struct PlateView {
    /// 1-based plate number.
    pub index: u32,
    /// Its thumbnail's URL, if the file has one for it.
    pub thumb: Option<String>,
    /// Whether it has G-code (it can be queued).
    pub sliced: bool,
    /// Print time in words.
    pub time: Option<String>,
    /// Filament weight in words.
    pub weight: Option<String>,
    /// The filaments it uses.
    pub filaments: Vec<FilamentView>,
    /// "0.4 mm".
    pub nozzle: Option<String>,
    /// The bed type in words.
    pub bed: Option<String>,
    /// The model it was sliced for.
    pub model: Option<String>,
    /// Layers.
    pub layers: Option<u32>,
    /// Object names, "Cube × 2".
    pub objects: Vec<String>,
}

/// Object names with their counts, in first-seen order: "Cube × 2".
fn counted(names: &[String]) -> Vec<String> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for name in names {
        match counts.iter_mut().find(|(n, _)| n == name) {
            Some((_, c)) => *c += 1,
            None => counts.push((name, 1)),
        }
    }
    counts
        .into_iter()
        .map(|(name, n)| {
            if n > 1 {
                format!("{name} × {n}")
            } else {
                name.to_string()
            }
        })
        .collect()
}

/// The plates of `file` as its page shows them.
pub fn plates_of(file: &PrintFile, project: &threemf::Project) -> Vec<PlateView> {
    let tag = version_tag(file);
    let stored = stored_thumbnail_plate(file, project);
    let readable = file.file_size_bytes.unwrap_or(i64::MAX) <= MOST_BYTES_FOR_A_PLATE_THUMBNAIL;
    project
        .plates
        .iter()
        .map(|plate| {
            let has_thumb = plate.thumbnail_path.is_some()
                && (stored == Some(plate.index) || (readable && file.r2_key.is_some()));
            PlateView {
                index: plate.index,
                thumb: has_thumb.then(|| {
                    format!(
                        "/files/{}/plates/{}/thumbnail?v={tag}",
                        file.id, plate.index
                    )
                }),
                sliced: project.sliced && plate.gcode_path.is_some(),
                time: plate
                    .prediction_seconds
                    .or(plate.estimated_seconds)
                    .map(|s| duration_words(i64::try_from(s).unwrap_or(i64::MAX))),
                weight: plate.weight_grams.map(grams_words),
                filaments: plate
                    .filaments
                    .iter()
                    .map(|f| FilamentView {
                        swatch: swatch(f),
                        slot: f.slot,
                        grams: f.used_grams.map(grams_words),
                        metres: f.used_metres.map(|m| format!("{m:.2} m")),
                    })
                    .collect(),
                nozzle: plate
                    .nozzle_diameter
                    .or(project.nozzle_diameter)
                    .map(|n| format!("{n} mm")),
                bed: plate
                    .bed_type
                    .as_deref()
                    .or(project.bed_type.as_deref())
                    .map(bed_words),
                model: plate
                    .printer_model_id
                    .as_deref()
                    .or(project.printer_model_id.as_deref())
                    .map(domain::dispatch::model_name),
                layers: plate.layer_count,
                objects: counted(&plate.object_names),
            }
        })
        .collect()
}

/// The plate whose picture the upload stored (the first plate with one).
fn stored_thumbnail_plate(file: &PrintFile, project: &threemf::Project) -> Option<u32> {
    file.thumbnail_r2_key.as_ref()?;
    project
        .plates
        .iter()
        .find(|p| p.thumbnail_path.is_some())
        .map(|p| p.index)
}

/// A version in the file's list.
pub struct VersionView {
    /// Its number (1 to 3).
    pub number: i64,
    /// Whether it is the one printed.
    pub current: bool,
    /// Its size in words.
    pub size: String,
    /// When it was uploaded: (machine form, words).
    pub uploaded: Option<(String, String)>,
    /// What the uploader noted.
    pub notes: Option<String>,
    /// The start of its SHA-256, to tell versions apart.
    pub sha: String,
}

/// What a file's page shows (its live part).
pub struct FileDetail {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The library's summary of it.
    pub row: FileRow,
    /// Its plates.
    pub plates: Vec<PlateView>,
    /// Its versions, oldest first.
    pub versions: Vec<VersionView>,
    /// Whether the member may run prints and change versions.
    pub operator: bool,
}

impl FileDetail {
    /// Whether another version may be uploaded (a file keeps at most 3).
    pub fn room_for_a_version(&self) -> bool {
        (self.versions.len() as i64) < store::files::MAX_VERSIONS
    }

    /// The API path of the file.
    pub fn api(&self) -> String {
        format!("/api/v1/files/{}", self.id)
    }
}

/// Reads a file of the farm; another farm's file is not found.
async fn find(app: &App, tenant: &TenantId, id: &str) -> Result<PrintFile, PageError> {
    let mut conn = app.store.conn().await?;
    match store::files::get(&mut conn, tenant, id).await {
        Ok(file) => Ok(file),
        Err(StoreError::NotFound) => Err(PageError::NotFound("The file".into())),
        Err(other) => Err(other.into()),
    }
}

async fn load_detail(app: &App, member: &FarmPage, id: &str) -> Result<FileDetail, PageError> {
    let file = find(app, &member.tenant, id).await?;
    let versions = {
        let mut conn = app.store.conn().await?;
        store::files::versions(&mut conn, &member.tenant, &file.id).await?
    };
    let plates = project_of(&file)
        .map(|p| plates_of(&file, &p))
        .unwrap_or_default();
    Ok(FileDetail {
        id: file.id.clone(),
        name: file.name.clone(),
        row: FileRow::new(&file, &versions),
        plates,
        versions: versions
            .iter()
            .map(|v| VersionView {
                number: v.version_number,
                current: v.is_current_version == 1,
                size: size_words(v.file_size_bytes.unwrap_or(0)),
                uploaded: super::jobs::when(Some(&v.created_at)),
                notes: v.notes.clone().filter(|n| !n.trim().is_empty()),
                sha: v
                    .content_sha256
                    .as_deref()
                    .unwrap_or("")
                    .chars()
                    .take(12)
                    .collect(),
            })
            .collect(),
        operator: member.role.at_least(Role::Operator),
    })
}

/// A file's page.
#[derive(Template)]
#[template(path = "file.html", whitespace = "minimize")]
struct FilePage {
    layout: super::Layout,
    admin: bool,
    file: FileDetail,
    /// The largest upload accepted, in bytes (checked in the browser before sending).
    max_bytes: u64,
}

/// GET /files/{file_id} — a file's plates with their metadata, its versions, and the
/// forms that queue a plate, upload a version or delete the file.
pub async fn file_page(
    State(app): State<App>,
    member: FarmPage,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let file = load_detail(&app, &member, &id).await?;
    let layout = member.layout(Section::Files, &file.name);
    Ok(html(
        StatusCode::OK,
        &FilePage {
            admin: layout.role.at_least(Role::Admin),
            layout,
            file,
            max_bytes: app.settings.max_upload_bytes,
        },
    ))
}

/// A file's plates and versions without the page around them.
#[derive(Template)]
#[template(path = "file_detail.html", whitespace = "minimize")]
struct DetailFragment {
    file: FileDetail,
}

/// GET /files/{file_id}/detail — the file's plates and versions, for the script to swap in.
pub async fn detail(
    State(app): State<App>,
    member: FarmPage,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let file = load_detail(&app, &member, &id).await?;
    Ok(html(StatusCode::OK, &DetailFragment { file }))
}

/// The version a thumbnail URL names (`?v=`).
#[derive(Debug, Default, Deserialize)]
pub struct VersionQuery {
    v: Option<String>,
}

/// A PNG answer: kept a year when the URL names the current version, else checked each time.
fn png(bytes: impl Into<axum::body::Body>, versioned: bool) -> Response {
    let mut response = (StatusCode::OK, bytes.into()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if versioned {
            "private, max-age=31536000, immutable"
        } else {
            "private, no-cache"
        }),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn no_thumbnail() -> PageError {
    PageError::NotFound("The thumbnail".into())
}

/// Reads a stored object; a missing one is not found.
async fn read_object(app: &App, key: &str) -> Result<bytes::Bytes, PageError> {
    app.files.read(key).await.map_err(|e| match e {
        object_store::Error::NotFound { .. } => no_thumbnail(),
        other => PageError::Api(crate::error::ApiError::internal(other)),
    })
}

/// GET /files/{file_id}/thumbnail — the file's picture (PNG), for `<img>`.
pub async fn thumbnail(
    State(app): State<App>,
    member: FarmPage,
    Path(id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> Result<Response, PageError> {
    let file = find(&app, &member.tenant, &id).await?;
    let key = file.thumbnail_r2_key.clone().ok_or_else(no_thumbnail)?;
    let bytes = read_object(&app, &key).await?;
    Ok(png(bytes, q.v.as_deref() == Some(&version_tag(&file))))
}

/// GET /files/{file_id}/plates/{plate}/thumbnail — a plate's picture (PNG): the stored
/// one, or read out of the 3MF for the other plates of files up to 64 MB.
pub async fn plate_thumbnail(
    State(app): State<App>,
    member: FarmPage,
    Path((id, plate)): Path<(String, String)>,
    Query(q): Query<VersionQuery>,
) -> Result<Response, PageError> {
    let plate: u32 = plate.parse().map_err(|_| no_thumbnail())?;
    let file = find(&app, &member.tenant, &id).await?;
    let project = project_of(&file).ok_or_else(no_thumbnail)?;
    let versioned = q.v.as_deref() == Some(&version_tag(&file));
    if stored_thumbnail_plate(&file, &project) == Some(plate)
        && let Some(key) = &file.thumbnail_r2_key
    {
        return Ok(png(read_object(&app, key).await?, versioned));
    }
    let wanted = project
        .plate(plate)
        .is_some_and(|p| p.thumbnail_path.is_some());
    let small = file.file_size_bytes.unwrap_or(i64::MAX) <= MOST_BYTES_FOR_A_PLATE_THUMBNAIL;
    let key = file.r2_key.clone().filter(|_| wanted && small);
    let key = key.ok_or_else(no_thumbnail)?;
    let archive = read_object(&app, &key).await?;
    let picture = tokio::task::spawn_blocking(move || {
        threemf::thumbnail(
            std::io::Cursor::new(archive),
            plate,
            &threemf::Limits::default(),
        )
    })
    .await
    .map_err(|e| PageError::Api(crate::error::ApiError::internal(e)))?;
    match picture {
        Ok(bytes) => Ok(png(bytes, versioned)),
        Err(err) => {
            tracing::warn!(tenant_id = %member.tenant, file_id = %file.id, plate, error = %err, "a plate thumbnail did not read");
            Err(no_thumbnail())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_weights_and_beds_read_in_words() {
        assert_eq!(size_words(812), "812 bytes");
        assert_eq!(size_words(1536), "1.5 KB");
        assert_eq!(size_words(512 * 1024 * 1024), "512 MB");
        assert_eq!(grams_words(3.57), "3.57 g");
        assert_eq!(grams_words(12.0), "12 g");
        assert_eq!(grams_words(0.5), "0.5 g");
        assert_eq!(bed_words("textured_plate"), "Textured PEI Plate");
        assert_eq!(bed_words("odd_plate"), "odd plate");
    }

    #[test]
    fn objects_on_a_plate_are_counted_by_name() {
        let names = ["Cube", "Gear", "Cube"].map(String::from);
        assert_eq!(counted(&names), vec!["Cube × 2", "Gear"]);
    }

    #[test]
    fn a_filament_swatch_keeps_only_real_colours_and_always_has_words() {
        let filament = |colour: Option<&str>| threemf::Filament {
            slot: 1,
            filament_type: Some("PLA".into()),
            colour: colour.map(String::from),
            used_grams: Some(3.57),
            used_metres: None,
            tray_info_idx: None,
        };
        let s = swatch(&filament(Some("#F7D959")));
        assert_eq!(
            (s.colour.as_str(), s.label.as_str()),
            ("#F7D959", "PLA #F7D959")
        );
        let s = swatch(&filament(Some("url(javascript:x)")));
        assert_eq!((s.colour.as_str(), s.label.as_str()), ("", "PLA"));
    }
}
