//! The RabbitMQ adapter (lapin), selected by `AMQP_URL`.
//!
//! Topology, declared by every replica whenever it connects (declarations are
//! idempotent): a durable topic exchange `{prefix}.events` whose unroutable
//! messages go to the alternate exchange and queue `{prefix}.unrouted`, so an
//! event no one subscribes to yet is kept, never dropped; per consumer a quorum
//! queue `{prefix}.{consumer}` bound to each event key it handles, a retry queue
//! `{prefix}.{consumer}.retry` whose messages wait out a per-message TTL and then
//! dead-letter back to the consumer's queue, and a quorum queue
//! `{prefix}.{consumer}.dead` for messages that failed every attempt.
//!
//! Publishing waits for publisher confirms; a connection that fails is dropped
//! and made again on the next round, with back-off, and the events wait in the
//! outbox meanwhile. Consumers ack only after the outcome is safe: processed
//! (inbox committed), or republished to the retry or dead queue with a confirm.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use keel_runtime::EventKey;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::ports::{Consumer, Delivered, Envelope, Rejection, Subscriptions, Transport};
use super::{RetryPolicy, backoff};

const ATTEMPT: &str = "x-keel-attempt";
const AGGREGATE_TYPE: &str = "x-keel-aggregate-type";
const AGGREGATE_ID: &str = "x-keel-aggregate-id";
const OCCURRED_AT_US: &str = "x-keel-occurred-at-us";
const DEAD_REASON: &str = "x-keel-dead-reason";
const TRACEPARENT: &str = "traceparent";

/// How long a connect, a declaration or a confirm may take before the
/// connection is given up and made again.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct RabbitMqSettings {
    pub url: String,
    /// The first word of every exchange and queue name.
    pub prefix: String,
    pub retry: RetryPolicy,
    /// Unacknowledged messages a consumer holds at once.
    pub prefetch: u16,
}

impl RabbitMqSettings {
    pub fn exchange(&self) -> String {
        format!("{}.events", self.prefix)
    }

    pub fn unrouted(&self) -> String {
        format!("{}.unrouted", self.prefix)
    }

    pub fn queue(&self, consumer: &str) -> String {
        format!("{}.{consumer}", self.prefix)
    }

    pub fn retry_queue(&self, consumer: &str) -> String {
        format!("{}.{consumer}.retry", self.prefix)
    }

    pub fn dead_queue(&self, consumer: &str) -> String {
        format!("{}.{consumer}.dead", self.prefix)
    }
}

pub struct RabbitMq {
    settings: Arc<RabbitMqSettings>,
    consumers: Arc<Vec<Consumer>>,
    /// Shared by the relay's workers: each publishes its batch on the one
    /// channel; the lock is held only to open or drop the connection.
    publisher: tokio::sync::Mutex<Option<Arc<Link>>>,
    consuming: Arc<AtomicUsize>,
}

/// Whether this replica's consumers are connected, for readiness.
#[derive(Clone)]
pub struct BrokerHealth {
    consuming: Arc<AtomicUsize>,
    consumers: usize,
}

impl BrokerHealth {
    pub fn is_up(&self) -> bool {
        self.consuming.load(Ordering::Relaxed) >= self.consumers
    }
}

/// A connection and its channel in confirm mode.
struct Link {
    connection: Connection,
    channel: Channel,
}

impl RabbitMq {
    pub fn new(settings: RabbitMqSettings, subscriptions: &Subscriptions) -> Self {
        RabbitMq {
            settings: Arc::new(settings),
            consumers: Arc::new(subscriptions.consumers.clone()),
            publisher: tokio::sync::Mutex::new(None),
            consuming: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn health(&self) -> BrokerHealth {
        BrokerHealth {
            consuming: self.consuming.clone(),
            consumers: self.consumers.len(),
        }
    }

    /// Starts one task per consumer; each reconnects with back-off until `stop`.
    pub fn spawn_consumers(&self, stop: &CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
        self.consumers
            .iter()
            .map(|consumer| {
                let settings = self.settings.clone();
                let consumers = self.consumers.clone();
                let consumer = consumer.clone();
                let stop = stop.clone();
                let consuming = self.consuming.clone();
                tokio::spawn(async move {
                    consume(settings, consumers, consumer, consuming, stop).await
                })
            })
            .collect()
    }

    async fn publish_batch(&self, batch: &[Envelope]) -> Vec<Result<(), String>> {
        let link = {
            let mut guard = self.publisher.lock().await;
            match guard.as_ref() {
                Some(link) => link.clone(),
                None => match connect(&self.settings, &self.consumers, "publisher").await {
                    Ok(link) => guard.insert(Arc::new(link)).clone(),
                    Err(error) => {
                        let message = format!("connecting to RabbitMQ: {error}");
                        return batch.iter().map(|_| Err(message.clone())).collect();
                    }
                },
            }
        };
        let exchange = self.settings.exchange();
        let mut broken = false;
        let mut pending = Vec::with_capacity(batch.len());
        for envelope in batch {
            let published = link
                .channel
                .basic_publish(
                    exchange.as_str().into(),
                    envelope.key.to_string().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    envelope.payload.as_bytes(),
                    properties(envelope, 1),
                )
                .await;
            match published {
                Ok(confirm) => pending.push(Ok(confirm)),
                Err(error) => {
                    broken = true;
                    pending.push(Err(error.to_string()));
                }
            }
        }
        let mut outcomes = Vec::with_capacity(batch.len());
        for confirm in pending {
            let outcome = match confirm {
                Ok(confirm) => match tokio::time::timeout(TIMEOUT, confirm).await {
                    Ok(Ok(Confirmation::Ack(None))) => Ok(()),
                    Ok(Ok(Confirmation::Ack(Some(_)))) => {
                        Err("the broker returned the event as unroutable".to_owned())
                    }
                    Ok(Ok(Confirmation::Nack(_))) => Err("the broker refused the event".to_owned()),
                    Ok(Ok(Confirmation::NotRequested)) => {
                        Err("the channel is not in confirm mode".to_owned())
                    }
                    Ok(Err(error)) => {
                        broken = true;
                        Err(error.to_string())
                    }
                    Err(_) => {
                        broken = true;
                        Err(format!("no confirm within {} s", TIMEOUT.as_secs()))
                    }
                },
                Err(error) => Err(error),
            };
            outcomes.push(outcome);
        }
        if broken {
            // Drop the link this batch broke on, unless another batch already
            // replaced it.
            let dropped = {
                let mut guard = self.publisher.lock().await;
                match guard.as_ref() {
                    Some(current) if Arc::ptr_eq(current, &link) => guard.take(),
                    _ => None,
                }
            };
            if dropped.is_some() {
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    link.connection.close(320, "reconnecting".into()),
                )
                .await;
            }
        }
        outcomes
    }

    /// Closes the publishing connection, if one is open.
    pub async fn close(&self) {
        if let Some(link) = self.publisher.lock().await.take() {
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                link.connection.close(200, "shutting down".into()),
            )
            .await;
        }
    }
}

impl Transport for RabbitMq {
    fn publish<'a>(&'a self, batch: &'a [Envelope]) -> BoxFuture<'a, Vec<Result<(), String>>> {
        Box::pin(self.publish_batch(batch))
    }
}

fn table(entries: &[(&str, AMQPValue)]) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in entries {
        table.insert((*key).into(), value.clone());
    }
    table
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value))
}

fn properties(envelope: &Envelope, attempt: u32) -> BasicProperties {
    let mut headers = vec![
        (AGGREGATE_TYPE, text(&envelope.aggregate_type)),
        (AGGREGATE_ID, text(&envelope.aggregate_id)),
        (
            OCCURRED_AT_US,
            AMQPValue::LongLongInt(envelope.occurred_at_us),
        ),
        (ATTEMPT, AMQPValue::LongLongInt(i64::from(attempt))),
    ];
    if let Some(traceparent) = &envelope.traceparent {
        headers.push((TRACEPARENT, text(traceparent)));
    }
    BasicProperties::default()
        .with_message_id(envelope.id.to_string().into())
        .with_type(envelope.key.to_string().into())
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_timestamp(u64::try_from(envelope.occurred_at_us / 1_000_000).unwrap_or(0))
        .with_app_id("keel".into())
        .with_headers(table(&headers))
}

/// Connects, opens a channel in confirm mode and declares the topology.
async fn connect(
    settings: &RabbitMqSettings,
    consumers: &[Consumer],
    role: &str,
) -> Result<Link, String> {
    let setup = async {
        let connection = Connection::connect(
            &settings.url,
            ConnectionProperties::default().with_connection_name(format!("keel {role}").into()),
        )
        .await?;
        let channel = connection.create_channel().await?;
        declare(&channel, settings, consumers).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok::<_, lapin::Error>(Link {
            connection,
            channel,
        })
    };
    match tokio::time::timeout(TIMEOUT, setup).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {} s", TIMEOUT.as_secs())),
    }
}

async fn declare(
    channel: &Channel,
    settings: &RabbitMqSettings,
    consumers: &[Consumer],
) -> lapin::Result<()> {
    let durable = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    let quorum = || text("quorum");
    let unrouted = settings.unrouted();
    channel
        .exchange_declare(
            unrouted.as_str().into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_declare(
            unrouted.as_str().into(),
            durable,
            table(&[("x-queue-type", quorum())]),
        )
        .await?;
    channel
        .queue_bind(
            unrouted.as_str().into(),
            unrouted.as_str().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let exchange = settings.exchange();
    channel
        .exchange_declare(
            exchange.as_str().into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            table(&[("alternate-exchange", text(&unrouted))]),
        )
        .await?;
    for consumer in consumers {
        let queue = settings.queue(consumer.name);
        let dead = settings.dead_queue(consumer.name);
        channel
            .queue_declare(
                dead.as_str().into(),
                durable,
                table(&[("x-queue-type", quorum())]),
            )
            .await?;
        // A message that kills the process before it is acked comes back
        // forever; past this many deliveries the broker dead-letters it.
        let delivery_limit = i64::from(settings.retry.max_attempts.max(1)) * 4;
        channel
            .queue_declare(
                queue.as_str().into(),
                durable,
                table(&[
                    ("x-queue-type", quorum()),
                    ("x-delivery-limit", AMQPValue::LongLongInt(delivery_limit)),
                    ("x-dead-letter-exchange", text("")),
                    ("x-dead-letter-routing-key", text(&dead)),
                ]),
            )
            .await?;
        for key in consumer.keys() {
            channel
                .queue_bind(
                    queue.as_str().into(),
                    exchange.as_str().into(),
                    key.to_string().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        channel
            .queue_declare(
                settings.retry_queue(consumer.name).as_str().into(),
                durable,
                table(&[
                    ("x-dead-letter-exchange", text("")),
                    ("x-dead-letter-routing-key", text(&queue)),
                ]),
            )
            .await?;
    }
    Ok(())
}

/// Consumes until `stop`, reconnecting with back-off whenever the connection fails.
async fn consume(
    settings: Arc<RabbitMqSettings>,
    consumers: Arc<Vec<Consumer>>,
    consumer: Consumer,
    consuming: Arc<AtomicUsize>,
    stop: CancellationToken,
) {
    let mut failures = 0u32;
    loop {
        let outcome = consume_once(
            &settings,
            &consumers,
            &consumer,
            &stop,
            &mut failures,
            &consuming,
        )
        .await;
        match outcome {
            Ok(()) => break,
            Err(error) => {
                failures += 1;
                let pause = backoff(failures);
                tracing::warn!(consumer = consumer.name, %error, retry_in_ms = pause.as_millis() as u64, "consumer lost its connection");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
    tracing::info!(consumer = consumer.name, "consumer stopped");
}

async fn consume_once(
    settings: &RabbitMqSettings,
    consumers: &[Consumer],
    consumer: &Consumer,
    stop: &CancellationToken,
    failures: &mut u32,
    consuming: &AtomicUsize,
) -> Result<(), String> {
    let link = connect(settings, consumers, consumer.name).await?;
    let mut counted = false;
    let result = async {
        link.channel
            .basic_qos(settings.prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        let mut deliveries = link
            .channel
            .basic_consume(
                settings.queue(consumer.name).as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| e.to_string())?;
        *failures = 0;
        consuming.fetch_add(1, Ordering::Relaxed);
        counted = true;
        tracing::info!(consumer = consumer.name, "consuming");
        loop {
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                next = deliveries.next() => match next {
                    None => return Err("the broker cancelled the consumer".to_owned()),
                    Some(Err(error)) => return Err(error.to_string()),
                    // Once taken, a delivery is seen through even if `stop` fires.
                    Some(Ok(delivery)) => handle(&link.channel, settings, consumer, delivery)
                        .await
                        .map_err(|e| e.to_string())?,
                },
            }
        }
    }
    .await;
    if counted {
        consuming.fetch_sub(1, Ordering::Relaxed);
    }
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        link.connection.close(200, "consumer stopping".into()),
    )
    .await;
    result
}

async fn handle(
    channel: &Channel,
    settings: &RabbitMqSettings,
    consumer: &Consumer,
    delivery: Delivery,
) -> Result<(), String> {
    let attempt = header_i64(&delivery, ATTEMPT)
        .and_then(|a| u32::try_from(a).ok())
        .unwrap_or(1)
        .max(1);
    let outcome = match envelope_of(&delivery) {
        Ok(envelope) => consumer.deliver(envelope).await,
        Err(reason) => Err(Rejection::Poison(reason)),
    };
    let name = consumer.name;
    match outcome {
        // Counted by `Consumer::deliver`.
        Ok(Delivered::Processed | Delivered::Duplicate) => {}
        Err(Rejection::Failed(reason)) if attempt < settings.retry.max_attempts => {
            let delay = settings.retry.delay(attempt);
            tracing::warn!(consumer = name, attempt, %reason, retry_in_ms = delay.as_millis() as u64, "handler failed; retrying later");
            let properties = forwarded(&delivery, attempt + 1, None)
                .with_expiration(delay.as_millis().to_string().into());
            republish(channel, &settings.retry_queue(name), &delivery, properties).await?;
            metrics::counter!("keel_events_retried_total", "consumer" => name).increment(1);
        }
        Err(Rejection::Failed(reason) | Rejection::Poison(reason)) => {
            tracing::error!(consumer = name, attempt, %reason, "event dead-lettered");
            let properties = forwarded(&delivery, attempt, Some(&reason));
            republish(channel, &settings.dead_queue(name), &delivery, properties).await?;
            metrics::counter!("keel_events_dead_lettered_total", "consumer" => name).increment(1);
        }
    }
    delivery
        .ack(BasicAckOptions::default())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Sends a copy of `delivery` to `queue` and waits for the broker to confirm it.
async fn republish(
    channel: &Channel,
    queue: &str,
    delivery: &Delivery,
    properties: BasicProperties,
) -> Result<(), String> {
    let confirm = channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            &delivery.data,
            properties,
        )
        .await
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(TIMEOUT, confirm).await {
        Ok(Ok(Confirmation::Ack(None))) => Ok(()),
        Ok(Ok(other)) => Err(format!(
            "the broker did not take the copy for {queue}: {other:?}"
        )),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no confirm within {} s", TIMEOUT.as_secs())),
    }
}

/// The delivery's properties for a copy: the same event, a new attempt number,
/// and, for the dead queue, why it died.
fn forwarded(delivery: &Delivery, attempt: u32, dead_reason: Option<&str>) -> BasicProperties {
    let original = &delivery.properties;
    let mut headers = original.headers().clone().unwrap_or_default();
    headers.insert(ATTEMPT.into(), AMQPValue::LongLongInt(i64::from(attempt)));
    if let Some(reason) = dead_reason {
        headers.insert(DEAD_REASON.into(), text(reason));
    }
    let mut properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_headers(headers);
    if let Some(id) = original.message_id() {
        properties = properties.with_message_id(id.clone());
    }
    if let Some(kind) = original.kind() {
        properties = properties.with_type(kind.clone());
    }
    if let Some(content_type) = original.content_type() {
        properties = properties.with_content_type(content_type.clone());
    }
    if let Some(timestamp) = original.timestamp() {
        properties = properties.with_timestamp(*timestamp);
    }
    properties
}

fn header<'a>(delivery: &'a Delivery, name: &str) -> Option<&'a AMQPValue> {
    delivery
        .properties
        .headers()
        .as_ref()?
        .inner()
        .get(&ShortString::from(name))
}

fn header_i64(delivery: &Delivery, name: &str) -> Option<i64> {
    match header(delivery, name)? {
        AMQPValue::LongLongInt(v) => Some(*v),
        AMQPValue::LongInt(v) => Some(i64::from(*v)),
        AMQPValue::LongUInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortInt(v) => Some(i64::from(*v)),
        _ => None,
    }
}

fn header_text(delivery: &Delivery, name: &str) -> Option<String> {
    match header(delivery, name)? {
        AMQPValue::LongString(v) => Some(String::from_utf8_lossy(v.as_bytes()).into_owned()),
        AMQPValue::ShortString(v) => Some(v.as_str().to_owned()),
        _ => None,
    }
}

/// The envelope a message carries; an error names what is missing or malformed.
fn envelope_of(delivery: &Delivery) -> Result<Envelope, String> {
    let properties = &delivery.properties;
    let id = properties
        .message_id()
        .as_ref()
        .and_then(|id| Uuid::parse_str(id.as_str()).ok())
        .ok_or("the message has no UUID `message_id`")?;
    let key = properties
        .kind()
        .as_ref()
        .and_then(|kind| EventKey::parse(kind.as_str()))
        .ok_or("the message has no `type` of the form `name.vN`")?;
    let payload =
        String::from_utf8(delivery.data.clone()).map_err(|_| "the payload is not UTF-8")?;
    Ok(Envelope {
        id,
        key,
        aggregate_type: header_text(delivery, AGGREGATE_TYPE).unwrap_or_default(),
        aggregate_id: header_text(delivery, AGGREGATE_ID).unwrap_or_default(),
        occurred_at_us: header_i64(delivery, OCCURRED_AT_US).unwrap_or_default(),
        traceparent: header_text(delivery, TRACEPARENT),
        payload,
    })
}
