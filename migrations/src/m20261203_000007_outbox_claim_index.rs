//! The relay's claim reads unpublished events in `seq` order. Without an index
//! of only those, PostgreSQL walks the primary key through every published row
//! still kept (7 days by default): 0.3 s per round with 300,000 kept rows, 1 ms
//! with this index (`cargo xtask bench`, ADR 18).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Partial indexes: both PostgreSQL and SQLite take this statement.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS outbox_events_unpublished \
                 ON outbox_events (seq) WHERE published_at_us IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS outbox_events_unpublished")
            .await?;
        Ok(())
    }
}
