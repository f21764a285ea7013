//! Notifications and whom they go to. No IO here.

use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct NotificationId(Uuid);

impl NotificationId {
    pub fn new() -> Self {
        NotificationId(Uuid::now_v7())
    }

    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl Default for NotificationId {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Uuid> for NotificationId {
    fn from(id: Uuid) -> Self {
        NotificationId(id)
    }
}

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
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Welcome => "welcome",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "welcome" => Some(Kind::Welcome),
            _ => None,
        }
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
        assert_eq!(Kind::parse(Kind::Welcome.as_str()), Some(Kind::Welcome));
    }
}
