//! Invitations: pending until the invitee accepts, the same answer for any email, no
//! account made by inviting, the mailed link only for its account, and the admins' list.

use crate::common;

use common::{Account, Answer, As, PASSWORD, TestApp, token_in};
use reqwest::Method;
use serde_json::{Value, json};

/// The keys of a JSON object, sorted.
fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// `who` accepts the invitation `id` from their list.
async fn accept(app: &TestApp, who: &Account, id: &Value) -> Answer {
    let path = format!("/api/v1/invitations/{}/accept", id.as_str().unwrap());
    app.post(&path, &who.token, None, json!({})).await
}

#[tokio::test]
async fn inviting_an_account_changes_nothing_until_it_accepts_and_answers_as_for_any_email() {
    let app = TestApp::spawn().await;
    let (olga, farm) = app.signed_up_owner("olga").await;
    let bob = app.signed_up("bob").await;
    let path = format!("/api/v1/tenants/{farm}/members");
    let known = app
        .post(
            &path,
            &olga.token,
            None,
            json!({ "email": bob.email, "role": "operator" }),
        )
        .await;
    let unknown = app
        .post(
            &path,
            &olga.token,
            None,
            json!({ "email": "stranger@example.com", "role": "operator" }),
        )
        .await;
    known.expect(201);
    unknown.expect(201);
    // The same shape and words for an account and for an address nobody signed up with.
    assert_eq!(keys(known.data()), keys(unknown.data()));
    for answer in [&known, &unknown] {
        assert_eq!(answer.data()["status"], "pending");
        assert_eq!(answer.data()["role"], "operator");
        assert_eq!(answer.data()["invited_by"], olga.id.as_str());
        assert!(answer.data()["expires_at"].is_string());
        assert!(answer.data().get("user_id").is_none());
        assert!(answer.data().get("full_name").is_none());
    }
    assert!(
        !known.body.to_string().contains(&bob.id),
        "the answer never shows the account's id: {}",
        known.body
    );

    // Bob is not in the farm yet.
    let refused = app
        .get(&format!("/api/v1/tenants/{farm}"), &bob.token, None)
        .await;
    refused.expect(403);
    assert_eq!(refused.code(), "NOT_A_MEMBER");
    let members = app
        .get(
            &format!("/api/v1/tenants/{farm}/members"),
            &olga.token,
            None,
        )
        .await;
    assert_eq!(members.data().as_array().unwrap().len(), 1);
    // No account was made for the stranger.
    let mut conn = app.state.store.conn().await.unwrap();
    let stranger = store::users::find_by_email(&mut conn, "stranger@example.com")
        .await
        .unwrap();
    assert!(stranger.is_none());
    drop(conn);

    // Bob sees the invitation in his list, and joins by accepting it.
    let mine = app.get("/api/v1/invitations", &bob.token, None).await;
    mine.expect(200);
    assert_eq!(mine.data().as_array().unwrap().len(), 1);
    let invitation = &mine.data()[0];
    assert_eq!(invitation["id"], known.data()["id"]);
    assert_eq!(invitation["tenant_name"], "olga farm");
    assert_eq!(invitation["invited_by_name"], "olga");
    let id = invitation["id"].as_str().unwrap();
    let accepted = app
        .post(
            &format!("/api/v1/invitations/{id}/accept"),
            &bob.token,
            None,
            json!({}),
        )
        .await;
    accepted.expect(200);
    assert_eq!(accepted.data()["status"], "accepted");
    let farm_seen = app
        .get(&format!("/api/v1/tenants/{farm}"), &bob.token, None)
        .await;
    farm_seen.expect(200);
    assert_eq!(farm_seen.data()["role"], "operator");
    let mine = app.get("/api/v1/invitations", &bob.token, None).await;
    assert_eq!(mine.data().as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn an_unknown_email_signs_up_later_sees_the_invitation_and_joins_with_the_invited_role() {
    let app = TestApp::spawn().await;
    let (olga, farm) = app.signed_up_owner("olga").await;
    app.invite(&olga, &farm, "New.Hire@Example.com", "viewer")
        .await;
    app.invite(&olga, &farm, "second.hire@example.com", "admin")
        .await;
    let mail = app.mail_to("new.hire@example.com").await;
    assert!(mail.contains("olga farm"), "{mail}");
    assert!(mail.contains("/sign-up"), "{mail}");

    // Signing up with the invited email works (an invitation no longer takes the email).
    let signed_up = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-up/email",
            As::Nobody,
            None,
            Some(json!({ "email": "new.hire@example.com", "password": PASSWORD, "name": "New Hire" })),
        )
        .await;
    signed_up.expect(201);
    let hire = signed_up.data()["token"].as_str().unwrap();
    let hire_id = signed_up.data()["user"]["id"].as_str().unwrap();
    let me = app.get("/api/v1/auth/me", hire, None).await;
    assert_eq!(me.data()["invitations"][0]["tenant_name"], "olga farm");
    let mine = app.get("/api/v1/invitations", hire, None).await;
    assert_eq!(mine.data().as_array().unwrap().len(), 1);
    assert_eq!(mine.data()[0]["email"], "new.hire@example.com");
    assert_eq!(mine.data()[0]["role"], "viewer");
    let id = mine.data()[0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/invitations/{id}/accept"),
        hire,
        None,
        json!({}),
    )
    .await
    .expect(200);
    let farms = app.get("/api/v1/tenants", hire, None).await;
    assert_eq!(farms.data()[0]["id"], farm.as_str());
    assert_eq!(farms.data()[0]["role"], "viewer");
    let members = app
        .get(&format!("/api/v1/tenants/{farm}/members"), hire, None)
        .await;
    let joined = members
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == hire_id)
        .expect("the hire is a member")
        .clone();
    assert_eq!(joined["invited_by"], olga.id.as_str());
    assert!(joined["accepted_at"].is_string());
    let log = app
        .get(
            &format!("/api/v1/tenants/{farm}/audit-log"),
            &olga.token,
            None,
        )
        .await;
    assert_eq!(log.data()[0]["action"], "member.joined");
    assert_eq!(log.data()[0]["user_id"], hire_id);

    // Registering with a farm of one's own works too, and the invitation waits beside it.
    let registered = app
        .call(
            Method::POST,
            "/api/v1/auth/register",
            As::Nobody,
            None,
            Some(json!({ "email": "second.hire@example.com", "password": PASSWORD, "name": "Second", "company_name": "Second's own" })),
        )
        .await;
    registered.expect(201);
    let second = registered.data()["token"].as_str().unwrap();
    let mine = app.get("/api/v1/invitations", second, None).await;
    assert_eq!(mine.data()[0]["role"], "admin");
}

#[tokio::test]
async fn the_mailed_link_works_only_for_the_account_it_was_sent_to_and_only_once() {
    let app = TestApp::spawn().await;
    let (olga, farm) = app.signed_up_owner("olga").await;
    let bob = app.signed_up("bob").await;
    let mallory = app.signed_up("mallory").await;
    app.invite(&olga, &farm, &bob.email, "operator").await;
    let mail = app.mail_to(&bob.email).await;
    assert!(mail.contains("/invitations/accept?token="), "{mail}");
    let token = token_in(&mail);
    app.call(
        Method::POST,
        "/api/v1/invitations/accept",
        As::Nobody,
        None,
        Some(json!({ "token": token })),
    )
    .await
    .expect(401);
    let stolen = app
        .post(
            "/api/v1/invitations/accept",
            &mallory.token,
            None,
            json!({ "token": token }),
        )
        .await;
    stolen.expect(403);
    assert_eq!(stolen.code(), "INVITATION_FOR_ANOTHER_ACCOUNT");
    app.get(&format!("/api/v1/tenants/{farm}"), &mallory.token, None)
        .await
        .expect(403);
    let wrong = app
        .post(
            "/api/v1/invitations/accept",
            &bob.token,
            None,
            json!({ "token": "not-the-token" }),
        )
        .await;
    wrong.expect(404);
    assert_eq!(wrong.code(), "INVITATION_NOT_FOUND");

    let accepted = app
        .post(
            "/api/v1/invitations/accept",
            &bob.token,
            None,
            json!({ "token": token }),
        )
        .await;
    accepted.expect(200);
    assert_eq!(accepted.data()["tenant_id"], farm.as_str());
    let seen = app
        .get(&format!("/api/v1/tenants/{farm}"), &bob.token, None)
        .await;
    seen.expect(200);
    assert_eq!(seen.data()["role"], "operator");
    let again = app
        .post(
            "/api/v1/invitations/accept",
            &bob.token,
            None,
            json!({ "token": token }),
        )
        .await;
    again.expect(409);
    assert_eq!(again.code(), "INVITATION_ALREADY_ACCEPTED");
    // A member already is not invited again.
    let twice = app
        .post(
            &format!("/api/v1/tenants/{farm}/members"),
            &olga.token,
            None,
            json!({ "email": bob.email }),
        )
        .await;
    twice.expect(409);
    assert_eq!(twice.code(), "ALREADY_A_MEMBER");
}

#[tokio::test]
async fn inviting_again_renews_the_invitation_and_the_first_link_stops_working() {
    let app = TestApp::spawn().await;
    let (olga, farm) = app.signed_up_owner("olga").await;
    let carol = app.signed_up("carol").await;
    let first = app.invite(&olga, &farm, &carol.email, "viewer").await;
    let first_token = token_in(&app.mail_to(&carol.email).await);
    // The outbox orders mails by time: make sure the second is newer.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let second = app.invite(&olga, &farm, &carol.email, "admin").await;
    assert_eq!(
        first["id"], second["id"],
        "one pending invitation per email"
    );
    let second_token = common::eventually("the second mail", || {
        let outbox = app.data_dir.path().join("data/outbox");
        std::fs::read_dir(outbox)
            .ok()?
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .map(|m| token_in(&common::decode_quoted_printable(&m)))
            .find(|t| *t != first_token)
    })
    .await;
    let pending = app
        .get(
            &format!("/api/v1/tenants/{farm}/invitations"),
            &olga.token,
            None,
        )
        .await;
    assert_eq!(pending.data().as_array().unwrap().len(), 1);
    assert_eq!(pending.data()[0]["role"], "admin");
    app.post(
        "/api/v1/invitations/accept",
        &carol.token,
        None,
        json!({ "token": first_token }),
    )
    .await
    .expect(404);
    app.post(
        "/api/v1/invitations/accept",
        &carol.token,
        None,
        json!({ "token": second_token }),
    )
    .await
    .expect(200);
    let seen = app
        .get(&format!("/api/v1/tenants/{farm}"), &carol.token, None)
        .await;
    assert_eq!(seen.data()["role"], "admin");
}

#[tokio::test]
async fn an_expired_revoked_or_declined_invitation_cannot_be_accepted() {
    let app = TestApp::spawn().await;
    let (olga, farm) = app.signed_up_owner("olga").await;
    let dora = app.signed_up("dora").await;
    let erin = app.signed_up("erin").await;
    let finn = app.signed_up("finn").await;

    // Dora declines; then it can't be accepted, and she is not a member.
    let to_dora = app.invite(&olga, &farm, &dora.email, "operator").await;
    let declined = app
        .post(
            &format!(
                "/api/v1/invitations/{}/decline",
                to_dora["id"].as_str().unwrap()
            ),
            &dora.token,
            None,
            json!({}),
        )
        .await;
    declined.expect(200);
    assert_eq!(declined.data()["status"], "declined");
    let late = accept(&app, &dora, &to_dora["id"]).await;
    late.expect(410);
    assert_eq!(late.code(), "INVITATION_DECLINED");
    app.get(&format!("/api/v1/tenants/{farm}"), &dora.token, None)
        .await
        .expect(403);
    // Invited again, she may change her mind.
    let again = app.invite(&olga, &farm, &dora.email, "operator").await;
    assert_ne!(again["id"], to_dora["id"]);
    accept(&app, &dora, &again["id"]).await.expect(200);

    // The farm takes Erin's invitation back: neither the list nor the link accepts it.
    let to_erin = app.invite(&olga, &farm, &erin.email, "viewer").await;
    let token = token_in(&app.mail_to(&erin.email).await);
    app.delete(
        &format!(
            "/api/v1/tenants/{farm}/invitations/{}",
            to_erin["id"].as_str().unwrap()
        ),
        &olga.token,
        None,
    )
    .await
    .expect(200);
    let revoked = accept(&app, &erin, &to_erin["id"]).await;
    revoked.expect(410);
    assert_eq!(revoked.code(), "INVITATION_REVOKED");
    let by_link = app
        .post(
            "/api/v1/invitations/accept",
            &erin.token,
            None,
            json!({ "token": token }),
        )
        .await;
    by_link.expect(410);
    assert_eq!(by_link.code(), "INVITATION_REVOKED");
    let mine = app.get("/api/v1/invitations", &erin.token, None).await;
    assert_eq!(mine.data().as_array().unwrap().len(), 0);

    // Finn waited longer than the invitation lasts.
    let to_finn = app.invite(&olga, &farm, &finn.email, "viewer").await;
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query("UPDATE tenant_invitations SET expires_at = $1 WHERE id = $2")
        .bind("2001-01-01T00:00:00.000Z")
        .bind(to_finn["id"].as_str().unwrap())
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let expired = accept(&app, &finn, &to_finn["id"]).await;
    expired.expect(410);
    assert_eq!(expired.code(), "INVITATION_EXPIRED");
    let mine = app.get("/api/v1/invitations", &finn.token, None).await;
    assert_eq!(mine.data().as_array().unwrap().len(), 0);
    let pending = app
        .get(
            &format!("/api/v1/tenants/{farm}/invitations"),
            &olga.token,
            None,
        )
        .await;
    assert_eq!(pending.data().as_array().unwrap().len(), 1);
    assert_eq!(pending.data()[0]["email"], finn.email.as_str());
    assert_eq!(pending.data()[0]["status"], "expired");
    app.get(&format!("/api/v1/tenants/{farm}"), &finn.token, None)
        .await
        .expect(403);
    let members = app
        .get(
            &format!("/api/v1/tenants/{farm}/members"),
            &olga.token,
            None,
        )
        .await;
    assert_eq!(members.data().as_array().unwrap().len(), 2, "olga and dora");
}

#[tokio::test]
async fn admins_list_and_revoke_pending_invitations_and_other_members_may_not() {
    let app = TestApp::spawn().await;
    let (olga, farm) = app.signed_up_owner("olga").await;
    let adam = app.signed_up("adam").await;
    let otto = app.signed_up("otto").await;
    app.add_member(&olga, &farm, &adam, "admin").await;
    app.add_member(&olga, &farm, &otto, "operator").await;
    let x = app.invite(&olga, &farm, "x@example.com", "viewer").await;
    app.invite(&adam, &farm, "y@example.com", "operator").await;
    let list = format!("/api/v1/tenants/{farm}/invitations");

    let pending = app.get(&list, &adam.token, None).await;
    pending.expect(200);
    let mut emails: Vec<&str> = pending
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    emails.sort();
    assert_eq!(emails, ["x@example.com", "y@example.com"]);
    let from_adam = pending
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "y@example.com")
        .unwrap()
        .clone();
    assert_eq!(from_adam["invited_by_name"], "adam");

    let one = format!("{list}/{}", x["id"].as_str().unwrap());
    let listed = app.get(&list, &otto.token, None).await;
    listed.expect(403);
    assert_eq!(listed.code(), "INSUFFICIENT_ROLE");
    app.delete(&one, &otto.token, None).await.expect(403);

    let revoked = app.delete(&one, &adam.token, None).await;
    revoked.expect(200);
    assert_eq!(revoked.data()["status"], "revoked");
    let pending = app.get(&list, &olga.token, None).await;
    assert_eq!(pending.data().as_array().unwrap().len(), 1);
    let twice = app.delete(&one, &adam.token, None).await;
    twice.expect(404);
    assert_eq!(twice.code(), "INVITATION_NOT_FOUND");
    let log = app
        .get(
            &format!("/api/v1/tenants/{farm}/audit-log"),
            &olga.token,
            None,
        )
        .await;
    assert_eq!(log.data()[0]["action"], "invitation.revoked");
    assert_eq!(log.data()[0]["user_id"], adam.id.as_str());
}
