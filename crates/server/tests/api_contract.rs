//! The API's contract with the tools and clients that read it: the OpenAPI document is a valid
//! OpenAPI 3.1 document that a generator can build every request from, and the answers that
//! come from outside a route's handler (an OPTIONS that is no preflight, a socket URL opened
//! without the upgrade, a path or query that does not parse) still come in the error envelope.

use crate::common;

use common::{Answer, As, TestApp};
use reqwest::Method;
use serde_json::Value;
use std::collections::HashSet;

/// The official OpenAPI 3.1 schema (see `openapi/README.md`).
const OPENAPI_3_1_SCHEMA: &str = include_str!("openapi/schema-3.1.json");

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What the official schema finds wrong with `doc`, one line per error.
fn schema_errors(doc: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(OPENAPI_3_1_SCHEMA).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// What the official schema leaves unchecked: each parameter and body has a schema that is
/// itself valid JSON Schema (2020-12, the 3.1 dialect's base), every `{name}` of a path is a
/// required path parameter and every path parameter is in the path, and operationIds are unique.
fn structural_errors(doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let mut ids = HashSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        let templated: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for (method, op) in item.as_object().into_iter().flatten() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let here = format!("{} {path}", method.to_uppercase());
            match op["operationId"].as_str() {
                Some(id) if !ids.insert(id.to_string()) => {
                    errors.push(format!("{here}: operationId {id} is used twice"))
                }
                Some(_) => {}
                None => errors.push(format!("{here} has no operationId")),
            }
            let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
            let mut seen = HashSet::new();
            for p in &parameters {
                let (name, place) = (
                    p["name"].as_str().unwrap_or(""),
                    p["in"].as_str().unwrap_or(""),
                );
                let at = format!("{here}: {place} parameter {name}");
                if !seen.insert((name.to_string(), place.to_string())) {
                    errors.push(format!("{at} is declared twice"));
                }
                match (&p["schema"], &p["content"]) {
                    (Value::Null, Value::Object(content)) => {
                        for (media, body) in content {
                            check_schema(
                                &mut errors,
                                format!("{at} ({media})"),
                                body.get("schema"),
                            );
                        }
                    }
                    (schema, Value::Null) => {
                        check_schema(&mut errors, at.clone(), schema.as_object().map(|_| schema))
                    }
                    _ => errors.push(format!("{at} has both schema and content")),
                }
                if place == "path" {
                    if !templated.contains(&name) {
                        errors.push(format!("{at} is not in the path"));
                    }
                    if p["required"] != true {
                        errors.push(format!("{at} is not required"));
                    }
                }
            }
            for name in &templated {
                if !seen.contains(&(name.to_string(), "path".to_string())) {
                    errors.push(format!("{here}: path parameter {name} is not declared"));
                }
            }
            if let Some(body) = op.get("requestBody") {
                match body["content"].as_object() {
                    Some(content) if !content.is_empty() => {
                        for (media, body) in content {
                            check_schema(
                                &mut errors,
                                format!("{here}: request body ({media})"),
                                body.get("schema"),
                            );
                        }
                    }
                    _ => errors.push(format!("{here}: the request body has no content")),
                }
            }
        }
    }
    errors
}

/// A missing schema, or one that is not JSON Schema, is an error at `at`.
fn check_schema(errors: &mut Vec<String>, at: String, schema: Option<&Value>) {
    match schema {
        None => errors.push(format!("{at} has no schema")),
        Some(schema) => {
            if let Err(e) = jsonschema::meta::validate(schema) {
                errors.push(format!("{at}: the schema is not JSON Schema: {e}"));
            }
        }
    }
}

async fn openapi_document(app: &TestApp) -> Value {
    let doc = app
        .call(Method::GET, "/api/v1/openapi.json", As::Nobody, None, None)
        .await;
    doc.expect(200);
    doc.body
}

#[tokio::test]
async fn the_openapi_document_is_valid_openapi_3_1_with_a_schema_for_every_input() {
    let app = TestApp::spawn().await;
    let doc = openapi_document(&app).await;
    // Left for other tools to read (`openapi-spec-validator`, a client generator).
    let copy = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("openapi.json");
    std::fs::write(&copy, serde_json::to_vec_pretty(&doc).unwrap()).expect("document written");
    let official = schema_errors(&doc);
    let structural = structural_errors(&doc);
    for line in official.iter().chain(&structural).take(40) {
        eprintln!("{line}");
    }
    assert!(
        official.is_empty() && structural.is_empty(),
        "the OpenAPI document has {} errors by the official OpenAPI 3.1 schema and {} by the structural checks (first ones above)",
        official.len(),
        structural.len()
    );
}

#[test]
fn the_validator_catches_a_parameter_without_a_schema() {
    // The checks above are only worth anything if they can fail.
    let doc = serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {"/jobs/{job_id}": {"get": {
            "operationId": "get_job",
            "parameters": [{"name": "job_id", "in": "path", "required": true}],
            "requestBody": {"content": {"application/json": {}}},
            "responses": {"200": {"description": "ok"}}
        }}}
    });
    assert_eq!(schema_errors(&doc).len(), 1, "{:?}", schema_errors(&doc));
    assert_eq!(
        structural_errors(&doc).len(),
        2,
        "{:?}",
        structural_errors(&doc)
    );
}

#[tokio::test]
async fn path_and_query_parameters_are_typed_in_the_document() {
    let app = TestApp::spawn().await;
    let doc = openapi_document(&app).await;
    let parameter = |path: &str, method: &str, name: &str| -> Value {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name).cloned())
            .unwrap_or_else(|| panic!("{method} {path} declares {name}"))
    };
    let job = parameter("/api/v1/jobs/{job_id}", "get", "job_id");
    assert_eq!(job["schema"]["type"], "string");
    assert_eq!(job["schema"]["format"], "uuid");
    let printer = parameter("/api/v1/printers/{printer_id}", "get", "printer_id");
    assert_eq!(
        printer["schema"]["type"], "string",
        "an id or the farm's number"
    );
    assert!(printer["schema"]["format"].is_null());
    let version = parameter(
        "/api/v1/files/{file_id}/versions/{version_number}",
        "delete",
        "version_number",
    );
    assert_eq!(version["schema"]["type"], "integer");
    let farm = parameter("/api/v1/jobs", "get", "X-Tenant-ID");
    assert_eq!(farm["in"], "header");
    assert_eq!(farm["schema"]["format"], "uuid");
    let page = parameter("/api/v1/jobs", "get", "page");
    assert_eq!(page["in"], "query");
    assert_eq!(page["schema"]["type"], "integer");
    assert_eq!(
        parameter("/api/v1/printers", "get", "sortOrder")["in"],
        "query"
    );

    let create =
        &doc["paths"]["/api/v1/jobs"]["post"]["requestBody"]["content"]["application/json"];
    assert_eq!(create["schema"]["type"], "object");
    assert_eq!(
        create["schema"]["properties"]["plate_index"]["type"],
        "integer"
    );
    assert_eq!(create["example"]["priority"], "high");
    let upload =
        &doc["paths"]["/api/v1/files"]["post"]["requestBody"]["content"]["multipart/form-data"];
    assert_eq!(upload["schema"]["properties"]["file"]["format"], "binary");
    assert_eq!(upload["schema"]["required"][0], "file");
    let by_link = &doc["paths"]["/api/v1/files/upload/{token}"]["put"]["requestBody"]["content"];
    assert!(by_link["application/octet-stream"]["schema"].is_object());
}

/// Asserts an error envelope with `status` and `code`, sent as JSON.
#[track_caller]
fn assert_envelope(answer: &Answer, status: u16, code: &str) {
    answer.expect(status);
    assert_eq!(answer.body["success"], false, "{}", answer.body);
    assert_eq!(answer.code(), code, "{}", answer.body);
    assert!(answer.body["error"]["message"].is_string());
    let content_type = answer.headers["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
}

#[tokio::test]
async fn an_options_request_that_is_no_preflight_gets_405_in_the_envelope_with_allow() {
    let app =
        TestApp::spawn_with(|s| s.trusted_origins = vec!["https://dash.example".into()]).await;
    let plain = TestApp::send(app.request(Method::OPTIONS, "/api/v1/tenants", As::Nobody)).await;
    assert_envelope(&plain, 405, "METHOD_NOT_ALLOWED");
    let allow = plain.headers["allow"].to_str().unwrap().to_uppercase();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");

    // An Origin alone does not make a preflight: that needs Access-Control-Request-Method.
    let with_origin = TestApp::send(
        app.request(Method::OPTIONS, "/api/v1/jobs/1", As::Nobody)
            .header("origin", "https://dash.example"),
    )
    .await;
    assert_envelope(&with_origin, 405, "METHOD_NOT_ALLOWED");
    let allow = with_origin.headers["allow"]
        .to_str()
        .unwrap()
        .to_uppercase();
    assert!(allow.contains("DELETE") && allow.contains("PUT"), "{allow}");

    let nowhere =
        TestApp::send(app.request(Method::OPTIONS, "/api/v1/no-such-thing", As::Nobody)).await;
    assert_envelope(&nowhere, 404, "ROUTE_NOT_FOUND");

    let preflight = TestApp::send(
        app.request(Method::OPTIONS, "/api/v1/tenants", As::Nobody)
            .header("origin", "https://dash.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type"),
    )
    .await;
    assert!(preflight.status.is_success(), "{:?}", preflight.status);
    assert_eq!(
        preflight.headers["access-control-allow-origin"],
        "https://dash.example"
    );
    assert_eq!(
        preflight.headers["access-control-allow-credentials"],
        "true"
    );
}

#[tokio::test]
async fn a_socket_url_opened_without_the_upgrade_gets_426_in_the_envelope() {
    let app = TestApp::spawn().await;
    for path in ["/ws/dashboard", "/ws/hub/x", "/ws/dashboard?tenant=nope"] {
        let answer = TestApp::send(app.request(Method::GET, path, As::Nobody)).await;
        assert_envelope(&answer, 426, "UPGRADE_REQUIRED");
        assert_eq!(answer.headers["upgrade"], "websocket", "{path}");
    }
    // A handshake in a WebSocket version the server does not speak is told the one it does.
    let old = TestApp::send(
        app.request(Method::GET, "/ws/dashboard", As::Nobody)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "8")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    )
    .await;
    assert_envelope(&old, 426, "UPGRADE_REQUIRED");
    assert_eq!(old.headers["sec-websocket-version"], "13");
    let keyless = TestApp::send(
        app.request(Method::GET, "/ws/dashboard", As::Nobody)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13"),
    )
    .await;
    assert_envelope(&keyless, 400, "INVALID_WEBSOCKET_HANDSHAKE");
}

#[tokio::test]
async fn a_path_or_query_that_does_not_parse_gets_the_envelope() {
    let app = TestApp::spawn().await;
    let (ada, farm) = app.signed_up_owner("ada").await;
    // %FF decodes to no UTF-8 text.
    for path in [
        "/api/v1/jobs/%FF",
        "/api/v1/printers/%FF",
        "/api/v1/files/%FF/versions",
        "/api/v1/hubs/%FF",
        "/api/v1/admin/dlq/%FF",
    ] {
        let answer = app.get(path, &ada.token, Some(&farm)).await;
        assert_envelope(&answer, 400, "INVALID_PATH");
    }
    let socket = TestApp::send(app.request(Method::GET, "/ws/hub/%FF", As::Nobody)).await;
    assert_eq!(socket.body["success"], false, "{}", socket.body);
    let page = app
        .get("/api/v1/jobs?page=first", &ada.token, Some(&farm))
        .await;
    assert_envelope(&page, 400, "VALIDATION_ERROR");
    assert_eq!(page.fields(), ["page"]);
    let broken = app
        .get("/api/v1/printers?limit=%FF", &ada.token, Some(&farm))
        .await;
    assert_eq!(broken.body["success"], false, "{}", broken.body);
}
