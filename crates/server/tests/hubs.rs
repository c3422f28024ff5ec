//! Hubs through the API: registration (by an admin or a factory key), claim, release,
//! and commands that say plainly when the hub is not connected.

use crate::common;

use common::{As, TestApp};
use reqwest::Method;
use serde_json::json;

const FACTORY_KEY: &str = "factory-key-for-tests-0123456789";

#[tokio::test]
async fn an_admin_registers_a_hub_for_the_farm_and_sees_its_secret_once() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let registered = app
        .post(
            "/api/v1/hubs/register",
            &owner.token,
            Some(&farm),
            json!({ "hub_id": "pfhub-rack-a", "name": "Rack A" }),
        )
        .await;
    registered.expect(201);
    let secret = registered.data()["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("pfhs_") && secret.len() > 40);
    assert_eq!(registered.data()["hub_id"], "pfhub-rack-a");
    assert_eq!(registered.data()["tenant_id"], farm.as_str());
    assert_eq!(registered.data()["connected"], false);

    let list = app.get("/api/v1/hubs", &owner.token, Some(&farm)).await;
    list.expect(200);
    assert_eq!(list.data()[0]["name"], "Rack A");
    assert_eq!(list.data()[0]["printer_count"], 0);
    assert!(!list.body.to_string().contains(&secret));
    let one = app
        .get("/api/v1/hubs/pfhub-rack-a", &owner.token, Some(&farm))
        .await;
    assert!(one.data().get("secret").is_none() && one.data().get("secret_hash").is_none());

    let mut conn = app.state.store.conn().await.unwrap();
    let (stored,): (String,) =
        sqlx::query_as("SELECT hello_key_sealed FROM hubs WHERE id = 'pfhub-rack-a'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert!(!stored.contains(&secret[5..]), "the secret is not stored");
    let plain_key = hex::encode(proto::hub::hello_key(&secret));
    assert!(
        !stored.contains(&plain_key),
        "nor its hello key in the clear"
    );
    drop(conn);

    let again = app
        .post(
            "/api/v1/hubs/register",
            &owner.token,
            Some(&farm),
            json!({ "hub_id": "pfhub-rack-a" }),
        )
        .await;
    again.expect(409);
    assert_eq!(again.code(), "HUB_EXISTS");
    let bad = app
        .post(
            "/api/v1/hubs/register",
            &owner.token,
            Some(&farm),
            json!({ "hub_id": "no spaces!" }),
        )
        .await;
    bad.expect(400);
    assert_eq!(bad.fields(), ["hub_id"]);
}

#[tokio::test]
async fn a_factory_registers_unclaimed_hubs_that_a_farm_then_claims() {
    let app = TestApp::spawn_with(|s| s.hub_provisioning_key = Some(FACTORY_KEY.into())).await;
    let register = |key: Option<&'static str>| {
        let mut req = app
            .request(Method::POST, "/api/v1/hubs/register", As::Nobody)
            .json(&json!({ "name": "Fresh hub" }));
        if let Some(k) = key {
            req = req.header("x-provisioning-key", k);
        }
        TestApp::send(req)
    };
    register(Some("wrong-key")).await.expect(403);
    register(None).await.expect(401);
    let made = register(Some(FACTORY_KEY)).await;
    made.expect(201);
    assert!(made.data()["tenant_id"].is_null());
    let hub_id = made.data()["hub_id"].as_str().unwrap().to_string();
    let secret = made.data()["secret"].as_str().unwrap().to_string();

    let (olga, farm) = app.signed_up_owner("olga").await;
    let (bob, bobs_farm) = app.signed_up_owner("bob").await;
    let wrong = app
        .post(
            "/api/v1/hubs/claim",
            &olga.token,
            Some(&farm),
            json!({ "hub_id": hub_id, "secret": "pfhs_nope" }),
        )
        .await;
    wrong.expect(403);
    assert_eq!(wrong.code(), "BAD_HUB_SECRET");
    let unknown = app
        .post(
            "/api/v1/hubs/claim",
            &olga.token,
            Some(&farm),
            json!({ "hub_id": "pfhub-nobody" }),
        )
        .await;
    unknown.expect(404);
    assert_eq!(unknown.code(), "HUB_NOT_FOUND");
    let claimed = app
        .post(
            "/api/v1/hubs/claim",
            &olga.token,
            Some(&farm),
            json!({ "hub_id": hub_id, "secret": secret, "name": "Olga's hub" }),
        )
        .await;
    claimed.expect(200);
    assert_eq!(claimed.data()["tenant_id"], farm.as_str());
    assert_eq!(claimed.data()["name"], "Olga's hub");
    assert!(claimed.data()["claimed_at"].is_string());
    let taken = app
        .post(
            "/api/v1/hubs/claim",
            &bob.token,
            Some(&bobs_farm),
            json!({ "hub_id": hub_id }),
        )
        .await;
    taken.expect(409);
    assert_eq!(taken.code(), "HUB_ALREADY_CLAIMED");

    // Released, the hub's printers stay in the farm without a hub, and another farm may claim it.
    let printer = app
        .post(
            "/api/v1/printers",
            &olga.token,
            Some(&farm),
            json!({ "name": "P1S-01", "model": "P1S", "hub_id": hub_id }),
        )
        .await;
    printer.expect(201);
    let listed = app.get("/api/v1/hubs", &olga.token, Some(&farm)).await;
    assert_eq!(listed.data()[0]["printer_count"], 1);
    let released = app
        .delete(&format!("/api/v1/hubs/{hub_id}"), &olga.token, Some(&farm))
        .await;
    released.expect(200);
    assert_eq!(released.data()["printers_unassigned"], 1);
    let kept = app
        .get(
            &format!(
                "/api/v1/printers/{}",
                printer.data()["id"].as_str().unwrap()
            ),
            &olga.token,
            Some(&farm),
        )
        .await;
    assert!(kept.data()["hub_id"].is_null());
    app.get(&format!("/api/v1/hubs/{hub_id}"), &olga.token, Some(&farm))
        .await
        .expect(404);
    app.post(
        "/api/v1/hubs/claim",
        &bob.token,
        Some(&bobs_farm),
        json!({ "hub_id": hub_id }),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn hub_commands_and_connection_tell_the_truth_about_an_offline_hub() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let hub = app
        .post(
            "/api/v1/hubs/register",
            &owner.token,
            Some(&farm),
            json!({ "name": "Rack A" }),
        )
        .await;
    let id = hub.data()["hub_id"].as_str().unwrap().to_string();
    let connection = app
        .get(
            &format!("/api/v1/hubs/{id}/connection"),
            &owner.token,
            Some(&farm),
        )
        .await;
    connection.expect(200);
    assert_eq!(connection.data()["connected"], false);
    assert_eq!(connection.data()["authenticated"], false);
    for (route, body) in [
        ("discover", json!({})),
        ("disconnect", json!({})),
        ("gpio", json!({ "pin": 17, "state": true })),
    ] {
        let answer = app
            .post(
                &format!("/api/v1/hubs/{id}/{route}"),
                &owner.token,
                Some(&farm),
                body,
            )
            .await;
        answer.expect(409);
        assert_eq!(answer.code(), "HUB_OFFLINE", "{route}");
    }
    let bad = app
        .post(
            &format!("/api/v1/hubs/{id}/gpio"),
            &owner.token,
            Some(&farm),
            json!({ "pin": 99, "state": "sideways" }),
        )
        .await;
    bad.expect(400);
    // A printer on that hub: its commands name the hub as offline.
    let printer = app
        .post("/api/v1/printers", &owner.token, Some(&farm), json!({ "name": "P1S-01", "model": "P1S", "hub_id": id, "serial_number": "01P00A123456789" }))
        .await;
    let pid = printer.data()["id"].as_str().unwrap();
    let paused = app
        .post(
            &format!("/api/v1/printers/{pid}/control"),
            &owner.token,
            Some(&farm),
            json!({ "action": "pause" }),
        )
        .await;
    paused.expect(409);
    assert_eq!(paused.code(), "HUB_OFFLINE");
    assert!(
        paused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("offline")
    );
    let status = app
        .get(
            &format!("/api/v1/hubs/{id}/status"),
            &owner.token,
            Some(&farm),
        )
        .await;
    status.expect(200);
    assert_eq!(status.data()["printers"][0]["name"], "P1S-01");
    let renamed = app
        .put(
            &format!("/api/v1/hubs/{id}"),
            &owner.token,
            Some(&farm),
            json!({ "name": "Rack A (left)" }),
        )
        .await;
    assert_eq!(renamed.data()["name"], "Rack A (left)");
}
