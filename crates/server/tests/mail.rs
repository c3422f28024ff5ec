//! Mail through an SMTP relay: a tiny SMTP sink on loopback receives the reset mail.

use crate::common;

use common::{As, TestApp, token_in};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn reset_mail_goes_through_the_configured_smtp_relay() {
    let mut sink = common::sinks::SmtpSink::start().await;
    let relay = sink.settings();
    let app = TestApp::spawn_with(|s| s.smtp = Some(relay)).await;
    let ada = app.signed_up("ada").await;
    app.call(
        Method::POST,
        "/api/v1/auth/forget-password",
        As::Nobody,
        None,
        Some(json!({ "email": ada.email })),
    )
    .await
    .expect(200);
    let mail = sink.next().await;
    assert_eq!(mail.recipients, vec!["ada@example.com"]);
    let text = common::decode_quoted_printable(&mail.data);
    assert!(
        text.contains("Subject: Reset your PrintFarm password"),
        "{text}"
    );
    let token = token_in(&text);
    app.call(
        Method::POST,
        "/api/v1/auth/reset-password",
        As::Nobody,
        None,
        Some(json!({ "token": token, "newPassword": "relayed passphrase" })),
    )
    .await
    .expect(200);
    assert!(
        !app.data_dir.path().join("data/outbox").exists(),
        "no outbox when a relay is set"
    );
}
