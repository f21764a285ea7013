//! What the orders context needs from the outside world: its own storage, the
//! catalog's stock and prices, and the payments context.

use std::future::Future;

use uuid::Uuid;

use super::domain::{Order, OrderId, PaymentToken, PricedProduct, Status, Version};
use crate::catalog::domain::ProductId;
use crate::kernel::Money;
pub use crate::platform::db::StorageError;
use crate::platform::db::{Inserts, Tx};

#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    #[error("the order was changed since it was read")]
    Stale,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One page of orders, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub customer: Option<Uuid>,
    pub status: Option<Status>,
    /// Start after (older than) this order.
    pub before: Option<OrderId>,
    pub limit: u64,
}

pub trait OrderRepository: Send + Sync + 'static {
    /// Stages a new order's rows (the order, its lines) for a unit of work
    /// of inserts only.
    fn stage(&self, order: &Order, inserts: &mut Inserts);

    fn get(&self, id: OrderId) -> impl Future<Output = Result<Option<Order>, StorageError>> + Send;

    /// Reads in `tx`, so a saga step sees what its own transaction wrote.
    fn get_in(
        &self,
        tx: &Tx,
        id: OrderId,
    ) -> impl Future<Output = Result<Option<Order>, StorageError>> + Send;

    fn list(
        &self,
        query: &ListQuery,
    ) -> impl Future<Output = Result<Vec<Order>, StorageError>> + Send;

    /// Stores the order's state if its version is still `expected`: of a saga
    /// step and a cancel that race, exactly one wins.
    fn update(
        &self,
        tx: &Tx,
        order: &Order,
        expected: Version,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;
}

/// Not enough stock of a product for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub product: ProductId,
    pub wanted: u32,
    pub available: u64,
}

/// The catalog's stock, as orders use it. Every method but `prices` takes the
/// lines sorted by product (`Order::quantities`) and runs in the caller's
/// transaction.
pub trait Inventory: Send + Sync + 'static {
    /// The named products that exist, at their current prices; read outside
    /// any transaction (a price is what the catalog says when the order is
    /// placed, and nothing is locked by reading it).
    fn prices(
        &self,
        products: &[ProductId],
    ) -> impl Future<Output = Result<Vec<PricedProduct>, StorageError>> + Send;

    /// Moves the quantities from available to reserved, all or none.
    fn reserve(
        &self,
        tx: &Tx,
        lines: &[(ProductId, u32)],
    ) -> impl Future<Output = Result<Result<(), Shortage>, StorageError>> + Send;

    /// Moves reserved quantities back to available.
    fn release(
        &self,
        tx: &Tx,
        lines: &[(ProductId, u32)],
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Reserved quantities leave the stock: the order is confirmed.
    fn take(
        &self,
        tx: &Tx,
        lines: &[(ProductId, u32)],
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Quantities that had left come back as available: a confirmed order
    /// was cancelled.
    fn restock(
        &self,
        tx: &Tx,
        lines: &[(ProductId, u32)],
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
}

/// A charge the order process asks for.
#[derive(Debug, Clone)]
pub struct ChargeRequest {
    pub order: OrderId,
    pub customer: Uuid,
    pub amount: Money,
    pub token: PaymentToken,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// The provider took the money; its reference for the charge.
    Captured(String),
    Declined(String),
}

/// The payments context, as the order process uses it.
pub trait Payments: Send + Sync + 'static {
    /// Charges the order, at most once however often it is called (the
    /// provider's idempotency key is the order's id). Outside any transaction.
    fn charge(
        &self,
        request: &ChargeRequest,
    ) -> impl Future<Output = Result<ChargeOutcome, StorageError>> + Send;

    /// Records a captured charge in `tx`; the payment's id. Recording the same
    /// order's charge again returns the first payment.
    fn record_capture(
        &self,
        tx: &Tx,
        request: &ChargeRequest,
        reference: &str,
    ) -> impl Future<Output = Result<Uuid, StorageError>> + Send;

    /// Asks, in `tx`, for whatever of the order's payment is not yet refunded
    /// to be refunded. Nothing to do when there is no payment.
    fn refund_rest(
        &self,
        tx: &Tx,
        order: OrderId,
        reason: &str,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
}
