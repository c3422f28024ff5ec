//! Farms and their members: the owner/admin rules, inviting, the hub token and the audit log
//! (the invitee's side is in `invitations.rs`).

use crate::common;

use common::{As, PASSWORD, TestApp};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn register_makes_the_user_owner_of_a_new_farm() {
    let app = TestApp::spawn().await;
    let answer = app
        .call(
            Method::POST,
            "/api/v1/auth/register",
            As::Nobody,
            None,
            Some(json!({ "email": "ada@example.com", "password": PASSWORD, "name": "Ada", "company_name": "Ada Prints" })),
        )
        .await;
    answer.expect(201);
    let tenant = &answer.data()["tenant"];
    assert_eq!(tenant["company_name"], "Ada Prints");
    assert_eq!(tenant["subdomain"], "ada-prints");
    assert_eq!(tenant["role"], "owner");
    assert!(answer.data()["session"]["token"].as_str().is_some());
    let token = answer.data()["token"].as_str().unwrap();

    // The original client's start-up sequence.
    let farms = app.get("/api/v1/tenants", token, None).await;
    farms.expect(200);
    assert!(farms.data().is_array());
    assert_eq!(farms.data()[0]["id"], tenant["id"]);
    assert_eq!(farms.data()[0]["role"], "owner");
    assert_eq!(farms.body["meta"]["total"], 1);
    let id = tenant["id"].as_str().unwrap();
    let one = app
        .get(&format!("/api/v1/tenants/{id}"), token, Some(id))
        .await;
    one.expect(200);
    assert_eq!(one.data()["company_name"], "Ada Prints");
    let members = app
        .get(&format!("/api/v1/tenants/{id}/members"), token, Some(id))
        .await;
    members.expect(200);
    assert_eq!(members.data()[0]["user_id"], answer.data()["user"]["id"]);
    assert_eq!(members.data()[0]["role"], "owner");
}

#[tokio::test]
async fn a_farm_gets_a_unique_subdomain_and_a_taken_one_is_a_conflict() {
    let app = TestApp::spawn().await;
    let ada = app.signed_up("ada").await;
    let first = app
        .post(
            "/api/v1/tenants",
            &ada.token,
            None,
            json!({ "company_name": "Print Co" }),
        )
        .await;
    first.expect(201);
    assert_eq!(first.data()["subdomain"], "print-co");
    assert_eq!(first.data()["role"], "owner");
    let second = app
        .post(
            "/api/v1/tenants",
            &ada.token,
            None,
            json!({ "company_name": "Print Co" }),
        )
        .await;
    second.expect(201);
    assert_eq!(second.data()["subdomain"], "print-co-2");
    let taken = app
        .post(
            "/api/v1/tenants",
            &ada.token,
            None,
            json!({ "company_name": "Other", "subdomain": "print-co" }),
        )
        .await;
    taken.expect(409);
    assert_eq!(taken.code(), "SUBDOMAIN_TAKEN");
    assert_eq!(taken.body["error"]["details"]["field"], "subdomain");
    let invalid = app
        .post(
            "/api/v1/tenants",
            &ada.token,
            None,
            json!({ "company_name": "", "subdomain": "-x" }),
        )
        .await;
    invalid.expect(400);
    assert_eq!(invalid.fields(), vec!["company_name", "subdomain"]);
}

#[tokio::test]
async fn ensure_makes_a_farm_only_when_the_user_has_none() {
    let app = TestApp::spawn().await;
    let ada = app.signed_up("ada").await;
    let made = app
        .post("/api/v1/tenants/ensure", &ada.token, None, json!({}))
        .await;
    made.expect(201);
    assert_eq!(made.data()["created"], true);
    assert_eq!(made.data()["tenant"]["company_name"], "ada's Farm");
    let again = app
        .post("/api/v1/tenants/ensure", &ada.token, None, json!({}))
        .await;
    again.expect(200);
    assert_eq!(again.data()["created"], false);
    assert_eq!(again.data()["tenant"]["id"], made.data()["tenant"]["id"]);
}

#[tokio::test]
async fn only_admins_rename_a_farm() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let operator = app.signed_up("otto").await;
    app.add_member(&owner, &farm, &operator, "operator").await;
    let refused = app
        .put(
            &format!("/api/v1/tenants/{farm}"),
            &operator.token,
            None,
            json!({ "company_name": "Otto's now" }),
        )
        .await;
    refused.expect(403);
    assert_eq!(refused.code(), "INSUFFICIENT_ROLE");
    let renamed = app
        .put(
            &format!("/api/v1/tenants/{farm}"),
            &owner.token,
            None,
            json!({ "company_name": "Olga Prints Ltd" }),
        )
        .await;
    renamed.expect(200);
    assert_eq!(renamed.data()["company_name"], "Olga Prints Ltd");
    let seen = app
        .get(&format!("/api/v1/tenants/{farm}"), &operator.token, None)
        .await;
    assert_eq!(seen.data()["company_name"], "Olga Prints Ltd");
    assert_eq!(seen.data()["role"], "operator");
}

#[tokio::test]
async fn inviting_checks_email_role_and_duplicates() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let path = format!("/api/v1/tenants/{farm}/members");
    let bad = app
        .post(
            &path,
            &owner.token,
            None,
            json!({ "email": "nope", "role": "wizard" }),
        )
        .await;
    bad.expect(400);
    assert_eq!(bad.fields(), vec!["email", "role"]);
    let bob = app.signed_up("bob").await;
    app.add_member(&owner, &farm, &bob, "viewer").await;
    let twice = app
        .post(
            &path,
            &owner.token,
            None,
            json!({ "email": bob.email, "role": "admin" }),
        )
        .await;
    twice.expect(409);
    assert_eq!(twice.code(), "ALREADY_A_MEMBER");
    let told = app.mail_to(&bob.email).await;
    assert!(told.contains("invited you to the farm"), "{told}");
}

#[tokio::test]
async fn the_owner_and_admin_rules_hold_and_the_last_owner_stays() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let admin = app.signed_up("adam").await;
    let operator = app.signed_up("otto").await;
    let viewer = app.signed_up("vera").await;
    app.add_member(&owner, &farm, &admin, "admin").await;
    app.add_member(&owner, &farm, &operator, "operator").await;
    app.add_member(&owner, &farm, &viewer, "viewer").await;
    let member = |id: &str| format!("/api/v1/tenants/{farm}/members/{id}");

    // An admin may not make owners, nor invite them.
    let promote = app
        .put(
            &member(&operator.id),
            &admin.token,
            None,
            json!({ "role": "owner" }),
        )
        .await;
    promote.expect(403);
    let invite_owner = app
        .post(
            &format!("/api/v1/tenants/{farm}/members"),
            &admin.token,
            None,
            json!({ "email": "x@example.com", "role": "owner" }),
        )
        .await;
    invite_owner.expect(403);
    // ...but manages operators and viewers.
    let changed = app
        .put(
            &member(&operator.id),
            &admin.token,
            None,
            json!({ "role": "viewer" }),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.data()["role"], "viewer");
    // Operators and viewers manage nobody.
    app.put(
        &member(&viewer.id),
        &operator.token,
        None,
        json!({ "role": "operator" }),
    )
    .await
    .expect(403);
    app.delete(&member(&viewer.id), &viewer.token, None)
        .await
        .expect(200); // leaving is allowed

    // The last owner can't be demoted or removed, even by themselves.
    let demote = app
        .put(
            &member(&owner.id),
            &owner.token,
            None,
            json!({ "role": "admin" }),
        )
        .await;
    demote.expect(409);
    assert_eq!(demote.code(), "LAST_OWNER");
    app.delete(&member(&owner.id), &owner.token, None)
        .await
        .expect(409);
    app.delete(&member(&owner.id), &admin.token, None)
        .await
        .expect(403);

    // With a second owner, the first may step down.
    app.put(
        &member(&admin.id),
        &owner.token,
        None,
        json!({ "role": "owner" }),
    )
    .await
    .expect(200);
    app.put(
        &member(&owner.id),
        &owner.token,
        None,
        json!({ "role": "admin" }),
    )
    .await
    .expect(200);
    let bad_role = app
        .put(
            &member(&operator.id),
            &admin.token,
            None,
            json!({ "role": "boss" }),
        )
        .await;
    bad_role.expect(400);
    assert_eq!(bad_role.fields(), vec!["role"]);

    // A removed member loses access at once.
    app.delete(&member(&operator.id), &admin.token, None)
        .await
        .expect(200);
    let gone = app
        .get(&format!("/api/v1/tenants/{farm}"), &operator.token, None)
        .await;
    gone.expect(403);
    assert_eq!(gone.code(), "NOT_A_MEMBER");
    app.delete(&member(&operator.id), &admin.token, None)
        .await
        .expect(404);
}

#[tokio::test]
async fn membership_changes_are_written_to_the_audit_log() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let bob = app.signed_up("bob").await;
    app.add_member(&owner, &farm, &bob, "operator").await;
    let member = format!("/api/v1/tenants/{farm}/members/{}", bob.id);
    app.put(&member, &owner.token, None, json!({ "role": "admin" }))
        .await
        .expect(200);
    app.delete(&member, &owner.token, None).await.expect(200);
    let log = app
        .get(
            &format!("/api/v1/tenants/{farm}/audit-log"),
            &owner.token,
            None,
        )
        .await;
    log.expect(200);
    let actions: Vec<&str> = log
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "member.removed",
            "member.role_changed",
            "member.joined",
            "member.invited",
            "tenant.created"
        ]
    );
    let changed = &log.data()[1];
    assert_eq!(changed["user_id"], owner.id.as_str());
    assert_eq!(changed["table_name"], "tenant_members");
    assert!(changed["old_values"].as_str().unwrap().contains("operator"));
    assert!(changed["new_values"].as_str().unwrap().contains("admin"));
    assert_eq!(changed["ip_address"], "127.0.0.1");
}

#[tokio::test]
async fn the_hub_token_is_for_admins_and_regenerating_replaces_it() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let operator = app.signed_up("otto").await;
    app.add_member(&owner, &farm, &operator, "operator").await;
    let first = app
        .get("/api/v1/tenants/hub-token", &owner.token, Some(&farm))
        .await;
    first.expect(200);
    let token = first.data()["hub_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("pfh_"));
    let same = app
        .get("/api/v1/tenants/hub-token", &owner.token, Some(&farm))
        .await;
    assert_eq!(same.data()["hub_token"], token.as_str());
    let by_query = app
        .get(
            &format!("/api/v1/tenants/hub-token?tenant={farm}"),
            &owner.token,
            None,
        )
        .await;
    assert_eq!(by_query.data()["hub_token"], token.as_str());
    app.get("/api/v1/tenants/hub-token", &operator.token, Some(&farm))
        .await
        .expect(403);
    let regenerated = app
        .post(
            "/api/v1/tenants/hub-token/regenerate",
            &owner.token,
            Some(&farm),
            json!({}),
        )
        .await;
    regenerated.expect(200);
    let new_token = regenerated.data()["hub_token"].as_str().unwrap();
    assert_ne!(new_token, token);
    let now = app
        .get("/api/v1/tenants/hub-token", &owner.token, Some(&farm))
        .await;
    assert_eq!(now.data()["hub_token"], new_token);
}

#[tokio::test]
async fn admin_actions_that_change_no_row_of_their_own_are_in_the_audit_log_too() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("olga").await;
    let (t, f) = (owner.token.as_str(), Some(farm.as_str()));
    let (hub_id, _) = app.register_hub(&owner, &farm, "Rack A").await;
    app.put(
        &format!("/api/v1/hubs/{hub_id}"),
        t,
        f,
        json!({ "name": "Rack B" }),
    )
    .await
    .expect(200);
    let rule = app
        .post(
            "/api/v1/automation",
            t,
            f,
            json!({ "name": "Check", "trigger_type": "print_failed", "action_type": "create_task",
                    "action_config": { "task_type": "quality_check", "title": "Look at it" } }),
        )
        .await;
    rule.expect(201);
    let rule_id = rule.data()["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/automation/{rule_id}/test"),
        t,
        f,
        json!({}),
    )
    .await
    .expect(200);
    let channel = app
        .post(
            "/api/v1/notifications/channels",
            t,
            f,
            json!({ "name": "Bot", "kind": "webhook", "url": "http://127.0.0.1:9/hook", "events": ["order_received"] }),
        )
        .await;
    channel.expect(201);
    let channel_id = channel.data()["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/notifications/channels/{channel_id}/test"),
        t,
        f,
        json!({}),
    )
    .await
    .expect(202);
    app.post("/api/v1/admin/dlq/purge", t, f, json!({}))
        .await
        .expect(200);

    let log = app
        .get(
            &format!("/api/v1/tenants/{farm}/audit-log?limit=100"),
            t,
            None,
        )
        .await;
    log.expect(200);
    let rows = log.data().as_array().unwrap();
    for (action, record) in [
        ("hub.renamed", hub_id.as_str()),
        ("automation.tried", rule_id.as_str()),
        ("notification_channel.tested", channel_id.as_str()),
        ("dead_letters.purged", "*"),
    ] {
        let row = rows
            .iter()
            .find(|r| r["action"] == action)
            .unwrap_or_else(|| panic!("{action} is not in the log: {rows:?}"));
        assert_eq!(row["record_id"], record, "{row}");
        assert_eq!(row["user_id"], owner.id.as_str(), "{row}");
    }
}
