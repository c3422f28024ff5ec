//! `printfarm import-pi` on the legacy Pi fixture, run as the real command against a fresh
//! database (SQLite, or PostgreSQL with PRINTFARM_TEST_DATABASE_URL).

use std::path::Path;

use serde_json::Value;

mod common;
use common::fixture;

/// Runs `printfarm import-pi` with `args` on the data directory and database; the JSON
/// report on success, the error text on failure.
fn import(data: &Path, url: &str, args: &[&str]) -> Result<Value, String> {
    let args: Vec<&str> = std::iter::once("import-pi")
        .chain(args.iter().copied())
        .collect();
    common::printfarm(&args, data, url)
}

fn counts(report: &Value, table: &str) -> (u64, u64, u64, u64) {
    let t = &report["tables"][table];
    let n = |k: &str| t[k].as_u64().unwrap_or(u64::MAX);
    (n("read"), n("inserted"), n("updated"), n("unchanged"))
}

async fn one(store: &store::Store, sql: &str) -> i64 {
    let mut conn = store.conn().await.expect("conn");
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut *conn)
        .await
        .expect(sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pi_fixture_imports_verifies_and_a_second_run_changes_nothing() {
    let database = store::testing::TestDatabase::new().await;
    let data = tempfile::tempdir().expect("data dir");
    let files = tempfile::tempdir().expect("files dir");
    // The fixture's bag clip file, and one file that is not a 3MF; the rest are missing.
    std::fs::copy(
        fixture("3mf/sample-d.3mf"),
        files
            .path()
            .join("3fab2973-5689-4ef9-9633-ab235b9be4ba.3mf"),
    )
    .expect("copy");
    std::fs::write(
        files
            .path()
            .join("8f4ea566-8e75-4a70-8c37-06de6ae2a3fc.3mf"),
        b"not a zip",
    )
    .expect("write");
    let db = fixture("legacy-pi/tenant.db");
    let db = db.to_str().expect("path");
    let files_arg = files.path().to_str().expect("path");

    // The owner must have an account; the store makes one as sign-up would.
    let store = store::Store::open(&database.url).await.expect("store");
    {
        let mut conn = store.conn().await.expect("conn");
        store::users::create(
            &mut conn,
            "owner@example.com",
            "Owner",
            None,
            "2026-01-01T00:00:00.000Z",
        )
        .await
        .expect("user");
    }

    // Bad input is refused before anything is written.
    let base = ["--farm", "Pi Farm", "--owner", "owner@example.com"];
    let not_sqlite = import(
        data.path(),
        &database.url,
        &[&["--db", env!("CARGO_MANIFEST_DIR")][..], &base].concat(),
    );
    assert!(not_sqlite.is_err_and(|e| e.contains("cannot read") || e.contains("not a SQLite")));
    let text = files.path().join("notes.txt");
    std::fs::write(&text, "hello").expect("write");
    let err = import(
        data.path(),
        &database.url,
        &[&["--db", text.to_str().expect("p")][..], &base].concat(),
    )
    .expect_err("refused");
    assert!(err.contains("is not a SQLite database"), "{err}");
    let err = import(
        data.path(),
        &database.url,
        &[&["--db", db, "--files", "/nonexistent/pi-files"][..], &base].concat(),
    )
    .expect_err("refused");
    assert!(err.contains("print files folder"), "{err}");
    let other = files.path().join("other.db");
    {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", other.display()))
            .await
            .expect("sqlite");
        sqlx::query("CREATE TABLE cameras (id TEXT, url TEXT)")
            .execute(&pool)
            .await
            .expect("create");
        pool.close().await;
    }
    let err = import(
        data.path(),
        &database.url,
        &[&["--db", other.to_str().expect("p")][..], &base].concat(),
    )
    .expect_err("refused");
    assert!(
        err.contains("printers (id, name, model)") && err.contains("its tables: cameras"),
        "{err}"
    );
    assert_eq!(
        one(&store, "SELECT COUNT(*) FROM tenants").await,
        0,
        "nothing written"
    );

    // A dry run reports everything and writes nothing.
    let dry = import(
        data.path(),
        &database.url,
        &[&["--db", db, "--files", files_arg, "--dry-run"][..], &base].concat(),
    )
    .expect("dry run");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(counts(&dry, "printers"), (2, 2, 0, 0));
    assert!(dry["verification"].is_null());
    assert_eq!(one(&store, "SELECT COUNT(*) FROM tenants").await, 0);
    assert_eq!(one(&store, "SELECT COUNT(*) FROM printers").await, 0);

    let first = import(
        data.path(),
        &database.url,
        &[&["--db", db, "--files", files_arg][..], &base].concat(),
    )
    .expect("import");
    assert_eq!(first["farm"]["created"], true);
    for (table, n) in [
        ("printers", 2),
        ("products", 5),
        ("print_files", 6),
        ("product_skus", 13),
        ("print_jobs", 3),
        ("finished_goods", 13),
        ("assembly_tasks", 42),
        ("worklist_tasks", 4),
        ("color_presets", 12),
        ("build_plate_types", 2),
    ] {
        assert_eq!(counts(&first, table), (n, n, 0, 0), "{table}");
    }
    let checks = first["verification"].as_array().expect("verification");
    assert!(
        checks.len() > 30 && checks.iter().all(|c| c["ok"] == true),
        "{checks:?}"
    );
    assert_eq!(first["files"]["stored"], 1);
    assert_eq!(first["files"]["unreadable"], 1);
    assert_eq!(first["files"]["missing"], 4);
    assert!(first["schema"]["not_imported"]["sync_logs"].is_string());
    // Every change is in the changes file, one JSON line each; the report counts them.
    let listed = first["changes"]["file"].as_str().expect("a changes file");
    let changes: Vec<Value> = std::fs::read_to_string(listed)
        .expect("the changes file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(first["changes"]["total"], changes.len());
    let rule = |r: &str| changes.iter().filter(|c| c["rule"] == r).count();
    let grouped = |r: &str| {
        first["changes"]["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .filter(|g| g["rule"] == r)
            .map(|g| g["count"].as_u64().unwrap_or(0) as usize)
            .sum::<usize>()
    };
    assert_eq!(
        grouped("printer models given as codes"),
        rule("printer models given as codes")
    );
    assert_eq!(rule("SKU code used by another SKU: numbered"), 2);
    assert_eq!(rule("printer models given as codes"), 3);
    assert!(rule("empty text is null") > 0);

    // What the farm holds: the access codes sealed, the SKU codes unique, the file's
    // contents stored with a thumbnail, the jobs' times in the one UTC format.
    let farm = first["farm"]["id"].as_str().expect("farm id");
    assert_eq!(one(&store, &format!("SELECT COUNT(*) FROM printers WHERE tenant_id = '{farm}' AND access_code = '12345678'")).await, 0);
    assert_eq!(one(&store, &format!("SELECT COUNT(*) FROM printers WHERE tenant_id = '{farm}' AND access_code IS NOT NULL AND status = 'offline'")).await, 2);
    assert_eq!(
        one(
            &store,
            &format!("SELECT COUNT(DISTINCT sku) FROM product_skus WHERE tenant_id = '{farm}'")
        )
        .await,
        13
    );
    assert_eq!(one(&store, &format!("SELECT COUNT(*) FROM print_files WHERE tenant_id = '{farm}' AND thumbnail_r2_key IS NOT NULL AND file_size_bytes = 1090616")).await, 1);
    assert_eq!(one(&store, &format!("SELECT COUNT(*) FROM print_jobs WHERE tenant_id = '{farm}' AND time_completed LIKE '2025-1_-__T__:__:__.___Z' AND status = 'completed'")).await, 3);
    assert_eq!(
        one(
            &store,
            &format!(
                "SELECT COUNT(*) FROM tenant_members WHERE tenant_id = '{farm}' AND role = 'owner'"
            )
        )
        .await,
        1
    );

    // A second run finds every row and changes nothing.
    let second = import(
        data.path(),
        &database.url,
        &[&["--db", db, "--files", files_arg, "--farm", "Pi Farm"][..]].concat(),
    )
    .expect("again");
    assert_eq!(second["farm"]["id"], first["farm"]["id"]);
    for table in [
        "printers",
        "products",
        "print_files",
        "product_skus",
        "print_jobs",
        "finished_goods",
        "assembly_tasks",
    ] {
        let (read, inserted, updated, unchanged) = counts(&second, table);
        assert_eq!((inserted, updated, unchanged), (0, 0, read), "{table}");
    }
    assert_eq!(second["files"]["unchanged"], 1);
    assert_eq!(one(&store, &format!("SELECT COUNT(*) FROM print_file_versions v JOIN print_files f ON f.id = v.print_file_id WHERE f.tenant_id = '{farm}'")).await, 1);

    // A Pi changed since (an older release without two tables, with a table and a column
    // PrintFarm does not know, a product renamed): recognised, and only the change written.
    let older = files.path().join("older.db");
    std::fs::copy(fixture("legacy-pi/tenant.db"), &older).expect("copy");
    {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", older.display()))
            .await
            .expect("sqlite");
        for sql in [
            "DROP TABLE worklist_tasks",
            "DROP TABLE color_presets",
            "CREATE TABLE camera_feeds (id TEXT PRIMARY KEY, url TEXT)",
            "ALTER TABLE printers ADD COLUMN nickname TEXT",
            "UPDATE products SET name = 'Bag Clip XL' WHERE name = 'Bag Clip'",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .expect(sql);
        }
        pool.close().await;
    }
    let third = import(
        data.path(),
        &database.url,
        &["--db", older.to_str().expect("p"), "--farm", "Pi Farm"],
    )
    .expect("older release");
    assert_eq!(
        third["schema"]["missing_tables"],
        serde_json::json!(["color_presets", "worklist_tasks"])
    );
    assert_eq!(
        third["schema"]["unknown_tables"],
        serde_json::json!(["camera_feeds"])
    );
    assert_eq!(
        third["schema"]["unknown_columns"]["printers"],
        serde_json::json!(["nickname"])
    );
    assert_eq!(counts(&third, "products"), (5, 0, 1, 4));
    assert_eq!(
        one(
            &store,
            &format!(
                "SELECT COUNT(*) FROM products WHERE tenant_id = '{farm}' AND name = 'Bag Clip XL'"
            )
        )
        .await,
        1
    );
    store.close().await;
}
