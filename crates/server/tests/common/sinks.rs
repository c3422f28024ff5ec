//! Receivers on loopback for what the server sends out: an SMTP sink and a webhook
//! receiver, each handing what arrived to the test.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One mail the sink received: its recipients and its data (headers and body).
#[derive(Debug, Clone)]
pub struct Mail {
    pub recipients: Vec<String>,
    pub data: String,
}

/// An SMTP server on 127.0.0.1 that accepts every message (sessions one after another).
pub struct SmtpSink {
    pub port: u16,
    pub mails: mpsc::UnboundedReceiver<Mail>,
}

impl SmtpSink {
    /// Starts listening.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("sink");
        let port = listener.local_addr().expect("addr").port();
        let (tx, mails) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Some(mail) = session(socket).await {
                        let _ = tx.send(mail);
                    }
                });
            }
        });
        SmtpSink { port, mails }
    }

    /// The settings that send through this sink.
    pub fn settings(&self) -> server::settings::SmtpSettings {
        server::settings::SmtpSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            username: None,
            password: None,
            security: server::settings::SmtpSecurity::None,
        }
    }

    /// The next mail, within 10 s.
    pub async fn next(&mut self) -> Mail {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.mails.recv())
            .await
            .expect("a mail in time")
            .expect("the sink runs")
    }
}

/// One SMTP session: the message it carried, if it got to the end of one.
async fn session(socket: tokio::net::TcpStream) -> Option<Mail> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await.ok()?;
    let mut recipients = Vec::new();
    let mut data = String::new();
    while let Some(line) = lines.next_line().await.ok()? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("RCPT TO:") {
            recipients.push(line[8..].trim().trim_matches(['<', '>']).to_string());
            b"250 ok\r\n"
        } else if upper.starts_with("DATA") {
            write.write_all(b"354 go on\r\n").await.ok()?;
            while let Some(body) = lines.next_line().await.ok()? {
                if body == "." {
                    break;
                }
                data.push_str(&body);
                data.push('\n');
            }
            write.write_all(b"250 queued\r\n").await.ok()?;
            // lettre may QUIT or simply close after the message; either ends the session.
            return Some(Mail { recipients, data });
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return None;
        } else {
            b"250 ok\r\n"
        };
        write.write_all(reply).await.ok()?;
    }
    None
}

/// One post the receiver got.
#[derive(Debug, Clone)]
pub struct Hook {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A webhook receiver on 127.0.0.1 answering every post with the status it is set to.
pub struct WebhookReceiver {
    pub url: String,
    pub hooks: mpsc::UnboundedReceiver<Hook>,
    status: Arc<AtomicU16>,
}

impl WebhookReceiver {
    /// Starts listening at `/hooks/farm-token` (the path stands for a secret in the URL).
    pub async fn start() -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("receiver");
        let port = listener.local_addr().expect("addr").port();
        let (tx, hooks) = mpsc::unbounded_channel();
        let status = Arc::new(AtomicU16::new(200));
        let answer = status.clone();
        let router = axum::Router::new().route(
            "/hooks/farm-token",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let tx = tx.clone();
                let answer = answer.clone();
                async move {
                    let _ = tx.send(Hook {
                        headers,
                        body: body.to_vec(),
                    });
                    StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap()
                }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        WebhookReceiver {
            url: format!("http://127.0.0.1:{port}/hooks/farm-token"),
            hooks,
            status,
        }
    }

    /// Answers later posts with `status`.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// The next post, within 15 s.
    pub async fn next(&mut self) -> Hook {
        tokio::time::timeout(std::time::Duration::from_secs(15), self.hooks.recv())
            .await
            .expect("a webhook in time")
            .expect("the receiver runs")
    }
}
