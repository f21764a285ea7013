//! What the payments context needs from the outside world: a payment provider
//! and its own storage.

use std::future::Future;

use uuid::Uuid;

use super::domain::{Payment, PaymentId, Refund, RefundStatus};
use crate::kernel::Money;
use crate::orders::domain::OrderId;
pub use crate::platform::db::StorageError;
use crate::platform::db::Tx;

/// A charge as the provider sees it. `idempotency_key` is the same on every
/// retry of one charge, so the provider charges once however often it is asked.
#[derive(Debug, Clone)]
pub struct ChargeCall {
    pub idempotency_key: String,
    pub amount: Money,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct RefundCall {
    pub idempotency_key: String,
    pub charge_reference: String,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// A final answer: the card was declined, the refund refused.
    #[error("declined: {0}")]
    Declined(String),
    /// No answer that can be relied on (a timeout, a 5xx): ask again, with the
    /// same idempotency key.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
}

/// A payment provider (a Stripe-like HTTP API in production). Every call
/// carries an idempotency key the provider honours; the domain never sees the
/// provider's types.
pub trait PaymentGateway: Send + Sync + 'static {
    /// The provider's reference for the captured charge.
    fn charge(
        &self,
        call: &ChargeCall,
    ) -> impl Future<Output = Result<String, GatewayError>> + Send;

    /// The provider's reference for the refund.
    fn refund(
        &self,
        call: &RefundCall,
    ) -> impl Future<Output = Result<String, GatewayError>> + Send;
}

pub trait PaymentStore: Send + Sync + 'static {
    /// Inserts the payment unless its order has one; returns the order's payment.
    fn record(
        &self,
        tx: &Tx,
        payment: &Payment,
    ) -> impl Future<Output = Result<Payment, StorageError>> + Send;

    fn get(
        &self,
        id: PaymentId,
    ) -> impl Future<Output = Result<Option<Payment>, StorageError>> + Send;

    fn get_in(
        &self,
        tx: &Tx,
        id: PaymentId,
    ) -> impl Future<Output = Result<Option<Payment>, StorageError>> + Send;

    fn of_order(
        &self,
        tx: &Tx,
        order: OrderId,
    ) -> impl Future<Output = Result<Option<Payment>, StorageError>> + Send;

    fn refunds(
        &self,
        payment: PaymentId,
    ) -> impl Future<Output = Result<Vec<Refund>, StorageError>> + Send;

    fn refund(&self, id: Uuid)
    -> impl Future<Output = Result<Option<Refund>, StorageError>> + Send;

    /// Adds the refund to the payment's `refunded` and stores it, unless the
    /// payment's refunds would then exceed its amount (`false`): two refunds
    /// racing can never both take the last of it.
    fn add_refund(
        &self,
        tx: &Tx,
        refund: &Refund,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;

    /// Settles a pending refund; a failed one gives its amount back to the
    /// payment's refundable rest. `false` if it was not pending.
    fn settle_refund(
        &self,
        tx: &Tx,
        refund: &Refund,
        settlement: &Settlement,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
}

/// How the provider answered a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    Succeeded { reference: String },
    Failed { reason: String },
}

impl Settlement {
    pub fn status(&self) -> RefundStatus {
        match self {
            Settlement::Succeeded { .. } => RefundStatus::Succeeded,
            Settlement::Failed { .. } => RefundStatus::Failed,
        }
    }
}
