//! The catalogue's vocabulary through the API: colour presets (`/colors`) and build plates
//! (`/plates`), as an operator keeps them and as the earlier client reads them.

use crate::common;

use common::TestApp;
use serde_json::{Value, json};

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|c| c[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_operator_keeps_the_farms_colours_and_a_name_is_unique_per_filament_type() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("cora").await;
    let t = &owner.token;
    let f = Some(farm.as_str());

    let green = app
        .post(
            "/api/v1/colors",
            t,
            f,
            json!({ "color_name": " Forest Green ", "hex_code": "1b4c0e", "filament_type": "petg" }),
        )
        .await;
    green.expect(201);
    assert_eq!(green.data()["color_name"], "Forest Green");
    assert_eq!(green.data()["hex_code"], "#1B4C0E");
    assert_eq!(green.data()["filament_type"], "PETG");
    assert_eq!(green.data()["is_active"], 1);
    let green_id = green.data()["id"].as_str().unwrap().to_string();

    // The same name for the same type is taken; for another type it is another colour.
    let again = app
        .post(
            "/api/v1/colors",
            t,
            f,
            json!({ "color_name": "Forest Green", "hex_code": "#000000", "filament_type": "PETG" }),
        )
        .await;
    again.expect(409);
    assert_eq!(again.code(), "COLOR_NAME_TAKEN");
    assert_eq!(
        again.body["error"]["details"]["field"], "color_name",
        "{}",
        again.body
    );
    app.post(
        "/api/v1/colors",
        t,
        f,
        json!({ "color_name": "Forest Green", "hex_code": "#1B4C0E", "filament_type": "PLA" }),
    )
    .await
    .expect(201);

    // Bad input names every wrong field and keeps nothing.
    let bad = app
        .post(
            "/api/v1/colors",
            t,
            f,
            json!({ "color_name": "", "hex_code": "green", "is_active": "yes" }),
        )
        .await;
    bad.expect(400);
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(
        fields,
        ["color_name", "filament_type", "hex_code", "is_active"]
    );

    // A batch is all or none, with each problem named at its place.
    let batch = app
        .post(
            "/api/v1/colors/batch",
            t,
            f,
            json!({ "colors": [
                { "color_name": "Sunny D", "hex_code": "#FF9100", "filament_type": "PLA" },
                { "color_name": "Nice Blue", "hex_code": "#00D5FF", "filament_type": "ABS" },
                { "color_name": "Forest Green", "hex_code": "#1B4C0E", "filament_type": "PETG" },
            ] }),
        )
        .await;
    batch.expect(409);
    assert_eq!(
        batch.body["error"]["details"]["field"],
        "colors[2].color_name"
    );
    let bad_batch = app
        .post(
            "/api/v1/colors/batch",
            t,
            f,
            json!({ "colors": [
                { "color_name": "Sunny D", "hex_code": "#FF9100", "filament_type": "PLA" },
                { "color_name": "Nice Blue", "hex_code": "#00D5F", "filament_type": "ABS" },
            ] }),
        )
        .await;
    bad_batch.expect(400);
    assert_eq!(bad_batch.fields(), ["colors[1].hex_code"]);
    let list = app.get("/api/v1/colors", t, f).await;
    list.expect(200);
    assert_eq!(list.data()["total"], 2, "nothing of the refused batches");

    let batch = app
        .post(
            "/api/v1/colors/batch",
            t,
            f,
            json!({ "colors": [
                { "color_name": "Sunny D", "hex_code": "#FF9100", "filament_type": "PLA" },
                { "color_name": "Nice Blue", "hex_code": "#00D5FF", "filament_type": "ABS", "is_active": 0 },
            ] }),
        )
        .await;
    batch.expect(201);
    assert_eq!(batch.data().as_array().unwrap().len(), 2);

    // The list is the earlier client's shape: {items, total, page, limit, hasMore}.
    let page = app.get("/api/v1/colors?limit=2&page=1", t, f).await;
    page.expect(200);
    assert_eq!(page.data()["total"], 4);
    assert_eq!(page.data()["page"], 1);
    assert_eq!(page.data()["limit"], 2);
    assert_eq!(page.data()["hasMore"], true);
    assert_eq!(
        names(&page.data()["items"], "filament_type"),
        ["ABS", "PETG"]
    );
    let last = app.get("/api/v1/colors?limit=2&page=2", t, f).await;
    assert_eq!(last.data()["hasMore"], false);
    assert_eq!(
        names(&last.data()["items"], "color_name"),
        ["Forest Green", "Sunny D"]
    );
    let pla = app
        .get("/api/v1/colors?filament_type=pla&is_active=true", t, f)
        .await;
    assert_eq!(
        names(&pla.data()["items"], "color_name"),
        ["Forest Green", "Sunny D"]
    );
    let searched = app.get("/api/v1/colors?search=BLUE", t, f).await;
    assert_eq!(
        names(&searched.data()["items"], "color_name"),
        ["Nice Blue"]
    );
    let refused = app.get("/api/v1/colors?is_active=maybe", t, f).await;
    refused.expect(400);
    assert_eq!(refused.fields(), ["is_active"]);

    // Filament types: the farm's own and the usual ones, each once.
    let types = app.get("/api/v1/colors/filament-types", t, f).await;
    types.expect(200);
    let types: Vec<&str> = types
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for wanted in ["ABS", "PETG", "PLA", "TPU"] {
        assert_eq!(
            types.iter().filter(|t| **t == wanted).count(),
            1,
            "{types:?}"
        );
    }

    // A change names only what changes; a rename onto a taken name is refused.
    let path = format!("/api/v1/colors/{green_id}");
    let changed = app.put(&path, t, f, json!({ "hex_code": "#00FF00" })).await;
    changed.expect(200);
    assert_eq!(changed.data()["hex_code"], "#00FF00");
    assert_eq!(changed.data()["color_name"], "Forest Green");
    let clash = app
        .put(
            &path,
            t,
            f,
            json!({ "color_name": "Sunny D", "filament_type": "PLA" }),
        )
        .await;
    clash.expect(409);
    assert_eq!(clash.body["error"]["details"]["field"], "color_name");
    assert_eq!(
        app.get(&path, t, f).await.data()["filament_type"],
        "PETG",
        "the refused change kept nothing"
    );

    app.delete(&path, t, f).await.expect(200);
    let gone = app.get(&path, t, f).await;
    gone.expect(404);
    assert_eq!(gone.code(), "COLOR_NOT_FOUND");
    app.delete(&path, t, f).await.expect(404);

    // Every change is in the audit log.
    let log = app
        .get(&format!("/api/v1/tenants/{farm}/audit-log"), t, None)
        .await;
    let actions: Vec<&str> = log
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .filter(|a| a.starts_with("color."))
        .collect();
    assert_eq!(
        actions,
        [
            "color.deleted",
            "color.updated",
            "color.batch_created",
            "color.created",
            "color.created"
        ]
    );
}

#[tokio::test]
async fn a_viewer_reads_colours_and_plates_but_changes_neither() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("vera").await;
    let viewer = app.signed_up("vic").await;
    app.add_member(&owner, &farm, &viewer, "viewer").await;
    let f = Some(farm.as_str());
    app.post("/api/v1/plates/seed-defaults", &owner.token, f, json!({}))
        .await
        .expect(200);
    let plates = app.get("/api/v1/plates", &viewer.token, f).await;
    plates.expect(200);
    assert!(plates.data().as_array().unwrap().len() >= 6);
    app.get("/api/v1/colors", &viewer.token, f)
        .await
        .expect(200);
    let refused = app
        .post(
            "/api/v1/plates",
            &viewer.token,
            f,
            json!({ "name": "Mine" }),
        )
        .await;
    refused.expect(403);
    app.post(
        "/api/v1/colors",
        &viewer.token,
        f,
        json!({ "color_name": "Red", "hex_code": "#FF0000", "filament_type": "PLA" }),
    )
    .await
    .expect(403);
}

#[tokio::test]
async fn the_usual_plates_are_seeded_once_and_a_plate_name_is_unique() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("pia").await;
    let t = &owner.token;
    let f = Some(farm.as_str());

    let own = app
        .post(
            "/api/v1/plates",
            t,
            f,
            json!({ "name": "Textured PEI Plate", "description": "  ours, worn  " }),
        )
        .await;
    own.expect(201);
    assert_eq!(own.data()["description"], "ours, worn");
    let own_id = own.data()["id"].as_str().unwrap().to_string();

    // Seeding adds the usual plates the farm lacks, and leaves its own alone.
    let seeded = app
        .post("/api/v1/plates/seed-defaults", t, f, json!({}))
        .await;
    seeded.expect(200);
    assert_eq!(seeded.data()["created"], 5);
    let plates = &seeded.data()["plates"];
    assert_eq!(plates.as_array().unwrap().len(), 6);
    let textured = plates
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Textured PEI Plate")
        .unwrap();
    assert_eq!(textured["description"], "ours, worn");
    let again = app
        .post("/api/v1/plates/seed-defaults", t, f, json!({}))
        .await;
    assert_eq!(again.data()["created"], 0);
    assert_eq!(again.data()["plates"].as_array().unwrap().len(), 6);

    let list = app.get("/api/v1/plates", t, f).await;
    list.expect(200);
    let listed = names(list.data(), "name");
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "by name");

    // Names are unique in the farm; bad input names its field.
    let taken = app
        .post("/api/v1/plates", t, f, json!({ "name": "Cool Plate" }))
        .await;
    taken.expect(409);
    assert_eq!(taken.code(), "PLATE_NAME_TAKEN");
    assert_eq!(taken.body["error"]["details"]["field"], "name");
    let nameless = app
        .post("/api/v1/plates", t, f, json!({ "description": "no name" }))
        .await;
    nameless.expect(400);
    assert_eq!(nameless.fields(), ["name"]);

    // Retire a plate, then it is not among the active ones.
    let path = format!("/api/v1/plates/{own_id}");
    let retired = app.put(&path, t, f, json!({ "is_active": false })).await;
    retired.expect(200);
    assert_eq!(retired.data()["is_active"], 0);
    assert_eq!(retired.data()["name"], "Textured PEI Plate");
    let active = app.get("/api/v1/plates?is_active=true", t, f).await;
    assert!(!names(active.data(), "name").contains(&"Textured PEI Plate".to_string()));
    let rename = app
        .put(&path, t, f, json!({ "name": "Engineering Plate" }))
        .await;
    rename.expect(409);

    app.delete(&path, t, f).await.expect(200);
    let gone = app.get(&path, t, f).await;
    gone.expect(404);
    assert_eq!(gone.code(), "PLATE_NOT_FOUND");
    assert_eq!(
        app.get("/api/v1/plates", t, f)
            .await
            .data()
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn a_farm_keeps_its_products_with_components_and_a_name_is_unique() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("pete").await;
    let t = &owner.token;
    let f = Some(farm.as_str());
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;

    let lamp = app
        .post(
            "/api/v1/products",
            t,
            f,
            json!({ "name": "Moon Lamp", "category": "Lighting", "print_file_id": file,
                    "requires_assembly": 1, "printer_priority": ["X1C", " P1S ", ""] }),
        )
        .await;
    lamp.expect(201);
    assert_eq!(lamp.data()["printer_priority"], json!(["X1C", "P1S"]));
    assert_eq!(lamp.data()["requires_assembly"], 1);
    assert_eq!(lamp.data()["is_active"], 1);
    assert_eq!(lamp.data()["sku_count"], 0);
    assert!(
        lamp.data()["file_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "the file's name is taken from the file: {}",
        lamp.data()
    );
    let lamp_id = lamp.data()["id"].as_str().unwrap().to_string();
    app.post(
        "/api/v1/products",
        t,
        f,
        json!({ "name": "Keychain", "category": "Accessories" }),
    )
    .await
    .expect(201);

    // A name is unique; a file must be the farm's; bad input names its fields.
    let taken = app
        .post("/api/v1/products", t, f, json!({ "name": "Moon Lamp" }))
        .await;
    taken.expect(409);
    assert_eq!(taken.code(), "PRODUCT_NAME_TAKEN");
    assert_eq!(taken.body["error"]["details"]["field"], "name");
    let stranger = app
        .post(
            "/api/v1/products",
            t,
            f,
            json!({ "name": "Ghost", "print_file_id": "00000000-0000-0000-0000-000000000000" }),
        )
        .await;
    stranger.expect(400);
    assert_eq!(stranger.fields(), ["print_file_id"]);
    let bad = app
        .post(
            "/api/v1/products",
            t,
            f,
            json!({ "requires_assembly": "often" }),
        )
        .await;
    bad.expect(400);
    assert_eq!(bad.fields(), ["name", "requires_assembly"]);

    // Lists: filters, order, categories.
    let lighting = app.get("/api/v1/products?category=Lighting", t, f).await;
    lighting.expect(200);
    assert_eq!(names(lighting.data(), "name"), ["Moon Lamp"]);
    let by_name_desc = app
        .get("/api/v1/products?sortBy=name&sortOrder=desc", t, f)
        .await;
    assert_eq!(
        names(by_name_desc.data(), "name"),
        ["Moon Lamp", "Keychain"]
    );
    assert_eq!(by_name_desc.body["meta"]["total"], 2);
    let refused = app.get("/api/v1/products?sortBy=price", t, f).await;
    refused.expect(400);
    assert_eq!(refused.fields(), ["sortBy"]);
    let categories = app.get("/api/v1/products/categories", t, f).await;
    assert_eq!(categories.data(), &json!(["Accessories", "Lighting"]));

    // Components: added, listed on the product and farm-wide, removed one or all.
    let base = format!("/api/v1/products/{lamp_id}/components");
    let shade = app
        .post(
            &base,
            t,
            f,
            json!({ "component_name": "Shade", "quantity_required": 1 }),
        )
        .await;
    shade.expect(201);
    app.post(
        &base,
        t,
        f,
        json!({ "component_name": "LED strip", "component_type": "electronics", "quantity_required": 2 }),
    )
    .await
    .expect(201);
    let zero = app
        .post(
            &base,
            t,
            f,
            json!({ "component_name": "Screw", "quantity_required": 0 }),
        )
        .await;
    zero.expect(400);
    assert_eq!(zero.fields(), ["quantity_required"]);
    let one = app.get(&format!("/api/v1/products/{lamp_id}"), t, f).await;
    one.expect(200);
    assert_eq!(
        names(&one.data()["components"], "component_name"),
        ["LED strip", "Shade"]
    );
    let all = app.get("/api/v1/products/components/all", t, f).await;
    assert_eq!(all.data().as_array().unwrap().len(), 2);
    assert_eq!(all.data()[0]["product_name"], "Moon Lamp");
    let shade_id = shade.data()["id"].as_str().unwrap();
    let removed = app
        .delete(&format!("{base}?component_id={shade_id}"), t, f)
        .await;
    removed.expect(200);
    assert_eq!(removed.data()["removed"], 1);
    app.delete(&format!("{base}?component_id={shade_id}"), t, f)
        .await
        .expect(404);
    assert_eq!(
        names(app.get(&base, t, f).await.data(), "component_name"),
        ["LED strip"]
    );
    assert_eq!(app.delete(&base, t, f).await.data()["removed"], 1);

    // A change keeps what it does not name; null clears an optional field.
    let path = format!("/api/v1/products/{lamp_id}");
    let changed = app
        .put(
            &path,
            t,
            f,
            json!({ "description": "Glows", "category": null, "is_active": false }),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.data()["description"], "Glows");
    assert_eq!(changed.data()["category"], Value::Null);
    assert_eq!(changed.data()["is_active"], 0);
    assert_eq!(changed.data()["name"], "Moon Lamp");
    assert_eq!(changed.data()["printer_priority"], json!(["X1C", "P1S"]));
    let clash = app.put(&path, t, f, json!({ "name": "Keychain" })).await;
    clash.expect(409);
    let inactive = app.get("/api/v1/products?is_active=false", t, f).await;
    assert_eq!(names(inactive.data(), "name"), ["Moon Lamp"]);
}

#[tokio::test]
async fn a_product_with_stock_or_an_open_job_is_not_deleted_and_says_what_uses_it() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("dora").await;
    let t = &owner.token;
    let f = Some(farm.as_str());
    let product = app
        .post("/api/v1/products", t, f, json!({ "name": "Keychain" }))
        .await;
    product.expect(201);
    let product_id = product.data()["id"].as_str().unwrap().to_string();
    let tenant = domain::TenantId::parse(&farm).unwrap();
    let now = store::now_text();
    let mut conn = app.state.store.conn().await.unwrap();
    let sku_id = store::catalogue::create_sku(
        &mut conn,
        &tenant,
        &store::catalogue::NewSku {
            product_id: &product_id,
            sku: "KEY-RED",
            color: "Red",
            filament_type: Some("PLA"),
            quantity: 2,
            price: Some(500),
            low_stock_threshold: 1,
        },
        &now,
    )
    .await
    .unwrap();
    drop(conn);
    let path = format!("/api/v1/products/{product_id}");
    assert_eq!(app.get(&path, t, f).await.data()["sku_count"], 1);

    // An open job of its SKU keeps it.
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let job = app
        .post(
            "/api/v1/jobs",
            t,
            f,
            json!({ "print_file_id": file, "product_sku_id": sku_id }),
        )
        .await;
    job.expect(201);
    let job_id = job.data()["id"].as_str().unwrap().to_string();
    let refused = app.delete(&path, t, f).await;
    refused.expect(409);
    assert_eq!(refused.code(), "PRODUCT_IN_USE");
    assert_eq!(
        refused.body["error"]["details"]["open_jobs"],
        json!([job_id])
    );
    app.post(&format!("/api/v1/jobs/{job_id}/cancel"), t, f, json!({}))
        .await
        .expect(200);

    // Stock of its SKU keeps it.
    let mut tx = app.state.store.begin().await.unwrap();
    let sku = store::catalogue::sku_for_print(&mut tx, &tenant, &sku_id)
        .await
        .unwrap();
    store::finished_goods::add_printed(&mut tx, &tenant, &sku, "PLA", &job_id, 2, &now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let refused = app.delete(&path, t, f).await;
    refused.expect(409);
    assert_eq!(
        refused.body["error"]["details"]["skus_with_stock"],
        json!(["KEY-RED"])
    );
    assert_eq!(refused.body["error"]["details"]["open_jobs"], json!([]));
    app.get(&path, t, f).await.expect(200);

    // Without stock or open jobs it goes, with its SKUs.
    app.post(
        &format!("/api/v1/skus/{sku_id}/adjust"),
        t,
        f,
        json!({ "adjustment": -2, "reason": "sold" }),
    )
    .await
    .expect(200);
    app.delete(&path, t, f).await.expect(200);
    app.get(&path, t, f).await.expect(404);
    let mut conn = app.state.store.conn().await.unwrap();
    assert!(matches!(
        store::catalogue::sku_for_print(&mut conn, &tenant, &sku_id).await,
        Err(store::StoreError::NotFound)
    ));
}

#[tokio::test]
async fn a_product_sells_in_skus_whose_codes_are_unique_and_whose_stock_is_not_edited() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("sam").await;
    let t = &owner.token;
    let f = Some(farm.as_str());
    let product = app
        .post("/api/v1/products", t, f, json!({ "name": "Keychain" }))
        .await;
    let product_id = product.data()["id"].as_str().unwrap().to_string();

    // Three ways in, as the earlier client and its scripts use them.
    let red = app
        .post(
            &format!("/api/v1/products/{product_id}/skus"),
            t,
            f,
            json!({ "sku": "KEY-RED", "color": "Red", "filament_type": "pla", "hex_code": "ff0000",
                    "quantity": 4, "price": 500, "low_stock_threshold": 10, "stock_level": 3 }),
        )
        .await;
    red.expect(201);
    assert_eq!(red.data()["filament_type"], "PLA");
    assert_eq!(red.data()["hex_code"], "#FF0000");
    assert_eq!(red.data()["stock_level"], 3);
    assert_eq!(red.data()["product_name"], "Keychain");
    let red_id = red.data()["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/skus/products/{product_id}/skus"),
        t,
        f,
        json!({ "sku": "KEY-BLU", "color": "Blue", "stock_level": 40, "low_stock_threshold": 5 }),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/skus",
        t,
        f,
        json!({ "product_id": product_id, "sku": "KEY-GRN", "color": "Green" }),
    )
    .await
    .expect(201);
    assert_eq!(
        app.get(&format!("/api/v1/products/{product_id}"), t, f)
            .await
            .data()["sku_count"],
        3
    );

    // A code is unique in the farm; bad input names every field; no product, no SKU.
    let taken = app
        .post(
            &format!("/api/v1/products/{product_id}/skus"),
            t,
            f,
            json!({ "sku": "KEY-RED", "color": "Pink" }),
        )
        .await;
    taken.expect(409);
    assert_eq!(taken.code(), "SKU_TAKEN");
    assert_eq!(taken.body["error"]["details"]["field"], "sku");
    let bad = app
        .post(
            &format!("/api/v1/products/{product_id}/skus"),
            t,
            f,
            json!({ "quantity": 0, "price": -1, "stock_level": -5, "hex_code": "red" }),
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
            "price",
            "quantity",
            "sku",
            "stock_level"
        ]
    );
    let nowhere = app
        .post("/api/v1/skus", t, f, json!({ "sku": "X", "color": "Red" }))
        .await;
    nowhere.expect(400);
    assert_eq!(nowhere.fields(), ["product_id"]);
    let ghost = app
        .post(
            "/api/v1/products/00000000-0000-0000-0000-000000000000/skus",
            t,
            f,
            json!({ "sku": "X", "color": "Red" }),
        )
        .await;
    ghost.expect(404);
    assert_eq!(ghost.code(), "PRODUCT_NOT_FOUND");

    // Reads: by code, lists, low stock (at or below the threshold).
    let by_code = app.get("/api/v1/skus/by-sku/KEY-BLU", t, f).await;
    by_code.expect(200);
    assert_eq!(by_code.data()["color"], "Blue");
    app.get("/api/v1/skus/by-sku/NOPE", t, f).await.expect(404);
    let all = app.get("/api/v1/skus?limit=2", t, f).await;
    assert_eq!(names(all.data(), "sku"), ["KEY-BLU", "KEY-GRN"]);
    assert_eq!(all.body["meta"]["total"], 3);
    let low = app.get("/api/v1/skus/low-stock", t, f).await;
    low.expect(200);
    assert_eq!(names(low.data(), "sku"), ["KEY-GRN", "KEY-RED"]);
    let searched = app.get("/api/v1/skus?search=blue", t, f).await;
    assert_eq!(names(searched.data(), "sku"), ["KEY-BLU"]);
    let of_product = app
        .get(&format!("/api/v1/skus/products/{product_id}/skus"), t, f)
        .await;
    assert_eq!(of_product.data().as_array().unwrap().len(), 3);

    // A change keeps what it leaves out; stock is not edited, it is adjusted.
    let path = format!("/api/v1/skus/{red_id}");
    let changed = app
        .put(&path, t, f, json!({ "price": 650, "hex_code": null }))
        .await;
    changed.expect(200);
    assert_eq!(changed.data()["price"], 650);
    assert_eq!(changed.data()["hex_code"], Value::Null);
    assert_eq!(changed.data()["sku"], "KEY-RED");
    let stock_edit = app.put(&path, t, f, json!({ "stock_level": 100 })).await;
    stock_edit.expect(400);
    assert_eq!(stock_edit.fields(), ["stock_level"]);
    let rename = app.put(&path, t, f, json!({ "sku": "KEY-BLU" })).await;
    rename.expect(409);
    assert_eq!(app.get(&path, t, f).await.data()["stock_level"], 3);

    // A SKU with stock stays; one without goes.
    let refused = app.delete(&path, t, f).await;
    refused.expect(409);
    assert_eq!(refused.code(), "SKU_IN_USE");
    assert_eq!(refused.body["error"]["details"]["units_in_stock"], 3);
    let green = app.get("/api/v1/skus/by-sku/KEY-GRN", t, f).await;
    let green_path = format!("/api/v1/skus/{}", green.data()["id"].as_str().unwrap());
    app.delete(&green_path, t, f).await.expect(200);
    app.get(&green_path, t, f).await.expect(404);
}

/// A farm with one SKU (`KEY-RED`, threshold 5) holding `stock` units; its id.
async fn one_sku(app: &TestApp, token: &str, farm: &str, stock: i64) -> String {
    let product = app
        .post(
            "/api/v1/products",
            token,
            Some(farm),
            json!({ "name": "Keychain" }),
        )
        .await;
    let id = product.data()["id"].as_str().unwrap();
    let sku = app
        .post(
            &format!("/api/v1/products/{id}/skus"),
            token,
            Some(farm),
            json!({ "sku": "KEY-RED", "color": "Red", "low_stock_threshold": 5, "stock_level": stock }),
        )
        .await;
    sku.expect(201);
    sku.data()["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn stock_never_goes_negative() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("nina").await;
    let t = &owner.token;
    let f = Some(farm.as_str());
    let sku = one_sku(&app, t, &farm, 3).await;
    let adjust = format!("/api/v1/skus/{sku}/adjust");

    let sold = app
        .post(
            &adjust,
            t,
            f,
            json!({ "adjustment": -2, "reason": "sold at the market" }),
        )
        .await;
    sold.expect(200);
    assert_eq!(sold.data()["stock_level"], 1);
    assert_eq!(sold.data()["adjustment"]["before"], 3);
    assert_eq!(sold.data()["adjustment"]["after"], 1);

    let too_many = app
        .post(
            &adjust,
            t,
            f,
            json!({ "adjustment": -2, "reason": "another sale" }),
        )
        .await;
    too_many.expect(409);
    assert_eq!(too_many.code(), "INSUFFICIENT_STOCK");
    assert_eq!(too_many.body["error"]["details"]["available"], 1);
    assert_eq!(too_many.body["error"]["details"]["requested"], -2);
    assert_eq!(
        app.get(&format!("/api/v1/skus/{sku}"), t, f).await.data()["stock_level"],
        1,
        "the refused adjustment changed nothing"
    );

    // No reason, no change; a change of nothing is no adjustment.
    let bad = app.post(&adjust, t, f, json!({ "adjustment": 0 })).await;
    bad.expect(400);
    assert_eq!(bad.fields(), ["adjustment", "reason"]);

    // Twenty sales of one unit at once against ten units: exactly ten go through.
    app.post(
        &adjust,
        t,
        f,
        json!({ "quantity": 9, "reason": "counted the shelf" }),
    )
    .await
    .expect(200);
    let sales = (0..20).map(|_| {
        app.post(
            &adjust,
            t,
            f,
            json!({ "adjustment": -1, "reason": "online sale" }),
        )
    });
    let answers = futures::future::join_all(sales).await;
    let done = answers.iter().filter(|a| a.status == 200).count();
    let refused = answers.iter().filter(|a| a.status == 409).count();
    assert_eq!((done, refused), (10, 10));
    assert_eq!(
        app.get(&format!("/api/v1/skus/{sku}"), t, f).await.data()["stock_level"],
        0
    );

    // Each adjustment says who, why, before and after in the audit log.
    let log = app
        .get(
            &format!("/api/v1/tenants/{farm}/audit-log?limit=100"),
            t,
            None,
        )
        .await;
    let adjustments: Vec<&Value> = log
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "sku.stock_adjusted")
        .collect();
    assert_eq!(adjustments.len(), 12, "2 + 10 sales and the count");
    let first = adjustments.last().unwrap();
    assert_eq!(first["user_id"], owner.id.as_str(), "{first}");
    let new: Value = match &first["new_values"] {
        Value::String(text) => serde_json::from_str(text).unwrap(),
        other => other.clone(),
    };
    assert_eq!(new["reason"], "sold at the market", "{first}");
    assert_eq!(
        (new["before"].clone(), new["after"].clone()),
        (json!(3), json!(1))
    );
}

#[tokio::test]
async fn a_low_stock_sku_alerts_once() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("lou").await;
    let t = &owner.token;
    let f = Some(farm.as_str());
    let tenant = domain::TenantId::parse(&farm).unwrap();
    let mut events = app.state.realtime.subscribe(&tenant).events;
    let sku = one_sku(&app, t, &farm, 8).await;
    let adjust = format!("/api/v1/skus/{sku}/adjust");
    let mut alerted = Vec::new();
    for (change, reason) in [
        (-2, "sale"),    // 6: above the threshold
        (-1, "sale"),    // 5: at it, the alert
        (-1, "sale"),    // 4: still low, none
        (-3, "sale"),    // 1: none
        (10, "restock"), // 11: above again
        (-7, "sale"),    // 4: low again, the second alert
    ] {
        let answer = app
            .post(
                &adjust,
                t,
                f,
                json!({ "adjustment": change, "reason": reason }),
            )
            .await;
        answer.expect(200);
        alerted.push(answer.data()["alerted"].as_bool().unwrap());
    }
    assert_eq!(alerted, [false, true, false, false, false, true]);
    // The dashboard hears exactly those two.
    let mut heard = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let proto::dashboard::ServerMessage::InventoryAlert {
            current_stock,
            threshold,
            sku,
            ..
        } = &event.message
        {
            heard.push((sku.clone(), *current_stock, *threshold));
        }
    }
    assert_eq!(
        heard,
        [("KEY-RED".to_string(), 5, 5), ("KEY-RED".to_string(), 4, 5)]
    );
}

#[tokio::test]
async fn a_product_shows_its_picture_and_a_file_that_is_no_picture_is_refused() {
    use reqwest::Method;
    use reqwest::multipart::{Form, Part};
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("ivy").await;
    let (stranger, _) = app.signed_up_owner("sly").await;
    let t = &owner.token;
    let f = Some(farm.as_str());
    let product = app
        .post("/api/v1/products", t, f, json!({ "name": "Vase" }))
        .await;
    let id = product.data()["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/products/{id}/image");
    let send = |bytes: Vec<u8>, name: &str| {
        let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()));
        TestApp::send(
            app.request(Method::POST, &path, common::As::Bearer(t))
                .header("x-tenant-id", &farm)
                .multipart(form),
        )
    };
    let text = send(b"not a picture".to_vec(), "vase.png").await;
    text.expect(400);
    assert_eq!(text.fields(), ["file"]);
    app.get(&path, t, f).await.expect(404);

    // The plate picture inside the fixture is a real PNG.
    let png = {
        use std::io::Read;
        let mut zip =
            zip::ZipArchive::new(std::io::Cursor::new(common::fixture("sample-a.3mf"))).unwrap();
        let mut entry = zip.by_name("Metadata/plate_1.png").unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        bytes
    };
    let stored = send(png.clone(), "vase.png").await;
    stored.expect(201);
    assert_eq!(stored.data()["image_url"], path.as_str());
    assert_eq!(
        app.get(&format!("/api/v1/products/{id}"), t, f)
            .await
            .data()["image_url"],
        path.as_str()
    );
    let got = app
        .request(Method::GET, &path, common::As::Bearer(t))
        .header("x-tenant-id", &farm)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap().as_ref(), png.as_slice());
    // Another farm's member does not see it.
    let other = TestApp::send(
        app.request(Method::GET, &path, common::As::Bearer(&stranger.token))
            .header("x-tenant-id", &farm),
    )
    .await;
    assert_eq!(other.status, 403);
    // Deleted with its product.
    app.delete(&format!("/api/v1/products/{id}"), t, f)
        .await
        .expect(200);
    app.get(&path, t, f).await.expect(404);
}

#[tokio::test]
async fn finished_goods_are_adjusted_with_a_reason_never_below_zero_and_alert_once() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("gus").await;
    let t = &owner.token;
    let f = Some(farm.as_str());
    let sku = one_sku(&app, t, &farm, 0).await;
    // A finished print of 6 units, as the worker records it.
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let job = app
        .post("/api/v1/jobs", t, f, json!({ "print_file_id": file }))
        .await;
    let job_id = job.data()["id"].as_str().unwrap().to_string();
    let tenant = domain::TenantId::parse(&farm).unwrap();
    let mut events = app.state.realtime.subscribe(&tenant).events;
    let mut tx = app.state.store.begin().await.unwrap();
    let for_print = store::catalogue::sku_for_print(&mut tx, &tenant, &sku)
        .await
        .unwrap();
    let good = store::finished_goods::add_printed(
        &mut tx,
        &tenant,
        &for_print,
        "PLA",
        &job_id,
        6,
        &store::now_text(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let path = format!("/api/v1/inventory/{}", good.id);

    let by_sku = app
        .get(&format!("/api/v1/inventory/by-sku/{sku}"), t, f)
        .await;
    by_sku.expect(200);
    assert_eq!(by_sku.data()["id"], good.id.as_str());
    assert_eq!(app.get(&path, t, f).await.data()["current_stock"], 6);
    app.get("/api/v1/inventory/by-sku/nothing", t, f)
        .await
        .expect(404);

    let sold = app
        .post(
            &format!("{path}/adjust"),
            t,
            f,
            json!({ "adjustment": -1, "reason": "sale" }),
        )
        .await;
    sold.expect(200);
    assert_eq!(sold.data()["current_stock"], 5);
    assert_eq!(sold.data()["status"], "low_stock");
    assert_eq!(sold.data()["alerted"], true, "5 is at the threshold");
    let again = app
        .post(
            &format!("{path}/adjust"),
            t,
            f,
            json!({ "adjustment": -4, "reason": "sale" }),
        )
        .await;
    assert_eq!(again.data()["alerted"], false, "still low: no second alert");
    let over = app
        .post(
            &format!("{path}/adjust"),
            t,
            f,
            json!({ "adjustment": -2, "reason": "sale" }),
        )
        .await;
    over.expect(409);
    assert_eq!(over.code(), "INSUFFICIENT_STOCK");
    assert_eq!(over.body["error"]["details"]["available"], 1);
    let emptied = app
        .post(
            &format!("{path}/adjust"),
            t,
            f,
            json!({ "adjustment": -1, "reason": "sale" }),
        )
        .await;
    assert_eq!(emptied.data()["status"], "out_of_stock");

    // A lower threshold is not low any more; a higher one makes it low again, once.
    let threshold = app
        .put(
            &format!("{path}/threshold"),
            t,
            f,
            json!({ "threshold": -1 }),
        )
        .await;
    threshold.expect(400);
    assert_eq!(threshold.fields(), ["threshold"]);
    app.post(
        &format!("{path}/adjust"),
        t,
        f,
        json!({ "adjustment": 3, "reason": "restock" }),
    )
    .await
    .expect(200);
    let lowered = app
        .put(
            &format!("{path}/threshold"),
            t,
            f,
            json!({ "threshold": 2 }),
        )
        .await;
    lowered.expect(200);
    assert_eq!(lowered.data()["status"], "in_stock");
    let raised = app
        .put(
            &format!("{path}/threshold"),
            t,
            f,
            json!({ "low_stock_threshold": 3 }),
        )
        .await;
    assert_eq!(raised.data()["status"], "low_stock");

    let stats = app.get("/api/v1/inventory/stats", t, f).await;
    stats.expect(200);
    assert_eq!(stats.data()["total_items"], 1);
    assert_eq!(stats.data()["total_units"], 3);
    assert_eq!(stats.data()["low_stock"], 1);

    let mut alerts = 0;
    while let Ok(event) = events.try_recv() {
        if matches!(
            event.message,
            proto::dashboard::ServerMessage::InventoryAlert { .. }
        ) {
            alerts += 1;
        }
    }
    // The print (6 > 5: none), the sale to 5 (one), the raised threshold (one).
    assert_eq!(alerts, 2);
}

#[tokio::test]
async fn a_skus_stock_is_started_by_hand_changed_and_removed_only_when_empty() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("hal").await;
    let t = &owner.token;
    let f = Some(farm.as_str());
    let sku = one_sku(&app, t, &farm, 0).await;

    let nothing = app
        .post("/api/v1/inventory", t, f, json!({ "current_stock": -1 }))
        .await;
    nothing.expect(400);
    let mut fields = nothing.fields();
    fields.sort();
    assert_eq!(fields, ["current_stock", "product_sku_id"]);
    let stranger = app
        .post(
            "/api/v1/inventory",
            t,
            f,
            json!({ "product_sku_id": "00000000-0000-0000-0000-000000000000" }),
        )
        .await;
    stranger.expect(400);
    assert_eq!(stranger.fields(), ["product_sku_id"]);

    let started = app
        .post(
            "/api/v1/inventory",
            t,
            f,
            json!({ "product_sku_id": sku, "current_stock": 12 }),
        )
        .await;
    started.expect(201);
    assert_eq!(started.data()["sku"], "KEY-RED");
    assert_eq!(started.data()["color"], "Red");
    assert_eq!(started.data()["current_stock"], 12);
    assert_eq!(
        started.data()["low_stock_threshold"],
        5,
        "the SKU's threshold"
    );
    assert_eq!(started.data()["status"], "in_stock");
    let id = started.data()["id"].as_str().unwrap().to_string();
    let twice = app
        .post("/api/v1/inventory", t, f, json!({ "product_sku_id": sku }))
        .await;
    twice.expect(409);
    assert_eq!(twice.body["error"]["details"]["field"], "product_sku_id");
    assert_eq!(
        app.get("/api/v1/inventory", t, f)
            .await
            .data()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let path = format!("/api/v1/inventory/{id}");
    let changed = app
        .put(
            &path,
            t,
            f,
            json!({ "unit_price": 750, "low_stock_threshold": 20 }),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.data()["unit_price"], 750);
    assert_eq!(changed.data()["status"], "low_stock");
    assert_eq!(changed.data()["current_stock"], 12);
    let units = app.put(&path, t, f, json!({ "current_stock": 99 })).await;
    units.expect(400);
    assert_eq!(units.fields(), ["current_stock"]);

    let refused = app.delete(&path, t, f).await;
    refused.expect(409);
    assert_eq!(refused.code(), "INVENTORY_IN_USE");
    assert_eq!(refused.body["error"]["details"]["current_stock"], 12);
    app.post(
        &format!("{path}/adjust"),
        t,
        f,
        json!({ "adjustment": -12, "reason": "moved to another farm" }),
    )
    .await
    .expect(200);
    app.delete(&path, t, f).await.expect(200);
    app.get(&path, t, f).await.expect(404);
}

#[tokio::test]
async fn a_sku_names_its_print_file_and_jobs_are_queued_for_a_quantity() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("sven").await;
    let t = &owner.token;
    let f = Some(farm.as_str());
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let product = app
        .post("/api/v1/products", t, f, json!({ "name": "Keychain" }))
        .await;
    let product = product.data()["id"].as_str().unwrap().to_string();
    let sku = app
        .post(
            &format!("/api/v1/products/{product}/skus"),
            t,
            f,
            json!({ "sku": "KEY-YEL", "color": "Yellow", "quantity": 4, "print_file_id": file, "plate_index": 1 }),
        )
        .await;
    sku.expect(201);
    assert_eq!(sku.data()["print_file_id"], file.as_str());
    let sku = sku.data()["id"].as_str().unwrap().to_string();

    // 10 units at 4 a print: three prints of the SKU's plate.
    let jobs = app
        .post(
            "/api/v1/jobs",
            t,
            f,
            json!({ "sku_id": sku, "quantity": 10, "priority": "high" }),
        )
        .await;
    jobs.expect(201);
    let jobs = jobs.data().as_array().unwrap().clone();
    assert_eq!(jobs.len(), 3);
    for job in &jobs {
        assert_eq!(job["print_file_id"], file.as_str());
        assert_eq!(job["plate_index"], 1);
        assert_eq!(job["product_sku_id"], sku.as_str());
        assert_eq!(job["quantity_per_print"], 4);
        assert_eq!(job["status"], "queued");
    }
    let queued = app.get("/api/v1/jobs?status=queued", t, f).await;
    assert_eq!(queued.body["meta"]["total"], 3);

    // A plate the file lacks, a SKU without a file, a quantity of none: refused, nothing queued.
    let bad_plate = app
        .put(
            &format!("/api/v1/skus/{sku}"),
            t,
            f,
            json!({ "plate_index": 7 }),
        )
        .await;
    bad_plate.expect(400);
    assert_eq!(bad_plate.fields(), ["plate_index"]);
    let bare = app
        .post(
            &format!("/api/v1/products/{product}/skus"),
            t,
            f,
            json!({ "sku": "KEY-RED", "color": "Red" }),
        )
        .await;
    let bare = bare.data()["id"].as_str().unwrap().to_string();
    let no_file = app
        .post(
            "/api/v1/jobs",
            t,
            f,
            json!({ "sku_id": bare, "quantity": 2 }),
        )
        .await;
    no_file.expect(409);
    assert_eq!(no_file.code(), "SKU_HAS_NO_PRINT_FILE");
    for (body, field) in [
        (json!({ "sku_id": sku, "quantity": 0 }), "quantity"),
        (json!({ "sku_id": sku }), "quantity"),
        (json!({ "sku_id": "nope", "quantity": 1 }), "sku_id"),
    ] {
        let refused = app.post("/api/v1/jobs", t, f, body).await;
        refused.expect(400);
        assert_eq!(refused.fields(), [field]);
    }
    assert_eq!(app.get("/api/v1/jobs", t, f).await.body["meta"]["total"], 3);

    // One stock truth: the SKU's adjustments and its finished good's are the same units.
    app.post(
        &format!("/api/v1/skus/{sku}/adjust"),
        t,
        f,
        json!({ "adjustment": 5, "reason": "counted" }),
    )
    .await
    .expect(200);
    let good = app
        .get(&format!("/api/v1/inventory/by-sku/{sku}"), t, f)
        .await;
    good.expect(200);
    assert_eq!(good.data()["current_stock"], 5);
    let good = good.data()["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/inventory/{good}/adjust"),
        t,
        f,
        json!({ "adjustment": -2, "reason": "sold at the market" }),
    )
    .await
    .expect(200);
    let sku_now = app.get(&format!("/api/v1/skus/{sku}"), t, f).await;
    assert_eq!(sku_now.data()["stock_level"], 3);
    // The stock list pages when asked (a farm may keep thousands of SKUs).
    let page = app.get("/api/v1/inventory?page=1&limit=1", t, f).await;
    page.expect(200);
    assert_eq!(page.data().as_array().unwrap().len(), 1);
    assert_eq!(page.body["meta"]["total"], 1);
    assert_eq!(page.body["meta"]["limit"], 1);
    app.stop().await;
}
