//! Mail through an SMTP relay: a tiny SMTP sink on loopback receives the reset mail.

mod common;

use common::{As, TestApp, token_in};
use reqwest::Method;
use serde_json::json;
use server::settings::{SmtpSecurity, SmtpSettings};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Accepts one SMTP session and returns (recipients, message data).
async fn smtp_sink(listener: TcpListener) -> (Vec<String>, String) {
    let (socket, _) = listener.accept().await.expect("a connection");
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await.expect("greet");
    let mut recipients = Vec::new();
    let mut data = String::new();
    while let Some(line) = lines.next_line().await.expect("a line") {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("RCPT TO:") {
            recipients.push(line[8..].trim().trim_matches(['<', '>']).to_string());
            b"250 ok\r\n"
        } else if upper.starts_with("DATA") {
            write.write_all(b"354 go on\r\n").await.expect("data");
            while let Some(body) = lines.next_line().await.expect("body") {
                if body == "." {
                    break;
                }
                data.push_str(&body);
                data.push('\n');
            }
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await.expect("bye");
            break;
        } else {
            b"250 ok\r\n"
        };
        write.write_all(reply).await.expect("reply");
        if upper.starts_with("DATA") {
            // lettre may QUIT or simply close after the message; either ends the session.
            break;
        }
    }
    (recipients, data)
}

#[tokio::test]
async fn reset_mail_goes_through_the_configured_smtp_relay() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("sink");
    let port = listener.local_addr().expect("addr").port();
    let sink = tokio::spawn(smtp_sink(listener));
    let app = TestApp::spawn_with(|s| {
        s.smtp = Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            username: None,
            password: None,
            security: SmtpSecurity::None,
        })
    })
    .await;
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
    let (recipients, data) = tokio::time::timeout(std::time::Duration::from_secs(10), sink)
        .await
        .expect("the relay got a mail in time")
        .expect("sink ran");
    assert_eq!(recipients, vec!["ada@example.com"]);
    let text = common::decode_quoted_printable(&data);
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
