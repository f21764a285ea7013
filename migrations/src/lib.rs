//! Keel's database schema, as sea-orm migrations that run on PostgreSQL and SQLite.
//!
//! The server applies pending migrations at start; operators can apply them on
//! their own with `keel migrate`. One file per migration: sea-orm names a
//! migration after its file.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_users;
mod m20261125_000002_auth;
mod m20261125_000003_audit;
mod m20261125_000004_encrypted_phone;
mod m20261203_000005_events;
mod m20261203_000006_commerce;
mod m20261203_000007_outbox_claim_index;
mod m20261206_000008_change_notifications;
mod m20261206_000009_product_change_notifications;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_users::Migration),
            Box::new(m20261125_000002_auth::Migration),
            Box::new(m20261125_000003_audit::Migration),
            Box::new(m20261125_000004_encrypted_phone::Migration),
            Box::new(m20261203_000005_events::Migration),
            Box::new(m20261203_000006_commerce::Migration),
            Box::new(m20261203_000007_outbox_claim_index::Migration),
            Box::new(m20261206_000008_change_notifications::Migration),
            Box::new(m20261206_000009_product_change_notifications::Migration),
        ]
    }
}
