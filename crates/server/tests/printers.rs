//! Printers through the API: adding, listing, access codes, maintenance, bed cleared,
//! order, removal, and hub commands that can't pretend to succeed.

use crate::common;

use common::{Account, TestApp};
use serde_json::{Value, json};

/// An owner with a farm, an operator in it, and a printer helper.
struct Farm {
    owner: Account,
    operator: Account,
    id: String,
}

async fn farm(app: &TestApp) -> Farm {
    let (owner, id) = app.signed_up_owner("olga").await;
    let operator = app.signed_up("otto").await;
    app.add_member(&owner, &id, &operator, "operator").await;
    Farm {
        owner,
        operator,
        id,
    }
}

impl Farm {
    async fn add_printer(&self, app: &TestApp, body: Value) -> Value {
        let answer = app
            .post("/api/v1/printers", &self.owner.token, Some(&self.id), body)
            .await;
        answer.expect(201);
        answer.data().clone()
    }
}

#[tokio::test]
async fn an_admin_adds_printers_that_the_farm_numbers_and_lists() {
    let app = TestApp::spawn().await;
    let farm = farm(&app).await;
    let first = farm
        .add_printer(
            &app,
            json!({ "name": "X1C-01", "model": "X1C", "serial_number": "00M00A2B3C4D5E6", "nozzle_size": 0.4,
                    "current_color_hex": "f7d959", "current_filament_type": "pla", "location": "Rack A" }),
        )
        .await;
    assert_eq!(first["printer_id"], 1);
    assert_eq!(first["status"], "idle");
    assert_eq!(first["is_connected"], 0);
    assert_eq!(first["connection_type"], "bambu");
    assert_eq!(first["current_color_hex"], "#F7D959");
    assert_eq!(first["current_filament_type"], "PLA");
    assert_eq!(first["serial_number"], "00M00A2B3C4D5E6");
    let second = farm
        .add_printer(&app, json!({ "name": "A1-01", "model": "A1" }))
        .await;
    assert_eq!(second["printer_id"], 2);

    let list = app
        .get("/api/v1/printers", &farm.operator.token, Some(&farm.id))
        .await;
    list.expect(200);
    assert_eq!(list.body["meta"]["total"], 2);
    let names: Vec<&str> = list
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["X1C-01", "A1-01"]);

    let by_name = app
        .get(
            "/api/v1/printers?sortBy=name&sortOrder=asc",
            &farm.operator.token,
            Some(&farm.id),
        )
        .await;
    assert_eq!(by_name.data()[0]["name"], "A1-01");
    let filtered = app
        .get(
            "/api/v1/printers?model=X1C&search=x1c",
            &farm.operator.token,
            Some(&farm.id),
        )
        .await;
    assert_eq!(filtered.body["meta"]["total"], 1);
    let paged = app
        .get(
            "/api/v1/printers?limit=1&page=2",
            &farm.operator.token,
            Some(&farm.id),
        )
        .await;
    assert_eq!(paged.data().as_array().unwrap().len(), 1);
    assert_eq!(paged.data()[0]["name"], "A1-01");
    assert_eq!(paged.body["meta"]["page"], 2);

    let by_number = app
        .get("/api/v1/printers/2", &farm.operator.token, Some(&farm.id))
        .await;
    by_number.expect(200);
    assert_eq!(by_number.data()["id"], second["id"]);

    let bad_sort = app
        .get(
            "/api/v1/printers?sortBy=password&status=busy",
            &farm.operator.token,
            Some(&farm.id),
        )
        .await;
    bad_sort.expect(400);
    assert_eq!(bad_sort.fields(), vec!["status", "sortBy"]);
}

#[tokio::test]
async fn an_access_code_is_sealed_at_rest_and_shown_only_to_admins_reading_one_printer() {
    let app = TestApp::spawn().await;
    let farm = farm(&app).await;
    let created = farm
        .add_printer(&app, json!({ "name": "P1S-01", "model": "P1S", "serial_number": "01P00A123456789", "access_code": "AB12cd34" }))
        .await;
    assert_eq!(
        created["access_code"], "[ENCRYPTED]",
        "written answers mask it, as the original's did"
    );
    let id = created["id"].as_str().unwrap();

    let as_admin = app
        .get(
            &format!("/api/v1/printers/{id}"),
            &farm.owner.token,
            Some(&farm.id),
        )
        .await;
    assert_eq!(as_admin.data()["access_code"], "AB12cd34");
    let as_operator = app
        .get(
            &format!("/api/v1/printers/{id}"),
            &farm.operator.token,
            Some(&farm.id),
        )
        .await;
    assert_eq!(as_operator.data()["access_code"], "[ENCRYPTED]");
    let list = app
        .get("/api/v1/printers", &farm.owner.token, Some(&farm.id))
        .await;
    assert_eq!(list.data()[0]["access_code"], "[ENCRYPTED]");
    assert!(!list.body.to_string().contains("AB12cd34"));

    let mut conn = app.state.store.conn().await.unwrap();
    let (stored,): (String,) = sqlx::query_as("SELECT access_code FROM printers WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert!(
        !stored.contains("AB12cd34"),
        "stored sealed, not in clear: {stored}"
    );
    drop(conn);

    // Sending the mask back (as a form round-trip would) keeps the code.
    app.put(
        &format!("/api/v1/printers/{id}"),
        &farm.owner.token,
        Some(&farm.id),
        json!({ "access_code": "[ENCRYPTED]", "location": "B2" }),
    )
    .await
    .expect(200);
    let after = app
        .get(
            &format!("/api/v1/printers/{id}"),
            &farm.owner.token,
            Some(&farm.id),
        )
        .await;
    assert_eq!(after.data()["access_code"], "AB12cd34");
    assert_eq!(after.data()["location"], "B2");
}

#[tokio::test]
async fn bad_printer_input_names_every_field_and_names_are_unique_per_farm() {
    let app = TestApp::spawn().await;
    let farm = farm(&app).await;
    let bad = app
        .post(
            "/api/v1/printers",
            &farm.owner.token,
            Some(&farm.id),
            json!({ "nozzle_size": 0.5, "current_color_hex": "yellow", "access_code": "123", "ip_address": "printer.local",
                    "connection_type": "ender", "serial_number": "x" }),
        )
        .await;
    bad.expect(400);
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "access_code",
            "connection_type",
            "current_color_hex",
            "ip_address",
            "model",
            "name",
            "nozzle_size",
            "serial_number"
        ]
    );
    farm.add_printer(&app, json!({ "name": "P1S-01", "model": "P1S" }))
        .await;
    let twice = app
        .post(
            "/api/v1/printers",
            &farm.owner.token,
            Some(&farm.id),
            json!({ "name": "P1S-01", "model": "P1S" }),
        )
        .await;
    twice.expect(409);
    assert_eq!(twice.code(), "PRINTER_NAME_TAKEN");
    assert_eq!(twice.body["error"]["details"]["field"], "name");
    let no_hub = app
        .post(
            "/api/v1/printers",
            &farm.owner.token,
            Some(&farm.id),
            json!({ "name": "P1S-02", "model": "P1S", "hub_id": "no-such-hub" }),
        )
        .await;
    no_hub.expect(400);
    assert_eq!(no_hub.fields(), ["hub_id"]);
    // Another farm may use the same name.
    let (other, other_farm) = app.signed_up_owner("bob").await;
    app.post(
        "/api/v1/printers",
        &other.token,
        Some(&other_farm),
        json!({ "name": "P1S-01", "model": "P1S" }),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn operators_run_the_floor_but_only_admins_add_or_remove_printers() {
    let app = TestApp::spawn().await;
    let farm = farm(&app).await;
    let printer = farm
        .add_printer(&app, json!({ "name": "A1-01", "model": "A1" }))
        .await;
    let id = printer["id"].as_str().unwrap();
    let path = |rest: &str| format!("/api/v1/printers/{id}{rest}");
    let op = &farm.operator.token;

    app.post(
        "/api/v1/printers",
        op,
        Some(&farm.id),
        json!({ "name": "A1-02", "model": "A1" }),
    )
    .await
    .expect(403);
    app.delete(&path(""), op, Some(&farm.id)).await.expect(403);

    let status = app
        .put(
            &path("/status"),
            op,
            Some(&farm.id),
            json!({ "status": "offline" }),
        )
        .await;
    status.expect(200);
    assert_eq!(status.data()["status"], "offline");
    app.put(
        &path("/status"),
        op,
        Some(&farm.id),
        json!({ "status": "sleeping" }),
    )
    .await
    .expect(400);
    app.put(
        &path("/status"),
        op,
        Some(&farm.id),
        json!({ "status": "idle" }),
    )
    .await
    .expect(200);

    let into = app
        .put(
            &path("/maintenance"),
            op,
            Some(&farm.id),
            json!({ "in_maintenance": true, "maintenance_type": "nozzle" }),
        )
        .await;
    into.expect(200);
    assert_eq!(into.data()["in_maintenance"], 1);
    assert_eq!(into.data()["status"], "maintenance");
    assert_eq!(into.data()["maintenance_type"], "nozzle");
    let done = app
        .post(
            &path("/maintenance/complete"),
            op,
            Some(&farm.id),
            json!({}),
        )
        .await;
    done.expect(200);
    assert_eq!(done.data()["in_maintenance"], 0);
    assert_eq!(done.data()["status"], "idle");
    assert!(done.data()["last_maintenance_date"].is_string());

    let not_cleared = app
        .put(
            &path("/cleared"),
            op,
            Some(&farm.id),
            json!({ "cleared": false }),
        )
        .await;
    assert_eq!(not_cleared.data()["cleared"], 0);
    let cleared = TestApp::send(
        app.request(
            reqwest::Method::PUT,
            &path("/cleared"),
            common::As::Bearer(op),
        )
        .header("x-tenant-id", &farm.id),
    )
    .await;
    cleared.expect(200);
    assert_eq!(cleared.data()["cleared"], 1, "no body means cleared");

    app.delete(&path(""), &farm.owner.token, Some(&farm.id))
        .await
        .expect(200);
    app.get(&path(""), op, Some(&farm.id)).await.expect(404);
}

#[tokio::test]
async fn a_printer_holding_a_job_is_not_removed() {
    let app = TestApp::spawn().await;
    let farm = farm(&app).await;
    let printer = farm
        .add_printer(&app, json!({ "name": "P1S-01", "model": "P1S" }))
        .await;
    let id = printer["id"].as_str().unwrap();
    // Jobs get their own API later; a printing job is written directly here.
    let mut conn = app.state.store.conn().await.unwrap();
    let now = "2026-11-25T08:00:00.000Z";
    sqlx::query("INSERT INTO print_files (id, tenant_id, name, number_of_units, object_count, created_at, updated_at) VALUES ('f1', $1, 'part.3mf', 1, 1, $2, $2)")
        .bind(&farm.id).bind(now).execute(&mut *conn).await.unwrap();
    sqlx::query("INSERT INTO print_jobs (id, tenant_id, printer_id, print_file_id, file_name, status, color, filament_type, material_type, number_of_units, progress_percentage, priority, requires_assembly, quantity_per_print, created_at, updated_at) VALUES ('j1', $1, $2, 'f1', 'part.3mf', 'printing', 'Yellow', 'PLA', 'PLA', 1, 40, 50, 0, 1, $3, $3)")
        .bind(&farm.id).bind(id).bind(now).execute(&mut *conn).await.unwrap();
    drop(conn);
    let refused = app
        .delete(
            &format!("/api/v1/printers/{id}"),
            &farm.owner.token,
            Some(&farm.id),
        )
        .await;
    refused.expect(409);
    assert_eq!(refused.code(), "PRINTER_BUSY");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("printing")
    );
}

#[tokio::test]
async fn the_display_order_is_set_in_one_call() {
    let app = TestApp::spawn().await;
    let farm = farm(&app).await;
    let a = farm
        .add_printer(&app, json!({ "name": "A", "model": "A1" }))
        .await;
    let b = farm
        .add_printer(&app, json!({ "name": "B", "model": "A1" }))
        .await;
    let c = farm
        .add_printer(&app, json!({ "name": "C", "model": "A1" }))
        .await;
    app.put(
        "/api/v1/printers/order",
        &farm.operator.token,
        Some(&farm.id),
        json!({ "printer_ids": [c["id"], a["id"], b["id"]] }),
    )
    .await
    .expect(200);
    let list = app
        .get("/api/v1/printers", &farm.operator.token, Some(&farm.id))
        .await;
    let names: Vec<&str> = list
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["C", "A", "B"]);
    let (other, other_farm) = app.signed_up_owner("bob").await;
    let theirs = app
        .post(
            "/api/v1/printers",
            &other.token,
            Some(&other_farm),
            json!({ "name": "Z", "model": "A1" }),
        )
        .await;
    let foreign = app
        .put(
            "/api/v1/printers/order",
            &farm.operator.token,
            Some(&farm.id),
            json!({ "printer_ids": [a["id"], theirs.data()["id"]] }),
        )
        .await;
    foreign.expect(404);
    let unchanged = app
        .get("/api/v1/printers", &farm.operator.token, Some(&farm.id))
        .await;
    assert_eq!(
        unchanged.data()[0]["name"],
        "C",
        "a refused reorder changes nothing"
    );
}

#[tokio::test]
async fn commands_to_a_printer_without_a_connected_hub_say_so() {
    let app = TestApp::spawn().await;
    let farm = farm(&app).await;
    let printer = farm
        .add_printer(
            &app,
            json!({ "name": "P1S-01", "model": "P1S", "serial_number": "01P00A123456789" }),
        )
        .await;
    let id = printer["id"].as_str().unwrap();
    let op = &farm.operator.token;
    for (route, body) in [
        ("connect", json!({})),
        ("disconnect", json!({})),
        ("control", json!({ "action": "pause" })),
        ("light", json!({ "on": true })),
    ] {
        let answer = app
            .post(
                &format!("/api/v1/printers/{id}/{route}"),
                op,
                Some(&farm.id),
                body,
            )
            .await;
        answer.expect(409);
        assert_eq!(answer.code(), "HUB_OFFLINE", "{route}");
        assert!(
            answer.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("hub"),
            "{route}"
        );
    }
    let bad = app
        .post(
            &format!("/api/v1/printers/{id}/control"),
            op,
            Some(&farm.id),
            json!({ "action": "explode" }),
        )
        .await;
    bad.expect(400);
    assert_eq!(bad.fields(), ["action"]);
}

#[tokio::test]
async fn the_printer_list_shows_a_change_at_once_to_everyone_in_the_farm() {
    let app = TestApp::spawn().await;
    let farm = farm(&app).await;
    let printer = farm
        .add_printer(&app, json!({ "name": "P1S-01", "model": "P1S" }))
        .await;
    let names = |answer: &common::Answer| -> Vec<String> {
        answer
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    // Read twice (the second may come from the server's cache): the same answer.
    let first = app
        .get("/api/v1/printers", &farm.operator.token, Some(&farm.id))
        .await;
    let again = app
        .get("/api/v1/printers", &farm.operator.token, Some(&farm.id))
        .await;
    assert_eq!(first.body, again.body);

    // The owner renames it; the operator's very next read shows the new name.
    app.put(
        &format!("/api/v1/printers/{}", printer["id"].as_str().unwrap()),
        &farm.owner.token,
        Some(&farm.id),
        json!({ "name": "P1S-Front" }),
    )
    .await
    .expect(200);
    let after = app
        .get("/api/v1/printers", &farm.operator.token, Some(&farm.id))
        .await;
    assert_eq!(names(&after), ["P1S-Front"]);

    // Marking the bed not cleared shows at once too.
    app.put(
        &format!(
            "/api/v1/printers/{}/cleared",
            printer["id"].as_str().unwrap()
        ),
        &farm.operator.token,
        Some(&farm.id),
        json!({ "cleared": false }),
    )
    .await
    .expect(200);
    let after = app
        .get("/api/v1/printers", &farm.owner.token, Some(&farm.id))
        .await;
    assert_eq!(after.data()[0]["cleared"], 0);

    // Another farm's list is its own.
    let (other, other_farm) = app.signed_up_owner("oscar").await;
    let theirs = app
        .get("/api/v1/printers", &other.token, Some(&other_farm))
        .await;
    assert_eq!(theirs.body["meta"]["total"], 0);
}
