//! Notifications and whom they go to. No IO here.

use uuid::Uuid;

use crate::kernel::entity_id;

entity_id!(
    /// A notification's id: the id of the event that caused it.
    NotificationId
);

/// The user a notification is for, as this context knows them: from the
/// events it consumed, never from the users context's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecipientId(Uuid);

impl RecipientId {
    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for RecipientId {
    fn from(id: Uuid) -> Self {
        RecipientId(id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub id: RecipientId,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Welcome,
    OrderConfirmed,
    PaymentFailed,
    RefundIssued,
}

impl Kind {
    const ALL: [Kind; 4] = [
        Kind::Welcome,
        Kind::OrderConfirmed,
        Kind::PaymentFailed,
        Kind::RefundIssued,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Welcome => "welcome",
            Kind::OrderConfirmed => "order_confirmed",
            Kind::PaymentFailed => "payment_failed",
            Kind::RefundIssued => "refund_issued",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: NotificationId,
    pub recipient: RecipientId,
    pub kind: Kind,
    pub subject: String,
    pub body: String,
    pub created_at_us: i64,
}

impl Notification {
    /// `id` is the causing event's: one event, one notification, whatever
    /// happens on the way.
    pub fn welcome(id: NotificationId, recipient: &Recipient, at_us: i64) -> Notification {
        Notification {
            id,
            recipient: recipient.id,
            kind: Kind::Welcome,
            subject: "Welcome to Keel".to_owned(),
            body: format!(
                "Hello {},\n\nyour account for {} is ready. Welcome aboard.",
                recipient.name, recipient.email
            ),
            created_at_us: at_us,
        }
    }
}

impl Notification {
    /// News of an order, for its customer. Amounts are in minor units with
    /// their currency: a client formats them for its locale.
    pub fn about_order(
        id: NotificationId,
        recipient: &Recipient,
        kind: Kind,
        detail: &str,
        at_us: i64,
    ) -> Notification {
        let subject = match kind {
            Kind::OrderConfirmed => "Your order is confirmed",
            Kind::PaymentFailed => "Your payment did not go through",
            Kind::RefundIssued => "You have been refunded",
            Kind::Welcome => "Welcome to Keel",
        };
        Notification {
            id,
            recipient: recipient.id,
            kind,
            subject: subject.to_owned(),
            body: format!("Hello {},\n\n{detail}", recipient.name),
            created_at_us: at_us,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_welcome_names_its_recipient() {
        let recipient = Recipient {
            id: Uuid::now_v7().into(),
            email: "ada@example.com".into(),
            name: "Ada".into(),
        };
        let welcome = Notification::welcome(NotificationId::new(), &recipient, 7);
        assert_eq!(welcome.kind, Kind::Welcome);
        assert_eq!(welcome.recipient, recipient.id);
        assert!(welcome.body.contains("Hello Ada") && welcome.body.contains("ada@example.com"));
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
    }
}
