//! Row-change notifications for the prices cache (ADR 20): on PostgreSQL, a
//! change of a product's name, price or currency, or its deletion, sends
//! `NOTIFY keel_row_changed, 'products:<id>'` (the function of the previous
//! migration). Stock moves with every order and is never cached, so its
//! updates (which set no such column) notify nobody.

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
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TRIGGER products_notify_changed \
                 AFTER UPDATE OF name, price_amount, currency OR DELETE ON products \
                 FOR EACH ROW EXECUTE FUNCTION keel_notify_row_changed()",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared("DROP TRIGGER IF EXISTS products_notify_changed ON products")
            .await?;
        Ok(())
    }
}
