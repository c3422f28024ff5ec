//! Print files: upload (multipart, or a signed plain PUT), 3MF metadata and plate
//! thumbnails, signed downloads, versions (at most 3, one current), and deletion that
//! removes the stored objects too.
//!
//! Uploads stream to a temporary file (the 3MF reader needs to seek), then to the file
//! store in parts: memory does not grow with the file's size.

use crate::app::App;
use crate::audit::Change;
use crate::auth::{AuthUser, Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo};
use crate::links::{Grant, LinkError};
use axum::body::Body;
use axum::extract::{Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use domain::TenantId;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path as FsPath, PathBuf};
use store::StoreError;
use store::files::{Contents, FileVersion, PrintFile};
use tokio::io::AsyncWriteExt;

/// How long a download link works (a hub fetching a file to print).
const DOWNLOAD_LINK_LIFETIME: Duration = Duration::hours(1);
/// How long an upload link works.
const UPLOAD_LINK_LIFETIME: Duration = Duration::minutes(15);

/// A file as sent: its parsed metadata as JSON, not as text.
fn view(file: &PrintFile) -> Value {
    let mut value = serde_json::to_value(file).unwrap_or(Value::Null);
    let metadata: Value = file
        .metadata_json
        .as_deref()
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
        .map(|m| m["project"].clone())
        .unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("metadata_json");
        map.insert("metadata".into(), metadata);
        map.insert("is_sliced".into(), Value::Bool(file.is_sliced == 1));
        // The Pi kept a copy on its own disk; here the file store holds the only copy.
        map.insert("local_file_path".into(), Value::Null);
    }
    value
}

/// Where an upload of `name` for file `file_id` is stored: its own object per upload, so
/// versions never share (or delete) each other's bytes.
fn object_key(tenant: &TenantId, file_id: &str, name: &str) -> String {
    let upload_id = &uuid::Uuid::new_v4().simple().to_string()[..12];
    format!("{tenant}/files/{file_id}/{upload_id}/{name}")
}

/// The file an object key of the farm's belongs to (`{tenant}/files/{file_id}/…`).
fn file_of_key<'k>(tenant: &TenantId, key: &'k str) -> Option<&'k str> {
    let rest = key.strip_prefix(tenant.as_str())?.strip_prefix("/files/")?;
    let (file_id, name) = rest.split_once('/')?;
    (!file_id.is_empty() && !name.is_empty()).then_some(file_id)
}

fn not_found() -> ApiError {
    ApiError::not_found("FILE_NOT_FOUND", "print file")
}

/// A file name: the last path segment, 1 to 200 characters, no control characters.
fn clean_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if name.is_empty()
        || name.chars().count() > 200
        || name.chars().any(char::is_control)
        || name == "."
        || name == ".."
    {
        return Err(ApiError::field(
            "name",
            "the file name must be 1 to 200 characters, without slashes",
        ));
    }
    Ok(name.to_string())
}

/// A file being received: on disk in the data directory, removed when dropped.
struct Incoming {
    path: PathBuf,
    size: u64,
    sha256: String,
    /// A received temporary file, removed when done; `false` for a file read in place.
    temporary: bool,
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Streams `chunks` to a temporary file, refusing more than the upload limit.
async fn receive<S, E>(app: &App, mut chunks: S) -> Result<Incoming, ApiError>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let dir = app.settings.data_dir.join("tmp");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(ApiError::internal)?;
    let path = dir.join(format!("upload-{}", uuid::Uuid::new_v4()));
    // tokio's file writes each hop to a blocking thread; the request body arrives in small
    // chunks, so gather them first (a hop per 256 KiB, not per chunk: 3× faster measured).
    let mut file = tokio::io::BufWriter::with_capacity(
        256 * 1024,
        tokio::fs::File::create(&path)
            .await
            .map_err(ApiError::internal)?,
    );
    let mut incoming = Incoming {
        path,
        size: 0,
        sha256: String::new(),
        temporary: true,
    };
    let mut hasher = Sha256::new();
    let limit = app.settings.max_upload_bytes;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest {
            code: "UPLOAD_INTERRUPTED",
            message: format!("the upload did not arrive whole: {e}"),
        })?;
        incoming.size += chunk.len() as u64;
        if incoming.size > limit {
            return Err(ApiError::PayloadTooLarge {
                limit: usize::try_from(limit).unwrap_or(usize::MAX),
            });
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    file.flush().await.map_err(ApiError::internal)?;
    if incoming.size == 0 {
        return Err(ApiError::field("file", "the file is empty"));
    }
    incoming.sha256 = hex::encode(hasher.finalize());
    Ok(incoming)
}

/// Files above this size give their parse's memory back to the system when done.
const TRIM_AFTER_BYTES: u64 = 8 * 1024 * 1024;

/// Reads a received 3MF: its metadata and the first plate thumbnail.
///
/// A large plate's JSON takes a few hundred MB while it is read, so only
/// `parallel_3mf_reads` run at once (10 parallel 60 MB plates peaked at 1.41 GB), and the
/// allocator hands the memory back afterwards instead of keeping it for the next one.
async fn read_3mf(
    app: &App,
    incoming: &Incoming,
) -> Result<(threemf::Project, Option<Vec<u8>>), ApiError> {
    let _turn = app
        .threemf_reads
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let path = incoming.path.clone();
    let large = incoming.size > TRIM_AFTER_BYTES;
    tokio::task::spawn_blocking(move || {
        let read = read_3mf_now(&path);
        if large {
            crate::memory::give_back_freed();
        }
        read
    })
    .await
    .map_err(ApiError::internal)?
}

/// Reads a 3MF on this (blocking) thread.
fn read_3mf_now(path: &FsPath) -> Result<(threemf::Project, Option<Vec<u8>>), ApiError> {
    let limits = threemf::Limits::default();
    let project = threemf::read_path(path, &limits).map_err(|e| ApiError::BadRequest {
        code: "INVALID_3MF",
        message: format!("this is not a 3MF file PrintFarm can read: {e}"),
    })?;
    let thumbnail = project
        .plates
        .iter()
        .find(|p| p.thumbnail_path.is_some())
        .and_then(|plate| {
            let file = std::fs::File::open(path).ok()?;
            threemf::thumbnail(std::io::BufReader::new(file), plate.index, &limits).ok()
        });
    Ok((project, thumbnail))
}

/// The file-row summary of a project: the first plate's figures, as the original kept them.
fn summarise(project: &threemf::Project) -> Value {
    let plate = project.plates.first();
    let filaments = plate.map(|p| p.filaments.as_slice()).unwrap_or_default();
    let length: f64 = filaments.iter().filter_map(|f| f.used_metres).sum();
    json!({
        "is_sliced": project.sliced,
        "print_time_seconds": plate.and_then(|p| p.prediction_seconds.or(p.estimated_seconds)),
        "filament_weight_grams": plate.and_then(|p| p.weight_grams),
        "filament_length_meters": (length > 0.0).then_some(length),
        "filament_type": filaments.iter().find_map(|f| f.filament_type.clone()),
        "printer_model_id": plate.and_then(|p| p.printer_model_id.clone()).or_else(|| project.printer_model_id.clone()),
        "nozzle_diameter": plate.and_then(|p| p.nozzle_diameter).or(project.nozzle_diameter),
        "layer_count": plate.and_then(|p| p.layer_count),
        "curr_bed_type": plate.and_then(|p| p.bed_type.clone()).or_else(|| project.bed_type.clone()),
        "default_print_profile": project.print_profile,
        "object_count": plate.map(|p| p.object_count).filter(|n| *n > 0).unwrap_or(project.objects.len().max(1)),
    })
}

/// Stores a received file under `r2_key` (see [`object_key`]) and its thumbnail beside it;
/// returns what the row records.
async fn store_contents(
    app: &App,
    tenant: &TenantId,
    file_id: &str,
    r2_key: String,
    incoming: &Incoming,
) -> Result<Contents, ApiError> {
    let (project, thumbnail) = read_3mf(app, incoming).await?;
    let upload_id = r2_key.rsplit('/').nth(1).unwrap_or(file_id).to_string();
    app.files
        .put_file(&r2_key, &incoming.path)
        .await
        .map_err(ApiError::internal)?;
    let thumbnail_r2_key = match thumbnail {
        Some(png) => {
            let key = format!("{tenant}/thumbnails/{file_id}-{upload_id}.png");
            if let Err(err) = app.files.put_bytes(&key, png).await {
                remove_objects(app, vec![Some(r2_key)]).await;
                return Err(ApiError::internal(err));
            }
            Some(key)
        }
        None => None,
    };
    Ok(contents_row(&project, incoming, r2_key, thumbnail_r2_key))
}

/// Removes stored objects after a failed or undone write (best effort, logged).
async fn remove_objects(app: &App, keys: Vec<Option<String>>) {
    for key in keys.into_iter().flatten() {
        if let Err(err) = app.files.delete(&key).await {
            tracing::warn!(key, error = %err, "could not remove a stored object");
        }
    }
}

/// The contents of a print file already on disk (an import from the Pi), read in place:
/// its size, hash and 3MF metadata, and with `put` its object and thumbnail stored under
/// keys made from its hash, so that storing the same file again writes the same objects.
/// A file that is not a readable 3MF is `INVALID_3MF`.
pub async fn contents_on_disk(
    app: &App,
    tenant: &TenantId,
    file_id: &str,
    name: &str,
    path: &FsPath,
    put: bool,
) -> Result<Contents, ApiError> {
    let owned = path.to_path_buf();
    let (size, sha256) = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, String)> {
        use std::io::Read;
        let mut file = std::fs::File::open(&owned)?;
        let (mut hasher, mut size, mut buffer) = (Sha256::new(), 0u64, vec![0u8; 256 * 1024]);
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            hasher.update(&buffer[..n]);
        }
        Ok((size, hex::encode(hasher.finalize())))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let incoming = Incoming {
        path: path.to_path_buf(),
        size,
        sha256,
        temporary: false,
    };
    let key = format!(
        "{tenant}/files/{file_id}/pi{}/{name}",
        &incoming.sha256[..12]
    );
    if put {
        return store_contents(app, tenant, file_id, key, &incoming).await;
    }
    let (project, _) = read_3mf(app, &incoming).await?;
    Ok(contents_row(&project, &incoming, key, None))
}

/// What a file row records of a read project and its stored objects.
fn contents_row(
    project: &threemf::Project,
    incoming: &Incoming,
    r2_key: String,
    thumbnail_r2_key: Option<String>,
) -> Contents {
    let summary = summarise(project);
    let text = |k: &str| summary[k].as_str().map(str::to_string);
    Contents {
        file_size_bytes: i64::try_from(incoming.size).unwrap_or(i64::MAX),
        r2_key,
        thumbnail_r2_key,
        content_sha256: incoming.sha256.clone(),
        metadata_json: json!({ "summary": summary, "project": project }).to_string(),
        is_sliced: project.sliced,
        print_time_seconds: summary["print_time_seconds"].as_i64(),
        filament_weight_grams: summary["filament_weight_grams"].as_f64(),
        filament_length_meters: summary["filament_length_meters"].as_f64(),
        filament_type: text("filament_type"),
        printer_model_id: text("printer_model_id"),
        nozzle_diameter: summary["nozzle_diameter"].as_f64(),
        layer_count: summary["layer_count"].as_i64(),
        curr_bed_type: text("curr_bed_type"),
        default_print_profile: text("default_print_profile"),
        object_count: summary["object_count"].as_i64().unwrap_or(1),
    }
}

/// Records a new file (first version) for already stored contents; undoes the objects on failure.
#[allow(clippy::too_many_arguments)]
async fn record_new_file(
    app: &App,
    tenant: &TenantId,
    user: &domain::UserId,
    client: &ClientInfo,
    file_id: &str,
    name: &str,
    product_id: Option<&str>,
    contents: Contents,
) -> Result<PrintFile, ApiError> {
    let now = store::now_text();
    let result = async {
        let mut tx = app.store.begin().await?;
        let file = store::files::create(&mut tx, tenant, file_id, name, product_id, &contents, &now)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => ApiError::Conflict {
                    code: "FILE_NAME_TAKEN",
                    field: Some("name".into()),
                    message: format!("the farm already has a file named '{name}'; upload a new version of it instead"),
                },
                other => other.into(),
            })?;
        let change = Change {
            action: "file.uploaded",
            table: "print_files",
            record: file_id,
            new: Some(json!({ "name": name, "size": contents.file_size_bytes, "sha256": contents.content_sha256 })),
            ..Change::default()
        };
        crate::audit::record(&mut tx, tenant, user, client, change, &now).await?;
        tx.commit().await?;
        Ok::<_, ApiError>(file)
    }
    .await;
    if result.is_err() {
        remove_objects(
            app,
            vec![
                Some(contents.r2_key.clone()),
                contents.thumbnail_r2_key.clone(),
            ],
        )
        .await;
    }
    result
}

/// The parts of a multipart upload.
struct Form {
    file: Option<(Option<String>, Incoming)>,
    fields: std::collections::HashMap<String, String>,
}

impl Form {
    /// The `file` part, which the route needs.
    fn file(&mut self, what: &str) -> Result<(Option<String>, Incoming), ApiError> {
        self.file.take().ok_or_else(|| {
            ApiError::field(
                "file",
                format!("send the {what} as the multipart field 'file'"),
            )
        })
    }
}

/// The most text a form's non-file parts may hold in all: every route's fields are a few
/// short names and notes, and without a total a form of 100,000 small parts was held whole.
const FORM_TEXT_LIMIT: usize = 64 * 1024;
/// The most parts a form may have (every route needs a handful).
const FORM_PART_LIMIT: usize = 32;
/// The most one text part may hold.
const FORM_FIELD_LIMIT: usize = 10_000;

/// Reads a multipart form: the one `file` part streams to disk, small text parts are kept
/// (at most [`FORM_PART_LIMIT`] parts and [`FORM_TEXT_LIMIT`] bytes of text: 413 past that).
async fn read_form(app: &App, req: Request) -> Result<Form, ApiError> {
    use axum::extract::FromRequest;
    let mut multipart =
        Multipart::from_request(req, app)
            .await
            .map_err(|e| ApiError::BadRequest {
                code: "INVALID_MULTIPART",
                message: format!("send the file as multipart/form-data: {}", e.body_text()),
            })?;
    let bad = |e: axum::extract::multipart::MultipartError| ApiError::BadRequest {
        code: "INVALID_MULTIPART",
        message: format!("the form could not be read: {e}"),
    };
    let mut form = Form {
        file: None,
        fields: Default::default(),
    };
    let (mut parts, mut text_bytes) = (0usize, 0usize);
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        parts += 1;
        if parts > FORM_PART_LIMIT {
            return Err(ApiError::FormTooLarge(format!(
                "a form may have at most {FORM_PART_LIMIT} parts"
            )));
        }
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            if form.file.is_some() {
                return Err(ApiError::field("file", "send one file per request"));
            }
            let file_name = field.file_name().map(str::to_string);
            let incoming = receive(app, field.map(|c| c.map_err(|e| e.body_text()))).await?;
            form.file = Some((file_name, incoming));
        } else {
            // Text parts are read chunk by chunk, so a huge one is refused before it is held.
            let mut field = field;
            let mut text = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                text.extend_from_slice(&chunk);
                text_bytes += chunk.len();
                if text_bytes > FORM_TEXT_LIMIT {
                    return Err(ApiError::FormTooLarge(format!(
                        "a form's text fields may hold at most {FORM_TEXT_LIMIT} bytes in all"
                    )));
                }
                if text.len() > FORM_FIELD_LIMIT {
                    return Err(ApiError::field(&name, "this form field is too long"));
                }
            }
            form.fields
                .insert(name, String::from_utf8_lossy(&text).into_owned());
        }
    }
    Ok(form)
}

/// POST /api/v1/files — uploads a 3MF (multipart `file`, optional `name`, `product_id`), or
/// with a JSON body records one already sent to an upload link (operators).
pub async fn upload(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    req: Request,
) -> ApiResult<Value> {
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if json {
        use axum::extract::FromRequest;
        let ApiJson(body) = ApiJson::<RecordBody>::from_request(req, &app).await?;
        return record_sent(&app, &member, &client, body).await;
    }
    let mut form = read_form(&app, req).await?;
    let (file_name, incoming) = form.file("3MF")?;
    let name = clean_name(
        form.fields
            .get("name")
            .cloned()
            .or(file_name)
            .as_deref()
            .unwrap_or_default(),
    )?;
    let product_id = form
        .fields
        .get("product_id")
        .filter(|p| !p.is_empty())
        .cloned();
    let file_id = store::new_id();
    let key = object_key(&member.tenant, &file_id, &name);
    let contents = store_contents(&app, &member.tenant, &file_id, key, &incoming).await?;
    let file = record_new_file(
        &app,
        &member.tenant,
        &member.user.user_id(),
        &client,
        &file_id,
        &name,
        product_id.as_deref(),
        contents,
    )
    .await?;
    tracing::info!(tenant_id = %member.tenant, file_id, size = incoming.size, "print file uploaded");
    Ok(Envelope::created(view(&file)))
}

/// Body recording a file sent to an upload link (the original's client uploads, then records).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RecordBody {
    /// The object key the upload link named.
    r2_key: String,
    file_size_bytes: Option<i64>,
    /// The name, product and units per print, as a file update takes them.
    #[serde(flatten)]
    changes: UpdateBody,
}

/// Records a file that arrived through an upload link: its upload already made the row, so
/// this checks the key and size and applies the name, product and units sent.
async fn record_sent(
    app: &App,
    member: &Member<roles::Operator>,
    client: &ClientInfo,
    body: RecordBody,
) -> ApiResult<Value> {
    const NO_UPLOAD: &str =
        "no upload has arrived under this r2_key: PUT the file to its upload_url first";
    let file_id = file_of_key(&member.tenant, body.r2_key.trim())
        .ok_or_else(|| ApiError::field("r2_key", NO_UPLOAD))?;
    let mut conn = app.store.conn().await?;
    let file = store::files::get(&mut conn, &member.tenant, file_id)
        .await
        .or_field("r2_key", NO_UPLOAD)?;
    drop(conn);
    if let (Some(sent), Some(stored)) = (body.file_size_bytes, file.file_size_bytes)
        && sent != stored
    {
        return Err(ApiError::field(
            "file_size_bytes",
            format!("the upload holds {stored} bytes, not {sent}: send the file again"),
        ));
    }
    let file = change_file(app, member, client, &file, body.changes).await?;
    Ok(Envelope::created(view(&file)))
}

/// Body of an upload-link request (`filename` as the original's client sends it).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UploadUrlBody {
    #[serde(alias = "filename")]
    file_name: String,
    content_type: Option<String>,
}

/// POST /api/v1/files/upload-url — a signed link to PUT a file to, without a session (operators).
pub async fn upload_url(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiJson(body): ApiJson<UploadUrlBody>,
) -> ApiResult<Value> {
    let name = clean_name(&body.file_name).map_err(|_| {
        ApiError::field(
            "file_name",
            "file_name must be 1 to 200 characters, without slashes",
        )
    })?;
    let content_type = body
        .content_type
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| "application/vnd.ms-package.3dmanufacturing-3dmodel+xml".into());
    let file_id = store::new_id();
    // The key is fixed now, so the client can name it when it records the upload.
    let r2_key = object_key(&member.tenant, &file_id, &name);
    let expires = Utc::now() + UPLOAD_LINK_LIFETIME;
    let token = app.links.sign(&Grant {
        purpose: "upload".into(),
        tenant: member.tenant.to_string(),
        file: file_id.clone(),
        detail: r2_key.clone(),
        user: Some(member.user.id.clone()),
        expires: expires.timestamp(),
    });
    Ok(Envelope::ok(json!({
        "upload_url": format!("{}/api/v1/files/upload/{token}", app.public_origin),
        "token": token,
        "upload_token": token,
        "file_id": file_id,
        "r2_key": r2_key,
        "content_type": content_type,
        "expires_at": domain::time::format(expires),
        "expires_in": UPLOAD_LINK_LIFETIME.num_seconds(),
    })))
}

fn link_error(err: LinkError) -> ApiError {
    ApiError::forbidden(
        match err {
            LinkError::Invalid => "INVALID_LINK",
            LinkError::Expired => "LINK_EXPIRED",
        },
        err.to_string(),
    )
}

/// PUT /api/v1/files/upload/{token} — the body is the file; the signed link is the permission.
/// Answers 200 with the file, its `r2_key` and `size_bytes` (as the original's client reads them).
pub async fn upload_by_link(
    State(app): State<App>,
    client: ClientInfo,
    ApiPath(token): ApiPath<String>,
    body: Body,
) -> ApiResult<Value> {
    let grant = app
        .links
        .verify(&token, "upload", Utc::now().timestamp())
        .map_err(link_error)?;
    let tenant = TenantId::parse(&grant.tenant)
        .ok_or(LinkError::Invalid)
        .map_err(link_error)?;
    let user = grant
        .user
        .as_deref()
        .and_then(domain::UserId::parse)
        .ok_or(LinkError::Invalid)
        .map_err(link_error)?;
    let r2_key = grant.detail.clone();
    let name = match file_of_key(&tenant, &r2_key) {
        Some(file) if file == grant.file => r2_key.rsplit('/').next().unwrap_or_default(),
        _ => return Err(link_error(LinkError::Invalid)),
    }
    .to_string();
    // One upload per link at a time: a second one racing the first would write the same key.
    let _claim = app
        .link_uploads
        .claim(&grant.file)
        .ok_or(ApiError::Conflict {
            code: "LINK_USED",
            field: None,
            message: "this upload link is being used already".into(),
        })?;
    {
        let mut conn = app.store.conn().await?;
        if store::files::get(&mut conn, &tenant, &grant.file)
            .await
            .is_ok()
        {
            return Err(ApiError::Conflict {
                code: "LINK_USED",
                field: None,
                message: "this upload link was used already; ask for a new one".into(),
            });
        }
    }
    let incoming = receive(&app, body.into_data_stream()).await?;
    let contents = store_contents(&app, &tenant, &grant.file, r2_key, &incoming).await?;
    let file = record_new_file(
        &app,
        &tenant,
        &user,
        &client,
        &grant.file,
        &name,
        None,
        contents,
    )
    .await?;
    let mut answer = view(&file);
    answer["size_bytes"] = json!(incoming.size);
    Ok(Envelope::ok(answer))
}

/// POST /api/v1/files/parse-metadata — reads a 3MF's metadata without keeping it (anyone
/// signed in: the original's client sends no farm). The summary also sits at the top level,
/// `{success, data, filename, printer_model_id, metadata}`, where that client reads it.
pub async fn parse_metadata(
    State(app): State<App>,
    _user: AuthUser,
    req: Request,
) -> ApiResult<Value> {
    let mut form = read_form(&app, req).await?;
    let (file_name, incoming) = form.file("3MF")?;
    let (project, thumbnail) = read_3mf(&app, &incoming).await?;
    let summary = summarise(&project);
    let top = json!({
        "filename": file_name,
        "printer_model_id": summary["printer_model_id"],
        "metadata": summary,
    });
    Ok(Envelope::ok(json!({
        "summary": summary,
        "metadata": project,
        "has_thumbnail": thumbnail.is_some(),
        "file_size_bytes": incoming.size,
        "sha256": incoming.sha256,
    }))
    .beside(top))
}

/// Query of the file list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    page: Option<i64>,
    limit: Option<i64>,
    product_id: Option<String>,
    search: Option<String>,
}

/// GET /api/v1/files — the farm's print files, newest first.
pub async fn list(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<Value>> {
    let paging = Paging {
        page: q.page.unwrap_or(1),
        limit: q.limit.unwrap_or(50),
    };
    let mut conn = app.store.conn().await?;
    let (files, total) = store::files::list(
        &mut conn,
        &member.tenant,
        q.product_id.as_deref().filter(|p| !p.is_empty()),
        q.search.as_deref().filter(|s| !s.trim().is_empty()),
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Envelope::list(
        files.iter().map(view).collect(),
        paging.meta(total),
    ))
}

async fn find(app: &App, tenant: &TenantId, id: &str) -> Result<PrintFile, ApiError> {
    let mut conn = app.store.conn().await?;
    store::files::get(&mut conn, tenant, id)
        .await
        .or_not_found("FILE_NOT_FOUND", "print file")
}

/// GET /api/v1/files/{file_id} — one file with its metadata and its `versions`.
pub async fn get_one(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let file = find(&app, &member.tenant, &id).await?;
    let mut conn = app.store.conn().await?;
    let versions = store::files::versions(&mut conn, &member.tenant, &file.id).await?;
    let mut answer = view(&file);
    answer["versions"] = json!(versions);
    Ok(Envelope::ok(answer))
}

/// Body of a file update.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UpdateBody {
    name: Option<String>,
    product_id: Option<String>,
    number_of_units: Option<i64>,
}

/// PUT /api/v1/files/{file_id} — renames a file, links it to a product, sets units per print (operators).
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> ApiResult<Value> {
    let file = find(&app, &member.tenant, &id).await?;
    Ok(Envelope::ok(view(
        &change_file(&app, &member, &client, &file, body).await?,
    )))
}

/// Applies a rename, product link and units per print to a file.
async fn change_file(
    app: &App,
    member: &Member<roles::Operator>,
    client: &ClientInfo,
    file: &PrintFile,
    body: UpdateBody,
) -> Result<PrintFile, ApiError> {
    let name = body.name.as_deref().map(clean_name).transpose()?;
    if body
        .number_of_units
        .is_some_and(|n| !(1..=10_000).contains(&n))
    {
        return Err(ApiError::field(
            "number_of_units",
            "number_of_units must be from 1 to 10000",
        ));
    }
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let updated = store::files::update(
        &mut tx,
        &member.tenant,
        &file.id,
        name.as_deref(),
        body.product_id.as_deref().filter(|p| !p.is_empty()),
        body.number_of_units,
        &now,
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict { .. } => ApiError::Conflict {
            code: "FILE_NAME_TAKEN",
            field: Some("name".into()),
            message: "the farm already has a file with that name".into(),
        },
        other => other.into(),
    })?;
    let change = Change {
        action: "file.updated",
        table: "print_files",
        record: &file.id,
        old: Some(
            json!({ "name": file.name, "product_id": file.product_id, "number_of_units": file.number_of_units }),
        ),
        new: Some(
            json!({ "name": updated.name, "product_id": updated.product_id, "number_of_units": updated.number_of_units }),
        ),
    };
    member.audit(&mut tx, client, change, &now).await?;
    tx.commit().await?;
    Ok(updated)
}

/// DELETE /api/v1/files/{file_id} — deletes a file, its versions and their stored objects (admins).
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let file = find(&app, &member.tenant, &id).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let versions = store::files::delete(&mut tx, &member.tenant, &file.id)
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::Conflict {
                code: "FILE_IN_USE",
                field: None,
                message: "print jobs refer to this file; delete or finish them first".into(),
            },
            other => other.into(),
        })?;
    let change = Change {
        action: "file.deleted",
        table: "print_files",
        record: &file.id,
        old: Some(json!({ "name": file.name, "versions": versions.len() })),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    let keys: Vec<Option<String>> = versions
        .iter()
        .flat_map(|v| [v.r2_key.clone(), v.thumbnail_r2_key.clone()])
        .collect();
    remove_objects(&app, keys).await;
    Ok(Envelope::ok(
        json!({ "id": file.id, "deleted": true, "versions_removed": versions.len() }),
    ))
}

/// GET /api/v1/files/{file_id}/download-url — a signed link (1 hour) to the current version.
pub async fn download_url(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let file = find(&app, &member.tenant, &id).await?;
    let key = file.r2_key.clone().ok_or_else(not_found)?;
    let expires = Utc::now() + DOWNLOAD_LINK_LIFETIME;
    let token = app.links.sign(&Grant {
        purpose: "download".into(),
        tenant: member.tenant.to_string(),
        file: file.id.clone(),
        detail: key,
        user: None,
        expires: expires.timestamp(),
    });
    Ok(Envelope::ok(json!({
        "download_url": format!("{}/api/v1/files/download/{token}", app.public_origin),
        "token": token,
        "expires_at": domain::time::format(expires),
    })))
}

/// GET /api/v1/files/download/{token} — the file's bytes, streamed; the signed link is the permission.
pub async fn download(
    State(app): State<App>,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, ApiError> {
    let grant = app
        .links
        .verify(&token, "download", Utc::now().timestamp())
        .map_err(link_error)?;
    let (size, stream) = app.files.stream(&grant.detail).await.map_err(|e| match e {
        object_store::Error::NotFound { .. } => not_found(),
        other => ApiError::internal(other),
    })?;
    let file_name = grant
        .detail
        .rsplit('/')
        .next()
        .unwrap_or("file.3mf")
        .replace('"', "");
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, size.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// GET /api/v1/files/{file_id}/thumbnail — the plate picture (PNG).
pub async fn thumbnail(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let file = find(&app, &member.tenant, &id).await?;
    let key = file
        .thumbnail_r2_key
        .ok_or_else(|| ApiError::not_found("THUMBNAIL_NOT_FOUND", "thumbnail"))?;
    let png = app.files.read(&key).await.map_err(ApiError::internal)?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        png,
    )
        .into_response())
}

/// GET /api/v1/files/{file_id}/versions — the file's versions.
pub async fn versions(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Vec<FileVersion>> {
    let file = find(&app, &member.tenant, &id).await?;
    let mut conn = app.store.conn().await?;
    Ok(Envelope::all(
        store::files::versions(&mut conn, &member.tenant, &file.id).await?,
    ))
}

/// POST /api/v1/files/{file_id}/versions — uploads a new version, which becomes current (operators).
pub async fn add_version(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    req: Request,
) -> ApiResult<FileVersion> {
    let file = find(&app, &member.tenant, &id).await?;
    let too_many = || ApiError::Conflict {
        code: "TOO_MANY_VERSIONS",
        field: Some("version".into()),
        message: "a file keeps at most 3 versions; delete one that is not current first".into(),
    };
    {
        // Refuse before receiving the bytes; the transaction below checks again.
        let mut conn = app.store.conn().await?;
        let existing = store::files::versions(&mut conn, &member.tenant, &file.id).await?;
        if existing.len() as i64 >= store::files::MAX_VERSIONS {
            return Err(too_many());
        }
    }
    let mut form = read_form(&app, req).await?;
    let (_, incoming) = form.file("3MF")?;
    let key = object_key(&member.tenant, &file.id, &file.name);
    let contents = store_contents(&app, &member.tenant, &file.id, key, &incoming).await?;
    let now = store::now_text();
    let notes = form.fields.get("notes").cloned();
    let result = async {
        let mut tx = app.store.begin().await?;
        let version = store::files::add_version(&mut tx, &member.tenant, &file.id, &contents, notes.as_deref(), &now)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => too_many(),
                other => other.into(),
            })?;
        let change = Change {
            action: "file.version_added",
            table: "print_file_versions",
            record: &version.id,
            new: Some(json!({ "version_number": version.version_number, "sha256": contents.content_sha256 })),
            ..Change::default()
        };
        member.audit(&mut tx, &client, change, &now).await?;
        tx.commit().await?;
        Ok::<_, ApiError>(version)
    }
    .await;
    if result.is_err() {
        remove_objects(
            &app,
            vec![
                Some(contents.r2_key.clone()),
                contents.thumbnail_r2_key.clone(),
            ],
        )
        .await;
    }
    Ok(Envelope::created(result?))
}

/// PUT /api/v1/files/{file_id}/versions/{version_number}/current — makes a version current (operators).
pub async fn set_current(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath((id, number)): ApiPath<(String, String)>,
) -> ApiResult<Value> {
    let number: i64 = number
        .parse()
        .map_err(|_| ApiError::not_found("VERSION_NOT_FOUND", "version"))?;
    let file = find(&app, &member.tenant, &id).await?;
    let mut tx = app.store.begin().await?;
    store::files::set_current(
        &mut tx,
        &member.tenant,
        &file.id,
        number,
        &store::now_text(),
    )
    .await
    .or_not_found("VERSION_NOT_FOUND", "version")?;
    let updated = store::files::get(&mut tx, &member.tenant, &file.id).await?;
    tx.commit().await?;
    Ok(Envelope::ok(view(&updated)))
}

/// DELETE /api/v1/files/{file_id}/versions/{version_number} — deletes a version that is not current (operators).
pub async fn delete_version(
    State(app): State<App>,
    member: Member<roles::Operator>,
    ApiPath((id, number)): ApiPath<(String, String)>,
) -> ApiResult<Value> {
    let number: i64 = number
        .parse()
        .map_err(|_| ApiError::not_found("VERSION_NOT_FOUND", "version"))?;
    let file = find(&app, &member.tenant, &id).await?;
    let mut tx = app.store.begin().await?;
    let removed = store::files::delete_version(&mut tx, &member.tenant, &file.id, number)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("VERSION_NOT_FOUND", "version"),
            StoreError::Conflict { .. } => ApiError::Conflict {
                code: "CURRENT_VERSION",
                field: Some("version".into()),
                message: "the current version can't be deleted; make another version current first"
                    .into(),
            },
            other => other.into(),
        })?;
    tx.commit().await?;
    remove_objects(
        &app,
        vec![removed.r2_key.clone(), removed.thumbnail_r2_key.clone()],
    )
    .await;
    Ok(Envelope::ok(
        json!({ "version_number": number, "deleted": true }),
    ))
}

/// Pictures (wiki, products) are at most this large.
const MAX_WIKI_IMAGE_BYTES: u64 = 10 * 1024 * 1024;

/// The image kind of some bytes, by their signature: (extension, content type).
fn image_kind(head: &[u8]) -> Option<(&'static str, &'static str)> {
    match head {
        [0x89, b'P', b'N', b'G', ..] => Some(("png", "image/png")),
        [0xFF, 0xD8, 0xFF, ..] => Some(("jpg", "image/jpeg")),
        [b'G', b'I', b'F', b'8', ..] => Some(("gif", "image/gif")),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some(("webp", "image/webp")),
        _ => None,
    }
}

/// Receives a picture (multipart `file`, at most [`MAX_WIKI_IMAGE_BYTES`]), checks by its
/// bytes that it is a PNG, JPEG, GIF or WebP image, and stores it under the key
/// `key_for(extension)` gives; returns the key's file name part and the size.
pub async fn store_image(
    app: &App,
    req: Request,
    key_for: impl FnOnce(&str) -> String,
) -> Result<(String, u64), ApiError> {
    let mut form = read_form(app, req).await?;
    let (_, incoming) = form.file("picture")?;
    if incoming.size > MAX_WIKI_IMAGE_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_WIKI_IMAGE_BYTES as usize,
        });
    }
    let mut head = [0u8; 12];
    {
        use std::io::Read;
        let mut file = std::fs::File::open(&incoming.path).map_err(ApiError::internal)?;
        let _ = file.read(&mut head).map_err(ApiError::internal)?;
    }
    let (extension, _) = image_kind(&head).ok_or_else(|| {
        ApiError::field("file", "the picture must be a PNG, JPEG, GIF or WebP image")
    })?;
    let key = key_for(extension);
    app.files
        .put_file(&key, &incoming.path)
        .await
        .map_err(ApiError::internal)?;
    Ok((key, incoming.size))
}

/// Answers with the picture stored at `key` (404 `IMAGE_NOT_FOUND` when there is none).
pub async fn serve_image(app: &App, key: &str) -> Result<Response, ApiError> {
    let missing = || ApiError::not_found("IMAGE_NOT_FOUND", "image");
    let bytes = app.files.read(key).await.map_err(|e| match e {
        object_store::Error::NotFound { .. } => missing(),
        other => ApiError::internal(other),
    })?;
    let (_, content_type) = image_kind(&bytes).ok_or_else(missing)?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        bytes,
    )
        .into_response())
}

/// POST /api/v1/files/wiki-image — stores a picture for wiki articles (multipart `file`)
/// (operators): answers `{url, filename}` (the earlier client's names; `file_name` too).
pub async fn upload_wiki_image(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    req: Request,
) -> ApiResult<Value> {
    let file_name = uuid::Uuid::new_v4().simple().to_string();
    let tenant = member.tenant.clone();
    let (key, size) = store_image(&app, req, |extension| {
        format!("{tenant}/images/wiki/{file_name}.{extension}")
    })
    .await?;
    let file_name = key.rsplit('/').next().unwrap_or_default().to_string();
    let url = format!("/api/v1/files/wiki-image/{}/{file_name}", member.tenant);
    let now = store::now_text();
    let mut conn = app.store.conn().await?;
    let change = Change {
        action: "wiki.image_stored",
        table: "wiki_articles",
        record: &file_name,
        new: Some(json!({ "url": url, "size": size })),
        ..Change::default()
    };
    member.audit(&mut conn, &client, change, &now).await?;
    Ok(Envelope::created(json!({
        "url": url,
        "filename": file_name,
        "file_name": file_name,
        "size": size,
    })))
}

/// GET /api/v1/files/wiki-image/{tenant_id}/{file_name} — a wiki picture, for members of its farm.
pub async fn wiki_image(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath((_tenant, file_name)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let valid = file_name.len() <= 80
        && file_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.')
        && !file_name.starts_with('.');
    if !valid {
        return Err(ApiError::not_found("IMAGE_NOT_FOUND", "image"));
    }
    serve_image(&app, &format!("{}/images/wiki/{file_name}", member.tenant)).await
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::{PAGING, Param, Upload};
    use axum::http::Method as M;
    use domain::Role;
    use serde_json::json;
    crate::api::Routes::new()
        .add(
            M::GET,
            "/api/v1/files",
            Member(Role::Viewer),
            "The farm's print files (filters: product_id, search; page, limit)",
            list,
        )
        .query(PAGING)
        .query(&[("product_id", Param::Text), ("search", Param::Text)])
        .add_streaming(
            M::POST,
            "/api/v1/files",
            Member(Role::Operator),
            "Upload a 3MF (multipart field 'file'; optional 'name', 'product_id'), or record one sent to an upload link (JSON {r2_key, name, file_size_bytes, product_id, number_of_units})",
            Upload::Multipart(&["name", "product_id"]),
            upload,
        )
        .add(
            M::POST,
            "/api/v1/files/upload-url",
            Member(Role::Operator),
            "A signed link to PUT a file to",
            upload_url,
        )
        .example(json!({"file_name": "bracket.3mf", "content_type": "model/3mf"}))
        .add_streaming(
            M::PUT,
            "/api/v1/files/upload/{token}",
            Public,
            "Upload a file's bytes to a signed link",
            Upload::Bytes,
            upload_by_link,
        )
        .add(
            M::GET,
            "/api/v1/files/download/{token}",
            Public,
            "A file's bytes by a signed link",
            download,
        )
        .add_streaming(
            M::POST,
            "/api/v1/files/parse-metadata",
            Signed,
            "Read a 3MF's metadata without keeping it (multipart field 'file'; no farm needed)",
            Upload::Multipart(&[]),
            parse_metadata,
        )
        .add_streaming(
            M::POST,
            "/api/v1/files/wiki-image",
            Member(Role::Operator),
            "Store a picture for wiki articles (multipart 'file': PNG, JPEG, GIF or WebP, at most 10 MiB); answers {url, filename}",
            Upload::Multipart(&[]),
            upload_wiki_image,
        )
        .add(
            M::GET,
            "/api/v1/files/wiki-image/{tenant_id}/{file_name}",
            FarmPath(Role::Viewer),
            "A wiki picture, for members of its farm (the session cookie loads it in a page)",
            wiki_image,
        )
        .add(
            M::GET,
            "/api/v1/files/{file_id}",
            Member(Role::Viewer),
            "One print file with its 3MF metadata",
            get_one,
        )
        .add(
            M::PUT,
            "/api/v1/files/{file_id}",
            Member(Role::Operator),
            "Rename a file, link it to a product, set units per print",
            update,
        )
        .example(json!({"number_of_units": 4}))
        .add(
            M::DELETE,
            "/api/v1/files/{file_id}",
            Member(Role::Admin),
            "Delete a file, its versions and stored objects",
            delete,
        )
        .add(
            M::GET,
            "/api/v1/files/{file_id}/download-url",
            Member(Role::Viewer),
            "A signed download link (1 hour)",
            download_url,
        )
        .add(
            M::GET,
            "/api/v1/files/{file_id}/thumbnail",
            Member(Role::Viewer),
            "The plate thumbnail (PNG)",
            thumbnail,
        )
        .add(
            M::GET,
            "/api/v1/files/{file_id}/versions",
            Member(Role::Viewer),
            "The file's versions",
            versions,
        )
        .add_streaming(
            M::POST,
            "/api/v1/files/{file_id}/versions",
            Member(Role::Operator),
            "Upload a new version (multipart 'file', 'notes')",
            Upload::Multipart(&["notes"]),
            add_version,
        )
        .add(
            M::DELETE,
            "/api/v1/files/{file_id}/versions/{version_number}",
            Member(Role::Operator),
            "Delete a version that is not current",
            delete_version,
        )
        .add(
            M::PUT,
            "/api/v1/files/{file_id}/versions/{version_number}/current",
            Member(Role::Operator),
            "Make a version current",
            set_current,
        )
}
