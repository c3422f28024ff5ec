//! Outgoing mail: an SMTP relay when configured, otherwise `.eml` files in the data
//! directory's `outbox/` that an admin can read.

use crate::settings::{Settings, SmtpSecurity};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

/// Why mail could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address or the message is malformed.
    #[error("mail: {0}")]
    Message(String),
    /// The relay or the outbox refused it.
    #[error("mail transport: {0}")]
    Transport(String),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>),
}

/// Sends mail.
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
    /// Where mail goes when there is no relay.
    pub outbox: Option<PathBuf>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("outbox", &self.outbox)
            .finish()
    }
}

impl Mailer {
    /// A mailer for the settings: SMTP when set, else the outbox folder.
    pub fn from_settings(settings: &Settings) -> Result<Mailer, MailError> {
        let from: Mailbox = settings
            .mail_from
            .parse()
            .map_err(|e| MailError::Message(format!("mail_from: {e}")))?;
        if let Some(smtp) = &settings.smtp {
            let builder = match smtp.security {
                SmtpSecurity::Starttls => {
                    AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                }
                SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
                SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                    &smtp.host,
                )),
            }
            .map_err(|e| MailError::Transport(e.to_string()))?;
            let mut builder = builder.port(smtp.port);
            if let (Some(user), Some(pass)) = (&smtp.username, &smtp.password) {
                builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
            }
            return Ok(Mailer {
                from,
                transport: Transport::Smtp(builder.build()),
                outbox: None,
            });
        }
        let dir = settings.data_dir.join("outbox");
        std::fs::create_dir_all(&dir)
            .map_err(|e| MailError::Transport(format!("{}: {e}", dir.display())))?;
        Ok(Mailer {
            from,
            transport: Transport::Outbox(AsyncFileTransport::new(&dir)),
            outbox: Some(dir),
        })
    }

    /// Sends a plain-text message.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        self.send_to_all(&[to], subject, body).await
    }

    /// Sends one plain-text message to several recipients.
    pub async fn send_to_all(
        &self,
        to: &[&str],
        subject: &str,
        body: String,
    ) -> Result<(), MailError> {
        let mut builder = Message::builder().from(self.from.clone());
        for address in to {
            let mailbox: Mailbox = address
                .parse()
                .map_err(|e| MailError::Message(format!("to: {e}")))?;
            builder = builder.to(mailbox);
        }
        let message = builder
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError::Message(e.to_string()))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Transport(e.to_string())),
            Transport::Outbox(outbox) => outbox
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Transport(e.to_string())),
        }
    }
}
