//! A constant write load of `placeOrder`, every answer recorded, and the
//! checks that follow a fault: every acknowledged order exists, carries its
//! events and settles; nothing was charged or paid twice.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::support::{CHARGES, count, wait_for_count};

/// One `placeOrder` as the client saw it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub key: String,
    /// Since the load began.
    pub sent_at: Duration,
    pub latency: Duration,
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// 2xx, with the order's id.
    Placed(Uuid),
    /// An HTTP answer that was not 2xx.
    Refused {
        status: u16,
        content_type: String,
        problem_type: String,
        retry_after: Option<String>,
    },
    /// No HTTP answer (connection refused or reset).
    NoAnswer(String),
}

/// Where the orders go, and as whom.
#[derive(Clone)]
pub struct Target {
    pub base: String,
    pub token: String,
    pub product: Uuid,
}

/// Workers placing orders back to back until stopped.
pub struct Load {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<AtomicUsize>,
    attempts: Arc<Mutex<Vec<Attempt>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    pub started: Instant,
}

impl Load {
    pub fn start(target: Target, workers: usize) -> Load {
        Self::paced(target, workers, Duration::ZERO)
    }

    /// As [`Load::start`], each worker pausing `pause` between its orders: a
    /// constant rate the pipeline can settle in the test's time.
    pub fn paced(target: Target, workers: usize, pause: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(AtomicUsize::new(0));
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        // One client per worker: a connection pool each, as separate callers have.
        let handles = (0..workers)
            .map(|worker| {
                let (target, stop, acknowledged, attempts) = (
                    target.clone(),
                    stop.clone(),
                    acknowledged.clone(),
                    attempts.clone(),
                );
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .build()
                    .unwrap();
                tokio::spawn(async move {
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        n += 1;
                        let key = format!("w{worker}-{n}");
                        let attempt = place(&client, &target, &key, started).await;
                        if matches!(attempt.outcome, Outcome::Placed(_)) {
                            acknowledged.fetch_add(1, Ordering::SeqCst);
                        } else {
                            // A refused client waits a moment, as one honouring
                            // Retry-After would (a little), instead of spinning.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        attempts.lock().unwrap().push(attempt);
                        tokio::time::sleep(pause).await;
                    }
                })
            })
            .collect();
        Load {
            stop,
            acknowledged,
            attempts,
            workers: handles,
            started,
        }
    }

    pub fn acknowledged(&self) -> usize {
        self.acknowledged.load(Ordering::SeqCst)
    }

    /// Waits until `n` more orders than now have been acknowledged.
    pub async fn until_more(&self, n: usize, limit: Duration) {
        let target = self.acknowledged() + n;
        let deadline = Instant::now() + limit;
        while self.acknowledged() < target {
            assert!(
                Instant::now() < deadline,
                "the load stalled: {} acknowledged, waiting for {target}",
                self.acknowledged()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the workers (each finishes its request) and returns every attempt.
    pub async fn stop(self) -> Vec<Attempt> {
        self.stop.store(true, Ordering::SeqCst);
        for worker in self.workers {
            worker.await.unwrap();
        }
        let mut attempts = self.attempts.lock().unwrap().clone();
        attempts.sort_by_key(|a| a.sent_at);
        attempts
    }
}

pub fn order_body(product: Uuid) -> serde_json::Value {
    serde_json::json!({
        "items": [{"productId": product, "quantity": 1}],
        "paymentToken": "tok_approve",
    })
}

/// One `placeOrder` with this idempotency key.
pub async fn place(
    client: &reqwest::Client,
    target: &Target,
    key: &str,
    since: Instant,
) -> Attempt {
    let sent = Instant::now();
    let answer = client
        .post(format!("{}/v1/orders", target.base))
        .bearer_auth(&target.token)
        .header("idempotency-key", key)
        .json(&order_body(target.product))
        .send()
        .await;
    let outcome = match answer {
        Ok(response) if response.status().is_success() => {
            let body: serde_json::Value = response.json().await.unwrap();
            Outcome::Placed(body["id"].as_str().unwrap().parse().unwrap())
        }
        Ok(response) => {
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap_or_default().to_owned())
            };
            let (status, content_type, retry_after) = (
                response.status().as_u16(),
                header("content-type").unwrap_or_default(),
                header("retry-after"),
            );
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            Outcome::Refused {
                status,
                content_type,
                problem_type: body["type"].as_str().unwrap_or_default().to_owned(),
                retry_after,
            }
        }
        Err(error) => Outcome::NoAnswer(format!("{error:?}")),
    };
    Attempt {
        key: key.to_owned(),
        sent_at: sent - since,
        latency: sent.elapsed(),
        outcome,
    }
}

/// The ids of the acknowledged orders.
pub fn placed(attempts: &[Attempt]) -> Vec<Uuid> {
    attempts
        .iter()
        .filter_map(|a| match a.outcome {
            Outcome::Placed(id) => Some(id),
            _ => None,
        })
        .collect()
}

/// Sends every key that got no 2xx again, as a client retrying would, and
/// returns the orders the retries placed (or replayed). Each must succeed now.
pub async fn retry_unacknowledged(target: &Target, attempts: &[Attempt]) -> Vec<Uuid> {
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for attempt in attempts {
        if matches!(attempt.outcome, Outcome::Placed(_)) {
            continue;
        }
        let retried = place(&client, target, &attempt.key, Instant::now()).await;
        match retried.outcome {
            Outcome::Placed(id) => ids.push(id),
            other => panic!("retrying {} after recovery: {other:?}", attempt.key),
        }
    }
    ids
}

/// Nearest-rank percentile.
pub fn percentile(latencies: &mut [Duration], p: f64) -> Duration {
    assert!(!latencies.is_empty(), "no latencies to rank");
    latencies.sort();
    let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
    latencies[rank.clamp(1, latencies.len()) - 1]
}

/// Once the pipeline is idle: every order in the database settled as
/// confirmed (there is stock enough and the token approves), every one of
/// `acknowledged` among them, each with one event per saga step handled once
/// by its consumer, one captured charge and one payment; no event left
/// unpublished and none dead-lettered (in-process: `event_dead_letters`).
pub async fn verify_orders(
    db: &DatabaseConnection,
    client: &reqwest::Client,
    base: &str,
    token: &str,
    acknowledged: &[Uuid],
) -> i64 {
    let orders = count(db, "SELECT COUNT(*) FROM orders").await;
    wait_for_count(
        db,
        "SELECT COUNT(*) FROM orders WHERE status = 'confirmed'",
        orders,
        Duration::from_secs(90),
    )
    .await;
    for id in acknowledged {
        let response = client
            .get(format!("{base}/v1/orders/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "acknowledged order {id} is readable"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            body["status"], "confirmed",
            "acknowledged order {id}: {body}"
        );
    }
    wait_for_count(
        db,
        "SELECT COUNT(*) FROM outbox_events WHERE published_at_us IS NULL",
        0,
        Duration::from_secs(90),
    )
    .await;
    for event in [
        "order.placed",
        "order.stock_reserved",
        "order.paid",
        "order.confirmed",
    ] {
        let recorded = format!("SELECT COUNT(*) FROM outbox_events WHERE event_name = '{event}'");
        assert_eq!(
            count(db, &recorded).await,
            orders,
            "one `{event}` per order"
        );
        let distinct = format!(
            "SELECT COUNT(DISTINCT aggregate_id) FROM outbox_events WHERE event_name = '{event}'"
        );
        assert_eq!(
            count(db, &distinct).await,
            orders,
            "`{event}` once per order"
        );
    }
    for (event, consumer) in [
        ("order.placed", "orders"),
        ("order.stock_reserved", "orders"),
        ("order.paid", "orders"),
        ("order.confirmed", "notifications"),
    ] {
        // Inbox rows are keyed (consumer, event id) and committed with the
        // effect: each event's effect happened once.
        let handled = format!(
            "SELECT COUNT(*) FROM outbox_events o JOIN event_inbox i \
             ON i.event_id = o.id AND i.consumer = '{consumer}' WHERE o.event_name = '{event}'"
        );
        wait_for_count(db, &handled, orders, Duration::from_secs(60)).await;
    }
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM event_dead_letters").await,
        0,
        "nothing dead-lettered"
    );
    assert_eq!(
        count(db, CHARGES).await,
        orders,
        "one captured charge per order"
    );
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM payments").await,
        orders,
        "one payment per order"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM (SELECT order_id FROM payments GROUP BY order_id HAVING COUNT(*) > 1) twice"
        )
        .await,
        0,
        "no order paid twice"
    );
    wait_for_count(
        db,
        "SELECT COUNT(*) FROM notifications WHERE kind = 'order_confirmed'",
        orders,
        Duration::from_secs(60),
    )
    .await;
    orders
}

/// Every distinct idempotency key made exactly one order: `keys` keys were
/// sent (some several times), the database holds as many orders.
pub async fn one_order_per_key(db: &DatabaseConnection, attempts: &[Attempt], retried: &[Uuid]) {
    let keys: std::collections::BTreeSet<&str> = attempts.iter().map(|a| a.key.as_str()).collect();
    let acknowledged: std::collections::BTreeSet<Uuid> = placed(attempts)
        .into_iter()
        .chain(retried.iter().copied())
        .collect();
    assert_eq!(
        acknowledged.len(),
        keys.len(),
        "each key acknowledged with its own order"
    );
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM orders").await,
        keys.len() as i64,
        "one order per idempotency key: nothing placed twice, nothing lost"
    );
}

/// Sets up a shop on a running server: a product with stock for any load, and
/// a customer's token.
pub async fn shop(base: &str, tokens: &keel::auth::AccessTokens) -> Target {
    let admin = keel_client::Client::builder(base)
        .bearer(tokens.issue(Uuid::now_v7(), "admin"))
        .build()
        .unwrap();
    let product = crate::support::product_via(&admin, 500, 10_000_000).await;
    // A registered customer, so the confirmations have someone to tell.
    let request = keel_client::types::users::CreateUserRequest {
        body: crate::support::new_user(&format!("buyer-{}@example.com", Uuid::now_v7()), "Buyer"),
    };
    let keel_client::types::users::CreateUserResponse::Created { body: customer, .. } =
        admin.create_user(&request).await.unwrap().value
    else {
        panic!("creating the customer");
    };
    Target {
        base: base.to_owned(),
        token: tokens.issue(customer.id, "customer"),
        product,
    }
}

/// A summary line for the report.
pub fn describe(attempts: &[Attempt]) -> String {
    let mut by_kind = std::collections::BTreeMap::<String, usize>::new();
    for attempt in attempts {
        let kind = match &attempt.outcome {
            Outcome::Placed(_) => "2xx".to_owned(),
            Outcome::Refused {
                status,
                problem_type,
                ..
            } => format!("{status} {problem_type}"),
            Outcome::NoAnswer(_) => "no answer".to_owned(),
        };
        *by_kind.entry(kind).or_default() += 1;
    }
    format!("{} requests: {by_kind:?}", attempts.len())
}
