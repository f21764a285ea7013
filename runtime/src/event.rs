//! Domain events declared in the contract: component schemas marked
//! `x-keel-event: {name, version}`. The generated payload types implement
//! [`ContractEvent`], so publishers and consumers agree on the name, the version
//! and the shape, and a consumer checks the contract's rules on what it receives.

use serde::Serialize;
use serde::de::DeserializeOwned;
use validator::Validate;

/// The payload of a domain event of the contract.
pub trait ContractEvent: Serialize + DeserializeOwned + Validate + Send + Sync + 'static {
    /// Dotted lower-case words, such as `user.registered`.
    const NAME: &'static str;
    /// A new version is a new event: consumers register per version, so a
    /// payload that would break them goes out under a version they do not take.
    const VERSION: u32;

    /// `{name}.v{version}`: the AMQP routing key, and the key consumers register under.
    fn key() -> EventKey {
        EventKey::new(Self::NAME, Self::VERSION)
    }
}

/// An event's name and version, written `{name}.v{version}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    pub name: String,
    pub version: u32,
}

impl EventKey {
    pub fn new(name: &str, version: u32) -> Self {
        EventKey {
            name: name.to_owned(),
            version,
        }
    }

    /// Reads `{name}.v{version}` back; `None` for anything else.
    pub fn parse(key: &str) -> Option<Self> {
        let (name, version) = key.rsplit_once(".v")?;
        let version = version.parse().ok().filter(|v| *v >= 1)?;
        (!name.is_empty()).then(|| EventKey::new(name, version))
    }
}

impl std::fmt::Display for EventKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.v{}", self.name, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_what_they_write() {
        let key = EventKey::new("user.registered", 2);
        assert_eq!(key.to_string(), "user.registered.v2");
        assert_eq!(EventKey::parse("user.registered.v2"), Some(key));
        assert_eq!(EventKey::parse("user.registered"), None);
        assert_eq!(EventKey::parse("user.registered.v0"), None);
        assert_eq!(EventKey::parse(".v1"), None);
    }
}
