//! The event pipeline: the transactional outbox (events written with the state
//! change that caused them, published later by the relay), the consumers' inbox
//! (event ids already processed, so a redelivery has no second effect), the dead
//! letters of the in-process bus, and the notifications context's table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // `seq` orders events per aggregate; sea-query cannot spell an
        // auto-incrementing 64-bit key that SQLite accepts, so the one table is
        // written per backend.
        let seq = match manager.get_database_backend() {
            DbBackend::Postgres => "seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            _ => "seq INTEGER PRIMARY KEY AUTOINCREMENT",
        };
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE TABLE IF NOT EXISTS outbox_events ( \
               {seq}, \
               id UUID NOT NULL UNIQUE, \
               aggregate_type VARCHAR(40) NOT NULL, \
               aggregate_id VARCHAR(100) NOT NULL, \
               event_name VARCHAR(100) NOT NULL, \
               event_version INTEGER NOT NULL, \
               payload TEXT NOT NULL, \
               traceparent VARCHAR(100), \
               created_at_us BIGINT NOT NULL, \
               attempts INTEGER NOT NULL DEFAULT 0, \
               last_error TEXT, \
               published_at_us BIGINT)"
        ))
        .await?;
        // The relay reads only unpublished rows, and per aggregate only the
        // oldest: a partial index keeps that cheap however many rows are kept.
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS outbox_events_pending \
             ON outbox_events (aggregate_type, aggregate_id, seq) WHERE published_at_us IS NULL",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS outbox_events_published \
             ON outbox_events (published_at_us) WHERE published_at_us IS NOT NULL",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(EventInbox::Table)
                    .if_not_exists()
                    .col(string_len(EventInbox::Consumer, 100))
                    .col(uuid(EventInbox::EventId))
                    .col(string_len(EventInbox::EventKey, 120))
                    .col(string_len_null(EventInbox::Traceparent, 100))
                    .col(big_integer(EventInbox::ProcessedAtUs))
                    .primary_key(
                        Index::create()
                            .col(EventInbox::Consumer)
                            .col(EventInbox::EventId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EventDeadLetters::Table)
                    .if_not_exists()
                    .col(uuid(EventDeadLetters::Id).primary_key())
                    .col(string_len(EventDeadLetters::Consumer, 100))
                    .col(uuid(EventDeadLetters::EventId))
                    .col(string_len(EventDeadLetters::EventKey, 120))
                    .col(text(EventDeadLetters::Payload))
                    .col(text(EventDeadLetters::Reason))
                    .col(integer(EventDeadLetters::Attempts))
                    .col(big_integer(EventDeadLetters::DeadAtUs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .if_not_exists()
                    .col(uuid(Notifications::Id).primary_key())
                    .col(uuid(Notifications::UserId))
                    .col(string_len(Notifications::Kind, 40))
                    .col(string_len(Notifications::Subject, 200))
                    .col(text(Notifications::Body))
                    .col(big_integer(Notifications::CreatedAtUs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notifications_by_user")
                    .table(Notifications::Table)
                    .col(Notifications::UserId)
                    .col(Notifications::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "notifications",
            "event_dead_letters",
            "event_inbox",
            "outbox_events",
        ] {
            manager
                .get_connection()
                .execute_unprepared(&format!("DROP TABLE IF EXISTS {table}"))
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum EventInbox {
    Table,
    Consumer,
    EventId,
    EventKey,
    Traceparent,
    ProcessedAtUs,
}

#[derive(DeriveIden)]
enum EventDeadLetters {
    Table,
    Id,
    Consumer,
    EventId,
    EventKey,
    Payload,
    Reason,
    Attempts,
    DeadAtUs,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Kind,
    Subject,
    Body,
    CreatedAtUs,
}
