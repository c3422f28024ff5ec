//! `printfarm demo` in a real headless Chromium: a new user opens the URL the demo prints,
//! presses the one button the sign-in page offers, and sees the farm's printer cards live.
//! Prints how long that took from the demo's start and from opening the URL (the issue's
//! target is live cards within 3 s of opening it); the test asserts the story, not the time.

// The server's browser-test helpers, shared rather than copied (not all are used here).
#[allow(dead_code)]
#[path = "../../server/tests/common/chrome.rs"]
mod chrome;

use chrome::{chromium, driver, screenshot, until};
use fantoccini::Locator;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_opens_the_demo_url_and_sees_live_printer_cards() {
    let Some(driver) = driver().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_printfarm"))
        .args(["demo", "--listen", "127.0.0.1:0", "--printers", "6"])
        .arg("--data-dir")
        .arg(dir.path().join("demo"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("printfarm demo starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a line");
    // "PrintFarm demo is running: open http://127.0.0.1:PORT/printers in a browser"
    let url = first
        .split("open ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the URL on the first line")
        .to_string();
    let printed = started.elapsed();

    let client = chromium(&driver).await;
    let opened = Instant::now();
    client.goto(&url).await.expect("the URL opens");
    client
        .find(Locator::Id("demo-sign-in"))
        .await
        .expect("the one-click demo sign-in")
        .click()
        .await
        .expect("pressed");
    // Live: the socket is up and a card shows a report only a printer sends (a temperature).
    let live = until(
        &client,
        "live printer cards",
        // Null-safe: right after the click the sign-in page may still be the one shown.
        "const cards = document.querySelectorAll('article.card');
         const live = Array.from(cards).filter(c => (c.querySelector('[data-field=nozzle]')?.textContent ?? '').endsWith('°C'));
         return { socket: document.getElementById('live-state')?.textContent ?? null, cards: cards.length, live: live.length };",
        |v| v["socket"] == "Live" && v["live"].as_u64().is_some_and(|n| n >= 1),
    )
    .await;
    let seen = opened.elapsed();
    assert_eq!(live["cards"], 6, "{live}");
    println!(
        "demo: URL printed {:.2} s after start; live cards {:.2} s after opening the URL \
         ({:.2} s after start); {live}",
        printed.as_secs_f64(),
        seen.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    screenshot(&client, "demo-printers").await;
    client.close().await.ok();
    let _ = child.kill();
    let _ = child.wait();
}
