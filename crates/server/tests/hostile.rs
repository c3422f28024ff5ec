//! The server under hostile input and concurrent load: oversized forms, bursts of sign-ups,
//! racing creates, slow and idle connections, what a local user can read of the data
//! directory, and every documented route fed variants of its example body.

use crate::common;

use common::{As, PASSWORD, TestApp, fixture};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn register_body(n: usize, farm: &str) -> Value {
    json!({ "email": format!("burst{n}@example.com"), "password": PASSWORD,
            "name": format!("Burst {n}"), "company_name": farm })
}

async fn register(app: &TestApp, body: Value) -> common::Answer {
    app.call(
        Method::POST,
        "/api/v1/auth/register",
        As::Nobody,
        None,
        Some(body),
    )
    .await
}

/// Sends a multipart form to `path` as `token` in `farm`.
async fn send_form(
    app: &TestApp,
    path: &str,
    token: &str,
    farm: &str,
    form: Form,
) -> common::Answer {
    TestApp::send(
        app.request(Method::POST, path, As::Bearer(token))
            .header("x-tenant-id", farm)
            .multipart(form),
    )
    .await
}

fn with_file(form: Form) -> Form {
    form.part(
        "file",
        Part::bytes(fixture("sample-a.3mf")).file_name("sample-a.3mf"),
    )
}

#[tokio::test]
async fn forms_with_too_many_or_too_large_text_parts_are_refused_on_every_upload_route() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("forms").await;
    let file_id = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let routes = [
        "/api/v1/files".to_string(),
        "/api/v1/files/parse-metadata".to_string(),
        "/api/v1/files/wiki-image".to_string(),
        format!("/api/v1/files/{file_id}/versions"),
    ];
    for route in &routes {
        // Many small parts, each within the per-field limit (the reported attack used
        // 100,000 parts of 9,000 bytes).
        let mut many = Form::new();
        for n in 0..200 {
            many = many.text(format!("field{n}"), "x".repeat(10));
        }
        let answer = send_form(&app, route, &owner.token, &farm, with_file(many)).await;
        answer.expect(413);
        assert_eq!(answer.code(), "FORM_TOO_LARGE", "{route}: {}", answer.body);

        // A few parts that hold too much text in all.
        let mut large = Form::new();
        for n in 0..8 {
            large = large.text(format!("note{n}"), "y".repeat(9_000));
        }
        let answer = send_form(&app, route, &owner.token, &farm, with_file(large)).await;
        answer.expect(413);
        assert_eq!(answer.code(), "FORM_TOO_LARGE", "{route}: {}", answer.body);

        // Two files where one is expected.
        let two = with_file(with_file(Form::new()));
        let answer = send_form(&app, route, &owner.token, &farm, two).await;
        answer.expect(400);
        assert_eq!(answer.fields(), vec!["file"], "{route}: {}", answer.body);
    }
    // Nothing was kept of the refused forms, and an ordinary upload still works.
    let files = app.get("/api/v1/files", &owner.token, Some(&farm)).await;
    assert_eq!(
        files.data().as_array().map(Vec::len),
        Some(1),
        "{}",
        files.body
    );
    let versions = app
        .get(
            &format!("/api/v1/files/{file_id}/versions"),
            &owner.token,
            Some(&farm),
        )
        .await;
    assert_eq!(versions.data().as_array().map(Vec::len), Some(1));
    let form = with_file(Form::new().text("name", "bracket.3mf"));
    send_form(&app, "/api/v1/files", &owner.token, &farm, form)
        .await
        .expect(201);
}

#[tokio::test]
async fn a_burst_of_sign_ups_all_succeed_while_another_farm_keeps_working() {
    let app = TestApp::spawn_with(|s| s.sign_ups_per_ip = 10_000).await;
    let (owner, farm) = app.signed_up_owner("steady").await;
    let burst: Vec<_> = (0..60)
        .map(|n| register(&app, register_body(n, &format!("Burst farm {n}"))))
        .collect();
    let other_farm = async {
        // Another farm's writes go on during the burst.
        for n in 0..5 {
            app.post(
                "/api/v1/printers",
                &owner.token,
                Some(&farm),
                json!({ "name": format!("During-{n}"), "model": "P1S" }),
            )
            .await
            .expect(201);
        }
    };
    let (answers, ()) = tokio::join!(futures::future::join_all(burst), other_farm);
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert!(
        statuses.iter().all(|s| *s == 201),
        "every sign-up is created, none fails: {statuses:?}; first failure: {:?}",
        answers.iter().find(|a| a.status != 201).map(|a| &a.body)
    );
    let farms: HashSet<&str> = answers
        .iter()
        .filter_map(|a| a.data()["tenant"]["id"].as_str())
        .collect();
    assert_eq!(farms.len(), 60);
    // Each new owner can sign in with the password they chose.
    app.sign_in("burst7@example.com", PASSWORD)
        .await
        .expect(200);
}

#[tokio::test]
async fn sign_ups_and_password_resets_are_limited_per_address() {
    let app = TestApp::spawn_with(|s| {
        s.sign_ups_per_ip = 3;
        s.login_attempts_per_ip = 3;
    })
    .await;
    for n in 0..3 {
        register(&app, register_body(n, "Limited"))
            .await
            .expect(201);
    }
    let refused = register(&app, register_body(3, "Limited")).await;
    refused.expect(429);
    assert_eq!(refused.code(), "TOO_MANY_REQUESTS");
    assert!(refused.headers.contains_key("retry-after"));
    // Nothing was created for the refused one.
    app.sign_in("burst3@example.com", PASSWORD)
        .await
        .expect(401);

    // Guessing reset tokens is counted like sign-ins (the sign-in above was one).
    let reset = |token: &'static str| {
        app.call(
            Method::POST,
            "/api/v1/auth/reset-password",
            As::Nobody,
            None,
            Some(json!({ "token": token, "newPassword": "another good passphrase" })),
        )
    };
    reset("guess-1").await.expect(400);
    reset("guess-2").await.expect(400);
    let limited = reset("guess-3").await;
    limited.expect(429);
    assert!(limited.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn farms_signed_up_at_once_under_one_name_each_get_a_subdomain_of_their_own() {
    let app = TestApp::spawn_with(|s| s.sign_ups_per_ip = 10_000).await;
    let burst: Vec<_> = (0..40)
        .map(|n| register(&app, register_body(n, "Same Name Prints")))
        .collect();
    let answers = futures::future::join_all(burst).await;
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|a| a.status != 201)
        .map(|a| &a.body)
        .collect();
    assert!(refused.is_empty(), "no sign-up is refused: {refused:?}");
    let subdomains: HashSet<&str> = answers
        .iter()
        .filter_map(|a| a.data()["tenant"]["subdomain"].as_str())
        .collect();
    assert_eq!(subdomains.len(), 40, "distinct subdomains: {subdomains:?}");
    assert!(subdomains.contains("same-name-prints"));
    assert!(subdomains.iter().all(|s| s.starts_with("same-name-prints")));
    // A subdomain the user chose and that is taken is still theirs to change.
    let mut chosen = register_body(99, "Another");
    chosen["subdomain"] = json!("same-name-prints");
    let taken = register(&app, chosen).await;
    taken.expect(409);
    assert_eq!(taken.code(), "SUBDOMAIN_TAKEN");
}

#[tokio::test]
async fn printers_added_at_once_by_many_clients_get_distinct_numbers() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("racks").await;
    let clients: Vec<_> = (0..20)
        .map(|client| {
            let (app, owner, farm) = (&app, &owner, &farm);
            async move {
                let mut statuses = Vec::new();
                for n in 0..20 {
                    let answer = app
                        .post(
                            "/api/v1/printers",
                            &owner.token,
                            Some(farm),
                            json!({ "name": format!("P-{client}-{n}"), "model": "P1S" }),
                        )
                        .await;
                    statuses.push((answer.status.as_u16(), answer.code().to_string()));
                }
                statuses
            }
        })
        .collect();
    let statuses: Vec<(u16, String)> = futures::future::join_all(clients)
        .await
        .into_iter()
        .flatten()
        .collect();
    let failed: Vec<_> = statuses.iter().filter(|(s, _)| *s != 201).collect();
    assert!(
        failed.is_empty(),
        "{} of 400 refused: {failed:?}",
        failed.len()
    );
    let mut numbers = HashSet::new();
    for page in 1..=2 {
        let list = app
            .get(
                &format!("/api/v1/printers?limit=200&page={page}"),
                &owner.token,
                Some(&farm),
            )
            .await;
        numbers.extend(
            list.data()
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p["printer_id"].as_i64()),
        );
    }
    assert_eq!(numbers, (1..=400).collect::<HashSet<i64>>());
}

#[tokio::test]
async fn printers_with_and_without_optional_numbers_in_turn_are_all_created() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("nozzles").await;
    for n in 0..12 {
        let mut body = json!({ "name": format!("P1S-{n:02}"), "model": "P1S" });
        if n % 2 == 1 {
            body["nozzle_size"] = json!(0.4);
        }
        let created = app
            .post("/api/v1/printers", &owner.token, Some(&farm), body)
            .await;
        created.expect(201);
        let id = created.data()["id"].as_str().unwrap().to_string();
        let nozzle = if n % 3 == 0 { json!(0.6) } else { Value::Null };
        app.put(
            &format!("/api/v1/printers/{id}"),
            &owner.token,
            Some(&farm),
            json!({ "nozzle_size": nozzle, "location": format!("shelf {n}") }),
        )
        .await
        .expect(200);
        let read = app
            .get(&format!("/api/v1/printers/{id}"), &owner.token, Some(&farm))
            .await;
        let expected = match (n % 3 == 0, n % 2 == 1) {
            (true, _) => json!(0.6),
            (false, true) => json!(0.4),
            (false, false) => Value::Null,
        };
        assert_eq!(read.data()["nozzle_size"], expected, "printer {n}");
    }
}

/// A path with its `{…}` parameters filled from `ids`.
fn fill(path: &str, ids: &[(&str, String)]) -> String {
    let mut filled = path.to_string();
    for (name, value) in ids {
        filled = filled.replace(&format!("{{{name}}}"), value);
    }
    filled
}

/// The variants of an example body: whole, and each field left out, null, or of another type.
fn variants(example: &Value) -> Vec<Value> {
    let mut out = vec![example.clone()];
    if let Some(object) = example.as_object() {
        for (key, value) in object {
            let mut without = object.clone();
            without.remove(key);
            out.push(Value::Object(without));
            let mut null = object.clone();
            null.insert(key.clone(), Value::Null);
            out.push(Value::Object(null));
            let mut other = object.clone();
            let other_type = match value {
                Value::String(_) => json!(7),
                Value::Number(_) => json!("seven"),
                Value::Bool(_) => json!("yes"),
                Value::Array(_) => json!({}),
                _ => json!([]),
            };
            other.insert(key.clone(), other_type);
            out.push(Value::Object(other));
        }
    }
    out
}

/// Every documented route with an example body, sent each variant of it twice, in turns
/// (so one prepared statement meets every shape of the binds): never a 5xx, always the
/// envelope. Failed on PostgreSQL before binds had one type per statement.
#[tokio::test]
async fn every_route_answers_variants_of_its_example_body_without_a_server_error() {
    // Routes that call Shopify reach a fake shop on loopback (which refuses the example's
    // credentials), never the internet.
    let shop = shopify::fake::FakeShop::start().await.unwrap();
    let shop_url = shop.base_url();
    let app = TestApp::spawn_with(|s| {
        s.shopify_api_url = Some(shop_url);
        s.sign_ups_per_ip = 10_000;
        s.login_attempts_per_ip = 10_000;
        s.login_failures_per_account = 10_000;
    })
    .await;
    let (owner, farm) = app.signed_up_owner("fuzz").await;
    let (hub_id, _) = app.register_hub(&owner, &farm, "Rack F").await;
    let printer_id = app
        .add_printer(
            &owner,
            &farm,
            json!({ "name": "F-01", "model": "P1S", "hub_id": hub_id }),
        )
        .await;
    let file_id = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            Some(&farm),
            json!({ "print_file_id": file_id }),
        )
        .await;
    let job_id = job.data()["id"].as_str().unwrap().to_string();
    let ids = [
        ("tenant_id", farm.clone()),
        ("printer_id", printer_id),
        ("hub_id", hub_id),
        ("file_id", file_id),
        ("job_id", job_id),
        ("user_id", owner.id.clone()),
        ("version_number", "1".to_string()),
        ("token_id", uuid_like()),
        ("message_id", uuid_like()),
        ("token", "not-a-token".to_string()),
        ("file_name", "none.png".to_string()),
    ];
    let document = app
        .call(Method::GET, "/api/v1/openapi.json", As::Nobody, None, None)
        .await;
    let mut sent = 0;
    let mut failures = Vec::new();
    for (path, item) in document.body["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(example) = operation["requestBody"]["content"]["application/json"]["example"]
                .as_object()
                .map(|o| Value::Object(o.clone()))
            else {
                continue;
            };
            // Signing out or changing the owner's own role would end the run's own access.
            if path.ends_with("/sign-out") || path.contains("/members/{user_id}") {
                continue;
            }
            let method: Method = method.to_uppercase().parse().unwrap();
            let url = fill(path, &ids);
            let shapes = variants(&example);
            for round in 0..2 {
                for shape in &shapes {
                    let answer = app
                        .call(
                            method.clone(),
                            &url,
                            As::Bearer(&owner.token),
                            Some(&farm),
                            Some(shape.clone()),
                        )
                        .await;
                    sent += 1;
                    if answer.status.is_server_error() || answer.body["success"].as_bool().is_none()
                    {
                        failures.push(format!(
                            "round {round}: {method} {url} {shape} -> {} {}",
                            answer.status, answer.body
                        ));
                    }
                }
            }
        }
    }
    assert!(sent > 300, "only {sent} requests were sent");
    assert!(
        failures.is_empty(),
        "{} of {sent} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn uuid_like() -> String {
    "0f8fad5b-d9cb-469f-a165-70867728950e".to_string()
}

/// Modes of everything under `dir`, recursively.
#[cfg(unix)]
fn modes(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, u32, bool)>) {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        let mode = meta.permissions().mode() & 0o777;
        out.push((entry.path(), mode, meta.is_dir()));
        if meta.is_dir() {
            modes(&entry.path(), out);
        }
    }
}

#[cfg(unix)]
#[tokio::test]
async fn nothing_in_the_data_directory_is_readable_by_other_local_users() {
    use std::os::unix::fs::PermissionsExt;
    // On SQLite the database lives in the data directory, as it does by default.
    let sqlite = std::env::var("PRINTFARM_TEST_DATABASE_URL").map_or(true, |u| u.is_empty());
    let app = TestApp::spawn_with(|s| {
        if sqlite {
            s.database_url = None;
        }
    })
    .await;
    let (owner, farm) = app.signed_up_owner("modes").await;
    app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    app.call(
        Method::POST,
        "/api/v1/auth/forget-password",
        As::Nobody,
        None,
        Some(json!({ "email": owner.email })),
    )
    .await
    .expect(200);
    let data = app.data_dir.path().join("data");
    let mail = app.mail_to(&owner.email).await;
    assert!(mail.contains("token="));
    let mut found = Vec::new();
    modes(&data, &mut found);
    let names: Vec<String> = found
        .iter()
        .map(|(p, _, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with(".eml")),
        "an outbox mail: {names:?}"
    );
    assert!(
        names.iter().any(|n| n.ends_with(".3mf")),
        "a stored print file: {names:?}"
    );
    if sqlite {
        assert!(names.iter().any(|n| n == "printfarm.db"), "{names:?}");
        assert!(names.iter().any(|n| n == "printfarm.db-wal"), "{names:?}");
    }
    let open: Vec<_> = found
        .iter()
        .filter(|(_, mode, is_dir)| mode & 0o077 != 0 || (*is_dir && *mode != 0o700))
        .collect();
    assert!(open.is_empty(), "readable by others: {open:?}");
    let top = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(top, 0o700);
}

#[cfg(unix)]
#[tokio::test]
async fn a_data_directory_left_readable_by_an_older_version_is_made_private_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("outbox")).unwrap();
    std::fs::write(data.join("outbox/old.eml"), "token=abc").unwrap();
    std::fs::write(data.join("printfarm.db-wal"), "").unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(data.join("outbox"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        data.join("printfarm.db-wal"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let settings = server::Settings {
        data_dir: data.clone(),
        ..server::Settings::default()
    };
    settings.prepare_data_dir().unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("outbox")), 0o700);
    assert_eq!(mode(&data.join("printfarm.db-wal")), 0o600);
    assert_eq!(mode(&data.join("encryption.key")), 0o600);
}

/// Reads until the server closes the connection (EOF or reset); fails after `deadline`.
async fn closed_within(stream: &mut TcpStream, deadline: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(deadline, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open past {deadline:?}"
    );
    got
}

fn address(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

#[tokio::test]
async fn slow_headers_and_idle_connections_are_closed() {
    let app = TestApp::spawn_with(|s| s.header_timeout_secs = 1).await;
    let addr = address(&app);

    // A header that never ends.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    closed_within(&mut slow, Duration::from_secs(15)).await;

    // A connection that never says anything.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    closed_within(&mut silent, Duration::from_secs(15)).await;

    // A keep-alive connection left idle after its answer.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = closed_within(&mut idle, Duration::from_secs(15)).await;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "it was answered first: {}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn connections_past_the_limit_wait_until_one_closes() {
    let app = TestApp::spawn_with(|s| {
        s.max_connections = 8;
        s.header_timeout_secs = 2;
    })
    .await;
    let addr = address(&app);
    // Eight silent connections take every place.
    let mut silent = Vec::new();
    for _ in 0..8 {
        silent.push(TcpStream::connect(&addr).await.unwrap());
    }
    // A ninth is taken in by the kernel but not served while the eight are open.
    let mut ninth = TcpStream::connect(&addr).await.unwrap();
    ninth
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = closed_within(&mut ninth, Duration::from_secs(20)).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    // It was answered only once the header timeout had closed a silent one.
    let mut closed = 0;
    for stream in &mut silent {
        let mut buf = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf)).await
        {
            closed += 1;
        }
    }
    assert!(closed > 0, "the ninth was served while all eight were open");
}
