//! The earlier system's React client against this server: each test sends what that client
//! sends (its paths, field names and habits, from original-system.md, "Contract details")
//! and checks what it reads.

use crate::common;

use common::{As, TestApp, fixture};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

#[tokio::test]
async fn the_old_client_uploads_to_a_link_then_records_the_file() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let link = app
        .post(
            "/api/v1/files/upload-url",
            &owner.token,
            Some(&farm),
            json!({ "filename": "bracket.3mf", "content_type": "model/3mf" }),
        )
        .await;
    link.expect(200);
    let link = link.data().clone();
    for field in [
        "file_id",
        "r2_key",
        "upload_token",
        "upload_url",
        "content_type",
    ] {
        assert!(link[field].is_string(), "{field} in {link}");
    }
    assert_eq!(link["expires_in"], 900);
    let r2_key = link["r2_key"].as_str().unwrap();
    assert!(r2_key.ends_with("/bracket.3mf"), "{r2_key}");

    // The bytes go to the link (200, with the key the link named and the size).
    let bytes = fixture("sample-d.3mf");
    let put = app
        .client
        .put(link["upload_url"].as_str().unwrap())
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let sent: Value = put.json().await.unwrap();
    assert_eq!(sent["data"]["r2_key"], r2_key);
    assert_eq!(sent["data"]["size_bytes"], bytes.len());

    // Then it records the file by its key, with its name and units per print.
    let wrong_size = app
        .post(
            "/api/v1/files",
            &owner.token,
            Some(&farm),
            json!({ "name": "Bracket", "r2_key": r2_key, "file_size_bytes": 12, "number_of_units": 4 }),
        )
        .await;
    wrong_size.expect(400);
    assert_eq!(wrong_size.fields(), vec!["file_size_bytes"]);
    let unknown = app
        .post(
            "/api/v1/files",
            &owner.token,
            Some(&farm),
            json!({ "name": "Bracket", "r2_key": format!("{farm}/files/nothing/x.3mf") }),
        )
        .await;
    unknown.expect(400);
    assert_eq!(unknown.fields(), vec!["r2_key"]);
    let recorded = app
        .post(
            "/api/v1/files",
            &owner.token,
            Some(&farm),
            json!({ "name": "Bracket", "r2_key": r2_key, "file_size_bytes": bytes.len(), "number_of_units": 4 }),
        )
        .await;
    recorded.expect(201);
    assert_eq!(recorded.data()["id"], link["file_id"]);
    assert_eq!(recorded.data()["name"], "Bracket");
    assert_eq!(recorded.data()["number_of_units"], 4);
    assert_eq!(recorded.data()["printer_model_id"], "N2S");

    // One file, whose record embeds its versions and the Pi's local path (none here).
    let listed = app.get("/api/v1/files", &owner.token, Some(&farm)).await;
    assert_eq!(listed.data().as_array().unwrap().len(), 1);
    let one = app
        .get(
            &format!("/api/v1/files/{}", link["file_id"].as_str().unwrap()),
            &owner.token,
            Some(&farm),
        )
        .await;
    one.expect(200);
    assert_eq!(one.data()["versions"].as_array().unwrap().len(), 1);
    assert_eq!(one.data()["versions"][0]["r2_key"], r2_key);
    assert!(
        one.data()
            .as_object()
            .unwrap()
            .contains_key("local_file_path")
    );
    app.stop().await;
}

#[tokio::test]
async fn parse_metadata_needs_no_farm_and_answers_beside_data() {
    let app = TestApp::spawn().await;
    let (owner, _farm) = app.signed_up_owner("pia").await;
    let form = || {
        Form::new().part(
            "file",
            Part::bytes(fixture("sample-d.3mf")).file_name("sample-d.3mf"),
        )
    };
    // Only the cookie or token, no X-Tenant-ID: as the old client sends it.
    let answer = TestApp::send(
        app.request(
            Method::POST,
            "/api/v1/files/parse-metadata",
            As::Bearer(&owner.token),
        )
        .multipart(form()),
    )
    .await;
    answer.expect(200);
    assert_eq!(answer.body["success"], true);
    assert_eq!(answer.body["filename"], "sample-d.3mf");
    assert_eq!(answer.body["printer_model_id"], "N2S");
    let metadata = &answer.body["metadata"];
    assert_eq!(metadata["print_time_seconds"], 1099);
    assert_eq!(metadata["filament_type"], "PETG");
    assert_eq!(metadata["printer_model_id"], "N2S");
    for field in ["filament_weight_grams", "nozzle_diameter", "object_count"] {
        assert!(!metadata[field].is_null(), "{field} in {metadata}");
    }
    assert!(answer.data()["summary"].is_object(), "ours stays in data");

    // Signed in it must be: it reads untrusted files.
    let anonymous = TestApp::send(
        app.request(Method::POST, "/api/v1/files/parse-metadata", As::Nobody)
            .multipart(form()),
    )
    .await;
    anonymous.expect(401);
    app.stop().await;
}

#[tokio::test]
async fn the_old_client_lists_orders_and_edits_printers() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("pete").await;
    let (hub_id, _) = app.register_hub(&owner, &farm, "Rack A").await;
    // More printers than a default page: the old client never pages this list.
    let mut ids = Vec::new();
    for n in 1..=105 {
        ids.push(
            app.add_printer(
                &owner,
                &farm,
                json!({ "name": format!("A1-{n:03}"), "model": "A1" }),
            )
            .await,
        );
    }
    let all = app.get("/api/v1/printers", &owner.token, Some(&farm)).await;
    assert_eq!(all.data().as_array().unwrap().len(), 105);
    assert_eq!(all.body["meta"]["total"], 105);
    let paged = app
        .get("/api/v1/printers?limit=10", &owner.token, Some(&farm))
        .await;
    assert_eq!(paged.data().as_array().unwrap().len(), 10);
    assert_eq!(paged.body["meta"]["total"], 105);

    // Its drag-and-drop sends {orders: [{id, sort_order}]}.
    let orders: Vec<Value> = ids
        .iter()
        .rev()
        .zip(0..)
        .map(|(id, n)| json!({ "id": id, "sort_order": n }))
        .collect();
    app.put(
        "/api/v1/printers/order",
        &owner.token,
        Some(&farm),
        json!({ "orders": orders }),
    )
    .await
    .expect(200);
    let reordered = app
        .get("/api/v1/printers?limit=1", &owner.token, Some(&farm))
        .await;
    assert_eq!(reordered.data()[0]["id"], ids[104].as_str());

    // An edit of the name only answers the printer, its code masked, and tries nothing.
    let printer = format!("/api/v1/printers/{}", ids[0]);
    let renamed = app
        .put(
            &printer,
            &owner.token,
            Some(&farm),
            json!({ "name": "A1-front" }),
        )
        .await;
    renamed.expect(200);
    assert_eq!(renamed.data()["name"], "A1-front");
    assert!(renamed.body.get("auto_connect").is_none());

    // New connection settings are tried at once, and the answer says how it went: the
    // hub is not connected yet, then it is and takes them.
    let settings = json!({ "hub_id": hub_id, "serial_number": "0300AA000000002", "access_code": "12345678",
                           "ip_address": "127.0.0.1" });
    let offline = app
        .put(&printer, &owner.token, Some(&farm), settings.clone())
        .await;
    offline.expect(200);
    assert_eq!(offline.data()["access_code"], "[ENCRYPTED]");
    assert_eq!(offline.body["auto_connect"]["attempted"], true);
    assert_eq!(offline.body["auto_connect"]["success"], false);
    assert!(offline.body["auto_connect"]["error"].is_string());
    let mut hub = app.state.hub_link.attach(&hub_id);
    let acks = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(outgoing) = hub.recv().await {
            seen.push(serde_json::to_value(&outgoing.command).unwrap());
            let _ = outgoing.ack.send(Ok(()));
            if seen.len() == 2 {
                break;
            }
        }
        seen
    });
    let online = app
        .put(
            &printer,
            &owner.token,
            Some(&farm),
            json!({ "ip_address": "127.0.0.2" }),
        )
        .await;
    online.expect(200);
    assert_eq!(
        online.body["auto_connect"],
        json!({ "attempted": true, "success": true })
    );
    assert_eq!(online.data()["access_code"], "[ENCRYPTED]");

    // Its pause and resume buttons call the Pi-era paths, by the farm's number.
    let pause = app
        .post(
            "/api/printers/1/print/pause",
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    pause.expect(200);
    assert_eq!(pause.data()["sent"], "pause");
    let commands = acks.await.unwrap();
    assert_eq!(commands[0]["type"], "configure_printer");
    assert_eq!(commands[1]["type"], "printer_command");
    assert_eq!(commands[1]["action"], "pause");
    let unknown = app
        .post(
            "/api/printers/1/print/explode",
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    unknown.expect(404);
    app.stop().await;
}

#[tokio::test]
async fn the_old_client_queues_with_a_numeric_priority_and_reads_its_job_fields() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("quinn").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let queued = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            Some(&farm),
            json!({ "print_file_id": file, "priority": 200, "quantity_per_print": 3 }),
        )
        .await;
    queued.expect(201);
    assert_eq!(queued.data()["priority"], 200);
    assert_eq!(queued.data()["quantity_per_print"], 3);
    for field in ["bambu_job_id", "last_sync_time"] {
        assert!(
            queued.data().as_object().unwrap().contains_key(field),
            "{field} in {}",
            queued.data()
        );
    }
    let refused = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            Some(&farm),
            json!({ "print_file_id": file, "priority": 256.5, "quantity_per_print": 0 }),
        )
        .await;
    refused.expect(400);
    app.stop().await;
}

#[tokio::test]
async fn the_session_user_carries_a_first_and_last_name() {
    let app = TestApp::spawn().await;
    let answer = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-up/email",
            As::Nobody,
            None,
            Some(json!({ "email": "ada@example.com", "password": common::PASSWORD, "name": "Ada King Lovelace" })),
        )
        .await;
    answer.expect(201);
    let token = answer.data()["token"].as_str().unwrap().to_string();
    let session = app.get("/api/v1/auth/get-session", &token, None).await;
    assert_eq!(session.data()["user"]["first_name"], "Ada");
    assert_eq!(session.data()["user"]["last_name"], "King Lovelace");
    assert_eq!(session.data()["user"]["name"], "Ada King Lovelace");
    app.stop().await;
}
