//! `printfarm serve` on a fresh machine: no settings, an empty directory, ready at once,
//! and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A plain HTTP/1.1 GET; returns the status line and body.
fn get(addr: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer.lines().next().unwrap_or_default().to_string();
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

#[test]
fn serve_starts_with_no_settings_in_an_empty_directory_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_printfarm"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("PRINTFARM_DATABASE_URL")
        .env_remove("PRINTFARM_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("printfarm starts");
    let stdout = child.stdout.take().expect("stdout");
    // Kept open until the end: the server may still write to its stdout.
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    stdout.read_line(&mut line).expect("a line");
    assert!(
        line.starts_with("PrintFarm is listening on http://"),
        "stdout has the address first, logs go to stderr: {line}"
    );
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the address in the first line")
        .to_string();
    eprintln!("ready after {:?}: {line}", started.elapsed());

    let (status, body) = get(&addr, "/health/ready");
    assert!(status.contains("200"), "{status} {body}");
    let data = dir.path().join("printfarm-data");
    assert!(
        data.join("printfarm.db").exists(),
        "a SQLite database in ./printfarm-data"
    );
    assert!(data.join("files").is_dir(), "a file store");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("encryption.key"))
            .expect("a key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "a clean exit: {status}");
    drop(stdout);
}

#[test]
fn config_shows_the_settings_in_effect_without_a_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(env!("CARGO_BIN_EXE_printfarm"))
        .args([
            "config",
            "--bus",
            "nats://relay:bus-pass-123@127.0.0.1:4222",
        ])
        .current_dir(dir.path())
        .env("PRINTFARM_ENCRYPTION_KEY", "key-secret-123")
        .env("PRINTFARM_HUB_PROVISIONING_KEY", "provisioning-secret-123")
        .env("PRINTFARM_METRICS_TOKEN", "metrics-secret-123")
        .env("PRINTFARM_OBJECT_STORE_SECRET_KEY", "bucket-secret-123")
        .env(
            "PRINTFARM_DATABASE_URL",
            "postgres://farm:db-secret-123@127.0.0.1/farm",
        )
        .env("PRINTFARM_NOTIFICATION_ATTEMPTS", "3")
        .output()
        .expect("printfarm config");
    assert!(output.status.success(), "{output:?}");
    let shown = String::from_utf8(output.stdout).expect("utf-8");
    assert!(!shown.contains("secret-123"), "a secret shown: {shown}");
    assert!(!shown.contains("bus-pass-123"), "{shown}");
    let settings: serde_json::Value = serde_json::from_str(&shown).expect("json");
    for key in [
        "encryption_key",
        "hub_provisioning_key",
        "metrics_token",
        "object_store_secret_key",
    ] {
        assert_eq!(settings[key], "***", "{key}");
    }
    assert_eq!(settings["notification_attempts"], 3, "the variable is read");
    assert!(
        settings["bus"]
            .as_str()
            .is_some_and(|b| b.ends_with("@127.0.0.1:4222")),
        "{shown}"
    );
}
