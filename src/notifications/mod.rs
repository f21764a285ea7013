//! The notifications context: messages sent to users (a welcome on
//! registration), written by event consumers and readable over the API.

pub mod adapters;
pub mod domain;
pub mod ports;
pub mod service;

pub use service::{NotificationsService, WelcomeOnRegistration};

/// The consumer name: its queue, inbox entries and metrics carry it.
pub const CONSUMER: &str = "notifications";
