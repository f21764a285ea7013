//! Running a handler exactly once in effect: the consumer's inbox records each
//! event id it has processed in the same transaction as the handler's effect,
//! so a redelivery finds the id and does nothing.

use std::sync::Arc;

use keel_runtime::ContractEvent;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, OnConflict, Query};
use tracing::Instrument;

use super::ports::{Consumer, Delivered, Dispatch, Envelope, EventHandler, EventMeta, Rejection};
use crate::platform::db::Transactions;
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
    pub fn on<E, H>(mut self, transactions: &Transactions, handler: H) -> Self
    where
        E: ContractEvent,
        H: EventHandler<E>,
    {
        let handler = Arc::new(handler);
        let transactions = transactions.clone();
        let name = self.name;
        let dispatch: Dispatch = Arc::new(move |envelope| {
            let handler = handler.clone();
            let transactions = transactions.clone();
            Box::pin(async move { process::<E, H>(name, &transactions, &*handler, envelope).await })
        });
        self.handlers.insert(E::key(), dispatch);
        self
    }
}

async fn process<E: ContractEvent, H: EventHandler<E>>(
    consumer: &'static str,
    transactions: &Transactions,
    handler: &H,
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
    run::<E, H>(consumer, transactions, handler, envelope)
        .instrument(span)
        .await
}

async fn run<E: ContractEvent, H: EventHandler<E>>(
    consumer: &'static str,
    transactions: &Transactions,
    handler: &H,
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
    let meta = EventMeta {
        id: envelope.id,
        occurred_at_us: envelope.occurred_at_us,
        aggregate_id: envelope.aggregate_id.clone(),
    };
    handler
        .handle(&tx, event, &meta)
        .await
        .map_err(|e| Rejection::Failed(e.0))?;
    tx.commit().await.map_err(failed)?;
    Ok(Delivered::Processed)
}
