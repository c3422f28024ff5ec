//! The jobs and files pages over HTTP, as a browser without JavaScript sees them: the
//! queue with why each job waits, the queue form's own route, the history, the library
//! with its metadata and thumbnails, a file's plates and versions, the fragments the
//! script swaps in, what viewers see, and another farm's files kept out.

use crate::common;

use common::browser::{Browser, Page};
use common::{As, TestApp, fixture};
use reqwest::Method;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};
use serde_json::{Value, json};

/// Fetches a fragment as `live.js` does and checks it comes without the page's frame.
async fn fragment(browser: &Browser<'_>, path: &str) -> Page {
    let response = browser
        .client
        .get(browser.url(path))
        .header("x-pf-fragment", "1")
        .send()
        .await
        .expect("GET fragment");
    let page = Browser::read(response).await;
    page.expect(200);
    assert!(
        !page.body.contains("<html") && !page.body.contains("<nav"),
        "{path} is a fragment, not a page: {}",
        page.body
    );
    page
}

/// Sends JSON from the page as `live.js` does (session cookie, farm header, same origin).
async fn send_json(browser: &Browser<'_>, path: &str, farm: &str, body: Value) -> (u16, Value) {
    let response = browser
        .client
        .post(browser.url(path))
        .header("origin", &browser.app.base)
        .header("x-tenant-id", farm)
        .json(&body)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The value of the first `attribute="…"` in `html` that starts with `prefix`.
fn attribute_starting(html: &str, attribute: &str, prefix: &str) -> String {
    let needle = format!(r#"{attribute}="{prefix}"#);
    let start = html.find(&needle).expect("the attribute") + attribute.len() + 2;
    let end = start + html[start..].find('"').expect("its end");
    html[start..end].replace("&amp;", "&")
}

#[tokio::test]
async fn the_queue_lists_a_job_with_its_file_plate_state_and_why_it_waits() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            Some(&farm),
            json!({ "print_file_id": file, "plate_index": 1, "priority": "high" }),
        )
        .await;
    job.expect(201);
    let job_id = job.data()["id"].as_str().unwrap().to_string();

    let browser = Browser::new(&app);
    browser.sign_in(&owner).await;
    let page = browser.get("/jobs").await;
    page.expect(200)
        .shows(r#"<a href="/jobs" aria-current="page">Jobs</a>"#)
        .shows(r#"<form id="job-create""#)
        .shows(r#"<select id="file_id" name="print_file_id">"#)
        .shows(&format!(r#"<option value="{file}">sample-a.3mf · 1 plate · A1 mini</option>"#))
        .shows(r#"id="plate_index" name="plate_index""#)
        .shows(r#"<option value="">Left to the dispatcher</option>"#)
        .shows(r#"<button type="submit" class="btn btn-primary">Queue the plate</button>"#)
        .shows(r#"id="job-queue" data-fragment="/jobs/queue" data-fragment-on="job_update printer_state""#)
        .shows(&format!(r#"<tr data-job-id="{job_id}" data-state="queued">"#))
        .shows(&format!(r#"<a href="/files/{file}">sample-a.3mf</a> <span class="muted">plate 1"#))
        .shows(r#"<span class="badge" data-state="queued">Queued</span>"#)
        .shows("left to the dispatcher")
        .shows("High (100)")
        // No printer at all: the dispatcher's own reason, in a sentence.
        .shows(r#"<span class="waits">The farm has no active printers.</span>"#)
        .shows(&format!(r#"data-api="/api/v1/jobs/{job_id}/cancel""#))
        .shows(&format!(r#"data-api="/api/v1/jobs/{job_id}/assign""#))
        .shows(r#"Raise to Urgent"#)
        .shows(r#"scope="col""#);

    // The fragment the script swaps in is the same table without the frame.
    fragment(&browser, "/jobs/queue")
        .await
        .shows(&format!(r#"data-job-id="{job_id}""#))
        .shows("The farm has no active printers.");

    // With a printer that doesn't fit (no hub, nothing known), the reason changes.
    let printer_id = app
        .add_printer(
            &owner,
            &farm,
            json!({ "name": "A1M-01", "model": "A1 mini", "serial_number": "0300AA123456789" }),
        )
        .await;
    let after = browser.get("/jobs").await;
    after
        .expect(200)
        .shows(r#"<option value="">Left to the dispatcher</option>"#);
    assert!(
        !after.body.contains("The farm has no active printers."),
        "the reason follows the farm: {}",
        after.body
    );
    assert!(after.body.contains(r#"<span class="waits">"#));

    // The API the queue form calls: a project file is refused on the file field.
    let project = app
        .upload_fixture(&owner, &farm, "multiplate-4-plates-project.3mf")
        .await;
    // The plate select offers each file's own plates (live.js shows the chosen file's).
    let form = browser.get("/jobs").await;
    form.expect(200)
        .shows(r#"data-options-for="file_id""#)
        .shows(&format!(r#"<option value="4" data-for="{project}""#))
        .shows(&format!(r#"<option value="1" data-for="{file}""#));
    assert!(
        !form
            .body
            .contains(&format!(r#"<option value="2" data-for="{file}""#)),
        "sample-a has one plate"
    );
    let (status, refused) = send_json(
        &browser,
        "/api/v1/jobs",
        &farm,
        json!({ "print_file_id": project, "plate_index": 1, "priority": "normal" }),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "FILE_NOT_SLICED");
    assert_eq!(refused["error"]["details"]["field"], "print_file_id");

    // A missing plate is named on the plate field.
    let (status, refused) = send_json(
        &browser,
        "/api/v1/jobs",
        &farm,
        json!({ "print_file_id": file, "plate_index": 7 }),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(
        refused["error"]["details"]["fields"][0]["field"],
        "plate_index"
    );

    // Queued for a chosen printer: created and assigned in one go.
    let (status, created) = send_json(
        &browser,
        "/api/v1/jobs",
        &farm,
        json!({ "print_file_id": file, "plate_index": 1, "printer_id": printer_id, "priority": "low", "number_of_units": 3 }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["printer_id"], printer_id.as_str());
    assert_eq!(created["data"]["number_of_units"], 3);
    let assigned_id = created["data"]["id"].as_str().unwrap().to_string();
    browser
        .get("/jobs")
        .await
        .expect(200)
        .shows(&format!(
            r#"<tr data-job-id="{assigned_id}" data-state="queued">"#
        ))
        .shows(r#"<span class="badge" data-state="assigned">Assigned</span>"#)
        .shows("<td>A1M-01</td>")
        .shows(&format!(r#"data-api="/api/v1/jobs/{assigned_id}/start""#))
        .shows(&format!(
            r#"data-api="/api/v1/jobs/{assigned_id}/unassign""#
        ));

    // Back to the dispatcher.
    let (status, back) = send_json(
        &browser,
        &format!("/api/v1/jobs/{assigned_id}/unassign"),
        &farm,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["data"]["printer_id"], Value::Null);
}

#[tokio::test]
async fn a_viewer_sees_the_queue_and_the_library_without_buttons_or_forms() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    app.post(
        "/api/v1/jobs",
        &owner.token,
        Some(&farm),
        json!({ "print_file_id": file }),
    )
    .await
    .expect(201);
    let viewer = app.signed_up("vera").await;
    app.add_member(&owner, &farm, &viewer, "viewer").await;
    let browser = Browser::new(&app);
    browser.sign_in(&viewer).await;

    for path in [
        "/jobs",
        "/jobs/history",
        "/files",
        &format!("/files/{file}"),
    ] {
        let page = browser.get(path).await;
        page.expect(200);
        assert!(!page.body.contains("data-api="), "no buttons on {path}");
        assert!(!page.body.contains("<form id="), "no forms on {path}");
    }
    browser
        .get("/jobs")
        .await
        .shows("sample-a.3mf")
        .shows(r#"data-state="queued""#);
    // The viewer is refused by the API the queue form calls.
    let (status, _) = send_json(
        &browser,
        "/api/v1/jobs",
        &farm,
        json!({ "print_file_id": file }),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn the_history_shows_a_cancelled_job_and_the_queue_no_longer_does() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            Some(&farm),
            json!({ "print_file_id": file, "plate_index": 1 }),
        )
        .await;
    let job_id = job.data()["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/jobs/{job_id}/cancel"),
        &owner.token,
        Some(&farm),
        json!({}),
    )
    .await
    .expect(200);

    let browser = Browser::new(&app);
    browser.sign_in(&owner).await;
    let history = browser.get("/jobs/history").await;
    history
        .expect(200)
        .shows("<h1>Job history</h1>")
        .shows("1 finished job")
        .shows(&format!(
            r#"<tr data-job-id="{job_id}" data-state="cancelled">"#
        ))
        .shows(r#"<span class="badge" data-state="cancelled">Cancelled</span>"#)
        .shows("<time datetime=")
        // A cancelled job can't be retried; the same plate can be queued again.
        .shows(r#"data-api="/api/v1/jobs" data-method="POST""#)
        .shows("Queue again");
    fragment(&browser, "/jobs/history/list?page=1")
        .await
        .shows(&format!(r#"data-job-id="{job_id}""#));
    fragment(&browser, "/jobs/history/list?page=2")
        .await
        .shows("No finished jobs yet on this page.");

    let queue = browser.get("/jobs").await;
    queue.expect(200).shows("No jobs waiting or printing.");
    assert!(!queue.body.contains(&job_id));
}

#[tokio::test]
async fn the_library_lists_an_uploaded_file_with_its_metadata_and_a_cacheable_thumbnail() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let browser = Browser::new(&app);
    browser.sign_in(&owner).await;
    let empty = browser.get("/files").await;
    empty
        .expect(200)
        .shows(r#"<a href="/files" aria-current="page">Files</a>"#)
        .shows(r#"<form id="file-upload" class="form" enctype="multipart/form-data" data-api="/api/v1/files""#)
        .shows(r#"<input type="file" id="file" name="file" accept=".3mf""#)
        .shows("<progress data-upload hidden")
        .shows("Up to 512 MB.")
        .shows("No files yet");

    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let page = browser.get("/files").await;
    page.expect(200)
        .shows(&format!(r#"<tr data-file-id="{file}">"#))
        .shows(&format!(r#"<a href="/files/{file}">sample-a.3mf</a>"#))
        .shows("<td>A1 mini</td>")
        .shows("<td>16 min</td>")
        .shows("<td>3.57 g</td>")
        .shows(r##"fill="#F7D959""##)
        .shows("PLA #F7D959")
        .shows("<td>1</td>")
        .shows("<td>v1</td>")
        .shows(r#"<th scope="col">Name</th>"#);
    assert!(!page.body.contains("Not sliced"));

    let src = attribute_starting(&page.body, "src", &format!("/files/{file}/thumbnail?v="));
    let thumb = browser.client.get(browser.url(&src)).send().await.unwrap();
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()[CONTENT_TYPE], "image/png");
    assert!(
        thumb.headers()[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable"),
        "the URL names the version, so it is kept"
    );
    assert_eq!(&thumb.bytes().await.unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    // Without the version, the browser asks again each time.
    let bare = browser
        .client
        .get(browser.url(&format!("/files/{file}/thumbnail")))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.headers()[CACHE_CONTROL], "private, no-cache");

    fragment(&browser, "/files/library")
        .await
        .shows(&format!(r#"data-file-id="{file}""#));

    // The upload the form sends answers a file that is not a 3MF in words.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"just text".to_vec()).file_name("notes.3mf"),
    );
    let refused = browser
        .client
        .post(browser.url("/api/v1/files"))
        .header("origin", &app.base)
        .header("x-tenant-id", &farm)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a 3MF file")
    );
}

#[tokio::test]
async fn a_file_page_shows_each_plates_metadata_and_the_versions() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let browser = Browser::new(&app);
    browser.sign_in(&owner).await;

    let page = browser.get(&format!("/files/{file}")).await;
    page.expect(200)
        .shows("<h1>sample-a.3mf</h1>")
        .shows(&format!(r#"data-fragment="/files/{file}/detail""#))
        .shows(r#"<h3 id="plate-1-heading">Plate 1</h3>"#)
        .shows("<dt>Printer model</dt><dd>A1 mini</dd>")
        .shows("<dt>Nozzle</dt><dd>0.4 mm</dd>")
        .shows("<dt>Print time</dt><dd>16 min</dd>")
        .shows("<dt>Layers</dt><dd>42</dd>")
        .shows(r##"fill="#F7D959""##)
        .shows("PLA #F7D959 · 3.57 g")
        .shows("Queue this plate")
        .shows(&format!(
            r#"<input type="hidden" name="print_file_id" value="{file}">"#
        ))
        .shows(r#"<input type="hidden" name="plate_index" value="1" data-json="number">"#)
        .shows(r#"<span class="badge" data-state="current">Current</span>"#)
        .shows(r#"<form id="version-upload""#)
        .shows(&format!(r#"data-api="/api/v1/files/{file}/versions""#))
        .shows(r#"<form id="file-delete""#)
        .shows(r#"data-then="/files""#);

    // The plate's picture.
    let src = attribute_starting(
        &page.body,
        "src",
        &format!("/files/{file}/plates/1/thumbnail?v="),
    );
    let thumb = browser.client.get(browser.url(&src)).send().await.unwrap();
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()[CONTENT_TYPE], "image/png");
    assert_eq!(&thumb.bytes().await.unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    browser
        .get(&format!("/files/{file}/plates/9/thumbnail"))
        .await
        .expect(404);

    // A second version becomes current; the first can be made current again or deleted.
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(fixture("sample-d.3mf")).file_name("sample-d.3mf"),
        )
        .text("notes", "thicker walls");
    let added = TestApp::send(
        app.request(
            Method::POST,
            &format!("/api/v1/files/{file}/versions"),
            As::Bearer(&owner.token),
        )
        .header("x-tenant-id", &farm)
        .multipart(form),
    )
    .await;
    added.expect(201);
    let detail = fragment(&browser, &format!("/files/{file}/detail")).await;
    detail
        .shows(r#"<tr data-version="2">"#)
        .shows(r#"v2 <span class="badge" data-state="current">Current</span>"#)
        .shows("thicker walls")
        .shows(&format!(
            r#"data-api="/api/v1/files/{file}/versions/1/current" data-method="PUT""#
        ))
        .shows(&format!(
            r#"data-api="/api/v1/files/{file}/versions/1" data-method="DELETE""#
        ));
    assert!(!detail.body.contains("versions/2/current"), "v2 is current");
}

#[tokio::test]
async fn another_farms_file_and_jobs_are_not_found() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            Some(&farm),
            json!({ "print_file_id": file }),
        )
        .await;
    let job_id = job.data()["id"].as_str().unwrap().to_string();

    let (other, other_farm) = app.signed_up_owner("oscar").await;
    let browser = Browser::new(&app);
    browser.sign_in(&other).await;
    browser
        .get(&format!("/files/{file}"))
        .await
        .expect(404)
        .shows("The file was not found in this farm.");
    for path in [
        format!("/files/{file}/detail"),
        format!("/files/{file}/thumbnail"),
        format!("/files/{file}/plates/1/thumbnail"),
    ] {
        browser.get(&path).await.expect(404);
    }
    let queue = browser.get("/jobs").await;
    queue.expect(200);
    assert!(!queue.body.contains(&job_id) && !queue.body.contains("sample-a.3mf"));
    assert!(!browser.get("/files").await.body.contains("sample-a.3mf"));

    // Nor can the queue form or the dispatcher button reach them.
    let (status, _) = send_json(
        &browser,
        "/api/v1/jobs",
        &other_farm,
        json!({ "print_file_id": file }),
    )
    .await;
    assert_eq!(status, 400, "another farm's file is no file here");
    let (status, _) = send_json(
        &browser,
        &format!("/api/v1/jobs/{job_id}/unassign"),
        &other_farm,
        json!({}),
    )
    .await;
    assert_eq!(status, 404);
}
