//! Prometheus metrics. Code everywhere records through the `metrics` facade;
//! this module installs the one exporter of the process and serves its text at
//! `/metrics`. Labels are low-cardinality only: operationId, status class,
//! consumer, pool state; never ids or raw paths.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{DatabaseConnection, DbBackend};
use tokio_util::sync::CancellationToken;

/// From 1 ms to 10 s: request latencies, publish rounds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// From 50 µs to 5 s (the pool's acquire timeout): a healthy pool hands out a
/// connection in well under a millisecond, so the request buckets would put
/// every wait in their first.
const POOL_WAIT_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0,
];

/// The process's exporter, installed on first use. Tests start several servers
/// in one process; they share it, as replicas would not.
pub fn exporter() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .expect("the buckets are not empty")
                // A full name outranks a suffix among the exporter's matchers.
                .set_buckets_for_metric(
                    Matcher::Full("keel_db_pool_wait_seconds".into()),
                    POOL_WAIT_BUCKETS,
                )
                .expect("the buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Only fails if another recorder was installed first; then that one
            // gets the measurements and `/metrics` shows what this one has.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            describe();
            metrics::gauge!(
                "keel_build_info",
                "version" => env!("CARGO_PKG_VERSION"),
                "contract" => keel_server::VERSION,
            )
            .set(1.0);
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "keel_http_requests_total",
        "HTTP requests answered, by operation and status class"
    );
    describe_counter!(
        "keel_http_request_errors_total",
        "HTTP requests answered with a 5xx, by operation"
    );
    describe_histogram!(
        "keel_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by operation and status class"
    );
    describe_gauge!(
        "keel_http_requests_in_flight",
        "HTTP requests being handled"
    );
    describe_gauge!(
        "keel_db_pool_connections",
        "Database pool connections, by state (idle, busy)"
    );
    describe_gauge!(
        "keel_db_pool_max_connections",
        "The database pool's size limit"
    );
    describe_gauge!(
        "keel_db_up",
        "1 while the database probe's last ping was answered, 0 while requests that need it get 503"
    );
    describe_histogram!(
        "keel_db_pool_wait_seconds",
        Unit::Seconds,
        "Time for a unit of work to get a pooled connection and begin its transaction"
    );
    describe_gauge!(
        "keel_outbox_backlog",
        "Events recorded and not yet published"
    );
    describe_gauge!(
        "keel_outbox_oldest_age_seconds",
        Unit::Seconds,
        "Age of the oldest unpublished event"
    );
    describe_counter!("keel_outbox_published_total", "Events the broker confirmed");
    describe_counter!(
        "keel_outbox_publish_failures_total",
        "Events the broker did not take (retried)"
    );
    describe_histogram!(
        "keel_outbox_publish_seconds",
        Unit::Seconds,
        "Time to publish one relay round, confirms included"
    );
    describe_counter!(
        "keel_events_consumed_total",
        "Events handled, by consumer and outcome (processed, duplicate)"
    );
    describe_counter!(
        "keel_events_retried_total",
        "Handler failures scheduled for another attempt, by consumer"
    );
    describe_counter!(
        "keel_events_dead_lettered_total",
        "Events given up on, by consumer"
    );
    describe_counter!(
        "keel_cache_reads_total",
        "Reads a live row cache answered, by cache and outcome (hit, miss)"
    );
    describe_gauge!(
        "keel_change_feed_listening",
        "1 while the change feed listens (row caches serve), else 0"
    );
    describe_counter!(
        "keel_change_feed_connections_total",
        "Times the change feed started listening; more than one means it reconnected"
    );
    describe_gauge!(
        "keel_build_info",
        "Always 1; the labels say which build and contract version run"
    );
}

/// Samples the pool every few seconds until `stop`, and keeps the exporter's
/// histograms trimmed.
pub async fn watch_pool(db: DatabaseConnection, max_connections: u32, stop: CancellationToken) {
    metrics::gauge!("keel_db_pool_max_connections").set(f64::from(max_connections));
    loop {
        let (size, idle) = match db.get_database_backend() {
            DbBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DbBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => (0, 0),
        };
        let idle = idle as f64;
        metrics::gauge!("keel_db_pool_connections", "state" => "idle").set(idle);
        metrics::gauge!("keel_db_pool_connections", "state" => "busy")
            .set((f64::from(size) - idle).max(0.0));
        exporter().run_upkeep();
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

/// `2xx`, `4xx`, …: the status label, bounded to six values.
pub fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}
