//! The commerce contexts: the catalog (products, their stock and its
//! adjustments), orders and their lines (the order row is the saga's state),
//! payments and refunds, the stored responses behind `Idempotency-Key`, and the
//! built-in test payment provider's own record of charges.
//!
//! Stock and refunds carry CHECK constraints as well as the conditional
//! updates that keep them in range: a bug in a query then fails loudly instead
//! of selling stock that is not there or refunding money that was not taken.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .if_not_exists()
                    .col(uuid(Products::Id).primary_key())
                    .col(string_len(Products::Name, 200))
                    // Lower-cased copy for case-insensitive search on both databases.
                    .col(string_len(Products::NameLower, 200))
                    .col(text_null(Products::Description))
                    .col(
                        big_integer(Products::PriceAmount)
                            .check(Expr::col(Products::PriceAmount).gte(0)),
                    )
                    .col(string_len(Products::Currency, 3))
                    .col(
                        big_integer(Products::Available)
                            .check(Expr::col(Products::Available).gte(0)),
                    )
                    .col(
                        big_integer(Products::Reserved).check(Expr::col(Products::Reserved).gte(0)),
                    )
                    .col(big_integer(Products::Version))
                    .col(big_integer(Products::CreatedAtUs))
                    .col(big_integer(Products::UpdatedAtUs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StockAdjustments::Table)
                    .if_not_exists()
                    .col(uuid(StockAdjustments::Id).primary_key())
                    .col(uuid(StockAdjustments::ProductId))
                    .col(big_integer(StockAdjustments::Delta))
                    .col(text(StockAdjustments::Reason))
                    .col(big_integer(StockAdjustments::CreatedAtUs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .if_not_exists()
                    .col(uuid(Orders::Id).primary_key())
                    .col(uuid(Orders::UserId))
                    .col(string_len(Orders::Status, 20))
                    .col(big_integer(Orders::TotalAmount))
                    .col(string_len(Orders::Currency, 3))
                    .col(string_len(Orders::PaymentToken, 120))
                    .col(uuid_null(Orders::PaymentId))
                    .col(text_null(Orders::FailureReason))
                    .col(big_integer(Orders::Version))
                    .col(big_integer(Orders::CreatedAtUs))
                    .col(big_integer(Orders::UpdatedAtUs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("orders_by_user")
                    .table(Orders::Table)
                    .col(Orders::UserId)
                    .col(Orders::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrderItems::Table)
                    .if_not_exists()
                    .col(uuid(OrderItems::OrderId))
                    .col(integer(OrderItems::Line))
                    .col(uuid(OrderItems::ProductId))
                    .col(string_len(OrderItems::Name, 200))
                    .col(
                        big_integer(OrderItems::Quantity)
                            .check(Expr::col(OrderItems::Quantity).gt(0)),
                    )
                    .col(big_integer(OrderItems::UnitAmount))
                    .col(big_integer(OrderItems::LineAmount))
                    .primary_key(
                        Index::create()
                            .col(OrderItems::OrderId)
                            .col(OrderItems::Line),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .if_not_exists()
                    .col(uuid(Payments::Id).primary_key())
                    // One payment per order, whatever retries happen.
                    .col(uuid(Payments::OrderId).unique_key())
                    .col(uuid(Payments::UserId))
                    .col(big_integer(Payments::Amount).check(Expr::col(Payments::Amount).gte(0)))
                    .col(string_len(Payments::Currency, 3))
                    .col(
                        big_integer(Payments::Refunded)
                            .check(Expr::col(Payments::Refunded).gte(0))
                            .check(Expr::col(Payments::Refunded).lte(Expr::col(Payments::Amount))),
                    )
                    .col(string_len(Payments::GatewayChargeId, 100))
                    .col(big_integer(Payments::CreatedAtUs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Refunds::Table)
                    .if_not_exists()
                    .col(uuid(Refunds::Id).primary_key())
                    .col(uuid(Refunds::PaymentId))
                    .col(big_integer(Refunds::Amount).check(Expr::col(Refunds::Amount).gt(0)))
                    .col(text(Refunds::Reason))
                    .col(string_len(Refunds::Status, 20))
                    .col(string_len_null(Refunds::GatewayRefundId, 100))
                    .col(text_null(Refunds::FailureReason))
                    .col(big_integer(Refunds::CreatedAtUs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("refunds_by_payment")
                    .table(Refunds::Table)
                    .col(Refunds::PaymentId)
                    .col(Refunds::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .if_not_exists()
                    .col(uuid(IdempotencyKeys::Principal))
                    .col(string_len(IdempotencyKeys::Key, 255))
                    .col(string_len(IdempotencyKeys::RequestHash, 64))
                    .col(integer(IdempotencyKeys::Status))
                    .col(text(IdempotencyKeys::Headers))
                    .col(text(IdempotencyKeys::Body))
                    .col(big_integer(IdempotencyKeys::CreatedAtUs))
                    .col(big_integer(IdempotencyKeys::ExpiresAtUs))
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::Principal)
                            .col(IdempotencyKeys::Key),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idempotency_keys_expiry")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::ExpiresAtUs)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TestGatewayOperations::Table)
                    .if_not_exists()
                    .col(string_len(TestGatewayOperations::IdempotencyKey, 200).primary_key())
                    .col(string_len(TestGatewayOperations::Kind, 10))
                    .col(string_len(TestGatewayOperations::Outcome, 20))
                    .col(string_len(TestGatewayOperations::Reference, 100))
                    .col(big_integer(TestGatewayOperations::Amount))
                    .col(string_len(TestGatewayOperations::Currency, 3))
                    .col(integer(TestGatewayOperations::Attempts))
                    .col(big_integer(TestGatewayOperations::CreatedAtUs))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "test_gateway_operations",
            "idempotency_keys",
            "refunds",
            "payments",
            "order_items",
            "orders",
            "stock_adjustments",
            "products",
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
enum Products {
    Table,
    Id,
    Name,
    NameLower,
    Description,
    PriceAmount,
    Currency,
    Available,
    Reserved,
    Version,
    CreatedAtUs,
    UpdatedAtUs,
}

#[derive(DeriveIden)]
enum StockAdjustments {
    Table,
    Id,
    ProductId,
    Delta,
    Reason,
    CreatedAtUs,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    UserId,
    Status,
    TotalAmount,
    Currency,
    PaymentToken,
    PaymentId,
    FailureReason,
    Version,
    CreatedAtUs,
    UpdatedAtUs,
}

#[derive(DeriveIden)]
enum OrderItems {
    Table,
    OrderId,
    Line,
    ProductId,
    Name,
    Quantity,
    UnitAmount,
    LineAmount,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    OrderId,
    UserId,
    Amount,
    Currency,
    Refunded,
    GatewayChargeId,
    CreatedAtUs,
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    PaymentId,
    Amount,
    Reason,
    Status,
    GatewayRefundId,
    FailureReason,
    CreatedAtUs,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Principal,
    Key,
    RequestHash,
    Status,
    Headers,
    Body,
    CreatedAtUs,
    ExpiresAtUs,
}

#[derive(DeriveIden)]
enum TestGatewayOperations {
    Table,
    IdempotencyKey,
    Kind,
    Outcome,
    Reference,
    Amount,
    Currency,
    Attempts,
    CreatedAtUs,
}
