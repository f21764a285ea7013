//! `OrderRepository` on sea-orm: the order row is the saga's state; its lines
//! are written once, when the order is placed.

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryOrder, QuerySelect, QueryTrait};

use crate::catalog::domain::ProductId;
use crate::kernel::{Currency, Money, Timestamp};
use crate::orders::domain::{Item, Order, OrderId, PaymentToken, Status, Version};
use crate::orders::ports::{ListQuery, OrderRepository, StorageError, WriteError};
use crate::platform::db::{Inserts, Tx};

mod orders {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "orders")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub status: String,
        pub total_amount: i64,
        pub currency: String,
        pub payment_token: String,
        pub payment_id: Option<Uuid>,
        pub failure_reason: Option<String>,
        pub version: i64,
        pub created_at_us: i64,
        pub updated_at_us: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

mod items {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_items")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub line: i32,
        pub product_id: Uuid,
        pub name: String,
        pub quantity: i64,
        pub unit_amount: i64,
        pub line_amount: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(Clone)]
pub struct SeaOrmOrders {
    db: DatabaseConnection,
}

impl SeaOrmOrders {
    pub fn new(db: DatabaseConnection) -> Self {
        SeaOrmOrders { db }
    }

    async fn load(
        &self,
        db: &impl ConnectionTrait,
        rows: Vec<orders::Model>,
    ) -> Result<Vec<Order>, StorageError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut lines = items::Entity::find()
            .filter(items::Column::OrderId.is_in(ids))
            .order_by_asc(items::Column::OrderId)
            .order_by_asc(items::Column::Line)
            .all(db)
            .await
            .map_err(storage)?;
        rows.into_iter()
            .map(|row| {
                let (mine, rest): (Vec<_>, Vec<_>) =
                    lines.drain(..).partition(|l| l.order_id == row.id);
                lines = rest;
                from_rows(row, mine)
            })
            .collect()
    }
}

fn storage(error: DbErr) -> StorageError {
    StorageError::from(error)
}

fn state(order: &Order) -> orders::ActiveModel {
    orders::ActiveModel {
        id: Set(order.id.as_uuid()),
        user_id: Set(order.customer),
        status: Set(order.status.as_str().to_owned()),
        total_amount: Set(order.total.minor()),
        currency: Set(order.total.currency().as_str().to_owned()),
        payment_token: Set(order.payment_token.as_str().to_owned()),
        payment_id: Set(order.payment),
        failure_reason: Set(order.failure_reason.clone()),
        version: Set(order.version.get()),
        created_at_us: Set(order.created_at.micros()),
        updated_at_us: Set(order.updated_at.micros()),
    }
}

fn from_rows(row: orders::Model, lines: Vec<items::Model>) -> Result<Order, StorageError> {
    let corrupt =
        |what: &str| StorageError(format!("order {} has an invalid {what} in storage", row.id));
    let currency = Currency::parse(&row.currency).map_err(|_| corrupt("currency"))?;
    let money = |minor: i64| Money::new(minor, currency).map_err(|_| corrupt("amount"));
    let items = lines
        .into_iter()
        .map(|line| {
            Ok(Item {
                product: ProductId::from(line.product_id),
                name: line.name,
                quantity: u32::try_from(line.quantity).map_err(|_| corrupt("quantity"))?,
                unit_price: money(line.unit_amount)?,
                line_total: money(line.line_amount)?,
            })
        })
        .collect::<Result<_, StorageError>>()?;
    Ok(Order {
        id: OrderId::from(row.id),
        customer: row.user_id,
        status: Status::parse(&row.status).ok_or_else(|| corrupt("status"))?,
        items,
        total: money(row.total_amount)?,
        payment_token: PaymentToken::parse(&row.payment_token)
            .ok_or_else(|| corrupt("payment token"))?,
        payment: row.payment_id,
        failure_reason: row.failure_reason,
        version: Version::from_stored(row.version),
        created_at: Timestamp::from_micros(row.created_at_us).ok_or_else(|| corrupt("time"))?,
        updated_at: Timestamp::from_micros(row.updated_at_us).ok_or_else(|| corrupt("time"))?,
    })
}

impl OrderRepository for SeaOrmOrders {
    fn stage(&self, order: &Order, inserts: &mut Inserts) {
        let lines = order
            .items
            .iter()
            .enumerate()
            .map(|(n, item)| items::ActiveModel {
                order_id: Set(order.id.as_uuid()),
                line: Set(i32::try_from(n).expect("at most 100 lines")),
                product_id: Set(item.product.as_uuid()),
                name: Set(item.name.clone()),
                quantity: Set(i64::from(item.quantity)),
                unit_amount: Set(item.unit_price.minor()),
                line_amount: Set(item.line_total.minor()),
            });
        inserts.push(orders::Entity::insert(state(order)).into_query());
        inserts.push(items::Entity::insert_many(lines).into_query());
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>, StorageError> {
        let row = orders::Entity::find_by_id(id.as_uuid())
            .one(&self.db)
            .await
            .map_err(storage)?;
        Ok(self.load(&self.db, row.into_iter().collect()).await?.pop())
    }

    async fn get_in(&self, tx: &Tx, id: OrderId) -> Result<Option<Order>, StorageError> {
        let row = orders::Entity::find_by_id(id.as_uuid())
            .one(tx.connection())
            .await
            .map_err(storage)?;
        Ok(self
            .load(tx.connection(), row.into_iter().collect())
            .await?
            .pop())
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<Order>, StorageError> {
        let mut select = orders::Entity::find();
        if let Some(customer) = query.customer {
            select = select.filter(orders::Column::UserId.eq(customer));
        }
        if let Some(status) = query.status {
            select = select.filter(orders::Column::Status.eq(status.as_str()));
        }
        if let Some(before) = query.before {
            select = select.filter(orders::Column::Id.lt(before.as_uuid()));
        }
        let rows = select
            .order_by_desc(orders::Column::Id)
            .limit(query.limit)
            .all(&self.db)
            .await
            .map_err(storage)?;
        self.load(&self.db, rows).await
    }

    async fn update(&self, tx: &Tx, order: &Order, expected: Version) -> Result<(), WriteError> {
        let result = orders::Entity::update_many()
            .col_expr(orders::Column::Status, Expr::value(order.status.as_str()))
            .col_expr(orders::Column::PaymentId, Expr::value(order.payment))
            .col_expr(
                orders::Column::FailureReason,
                Expr::value(order.failure_reason.clone()),
            )
            .col_expr(orders::Column::Version, Expr::value(order.version.get()))
            .col_expr(
                orders::Column::UpdatedAtUs,
                Expr::value(order.updated_at.micros()),
            )
            .filter(orders::Column::Id.eq(order.id.as_uuid()))
            .filter(orders::Column::Version.eq(expected.get()))
            .exec(tx.connection())
            .await
            .map_err(storage)?;
        if result.rows_affected == 1 {
            Ok(())
        } else {
            Err(WriteError::Stale)
        }
    }
}
