//! The hubs and team pages, and the password reset pages, as a browser without
//! JavaScript sees them: hubs of the farm only, online in words, the controls each role
//! may use; members and roles, API tokens without their secrets; a reset mail that tells
//! no one whether an account exists, and a link that sets a password once.

use crate::common;
use crate::common::live;

use common::browser::Browser;
use common::{Account, PASSWORD, TestApp, token_in};
use serde_json::json;
use std::time::Duration;

/// A browser signed in as `account`.
async fn signed_in<'a>(app: &'a TestApp, account: &Account) -> Browser<'a> {
    let browser = Browser::new(app);
    browser.sign_in(account).await;
    browser
}

/// How many mails the outbox holds.
fn mails_in_outbox(app: &TestApp) -> usize {
    std::fs::read_dir(app.data_dir.path().join("data/outbox"))
        .map(|dir| dir.count())
        .unwrap_or(0)
}

#[tokio::test]
async fn the_hubs_page_lists_the_farms_hubs_offline_with_their_printers_and_no_other_farms() {
    let app = TestApp::spawn().await;
    let (ada, farm) = app.signed_up_owner("ada").await;
    let (hub_id, secret) = app.register_hub(&ada, &farm, "Rack A").await;
    app.post(
        "/api/v1/printers",
        &ada.token,
        Some(&farm),
        json!({ "name": "P1S-01", "model": "P1S", "hub_id": hub_id, "serial_number": "01P00A123456789" }),
    )
    .await
    .expect(201);
    let (bea, other_farm) = app.signed_up_owner("bea").await;
    let (their_hub, _) = app.register_hub(&bea, &other_farm, "Rack of Bea").await;

    let browser = signed_in(&app, &ada).await;
    let page = browser.get("/hubs").await;
    page.expect(200)
        .shows(&format!(r#"data-hub-id="{hub_id}" data-online="0""#))
        .shows(r#"<span class="badge" data-state="offline">Offline</span>"#)
        .shows("Rack A")
        .shows(r#"<dt>Printers</dt><dd data-field="printer-count">1</dd>"#)
        .shows(r#"<a href="/printers#printer-"#)
        .shows(r#"<dt>Last seen</dt><dd>never</dd>"#)
        // The owner registers, claims, renames, releases and adds printers.
        .shows(r#"<form id="hub-register""#)
        .shows(r#"<input id="hub-name" name="name""#)
        .shows(r#"<div id="hub-secret""#)
        .shows(r#"data-key="hub_id""#)
        .shows(r#"data-key="secret""#)
        .shows(r#"<form id="hub-claim""#)
        .shows(&format!(r#"id="hub-release-{hub_id}""#))
        .shows(&format!(r#"<form class="form" id="printer-add-{hub_id}""#))
        .shows(&format!(r#"action="/hubs/{hub_id}/discover""#))
        .shows(&format!(r#"server_url = "{}""#, app.base))
        .shows(r#"<div id="hub-list" data-fragment="/hubs/list""#);
    assert!(
        !page.body.contains(&secret),
        "the secret is never shown again"
    );
    assert!(
        !page.body.contains(&their_hub) && !page.body.contains("Rack of Bea"),
        "another farm's hub is not shown"
    );

    let fragment = browser
        .client
        .get(browser.url("/hubs/list"))
        .header("x-pf-fragment", "1")
        .send()
        .await
        .expect("GET");
    let fragment = Browser::read(fragment).await;
    fragment
        .expect(200)
        .shows(&format!(r#"data-hub-id="{hub_id}" data-online="0""#));
    assert!(!fragment.body.contains("<html"), "only the list");
    assert!(!fragment.body.contains(&their_hub));
}

#[tokio::test]
async fn a_viewer_sees_the_hubs_but_no_controls_and_an_operator_may_only_look_for_printers() {
    let app = TestApp::spawn().await;
    let (ada, farm) = app.signed_up_owner("ada").await;
    let (hub_id, _) = app.register_hub(&ada, &farm, "Rack A").await;
    let vic = app.signed_up("vic").await;
    app.add_member(&ada, &farm, &vic, "viewer").await;
    let otto = app.signed_up("otto").await;
    app.add_member(&ada, &farm, &otto, "operator").await;

    let viewer = signed_in(&app, &vic).await;
    let page = viewer.get("/hubs").await;
    page.expect(200)
        .shows(&format!(r#"data-hub-id="{hub_id}""#))
        .shows("Offline");
    for control in [
        "hub-register",
        "hub-claim",
        "hub-secret",
        "hub-release-",
        "printer-add-",
        "/discover",
        "hub-rename-",
    ] {
        assert!(
            !page.body.contains(control),
            "a viewer sees no {control}: {}",
            page.body
        );
    }
    viewer
        .post(&format!("/hubs/{hub_id}/discover"), &[])
        .await
        .expect(403);

    let operator = signed_in(&app, &otto).await;
    let page = operator.get("/hubs").await;
    page.expect(200)
        .shows(&format!(r#"action="/hubs/{hub_id}/discover""#));
    assert!(!page.body.contains("hub-register") && !page.body.contains("printer-add-"));

    // The hub is not connected: looking for printers says so in words on its card.
    let asked = operator
        .post(&format!("/hubs/{hub_id}/discover"), &[])
        .await;
    asked.expect(303);
    assert_eq!(asked.location(), format!("/hubs#hub-{hub_id}"));
    operator
        .get("/hubs")
        .await
        .expect(200)
        .shows("Could not look for printers.")
        .shows("Rack A is offline.");
    // Another farm's member does not see that discovery, nor may ask that hub.
    let (bea, _) = app.signed_up_owner("bea").await;
    let stranger = signed_in(&app, &bea).await;
    stranger
        .post(&format!("/hubs/{hub_id}/discover"), &[])
        .await
        .expect(404);
}

#[tokio::test]
async fn a_connected_hub_shows_online_and_the_printers_it_found_come_with_an_add_form() {
    let app = TestApp::spawn().await;
    let (ada, farm) = app.signed_up_owner("ada").await;
    let (hub_id, secret) = app.register_hub(&ada, &farm, "Rack A").await;
    // A free loopback port for the hub's discovery listener, where the test announces a printer.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free port")
        .port();
    let data = tempfile::tempdir().expect("hub dir");
    let mut config = hub::Config::new(app.base.clone(), hub_id.clone(), secret, data.path());
    config.discovery_listen = format!("127.0.0.1:{port}").parse().expect("address");
    config.discovery_seconds = 1.5;
    config.reconnect_initial_ms = 100;
    let running = live::RunningHub::start(config);
    live::until(
        &app,
        &format!("/api/v1/hubs/{hub_id}/connection"),
        &ada.token,
        &farm,
        |c| c["connected"] == true,
    )
    .await;

    let browser = signed_in(&app, &ada).await;
    browser
        .get("/hubs")
        .await
        .expect(200)
        .shows(&format!(r#"data-hub-id="{hub_id}" data-online="1""#))
        .shows(r#"<span class="badge" data-state="idle">Online</span>"#);

    let announcing = tokio::spawn(async move {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("socket");
        let notify = "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nLocation: 192.168.1.57\r\n\
            NT: urn:bambulab-com:device:3dprinter:1\r\nUSN: 01S00C000000042\r\n\
            DevModel.bambu.com: C11\r\nDevName.bambu.com: Workshop-P1P\r\nDevConnect.bambu.com: lan\r\n\r\n";
        loop {
            let _ = socket.send_to(notify.as_bytes(), ("127.0.0.1", port)).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let asked = browser.post(&format!("/hubs/{hub_id}/discover"), &[]).await;
    announcing.abort();
    asked.expect(303);
    let page = browser.get("/hubs").await;
    page.expect(200)
        .shows("Found on its network")
        .shows("<code>01S00C000000042</code>")
        .shows("192.168.1.57")
        .shows(&format!(r#"id="printer-found-{hub_id}-1""#))
        .shows(r#"name="serial_number" value="01S00C000000042""#)
        .shows(r#"name="ip_address" value="192.168.1.57""#)
        .shows(r#"name="model" value="P1P""#)
        .shows(r#"value="Workshop-P1P""#)
        .shows(r#"name="access_code""#);

    // Once added (through the API, as the form does), it is marked as in the farm.
    app.post(
        "/api/v1/printers",
        &ada.token,
        Some(&farm),
        json!({ "name": "Workshop-P1P", "model": "P1P", "hub_id": hub_id,
                "serial_number": "01S00C000000042", "ip_address": "192.168.1.57", "access_code": "12345678" }),
    )
    .await
    .expect(201);
    let page = browser.get("/hubs").await;
    page.expect(200)
        .shows("Already in the farm as Workshop-P1P.")
        .shows(r#"<dt>Printers</dt><dd data-field="printer-count">1</dd>"#);
    assert!(
        !page
            .body
            .contains(&format!(r#"id="printer-found-{hub_id}-1""#))
    );
    running.stop().await;
}

#[tokio::test]
async fn the_team_page_lists_members_with_roles_and_the_users_tokens_never_their_secrets() {
    let app = TestApp::spawn().await;
    let (ada, farm) = app.signed_up_owner("ada").await;
    let bo = app.signed_up("bo").await;
    app.add_member(&ada, &farm, &bo, "operator").await;
    let token = app
        .post(
            "/api/v1/auth/api-tokens",
            &ada.token,
            None,
            json!({ "name": "Nightly stock export", "expires_in_days": 30 }),
        )
        .await;
    token.expect(201);
    let secret = token.data()["token"].as_str().expect("token").to_string();
    let bo_token = app
        .post(
            "/api/v1/auth/api-tokens",
            &bo.token,
            None,
            json!({ "name": "Script of Bo" }),
        )
        .await;
    bo_token.expect(201);

    let browser = signed_in(&app, &ada).await;
    let page = browser.get("/team").await;
    page.expect(200)
        .shows("ada@example.com")
        .shows(r#"data-role="owner""#)
        .shows("bo@example.com")
        .shows(&format!(
            r#"<tr data-user-id="{}" data-role="operator">"#,
            bo.id
        ))
        .shows(r#"<option value="operator" selected>Operator</option>"#)
        .shows(&format!(r#"id="member-{}-remove""#, bo.id))
        .shows("The farm's only owner")
        .shows(r#"<th scope="col">Role</th>"#)
        .shows(r#"<form id="member-invite""#)
        .shows("Nightly stock export")
        .shows("<th scope=\"col\">Last used</th>")
        .shows(r#"<span class="badge" data-state="idle">Active</span>"#)
        .shows(r#"<form id="token-create""#)
        .shows(r#"<div id="token-secret""#)
        .shows(r#"data-key="token""#);
    assert!(!page.body.contains(&secret), "a token is shown only once");
    assert!(
        !page.body.contains(&store::secrets::token_hash(&secret)),
        "nor its hash"
    );
    assert!(
        !page.body.contains("Script of Bo"),
        "only the user's own tokens"
    );
    let tokens = browser.get("/team/tokens").await;
    tokens.expect(200).shows("Nightly stock export");
    assert!(!tokens.body.contains(&secret));

    // An operator sees the team but can't invite or change anyone else; they may leave.
    let operator = signed_in(&app, &bo).await;
    let page = operator.get("/team").await;
    page.expect(200)
        .shows("ada@example.com")
        .shows("Script of Bo")
        .shows("Leave the farm");
    assert!(!page.body.contains("member-invite"));
    assert!(
        !page
            .body
            .contains(&format!(r#"id="member-{}-role""#, ada.id))
    );
    assert!(
        !page
            .body
            .contains(&format!(r#"id="member-{}-remove""#, ada.id))
    );
    assert!(!page.body.contains("Nightly stock export"));
}

#[tokio::test]
async fn an_invitation_waits_on_the_team_pages_and_its_mailed_link_lets_only_its_account_join() {
    let app = TestApp::spawn().await;
    let (ada, farm) = app.signed_up_owner("ada").await;
    let invitation = app.invite(&ada, &farm, "bo@example.com", "operator").await;
    let id = invitation["id"].as_str().expect("invitation id");
    let token = token_in(&app.mail_to("bo@example.com").await);
    let link = format!("/invitations/accept?token={token}");

    // Ada sees it waiting for an answer, with a way to take it back.
    let admin = signed_in(&app, &ada).await;
    admin
        .get("/team")
        .await
        .expect(200)
        .shows("Invitations waiting for an answer")
        .shows("<th scope=\"row\">bo@example.com</th>")
        .shows(&format!(r#"id="invitation-{id}-revoke""#));
    admin
        .get("/team/invitations")
        .await
        .expect(200)
        .shows("bo@example.com");

    // The link asks a visitor to sign in first, and comes back to itself.
    let page = Browser::new(&app).get(&link).await;
    page.expect(303);
    assert!(
        page.location().starts_with("/sign-in?next="),
        "{}",
        page.location()
    );

    // Bo signs up with the invited email; his team page offers the invitation.
    let (bo, _) = app.signed_up_owner("bo").await;
    let browser = signed_in(&app, &bo).await;
    browser
        .get("/team")
        .await
        .expect(200)
        .shows("Invitations for you")
        .shows("<strong>ada farm</strong> as Operator")
        .shows(&format!(r#"id="invitation-{id}-accept""#))
        .shows(&format!(r#"id="invitation-{id}-decline""#));

    // Someone else holding the link can neither see nor use it.
    let (cy, _) = app.signed_up_owner("cy").await;
    let other = signed_in(&app, &cy).await;
    other
        .get(&link)
        .await
        .expect(403)
        .shows("another email address");
    other
        .post(
            "/invitations/accept",
            &[("token", &token), ("answer", "accept")],
        )
        .await
        .expect(403);

    // Bo opens the link and accepts: Ada's farm opens, in his switcher.
    browser
        .get(&link)
        .await
        .expect(200)
        .shows("<strong>ada farm</strong>")
        .shows(r#"id="invitation-accept""#);
    let accepted = browser
        .post(
            "/invitations/accept",
            &[("token", &token), ("answer", "accept")],
        )
        .await;
    accepted.expect(303);
    assert_eq!(accepted.location(), "/");
    browser
        .get("/team")
        .await
        .expect(200)
        .shows(&format!(r#"<option value="{farm}" selected>"#))
        .shows(&format!(
            r#"<tr data-user-id="{}" data-role="operator">"#,
            bo.id
        ));
    let again = browser.get(&link).await;
    again.expect(200).shows("accepted already");
    assert!(!again.body.contains("invitation-accept"));
    admin
        .get("/team/invitations")
        .await
        .expect(200)
        .shows("No invitation is waiting for an answer.");
}

#[tokio::test]
async fn forgetting_a_password_answers_the_same_for_any_email_and_mails_only_the_account() {
    let app = TestApp::spawn().await;
    let (ada, _) = app.signed_up_owner("ada").await;
    let visitor = Browser::new(&app);
    visitor
        .get("/sign-in")
        .await
        .expect(200)
        .shows(r#"<a href="/forgot-password">Forgot your password?</a>"#);
    visitor
        .get("/forgot-password")
        .await
        .expect(200)
        .shows(r#"<form class="form" method="post" action="/forgot-password""#)
        .shows(r#"<label for="email">Email</label>"#);

    let before = mails_in_outbox(&app);
    let known = visitor
        .post("/forgot-password", &[("email", &ada.email)])
        .await;
    known.expect(200).shows("we have sent it a link");
    let unknown = visitor
        .post("/forgot-password", &[("email", "nobody@example.com")])
        .await;
    unknown.expect(200);
    assert_eq!(
        known.body.replace(&ada.email, "EMAIL"),
        unknown.body.replace("nobody@example.com", "EMAIL"),
        "the answer tells nothing about the account"
    );
    let mail = app.mail_to(&ada.email).await;
    assert!(mail.contains("/reset-password?token="), "{mail}");
    assert_eq!(
        mails_in_outbox(&app),
        before + 1,
        "one mail, to the account"
    );

    let bad = visitor
        .post("/forgot-password", &[("email", "not-an-email")])
        .await;
    bad.expect(400)
        .shows(r#"<p class="field-error" id="email-error">"#)
        .shows(r#"value="not-an-email""#);
}

#[tokio::test]
async fn the_mailed_link_sets_a_new_password_once_and_mistakes_show_by_their_fields() {
    let app = TestApp::spawn().await;
    let (ada, _) = app.signed_up_owner("ada").await;
    let visitor = Browser::new(&app);
    visitor
        .post("/forgot-password", &[("email", &ada.email)])
        .await
        .expect(200);
    let token = token_in(&app.mail_to(&ada.email).await);

    visitor
        .get(&format!("/reset-password?token={token}"))
        .await
        .expect(200)
        .shows(&format!(
            r#"<input type="hidden" name="token" value="{token}">"#
        ))
        .shows(r#"<label for="password">New password</label>"#)
        .shows(r#"<label for="confirm">New password again</label>"#);
    visitor
        .get("/reset-password")
        .await
        .expect(200)
        .shows("This link is incomplete");

    let new_password = "a brand new passphrase";
    let mismatched = visitor
        .post(
            "/reset-password",
            &[
                ("token", &token),
                ("password", new_password),
                ("confirm", "something else entirely"),
            ],
        )
        .await;
    mismatched
        .expect(400)
        .shows(r#"<p class="field-error" id="confirm-error">"#)
        .shows("The two passwords are not the same")
        .shows(r##"<a href="#confirm">"##);
    assert!(
        !mismatched.body.contains(new_password),
        "passwords are not echoed"
    );

    let short = visitor
        .post(
            "/reset-password",
            &[
                ("token", &token),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    short
        .expect(400)
        .shows(r#"id="password-error""#)
        .shows("must be at least 8 characters.");

    let forged = visitor
        .post(
            "/reset-password",
            &[
                ("token", "not-the-mailed-token"),
                ("password", new_password),
                ("confirm", new_password),
            ],
        )
        .await;
    forged
        .expect(400)
        .shows("This reset link is invalid, used or expired")
        .shows(r#"<a href="/forgot-password">Ask for a new link</a>"#);

    visitor
        .post(
            "/reset-password",
            &[
                ("token", &token),
                ("password", new_password),
                ("confirm", new_password),
            ],
        )
        .await
        .expect(200)
        .shows("Password changed")
        .shows(r#"href="/sign-in""#);

    // The link worked once; the old password is gone and the new one signs in.
    visitor
        .post(
            "/reset-password",
            &[
                ("token", &token),
                ("password", "yet another passphrase"),
                ("confirm", "yet another passphrase"),
            ],
        )
        .await
        .expect(400)
        .shows("invalid, used or expired");
    app.sign_in(&ada.email, PASSWORD).await.expect(401);
    let signed_in = visitor
        .post(
            "/sign-in",
            &[
                ("email", &ada.email),
                ("password", new_password),
                ("next", "/team"),
            ],
        )
        .await;
    signed_in.expect(303);
    assert_eq!(signed_in.location(), "/team");
    visitor
        .get("/team")
        .await
        .expect(200)
        .shows("ada@example.com");
}
