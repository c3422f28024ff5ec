//! `printfarm demo`: a new user runs one command and a farm prints by itself — jobs start
//! on cleared beds, finish, beds are cleared and the next jobs start.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_demo_farm_prints_clears_beds_and_starts_the_next_jobs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_printfarm"))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--printers",
            "2",
            "--time-scale",
            "300",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("demo"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("printfarm demo starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("a line");
        lines.push(line);
    }
    // "PrintFarm demo is running: open http://127.0.0.1:PORT/printers in a browser"
    let base = lines[0]
        .split("open ")
        .nth(1)
        .and_then(|rest| rest.split("/printers").next())
        .expect("the URL first")
        .trim()
        .to_string();
    assert!(
        lines[1].contains("demo@printfarm.local"),
        "the login is printed: {lines:?}"
    );

    // One crypto provider for the test's HTTP client, as the binary installs at start.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let finished = runtime.block_on(async {
        let client = reqwest::Client::new();
        // The URL it prints opens on the sign-in page with the demo farm one click away.
        let page = client
            .get(format!("{base}/sign-in?next=/printers"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("Open the demo farm"), "{page}");
        let signed_in: Value = client
            .post(format!("{base}/api/v1/auth/sign-in/email"))
            .json(&serde_json::json!({ "email": "demo@printfarm.local", "password": "print-farm-demo" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = signed_in["data"]["token"].as_str().unwrap().to_string();
        let farms: Value = client
            .get(format!("{base}/api/v1/tenants"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let farm = farms["data"][0]["id"].as_str().unwrap().to_string();
        // Two printers: more than two completed jobs means a bed was cleared and reused.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let stats: Value = client
                .get(format!("{base}/api/v1/jobs/stats"))
                .bearer_auth(&token)
                .header("x-tenant-id", &farm)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let completed = stats["data"]["by_status"]["completed"].as_i64().unwrap_or(0);
            if completed > 2 {
                return stats;
            }
            assert!(Instant::now() < deadline, "the demo farm did not keep printing: {stats}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    assert_eq!(finished["data"]["by_status"]["failed"], 0);
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().expect("the demo stops");
    assert!(status.success(), "a clean stop on SIGTERM: {status:?}");
}
