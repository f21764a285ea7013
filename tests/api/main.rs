//! Black-box tests: each starts the real server on a random port over a fresh
//! database and drives it over HTTP. `cargo xtask test` runs them on SQLite and,
//! when one is reachable, on PostgreSQL.

mod auth;
mod commerce;
mod crash;
mod docs;
mod errors;
mod logs;
mod matrix;
mod metrics;
mod notifications;
mod read_cache;
mod shutdown;
mod startup;
mod support;
mod users;
