//! PostgreSQL stopped and started again under a write load (a cluster of the
//! test's own): readiness goes false while it is away, requests are answered
//! at once with 503 problem+json and `Retry-After` (none hangs, none is a
//! 500), the server recovers by itself, and nothing acknowledged is lost.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::load::{self, Load, Outcome};
use crate::services::PgCluster;
use crate::support::KeelProcess;

/// The server's own defaults, which the bounds below are derived from.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
const PROBE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_under_load_fails_fast_with_503_and_recovers_without_a_restart() {
    let cluster = tokio::task::spawn_blocking(PgCluster::start).await.unwrap();
    let admin = sea_orm::Database::connect(cluster.url("postgres"))
        .await
        .unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&admin, "CREATE DATABASE keel")
        .await
        .unwrap();
    admin.close().await.unwrap();
    let url = cluster.url("keel");
    let mut keel = KeelProcess::start(
        &url,
        &[
            ("KEEL_RATE_LIMIT_PER_MINUTE", "10000000"),
            ("KEEL_LOG", "warn"),
        ],
    );
    let target = load::shop(&keel.base, &keel.tokens()).await;
    let load = Load::start(target.clone(), 4);
    let readiness = Readiness::watch(&keel.base, load.started);
    load.until_more(20, Duration::from_secs(60)).await;
    let outage = crate::pick(Duration::from_secs(4), Duration::from_secs(20));
    let stopped_at = load.started.elapsed();
    let (cluster, ()) = crate::blocking(cluster, PgCluster::stop).await;
    tokio::time::sleep(outage).await;
    let restarting_at = load.started.elapsed();
    let (cluster, ()) = crate::blocking(cluster, PgCluster::start_again).await;
    let started_at = load.started.elapsed();
    // Recovered: ready again and writing, with no help.
    readiness
        .until_ready_after(started_at, Duration::from_secs(30))
        .await;
    load.until_more(20, Duration::from_secs(30)).await;
    let recovered_at = load.started.elapsed();
    let attempts = load.stop().await;
    let probes = readiness.stop().await;
    assert!(keel.is_running(), "Keel recovered without a restart");

    println!(
        "PostgreSQL down from {stopped_at:?} to {started_at:?}; writes acknowledged again by {recovered_at:?}; {}",
        load::describe(&attempts)
    );
    // Every answer is a 2xx or the outage's 503, and none hung.
    let mut refusals = Vec::new();
    for attempt in &attempts {
        match &attempt.outcome {
            Outcome::Placed(_) => {}
            Outcome::Refused {
                status,
                content_type,
                problem_type,
                retry_after,
            } => {
                assert_eq!(*status, 503, "{attempt:?}");
                assert_eq!(content_type, "application/problem+json", "{attempt:?}");
                assert_eq!(
                    problem_type, "urn:keel:problem:database-unavailable",
                    "{attempt:?}"
                );
                let seconds: u64 = retry_after
                    .as_deref()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| {
                        panic!("a 503 without a Retry-After in seconds: {attempt:?}")
                    });
                assert!(seconds >= 1, "{attempt:?}");
                refusals.push(attempt.latency);
            }
            Outcome::NoAnswer(error) => panic!("a request got no answer: {error} ({attempt:?})"),
        }
        // A request that met the outage waits at most for the pool's acquire
        // timeout (before the probe closes the gate), never longer.
        assert!(
            attempt.latency < ACQUIRE_TIMEOUT + PROBE + Duration::from_secs(3),
            "a request hung for {:?}: {attempt:?}",
            attempt.latency
        );
    }
    // Fail fast: a request sent while the database was down was answered
    // while it was still down, not when it came back (nor after the pool's
    // acquire timeout). Only the probe's notice (its interval plus its
    // timeout) may pass first, so the outage is longer than that.
    assert!(outage > PROBE * 2 + Duration::from_secs(1));
    for attempt in &attempts {
        if attempt.sent_at > stopped_at
            && attempt.sent_at + Duration::from_millis(500) < restarting_at
        {
            assert!(
                attempt.sent_at + attempt.latency <= restarting_at,
                "a request sent {:?} into the outage waited for the database to come back: {attempt:?}",
                attempt.sent_at - stopped_at
            );
        }
    }
    assert!(!refusals.is_empty(), "the outage was met by requests");
    let median = load::percentile(&mut refusals, 50.0);
    let slowest = load::percentile(&mut refusals, 100.0);
    println!(
        "{} answered 503: median {median:?}, slowest {slowest:?}",
        refusals.len()
    );
    // Most are refused by the edge before they touch the pool.
    assert!(
        median < Duration::from_secs(1),
        "503s are not fast: median {median:?} over {} refusals",
        refusals.len()
    );

    // Readiness went false soon after the stop, answered promptly throughout,
    // and came back.
    let first_unready = probes
        .iter()
        .find(|p| p.at > stopped_at && p.status == 503)
        .unwrap_or_else(|| panic!("readiness never failed: {probes:?}"));
    println!(
        "readiness false {:?} after the stop; slowest readiness answer {:?}",
        first_unready.at - stopped_at,
        probes.iter().map(|p| p.latency).max().unwrap()
    );
    assert!(
        first_unready.at - stopped_at < PROBE * 2 + Duration::from_secs(3),
        "readiness took {:?} to fail",
        first_unready.at - stopped_at
    );
    for probe in &probes {
        assert!(
            probe.latency < PROBE + Duration::from_secs(2),
            "a readiness check took {:?}",
            probe.latency
        );
    }

    // Nothing acknowledged is lost; the refused keys, sent again, place once.
    let retried = load::retry_unacknowledged(&target, &attempts).await;
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let mut all: Vec<Uuid> = load::placed(&attempts);
    all.extend(&retried);
    load::verify_orders(&db, &keel.client(), &keel.base, &target.token, &all).await;
    load::one_order_per_key(&db, &attempts, &retried).await;
    db.close().await.unwrap();
    drop(keel);
    drop(cluster);
}

#[derive(Debug, Clone)]
struct Probe {
    at: Duration,
    status: u16,
    latency: Duration,
}

/// Polls `/health/ready` every 100 ms, as an orchestrator would.
struct Readiness {
    probes: Arc<Mutex<Vec<Probe>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Readiness {
    /// Probe times are measured from `started`.
    fn watch(base: &str, started: Instant) -> Readiness {
        let probes = Arc::new(Mutex::new(Vec::new()));
        let (url, seen) = (format!("{base}/health/ready"), probes.clone());
        let task = tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap();
            loop {
                let sent = Instant::now();
                let status = client
                    .get(&url)
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                seen.lock().unwrap().push(Probe {
                    at: sent - started,
                    status,
                    latency: sent.elapsed(),
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Readiness { probes, task }
    }

    /// Waits for a 200 to a probe sent after `after`.
    async fn until_ready_after(&self, after: Duration, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let last = self.probes.lock().unwrap().last().cloned();
            if last.is_some_and(|p| p.status == 200 && p.at > after) {
                return;
            }
            assert!(Instant::now() < deadline, "readiness did not come back");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(self) -> Vec<Probe> {
        self.task.abort();
        let _ = self.task.await;
        self.probes.lock().unwrap().clone()
    }
}
