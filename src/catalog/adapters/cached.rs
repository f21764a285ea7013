//! `SeaOrmProducts` with a read cache in front of `Inventory::prices` (ADR 20):
//! every order reads its products' names and prices, which change rarely,
//! while their stock changes with every order and is never cached. As for
//! users, the cache is correct across replicas only while the database's
//! change feed is live (PostgreSQL, on a change of name, price or currency);
//! otherwise every read goes through.

use std::sync::Arc;

use crate::catalog::domain::{Product, ProductId, Stock, StockAdjustment, Version};
use crate::catalog::ports::{ListQuery, ProductRepository, StorageError, WriteError};
use crate::orders::domain::PricedProduct;
use crate::orders::ports::{Inventory, Shortage};
use crate::platform::db::Tx;
use crate::platform::row_cache::RowCache;

pub struct CachedProducts<R> {
    inner: R,
    cache: Arc<RowCache<PricedProduct>>,
}

impl<R> CachedProducts<R> {
    pub fn new(inner: R, cache: Arc<RowCache<PricedProduct>>) -> Self {
        CachedProducts { inner, cache }
    }
}

impl<R: ProductRepository> ProductRepository for CachedProducts<R> {
    async fn insert(&self, product: &Product) -> Result<(), StorageError> {
        // A new id: nothing cached to drop (misses are never cached).
        self.inner.insert(product).await
    }

    async fn get(&self, id: ProductId) -> Result<Option<Product>, StorageError> {
        self.inner.get(id).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<Product>, StorageError> {
        self.inner.list(query).await
    }

    async fn update(&self, product: &Product, expected: Version) -> Result<(), WriteError> {
        let outcome = self.inner.update(product, expected).await;
        // As for users: the change feed says so too, a moment later; this
        // makes the writer's own next order see its new price.
        self.cache.invalidate(product.id.as_uuid());
        outcome
    }

    async fn adjust(&self, tx: &Tx, adjustment: &StockAdjustment) -> Result<Stock, WriteError> {
        self.inner.adjust(tx, adjustment).await
    }
}

impl<R: Inventory> Inventory for CachedProducts<R> {
    async fn prices(&self, products: &[ProductId]) -> Result<Vec<PricedProduct>, StorageError> {
        let mut found = Vec::with_capacity(products.len());
        let mut missing = Vec::new();
        for &id in products {
            match self.cache.get(id.as_uuid()) {
                Some(priced) => found.push(priced),
                None => missing.push(id),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let start = self.cache.read_started();
        let read = self.inner.prices(&missing).await?;
        for priced in &read {
            self.cache.fill(priced.id.as_uuid(), priced.clone(), start);
        }
        found.extend(read);
        Ok(found)
    }

    async fn reserve(
        &self,
        tx: &Tx,
        lines: &[(ProductId, u32)],
    ) -> Result<Result<(), Shortage>, StorageError> {
        self.inner.reserve(tx, lines).await
    }

    async fn release(&self, tx: &Tx, lines: &[(ProductId, u32)]) -> Result<(), StorageError> {
        self.inner.release(tx, lines).await
    }

    async fn take(&self, tx: &Tx, lines: &[(ProductId, u32)]) -> Result<(), StorageError> {
        self.inner.take(tx, lines).await
    }

    async fn restock(&self, tx: &Tx, lines: &[(ProductId, u32)]) -> Result<(), StorageError> {
        self.inner.restock(tx, lines).await
    }
}
