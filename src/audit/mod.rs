//! The audit context: an append-only record of sensitive actions. Other contexts
//! write to it through the [`ports::AuditSink`] port; administrators read it
//! through the generated `AuditApi`.

pub mod adapter;
pub mod ports;
pub mod service;

pub use adapter::SeaOrmAuditLog;
pub use ports::{Action, AuditEvent, AuditSink};
pub use service::AuditService;
