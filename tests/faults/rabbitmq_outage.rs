//! RabbitMQ stopped under a write load (a node of the test's own, stopped and
//! booted again on its own directory, 30 s in the long form): writes keep
//! succeeding, the outbox backlog grows while it is away and drains to zero
//! once it is back, and each event reaches each consumer exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::load::{self, Load, Outcome};
use crate::services::RabbitNode;
use crate::support::{KeelProcess, TestDatabase, count};

const BACKLOG: &str = "SELECT COUNT(*) FROM outbox_events WHERE published_at_us IS NULL";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rabbitmq_stopped_under_load_keeps_writes_succeeding_and_delivers_each_event_once() {
    let booted = Instant::now();
    let node = tokio::task::spawn_blocking(RabbitNode::start)
        .await
        .unwrap();
    println!("a private RabbitMQ node booted in {:?}", booted.elapsed());
    let database = TestDatabase::create().await;
    let amqp = node.url();
    let mut keel = KeelProcess::start(
        &database.url,
        &[
            ("AMQP_URL", amqp.as_str()),
            ("KEEL_RATE_LIMIT_PER_MINUTE", "10000000"),
            ("KEEL_LOG", "warn"),
        ],
    );
    let client = keel.client();
    broker_reported(&client, &keel.base, "up", Duration::from_secs(30)).await;
    let target = load::shop(&keel.base, &keel.tokens()).await;
    let db = sea_orm::Database::connect(&database.url).await.unwrap();

    // The backlog, sampled every 100 ms from the table the relay drains.
    let peak = Arc::new(AtomicI64::new(0));
    let sampler = {
        let (db, peak) = (db.clone(), peak.clone());
        tokio::spawn(async move {
            loop {
                let backlog = count(&db, BACKLOG).await;
                peak.fetch_max(backlog, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    // About 25 orders a second: each makes four events through the broker,
    // and the test waits for every saga to finish.
    let load = Load::paced(target.clone(), 3, Duration::from_millis(100));
    load.until_more(20, Duration::from_secs(60)).await;
    let before_outage = peak.swap(0, Ordering::SeqCst);
    let stopped = Instant::now();
    let (node, ()) = crate::blocking(node, RabbitNode::stop).await;
    broker_reported(&client, &keel.base, "down", Duration::from_secs(30)).await;
    let written_before = load.acknowledged();
    let away = crate::pick(Duration::from_secs(3), Duration::from_secs(30));
    tokio::time::sleep(away).await;
    let written_while_down = load.acknowledged() - written_before;
    let (node, boot) = crate::blocking(node, RabbitNode::start_again).await;
    let outage = stopped.elapsed();
    let peak_while_down = peak.load(Ordering::SeqCst);
    broker_reported(&client, &keel.base, "up", Duration::from_secs(60)).await;
    load.until_more(20, Duration::from_secs(30)).await;
    let attempts = load.stop().await;
    assert!(
        keel.is_running(),
        "Keel rode out the outage without a restart"
    );

    println!(
        "broker down {outage:?} (boot {boot:?}); {written_while_down} orders acknowledged while it was stopped; \
         backlog peak {peak_while_down} (before the outage {before_outage}); {}",
        load::describe(&attempts)
    );
    for attempt in &attempts {
        assert!(
            matches!(attempt.outcome, Outcome::Placed(_)),
            "a write failed while the broker was away: {attempt:?}"
        );
    }
    assert!(
        written_while_down > 0,
        "writes went on while the broker was stopped"
    );
    assert!(
        // Each order written meanwhile left at least its `order.placed`
        // waiting (the sampler runs every 100 ms, so allow it to lag).
        peak_while_down > before_outage && peak_while_down >= written_while_down as i64 / 2,
        "the backlog grew while the broker was away: peak {peak_while_down}, \
         {written_while_down} orders written meanwhile, {before_outage} before"
    );
    let drained = Instant::now();
    crate::support::wait_for_count(&db, BACKLOG, 0, Duration::from_secs(120)).await;
    println!(
        "the backlog drained {:?} after the load stopped",
        drained.elapsed()
    );
    sampler.abort();

    let acknowledged: Vec<Uuid> = load::placed(&attempts);
    println!(
        "queues after the outage (name, ready, unacked, consumers): {:?}",
        node.queues()
    );
    // Also finds no row in `event_dead_letters` (the in-process bus's); the
    // broker's dead letters are in its `.dead` queues.
    load::verify_orders(&db, &client, &keel.base, &target.token, &acknowledged).await;
    for (queue, ready, unacked, _) in node.queues() {
        if queue.ends_with(".dead") {
            assert_eq!(ready + unacked, 0, "{queue} holds dead letters");
        }
    }
    load::one_order_per_key(&db, &attempts, &[]).await;
    drop(keel);
}

/// Waits until readiness reports the broker `state`, and checks that it stays
/// 200 while doing so: the broker never makes the replica unready.
async fn broker_reported(client: &reqwest::Client, base: &str, state: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let response = client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "ready whatever the broker does");
        let body: serde_json::Value = response.json().await.unwrap();
        if body["broker"] == state {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the broker is not reported {state}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
