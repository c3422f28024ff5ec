//! Moving farms and installations, run as the real commands.
//!
//! - `printfarm export` and `printfarm import --from`: a farm made through the API and the
//!   Pi import on a SQLite server is exported, restored into an empty server on another
//!   database (PostgreSQL with PRINTFARM_TEST_DATABASE_URL), and both servers answer every
//!   list route the same.
//! - `printfarm backup` and `printfarm restore`: an installation backed up while it runs
//!   (on PostgreSQL with PRINTFARM_TEST_DATABASE_URL, else SQLite) restores onto an empty
//!   one that answers the same; every unsafe restore is refused before anything changes.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

mod common;
use common::{PASSWORD, Running, fixture, printfarm, printfarm_with, sign_in};

/// A farm registered through the API and filled by the Pi import (its catalogue, two
/// printers, three jobs, a print file with contents): its id and subdomain.
async fn farm_from_the_pi(base: &str, data: &Path, url: &str) -> (String, String) {
    let http = reqwest::Client::new();
    let registered: Value = http
        .post(format!("{base}/api/v1/auth/register"))
        .json(
            &json!({ "email": "owner@example.com", "password": PASSWORD, "name": "Olga",
                       "company_name": "Copy Farm" }),
        )
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let farm = registered["data"]["tenant"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("registered: {registered}"))
        .to_string();
    let subdomain = registered["data"]["tenant"]["subdomain"]
        .as_str()
        .expect("subdomain")
        .to_string();
    let pi_files = tempfile::tempdir().expect("dir");
    std::fs::copy(
        fixture("3mf/sample-d.3mf"),
        pi_files
            .path()
            .join("3fab2973-5689-4ef9-9633-ab235b9be4ba.3mf"),
    )
    .expect("copy");
    let pi = fixture("legacy-pi/tenant.db");
    printfarm(
        &[
            "import-pi",
            "--db",
            pi.to_str().expect("path"),
            "--files",
            pi_files.path().to_str().expect("path"),
            "--farm",
            &subdomain,
        ],
        data,
        url,
    )
    .expect("the Pi import");
    (farm, subdomain)
}

/// The download-link route of a print file with contents.
async fn download_link_of_a_stored_file(owner: &common::Client) -> String {
    let files = owner.get("/api/v1/files").await.1["data"].clone();
    let stored_file = files
        .as_array()
        .and_then(|f| f.iter().find(|f| f["content_sha256"].is_string()))
        .and_then(|f| f["id"].as_str())
        .expect("a file with contents")
        .to_string();
    format!("/api/v1/files/{stored_file}/download-url")
}

/// Every list route the old client reads (api-routes.txt's GETs without a parameter),
/// and this server's own lists.
const LIST_ROUTES: &[&str] = &[
    "/api/v1/analytics/failures",
    "/api/v1/analytics/inventory",
    "/api/v1/analytics/overview",
    "/api/v1/analytics/printers",
    "/api/v1/analytics/production",
    "/api/v1/analytics/revenue",
    "/api/v1/assembly",
    "/api/v1/assembly/stats",
    "/api/v1/automation",
    "/api/v1/automation/action-types",
    "/api/v1/automation/trigger-types",
    "/api/v1/cameras",
    "/api/v1/colors",
    "/api/v1/colors/filament-types",
    "/api/v1/files",
    "/api/v1/hubs",
    "/api/v1/integrations",
    "/api/v1/integrations/shopify/settings",
    "/api/v1/integrations/shopify/status",
    "/api/v1/inventory",
    "/api/v1/inventory/alerts",
    "/api/v1/inventory/stats",
    "/api/v1/jobs",
    "/api/v1/jobs/history",
    "/api/v1/jobs/stats",
    "/api/v1/materials/components",
    "/api/v1/materials/filament",
    "/api/v1/materials/packaging",
    "/api/v1/materials/parts",
    "/api/v1/orders",
    "/api/v1/orders/stats",
    "/api/v1/plates",
    "/api/v1/printers",
    "/api/v1/products",
    "/api/v1/products/categories",
    "/api/v1/products/components/all",
    "/api/v1/skus",
    "/api/v1/skus/low-stock",
    "/api/v1/tenants",
    "/api/v1/tenants/hub-token",
    "/api/v1/wiki",
    "/api/v1/wiki/categories",
    "/api/v1/worklist",
    "/api/v1/worklist/stats",
    "/api/v1/notifications/channels",
    "/api/v1/notifications/log",
    "/api/v1/analytics/overview?period=365d",
    "/api/v1/jobs?limit=100",
    "/api/v1/assembly?limit=100",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_farm_exported_from_sqlite_restores_on_another_server_and_answers_the_same() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let source_dir = tempfile::tempdir().expect("dir");
    let source_url = format!(
        "sqlite://{}?mode=rwc",
        source_dir.path().join("printfarm.db").display()
    );
    let target = store::testing::TestDatabase::new().await;
    let target_dir = tempfile::tempdir().expect("dir");
    let exports = tempfile::tempdir().expect("dir");

    // The farm: an owner and an operator, the Pi fixture's catalogue, files and history,
    // and through the API the things with secrets (the hub token, a camera's password, a
    // webhook's secret), an order, a wiki page.
    let a = Running::start(source_dir.path(), &source_url).await;
    let (farm, subdomain) = farm_from_the_pi(&a.base, source_dir.path(), &source_url).await;
    let owner = sign_in(&a.base, "owner@example.com", &farm).await;
    let (_, hub_token) = owner.get("/api/v1/tenants/hub-token").await;
    let printers = owner.get("/api/v1/printers").await.1["data"].clone();
    let printer = printers[0]["id"].as_str().expect("a printer").to_string();
    let camera = owner
        .post(
            "/api/v1/cameras",
            json!({ "name": "Rack A", "camera_type": "mjpeg", "printer_id": printer,
                    "snapshot_url": "http://cam:s3cret-pass@192.0.2.20/snap.jpg" }),
        )
        .await;
    owner
        .post(
            "/api/v1/notifications/channels",
            json!({ "name": "Farm bot", "kind": "webhook", "url": "http://127.0.0.1:9/t/abc123",
                    "events": ["order_received"] }),
        )
        .await;
    owner
        .post(
            "/api/v1/orders",
            json!({ "customer_name": "Ada Lovelace", "customer_email": "ada@example.com",
                    "items": [{ "sku": "NOT-A-SKU", "product_name": "Mystery box", "quantity": 1, "unit_price": 300 }] }),
        )
        .await;
    owner
        .post(
            "/api/v1/wiki",
            json!({ "title": "Changing a nozzle", "content": "Heat it **first**.", "category": "Maintenance" }),
        )
        .await;
    let download = download_link_of_a_stored_file(&owner).await;

    // The webhook's one try made (refused on loopback): a dead letter, changed no more.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let log = owner.get("/api/v1/notifications/log").await.1;
        if log["data"][0]["status"] == "dead" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never tried: {log}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Export while the server runs: one snapshot.
    let out = exports.path().join("copy-farm");
    let out_arg = out.to_str().expect("path");
    let exported = printfarm(
        &["export", "--farm", &subdomain, "--out", out_arg],
        source_dir.path(),
        &source_url,
    )
    .expect("export");
    assert_eq!(exported["farm"]["id"], farm.as_str());
    assert_eq!(exported["tables"]["printers"], 2);
    assert_eq!(exported["tables"]["print_jobs"], 3);
    assert_eq!(exported["tables"]["users"], 1);
    assert!(exported["objects"].as_u64() >= Some(2), "{exported}");
    assert!(exported["sealed_secrets"].as_u64() >= Some(5), "{exported}");
    assert!(
        exported["unknown_tables"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "every table of the schema is copied or named: {exported}"
    );
    let key_file = exports.path().join("copy-farm.key");
    assert!(key_file.is_file(), "the key beside the folder, not in it");
    let folder_text: String = std::fs::read_dir(out.join("tables"))
        .expect("tables")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("read"))
        .collect();
    assert!(
        !folder_text.contains("12345678"),
        "no access code in the clear"
    );
    assert!(!folder_text.contains("s3cret-pass") && !folder_text.contains("abc123"));
    let again = printfarm(
        &["export", "--farm", &subdomain, "--out", out_arg],
        source_dir.path(),
        &source_url,
    )
    .expect_err("a folder in use");
    assert!(again.contains("is not empty"), "{again}");

    // Refused before anything is written: a wrong key, a damaged file.
    let wrong_key = exports.path().join("wrong.key");
    std::fs::write(&wrong_key, store::secrets::Cipher::generate_key()).expect("write");
    let err = printfarm(
        &[
            "import",
            "--from",
            out_arg,
            "--key-file",
            wrong_key.to_str().expect("p"),
        ],
        target_dir.path(),
        &target.url,
    )
    .expect_err("wrong key");
    assert!(err.contains("is not the key of this export"), "{err}");
    let damaged = exports.path().join("damaged");
    copy_dir(&out, &damaged);
    let jobs = damaged.join("tables/print_jobs.jsonl");
    let text = std::fs::read_to_string(&jobs).expect("read");
    std::fs::write(&jobs, text.replacen("completed", "cancelled", 1)).expect("write");
    let err = printfarm(
        &[
            "import",
            "--from",
            damaged.to_str().expect("p"),
            "--key-file",
            key_file.to_str().expect("p"),
        ],
        target_dir.path(),
        &target.url,
    )
    .expect_err("damaged");
    assert!(
        err.contains("print_jobs.jsonl is not the file the export wrote"),
        "{err}"
    );

    let restored = printfarm(
        &["import", "--from", out_arg],
        target_dir.path(),
        &target.url,
    )
    .expect("restore");
    let checks = restored["verification"].as_array().expect("checks");
    assert!(
        checks.len() > 30 && checks.iter().all(|c| c["ok"] == true),
        "{checks:?}"
    );
    assert_eq!(restored["sealed_secrets"], exported["sealed_secrets"]);
    let twice = printfarm(
        &["import", "--from", out_arg],
        target_dir.path(),
        &target.url,
    )
    .expect_err("the farm is there");
    assert!(
        twice.contains("has the farm") && twice.contains("nothing was restored"),
        "{twice}"
    );

    // Both servers answer the same.
    let b = Running::start(target_dir.path(), &target.url).await;
    let copy = sign_in(&b.base, "owner@example.com", &farm).await;
    let mut answered = 0;
    for route in LIST_ROUTES {
        let (status_a, body_a) = owner.get(route).await;
        let (status_b, body_b) = copy.get(route).await;
        assert_eq!(status_a, status_b, "{route}: {body_a} / {body_b}");
        answered += usize::from(status_a == 200);
        assert_eq!(timeless(body_a), timeless(body_b), "{route}");
    }
    // Only the shop's settings answer 404, for a farm without a shop.
    assert_eq!(answered, LIST_ROUTES.len() - 1);
    assert_eq!(
        copy.get("/api/v1/tenants/hub-token").await.1,
        hub_token,
        "the sealed token opens with the new server's key"
    );
    let camera_path = format!("/api/v1/cameras/{}", camera["id"].as_str().expect("camera"));
    assert_eq!(owner.get(&camera_path).await, copy.get(&camera_path).await);
    assert_eq!(
        owner.download(&download).await,
        copy.download(&download).await,
        "the print file's bytes"
    );
    for item in [
        "/api/v1/jobs",
        "/api/v1/products",
        "/api/v1/skus",
        "/api/v1/orders",
    ] {
        let list = owner.get(item).await.1["data"].clone();
        for row in list.as_array().expect("a list").iter().take(5) {
            let path = format!("{item}/{}", row["id"].as_str().expect("id"));
            assert_eq!(owner.get(&path).await, copy.get(&path).await, "{path}");
        }
    }
    b.stop().await;
    a.stop().await;
}

/// An answer without the moment it was made (`generated_at`), which no two servers share.
fn timeless(mut value: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("generated_at");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installation_backed_up_while_it_runs_restores_onto_an_empty_one_that_answers_the_same()
{
    let _ = rustls::crypto::ring::default_provider().install_default();
    let source = store::testing::TestDatabase::new().await;
    let source_dir = tempfile::tempdir().expect("dir");
    let backups = tempfile::tempdir().expect("dir");
    let a = Running::start(source_dir.path(), &source.url).await;
    let (farm, _) = farm_from_the_pi(&a.base, source_dir.path(), &source.url).await;
    let owner = sign_in(&a.base, "owner@example.com", &farm).await;
    let (_, hub_token) = owner.get("/api/v1/tenants/hub-token").await;
    let download = download_link_of_a_stored_file(&owner).await;

    // Backed up while the server runs.
    let folder = backups.path().join("nightly");
    let folder_arg = folder.to_str().expect("path");
    let report = printfarm(
        &["backup", "--to", folder_arg],
        source_dir.path(),
        &source.url,
    )
    .expect("backup");
    let latest = store::backup::latest_migration();
    assert_eq!(report["database"]["schema_version"], latest);
    assert!(report["objects"].as_u64() >= Some(2), "{report}");
    assert_eq!(report["key_included"], true);
    let again = printfarm(
        &["backup", "--to", folder_arg],
        source_dir.path(),
        &source.url,
    )
    .expect_err("the folder is in use");
    assert!(again.contains("is not empty"), "{again}");
    let manifest = std::fs::read_to_string(folder.join("backup.json")).expect("manifest");
    let key = std::fs::read_to_string(source_dir.path().join("encryption.key")).expect("key");
    assert!(
        !manifest.contains(key.trim()),
        "the manifest names the key, never holds it"
    );

    // Refused, and nothing changed: onto the running server, with a damaged object, with
    // the wrong key in the settings.
    let running = printfarm(
        &["restore", "--from", folder_arg, "--replace"],
        source_dir.path(),
        &source.url,
    )
    .expect_err("a server runs there");
    assert!(running.contains("a server is running"), "{running}");
    let target = store::testing::TestDatabase::empty().await;
    let target_dir = tempfile::tempdir().expect("dir");
    let damaged = backups.path().join("damaged");
    copy_dir(&folder, &damaged);
    let object = manifest_object(&damaged);
    let mut bytes = std::fs::read(&object).expect("object");
    bytes[0] ^= 0xff;
    std::fs::write(&object, bytes).expect("write");
    let err = printfarm(
        &["restore", "--from", damaged.to_str().expect("path")],
        target_dir.path(),
        &target.url,
    )
    .expect_err("damaged");
    assert!(err.contains("is not the object"), "{err}");
    let other_key = store::secrets::Cipher::generate_key();
    let err = printfarm_with(
        &["restore", "--from", folder_arg],
        target_dir.path(),
        &target.url,
        &[("PRINTFARM_ENCRYPTION_KEY", &other_key)],
    )
    .expect_err("the wrong key");
    assert!(err.contains("is not the backup's"), "{err}");
    let untouched = store::backup::inspect(&target.url, &store::now_text())
        .await
        .expect("inspect");
    assert_eq!(untouched.tables, 0, "a refused restore writes nothing");

    // Restored onto an empty installation.
    let restored = printfarm(
        &["restore", "--from", folder_arg],
        target_dir.path(),
        &target.url,
    )
    .expect("restore");
    assert_eq!(restored["schema_version_after"], latest);
    assert_eq!(restored["objects"], report["objects"]);
    let rows: std::collections::HashMap<String, i64> =
        serde_json::from_value(restored["rows"].clone())
            .map(|pairs: Vec<(String, i64)>| pairs.into_iter().collect())
            .expect("rows");
    assert_eq!(rows["printers"], 2);
    assert_eq!(rows["print_jobs"], 3);
    let twice = printfarm(
        &["restore", "--from", folder_arg],
        target_dir.path(),
        &target.url,
    )
    .expect_err("the installation is there");
    assert!(twice.contains("--replace"), "{twice}");

    // It answers as the original did: the same rows, the file's bytes, the sealed token.
    let b = Running::start(target_dir.path(), &target.url).await;
    let copy = sign_in(&b.base, "owner@example.com", &farm).await;
    for route in LIST_ROUTES {
        let (status_a, body_a) = owner.get(route).await;
        let (status_b, body_b) = copy.get(route).await;
        assert_eq!(status_a, status_b, "{route}");
        assert_eq!(timeless(body_a), timeless(body_b), "{route}");
    }
    assert_eq!(copy.get("/api/v1/tenants/hub-token").await.1, hub_token);
    assert_eq!(
        owner.download(&download).await,
        copy.download(&download).await,
        "the print file's bytes"
    );
    b.stop().await;
    a.stop().await;
}

/// The file of the first object a backup folder's manifest lists.
fn manifest_object(folder: &Path) -> PathBuf {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(folder.join("backup.json")).expect("manifest"))
            .expect("json");
    let key = manifest["objects"][0]["key"].as_str().expect("an object");
    folder.join("objects").join(key)
}
