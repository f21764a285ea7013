//! Ids and versions of the things contexts store.

/// A UUIDv7 id newtype: ids sort in creation order, and one context's id
/// cannot be passed where another's is meant.
macro_rules! entity_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(uuid::Uuid);

        impl $name {
            pub fn new() -> Self {
                $name(uuid::Uuid::now_v7())
            }

            pub fn as_uuid(self) -> uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                $name(id)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

pub(crate) use entity_id;

/// How many times a thing has been written; the basis of its ETag and of
/// optimistic concurrency (`UPDATE … WHERE version = ?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(i64);

impl Version {
    pub const FIRST: Version = Version(1);

    pub fn from_stored(value: i64) -> Self {
        Version(value)
    }

    pub fn next(self) -> Self {
        Version(self.0 + 1)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}
