//! Tenant isolation, for every route in the OpenAPI document: routes that need a user
//! refuse anonymous calls (401); farm routes refuse a missing or foreign farm (403)
//! and answer 404 for another farm's ids. New routes are covered as they are added;
//! a route with a new kind of path id fails here until a seed for it is added below.

use crate::common;

use common::{As, TestApp};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;

/// A route as the OpenAPI document lists it.
struct Route {
    method: Method,
    path: String,
    access: Value,
    example: Value,
}

async fn routes(app: &TestApp) -> Vec<Route> {
    let doc = app
        .call(Method::GET, "/api/v1/openapi.json", As::Nobody, None, None)
        .await;
    doc.expect(200);
    let mut routes = Vec::new();
    for (path, item) in doc.body["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            routes.push(Route {
                method,
                path: path.clone(),
                access: op["x-printfarm-access"].clone(),
                example: op["requestBody"]["content"]["application/json"]["example"].clone(),
            });
        }
    }
    assert!(routes.len() >= 20, "the document lists the routes");
    routes
}

/// Fills `{param}`s: `tenant_id` with `farm`, every other with `ids[param]`.
fn fill(path: &str, farm: &str, ids: &HashMap<&str, String>) -> String {
    path.split('/')
        .map(|seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some("tenant_id") => farm.to_string(),
            Some(param) => ids
                .get(param)
                .unwrap_or_else(|| panic!("no seed for path id {{{param}}} in {path}: add one to the isolation test"))
                .clone(),
            None => seg.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_keeps_farms_apart() {
    let app = TestApp::spawn().await;
    let (alice, farm_a) = app.signed_up_owner("alice").await;
    let (bob, farm_b) = app.signed_up_owner("bob").await;
    // Farm B's things, which Alice must never reach.
    let carol = app.signed_up("carol").await;
    app.add_member(&bob, &farm_b, &carol, "operator").await;
    let bobs_invitation = app
        .invite(&bob, &farm_b, "dave@example.com", "viewer")
        .await;
    let bobs_token = app
        .post(
            "/api/v1/auth/api-tokens",
            &bob.token,
            None,
            json!({ "name": "b" }),
        )
        .await;
    let bobs_printer = app
        .post(
            "/api/v1/printers",
            &bob.token,
            Some(&farm_b),
            json!({ "name": "B-1", "model": "P1S" }),
        )
        .await;
    bobs_printer.expect(201);
    let bobs_hub = app
        .post(
            "/api/v1/hubs/register",
            &bob.token,
            Some(&farm_b),
            json!({ "name": "B hub" }),
        )
        .await;
    bobs_hub.expect(201);
    let bobs_file = TestApp::send(
        app.request(Method::POST, "/api/v1/files", As::Bearer(&bob.token))
            .header("x-tenant-id", &farm_b)
            .multipart(
                reqwest::multipart::Form::new().part(
                    "file",
                    reqwest::multipart::Part::bytes(
                        std::fs::read(concat!(
                            env!("CARGO_MANIFEST_DIR"),
                            "/../../../shared/fixtures/3mf/sample-a.3mf"
                        ))
                        .unwrap(),
                    )
                    .file_name("b.3mf"),
                ),
            ),
    )
    .await;
    bobs_file.expect(201);
    let bobs_job = app
        .post(
            "/api/v1/jobs",
            &bob.token,
            Some(&farm_b),
            json!({ "print_file_id": bobs_file.data()["id"] }),
        )
        .await;
    bobs_job.expect(201);
    let bobs_colour = app
        .post(
            "/api/v1/colors",
            &bob.token,
            Some(&farm_b),
            json!({ "color_name": "B red", "hex_code": "#FF0000", "filament_type": "PLA" }),
        )
        .await;
    bobs_colour.expect(201);
    let bobs_plate = app
        .post(
            "/api/v1/plates",
            &bob.token,
            Some(&farm_b),
            json!({ "name": "B plate" }),
        )
        .await;
    bobs_plate.expect(201);
    // One of farm B's materials of each kind.
    let mut bobs_materials = HashMap::new();
    for (kind, param, body) in [
        (
            "filament",
            "filament_id",
            json!({ "type": "PLA", "hex_code": "#FF0000" }),
        ),
        ("packaging", "packaging_id", json!({ "type": "box" })),
        (
            "components",
            "accessory_id",
            json!({ "type": "magnet", "name": "B magnet" }),
        ),
        ("parts", "part_id", json!({ "type": "nozzle" })),
    ] {
        let made = app
            .post(
                &format!("/api/v1/materials/{kind}"),
                &bob.token,
                Some(&farm_b),
                body,
            )
            .await;
        made.expect(201);
        bobs_materials.insert(param, made.data()["id"].as_str().unwrap().to_string());
    }
    let bobs_product = app
        .post(
            "/api/v1/products",
            &bob.token,
            Some(&farm_b),
            json!({ "name": "B product" }),
        )
        .await;
    bobs_product.expect(201);
    let bobs_sku = app
        .post(
            &format!(
                "/api/v1/products/{}/skus",
                bobs_product.data()["id"].as_str().unwrap()
            ),
            &bob.token,
            Some(&farm_b),
            json!({ "sku": "B-SKU", "color": "Red" }),
        )
        .await;
    bobs_sku.expect(201);
    // Farm B's stock of that SKU, as a finished print makes it.
    let bobs_good = {
        let tenant = domain::TenantId::parse(&farm_b).unwrap();
        let mut tx = app.state.store.begin().await.unwrap();
        let sku = store::catalogue::sku_for_print(
            &mut tx,
            &tenant,
            bobs_sku.data()["id"].as_str().unwrap(),
        )
        .await
        .unwrap();
        let good = store::finished_goods::add_printed(
            &mut tx,
            &tenant,
            &sku,
            "PLA",
            bobs_job.data()["id"].as_str().unwrap(),
            2,
            &store::now_text(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        good.id
    };
    // An order of farm B, with one line.
    let bobs_order = app
        .post(
            "/api/v1/orders",
            &bob.token,
            Some(&farm_b),
            json!({ "customer_name": "B customer", "items": [{ "sku": "B-SKU", "quantity": 1 }] }),
        )
        .await;
    bobs_order.expect(201);
    // A worklist task and an assembly task of farm B.
    let bobs_task = app
        .post(
            "/api/v1/worklist",
            &bob.token,
            Some(&farm_b),
            json!({ "task_type": "quality_check", "title": "B's check" }),
        )
        .await;
    bobs_task.expect(201);
    let bobs_assembly = app
        .post(
            "/api/v1/assembly",
            &bob.token,
            Some(&farm_b),
            json!({ "finished_good_id": bobs_good, "quantity": 1 }),
        )
        .await;
    bobs_assembly.expect(201);
    // A wiki article of farm B, for its SKU.
    let bobs_article = app
        .post(
            "/api/v1/wiki",
            &bob.token,
            Some(&farm_b),
            json!({ "title": "B guide", "sku_id": bobs_sku.data()["id"] }),
        )
        .await;
    bobs_article.expect(201);
    let bobs_camera = app
        .post(
            "/api/v1/cameras",
            &bob.token,
            Some(&farm_b),
            json!({ "name": "B camera", "snapshot_url": "http://127.0.0.1:1/snap.jpg", "password": "b-secret" }),
        )
        .await;
    bobs_camera.expect(201);
    let bobs_rule = app
        .post(
            "/api/v1/automation",
            &bob.token,
            Some(&farm_b),
            json!({ "name": "B rule", "trigger_type": "print_failed", "action_type": "start_next_job" }),
        )
        .await;
    bobs_rule.expect(201);
    let bobs_channel = app
        .post(
            "/api/v1/notifications/channels",
            &bob.token,
            Some(&farm_b),
            json!({ "name": "B mail", "kind": "email", "target": "b@farm-b.example" }),
        )
        .await;
    bobs_channel.expect(201);
    // A dead letter of farm B (on a queue no worker reads, so it stays put).
    let farm_b_id = domain::TenantId::parse(&farm_b).unwrap();
    let mut conn = app.state.store.conn().await.unwrap();
    let now = store::now_text();
    store::queue::enqueue(
        &mut conn,
        "isolation-test",
        Some(&farm_b_id),
        &json!({"x": 1}),
        None,
        None,
        &now,
    )
    .await
    .unwrap();
    drop(conn);
    let at = chrono::Utc::now();
    let mut message = store::queue::claim(
        &app.state.store,
        "isolation-test",
        "w",
        at,
        at + chrono::Duration::seconds(60),
    )
    .await
    .unwrap()
    .unwrap();
    message.attempts = message.max_attempts;
    let mut conn = app.state.store.conn().await.unwrap();
    store::queue::fail(&mut conn, &message, "w", "boom", &now, &now)
        .await
        .unwrap();
    drop(conn);
    let mut foreign: HashMap<&str, String> = HashMap::from([
        ("message_id", message.id.clone()),
        (
            "job_id",
            bobs_job.data()["id"].as_str().unwrap().to_string(),
        ),
        (
            "file_id",
            bobs_file.data()["id"].as_str().unwrap().to_string(),
        ),
        ("version_number", "1".to_string()),
        ("command", "pause".to_string()),
        (
            "file_name",
            "0123456789abcdef0123456789abcdef.png".to_string(),
        ),
        ("token", "not-a-valid-link".to_string()),
        (
            "hub_id",
            bobs_hub.data()["hub_id"].as_str().unwrap().to_string(),
        ),
        (
            "printer_id",
            bobs_printer.data()["id"].as_str().unwrap().to_string(),
        ),
        ("user_id", carol.id.clone()),
        (
            "color_id",
            bobs_colour.data()["id"].as_str().unwrap().to_string(),
        ),
        (
            "product_id",
            bobs_product.data()["id"].as_str().unwrap().to_string(),
        ),
        (
            "sku_id",
            bobs_sku.data()["id"].as_str().unwrap().to_string(),
        ),
        ("sku", "B-SKU".to_string()),
        (
            "camera_id",
            bobs_camera.data()["id"].as_str().unwrap().to_string(),
        ),
        ("inventory_id", bobs_good.clone()),
        (
            "order_id",
            bobs_order.data()["id"].as_str().unwrap().to_string(),
        ),
        (
            "item_id",
            bobs_order.data()["items"][0]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        ),
        (
            "article_id",
            bobs_article.data()["id"].as_str().unwrap().to_string(),
        ),
        (
            "rule_id",
            bobs_rule.data()["id"].as_str().unwrap().to_string(),
        ),
        (
            "channel_id",
            bobs_channel.data()["id"].as_str().unwrap().to_string(),
        ),
        (
            "plate_id",
            bobs_plate.data()["id"].as_str().unwrap().to_string(),
        ),
        (
            "task_id",
            bobs_task.data()["id"].as_str().unwrap().to_string(),
        ),
        (
            "assembly_id",
            bobs_assembly.data()["id"].as_str().unwrap().to_string(),
        ),
        (
            "invitation_id",
            bobs_invitation["id"].as_str().unwrap().to_string(),
        ),
        (
            "token_id",
            bobs_token.data()["api_token"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        ),
    ]);
    foreign.extend(bobs_materials);

    let mut checked = 0;
    for route in routes(&app).await {
        let body = (route.method != Method::GET && route.method != Method::DELETE).then(|| {
            if route.example.is_null() {
                json!({})
            } else {
                route.example.clone()
            }
        });
        let what = format!("{} {}", route.method, route.path);
        match route.access["kind"].as_str().unwrap_or("") {
            "public" => continue,
            "signed" => {
                let path = fill(&route.path, &farm_a, &foreign);
                let anonymous = app
                    .call(route.method.clone(), &path, As::Nobody, None, body.clone())
                    .await;
                assert_eq!(
                    anonymous.status, 401,
                    "{what} without a session: {}",
                    anonymous.body
                );
                if path != route.path {
                    // Another user's ids are not found.
                    let answer = app
                        .call(
                            route.method.clone(),
                            &path,
                            As::Bearer(&alice.token),
                            None,
                            body,
                        )
                        .await;
                    assert_eq!(
                        answer.status, 404,
                        "{what} with another user's id: {}",
                        answer.body
                    );
                }
            }
            "member" => {
                let path = fill(&route.path, &farm_a, &foreign);
                let anonymous = app
                    .call(
                        route.method.clone(),
                        &path,
                        As::Nobody,
                        Some(&farm_a),
                        body.clone(),
                    )
                    .await;
                assert_eq!(
                    anonymous.status, 401,
                    "{what} without a session: {}",
                    anonymous.body
                );
                let no_farm = app
                    .call(
                        route.method.clone(),
                        &path,
                        As::Bearer(&alice.token),
                        None,
                        body.clone(),
                    )
                    .await;
                assert_eq!(
                    no_farm.status, 403,
                    "{what} without a farm: {}",
                    no_farm.body
                );
                assert_eq!(no_farm.code(), "TENANT_REQUIRED", "{what}");
                let other = app
                    .call(
                        route.method.clone(),
                        &path,
                        As::Bearer(&alice.token),
                        Some(&farm_b),
                        body.clone(),
                    )
                    .await;
                assert_eq!(other.status, 403, "{what} in another farm: {}", other.body);
                assert_eq!(other.code(), "NOT_A_MEMBER", "{what}");
                let bogus = app
                    .call(
                        route.method.clone(),
                        &path,
                        As::Bearer(&alice.token),
                        Some("not-a-farm"),
                        body.clone(),
                    )
                    .await;
                assert_eq!(
                    bogus.status, 403,
                    "{what} with a malformed farm id: {}",
                    bogus.body
                );
                if path != route.path {
                    let answer = app
                        .call(
                            route.method.clone(),
                            &path,
                            As::Bearer(&alice.token),
                            Some(&farm_a),
                            body,
                        )
                        .await;
                    assert_eq!(
                        answer.status, 404,
                        "{what} with farm B's id: {}",
                        answer.body
                    );
                }
            }
            "farm_path" => {
                let foreign_farm = fill(&route.path, &farm_b, &foreign);
                let anonymous = app
                    .call(
                        route.method.clone(),
                        &foreign_farm,
                        As::Nobody,
                        None,
                        body.clone(),
                    )
                    .await;
                assert_eq!(
                    anonymous.status, 401,
                    "{what} without a session: {}",
                    anonymous.body
                );
                // Alice in farm B's path is refused, even if she names her own farm in the header.
                let other = app
                    .call(
                        route.method.clone(),
                        &foreign_farm,
                        As::Bearer(&alice.token),
                        Some(&farm_a),
                        body.clone(),
                    )
                    .await;
                assert_eq!(other.status, 403, "{what} for another farm: {}", other.body);
                assert_eq!(other.code(), "NOT_A_MEMBER", "{what}");
                let own_farm = fill(&route.path, &farm_a, &foreign);
                if route.path.matches('{').count() > 1 {
                    let answer = app
                        .call(
                            route.method.clone(),
                            &own_farm,
                            As::Bearer(&alice.token),
                            None,
                            body,
                        )
                        .await;
                    assert_eq!(
                        answer.status, 404,
                        "{what} with farm B's id: {}",
                        answer.body
                    );
                }
            }
            other => panic!("{what} has an unknown access kind {other:?}"),
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} routes were checked");
    // Farm B is untouched by all of the above.
    let members = app
        .get(
            &format!("/api/v1/tenants/{farm_b}/members"),
            &bob.token,
            None,
        )
        .await;
    assert_eq!(members.data().as_array().unwrap().len(), 2);
    let invitations = app
        .get(
            &format!("/api/v1/tenants/{farm_b}/invitations"),
            &bob.token,
            None,
        )
        .await;
    assert_eq!(invitations.data()[0]["status"], "pending");
}
