//! The must-haves of the event pipeline with RabbitMQ: delivery, an outage,
//! a redelivery, a poison message, and two replicas sharing the broker.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use keel_client::types::users::{CreateUserRequest, CreateUserResponse};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

use crate::harness::{Broker, Proxy, SmtpServer, free_port};
use crate::support::{TestApp, TestDatabase, count, new_user, wait_for_count};

async fn create_users(app: &TestApp, prefix: &str, n: usize) -> Vec<Uuid> {
    futures_util::stream::iter(0..n)
        .map(|i| async move {
            let request = CreateUserRequest {
                body: new_user(&format!("{prefix}-{i}@example.com"), &format!("User {i}")),
            };
            match app
                .api
                .create_user(&request)
                .await
                .expect("POST is answered")
                .value
            {
                CreateUserResponse::Created { body, .. } => body.id,
                other => panic!("creating user {i}: {other:?}"),
            }
        })
        .buffer_unordered(16)
        .collect()
        .await
}

#[tokio::test]
async fn a_registration_is_welcomed_through_rabbitmq_and_mailed_over_smtp() {
    let broker = Broker::connect().await;
    let smtp = SmtpServer::start();
    let mut settings = broker.settings(&crate::harness::amqp_url());
    settings.extend(["--smtp-url".to_owned(), smtp.url.clone()]);
    let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
    let app = TestApp::spawn_with(&settings).await;
    broker.wait_for_topology().await;

    let tap = broker.tap("user.registered.v1").await;

    let trace_id = Uuid::now_v7().simple().to_string();
    let response = app
        .request(reqwest::Method::POST, "/v1/users")
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&serde_json::json!({"email": "ada@example.com", "displayName": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let user: serde_json::Value = response.json().await.unwrap();
    let user_id: Uuid = user["id"].as_str().unwrap().parse().unwrap();
    let found = app.notifications(user_id, 1).await;
    assert!(found[0].body.contains("Hello Ada"));

    // The request's trace went out in the message's headers.
    let copies = broker.drain(&tap).await;
    assert_eq!(copies.len(), 1);
    let headers = copies[0].delivery.properties.headers().clone().unwrap();
    let traceparent = match headers.inner().get(&ShortString::from("traceparent")) {
        Some(AMQPValue::LongString(value)) => {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        }
        other => panic!("no traceparent header: {other:?}"),
    };
    assert_eq!(
        keel::platform::trace::trace_id(&traceparent),
        Some(trace_id.as_str())
    );

    let mail = smtp.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].0, vec!["ada@example.com".to_owned()]);
    assert!(
        mail[0].1.contains("Subject: Welcome to Keel"),
        "{}",
        mail[0].1
    );
    assert!(
        mail[0].1.contains(&format!("<{}@keel>", found[0].id)),
        "the Message-ID is the notification's: {}",
        mail[0].1
    );
    broker.clean_up().await;
}

#[tokio::test]
async fn an_outage_of_the_broker_loses_nothing_and_doubles_nothing() {
    let broker = Broker::connect().await;
    let proxy = Proxy::start().await;
    let settings = broker.settings(&proxy.url());
    let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
    let app = TestApp::spawn_with(&settings).await;
    broker.wait_for_topology().await;
    let db = app.database().await;

    // The topology is declared per consumer (three of them): the connection is
    // reported up once all of it is, a moment after the first queue appears.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ready: serde_json::Value = app.get("/health/ready").await.json().await.unwrap();
        if ready["broker"] == "up" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{ready}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    proxy.cut();
    // Readiness reports the broker down but stays 200: writes still succeed.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = app.get("/health/ready").await;
        assert_eq!(response.status(), 200);
        let ready: serde_json::Value = response.json().await.unwrap();
        if ready["broker"] == "down" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the broker still reads up: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let users = create_users(&app, "outage", 500).await;
    assert_eq!(users.len(), 500, "every write was acknowledged");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM outbox_events WHERE published_at_us IS NULL"
        )
        .await,
        500,
        "with the broker away, the events wait in the outbox"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM notifications").await, 0);

    proxy.restore();
    wait_for_count(
        &db,
        "SELECT COUNT(DISTINCT user_id) FROM notifications",
        500,
        Duration::from_secs(120),
    )
    .await;
    wait_for_count(
        &db,
        "SELECT COUNT(*) FROM outbox_events WHERE published_at_us IS NULL",
        0,
        Duration::from_secs(30),
    )
    .await;
    // Let any duplicate still in flight land before counting effects.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM notifications").await, 500);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM event_inbox").await, 500);
    broker.clean_up().await;
}

#[tokio::test]
async fn a_redelivered_event_has_no_second_effect() {
    let broker = Broker::connect().await;
    let settings = broker.settings(&crate::harness::amqp_url());
    let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
    let app = TestApp::spawn_with(&settings).await;
    broker.wait_for_topology().await;
    let (first, _) = app.create_user("first@example.com", "First").await;
    app.notifications(first.id, 1).await;

    // The same event again, as the broker would redeliver it.
    let db = app.database().await;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, payload FROM outbox_events",
        ))
        .await
        .unwrap()
        .unwrap();
    let event_id: Uuid = row.try_get("", "id").unwrap();
    let payload: String = row.try_get("", "payload").unwrap();
    let mut headers = FieldTable::default();
    headers.insert(
        "x-keel-aggregate-id".into(),
        AMQPValue::LongString(first.id.to_string().into()),
    );
    let properties = BasicProperties::default()
        .with_message_id(ShortString::from(event_id.to_string()))
        .with_type("user.registered.v1".into())
        .with_headers(headers);
    broker
        .publish("user.registered.v1", payload.as_bytes(), properties)
        .await;

    // A later event is consumed after the copy, so once it has taken effect
    // the copy has been handled too.
    let (second, _) = app.create_user("second@example.com", "Second").await;
    app.notifications(second.id, 1).await;
    app.notifications(first.id, 1).await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM event_inbox").await, 2);
    assert!(
        broker
            .drain(&broker.queue("notifications.dead"))
            .await
            .is_empty(),
        "the copy was a duplicate, not a failure"
    );
    broker.clean_up().await;
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_after_its_attempts_and_the_rest_flow_on() {
    let broker = Broker::connect().await;
    let smtp = SmtpServer::start();
    let mut settings = broker.settings(&crate::harness::amqp_url());
    settings.extend(
        [
            "--smtp-url",
            &smtp.url,
            "--event-max-attempts",
            "3",
            "--event-retry-delay-ms",
            "100",
        ]
        .map(str::to_owned),
    );
    let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
    let app = TestApp::spawn_with(&settings).await;
    broker.wait_for_topology().await;

    // The SMTP server answers 451 (try later) for this address, every time.
    let (poisoned, _) = app.create_user("fail-always@example.com", "Unlucky").await;
    let (fine, _) = app.create_user("fine@example.com", "Fine").await;
    app.notifications(fine.id, 1).await;

    let dead_queue = broker.queue("notifications.dead");
    let deadline = Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let dead = broker.drain(&dead_queue).await;
        if !dead.is_empty() {
            break dead;
        }
        assert!(
            Instant::now() < deadline,
            "nothing dead-lettered after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(dead.len(), 1);
    let properties = &dead[0].delivery.properties;
    let headers = properties.headers().clone().unwrap();
    let header = |name: &str| headers.inner().get(&ShortString::from(name)).cloned();
    assert_eq!(header("x-keel-attempt"), Some(AMQPValue::LongLongInt(3)));
    let reason = match header("x-keel-dead-reason") {
        Some(AMQPValue::LongString(reason)) => {
            String::from_utf8_lossy(reason.as_bytes()).into_owned()
        }
        other => panic!("no reason: {other:?}"),
    };
    assert!(reason.contains("451"), "{reason}");
    let payload: serde_json::Value = serde_json::from_slice(&dead[0].delivery.data).unwrap();
    assert_eq!(payload["userId"], poisoned.id.to_string());

    // Each attempt rolled back: no notification, no inbox entry for it.
    let db = app.database().await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM notifications").await, 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM event_inbox").await, 1);

    // And the consumer goes on.
    let (later, _) = app.create_user("later@example.com", "Later").await;
    app.notifications(later.id, 1).await;
    assert_eq!(smtp.messages().len(), 2, "fine@ and later@ got their mail");
    broker.clean_up().await;
}

/// A Keel server process of its own.
struct Replica {
    base: String,
    child: std::process::Child,
}

impl Replica {
    fn start(database_url: &str, keys: &std::path::Path, broker: &Broker) -> Replica {
        let port = free_port();
        let log = std::fs::File::create(keys.join(format!("replica-{port}.log"))).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_keel"))
            .env("KEEL_LISTEN", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("AMQP_URL", crate::harness::amqp_url())
            .env("KEEL_EVENTS_PREFIX", &broker.prefix)
            .env("KEEL_JWT_KEYS_DIR", keys.join("jwt"))
            .env("KEEL_FIELD_KEYS_DIR", keys.join("fields"))
            .env("KEEL_RATE_LIMIT_PER_MINUTE", "100000")
            .env("KEEL_LOG", "warn")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting keel");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the replica on {port} did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Replica {
            base: format!("http://127.0.0.1:{port}"),
            child,
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn two_server_processes_publish_each_event_exactly_once() {
    let database = TestDatabase::create().await;
    assert!(
        database.url.starts_with("postgres"),
        "two replicas share a PostgreSQL: set KEEL_TEST_DATABASE to a postgres:// URL"
    );
    let broker = Broker::connect().await;
    let keys = std::env::temp_dir().join(format!("keel-replicas-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&keys).unwrap();
    let signing = keel::auth::SigningKeys::load_or_create(&keys.join("jwt")).unwrap();
    let tokens = keel::auth::AccessTokens::new(
        signing,
        keel::auth::RoleScopes::parse("admin=users:read users:write users:admin").unwrap(),
        900,
    );
    let admin = tokens.issue(Uuid::now_v7(), "admin");
    // One after the other: the first applies the migrations.
    let first = Replica::start(&database.url, &keys, &broker);
    let second = Replica::start(&database.url, &keys, &broker);
    broker.wait_for_topology().await;
    let tap = broker.tap("user.registered.v1").await;

    let client = reqwest::Client::new();
    let n = 200;
    let created: Vec<Uuid> = futures_util::stream::iter(0..n)
        .map(|i| {
            let base = if i % 2 == 0 {
                &first.base
            } else {
                &second.base
            };
            let request = client
                .post(format!("{base}/v1/users"))
                .bearer_auth(&admin)
                .json(&serde_json::json!({
                    "email": format!("replica-{i}@example.com"),
                    "displayName": format!("Replica {i}"),
                }));
            async move {
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 201);
                let body: serde_json::Value = response.json().await.unwrap();
                body["id"].as_str().unwrap().parse::<Uuid>().unwrap()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(created.len(), n);

    let db = sea_orm::Database::connect(&database.url).await.unwrap();
    wait_for_count(
        &db,
        "SELECT COUNT(*) FROM outbox_events WHERE published_at_us IS NULL",
        0,
        Duration::from_secs(60),
    )
    .await;
    wait_for_count(
        &db,
        "SELECT COUNT(DISTINCT user_id) FROM notifications",
        n as i64,
        Duration::from_secs(60),
    )
    .await;
    // Every event on the exchange once: the tap saw each id, none twice.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while seen.len() < n && Instant::now() < deadline {
        seen.extend(broker.drain(&tap).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    seen.extend(broker.drain(&tap).await);
    let ids: BTreeSet<String> = seen
        .iter()
        .map(|m| {
            m.delivery
                .properties
                .message_id()
                .clone()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(seen.len(), n, "{} messages for {n} events", seen.len());
    assert_eq!(ids.len(), n, "each event published once");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM notifications").await,
        n as i64
    );
    drop((first, second));
    broker.clean_up().await;
    let _ = std::fs::remove_dir_all(&keys);
}
