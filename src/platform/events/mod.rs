//! The event pipeline (ADR 14): services record contract events in their
//! transaction (`outbox`), the relay publishes them through a `Transport`
//! (RabbitMQ, or the in-process bus by default), and consumers run handlers
//! exactly once in effect (`inbox`).

pub mod in_process;
pub mod inbox;
pub mod outbox;
pub mod ports;
pub mod rabbitmq;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use ports::{
    Consumer, Envelope, EventHandler, EventMeta, ExternalStep, HandlerError, Subscriptions,
};

/// How often, and how patiently, a failing handler is retried before its
/// event is dead-lettered.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The wait before the second attempt; each later wait is four times the last.
    pub first_delay: Duration,
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based), at most ten minutes.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.first_delay
            .saturating_mul(4u32.saturating_pow(attempt.saturating_sub(1)))
            .min(Duration::from_secs(600))
    }
}

/// The wait after `failures` failures in a row to reach the broker or the
/// database: 100 ms, doubling, at most 5 s.
pub(crate) fn backoff(failures: u32) -> Duration {
    let doublings = Ord::min(failures, 7).saturating_sub(1);
    Ord::min(
        Duration::from_millis(100u64 << doublings),
        Duration::from_secs(5),
    )
}

/// Which transport carries the events.
#[derive(Debug, Clone)]
pub enum Broker {
    InProcess(RetryPolicy),
    RabbitMq(rabbitmq::RabbitMqSettings),
}

/// The relay and the consumers, running.
pub struct Pipeline {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    rabbitmq: Option<Arc<rabbitmq::RabbitMq>>,
}

impl Pipeline {
    /// Starts the relay (and, with RabbitMQ, one task per consumer). `wake` is
    /// the `Notify` the application's `Transactions` signal on commit.
    pub fn start(
        db: DatabaseConnection,
        wake: Arc<Notify>,
        subscriptions: &Subscriptions,
        broker: Broker,
        relay: outbox::RelaySettings,
    ) -> Pipeline {
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        let in_process = matches!(broker, Broker::InProcess(_));
        let (transport, rabbitmq): (Arc<dyn ports::Transport>, _) = match broker {
            Broker::InProcess(retry) => (
                Arc::new(in_process::InProcessBus::new(
                    subscriptions,
                    db.clone(),
                    retry,
                )),
                None,
            ),
            Broker::RabbitMq(settings) => {
                let rabbitmq = Arc::new(rabbitmq::RabbitMq::new(settings, subscriptions));
                tasks.extend(rabbitmq.spawn_consumers(&stop));
                (rabbitmq.clone(), Some(rabbitmq))
            }
        };
        let relay = outbox::Relay::new(db, transport, wake, relay);
        for worker in relay.workers(in_process) {
            tasks.push(tokio::spawn(worker.run(stop.clone())));
        }
        Pipeline {
            stop,
            tasks,
            rabbitmq,
        }
    }

    /// `None` when events go through the in-process bus.
    pub fn broker_health(&self) -> Option<rabbitmq::BrokerHealth> {
        self.rabbitmq.as_ref().map(|r| r.health())
    }

    /// Stops the relay after its current round and the consumers after the
    /// message each is handling, then closes the broker connection.
    pub async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        if let Some(rabbitmq) = self.rabbitmq {
            rabbitmq.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(4), Duration::from_millis(800));
        assert_eq!(backoff(6), Duration::from_millis(3200));
        assert_eq!(backoff(40), Duration::from_secs(5));
    }

    #[test]
    fn retry_delays_grow_fourfold_and_are_capped() {
        let policy = RetryPolicy {
            max_attempts: 5,
            first_delay: Duration::from_millis(500),
        };
        assert_eq!(policy.delay(1), Duration::from_millis(500));
        assert_eq!(policy.delay(2), Duration::from_secs(2));
        assert_eq!(policy.delay(3), Duration::from_secs(8));
        assert_eq!(policy.delay(30), Duration::from_secs(600));
    }
}
