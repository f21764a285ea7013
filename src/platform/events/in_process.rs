//! The embedded default: events go straight from the relay to this process's
//! consumers. A publish is confirmed only once every subscribed consumer has
//! processed the event (or dead-lettered it), so a crash before that leaves it
//! in the outbox to be published again; the inbox makes the repeat harmless.

use futures_util::future::BoxFuture;
use futures_util::{StreamExt, stream};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use super::RetryPolicy;
use super::ports::{Consumer, Delivered, Envelope, Rejection, Subscriptions, Transport};

pub struct InProcessBus {
    consumers: Vec<Consumer>,
    db: DatabaseConnection,
    retry: RetryPolicy,
}

impl InProcessBus {
    pub fn new(subscriptions: &Subscriptions, db: DatabaseConnection, retry: RetryPolicy) -> Self {
        InProcessBus {
            consumers: subscriptions.consumers.clone(),
            db,
            retry,
        }
    }

    /// Delivers to one consumer: failures are retried after the policy's
    /// delays, then the event is stored as a dead letter.
    async fn deliver(&self, consumer: &Consumer, envelope: &Envelope) -> Result<(), String> {
        let mut attempt = 1;
        loop {
            let outcome = consumer.deliver(envelope.clone()).await;
            match outcome {
                // Counted by `Consumer::deliver`.
                Ok(Delivered::Processed | Delivered::Duplicate) => return Ok(()),
                Err(Rejection::Failed(reason)) if attempt < self.retry.max_attempts => {
                    metrics::counter!("keel_events_retried_total", "consumer" => consumer.name)
                        .increment(1);
                    tracing::warn!(consumer = consumer.name, event_id = %envelope.id, attempt, %reason, "handler failed; retrying");
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                    attempt += 1;
                }
                Err(Rejection::Failed(reason) | Rejection::Poison(reason)) => {
                    return self.dead_letter(consumer, envelope, &reason, attempt).await;
                }
            }
        }
    }

    async fn dead_letter(
        &self,
        consumer: &Consumer,
        envelope: &Envelope,
        reason: &str,
        attempts: u32,
    ) -> Result<(), String> {
        tracing::error!(consumer = consumer.name, event_id = %envelope.id, attempts, %reason, "event dead-lettered");
        let insert = Query::insert()
            .into_table(Alias::new("event_dead_letters"))
            .columns(
                [
                    "id",
                    "consumer",
                    "event_id",
                    "event_key",
                    "payload",
                    "reason",
                    "attempts",
                    "dead_at_us",
                ]
                .map(Alias::new),
            )
            .values_panic([
                Uuid::now_v7().into(),
                consumer.name.into(),
                envelope.id.into(),
                envelope.key.to_string().into(),
                envelope.payload.clone().into(),
                reason.into(),
                i64::from(attempts).into(),
                chrono::Utc::now().timestamp_micros().into(),
            ])
            .to_owned();
        self.db
            .execute(&insert)
            .await
            .map_err(|e| format!("storing the dead letter failed: {e}"))?;
        metrics::counter!("keel_events_dead_lettered_total", "consumer" => consumer.name)
            .increment(1);
        Ok(())
    }
}

/// Events of a batch delivered at once. A batch holds at most one event per
/// aggregate (the relay's rule), so they are independent; delivering them
/// together overlaps their commits, each of which waits on the disk, where one
/// after another the saga managed some twenty orders a second. Bounded so the
/// pool (10 connections by default) keeps room for requests.
const CONCURRENCY: usize = 8;

impl InProcessBus {
    /// Delivers one event to each consumer that subscribes to it, in turn.
    async fn deliver_to_all(&self, envelope: &Envelope) -> Result<(), String> {
        let mut outcome = Ok(());
        for consumer in self
            .consumers
            .iter()
            .filter(|c| c.handlers.contains_key(&envelope.key))
        {
            if let Err(error) = self.deliver(consumer, envelope).await {
                outcome = Err(error);
            }
        }
        outcome
    }
}

impl Transport for InProcessBus {
    fn publish<'a>(&'a self, batch: &'a [Envelope]) -> BoxFuture<'a, Vec<Result<(), String>>> {
        Box::pin(
            stream::iter(batch)
                .map(|envelope| self.deliver_to_all(envelope))
                .buffered(CONCURRENCY)
                .collect(),
        )
    }
}
