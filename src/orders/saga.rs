//! The order process as a saga driven by the order's own events: each step
//! consumes one event, moves the order one transition of the state machine
//! (`domain::Order::take`) and records the next event in the same
//! transaction. Its state is the order row, and its pending steps are events
//! in the outbox or the broker, so a restart resumes every unfinished order
//! where it stopped; the inbox makes each step happen once.
//!
//! ```text
//! order.placed          → ReserveStock   → order.stock_reserved | order.rejected
//! order.stock_reserved  → ChargePayment  → order.paid | order.payment_failed
//!                                          (a charge that lands on a cancelled
//!                                           order is refunded at once)
//! order.paid            → Confirm        → order.confirmed
//! ```
//!
//! A step that finds the order elsewhere than it expects (cancelled while the
//! event travelled) does nothing: the cancel has already undone what the
//! order held.

use keel_server::types::{
    OrderConfirmed, OrderLine, OrderPaid, OrderPaymentFailed, OrderPlaced, OrderRejected,
    OrderStockReserved,
};

use super::domain::{Order, OrderId, Status, Step};
use super::ports::{
    ChargeOutcome, ChargeRequest, Inventory, OrderRepository, Payments, WriteError,
};
use crate::kernel::Timestamp;
use crate::platform::db::{StorageError, Tx};
use crate::platform::dto::money_to_dto as money_dto;
use crate::platform::events::{EventHandler, EventMeta, ExternalStep, HandlerError, outbox};

/// The aggregate type of orders in the outbox.
pub const AGGREGATE: &str = "order";

/// The consumer that runs the saga's steps.
pub const CONSUMER: &str = "orders";

pub fn placed(order: &Order) -> OrderPlaced {
    OrderPlaced {
        order_id: order.id.as_uuid(),
        user_id: order.customer,
        items: order
            .items
            .iter()
            .map(|i| OrderLine {
                product_id: i.product.as_uuid(),
                quantity: i32::try_from(i.quantity).expect("the contract bounds quantities"),
            })
            .collect(),
        total: money_dto(order.total),
    }
}

fn failed(error: impl std::fmt::Display) -> HandlerError {
    HandlerError(error.to_string())
}

/// Reads the order in `tx`; an event for an order that does not exist is a
/// bug upstream, retried and then dead-lettered where an operator sees it.
async fn order_in<R: OrderRepository>(
    repo: &R,
    tx: &Tx,
    id: uuid::Uuid,
) -> Result<Order, HandlerError> {
    repo.get_in(tx, OrderId::from(id))
        .await
        .map_err(failed)?
        .ok_or_else(|| HandlerError(format!("order {id} does not exist")))
}

/// Takes the step and stores it; a concurrent change (a cancel) makes the
/// event retry, and the retry finds the order moved on.
async fn advance<R: OrderRepository>(
    repo: &R,
    tx: &Tx,
    order: &mut Order,
    step: Step,
) -> Result<(), HandlerError> {
    let expected = order.version;
    order.take(step, Timestamp::now()).map_err(failed)?;
    repo.update(tx, order, expected).await.map_err(|e| match e {
        WriteError::Stale => HandlerError(format!(
            "order {} changed while this step ran; retrying",
            order.id
        )),
        WriteError::Storage(e) => failed(e),
    })
}

async fn record<E: keel_runtime::ContractEvent>(
    tx: &Tx,
    order: &Order,
    event: &E,
) -> Result<(), HandlerError> {
    outbox::record(tx, AGGREGATE, &order.id.to_string(), event)
        .await
        .map(|_| ())
        .map_err(|e: StorageError| failed(e))
}

/// order.placed → reserve every line's stock, all or none.
pub struct ReserveStock<R, I> {
    pub orders: R,
    pub inventory: I,
}

impl<R: OrderRepository, I: Inventory> EventHandler<OrderPlaced> for ReserveStock<R, I> {
    async fn handle(&self, tx: &Tx, event: OrderPlaced, _: &EventMeta) -> Result<(), HandlerError> {
        let mut order = order_in(&self.orders, tx, event.order_id).await?;
        if order.status != Status::Pending {
            return Ok(());
        }
        match self
            .inventory
            .reserve(tx, &order.quantities())
            .await
            .map_err(failed)?
        {
            Ok(()) => {
                advance(&self.orders, tx, &mut order, Step::ReserveStock).await?;
                let next = OrderStockReserved {
                    order_id: order.id.as_uuid(),
                    user_id: order.customer,
                    total: money_dto(order.total),
                };
                record(tx, &order, &next).await
            }
            Err(shortage) => {
                let reason = format!(
                    "not enough stock of product {}: {} wanted, {} available",
                    shortage.product, shortage.wanted, shortage.available
                );
                advance(&self.orders, tx, &mut order, Step::Reject(reason.clone())).await?;
                let next = OrderRejected {
                    order_id: order.id.as_uuid(),
                    user_id: order.customer,
                    reason,
                };
                record(tx, &order, &next).await
            }
        }
    }
}

/// order.stock_reserved → charge the customer. The charge is a call out,
/// keyed by the order, so it runs before the transaction and at most once in
/// effect however often the event is delivered.
pub struct ChargePayment<R, I, P> {
    pub orders: R,
    pub inventory: I,
    pub payments: P,
}

pub enum Charged {
    /// The order had moved on (cancelled) before the charge: nothing to do.
    Skipped,
    Outcome(ChargeRequest, ChargeOutcome),
}

impl<R: OrderRepository, I: Inventory, P: Payments> ExternalStep<OrderStockReserved>
    for ChargePayment<R, I, P>
{
    type Outcome = Charged;

    async fn call(
        &self,
        event: &OrderStockReserved,
        _: &EventMeta,
    ) -> Result<Charged, HandlerError> {
        let Some(order) = self
            .orders
            .get(OrderId::from(event.order_id))
            .await
            .map_err(failed)?
        else {
            return Err(HandlerError(format!(
                "order {} does not exist",
                event.order_id
            )));
        };
        if order.status != Status::StockReserved {
            return Ok(Charged::Skipped);
        }
        let request = ChargeRequest {
            order: order.id,
            customer: order.customer,
            amount: order.total,
            token: order.payment_token.clone(),
        };
        let outcome = self.payments.charge(&request).await.map_err(failed)?;
        Ok(Charged::Outcome(request, outcome))
    }

    async fn record(
        &self,
        tx: &Tx,
        event: OrderStockReserved,
        outcome: Charged,
        _: &EventMeta,
    ) -> Result<(), HandlerError> {
        let Charged::Outcome(request, outcome) = outcome else {
            return Ok(());
        };
        let mut order = order_in(&self.orders, tx, event.order_id).await?;
        match outcome {
            ChargeOutcome::Captured(reference) => {
                let payment = self
                    .payments
                    .record_capture(tx, &request, &reference)
                    .await
                    .map_err(failed)?;
                if order.status != Status::StockReserved {
                    // Cancelled while the charge ran: the money goes back.
                    return self
                        .payments
                        .refund_rest(
                            tx,
                            order.id,
                            "the order was cancelled while it was being paid",
                        )
                        .await
                        .map_err(failed);
                }
                advance(&self.orders, tx, &mut order, Step::Pay(payment)).await?;
                let next = OrderPaid {
                    order_id: order.id.as_uuid(),
                    user_id: order.customer,
                    payment_id: payment,
                    total: money_dto(order.total),
                };
                record(tx, &order, &next).await
            }
            ChargeOutcome::Declined(reason) => {
                if order.status != Status::StockReserved {
                    return Ok(());
                }
                self.inventory
                    .release(tx, &order.quantities())
                    .await
                    .map_err(failed)?;
                advance(
                    &self.orders,
                    tx,
                    &mut order,
                    Step::FailPayment(reason.clone()),
                )
                .await?;
                let next = OrderPaymentFailed {
                    order_id: order.id.as_uuid(),
                    user_id: order.customer,
                    reason,
                };
                record(tx, &order, &next).await
            }
        }
    }
}

/// order.paid → the reserved stock leaves the count; the order is confirmed.
pub struct Confirm<R, I> {
    pub orders: R,
    pub inventory: I,
}

impl<R: OrderRepository, I: Inventory> EventHandler<OrderPaid> for Confirm<R, I> {
    async fn handle(&self, tx: &Tx, event: OrderPaid, _: &EventMeta) -> Result<(), HandlerError> {
        let mut order = order_in(&self.orders, tx, event.order_id).await?;
        if order.status != Status::Paid {
            return Ok(());
        }
        self.inventory
            .take(tx, &order.quantities())
            .await
            .map_err(failed)?;
        advance(&self.orders, tx, &mut order, Step::Confirm).await?;
        let payment = order.payment.expect("a paid order has its payment");
        let next = OrderConfirmed {
            order_id: order.id.as_uuid(),
            user_id: order.customer,
            payment_id: payment,
            total: money_dto(order.total),
        };
        record(tx, &order, &next).await
    }
}
