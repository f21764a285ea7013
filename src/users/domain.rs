//! Users as the business sees them. No IO and no framework types: every value
//! here is valid by construction, so code holding a `User` never re-checks it.

use crate::kernel::entity_id;

entity_id!(
    /// A user's id.
    UserId
);

/// Why a value cannot become one of this context's types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidValue {
    #[error("must be an email address of at most 254 characters")]
    Email,
    #[error(
        "must be 1 to 100 characters, without leading or trailing white space or control characters"
    )]
    DisplayName,
    #[error("must be an http or https URL of at most 2048 characters")]
    AvatarUrl,
    #[error("must be an E.164 phone number: `+` and 7 to 15 digits")]
    Phone,
}

/// An email address, lower-cased: two addresses that differ only in case are the
/// same account (almost every mail system treats them so, and users expect it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let email = raw.trim().to_lowercase();
        let (local, domain) = email.split_once('@').ok_or(InvalidValue::Email)?;
        let valid = !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && email.len() <= Self::MAX_LEN
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Email(email))
        } else {
            Err(InvalidValue::Email)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name shown to others: 1–100 characters, trimmed, printable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let chars = raw.chars().count();
        let valid = (1..=Self::MAX_CHARS).contains(&chars)
            && raw.trim() == raw
            && !raw.chars().any(char::is_control);
        if valid {
            Ok(DisplayName(raw.to_owned()))
        } else {
            Err(InvalidValue::DisplayName)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where the user's picture is: an absolute http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarUrl(String);

impl AvatarUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let lower = raw.to_ascii_lowercase();
        let has_host = |rest: &str| !rest.is_empty() && !rest.starts_with('/');
        let valid = raw.len() <= Self::MAX_LEN
            && !raw.chars().any(|c| c.is_whitespace() || c.is_control())
            && (lower.strip_prefix("https://").is_some_and(has_host)
                || lower.strip_prefix("http://").is_some_and(has_host));
        if valid {
            Ok(AvatarUrl(raw.to_owned()))
        } else {
            Err(InvalidValue::AvatarUrl)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form (`+` and 7 to 15 digits). Stored encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let digits = raw.strip_prefix('+').ok_or(InvalidValue::Phone)?;
        let valid = (7..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(Phone(raw.to_owned()))
        } else {
            Err(InvalidValue::Phone)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub use crate::kernel::Version;

pub use crate::kernel::Timestamp;

/// What a user may do. Each role maps to scopes in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Customer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "customer" => Some(Role::Customer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub display_name: DisplayName,
    pub avatar_url: Option<AvatarUrl>,
    pub role: Role,
    pub phone: Option<Phone>,
    /// An argon2id PHC string; `None` for an account that cannot log in.
    pub password_hash: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: Version,
}

/// A partial update: `None` leaves a property as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub email: Option<Email>,
    pub display_name: Option<DisplayName>,
    /// `Some(None)` removes the avatar.
    pub avatar_url: Option<Option<AvatarUrl>>,
    pub phone: Option<Option<Phone>>,
}

impl User {
    pub fn register(
        email: Email,
        display_name: DisplayName,
        avatar_url: Option<AvatarUrl>,
        role: Role,
        password_hash: Option<String>,
        now: Timestamp,
    ) -> Self {
        User {
            id: UserId::new(),
            email,
            display_name,
            avatar_url,
            role,
            phone: None,
            password_hash,
            created_at: now,
            updated_at: now,
            version: Version::FIRST,
        }
    }

    /// Applies the changes as a new version, even when they change nothing: the
    /// client asked for a write and gets a new ETag, as with any PATCH.
    pub fn apply(&mut self, changes: UserChanges, now: Timestamp) {
        if let Some(email) = changes.email {
            self.email = email;
        }
        if let Some(name) = changes.display_name {
            self.display_name = name;
        }
        if let Some(avatar) = changes.avatar_url {
            self.avatar_url = avatar;
        }
        if let Some(phone) = changes.phone {
            self.phone = phone;
        }
        self.updated_at = now.max(self.created_at);
        self.version = self.version.next();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_compared_without_case() {
        assert_eq!(
            Email::parse("Ada@Example.COM").unwrap(),
            Email::parse("ada@example.com").unwrap()
        );
        assert_eq!(Email::parse("no-at-sign"), Err(InvalidValue::Email));
        assert_eq!(Email::parse("a@b@c"), Err(InvalidValue::Email));
        assert_eq!(Email::parse("@example.com"), Err(InvalidValue::Email));
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert!(DisplayName::parse("Ada Lovelace").is_ok());
        assert!(
            DisplayName::parse(&"é".repeat(100)).is_ok(),
            "the bound counts characters, not bytes"
        );
        assert_eq!(
            DisplayName::parse(&"x".repeat(101)),
            Err(InvalidValue::DisplayName)
        );
        assert_eq!(DisplayName::parse(" Ada"), Err(InvalidValue::DisplayName));
        assert_eq!(DisplayName::parse(""), Err(InvalidValue::DisplayName));
        assert_eq!(
            DisplayName::parse("a\u{0}b"),
            Err(InvalidValue::DisplayName)
        );
    }

    #[test]
    fn avatar_urls_are_absolute_http() {
        assert!(AvatarUrl::parse("https://cdn.example.com/a.png").is_ok());
        assert_eq!(
            AvatarUrl::parse("ftp://example.com/a.png"),
            Err(InvalidValue::AvatarUrl)
        );
        assert_eq!(
            AvatarUrl::parse("https:///nohost"),
            Err(InvalidValue::AvatarUrl)
        );
    }

    #[test]
    fn applying_changes_bumps_the_version_and_keeps_the_rest() {
        let now = Timestamp::now();
        let mut user = User::register(
            Email::parse("a@example.com").unwrap(),
            DisplayName::parse("A").unwrap(),
            Some(AvatarUrl::parse("https://example.com/a.png").unwrap()),
            Role::Customer,
            None,
            now,
        );
        user.apply(
            UserChanges {
                avatar_url: Some(None),
                ..Default::default()
            },
            now,
        );
        assert_eq!(user.version, Version::FIRST.next());
        assert_eq!(user.avatar_url, None);
        assert_eq!(user.display_name.as_str(), "A");
    }
}
