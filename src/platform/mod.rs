//! What the bounded contexts share: configuration, the database and its unit of
//! work, the event pipeline, the HTTP edge, logging and trace context, and the
//! problem+json vocabulary.

pub mod change_feed;
pub mod conditional;
pub mod config;
pub mod crypto;
pub mod cursor;
pub mod db;
pub mod db_health;
pub mod dto;
pub mod events;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod key_dir;
pub mod metrics;
pub mod problem;
pub mod row_cache;
pub mod serve;
pub mod telemetry;
pub mod trace;
