//! SIGKILL of the server in the middle of a constant stream of orders, then a
//! restart on the same database: every order that got a 2xx exists, carries
//! its events and settles; the keys that got no answer, sent again, place
//! their order once; nothing is charged twice. On SQLite and on PostgreSQL.

use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::load::{self, Load};
use crate::support::{KeelProcess, TestDatabase};

/// The PostgreSQL server the shared-database tests create databases on
/// (`cargo xtask test` sets it).
fn postgres_admin_url() -> String {
    std::env::var("KEEL_TEST_DATABASE")
        .ok()
        .filter(|v| v.starts_with("postgres"))
        .expect("KEEL_TEST_DATABASE names the PostgreSQL server (cargo xtask test sets it)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_write_load_on_sqlite_loses_no_acknowledged_order() {
    killed_under_load(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_write_load_on_postgres_loses_no_acknowledged_order() {
    killed_under_load(TestDatabase::postgres(&postgres_admin_url()).await).await;
}

async fn killed_under_load(database: TestDatabase) {
    let keys = std::env::temp_dir().join(format!("keel-fault-kill-{}", Uuid::now_v7()));
    let env = [
        ("KEEL_RATE_LIMIT_PER_MINUTE", "10000000"),
        // The provider answers a moment after it has charged, so sagas are
        // between charge and record when the kill lands.
        ("KEEL_TEST_GATEWAY_LATENCY_MS", "20"),
        ("KEEL_LOG", "warn"),
    ];
    let mut keel = KeelProcess::start_with_keys(&database.url, &keys, &env);
    let tokens = keel.tokens();
    let target = load::shop(&keel.base, &tokens).await;

    let load = Load::start(target.clone(), 6);
    let warm_up = crate::pick(Duration::from_secs(3), Duration::from_secs(20));
    load.until_more(30, Duration::from_secs(60)).await;
    tokio::time::sleep(warm_up).await;
    keel.kill();
    let killed_at = load.started.elapsed();
    // The workers meet the dead port for a moment, as clients would.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let attempts = load.stop().await;
    let acknowledged = load::placed(&attempts);
    println!(
        "killed at {killed_at:?} after {} acknowledged orders; {}",
        acknowledged.len(),
        load::describe(&attempts)
    );
    assert!(acknowledged.len() >= 30, "the load ran");

    let restarted = Instant::now();
    let keel = KeelProcess::start_with_keys(&database.url, &keys, &env);
    println!("restarted in {:?}", restarted.elapsed());
    let target = load::Target {
        base: keel.base.clone(),
        ..target
    };
    let retried = load::retry_unacknowledged(&target, &attempts).await;
    let db = sea_orm::Database::connect(&database.url).await.unwrap();
    let all: Vec<Uuid> = acknowledged.iter().chain(&retried).copied().collect();
    let orders = load::verify_orders(&db, &keel.client(), &keel.base, &target.token, &all).await;
    load::one_order_per_key(&db, &attempts, &retried).await;
    println!(
        "{orders} orders, each confirmed once with one charge; {} keys retried after the restart",
        retried.len()
    );
    drop(keel);
    let _ = std::fs::remove_dir_all(&keys);
}
