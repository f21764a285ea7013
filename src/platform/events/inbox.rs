//! Running a handler exactly once in effect: the consumer's inbox records each
//! event id it has processed in the same transaction as the handler's effect,
//! so a redelivery finds the id and does nothing.

use std::marker::PhantomData;
use std::sync::Arc;

use keel_runtime::ContractEvent;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use tracing::Instrument;

use super::ports::{
    Consumer, Delivered, Dispatch, Envelope, EventHandler, EventMeta, ExternalStep, HandlerError,
    Rejection,
};
use crate::platform::db::{Transactions, Tx};
use crate::platform::trace;

impl Consumer {
    /// A consumer named `name`: its queue, its inbox entries and its metrics
    /// carry the name, so it must stay the same across releases.
    pub fn new(name: &'static str) -> Self {
        Consumer {
            name,
            handlers: Default::default(),
        }
    }

    /// Handles `E` with `handler`, through the inbox.
    pub fn on<E, H>(self, transactions: &Transactions, handler: H) -> Self
    where
        E: ContractEvent,
        H: EventHandler<E>,
    {
        self.register::<E, _>(transactions, Arc::new(Local(handler, PhantomData)))
    }

    /// Handles `E` with a step that calls another system first (a payment
    /// provider): the call runs outside any transaction, so no database lock
    /// waits on the network, and its outcome is recorded with the inbox entry.
    pub fn on_external<E, S>(self, transactions: &Transactions, step: S) -> Self
    where
        E: ContractEvent,
        S: ExternalStep<E>,
    {
        self.register::<E, _>(transactions, Arc::new(step))
    }

    fn register<E: ContractEvent, S: ExternalStep<E>>(
        mut self,
        transactions: &Transactions,
        step: Arc<S>,
    ) -> Self {
        let transactions = transactions.clone();
        let name = self.name;
        let dispatch: Dispatch = Arc::new(move |envelope| {
            let step = step.clone();
            let transactions = transactions.clone();
            Box::pin(async move { process::<E, S>(name, &transactions, &*step, envelope).await })
        });
        self.handlers.insert(E::key(), dispatch);
        self
    }
}

/// A plain handler is a step with nothing to call.
struct Local<H, E>(H, PhantomData<fn(E)>);

impl<E: ContractEvent, H: EventHandler<E>> ExternalStep<E> for Local<H, E> {
    type Outcome = ();

    const CALLS_OUT: bool = false;

    async fn call(&self, _event: &E, _meta: &EventMeta) -> Result<(), HandlerError> {
        Ok(())
    }

    async fn record(
        &self,
        tx: &Tx,
        event: E,
        _outcome: (),
        meta: &EventMeta,
    ) -> Result<(), HandlerError> {
        self.0.handle(tx, event, meta).await
    }
}

async fn process<E: ContractEvent, S: ExternalStep<E>>(
    consumer: &'static str,
    transactions: &Transactions,
    step: &S,
    envelope: Envelope,
) -> Result<Delivered, Rejection> {
    let span = tracing::info_span!(
        "consume",
        otel.kind = "consumer",
        consumer,
        event = %envelope.key,
        event_id = %envelope.id,
        trace_id = tracing::field::Empty,
    );
    trace::adopt(&span, envelope.traceparent.as_deref());
    run::<E, S>(consumer, transactions, step, envelope)
        .instrument(span)
        .await
}

async fn run<E: ContractEvent, S: ExternalStep<E>>(
    consumer: &'static str,
    transactions: &Transactions,
    step: &S,
    envelope: Envelope,
) -> Result<Delivered, Rejection> {
    // The contract's rules hold for what a consumer acts on, whoever published it.
    let event: E = serde_json::from_str(&envelope.payload).map_err(|e| {
        Rejection::Poison(format!(
            "the payload is not a valid `{}`: {e}",
            envelope.key
        ))
    })?;
    event.validate().map_err(|e| {
        Rejection::Poison(format!(
            "the payload breaks the contract of `{}`: {e}",
            envelope.key
        ))
    })?;
    let failed = |e: crate::platform::db::StorageError| Rejection::Failed(e.to_string());
    let meta = EventMeta {
        id: envelope.id,
        occurred_at_us: envelope.occurred_at_us,
        aggregate_id: envelope.aggregate_id.clone(),
    };
    // Before a call out, skip an event already processed; one processed while
    // the call runs is caught by the inbox insert below, and the call is
    // idempotent by the step's contract.
    if S::CALLS_OUT
        && processed(transactions, consumer, envelope.id)
            .await
            .map_err(failed)?
    {
        tracing::info!("already processed; skipped");
        return Ok(Delivered::Duplicate);
    }
    let outcome = step
        .call(&event, &meta)
        .await
        .map_err(|e| Rejection::Failed(e.0))?;
    let tx = transactions.begin().await.map_err(failed)?;
    let insert = Query::insert()
        .into_table(Alias::new("event_inbox"))
        .columns([
            Alias::new("consumer"),
            Alias::new("event_id"),
            Alias::new("event_key"),
            Alias::new("traceparent"),
            Alias::new("processed_at_us"),
        ])
        .values_panic([
            consumer.into(),
            envelope.id.into(),
            envelope.key.to_string().into(),
            trace::current_traceparent()
                .or(envelope.traceparent.clone())
                .into(),
            chrono::Utc::now().timestamp_micros().into(),
        ])
        .on_conflict(
            OnConflict::columns([Alias::new("consumer"), Alias::new("event_id")])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let inserted = tx
        .connection()
        .execute(&insert)
        .await
        .map_err(|e| Rejection::Failed(e.to_string()))?
        .rows_affected();
    if inserted == 0 {
        tracing::info!("already processed; skipped");
        return Ok(Delivered::Duplicate);
    }
    step.record(&tx, event, outcome, &meta)
        .await
        .map_err(|e| Rejection::Failed(e.0))?;
    tx.commit().await.map_err(failed)?;
    Ok(Delivered::Processed)
}

async fn processed(
    transactions: &Transactions,
    consumer: &'static str,
    event_id: uuid::Uuid,
) -> Result<bool, crate::platform::db::StorageError> {
    let query = Query::select()
        .expr(Expr::val(1))
        .from(Alias::new("event_inbox"))
        .and_where(Expr::col(Alias::new("consumer")).eq(consumer))
        .and_where(Expr::col(Alias::new("event_id")).eq(event_id))
        .to_owned();
    Ok(transactions.connection().query_one(&query).await?.is_some())
}
