//! The users context: accounts with an email address and a display name.

pub mod adapters;
pub mod domain;
pub mod ports;
pub mod registration;
pub mod service;

pub use service::UsersService;
