//! Row-change notifications for the read caches (ADR 20): on PostgreSQL, every
//! update or delete of a `users` row sends `NOTIFY keel_row_changed,
//! 'users:<id>'`, whoever runs it (another replica, an operator in `psql`, a
//! later migration), delivered when its transaction commits. SQLite has no
//! channel between processes; there the caches stay off and this does nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION keel_notify_row_changed() RETURNS trigger \
             LANGUAGE plpgsql AS $$ \
             BEGIN \
               PERFORM pg_notify('keel_row_changed', TG_TABLE_NAME || ':' || OLD.id::text); \
               RETURN NULL; \
             END $$",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER users_notify_changed AFTER UPDATE OR DELETE ON users \
             FOR EACH ROW EXECUTE FUNCTION keel_notify_row_changed()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS users_notify_changed ON users")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS keel_notify_row_changed()")
            .await?;
        Ok(())
    }
}
