//! Users. Timestamps are microseconds since the Unix epoch in a BIGINT: the same
//! exact, sortable value on PostgreSQL and SQLite (where a text timestamp of varying
//! precision would sort wrongly). See docs/adr/0004-storage-portable-columns.md.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(uuid(Users::Id).primary_key())
                    .col(string_len(Users::Email, 254).unique_key())
                    .col(string_len(Users::DisplayName, 100))
                    .col(string_len_null(Users::AvatarUrl, 2048))
                    .col(big_integer(Users::CreatedAtUs))
                    .col(big_integer(Users::UpdatedAtUs))
                    .col(big_integer(Users::Version))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("users_created_at_us")
                    .table(Users::Table)
                    .col(Users::CreatedAtUs)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    DisplayName,
    AvatarUrl,
    CreatedAtUs,
    UpdatedAtUs,
    Version,
}
