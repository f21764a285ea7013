//! The payments use cases: charging orders for the order process (its
//! `Payments` port), reading payments and refunding them (the generated
//! `PaymentsApi`), and carrying out refunds with the provider (handlers of
//! `payment.refund_requested` and `order.cancelled`).
//!
//! A refund is recorded `pending` with its amount counted against the
//! payment, in the transaction that asks for it, and carried out by a
//! consumer: so two refunds can never together exceed the payment, and a
//! crash between asking and the provider's answer loses nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use keel_server::RequestContext;
use keel_server::payments::*;
use keel_server::types::{self as dto, OrderCancelled, PaymentRefunded, Problem, RefundRequested};
use uuid::Uuid;

use super::domain::{Payment, PaymentId, Refund, RefundError, RefundStatus};
use super::ports::{
    ChargeCall, GatewayError, PaymentGateway, PaymentStore, RefundCall, Settlement, StorageError,
};
use crate::kernel::{Money, Timestamp};
use crate::orders::domain::OrderId;
use crate::orders::ports::{ChargeOutcome, ChargeRequest, Payments as OrderPayments};
use crate::platform::db::{Transactions, Tx};
use crate::platform::dto::{money_from_dto, money_to_dto};
use crate::platform::events::{EventHandler, EventMeta, ExternalStep, HandlerError, outbox};
use crate::platform::idempotency::{self, Claim, Scope, StoredResponse};
use crate::platform::problem::{self, FieldProblem};

/// The aggregate type of payments in the outbox.
pub const AGGREGATE: &str = "payment";

/// The consumer that carries out refunds.
pub const CONSUMER: &str = "payments";

/// How patiently the provider is asked.
#[derive(Debug, Clone, Copy)]
pub struct GatewayPolicy {
    /// Per call: a provider that has not answered by then is asked again.
    pub timeout: Duration,
    /// Calls per charge or refund before giving up.
    pub attempts: u32,
}

pub struct PaymentsService<S, G> {
    store: S,
    gateway: Arc<G>,
    policy: GatewayPolicy,
    transactions: Transactions,
    idempotency_ttl: Duration,
}

impl<S: Clone, G> Clone for PaymentsService<S, G> {
    fn clone(&self) -> Self {
        PaymentsService {
            store: self.store.clone(),
            gateway: self.gateway.clone(),
            policy: self.policy,
            transactions: self.transactions.clone(),
            idempotency_ttl: self.idempotency_ttl,
        }
    }
}

impl<S: PaymentStore, G: PaymentGateway> PaymentsService<S, G> {
    pub fn new(
        store: S,
        gateway: Arc<G>,
        policy: GatewayPolicy,
        transactions: Transactions,
        idempotency_ttl: Duration,
    ) -> Self {
        PaymentsService {
            store,
            gateway,
            policy,
            transactions,
            idempotency_ttl,
        }
    }

    /// Asks the provider until it answers, up to the policy's attempts. The
    /// same idempotency key on every attempt makes a retry harmless.
    async fn ask<T, F, Fut>(&self, what: &str, call: F) -> Result<T, GatewayError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, GatewayError>>,
    {
        let mut last = String::new();
        for attempt in 1..=self.policy.attempts {
            match tokio::time::timeout(self.policy.timeout, call()).await {
                Ok(Err(GatewayError::Unavailable(reason))) => last = reason,
                Ok(answer) => return answer,
                Err(_) => last = format!("no answer within {:?}", self.policy.timeout),
            }
            tracing::warn!(attempt, %last, "{what}: the payment provider did not answer; asking again");
            if attempt < self.policy.attempts {
                tokio::time::sleep(Duration::from_millis(100) * attempt).await;
            }
        }
        Err(GatewayError::Unavailable(last))
    }

    /// Records a pending refund and its event; `Err` says why it is refused.
    async fn request_refund(
        &self,
        tx: &Tx,
        payment: &Payment,
        amount: Money,
        reason: &str,
    ) -> Result<Result<Refund, RefundError>, StorageError> {
        let refund = match Refund::request(payment, amount, reason, Timestamp::now()) {
            Ok(refund) => refund,
            Err(refused) => return Ok(Err(refused)),
        };
        if !self.store.add_refund(tx, &refund).await? {
            // Another refund took the rest since the payment was read.
            let now = self
                .store
                .get_in(tx, payment.id)
                .await?
                .map_or(Money::zero(amount.currency()), |p| p.refundable());
            return Ok(Err(RefundError::Exceeds { refundable: now }));
        }
        let event = RefundRequested {
            refund_id: refund.id,
            payment_id: payment.id.as_uuid(),
            order_id: payment.order.as_uuid(),
            user_id: payment.customer,
            amount: money_to_dto(amount),
        };
        outbox::record(tx, AGGREGATE, &payment.id.as_uuid().to_string(), &event).await?;
        Ok(Ok(refund))
    }
}

/// What came of a `refundPayment` request, short of a storage failure.
enum Refunding {
    /// The refund, and whether it is a replay of an earlier request's.
    Done(dto::Refund, bool),
    KeyReused,
    NoPayment,
    Refused(RefundError),
}

fn refund_to_dto(refund: &Refund) -> dto::Refund {
    dto::Refund {
        id: refund.id,
        payment_id: refund.payment.as_uuid(),
        amount: money_to_dto(refund.amount),
        reason: refund.reason.clone(),
        status: match refund.status {
            RefundStatus::Pending => dto::RefundStatus::Pending,
            RefundStatus::Succeeded => dto::RefundStatus::Succeeded,
            RefundStatus::Failed => dto::RefundStatus::Failed,
        },
        created_at: refund.created_at.as_datetime(),
    }
}

fn payment_to_dto(payment: &Payment, refunds: &[Refund]) -> dto::Payment {
    dto::Payment {
        id: payment.id.as_uuid(),
        order_id: payment.order.as_uuid(),
        user_id: payment.customer,
        amount: money_to_dto(payment.amount),
        refunded: money_to_dto(payment.refunded),
        status: if payment.fully_refunded() {
            dto::PaymentStatus::Refunded
        } else {
            dto::PaymentStatus::Captured
        },
        refunds: refunds.iter().map(refund_to_dto).collect(),
        created_at: payment.created_at.as_datetime(),
    }
}

fn not_found(ctx: &RequestContext, id: Uuid) -> Problem {
    problem::problem(
        ctx,
        404,
        "payment-not-found",
        format!("there is no payment with id {id}"),
    )
}

fn internal(ctx: &RequestContext, error: StorageError) -> Problem {
    problem::internal(ctx, &error)
}

impl<S: PaymentStore, G: PaymentGateway> PaymentsApi for PaymentsService<S, G> {
    async fn get_payment(&self, ctx: RequestContext, req: GetPaymentRequest) -> GetPaymentResponse {
        let payment = match self.store.get(req.payment_id.into()).await {
            Ok(Some(payment)) => payment,
            Ok(None) => return GetPaymentResponse::NotFound(not_found(&ctx, req.payment_id)),
            Err(e) => return GetPaymentResponse::InternalServerError(internal(&ctx, e)),
        };
        let mine = ctx
            .principal
            .as_ref()
            .is_some_and(|p| p.has_scope("payments:admin") || p.user_id == payment.customer);
        if !mine {
            return GetPaymentResponse::NotFound(not_found(&ctx, req.payment_id));
        }
        match self.store.refunds(payment.id).await {
            Ok(refunds) => GetPaymentResponse::Ok(payment_to_dto(&payment, &refunds)),
            Err(e) => GetPaymentResponse::InternalServerError(internal(&ctx, e)),
        }
    }

    async fn refund_payment(
        &self,
        ctx: RequestContext,
        req: RefundPaymentRequest,
    ) -> RefundPaymentResponse {
        let amount = match money_from_dto(&req.body.amount) {
            Ok(amount) => amount,
            Err(e) => {
                let field = FieldProblem::body("/amount", "domain", e.to_string());
                return RefundPaymentResponse::BadRequest(problem::invalid_field(&ctx, field));
            }
        };
        let principal = ctx
            .principal
            .as_ref()
            .map(|p| p.user_id)
            .unwrap_or_default();
        let scope = req
            .idempotency_key
            .clone()
            .map(|key| Scope { principal, key });
        let outcome = async {
            let tx = self.transactions.begin().await?;
            if let Some(scope) = &scope {
                let fingerprint = idempotency::fingerprint(
                    &format!("refundPayment {}", req.payment_id),
                    &req.body,
                );
                match idempotency::claim(&tx, scope, &fingerprint, self.idempotency_ttl).await? {
                    Claim::Fresh => {}
                    Claim::Replay(stored) => {
                        let refund = serde_json::from_str(&stored.body)
                            .map_err(|e| StorageError(format!("the stored response: {e}")))?;
                        return Ok(Refunding::Done(refund, true));
                    }
                    Claim::Mismatch => return Ok(Refunding::KeyReused),
                }
            }
            let Some(payment) = self.store.get_in(&tx, req.payment_id.into()).await? else {
                return Ok(Refunding::NoPayment);
            };
            let refund = match self
                .request_refund(&tx, &payment, amount, &req.body.reason)
                .await?
            {
                Ok(refund) => refund_to_dto(&refund),
                Err(refused) => return Ok(Refunding::Refused(refused)),
            };
            if let Some(scope) = &scope {
                let stored = StoredResponse {
                    status: 201,
                    headers: BTreeMap::new(),
                    body: serde_json::to_string(&refund).expect("refunds serialize"),
                };
                idempotency::complete(&tx, scope, &stored).await?;
            }
            tx.commit().await?;
            Ok::<_, StorageError>(Refunding::Done(refund, false))
        }
        .await;
        match outcome {
            Ok(Refunding::Done(refund, replayed)) => RefundPaymentResponse::Created {
                body: refund,
                idempotent_replayed: replayed.then(|| "true".to_owned()),
            },
            Ok(Refunding::KeyReused) => {
                RefundPaymentResponse::UnprocessableContent(problem::problem(
                    &ctx,
                    422,
                    "idempotency-key-reused",
                    "this Idempotency-Key was used for a different request; use a new key for a new refund",
                ))
            }
            Ok(Refunding::NoPayment) => {
                RefundPaymentResponse::NotFound(not_found(&ctx, req.payment_id))
            }
            Ok(Refunding::Refused(refused)) => {
                let slug = match refused {
                    RefundError::Zero => {
                        let field =
                            FieldProblem::body("/amount/amount", "domain", refused.to_string());
                        return RefundPaymentResponse::BadRequest(problem::invalid_field(
                            &ctx, field,
                        ));
                    }
                    RefundError::Currency { .. } => "refund-currency-mismatch",
                    RefundError::Exceeds { .. } => "refund-exceeds-payment",
                };
                RefundPaymentResponse::UnprocessableContent(problem::problem(
                    &ctx,
                    422,
                    slug,
                    refused.to_string(),
                ))
            }
            Err(e) => RefundPaymentResponse::InternalServerError(internal(&ctx, e)),
        }
    }
}

impl<S: PaymentStore, G: PaymentGateway> OrderPayments for PaymentsService<S, G> {
    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeOutcome, StorageError> {
        let call = ChargeCall {
            idempotency_key: format!("charge:{}", request.order),
            amount: request.amount,
            token: request.token.as_str().to_owned(),
        };
        match self.ask("charge", || self.gateway.charge(&call)).await {
            Ok(reference) => Ok(ChargeOutcome::Captured(reference)),
            Err(GatewayError::Declined(reason)) => Ok(ChargeOutcome::Declined(reason)),
            // The provider charged nothing it told us of; a real adapter must
            // also void the key here, so a charge it made silently is undone.
            Err(GatewayError::Unavailable(reason)) => Ok(ChargeOutcome::Declined(format!(
                "the payment provider did not answer ({reason})"
            ))),
        }
    }

    async fn record_capture(
        &self,
        tx: &Tx,
        request: &ChargeRequest,
        reference: &str,
    ) -> Result<Uuid, StorageError> {
        let payment = Payment {
            id: PaymentId::new(),
            order: request.order,
            customer: request.customer,
            amount: request.amount,
            refunded: Money::zero(request.amount.currency()),
            reference: reference.to_owned(),
            created_at: Timestamp::now(),
        };
        Ok(self.store.record(tx, &payment).await?.id.as_uuid())
    }

    async fn refund_rest(&self, tx: &Tx, order: OrderId, reason: &str) -> Result<(), StorageError> {
        let Some(payment) = self.store.of_order(tx, order).await? else {
            return Ok(());
        };
        if payment.fully_refunded() {
            return Ok(());
        }
        match self
            .request_refund(tx, &payment, payment.refundable(), reason)
            .await?
        {
            Ok(_) => Ok(()),
            // A concurrent refund changed the rest: try again with what is left.
            Err(refused) => Err(StorageError(format!("refunding order {order}: {refused}"))),
        }
    }
}

/// order.cancelled → refund whatever the order's payment has not refunded.
/// (A charge still in flight is refunded by the order process itself when it
/// finds the order cancelled.)
pub struct RefundOnCancel<S, G>(pub PaymentsService<S, G>);

impl<S: PaymentStore, G: PaymentGateway> EventHandler<OrderCancelled> for RefundOnCancel<S, G> {
    async fn handle(
        &self,
        tx: &Tx,
        event: OrderCancelled,
        _: &EventMeta,
    ) -> Result<(), HandlerError> {
        self.0
            .refund_rest(tx, event.order_id.into(), "the order was cancelled")
            .await
            .map_err(|e| HandlerError(e.to_string()))
    }
}

/// payment.refund_requested → the provider gives the money back.
pub struct ExecuteRefund<S, G>(pub PaymentsService<S, G>);

impl<S: PaymentStore, G: PaymentGateway> ExternalStep<RefundRequested> for ExecuteRefund<S, G> {
    type Outcome = Option<(Refund, Settlement)>;

    async fn call(
        &self,
        event: &RefundRequested,
        _: &EventMeta,
    ) -> Result<Self::Outcome, HandlerError> {
        let failed = |e: StorageError| HandlerError(e.to_string());
        let Some(refund) = self.0.store.refund(event.refund_id).await.map_err(failed)? else {
            return Err(HandlerError(format!(
                "refund {} does not exist",
                event.refund_id
            )));
        };
        if refund.status != RefundStatus::Pending {
            return Ok(None);
        }
        let payment = self
            .0
            .store
            .get(refund.payment)
            .await
            .map_err(failed)?
            .ok_or_else(|| HandlerError(format!("refund {} has no payment", refund.id)))?;
        let call = RefundCall {
            idempotency_key: format!("refund:{}", refund.id),
            charge_reference: payment.reference.clone(),
            amount: refund.amount,
        };
        let settlement = match self.0.ask("refund", || self.0.gateway.refund(&call)).await {
            Ok(reference) => Settlement::Succeeded { reference },
            Err(GatewayError::Declined(reason)) => Settlement::Failed { reason },
            // Not a final answer: the event is retried later, with the same key.
            Err(e @ GatewayError::Unavailable(_)) => return Err(HandlerError(e.to_string())),
        };
        Ok(Some((refund, settlement)))
    }

    async fn record(
        &self,
        tx: &Tx,
        event: RefundRequested,
        outcome: Self::Outcome,
        _: &EventMeta,
    ) -> Result<(), HandlerError> {
        let Some((refund, settlement)) = outcome else {
            return Ok(());
        };
        let failed = |e: StorageError| HandlerError(e.to_string());
        let settled = self
            .0
            .store
            .settle_refund(tx, &refund, &settlement)
            .await
            .map_err(failed)?;
        if settled && let Settlement::Succeeded { .. } = settlement {
            let refunded = PaymentRefunded {
                refund_id: refund.id,
                payment_id: event.payment_id,
                order_id: event.order_id,
                user_id: event.user_id,
                amount: event.amount,
            };
            outbox::record(tx, AGGREGATE, &event.payment_id.to_string(), &refunded)
                .await
                .map_err(failed)?;
        }
        Ok(())
    }
}
