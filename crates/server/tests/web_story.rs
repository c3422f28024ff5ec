//! The dashboard's main story in a real headless Chromium, with a real hub agent and a
//! simulated printer on loopback: a new operator signs up, switches the dispatcher on,
//! registers a hub on the hubs page (and the hub agent dials in with what the page
//! showed), adds the printer on the printers page and watches it come online, uploads a
//! fixture 3MF on the files page, queues a job on the jobs page, watches the card print it
//! to 100 % without a reload, queues the next job (which waits for the bed), clears the
//! bed on the card, and the next job starts. Screenshots of the overview, printers, jobs
//! and files pages go to `target/screenshots/`.

use crate::common;
use crate::common::live;

use common::TestApp;
use common::chrome::{chromium, click, driver, fill, screenshot, text_of, until};
use fantoccini::{Client, Locator};
use live::RunningHub;
use serde_json::Value;

/// Runs `script` and returns its value.
async fn run(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.expect("script runs")
}

/// Picks the option of select `css` whose words contain `words` (as a person would).
async fn choose(client: &Client, css: &str, words: &str) {
    let picked = run(
        client,
        &format!(
            "const s = document.querySelector({css:?}); if (!s) return 'no select';
             const o = Array.from(s.options).find(o => o.textContent.includes({words:?}));
             if (!o) return 'no option: ' + Array.from(s.options).map(o => o.textContent).join(' | ');
             s.value = o.value; s.dispatchEvent(new Event('change', {{ bubbles: true }})); return 'ok';"
        ),
    )
    .await;
    assert_eq!(picked, "ok", "choosing {words:?} in {css}");
}

/// What on the page a screen reader can't name: form fields without a label, buttons and
/// links without words, images without `alt`. Each as `tag#id.class`.
async fn unnamed(client: &Client) -> Value {
    run(
        client,
        "const name = e => e.getAttribute('aria-label') || (e.id && document.querySelector('label[for=\"' + CSS.escape(e.id) + '\"]')) || e.closest('label') || e.getAttribute('aria-labelledby');
         const fields = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')].filter(e => !name(e));
         const buttons = [...document.querySelectorAll('button, a[href]')].filter(e => !e.textContent.trim() && !e.getAttribute('aria-label'));
         const images = [...document.querySelectorAll('img')].filter(e => !e.hasAttribute('alt'));
         return [...fields, ...buttons, ...images].map(e => e.tagName + '#' + e.id + '.' + e.className);",
    )
    .await
}

/// Checks that every page of the story names what it shows (see [`unnamed`]).
async fn every_control_is_named(client: &Client, page: &str) {
    let missing = unnamed(client).await;
    assert_eq!(missing, serde_json::json!([]), "unnamed on {page}");
}

/// The state and progress words of the printer card with the printer's name.
fn card_of(name: &str) -> String {
    format!(
        "const c = Array.from(document.querySelectorAll('article.card')).find(c => c.querySelector('h2').textContent === {name:?});
         return c ? {{ state: c.dataset.state, progress: c.querySelector('[data-field=progress-text]').textContent,
                      nozzle: c.querySelector('[data-field=nozzle]').textContent,
                      cleared: !!c.querySelector('button[data-do=cleared]:not([hidden])'), id: c.dataset.printerId }} : null;"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_operator_runs_the_farm_from_sign_up_to_the_next_job_in_the_browser() {
    let Some(driver) = driver().await else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = TestApp::spawn().await;
    let client = chromium(&driver).await;
    let base = app.base.clone();

    // Sign up: the account and its farm.
    client.goto(&format!("{base}/sign-up")).await.unwrap();
    fill(&client, "name", "Nia Operator").await;
    fill(&client, "email", "nia@example.com").await;
    fill(&client, "password", common::PASSWORD).await;
    fill(&client, "farm_name", "Nia Prints").await;
    click(&client, "form.form button[type=submit]").await;
    until(&client, "the overview", &text_of("h1"), |v| {
        v == "Nia Prints"
    })
    .await;
    until(&client, "the live socket", &text_of("#live-state"), |v| {
        v == "Live"
    })
    .await;

    // The dispatcher starts queued jobs on cleared beds.
    click(&client, "#dispatch-switch").await;
    until(
        &client,
        "the dispatcher on",
        &text_of("#dispatch-heading"),
        |v| v == "Dispatcher: on",
    )
    .await;

    // Register a hub; the page shows its id and secret once, for the hub's settings.
    client.goto(&format!("{base}/hubs")).await.unwrap();
    fill(&client, "hub-name", "Rack A").await;
    click(&client, "#hub-register button[type=submit]").await;
    let shown = until(
        &client,
        "the hub's secret",
        "const s = document.getElementById('hub-secret');
         if (!s || s.hidden) return null;
         return { id: s.querySelector('[data-key=hub_id]').textContent, secret: s.querySelector('[data-key=secret]').textContent };",
        |v| v["secret"].as_str().is_some_and(|s| !s.is_empty()),
    )
    .await;
    every_control_is_named(&client, "the hubs page").await;
    let hub_id = shown["id"].as_str().unwrap().to_string();
    let secret = shown["secret"].as_str().unwrap().to_string();

    // The hub agent on the farm's network (with a simulated printer beside it) dials in
    // with what the page showed, and the hubs page shows it online.
    let printers = live::simulated_printers(1, 150.0).await;
    let printer = &printers.printers()[0];
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = RunningHub::start(live::hub_config(
        &base,
        &hub_id,
        &secret,
        hub_dir.path(),
        printers.printers(),
    ));
    until(
        &client,
        "the hub online",
        &format!(
            "const h = document.querySelector('[data-hub-id=\"{hub_id}\"]'); return h ? h.dataset.online : null;"
        ),
        |v| v == "1",
    )
    .await;

    // Add the printer on the printers page: the online hub takes it on at once, and the
    // card fills in from the printer's own reports (temperatures only a report carries).
    client.goto(&format!("{base}/printers")).await.unwrap();
    fill(&client, "add-name", "A1M-01").await;
    fill(&client, "add-model", "A1 mini").await;
    fill(&client, "add-serial", printer.serial()).await;
    fill(&client, "add-ip", "127.0.0.1").await;
    fill(&client, "add-code", printer.access_code()).await;
    choose(&client, "#add-hub", "Rack A").await;
    // What the printer holds, as the plate was sliced for (the dispatcher matches them).
    fill(&client, "add-filament", "PLA").await;
    fill(&client, "add-colour", "#F7D959").await;
    choose(&client, "#add-plate", "Textured PEI").await;
    // A typo in the address: the API's words show next to the field, and nothing is added.
    fill(&client, "add-ip", "192.168.1.300").await;
    click(&client, "#printer-add button[type=submit]").await;
    until(
        &client,
        "the address error",
        &text_of("#add-ip-error"),
        |v| {
            v.as_str()
                .is_some_and(|t| t.contains("ip_address must be an IPv4 or IPv6 address"))
        },
    )
    .await;
    assert_eq!(
        run(
            &client,
            "return document.querySelector('#add-ip').getAttribute('aria-invalid');"
        )
        .await,
        "true"
    );
    assert!(run(&client, &card_of("A1M-01")).await.is_null());
    fill(&client, "add-ip", "127.0.0.1").await;
    click(&client, "#printer-add button[type=submit]").await;
    let card = until(
        &client,
        "the printer's card live",
        &card_of("A1M-01"),
        |v| v["state"] == "idle" && v["nozzle"].as_str().is_some_and(|t| t.ends_with("°C")),
    )
    .await;
    let printer_id = card["id"].as_str().unwrap().to_string();
    screenshot(&client, "story-printers").await;
    every_control_is_named(&client, "the printers page").await;

    // Upload the fixture on the files page, with the page's own form.
    client.goto(&format!("{base}/files")).await.unwrap();
    let path = format!(
        "{}/../../../shared/fixtures/3mf/sample-a.3mf",
        env!("CARGO_MANIFEST_DIR")
    );
    let path = std::fs::canonicalize(path).expect("the fixture");
    client
        .find(Locator::Css("#file-upload input[type=file]"))
        .await
        .unwrap()
        .send_keys(path.to_str().unwrap())
        .await
        .unwrap();
    click(&client, "#file-upload button[type=submit]").await;
    until(
        &client,
        "the file in the library",
        "return document.body.textContent.includes('sample-a') && !!document.querySelector('img.thumb');",
        |v| v == true,
    )
    .await;
    screenshot(&client, "story-files").await;
    every_control_is_named(&client, "the files page").await;

    // Queue a job of its plate on the jobs page: the dispatcher starts it on the new
    // printer, whose bed is empty, and the queue shows it on the printer.
    client.goto(&format!("{base}/jobs")).await.unwrap();
    choose(&client, "#job-create select", "sample-a").await;
    click(&client, "#job-create button[type=submit]").await;
    until(
        &client,
        "the job on the printer",
        "const r = document.querySelector('#job-queue tr[data-job-id]'); return r ? r.dataset.state : null;",
        |v| ["processing", "uploaded", "printing"].contains(&v.as_str().unwrap_or("")),
    )
    .await;
    screenshot(&client, "story-jobs").await;
    every_control_is_named(&client, "the jobs page").await;

    // The card prints to 100 % from the printer's own reports, without a reload; then the
    // finished print holds the bed.
    client.goto(&format!("{base}/printers")).await.unwrap();
    run(&client, "window.__sameDocument = true; return true;").await;
    until(&client, "the card printing", &card_of("A1M-01"), |v| {
        v["state"] == "printing"
    })
    .await;
    screenshot(&client, "story-printing").await;
    let finished = until(&client, "the print done", &card_of("A1M-01"), |v| {
        v["state"] == "idle" && v["cleared"] == true
    })
    .await;
    assert_eq!(finished["progress"], "100 %");
    assert_eq!(
        run(&client, "return window.__sameDocument === true;").await,
        true,
        "the card moved without a reload"
    );

    // The next job waits for the bed: queued, not started on a bed that holds a print.
    client.goto(&format!("{base}/jobs")).await.unwrap();
    choose(&client, "#job-create select", "sample-a").await;
    click(&client, "#job-create button[type=submit]").await;
    until(
        &client,
        "the next job queued",
        "return Array.from(document.querySelectorAll('#job-queue tr[data-job-id]')).map(r => r.dataset.state);",
        |v| v == &serde_json::json!(["queued"]),
    )
    .await;

    // Clear the bed on the card: the next job starts.
    client.goto(&format!("{base}/printers")).await.unwrap();
    click(
        &client,
        &format!("#printer-{printer_id} button[data-do=cleared]"),
    )
    .await;
    until(&client, "the next job printing", &card_of("A1M-01"), |v| {
        v["state"] == "printing"
    })
    .await;

    // The other pages name what they show too.
    for page in [
        "/team",
        "/jobs/history",
        "/printers/arrange",
        &format!("/printers/{printer_id}/edit"),
    ] {
        client.goto(&format!("{base}{page}")).await.unwrap();
        every_control_is_named(&client, page).await;
    }
    client.goto(&format!("{base}/files")).await.unwrap();
    let file_page = run(
        &client,
        "return document.querySelector('#file-library a[href^=\"/files/\"]').getAttribute('href');",
    )
    .await;
    client
        .goto(&format!("{base}{}", file_page.as_str().unwrap()))
        .await
        .unwrap();
    every_control_is_named(&client, "a file's page").await;

    client.goto(&format!("{base}/")).await.unwrap();
    until(
        &client,
        "the overview's count",
        &text_of("#dispatch-heading"),
        |v| v == "Dispatcher: on",
    )
    .await;
    screenshot(&client, "story-overview").await;
    every_control_is_named(&client, "the overview").await;
    client.close().await.ok();
    hub.stop().await;
    printers.shutdown();
    app.stop().await;
}
