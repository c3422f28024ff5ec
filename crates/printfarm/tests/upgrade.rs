//! Upgrades: each database an earlier release made (tests/upgrade/schema-N.sqlite, a farm's
//! real rows: see make.sh there) is built at that release's schema, on SQLite or on
//! PostgreSQL with PRINTFARM_TEST_DATABASE_URL, filled with those rows and brought to this
//! release's schema as a server start does. No migration may lose a row, and the server
//! answers from the upgraded database, its sealed secrets included.

use std::path::{Path, PathBuf};

use sqlx::Connection;

mod common;
use common::{Running, sign_in};

/// The earlier releases' databases, with the newest migration each was made at.
fn earlier_releases() -> Vec<(i64, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/upgrade");
    let mut found: Vec<(i64, PathBuf)> = std::fs::read_dir(&dir)
        .expect("tests/upgrade")
        .filter_map(|entry| {
            let path = entry.expect("entry").path();
            let name = path.file_name()?.to_str()?.to_string();
            let version = name.strip_prefix("schema-")?.strip_suffix(".sqlite")?;
            Some((version.parse().ok()?, path))
        })
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_earlier_releases_database_upgrades_to_this_schema_without_losing_a_row() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let releases = earlier_releases();
    assert!(!releases.is_empty(), "no earlier release's database");
    let latest = store::backup::latest_migration();
    for (version, fixture) in releases {
        assert!(
            version <= latest,
            "{} is newer than this release",
            fixture.display()
        );
        // Read from a copy: even reading a SQLite file may leave a journal beside it.
        let scratch = tempfile::tempdir().expect("dir");
        let source = scratch.path().join("release.sqlite");
        std::fs::copy(&fixture, &source).expect("copy");
        let source_url = format!("sqlite://{}", source.display());

        let target = store::testing::TestDatabase::empty().await;
        store::testing::migrate_to(&target.url, version).await;
        let copied = store::testing::copy_rows(&source_url, &target.url).await;
        let before = store::testing::row_counts(&target.url).await;
        assert_eq!(
            before, copied,
            "schema {version}: every row of the release is in"
        );
        assert!(
            before["print_jobs"] > 0 && before["orders"] > 0,
            "{before:?}"
        );

        // The upgrade, as a server start makes it.
        let upgraded = store::Store::open(&target.url).await.expect("the upgrade");
        upgraded.close().await;
        let after = store::testing::row_counts(&target.url).await;
        for (table, rows) in &before {
            let now = after.get(table).copied().unwrap_or(0);
            assert!(
                now >= *rows,
                "schema {version} → {latest}: {table} had {rows} rows and has {now}"
            );
        }
        let found = store::backup::inspect(&target.url, &store::now_text())
            .await
            .expect("inspect");
        assert_eq!(found.schema_version, Some(latest));

        // The server runs on it with the release's key, and answers what the farm had.
        let data = tempfile::tempdir().expect("dir");
        let key = fixture.with_extension("key");
        std::fs::copy(&key, data.path().join("encryption.key")).expect("the key");
        store::backup::end_leases(&target.url, &store::now_text())
            .await
            .expect("leases");
        let server = Running::start(data.path(), &target.url).await;
        let farm = {
            let mut conn = sqlx::AnyConnection::connect(&target.url).await.expect("db");
            let id: String = sqlx::query_scalar("SELECT id FROM tenants")
                .fetch_one(&mut conn)
                .await
                .expect("the farm");
            id
        };
        let owner = sign_in(&server.base, "owner@example.com", &farm).await;
        for (route, rows) in [
            ("/api/v1/printers", before["printers"]),
            ("/api/v1/orders", before["orders"]),
            ("/api/v1/wiki", before["wiki_articles"]),
            ("/api/v1/automation", before["automation_rules"]),
            (
                "/api/v1/notifications/channels",
                before["notification_channels"],
            ),
        ] {
            let (status, body) = owner.get(route).await;
            assert_eq!(status, 200, "{route}: {body}");
            let listed = body["data"].as_array().map_or(0, Vec::len) as u64;
            assert_eq!(listed, rows, "{route}: {body}");
        }
        let (status, jobs) = owner.get("/api/v1/jobs?limit=100").await;
        assert_eq!(status, 200, "{jobs}");
        assert_eq!(
            jobs["data"].as_array().map_or(0, Vec::len) as u64,
            before["print_jobs"]
        );
        // A sealed secret opens with the release's key: the camera's snapshot URL.
        let (_, cameras) = owner.get("/api/v1/cameras").await;
        let camera = cameras["data"][0]["id"].as_str().expect("a camera");
        let (status, camera) = owner.get(&format!("/api/v1/cameras/{camera}")).await;
        assert_eq!(status, 200, "{camera}");
        assert!(
            camera.to_string().contains("192.0.2.20"),
            "the camera's address: {camera}"
        );
        server.stop().await;
    }
}
