//! `PaymentStore` on sea-orm.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, QueryOrder};

use crate::kernel::{Currency, Money, Timestamp};
use crate::orders::domain::OrderId;
use crate::payments::domain::{Payment, PaymentId, Refund, RefundStatus};
use crate::payments::ports::{PaymentStore, Settlement, StorageError};
use crate::platform::db::Tx;

mod payments {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub order_id: Uuid,
        pub user_id: Uuid,
        pub amount: i64,
        pub currency: String,
        pub refunded: i64,
        pub gateway_charge_id: String,
        pub created_at_us: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

mod refunds {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refunds")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub payment_id: Uuid,
        pub amount: i64,
        pub reason: String,
        pub status: String,
        pub gateway_refund_id: Option<String>,
        pub failure_reason: Option<String>,
        pub created_at_us: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(Clone)]
pub struct SeaOrmPayments {
    db: DatabaseConnection,
}

impl SeaOrmPayments {
    pub fn new(db: DatabaseConnection) -> Self {
        SeaOrmPayments { db }
    }
}

fn storage(error: DbErr) -> StorageError {
    StorageError(error.to_string())
}

fn payment_from_row(row: payments::Model) -> Result<Payment, StorageError> {
    let corrupt = |what: &str| {
        StorageError(format!(
            "payment {} has an invalid {what} in storage",
            row.id
        ))
    };
    let currency = Currency::parse(&row.currency).map_err(|_| corrupt("currency"))?;
    Ok(Payment {
        id: PaymentId::from(row.id),
        order: OrderId::from(row.order_id),
        customer: row.user_id,
        amount: Money::new(row.amount, currency).map_err(|_| corrupt("amount"))?,
        refunded: Money::new(row.refunded, currency).map_err(|_| corrupt("refunded amount"))?,
        reference: row.gateway_charge_id,
        created_at: Timestamp::from_micros(row.created_at_us).ok_or_else(|| corrupt("time"))?,
    })
}

fn refund_from_row(row: refunds::Model, currency: Currency) -> Result<Refund, StorageError> {
    let corrupt = |what: &str| {
        StorageError(format!(
            "refund {} has an invalid {what} in storage",
            row.id
        ))
    };
    Ok(Refund {
        id: row.id,
        payment: PaymentId::from(row.payment_id),
        amount: Money::new(row.amount, currency).map_err(|_| corrupt("amount"))?,
        reason: row.reason,
        status: RefundStatus::parse(&row.status).ok_or_else(|| corrupt("status"))?,
        created_at: Timestamp::from_micros(row.created_at_us).ok_or_else(|| corrupt("time"))?,
    })
}

async fn find(db: &impl ConnectionTrait, id: PaymentId) -> Result<Option<Payment>, StorageError> {
    payments::Entity::find_by_id(id.as_uuid())
        .one(db)
        .await
        .map_err(storage)?
        .map(payment_from_row)
        .transpose()
}

impl PaymentStore for SeaOrmPayments {
    async fn record(&self, tx: &Tx, payment: &Payment) -> Result<Payment, StorageError> {
        let db = tx.connection();
        let row = payments::ActiveModel {
            id: Set(payment.id.as_uuid()),
            order_id: Set(payment.order.as_uuid()),
            user_id: Set(payment.customer),
            amount: Set(payment.amount.minor()),
            currency: Set(payment.amount.currency().as_str().to_owned()),
            refunded: Set(payment.refunded.minor()),
            gateway_charge_id: Set(payment.reference.clone()),
            created_at_us: Set(payment.created_at.micros()),
        };
        payments::Entity::insert(row)
            .on_conflict(
                OnConflict::column(payments::Column::OrderId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await
            .map_err(storage)?;
        self.of_order(tx, payment.order)
            .await?
            .ok_or_else(|| StorageError("the payment just recorded is missing".into()))
    }

    async fn get(&self, id: PaymentId) -> Result<Option<Payment>, StorageError> {
        find(&self.db, id).await
    }

    async fn get_in(&self, tx: &Tx, id: PaymentId) -> Result<Option<Payment>, StorageError> {
        find(tx.connection(), id).await
    }

    async fn of_order(&self, tx: &Tx, order: OrderId) -> Result<Option<Payment>, StorageError> {
        payments::Entity::find()
            .filter(payments::Column::OrderId.eq(order.as_uuid()))
            .one(tx.connection())
            .await
            .map_err(storage)?
            .map(payment_from_row)
            .transpose()
    }

    async fn refunds(&self, payment: PaymentId) -> Result<Vec<Refund>, StorageError> {
        let Some(found) = find(&self.db, payment).await? else {
            return Ok(Vec::new());
        };
        refunds::Entity::find()
            .filter(refunds::Column::PaymentId.eq(payment.as_uuid()))
            .order_by_asc(refunds::Column::Id)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(|row| refund_from_row(row, found.amount.currency()))
            .collect()
    }

    async fn refund(&self, id: Uuid) -> Result<Option<Refund>, StorageError> {
        let Some(row) = refunds::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(storage)?
        else {
            return Ok(None);
        };
        let payment = find(&self.db, PaymentId::from(row.payment_id))
            .await?
            .ok_or_else(|| StorageError(format!("refund {id} has no payment")))?;
        refund_from_row(row, payment.amount.currency()).map(Some)
    }

    async fn add_refund(&self, tx: &Tx, refund: &Refund) -> Result<bool, StorageError> {
        let db = tx.connection();
        let amount = refund.amount.minor();
        let taken = payments::Entity::update_many()
            .col_expr(
                payments::Column::Refunded,
                Expr::col(payments::Column::Refunded).add(amount),
            )
            .filter(payments::Column::Id.eq(refund.payment.as_uuid()))
            .filter(
                Expr::col(payments::Column::Refunded)
                    .add(amount)
                    .lte(Expr::col(payments::Column::Amount)),
            )
            .exec(db)
            .await
            .map_err(storage)?;
        if taken.rows_affected != 1 {
            return Ok(false);
        }
        refunds::Entity::insert(refunds::ActiveModel {
            id: Set(refund.id),
            payment_id: Set(refund.payment.as_uuid()),
            amount: Set(amount),
            reason: Set(refund.reason.clone()),
            status: Set(refund.status.as_str().to_owned()),
            gateway_refund_id: Set(None),
            failure_reason: Set(None),
            created_at_us: Set(refund.created_at.micros()),
        })
        .exec_without_returning(db)
        .await
        .map_err(storage)?;
        Ok(true)
    }

    async fn settle_refund(
        &self,
        tx: &Tx,
        refund: &Refund,
        settlement: &Settlement,
    ) -> Result<bool, StorageError> {
        let db = tx.connection();
        let status = settlement.status();
        let (reference, reason) = match settlement {
            Settlement::Succeeded { reference } => (Some(reference.clone()), None),
            Settlement::Failed { reason } => (None, Some(reason.clone())),
        };
        let settled = refunds::Entity::update_many()
            .col_expr(refunds::Column::Status, Expr::value(status.as_str()))
            .col_expr(refunds::Column::GatewayRefundId, Expr::value(reference))
            .col_expr(refunds::Column::FailureReason, Expr::value(reason))
            .filter(refunds::Column::Id.eq(refund.id))
            .filter(refunds::Column::Status.eq(RefundStatus::Pending.as_str()))
            .exec(db)
            .await
            .map_err(storage)?;
        if settled.rows_affected != 1 {
            return Ok(false);
        }
        if status == RefundStatus::Failed {
            payments::Entity::update_many()
                .col_expr(
                    payments::Column::Refunded,
                    Expr::col(payments::Column::Refunded).sub(refund.amount.minor()),
                )
                .filter(payments::Column::Id.eq(refund.payment.as_uuid()))
                .exec(db)
                .await
                .map_err(storage)?;
        }
        Ok(true)
    }
}
