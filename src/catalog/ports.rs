//! What the catalog needs from the outside world.

use std::future::Future;

use super::domain::{Product, ProductId, Stock, StockAdjustment, Version};
use crate::kernel::Currency;
pub use crate::platform::db::StorageError;
use crate::platform::db::Tx;

#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    #[error("the product was changed since it was read")]
    Stale,
    #[error("no such product")]
    NotFound,
    #[error("only {available} units are available")]
    Insufficient { available: u64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One page of the catalog, in id (= creation) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub after: Option<ProductId>,
    pub limit: u64,
    /// Lower-case text the name must contain.
    pub name_contains: Option<String>,
    pub currency: Option<Currency>,
    pub in_stock: Option<bool>,
}

pub trait ProductRepository: Send + Sync + 'static {
    fn insert(&self, product: &Product) -> impl Future<Output = Result<(), StorageError>> + Send;

    fn get(
        &self,
        id: ProductId,
    ) -> impl Future<Output = Result<Option<Product>, StorageError>> + Send;

    fn list(
        &self,
        query: &ListQuery,
    ) -> impl Future<Output = Result<Vec<Product>, StorageError>> + Send;

    /// Stores name, description and price if the version is still `expected`.
    fn update(
        &self,
        product: &Product,
        expected: Version,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// Applies and records the adjustment in `tx`, unless it would take
    /// available stock below zero; returns the stock after it.
    fn adjust(
        &self,
        tx: &Tx,
        adjustment: &StockAdjustment,
    ) -> impl Future<Output = Result<Stock, WriteError>> + Send;
}
