//! Mail through an SMTP relay (lettre), configured by `KEEL_SMTP_URL`
//! (`smtp://host:port` in plain text, `smtps://…` or `smtp://…?tls=required`
//! with TLS).

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::notifications::domain::{Notification, Recipient};
use crate::notifications::ports::{NotificationSender, SendError};
use crate::platform::db::Tx;

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub url: String,
    /// The `From` address.
    pub from: String,
}

#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpSender {
    pub fn new(settings: &SmtpSettings) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)
            .map_err(|e| anyhow::anyhow!("KEEL_SMTP_URL `{}`: {e}", settings.url))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from = settings
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("KEEL_SMTP_FROM `{}`: {e}", settings.from))?;
        Ok(SmtpSender { transport, from })
    }
}

impl NotificationSender for SmtpSender {
    async fn send(
        &self,
        _tx: &Tx,
        recipient: &Recipient,
        notification: &Notification,
    ) -> Result<(), SendError> {
        let to = recipient
            .email
            .parse()
            .map(|address| Mailbox::new(Some(recipient.name.clone()), address))
            .map_err(|e| SendError(format!("the address `{}`: {e}", recipient.email)))?;
        // The notification's id as Message-ID: should a retry send it twice
        // (the commit after a sent mail failed), mail clients see one message.
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&notification.subject)
            .message_id(Some(format!("<{}@keel>", notification.id.as_uuid())))
            .header(ContentType::TEXT_PLAIN)
            .body(notification.body.clone())
            .map_err(|e| SendError(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map_err(|e| SendError(e.to_string()))?;
        Ok(())
    }
}
