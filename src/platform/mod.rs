//! What the bounded contexts share: configuration, the database, the HTTP edge,
//! logging, and the problem+json vocabulary.

pub mod config;
pub mod crypto;
pub mod cursor;
pub mod db;
pub mod http;
pub mod key_dir;
pub mod problem;
pub mod telemetry;
