//! What the application sees of the event pipeline: it records events in its
//! transaction (`outbox::record`) and registers handlers for the events it
//! consumes. Which broker carries them is the adapters' business: the
//! application never names lapin.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use keel_runtime::{ContractEvent, EventKey};
use uuid::Uuid;

use crate::platform::db::Tx;

/// An event as it travels: the payload is the contract type's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Unique per event; consumers deduplicate on it (the AMQP `message_id`).
    pub id: Uuid,
    pub key: EventKey,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub occurred_at_us: i64,
    pub traceparent: Option<String>,
    pub payload: String,
}

/// What a handler learns besides the payload.
#[derive(Debug, Clone)]
pub struct EventMeta {
    pub id: Uuid,
    pub occurred_at_us: i64,
    pub aggregate_id: String,
}

/// A handler failed; the message is retried with back-off and dead-lettered
/// after the configured number of attempts.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct HandlerError(pub String);

/// Consumes one event type. Runs inside a transaction that also records the
/// event as processed (the inbox): write the effect through `tx` and it happens
/// once, however often the event is delivered.
pub trait EventHandler<E: ContractEvent>: Send + Sync + 'static {
    fn handle(
        &self,
        tx: &Tx,
        event: E,
        meta: &EventMeta,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// A step of a process that calls another system (a payment provider) and then
/// records what came of it. `call` runs outside any transaction and may run
/// more than once for one event (a crash before `record` commits, or a
/// redelivery), so it must be idempotent: key the call by the event. `record`
/// runs in the transaction that also marks the event processed.
pub trait ExternalStep<E: ContractEvent>: Send + Sync + 'static {
    type Outcome: Send;

    /// Whether `call` reaches outside this process. When it does, an event
    /// already processed is skipped before the call rather than after.
    const CALLS_OUT: bool = true;

    fn call(
        &self,
        event: &E,
        meta: &EventMeta,
    ) -> impl Future<Output = Result<Self::Outcome, HandlerError>> + Send;

    fn record(
        &self,
        tx: &Tx,
        event: E,
        outcome: Self::Outcome,
        meta: &EventMeta,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// Carries envelopes to the broker. `publish` returns one outcome per envelope,
/// in order; `Ok` means the broker has taken responsibility for it (a publisher
/// confirm), so the outbox may forget it.
pub trait Transport: Send + Sync + 'static {
    fn publish<'a>(&'a self, batch: &'a [Envelope]) -> BoxFuture<'a, Vec<Result<(), String>>>;
}

/// Why a delivery did not take effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The message can never be processed (unknown event, malformed payload):
    /// dead-letter it at once.
    Poison(String),
    /// Processing failed; a later attempt may succeed.
    Failed(String),
}

/// What came of a delivery that took effect or had taken it before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    Processed,
    /// The inbox already held this event id for this consumer: nothing done.
    Duplicate,
}

pub(crate) type Dispatch =
    Arc<dyn Fn(Envelope) -> BoxFuture<'static, Result<Delivered, Rejection>> + Send + Sync>;

/// A named consumer and the handlers it runs, per event key. Each consumer gets
/// its own queue, so every consumer sees every event it subscribes to.
#[derive(Clone)]
pub struct Consumer {
    pub name: &'static str,
    pub(crate) handlers: BTreeMap<EventKey, Dispatch>,
}

impl Consumer {
    pub fn keys(&self) -> impl Iterator<Item = &EventKey> {
        self.handlers.keys()
    }

    /// Runs the handler for the envelope's key (decode, inbox, effect), and
    /// counts what took effect, whichever transport delivered it.
    pub async fn deliver(&self, envelope: Envelope) -> Result<Delivered, Rejection> {
        let outcome = match self.handlers.get(&envelope.key) {
            Some(dispatch) => dispatch(envelope).await,
            None => Err(Rejection::Poison(format!(
                "consumer `{}` has no handler for `{}`",
                self.name, envelope.key
            ))),
        };
        if let Ok(delivered) = &outcome {
            let label = match delivered {
                Delivered::Processed => "processed",
                Delivered::Duplicate => "duplicate",
            };
            metrics::counter!("keel_events_consumed_total", "consumer" => self.name, "outcome" => label)
                .increment(1);
        }
        outcome
    }
}

/// The consumers of this process, registered at start.
#[derive(Clone, Default)]
pub struct Subscriptions {
    pub consumers: Vec<Consumer>,
}
