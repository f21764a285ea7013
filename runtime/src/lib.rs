//! Support code for the crates that `cargo xtask codegen` writes.
//!
//! Generated code stays readable because the machinery it needs lives here, written
//! once by hand: the three-state [`Tristate`] for optional nullable fields and, behind
//! the `server` feature, the glue between poem-openapi and the generated handler traits
//! (request context, JSON bodies checked by serde and `validator`, problem+json errors).

mod bytes;
mod event;
pub mod media;
pub mod multipart;
mod param;
mod tagged;
mod tristate;
pub mod validate;

#[cfg(feature = "server")]
pub mod server;

#[cfg(feature = "client")]
pub mod client;

pub use bytes::Base64;
pub use event::{ContractEvent, EventKey};
pub use media::JsonOrBytes;
pub use multipart::File;
pub use param::ToParam;
pub use tagged::serialize_tagged;
pub use tristate::{Tristate, non_null};
