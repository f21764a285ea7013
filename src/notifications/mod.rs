//! The notifications context: messages sent to users (a welcome on
//! registration), written by event consumers, readable over the API, and
//! erased when the user is deleted.

pub mod adapters;
pub mod domain;
pub mod ports;
pub mod service;

pub use service::{EraseOnDeletion, NotificationsService, OrderNews, WelcomeOnRegistration};

/// The consumer name: its queue, inbox entries and metrics carry it.
pub const CONSUMER: &str = "notifications";
