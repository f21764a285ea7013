//! Value types every context shares (a shared kernel): pure, no IO, no
//! framework types. Anything here changes for all contexts at once, so it
//! holds only what they truly agree on.

pub mod ids;
pub mod money;
pub mod time;

pub use ids::Version;
pub(crate) use ids::entity_id;
pub use money::{Currency, Money, MoneyError};
pub use time::Timestamp;
