//! `ProductRepository` and the orders' `Inventory` on sea-orm.
//!
//! Stock changes are single conditional UPDATEs (`available >= n`), atomic on
//! both databases without explicit locks; an order's lines are reserved in a
//! savepoint so that a shortage on its third line undoes the first two.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::NotSet, ActiveValue::Set, QueryOrder, QuerySelect, TransactionTrait};

use crate::catalog::domain::{
    Description, Product, ProductId, ProductName, Stock, StockAdjustment, Version,
};
use crate::catalog::ports::{ListQuery, ProductRepository, StorageError, WriteError};
use crate::kernel::{Currency, Money, Timestamp};
use crate::orders::domain::PricedProduct;
use crate::orders::ports::{Inventory, Shortage};
use crate::platform::db::{Tx, contains_pattern};

mod products {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "products")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub name_lower: String,
        pub description: Option<String>,
        pub price_amount: i64,
        pub currency: String,
        pub available: i64,
        pub reserved: i64,
        pub version: i64,
        pub created_at_us: i64,
        pub updated_at_us: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

mod adjustments {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "stock_adjustments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub product_id: Uuid,
        pub delta: i64,
        pub reason: String,
        pub created_at_us: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use products::{Column, Entity};

#[derive(Clone)]
pub struct SeaOrmProducts {
    db: DatabaseConnection,
}

impl SeaOrmProducts {
    pub fn new(db: DatabaseConnection) -> Self {
        SeaOrmProducts { db }
    }
}

fn storage(error: DbErr) -> StorageError {
    StorageError::from(error)
}

fn to_row(product: &Product) -> products::ActiveModel {
    products::ActiveModel {
        id: Set(product.id.as_uuid()),
        name: Set(product.name.as_str().to_owned()),
        name_lower: Set(product.name.as_str().to_lowercase()),
        description: Set(product.description.as_ref().map(|d| d.as_str().to_owned())),
        price_amount: Set(product.price.minor()),
        currency: Set(product.price.currency().as_str().to_owned()),
        available: Set(units(product.stock.available)),
        reserved: Set(units(product.stock.reserved)),
        version: Set(product.version.get()),
        created_at_us: Set(product.created_at.micros()),
        updated_at_us: Set(product.updated_at.micros()),
    }
}

fn units(n: u64) -> i64 {
    i64::try_from(n).expect("stock is bounded far below i64::MAX")
}

/// A row that does not make a valid `Product` was written by something other
/// than this code; it is reported, never passed on.
fn from_row(row: products::Model) -> Result<Product, StorageError> {
    let corrupt = |what: &str| {
        StorageError(format!(
            "product {} has an invalid {what} in storage",
            row.id
        ))
    };
    let currency = Currency::parse(&row.currency).map_err(|_| corrupt("currency"))?;
    Ok(Product {
        id: ProductId::from(row.id),
        name: ProductName::parse(&row.name).map_err(|_| corrupt("name"))?,
        description: row
            .description
            .as_deref()
            .map(Description::parse)
            .transpose()
            .map_err(|_| corrupt("description"))?,
        price: Money::new(row.price_amount, currency).map_err(|_| corrupt("price"))?,
        stock: Stock {
            available: u64::try_from(row.available).map_err(|_| corrupt("stock"))?,
            reserved: u64::try_from(row.reserved).map_err(|_| corrupt("stock"))?,
        },
        version: Version::from_stored(row.version),
        created_at: Timestamp::from_micros(row.created_at_us).ok_or_else(|| corrupt("time"))?,
        updated_at: Timestamp::from_micros(row.updated_at_us).ok_or_else(|| corrupt("time"))?,
    })
}

async fn stock_of(db: &impl ConnectionTrait, id: ProductId) -> Result<Option<Stock>, StorageError> {
    Ok(Entity::find_by_id(id.as_uuid())
        .one(db)
        .await
        .map_err(storage)?
        .map(|row| Stock {
            available: u64::try_from(row.available).unwrap_or_default(),
            reserved: u64::try_from(row.reserved).unwrap_or_default(),
        }))
}

/// `available += a, reserved += r` where the result stays non-negative;
/// whether the row was changed.
async fn move_stock(
    db: &impl ConnectionTrait,
    id: ProductId,
    available: i64,
    reserved: i64,
) -> Result<bool, StorageError> {
    let mut update = Entity::update_many()
        .col_expr(
            Column::Available,
            Expr::col(Column::Available).add(available),
        )
        .col_expr(Column::Reserved, Expr::col(Column::Reserved).add(reserved))
        .filter(Column::Id.eq(id.as_uuid()));
    if available < 0 {
        update = update.filter(Column::Available.gte(-available));
    }
    if reserved < 0 {
        update = update.filter(Column::Reserved.gte(-reserved));
    }
    Ok(update.exec(db).await.map_err(storage)?.rows_affected == 1)
}

impl ProductRepository for SeaOrmProducts {
    async fn insert(&self, product: &Product) -> Result<(), StorageError> {
        Entity::insert(to_row(product))
            .exec_without_returning(&self.db)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn get(&self, id: ProductId) -> Result<Option<Product>, StorageError> {
        Entity::find_by_id(id.as_uuid())
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(from_row)
            .transpose()
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<Product>, StorageError> {
        let mut select = Entity::find();
        if let Some(after) = query.after {
            select = select.filter(Column::Id.gt(after.as_uuid()));
        }
        if let Some(text) = &query.name_contains {
            select = select.filter(Expr::col(Column::NameLower).like(contains_pattern(text)));
        }
        if let Some(currency) = query.currency {
            select = select.filter(Column::Currency.eq(currency.as_str()));
        }
        match query.in_stock {
            Some(true) => select = select.filter(Column::Available.gt(0)),
            Some(false) => select = select.filter(Column::Available.eq(0)),
            None => {}
        }
        select
            .order_by_asc(Column::Id)
            .limit(query.limit)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(from_row)
            .collect()
    }

    async fn update(&self, product: &Product, expected: Version) -> Result<(), WriteError> {
        let mut row = to_row(product);
        // Stock is not this operation's to write: orders move it concurrently.
        row.id = NotSet;
        row.available = NotSet;
        row.reserved = NotSet;
        row.created_at_us = NotSet;
        let result = Entity::update_many()
            .set(row)
            .filter(Column::Id.eq(product.id.as_uuid()))
            .filter(Column::Version.eq(expected.get()))
            .exec(&self.db)
            .await
            .map_err(storage)?;
        if result.rows_affected == 1 {
            Ok(())
        } else {
            Err(WriteError::Stale)
        }
    }

    async fn adjust(&self, tx: &Tx, adjustment: &StockAdjustment) -> Result<Stock, WriteError> {
        let db = tx.connection();
        if !move_stock(db, adjustment.product, adjustment.delta, 0).await? {
            return Err(match stock_of(db, adjustment.product).await? {
                None => WriteError::NotFound,
                Some(stock) => WriteError::Insufficient {
                    available: stock.available,
                },
            });
        }
        adjustments::Entity::insert(adjustments::ActiveModel {
            id: Set(adjustment.id),
            product_id: Set(adjustment.product.as_uuid()),
            delta: Set(adjustment.delta),
            reason: Set(adjustment.reason.clone()),
            created_at_us: Set(adjustment.at.micros()),
        })
        .exec_without_returning(db)
        .await
        .map_err(storage)?;
        stock_of(db, adjustment.product)
            .await?
            .ok_or(WriteError::NotFound)
    }
}

impl Inventory for SeaOrmProducts {
    async fn prices(&self, products: &[ProductId]) -> Result<Vec<PricedProduct>, StorageError> {
        let rows = Entity::find()
            .filter(Column::Id.is_in(products.iter().map(|p| p.as_uuid())))
            .all(&self.db)
            .await
            .map_err(storage)?;
        rows.into_iter()
            .map(|row| {
                let product = from_row(row)?;
                Ok(PricedProduct {
                    id: product.id,
                    name: product.name.as_str().to_owned(),
                    price: product.price,
                })
            })
            .collect()
    }

    async fn reserve(
        &self,
        tx: &Tx,
        lines: &[(ProductId, u32)],
    ) -> Result<Result<(), Shortage>, StorageError> {
        let savepoint = tx.connection().begin().await.map_err(storage)?;
        for &(product, quantity) in lines {
            let n = i64::from(quantity);
            if !move_stock(&savepoint, product, -n, n).await? {
                let available = stock_of(&savepoint, product)
                    .await?
                    .map_or(0, |s| s.available);
                savepoint.rollback().await.map_err(storage)?;
                return Ok(Err(Shortage {
                    product,
                    wanted: quantity,
                    available,
                }));
            }
        }
        savepoint.commit().await.map_err(storage)?;
        Ok(Ok(()))
    }

    async fn release(&self, tx: &Tx, lines: &[(ProductId, u32)]) -> Result<(), StorageError> {
        for &(product, quantity) in lines {
            let n = i64::from(quantity);
            if !move_stock(tx.connection(), product, n, -n).await? {
                return Err(StorageError(format!(
                    "releasing {quantity} reserved units of product {product}: fewer are reserved"
                )));
            }
        }
        Ok(())
    }

    async fn take(&self, tx: &Tx, lines: &[(ProductId, u32)]) -> Result<(), StorageError> {
        for &(product, quantity) in lines {
            if !move_stock(tx.connection(), product, 0, -i64::from(quantity)).await? {
                return Err(StorageError(format!(
                    "taking {quantity} reserved units of product {product}: fewer are reserved"
                )));
            }
        }
        Ok(())
    }

    async fn restock(&self, tx: &Tx, lines: &[(ProductId, u32)]) -> Result<(), StorageError> {
        for &(product, quantity) in lines {
            if !move_stock(tx.connection(), product, i64::from(quantity), 0).await? {
                return Err(StorageError(format!("product {product} is gone")));
            }
        }
        Ok(())
    }
}
