//! Three replicas of the real binary on one PostgreSQL and one RabbitMQ
//! (issue 8, item 6), started at the same moment on one keys directory, with
//! requests spread round-robin across them: migrations run once, the saga
//! neither oversells nor charges twice, each event is published and consumed
//! once in effect, idempotency keys hold across replicas, and SIGKILL of one
//! replica in the middle of a stream of orders loses nothing acknowledged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use keel_client::types::OrderStatus;
use keel_client::types::orders::{PlaceOrderRequest, PlaceOrderResponse};
use keel_client::types::users::{CreateUserRequest, CreateUserResponse};
use keel_client::types::{Order, Tristate};
use migration::MigratorTrait;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::harness::{Broker, amqp_url};
use crate::support::{
    CHARGES, KeelProcess, TestDatabase, count, new_order, new_user, product_via, settle, stock_via,
    wait_for_count,
};

const REPLICAS: usize = 3;
const CUSTOMERS: usize = 6;

/// The three processes, and a client per (caller, replica).
struct Cluster {
    replicas: Vec<KeelProcess>,
    tokens: keel::auth::AccessTokens,
}

impl Cluster {
    /// Starts the replicas together, each from its own thread, so their
    /// migrations, key loading and topology declarations overlap.
    fn start(database: &TestDatabase, keys: &std::path::Path, broker: &Broker) -> Cluster {
        let amqp = amqp_url();
        let env = [
            ("AMQP_URL", amqp.as_str()),
            ("KEEL_EVENTS_PREFIX", broker.prefix.as_str()),
            // Per replica, and this test's clients all come from 127.0.0.1.
            ("KEEL_RATE_LIMIT_PER_MINUTE", "100000"),
            // The provider answers after it has charged: a kill can land between.
            ("KEEL_TEST_GATEWAY_LATENCY_MS", "50"),
            ("KEEL_LOG", "warn"),
        ];
        let replicas: Vec<KeelProcess> = std::thread::scope(|scope| {
            let starting: Vec<_> = (0..REPLICAS)
                .map(|_| scope.spawn(|| KeelProcess::start_with_keys(&database.url, keys, &env)))
                .collect();
            starting
                .into_iter()
                .map(|s| s.join().expect("a replica starts"))
                .collect()
        });
        let tokens = replicas[0].tokens();
        Cluster { replicas, tokens }
    }

    fn client(&self, replica: usize, token: &str) -> keel_client::Client {
        keel_client::Client::builder(&self.replicas[replica].base)
            .bearer(token.to_owned())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a generated client")
    }
}

/// A customer, and a client acting as them on each replica.
struct Customer {
    on: Vec<keel_client::Client>,
}

#[tokio::test]
async fn three_replicas_share_one_database_and_one_broker_and_lose_nothing_when_one_is_killed() {
    let database = TestDatabase::create().await;
    assert!(
        database.url.starts_with("postgres"),
        "replicas share a PostgreSQL: set KEEL_TEST_DATABASE to a postgres:// URL"
    );
    let broker = Broker::connect().await;
    // Empty: the replicas generate the keys, racing for it.
    let keys = std::env::temp_dir().join(format!("keel-replicas-{}", Uuid::now_v7()));
    let mut cluster = Cluster::start(&database, &keys, &broker);
    let db = sea_orm::Database::connect(&database.url).await.unwrap();

    // a) One set of migrations, three ready replicas.
    migrations_ran_once(&db).await;
    for replica in &cluster.replicas {
        wait_until_ready(replica).await;
    }
    let admin = cluster.tokens.issue(Uuid::now_v7(), "admin");
    let admins: Vec<_> = (0..REPLICAS).map(|r| cluster.client(r, &admin)).collect();
    let customers = customers(&cluster, &admins).await;

    // b) Sixty orders for twenty units, round-robin.
    let tap = broker.tap("order.#").await;
    let teapot = product_via(&admins[0], 700, 20).await;
    let orders = place_round_robin(&customers, teapot, 60).await;
    for (r, replica) in cluster.replicas.iter().enumerate() {
        assert_eq!(
            placed_orders_served(replica).await,
            20,
            "replica {r} placed its third of the orders"
        );
    }
    let mut settled = Vec::new();
    for (n, order) in orders.iter().enumerate() {
        // Read back through another replica than the one that placed it.
        let reader = &customers[n % CUSTOMERS].on[(n + 1) % REPLICAS];
        settled.push(settle(reader, order.id).await);
    }
    let confirmed: Vec<&Order> = settled
        .iter()
        .filter(|o| o.status == OrderStatus::Confirmed)
        .collect();
    let rejected = settled
        .iter()
        .filter(|o| o.status == OrderStatus::Rejected)
        .count();
    assert_eq!((confirmed.len(), rejected), (20, 40), "no oversell");
    for admin in &admins {
        assert_eq!(stock_via(admin, teapot).await, (0, 0));
    }
    assert_eq!(
        count(&db, CHARGES).await,
        20,
        "one charge per confirmed order"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM payments").await, 20);
    each_event_once_in_effect(&db, &broker).await;
    for order in &confirmed {
        told_once(&db, order.id).await;
    }
    // No failure, so no redelivery: each event crossed the exchange once.
    let published = count(
        &db,
        "SELECT COUNT(*) FROM outbox_events WHERE event_name LIKE 'order.%'",
    )
    .await;
    let copies = drain_until(&broker, &tap, published as usize).await;
    let ids: BTreeSet<&str> = copies.iter().map(String::as_str).collect();
    assert_eq!(
        copies.len() as i64,
        published,
        "each order event published once"
    );
    assert_eq!(ids.len(), copies.len());

    // c) One key, one body, sent to every replica at once: one order, one charge.
    let orders_before = count(&db, "SELECT COUNT(*) FROM orders").await;
    let kettle = product_via(&admins[1], 900, 100).await;
    let body = new_order(kettle, 2, "tok_approve");
    let replies: Vec<PlaceOrderResponse> =
        futures_util::future::join_all((0..REPLICAS * 4).map(|n| {
            let request = PlaceOrderRequest {
                idempotency_key: "shared-key".into(),
                body: body.clone(),
            };
            let client = customers[0].on[n % REPLICAS].clone();
            async move { client.place_order(&request).await.unwrap().value }
        }))
        .await;
    let (mut ids, mut replays) = (BTreeSet::new(), 0);
    for reply in replies {
        let PlaceOrderResponse::Created {
            body,
            idempotent_replayed,
            ..
        } = reply
        else {
            panic!("the shared key: {reply:?}");
        };
        ids.insert(body.id);
        replays += usize::from(idempotent_replayed.as_deref() == Some("true"));
    }
    assert_eq!(ids.len(), 1, "every replica answers with the one order");
    assert_eq!(
        replays,
        REPLICAS * 4 - 1,
        "one placed it, the rest replayed"
    );
    let the_order = *ids.first().unwrap();
    assert_eq!(
        settle(&customers[0].on[2], the_order).await.status,
        OrderStatus::Confirmed
    );
    for r in 0..REPLICAS {
        let other = PlaceOrderRequest {
            idempotency_key: "shared-key".into(),
            body: new_order(kettle, 3, "tok_approve"),
        };
        let reply = customers[0].on[r].place_order(&other).await.unwrap();
        let PlaceOrderResponse::UnprocessableContent(problem) = reply.value else {
            panic!(
                "another body with the key on replica {r}: {:?}",
                reply.value
            );
        };
        assert_eq!(problem.type_, "urn:keel:problem:idempotency-key-reused");
    }
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM orders").await,
        orders_before + 1
    );
    assert_eq!(count(&db, CHARGES).await, 21);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM payments").await, 21);
    assert_eq!(stock_via(&admins[2], kettle).await, (98, 0));

    // d) SIGKILL of replica 0 in the middle of a stream of orders.
    let mug = product_via(&admins[2], 300, 1000).await;
    let stream = 45;
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let dead = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sending = tokio::spawn(stream_orders(
        customers.iter().map(|c| c.on.clone()).collect(),
        mug,
        stream,
        acknowledged.clone(),
        dead.clone(),
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.load(Ordering::SeqCst) < stream / 3 {
        assert!(Instant::now() < deadline, "the stream does not flow");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    cluster.replicas[0].kill();
    dead.store(true, Ordering::SeqCst);
    let in_flight = count(
        &db,
        "SELECT COUNT(*) FROM orders WHERE status IN ('pending', 'stock_reserved', 'paid')",
    )
    .await;
    assert!(in_flight > 0, "the kill landed while sagas were running");
    let streamed = sending.await.unwrap();
    assert_eq!(streamed.len(), stream, "every order was acknowledged");
    let mut finished = Vec::new();
    for (n, order) in streamed.iter().enumerate() {
        finished.push(settle(&customers[n % CUSTOMERS].on[1 + n % 2], order.id).await);
    }
    assert!(
        finished.iter().all(|o| o.status == OrderStatus::Confirmed),
        "the survivors finished every saga: {:?}",
        finished
            .iter()
            .filter(|o| o.status != OrderStatus::Confirmed)
            .collect::<Vec<_>>()
    );
    let distinct: BTreeSet<Uuid> = streamed.iter().map(|o| o.id).collect();
    assert_eq!(
        distinct.len(),
        stream,
        "a retried key placed no second order"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM orders").await,
        orders_before + 1 + stream as i64,
        "nothing placed twice, nothing lost"
    );
    assert_eq!(stock_via(&admins[1], mug).await, (1000 - stream as i64, 0));
    let confirmed_in_all = 20 + 1 + stream as i64;
    assert_eq!(
        count(&db, CHARGES).await,
        confirmed_in_all,
        "no charge twice"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM payments").await,
        confirmed_in_all
    );
    each_event_once_in_effect(&db, &broker).await;
    for order in &finished {
        told_once(&db, order.id).await;
    }

    drop(cluster);
    broker.clean_up().await;
    let _ = std::fs::remove_dir_all(&keys);
}

async fn migrations_ran_once(db: &DatabaseConnection) {
    let defined = migration::Migrator::migrations().len() as i64;
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM seaql_migrations").await,
        defined,
        "each migration recorded once"
    );
    assert_eq!(
        count(db, "SELECT COUNT(DISTINCT version) FROM seaql_migrations").await,
        defined
    );
}

/// Waits until the replica is ready with its consumers on the broker.
async fn wait_until_ready(replica: &KeelProcess) {
    let client = replica.client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = client
            .get(format!("{}/health/ready", replica.base))
            .send()
            .await
            .expect("readiness answers");
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        if status == 200 && body["broker"] == "up" {
            assert_eq!(body["database"], "up", "{body}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} is not ready: {status} {body}",
            replica.base
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Registers the customers, each through another replica, with a phone
/// number (encrypted at rest) that every replica must be able to read back.
async fn customers(cluster: &Cluster, admins: &[keel_client::Client]) -> Vec<Customer> {
    let mut customers = Vec::new();
    for n in 0..CUSTOMERS {
        let mut body = new_user(
            &format!("customer-{n}-{}@example.com", Uuid::now_v7()),
            &format!("Customer {n}"),
        );
        body.phone = Tristate::Value(format!("+3161234567{n}"));
        let reply = admins[n % REPLICAS]
            .create_user(&CreateUserRequest { body })
            .await
            .unwrap();
        let CreateUserResponse::Created { body: user, .. } = reply.value else {
            panic!("creating customer {n}: {:?}", reply.value);
        };
        let token = cluster.tokens.issue(user.id, "customer");
        let on: Vec<_> = (0..REPLICAS).map(|r| cluster.client(r, &token)).collect();
        for (r, client) in on.iter().enumerate() {
            let read = client
                .get_user(&keel_client::types::users::GetUserRequest { user_id: user.id })
                .await
                .unwrap();
            let keel_client::types::users::GetUserResponse::Ok { body, .. } = read.value else {
                panic!("customer {n} on replica {r}: {:?}", read.value);
            };
            assert_eq!(
                body.phone,
                Some(format!("+3161234567{n}")),
                "replica {r} decrypts what replica {} encrypted",
                n % REPLICAS
            );
        }
        customers.push(Customer { on });
    }
    customers
}

/// Places `n` orders of one unit, order `i` by customer `i % 6` on replica
/// `i % 3`, each with its own key, twelve at a time; in order of `i`.
async fn place_round_robin(customers: &[Customer], product: Uuid, n: usize) -> Vec<Order> {
    futures_util::stream::iter(0..n)
        .map(|i| {
            let client = customers[i % CUSTOMERS].on[i % REPLICAS].clone();
            async move {
                let request = PlaceOrderRequest {
                    idempotency_key: format!("order-{i}"),
                    body: new_order(product, 1, "tok_approve"),
                };
                match client.place_order(&request).await.unwrap().value {
                    PlaceOrderResponse::Created { body, .. } => body,
                    other => panic!("order {i}: {other:?}"),
                }
            }
        })
        .buffered(12)
        .collect()
        .await
}

/// Sends `n` orders round-robin, six at a time, and returns them in order.
/// Once `dead` is set the first replica gets no new requests (the load
/// balancer took it out); a request that fails on it is sent again, with the
/// same key, to the next replica, as a client retrying through the load
/// balancer would. Counts each 201 in `acknowledged`.
async fn stream_orders(
    clients: Vec<Vec<keel_client::Client>>,
    product: Uuid,
    n: usize,
    acknowledged: Arc<AtomicUsize>,
    dead: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<Order> {
    let clients = &clients;
    futures_util::stream::iter(0..n)
        .map(|i| {
            let (acknowledged, dead) = (acknowledged.clone(), dead.clone());
            async move {
                let request = PlaceOrderRequest {
                    idempotency_key: format!("stream-{i}"),
                    body: new_order(product, 1, "tok_approve"),
                };
                let mut replica = i % REPLICAS;
                if replica == 0 && dead.load(Ordering::SeqCst) {
                    replica = 1;
                }
                let mut tries = 0;
                loop {
                    tries += 1;
                    let reply = clients[i % CUSTOMERS][replica].place_order(&request).await;
                    match reply.map(|r| r.value) {
                        Ok(PlaceOrderResponse::Created { body, .. }) => {
                            acknowledged.fetch_add(1, Ordering::SeqCst);
                            return body;
                        }
                        Ok(other) => panic!("order stream-{i} on replica {replica}: {other:?}"),
                        // Only the killed replica may fail to answer.
                        Err(error) => {
                            assert_eq!(replica, 0, "stream-{i} on replica {replica}: {error}");
                            assert!(tries < 3, "stream-{i}: {error}");
                            replica = 1 + i % 2;
                        }
                    }
                }
            }
        })
        .buffered(6)
        .collect()
        .await
}

/// `keel_http_requests_total` of `placeOrder`, 2xx, as the replica counts it.
async fn placed_orders_served(replica: &KeelProcess) -> u64 {
    let text = replica
        .client()
        .get(format!("{}/metrics", replica.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = r#"keel_http_requests_total{operation="placeOrder",status_class="2xx"} "#;
    text.lines()
        .find_map(|line| line.strip_prefix(series))
        .map_or(0, |value| value.trim().parse().unwrap())
}

/// Once the pipeline is idle: every event published, each saga step taken
/// once per order (one event of each kind per order that reached it), and
/// each event handled by each of its consumers exactly once.
async fn each_event_once_in_effect(db: &DatabaseConnection, broker: &Broker) {
    wait_for_count(
        db,
        "SELECT COUNT(*) FROM outbox_events WHERE published_at_us IS NULL",
        0,
        Duration::from_secs(60),
    )
    .await;
    let steps: BTreeMap<&str, (&str, Option<&str>)> = BTreeMap::from([
        // event → (the orders that must have exactly one, its consumer)
        ("order.placed", ("", Some("orders"))),
        ("order.stock_reserved", ("'confirmed'", Some("orders"))),
        ("order.paid", ("'confirmed'", Some("orders"))),
        ("order.confirmed", ("'confirmed'", Some("notifications"))),
        ("order.rejected", ("'rejected'", None)),
        ("user.registered", ("", Some("notifications"))),
    ]);
    for (event, (statuses, consumer)) in steps {
        let expected = match (event, statuses) {
            ("user.registered", _) => count(db, "SELECT COUNT(*) FROM users").await,
            (_, "") => count(db, "SELECT COUNT(*) FROM orders").await,
            (_, statuses) => {
                count(
                    db,
                    &format!("SELECT COUNT(*) FROM orders WHERE status IN ({statuses})"),
                )
                .await
            }
        };
        let recorded = format!("SELECT COUNT(*) FROM outbox_events WHERE event_name = '{event}'");
        assert_eq!(count(db, &recorded).await, expected, "`{event}` events");
        let aggregates = format!(
            "SELECT COUNT(DISTINCT aggregate_id) FROM outbox_events WHERE event_name = '{event}'"
        );
        assert_eq!(count(db, &aggregates).await, expected, "one `{event}` each");
        if let Some(consumer) = consumer {
            // An inbox row is committed with the handler's effect, once per
            // (consumer, event id) by its key: each event handled once.
            let handled = format!(
                "SELECT COUNT(*) FROM outbox_events o JOIN event_inbox i \
                 ON i.event_id = o.id AND i.consumer = '{consumer}' \
                 WHERE o.event_name = '{event}'"
            );
            wait_for_count(db, &handled, expected, Duration::from_secs(60)).await;
        }
    }
    // Nothing handled that was never recorded, nothing dead-lettered.
    for consumer in [
        keel::notifications::CONSUMER,
        keel::orders::saga::CONSUMER,
        keel::payments::service::CONSUMER,
    ] {
        let dead = broker
            .drain(&broker.queue(&format!("{consumer}.dead")))
            .await;
        assert!(
            dead.is_empty(),
            "{} dead-lettered by `{consumer}`",
            dead.len()
        );
    }
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM event_inbox i \
             WHERE NOT EXISTS (SELECT 1 FROM outbox_events o WHERE o.id = i.event_id)"
        )
        .await,
        0
    );
}

/// The customer of a confirmed order was told once.
async fn told_once(db: &DatabaseConnection, order: Uuid) {
    let sql = format!(
        "SELECT COUNT(*) FROM notifications \
         WHERE kind = 'order_confirmed' AND body LIKE '%{order}%'"
    );
    wait_for_count(db, &sql, 1, Duration::from_secs(30)).await;
}

/// The message ids the tap has received, once `expected` have come (and a
/// moment more, for any copy beyond them).
async fn drain_until(broker: &Broker, tap: &str, expected: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while seen.len() < expected && Instant::now() < deadline {
        seen.extend(broker.drain(tap).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    seen.extend(broker.drain(tap).await);
    seen.iter()
        .map(|m| {
            m.delivery
                .properties
                .message_id()
                .clone()
                .expect("events carry their id")
                .to_string()
        })
        .collect()
}
