//! Print jobs through the API: queued from a real 3MF's plate with its defaults, listed,
//! and moved only along the state machine, never pretending a printer obeyed.

use crate::common;

use common::{Account, TestApp, fixture};
use serde_json::{Value, json};

async fn queue(app: &TestApp, who: &Account, farm: &str, body: Value) -> common::Answer {
    app.post("/api/v1/jobs", &who.token, Some(farm), body).await
}

/// Puts a job in a state the hub would have moved it to (hub sessions come with the live-farm work).
async fn force_status(app: &TestApp, job: &str, status: &str, printer: Option<&str>) {
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query("UPDATE print_jobs SET status = $1, printer_id = $2 WHERE id = $3")
        .bind(status)
        .bind(printer)
        .bind(job)
        .execute(&mut *conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_job_takes_its_defaults_from_the_files_plate() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let job = queue(
        &app,
        &owner,
        &farm,
        json!({ "print_file_id": file, "priority": "high", "number_of_units": 3 }),
    )
    .await;
    job.expect(201);
    let j = job.data();
    assert_eq!(j["status"], "queued");
    assert_eq!(j["file_name"], "sample-a.3mf");
    assert_eq!(j["plate_index"], 1);
    assert_eq!(j["estimated_print_time_minutes"], 16, "ceil(926 s / 60)");
    assert_eq!(j["filament_needed_grams"], 4);
    assert_eq!(j["filament_type"], "PLA");
    assert_eq!(j["material_type"], "PLA");
    assert_eq!(j["color"], "#F7D959");
    assert_eq!(j["sku_name"], "#F7D959 (PLA)");
    assert_eq!(j["priority"], 100);
    assert_eq!(j["number_of_units"], 3);
    assert_eq!(j["submitted_by"], owner.id.as_str());
    assert!(j["time_submitted"].is_string());
}

#[tokio::test]
async fn bad_jobs_are_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let project = app
        .upload_fixture(&owner, &farm, "multiplate-4-plates-project.3mf")
        .await;
    let missing = queue(&app, &owner, &farm, json!({})).await;
    missing.expect(400);
    assert_eq!(missing.fields(), ["print_file_id"]);
    let unknown = queue(
        &app,
        &owner,
        &farm,
        json!({ "print_file_id": "no-such-file" }),
    )
    .await;
    unknown.expect(400);
    let plate = queue(
        &app,
        &owner,
        &farm,
        json!({ "print_file_id": file, "plate_index": 3 }),
    )
    .await;
    plate.expect(400);
    assert_eq!(plate.fields(), ["plate_index"]);
    let priority = queue(
        &app,
        &owner,
        &farm,
        json!({ "print_file_id": file, "priority": "asap" }),
    )
    .await;
    assert_eq!(priority.fields(), ["priority"]);
    let not_sliced = queue(&app, &owner, &farm, json!({ "print_file_id": project })).await;
    not_sliced.expect(409);
    assert_eq!(not_sliced.code(), "FILE_NOT_SLICED");
}

#[tokio::test]
async fn jobs_move_only_along_the_state_machine_and_each_move_queues_its_event() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let id = queue(&app, &owner, &farm, json!({ "print_file_id": file }))
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = |action: &str| format!("/api/v1/jobs/{id}/{action}");

    let refused = app
        .post(&path("complete"), &owner.token, Some(&farm), json!({}))
        .await;
    refused.expect(409);
    assert_eq!(refused.code(), "INVALID_TRANSITION");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("queued") && message.contains("completed"),
        "{message}"
    );

    // The hub would move it through processing and uploaded; the first progress starts the print.
    force_status(&app, &id, "uploaded", None).await;
    let started = app
        .put(
            &path("progress"),
            &owner.token,
            Some(&farm),
            json!({ "progress_percentage": 5 }),
        )
        .await;
    started.expect(200);
    assert_eq!(started.data()["status"], "printing");
    assert!(started.data()["time_started"].is_string());
    let later = app
        .put(
            &path("progress"),
            &owner.token,
            Some(&farm),
            json!({ "progress_percentage": 60 }),
        )
        .await;
    assert_eq!(later.data()["progress_percentage"], 60);
    app.put(
        &path("progress"),
        &owner.token,
        Some(&farm),
        json!({ "progress_percentage": 160 }),
    )
    .await
    .expect(400);

    let failed = app
        .post(
            &path("fail"),
            &owner.token,
            Some(&farm),
            json!({ "reason": "spaghetti on layer 12" }),
        )
        .await;
    failed.expect(200);
    assert_eq!(failed.data()["status"], "failed");
    assert_eq!(failed.data()["failure_reason"], "spaghetti on layer 12");
    let retried = app
        .post(&path("retry"), &owner.token, Some(&farm), json!({}))
        .await;
    retried.expect(200);
    assert_eq!(retried.data()["status"], "queued");
    assert_eq!(retried.data()["progress_percentage"], 0);
    assert!(retried.data()["failure_reason"].is_null());
    let cancelled = app
        .post(&path("cancel"), &owner.token, Some(&farm), json!({}))
        .await;
    assert_eq!(cancelled.data()["status"], "cancelled");
    let again = app
        .post(&path("retry"), &owner.token, Some(&farm), json!({}))
        .await;
    again.expect(409);

    let mut conn = app.state.store.conn().await.unwrap();
    let events: Vec<(String,)> = sqlx::query_as(
        "SELECT payload FROM queue_messages WHERE queue = 'print-events' ORDER BY created_at, id",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let kinds: Vec<String> = events
        .iter()
        .map(|(p,)| {
            serde_json::from_str::<Value>(p).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        ["job_started", "job_failed", "job_retried", "job_cancelled"]
    );
}

#[tokio::test]
async fn pausing_a_print_needs_its_printers_hub_and_an_active_job_is_not_deleted() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let printer = app
        .post(
            "/api/v1/printers",
            &owner.token,
            Some(&farm),
            json!({ "name": "A1M-01", "model": "A1 mini", "serial_number": "0300AA123456789" }),
        )
        .await;
    let printer_id = printer.data()["id"].as_str().unwrap().to_string();
    let id = queue(&app, &owner, &farm, json!({ "print_file_id": file }))
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    force_status(&app, &id, "printing", Some(&printer_id)).await;

    let pause = app
        .post(
            &format!("/api/v1/jobs/{id}/pause"),
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    pause.expect(409);
    assert_eq!(pause.code(), "HUB_OFFLINE");
    let still = app
        .get(&format!("/api/v1/jobs/{id}"), &owner.token, Some(&farm))
        .await;
    assert_eq!(
        still.data()["status"],
        "printing",
        "nothing changed without the printer"
    );
    let delete = app
        .delete(&format!("/api/v1/jobs/{id}"), &owner.token, Some(&farm))
        .await;
    delete.expect(409);
    assert_eq!(delete.code(), "JOB_ACTIVE");
    let change = app
        .put(
            &format!("/api/v1/jobs/{id}"),
            &owner.token,
            Some(&farm),
            json!({ "priority": "urgent" }),
        )
        .await;
    change.expect(409);
    assert_eq!(change.code(), "JOB_NOT_QUEUED");
    // A finished print is recorded by an operator even without a hub.
    let done = app
        .post(
            &format!("/api/v1/jobs/{id}/complete"),
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    done.expect(200);
    assert_eq!(done.data()["progress_percentage"], 100);
    assert!(done.data()["time_completed"].is_string());
    app.delete(&format!("/api/v1/jobs/{id}"), &owner.token, Some(&farm))
        .await
        .expect(200);
}

#[tokio::test]
async fn jobs_are_listed_filtered_counted_and_kept_in_history() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let mut ids = Vec::new();
    for priority in ["low", "urgent", "normal"] {
        let job = queue(
            &app,
            &owner,
            &farm,
            json!({ "print_file_id": file, "priority": priority }),
        )
        .await;
        ids.push(job.data()["id"].as_str().unwrap().to_string());
    }
    app.post(
        &format!("/api/v1/jobs/{}/cancel", ids[0]),
        &owner.token,
        Some(&farm),
        json!({}),
    )
    .await
    .expect(200);
    let by_priority = app
        .get(
            "/api/v1/jobs?sortBy=priority&sortOrder=desc&status=queued",
            &owner.token,
            Some(&farm),
        )
        .await;
    by_priority.expect(200);
    let priorities: Vec<i64> = by_priority
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["priority"].as_i64().unwrap())
        .collect();
    assert_eq!(priorities, [200, 50]);
    assert_eq!(by_priority.body["meta"]["total"], 2);
    let several = app
        .get(
            "/api/v1/jobs?status=queued,cancelled",
            &owner.token,
            Some(&farm),
        )
        .await;
    assert_eq!(several.body["meta"]["total"], 3);
    app.get("/api/v1/jobs?status=lost", &owner.token, Some(&farm))
        .await
        .expect(400);
    let history = app
        .get("/api/v1/jobs/history", &owner.token, Some(&farm))
        .await;
    assert_eq!(history.body["meta"]["total"], 1);
    assert_eq!(history.data()[0]["status"], "cancelled");
    let stats = app
        .get("/api/v1/jobs/stats", &owner.token, Some(&farm))
        .await;
    assert_eq!(stats.data()["total"], 3);
    assert_eq!(stats.data()["by_status"]["queued"], 2);
    assert_eq!(stats.data()["by_status"]["printing"], 0);
}

#[tokio::test]
async fn a_job_is_assigned_by_the_rules_and_started_through_the_printers_hub_once() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let job = queue(&app, &owner, &farm, json!({ "print_file_id": file }))
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let add = |body: Value| app.post("/api/v1/printers", &owner.token, Some(&farm), body);
    let x1c = add(json!({ "name": "X1C-01", "model": "X1C", "serial_number": "00M00A000000001", "nozzle_size": 0.4,
                          "current_filament_type": "PETG", "current_color_hex": "#000000" })).await;
    let mini = add(json!({ "name": "A1M-01", "model": "A1 mini", "serial_number": "0300AA000000002", "nozzle_size": 0.4,
                           "current_filament_type": "PLA", "current_color_hex": "#F7D959" })).await;
    let mini_id = mini.data()["id"].as_str().unwrap().to_string();

    // No hub yet: nothing can take the job, and the job says why.
    let none = app
        .post(
            &format!("/api/v1/jobs/{job}/assign"),
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    none.expect(409);
    assert_eq!(none.code(), "NO_PRINTER_AVAILABLE");
    let waiting = app
        .get(&format!("/api/v1/jobs/{job}"), &owner.token, Some(&farm))
        .await;
    assert!(waiting.data()["wait_reason"].is_string());
    let start = app
        .post(
            &format!("/api/v1/jobs/{job}/start"),
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    start.expect(409);
    assert_eq!(start.code(), "NO_PRINTER_ASSIGNED");

    // A hub connects (its socket task is stood in for by a task on the in-process link).
    let hub = app
        .post(
            "/api/v1/hubs/register",
            &owner.token,
            Some(&farm),
            json!({ "name": "Rack A" }),
        )
        .await;
    let hub_id = hub.data()["hub_id"].as_str().unwrap().to_string();
    for printer in [&x1c, &mini] {
        let id = printer.data()["id"].as_str().unwrap();
        app.put(
            &format!("/api/v1/printers/{id}"),
            &owner.token,
            Some(&farm),
            json!({ "hub_id": hub_id }),
        )
        .await
        .expect(200);
    }
    let mut inbox = app.state.hub_link.attach(&hub_id);
    let assigned = app
        .post(
            &format!("/api/v1/jobs/{job}/assign"),
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    assigned.expect(200);
    assert_eq!(
        assigned.data()["printer_id"],
        mini_id.as_str(),
        "the A1 mini with the file's PLA colour wins"
    );
    assert_eq!(assigned.data()["job"]["printer_name"], "A1M-01");

    let hub_task = tokio::spawn(async move {
        let command = inbox.recv().await.expect("a print command");
        let sent = serde_json::to_value(&command.command).unwrap();
        let _ = command.ack.send(Ok(()));
        sent
    });
    let started = app
        .post(
            &format!("/api/v1/jobs/{job}/start"),
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    started.expect(200);
    assert_eq!(started.data()["status"], "processing");
    let sent = hub_task.await.unwrap();
    assert_eq!(sent["type"], "print_command");
    assert_eq!(sent["printer_id"], "0300AA000000002");
    assert_eq!(sent["job_id"], job.as_str());
    assert_eq!(sent["plate_index"], 1);
    // The hub can fetch the file with the signed link alone.
    let bytes = app
        .client
        .get(sent["file_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.len(), fixture("sample-a.3mf").len());

    let twice = app
        .post(
            &format!("/api/v1/jobs/{job}/start"),
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    twice.expect(409);
    assert_eq!(
        twice.code(),
        "INVALID_TRANSITION",
        "a job is never started twice"
    );
}

#[tokio::test]
async fn a_job_can_be_queued_for_a_printer_and_sent_back_to_the_dispatcher() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("pia").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let printer_id = app
        .add_printer(
            &owner,
            &farm,
            json!({ "name": "A1M-01", "model": "A1 mini" }),
        )
        .await;

    // A printer that is not the farm's queues nothing.
    let refused = queue(
        &app,
        &owner,
        &farm,
        json!({ "print_file_id": file, "printer_id": "no-such-printer" }),
    )
    .await;
    refused.expect(400);
    assert_eq!(refused.fields(), vec!["printer_id"]);
    let none = app.get("/api/v1/jobs", &owner.token, Some(&farm)).await;
    assert_eq!(none.data().as_array().unwrap().len(), 0);

    // Named by its number, it is assigned at once.
    let queued = queue(
        &app,
        &owner,
        &farm,
        json!({ "print_file_id": file, "printer_id": "1" }),
    )
    .await;
    queued.expect(201);
    assert_eq!(queued.data()["printer_id"], printer_id.as_str());
    assert_eq!(queued.data()["status"], "queued");
    let job = queued.data()["id"].as_str().unwrap().to_string();

    let back = app
        .post(
            &format!("/api/v1/jobs/{job}/unassign"),
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    back.expect(200);
    assert!(back.data()["printer_id"].is_null());

    // Only a queued job goes back.
    force_status(&app, &job, "printing", Some(&printer_id)).await;
    let late = app
        .post(
            &format!("/api/v1/jobs/{job}/unassign"),
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    late.expect(409);
    assert_eq!(late.code(), "JOB_NOT_QUEUED");
    app.stop().await;
}
