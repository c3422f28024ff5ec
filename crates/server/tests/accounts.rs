//! Accounts: sign-up, sign-in, sessions, password reset, API tokens, and the
//! protections around them (rate limits, CSRF, CORS, body limits).

use crate::common;

use common::{As, PASSWORD, TestApp, token_in};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_new_user_signs_up_and_gets_a_session_cookie_and_token() {
    let app = TestApp::spawn().await;
    let answer = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-up/email",
            As::Nobody,
            None,
            Some(json!({ "email": "  Ada@Example.com ", "password": PASSWORD, "name": "Ada Lovelace" })),
        )
        .await;
    answer.expect(201);
    assert_eq!(answer.body["success"], true);
    let user = &answer.data()["user"];
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["emailVerified"], false);
    assert!(answer.data()["token"].as_str().unwrap().len() >= 43);
    assert!(user.get("password_hash").is_none() && !answer.body.to_string().contains("argon2"));
    let cookie = answer.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("printfarm.session_token="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing in {cookie}"
        );
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );
}

#[tokio::test]
async fn sign_up_refuses_bad_input_naming_the_field() {
    let app = TestApp::spawn().await;
    let sign_up = |body| {
        app.call(
            Method::POST,
            "/api/v1/auth/sign-up/email",
            As::Nobody,
            None,
            Some(body),
        )
    };
    let weak =
        sign_up(json!({ "email": "ada@example.com", "password": "short", "name": "Ada" })).await;
    weak.expect(400);
    assert_eq!(weak.code(), "VALIDATION_ERROR");
    assert_eq!(weak.fields(), vec!["password"]);
    assert!(
        weak.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at least 8")
    );

    let common =
        sign_up(json!({ "email": "ada@example.com", "password": "password123", "name": "Ada" }))
            .await;
    common.expect(400);
    assert_eq!(common.fields(), vec!["password"]);

    let bad_email =
        sign_up(json!({ "email": "ada-at-example", "password": PASSWORD, "name": "Ada" })).await;
    bad_email.expect(400);
    assert_eq!(bad_email.fields(), vec!["email"]);

    let both = sign_up(json!({ "email": "", "password": "" })).await;
    both.expect(400);
    assert_eq!(both.fields(), vec!["email", "password"]);

    let wrong_type = sign_up(json!({ "email": 42, "password": PASSWORD })).await;
    wrong_type.expect(400);
    assert_eq!(wrong_type.fields(), vec!["email"]);

    // Nothing was created by the refused attempts.
    app.signed_up("ada").await;
}

#[tokio::test]
async fn a_second_account_with_the_same_email_is_a_conflict() {
    let app = TestApp::spawn().await;
    app.signed_up("ada").await;
    let again = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-up/email",
            As::Nobody,
            None,
            Some(json!({ "email": "ADA@example.com", "password": "another passphrase", "name": "Ada 2" })),
        )
        .await;
    again.expect(409);
    assert_eq!(again.code(), "EMAIL_TAKEN");
    assert_eq!(again.body["error"]["details"]["field"], "email");
}

#[tokio::test]
async fn sign_in_checks_the_password_and_get_session_shows_the_session() {
    let app = TestApp::spawn().await;
    let ada = app.signed_up("ada").await;

    let wrong = app.sign_in(&ada.email, "not the password").await;
    wrong.expect(401);
    assert_eq!(wrong.code(), "INVALID_CREDENTIALS");
    let unknown = app.sign_in("nobody@example.com", PASSWORD).await;
    unknown.expect(401);
    assert_eq!(
        unknown.body["error"]["message"],
        wrong.body["error"]["message"]
    );

    let ok = app.sign_in(&ada.email, PASSWORD).await;
    ok.expect(200);
    assert_eq!(ok.data()["redirect"], false);
    assert_eq!(ok.data()["user"]["id"], ada.id.as_str());
    let token = ok.data()["token"].as_str().unwrap().to_string();

    for who in [As::Bearer(&token), As::Cookie(&token)] {
        let session = app
            .call(Method::GET, "/api/v1/auth/get-session", who, None, None)
            .await;
        session.expect(200);
        assert_eq!(session.data()["user"]["id"], ada.id.as_str());
        assert_eq!(session.data()["user"]["email"], "ada@example.com");
        assert_eq!(session.data()["session"]["userId"], ada.id.as_str());
        assert_eq!(session.data()["session"]["token"], token.as_str());
        assert!(
            session.data()["session"]["expiresAt"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
    }

    let anonymous = app
        .call(
            Method::GET,
            "/api/v1/auth/get-session",
            As::Nobody,
            None,
            None,
        )
        .await;
    anonymous.expect(200);
    assert!(anonymous.data()["session"].is_null() && anonymous.data()["user"].is_null());
}

#[tokio::test]
async fn signing_out_ends_the_session_for_good() {
    let app = TestApp::spawn().await;
    let ada = app.signed_up("ada").await;
    app.get("/api/v1/tenants", &ada.token, None)
        .await
        .expect(200);
    let out = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-out",
            As::Cookie(&ada.token),
            None,
            None,
        )
        .await;
    out.expect(200);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = app.get("/api/v1/tenants", &ada.token, None).await;
    after.expect(401);
    assert_eq!(after.code(), "UNAUTHORIZED");
}

#[tokio::test]
async fn too_many_wrong_passwords_are_answered_with_429_and_retry_after() {
    let app = TestApp::spawn_with(|s| s.login_failures_per_account = 3).await;
    let ada = app.signed_up("ada").await;
    for _ in 0..3 {
        app.sign_in(&ada.email, "wrong password!").await.expect(401);
    }
    let limited = app.sign_in(&ada.email, PASSWORD).await;
    limited.expect(429);
    assert_eq!(limited.code(), "TOO_MANY_REQUESTS");
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // Another account from the same address is not locked out by Ada's failures.
    let bob = app.signed_up("bob").await;
    app.sign_in(&bob.email, PASSWORD).await.expect(200);
}

#[tokio::test]
async fn too_many_attempts_from_one_address_are_refused() {
    let app = TestApp::spawn_with(|s| s.login_attempts_per_ip = 4).await;
    let ada = app.signed_up("ada").await;
    for _ in 0..4 {
        app.sign_in(&ada.email, PASSWORD).await.expect(200);
    }
    app.sign_in(&ada.email, PASSWORD).await.expect(429);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_once_by_the_mailed_link() {
    let app = TestApp::spawn().await;
    let ada = app.signed_up("ada").await;
    let unknown = app
        .call(
            Method::POST,
            "/api/v1/auth/forget-password",
            As::Nobody,
            None,
            Some(json!({ "email": "nobody@example.com" })),
        )
        .await;
    unknown.expect(200);
    let asked = app
        .call(
            Method::POST,
            "/api/v1/auth/forget-password",
            As::Nobody,
            None,
            Some(json!({ "email": ada.email })),
        )
        .await;
    asked.expect(200);
    assert_eq!(
        asked.data(),
        unknown.data(),
        "no telling which accounts exist"
    );

    let mail = app.mail_to(&ada.email).await;
    assert!(
        mail.contains(&format!("{}/reset-password?token=", app.base)),
        "{mail}"
    );
    let token = token_in(&mail);

    let weak = app
        .call(
            Method::POST,
            "/api/v1/auth/reset-password",
            As::Nobody,
            None,
            Some(json!({ "token": token, "newPassword": "short" })),
        )
        .await;
    weak.expect(400);
    assert_eq!(weak.fields(), vec!["newPassword"]);

    let reset = app
        .call(
            Method::POST,
            "/api/v1/auth/reset-password",
            As::Nobody,
            None,
            Some(json!({ "token": token, "newPassword": "a brand new passphrase" })),
        )
        .await;
    reset.expect(200);

    // The old session and the old password are gone; the new password works.
    app.get("/api/v1/tenants", &ada.token, None)
        .await
        .expect(401);
    app.sign_in(&ada.email, PASSWORD).await.expect(401);
    app.sign_in(&ada.email, "a brand new passphrase")
        .await
        .expect(200);

    let again = app
        .call(
            Method::POST,
            "/api/v1/auth/reset-password",
            As::Nobody,
            None,
            Some(json!({ "token": token, "newPassword": "yet another passphrase" })),
        )
        .await;
    again.expect(400);
    assert_eq!(again.code(), "INVALID_TOKEN");
}

#[tokio::test]
async fn a_reset_link_only_points_to_trusted_pages() {
    let app =
        TestApp::spawn_with(|s| s.trusted_origins = vec!["https://dash.example".into()]).await;
    let ada = app.signed_up("ada").await;
    let ask = |redirect: &str| {
        app.call(
            Method::POST,
            "/api/v1/auth/forget-password",
            As::Nobody,
            None,
            Some(json!({ "email": ada.email, "redirectTo": redirect })),
        )
    };
    ask("https://evil.example/steal").await.expect(200);
    let mail = app.mail_to(&ada.email).await;
    assert!(!mail.contains("evil.example"), "{mail}");
    ask("https://dash.example/reset").await.expect(200);
    let mail = common::eventually("the second mail", || {
        let outbox = app.data_dir.path().join("data/outbox");
        std::fs::read_dir(outbox)
            .ok()?
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .map(|m| common::decode_quoted_printable(&m))
            .find(|m| m.contains("https://dash.example/reset?token="))
    })
    .await;
    assert!(!token_in(&mail).is_empty());
}

#[tokio::test]
async fn a_personal_api_token_works_until_revoked_and_is_shown_only_once() {
    let app = TestApp::spawn().await;
    let ada = app.signed_up("ada").await;
    let bad = app
        .post(
            "/api/v1/auth/api-tokens",
            &ada.token,
            None,
            json!({ "name": "" }),
        )
        .await;
    bad.expect(400);
    assert_eq!(bad.fields(), vec!["name"]);

    let created = app
        .post(
            "/api/v1/auth/api-tokens",
            &ada.token,
            None,
            json!({ "name": "inventory script", "expires_in_days": 30 }),
        )
        .await;
    created.expect(201);
    let token = created.data()["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("pf_"));
    let id = created.data()["api_token"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let listed = app.get("/api/v1/auth/api-tokens", &ada.token, None).await;
    listed.expect(200);
    assert_eq!(listed.data().as_array().unwrap().len(), 1);
    assert!(
        !listed.body.to_string().contains(&token),
        "the token is never listed"
    );
    assert_eq!(listed.data()[0]["name"], "inventory script");

    let me = app.get("/api/v1/tenants", &token, None).await;
    me.expect(200);

    app.delete(&format!("/api/v1/auth/api-tokens/{id}"), &ada.token, None)
        .await
        .expect(200);
    app.get("/api/v1/tenants", &token, None).await.expect(401);
    app.delete(&format!("/api/v1/auth/api-tokens/{id}"), &ada.token, None)
        .await
        .expect(404);
}

#[tokio::test]
async fn a_cookie_request_from_an_untrusted_origin_is_refused_but_a_trusted_one_passes() {
    let app =
        TestApp::spawn_with(|s| s.trusted_origins = vec!["https://dash.example".into()]).await;
    let ada = app.signed_up("ada").await;
    let create = |origin: &'static str| {
        app.request(Method::POST, "/api/v1/tenants", As::Cookie(&ada.token))
            .header("origin", origin)
            .json(&json!({ "company_name": "Cross-site farm" }))
    };
    let evil = TestApp::send(create("https://evil.example")).await;
    evil.expect(403);
    assert_eq!(evil.code(), "CSRF_REJECTED");
    TestApp::send(create("https://dash.example"))
        .await
        .expect(201);
    // The same origin as the server itself is fine too.
    let same = app
        .request(Method::POST, "/api/v1/tenants", As::Cookie(&ada.token))
        .header("origin", app.base.clone())
        .json(&json!({ "company_name": "Same-site farm" }));
    TestApp::send(same).await.expect(201);
    let farms = app.get("/api/v1/tenants", &ada.token, None).await;
    assert_eq!(
        farms.data().as_array().unwrap().len(),
        2,
        "the refused request created nothing"
    );
}

#[tokio::test]
async fn cors_answers_preflights_for_trusted_origins_only() {
    let app =
        TestApp::spawn_with(|s| s.trusted_origins = vec!["https://dash.example".into()]).await;
    let preflight = |origin: &'static str| {
        app.request(Method::OPTIONS, "/api/v1/tenants", As::Nobody)
            .header("origin", origin)
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", "content-type,x-tenant-id")
    };
    let ok = TestApp::send(preflight("https://dash.example")).await;
    assert!(ok.status.is_success());
    assert_eq!(
        ok.headers["access-control-allow-origin"],
        "https://dash.example"
    );
    assert_eq!(ok.headers["access-control-allow-credentials"], "true");
    let methods = ok.headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_uppercase();
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = ok.headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        headers.contains("x-tenant-id") && headers.contains("content-type"),
        "{headers}"
    );
    let evil = TestApp::send(preflight("https://evil.example")).await;
    assert!(evil.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn bad_bodies_and_unknown_routes_get_the_error_envelope() {
    let app = TestApp::spawn_with(|s| s.max_body_bytes = 1024).await;
    let ada = app.signed_up("ada").await;
    let big = app
        .post(
            "/api/v1/tenants",
            &ada.token,
            None,
            json!({ "company_name": "x".repeat(4096) }),
        )
        .await;
    big.expect(413);
    assert_eq!(big.code(), "PAYLOAD_TOO_LARGE");

    let broken = TestApp::send(
        app.request(Method::POST, "/api/v1/tenants", As::Bearer(&ada.token))
            .header("content-type", "application/json")
            .body("{\"company_name\": "),
    )
    .await;
    broken.expect(400);
    assert_eq!(broken.code(), "INVALID_JSON");

    let not_json = TestApp::send(
        app.request(Method::POST, "/api/v1/tenants", As::Bearer(&ada.token))
            .header("content-type", "text/plain")
            .body("company_name=x"),
    )
    .await;
    not_json.expect(415);

    let nowhere = app.get("/api/v1/no-such-thing", &ada.token, None).await;
    nowhere.expect(404);
    assert_eq!(nowhere.body["success"], false);
    assert_eq!(nowhere.code(), "ROUTE_NOT_FOUND");

    let wrong_method = app
        .call(
            Method::PATCH,
            "/api/v1/tenants",
            As::Bearer(&ada.token),
            None,
            None,
        )
        .await;
    wrong_method.expect(405);
    assert_eq!(wrong_method.body["success"], false);
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let answer = app
        .call(Method::GET, "/health", As::Nobody, None, None)
        .await;
    let id = answer.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36);
    let echoed = TestApp::send(
        app.request(Method::GET, "/health", As::Nobody)
            .header("x-request-id", "trace-me-42"),
    )
    .await;
    assert_eq!(echoed.headers["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let app = TestApp::spawn_with(|s| s.public_url = Some("https://farm.example".into())).await;
    let answer = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-up/email",
            As::Nobody,
            None,
            Some(json!({ "email": "ada@example.com", "password": PASSWORD, "name": "Ada" })),
        )
        .await;
    answer.expect(201);
    assert!(
        answer.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
}

#[tokio::test]
async fn an_expired_session_is_refused_and_swept_away() {
    let app = TestApp::spawn().await;
    let ada = app.signed_up("ada").await;
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query("UPDATE sessions SET expires_at = '2000-01-01T00:00:00.000Z'")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    app.get("/api/v1/tenants", &ada.token, None)
        .await
        .expect(401);
    let (sessions, _) = server::maintenance::sweep(&app.state).await.unwrap();
    assert_eq!(sessions, 1);
    app.sign_in(&ada.email, PASSWORD).await.expect(200);
}

#[tokio::test]
async fn a_session_due_for_refresh_is_extended_and_the_cookie_renewed() {
    let app = TestApp::spawn().await;
    let ada = app.signed_up("ada").await;
    // Two days into its week: past the daily refresh point.
    let soon = domain::time::format(chrono::Utc::now() + chrono::Duration::days(5));
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query("UPDATE sessions SET expires_at = $1")
        .bind(&soon)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let answer = app
        .call(
            Method::GET,
            "/api/v1/auth/get-session",
            As::Cookie(&ada.token),
            None,
            None,
        )
        .await;
    answer.expect(200);
    let renewed = answer.headers["set-cookie"].to_str().unwrap();
    assert!(
        renewed.contains(&ada.token) && renewed.contains("Max-Age=604800"),
        "{renewed}"
    );
    let expires = answer.data()["session"]["expiresAt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(expires > soon, "{expires} should be later than {soon}");
    // A fresh session is left alone.
    let again = app
        .call(
            Method::GET,
            "/api/v1/auth/get-session",
            As::Cookie(&ada.token),
            None,
            None,
        )
        .await;
    assert!(again.headers.get("set-cookie").is_none());
}

#[tokio::test]
async fn signing_in_with_a_session_already_held_ends_it_and_gives_a_new_token() {
    let app = TestApp::spawn().await;
    let ada = app.signed_up("ada").await;
    let first = app.sign_in(&ada.email, PASSWORD).await;
    first.expect(200);
    let old = first.data()["token"].as_str().unwrap().to_string();
    // A browser that already holds a session (its own, or one planted in it) signs in.
    let again = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-in/email",
            As::Cookie(&old),
            None,
            Some(json!({ "email": ada.email, "password": PASSWORD })),
        )
        .await;
    again.expect(200);
    let new = again.data()["token"].as_str().unwrap().to_string();
    assert_ne!(new, old, "a sign-in always makes a new token");
    let app = &app;
    let session = |token: String| async move {
        app.call(
            Method::GET,
            "/api/v1/auth/get-session",
            As::Cookie(&token),
            None,
            None,
        )
        .await
    };
    let old_session = session(old.clone()).await;
    assert!(
        old_session.data()["user"].is_null(),
        "the old token ended: {}",
        old_session.body
    );
    let new_session = session(new).await;
    assert_eq!(new_session.data()["user"]["id"], ada.id.as_str());
    // The account's other sessions (another browser) are not touched.
    let elsewhere = ada.token.clone();
    assert_eq!(
        session(elsewhere).await.data()["user"]["id"],
        ada.id.as_str()
    );
}
