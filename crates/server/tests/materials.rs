//! Materials through the API: filament by the gram, packaging, components and printer parts
//! by the unit, as an operator keeps them; components consumed never below zero and checked
//! against what a product needs; a spool set from what a printer's AMS reports.

use crate::common;

use common::{As, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

async fn patch(app: &TestApp, token: &str, farm: &str, path: &str, body: Value) -> common::Answer {
    app.call(
        Method::PATCH,
        path,
        As::Bearer(token),
        Some(farm),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn an_operator_keeps_filament_packaging_components_and_parts() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("mara").await;
    let t = &owner.token;
    let f = Some(farm.as_str());

    let spool = app
        .post(
            "/api/v1/materials/filament",
            t,
            f,
            json!({ "type": "pla", "color": "Jade White", "hex_code": "ffffff", "brand": "Bambu",
                    "remaining_grams": 750.5, "spool_weight_grams": 1000, "low_threshold": 150 }),
        )
        .await;
    spool.expect(201);
    let s = spool.data();
    assert_eq!(s["type"], "PLA");
    assert_eq!(s["hex_code"], "#FFFFFF");
    assert_eq!(s["remaining_grams"], 750.5);
    assert_eq!(s["remaining_percent"], 75.0);
    assert_eq!(s["status"], "in_stock");
    assert_eq!(s["diameter"], "1.75mm");
    let spool_id = s["id"].as_str().unwrap().to_string();

    let boxes = app
        .post(
            "/api/v1/materials/packaging",
            t,
            f,
            json!({ "type": "box", "name": "Small mailer", "size": "15x10x5", "remaining_units": 30 }),
        )
        .await;
    boxes.expect(201);
    assert_eq!(boxes.data()["remaining_units"], 30);
    assert_eq!(
        boxes.data()["low_threshold"],
        10,
        "the data model's default"
    );
    let magnets = app
        .post(
            "/api/v1/materials/components",
            t,
            f,
            json!({ "type": "magnet", "name": "6x2 mm magnet", "remaining_units": 3, "low_threshold": 5 }),
        )
        .await;
    magnets.expect(201);
    assert_eq!(magnets.data()["status"], "low");
    let nozzle = app
        .post(
            "/api/v1/materials/parts",
            t,
            f,
            json!({ "type": "nozzle", "name": "0.4 hardened", "compatible_models": ["P1S", "X1C"], "remaining_units": 0 }),
        )
        .await;
    nozzle.expect(201);
    assert_eq!(nozzle.data()["status"], "out_of_stock");
    assert_eq!(nozzle.data()["compatible_models"], r#"["P1S","X1C"]"#);
    let nozzle_id = nozzle.data()["id"].as_str().unwrap().to_string();

    // Lists filter by type, status and low stock, with the total.
    let all = app.get("/api/v1/materials/filament", t, f).await;
    all.expect(200);
    assert_eq!(all.body["meta"]["total"], 1);
    let low = app
        .get("/api/v1/materials/components?low_stock=true", t, f)
        .await;
    assert_eq!(low.data().as_array().unwrap().len(), 1);
    let none = app.get("/api/v1/materials/packaging?type=bag", t, f).await;
    assert_eq!(none.data().as_array().unwrap().len(), 0);
    let bad = app.get("/api/v1/materials/parts?status=lost", t, f).await;
    bad.expect(400);
    assert_eq!(bad.fields(), ["status"]);

    // A change names only what changes; a reorder shows while the part is short.
    let ordered = patch(
        &app,
        t,
        &farm,
        &format!("/api/v1/materials/parts/{nozzle_id}"),
        json!({ "status": "on_order", "reorder_link": "https://store.bambulab.com/nozzle" }),
    )
    .await;
    ordered.expect(200);
    assert_eq!(ordered.data()["status"], "on_order");
    assert_eq!(ordered.data()["name"], "0.4 hardened");
    let restocked = patch(
        &app,
        t,
        &farm,
        &format!("/api/v1/materials/parts/{nozzle_id}"),
        json!({ "remaining_units": 4 }),
    )
    .await;
    assert_eq!(restocked.data()["status"], "in_stock");

    // Bad input names every wrong field and keeps nothing.
    let bad = app
        .post(
            "/api/v1/materials/filament",
            t,
            f,
            json!({ "remaining_grams": -1, "hex_code": "green", "reorder_link": "javascript:alert(1)" }),
        )
        .await;
    bad.expect(400);
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "color",
            "hex_code",
            "remaining_grams",
            "reorder_link",
            "type"
        ]
    );
    let fraction = app
        .post(
            "/api/v1/materials/packaging",
            t,
            f,
            json!({ "type": "bag", "remaining_units": 2.5 }),
        )
        .await;
    fraction.expect(400);
    assert_eq!(fraction.fields(), ["remaining_units"]);
    assert_eq!(
        app.get("/api/v1/materials/packaging", t, f).await.body["meta"]["total"],
        1
    );

    // A viewer reads but does not change.
    let viewer = app.signed_up("vic").await;
    app.add_member(&owner, &farm, &viewer, "viewer").await;
    app.get(
        &format!("/api/v1/materials/filament/{spool_id}"),
        &viewer.token,
        f,
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/materials/filament",
        &viewer.token,
        f,
        json!({ "type": "PLA", "color": "Red" }),
    )
    .await
    .expect(403);

    // Deleting is audited; the row is gone.
    app.delete(&format!("/api/v1/materials/filament/{spool_id}"), t, f)
        .await
        .expect(200);
    let gone = app
        .get(&format!("/api/v1/materials/filament/{spool_id}"), t, f)
        .await;
    gone.expect(404);
    assert_eq!(gone.code(), "FILAMENT_NOT_FOUND");
    let audit = app
        .get(&format!("/api/v1/tenants/{farm}/audit-log"), t, f)
        .await;
    audit.expect(200);
    let actions: Vec<&str> = audit
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert!(actions.contains(&"material.deleted"), "{actions:?}");
    assert!(actions.contains(&"material.updated"), "{actions:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_component_is_never_consumed_below_zero_and_a_products_needs_are_checked() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("nico").await;
    let t = &owner.token;
    let f = Some(farm.as_str());
    let magnets = app
        .post(
            "/api/v1/materials/components",
            t,
            f,
            json!({ "type": "magnet", "name": "6x2 mm magnet", "remaining_units": 10, "low_threshold": 5 }),
        )
        .await;
    let magnets = magnets.data()["id"].as_str().unwrap().to_string();
    let mut events = app
        .state
        .realtime
        .subscribe(&domain::TenantId::parse(&farm).unwrap())
        .events;

    let used = app
        .post(
            &format!("/api/v1/materials/components/{magnets}/consume"),
            t,
            f,
            json!({ "quantity": 5, "reason": "lamp assembly" }),
        )
        .await;
    used.expect(200);
    assert_eq!(used.data()["remaining_units"], 5);
    assert_eq!(used.data()["consumption"]["before"], 10);
    assert_eq!(used.data()["alerted"], true);
    let alert = events.try_recv().expect("a material alert");
    let alert: Value = serde_json::from_str(alert.text().as_str()).unwrap();
    assert_eq!(alert["type"], "material_alert");
    assert_eq!(alert["material_id"], magnets.as_str());
    assert_eq!(alert["remaining"], 5.0);
    let short = app
        .post(
            &format!("/api/v1/materials/components/{magnets}/consume"),
            t,
            f,
            json!({ "quantity": 6 }),
        )
        .await;
    short.expect(409);
    assert_eq!(short.code(), "INSUFFICIENT_STOCK");
    assert_eq!(short.body["error"]["details"]["available"], 5);
    let zero = app
        .post(
            &format!("/api/v1/materials/components/{magnets}/consume"),
            t,
            f,
            json!({ "quantity": 0 }),
        )
        .await;
    zero.expect(400);
    assert_eq!(zero.fields(), ["quantity"]);
    let one = app
        .get(&format!("/api/v1/materials/components/{magnets}"), t, f)
        .await;
    assert_eq!(
        one.data()["remaining_units"],
        5,
        "a refusal changes nothing"
    );
    assert_eq!(one.data()["usage"].as_array().unwrap().len(), 1);
    assert_eq!(one.data()["usage"][0]["reason"], "lamp assembly");

    // By id, and for units of a product whose components name them.
    let by_id = app
        .post(
            "/api/v1/materials/components/check-availability",
            t,
            f,
            json!({ "components": [{ "component_id": magnets, "quantity": 4 }] }),
        )
        .await;
    by_id.expect(200);
    assert_eq!(by_id.data()["all_available"], true);
    let lamp = app
        .post(
            "/api/v1/products",
            t,
            f,
            json!({ "name": "Lamp", "requires_assembly": true }),
        )
        .await;
    let lamp = lamp.data()["id"].as_str().unwrap().to_string();
    for (name, qty) in [("6x2 mm magnet", 2), ("LED puck", 1)] {
        app.post(
            &format!("/api/v1/products/{lamp}/components"),
            t,
            f,
            json!({ "component_name": name, "quantity_required": qty }),
        )
        .await
        .expect(201);
    }
    let for_lamps = app
        .post(
            "/api/v1/materials/components/check-availability",
            t,
            f,
            json!({ "product_id": lamp, "quantity": 3 }),
        )
        .await;
    for_lamps.expect(200);
    assert_eq!(for_lamps.data()["all_available"], false);
    let lines = for_lamps.data()["components"].as_array().unwrap();
    let magnet = lines.iter().find(|l| l["name"] == "6x2 mm magnet").unwrap();
    assert_eq!(magnet["required"], 6);
    assert_eq!(magnet["available"], 5);
    assert_eq!(magnet["short"], 1);
    let led = lines.iter().find(|l| l["name"] == "LED puck").unwrap();
    assert_eq!(led["found"], false);
    assert_eq!(led["short"], 3);
    let bad = app
        .post(
            "/api/v1/materials/components/check-availability",
            t,
            f,
            json!({ "components": [{ "component_id": "nope", "quantity": 1 }, { "quantity": 2 }] }),
        )
        .await;
    bad.expect(400);
    assert_eq!(
        bad.fields(),
        ["components[0].component_id", "components[1].component_id"]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_spool_is_set_from_what_the_printers_ams_reports() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("ola").await;
    let t = &owner.token;
    let f = Some(farm.as_str());
    let printer = app
        .add_printer(
            &owner,
            &farm,
            json!({ "name": "P1S-01", "model": "P1S", "serial_number": "01P00A000000001" }),
        )
        .await;
    let tenant = domain::TenantId::parse(&farm).unwrap();
    let row = app.printer_row(&farm, &printer).await;
    let report = |remaining: i64| proto::PrinterStatus {
        printer_id: printer.clone(),
        status: domain::printers::PrinterStatus::Idle,
        filaments: vec![proto::status::FilamentSlot {
            slot: 2,
            filament_type: Some("PETG".into()),
            colour: Some("1B4C0EFF".into()),
            remaining: Some(remaining),
        }],
        ..Default::default()
    };
    app.state.realtime.printer_status(&tenant, &row, report(40));
    let set = app
        .post(
            "/api/v1/materials/filament/from-ams",
            t,
            f,
            json!({ "printer_id": printer, "slot": 2 }),
        )
        .await;
    set.expect(200);
    assert_eq!(set.data()["created"], true);
    assert_eq!(set.data()["type"], "PETG");
    assert_eq!(set.data()["hex_code"], "#1B4C0E");
    assert_eq!(set.data()["remaining_grams"], 400.0);
    assert_eq!(set.data()["location"], "P1S-01 slot 2");
    let spool = set.data()["id"].as_str().unwrap().to_string();

    // Read again later: the same spool, with what is left now.
    app.state.realtime.printer_status(&tenant, &row, report(35));
    let again = app
        .post(
            "/api/v1/materials/filament/from-ams",
            t,
            f,
            json!({ "printer_id": printer, "slot": 2 }),
        )
        .await;
    again.expect(200);
    assert_eq!(again.data()["created"], false);
    assert_eq!(again.data()["id"], spool.as_str());
    assert_eq!(again.data()["remaining_grams"], 350.0);
    let empty_slot = app
        .post(
            "/api/v1/materials/filament/from-ams",
            t,
            f,
            json!({ "printer_id": printer, "slot": 3 }),
        )
        .await;
    empty_slot.expect(400);
    assert_eq!(empty_slot.fields(), ["slot"]);
    assert_eq!(
        app.get("/api/v1/materials/filament", t, f).await.body["meta"]["total"],
        1
    );
    app.stop().await;
}
