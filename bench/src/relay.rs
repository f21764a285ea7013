//! Events: Keel's outbox relay draining a backlog into RabbitMQ, against a
//! raw lapin publisher sending the same number of persistent messages of the
//! same size, with publisher confirms and 1,000 in flight, to the same queue
//! type (a quorum queue) on the same broker.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Confirmation, Connection, ConnectionProperties};

use crate::figures::Measure;
use crate::process::{Database, Keel, Vhost};

pub const IN_FLIGHT: usize = 1000;

/// A payload the size of a `user.registered` event.
fn payload(i: usize) -> String {
    format!(
        r#"{{"userId":"0193c6d4-1f00-7000-8000-{i:012}","email":"user{i}@example.com","displayName":"Benchmark user {i}","registeredAt":"2026-12-03T19:00:00.000000Z"}}"#
    )
}

/// The raw publisher, `runs` times, `events` messages each.
pub async fn raw_lapin(vhost: &Vhost, events: usize, runs: usize) -> Result<Measure> {
    let mut measure = Measure::new(
        "lapin: publish with confirms to a quorum queue",
        "msg/s",
        format!("{events} persistent messages, {IN_FLIGHT} in flight"),
    );
    let connection = Connection::connect(&vhost.url(), ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("quorum")),
    );
    let queue = "bench.raw";
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            arguments,
        )
        .await?;
    let bodies: Vec<String> = (0..events).map(payload).collect();
    for _ in 0..runs {
        let started = Instant::now();
        let mut pending = FuturesUnordered::new();
        for body in &bodies {
            if pending.len() >= IN_FLIGHT {
                confirmed(pending.next().await)?;
            }
            let confirm = channel
                .basic_publish(
                    "".into(),
                    queue.into(),
                    BasicPublishOptions::default(),
                    body.as_bytes(),
                    BasicProperties::default()
                        .with_delivery_mode(2)
                        .with_content_type("application/json".into()),
                )
                .await?;
            pending.push(confirm);
        }
        while let Some(outcome) = pending.next().await {
            confirmed(Some(outcome))?;
        }
        measure
            .runs
            .push(events as f64 / started.elapsed().as_secs_f64());
        channel
            .queue_purge(queue.into(), Default::default())
            .await?;
    }
    connection.close(200, "done".into()).await?;
    Ok(measure)
}

fn confirmed(outcome: Option<lapin::Result<Confirmation>>) -> Result<()> {
    match outcome.context("a confirm")?? {
        Confirmation::Ack(_) | Confirmation::NotRequested => Ok(()),
        Confirmation::Nack(_) => bail!("the broker refused a message"),
    }
}

/// Keel's relay: `events` rows recorded in the outbox while Keel was down (one
/// per aggregate, under a key no consumer binds, so they land in the quorum
/// queue for unrouted events), then Keel started; the rate is read off the
/// rows' publication times, so start-up costs nothing.
pub async fn keel_relay(keel: &Keel, db: &Database, events: usize, runs: usize) -> Result<Measure> {
    let mut measure = Measure::new(
        "Keel outbox relay → RabbitMQ",
        "events/s",
        format!("{events} recorded events drained by one replica, default batch"),
    );
    // Migrate and declare the topology once.
    keel.start().await?.terminate()?;
    for run in 0..runs {
        db.execute(&format!(
            "INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_name, \
             event_version, payload, created_at_us) \
             SELECT gen_random_uuid(), 'bench', 'run-{run}-' || i, 'bench.loaded', 1, \
                    '{}', (extract(epoch from now()) * 1000000)::bigint \
             FROM generate_series(1, {events}) AS i",
            payload(0)
        ))?;
        let server = keel.start().await?;
        let deadline = Instant::now() + Duration::from_secs(300);
        while db.scalar("SELECT count(*) FROM outbox_events WHERE published_at_us IS NULL")? > 0.0 {
            if Instant::now() > deadline {
                bail!("the relay did not drain {events} events in 5 minutes");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server.terminate()?;
        // Every row of a round gets the round's time: the first round's rows
        // mark the start, and are not counted.
        let first = db.scalar(&format!(
            "SELECT count(*) FROM outbox_events WHERE aggregate_id LIKE 'run-{run}-%' \
             AND published_at_us = (SELECT min(published_at_us) FROM outbox_events \
                                    WHERE aggregate_id LIKE 'run-{run}-%')"
        ))?;
        let span_us = db.scalar(&format!(
            "SELECT max(published_at_us) - min(published_at_us) FROM outbox_events \
             WHERE aggregate_id LIKE 'run-{run}-%'"
        ))?;
        if span_us <= 0.0 {
            bail!("the relay published {events} events in a single round");
        }
        measure.runs.push((events as f64 - first) / (span_us / 1e6));
    }
    Ok(measure)
}
