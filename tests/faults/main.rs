//! Faults under load (issue 9): the real binary under a constant write load
//! while the process is killed, its PostgreSQL restarted, its RabbitMQ
//! stopped, and slow or oversized requests arrive. Each test asserts that
//! nothing acknowledged is lost, nothing happens twice, and Keel recovers
//! without being restarted.
//!
//! `cargo xtask test` runs this binary (feature `fault-tests`) after the other
//! suites, one test at a time (timings must not compete), in its short form;
//! `cargo xtask bench --faults` runs it with `KEEL_FAULTS_LONG=1`: longer
//! loads and outages, and the 2× P99 bound asserted strictly.
//!
//! The PostgreSQL and RabbitMQ faults happen to servers the test starts for
//! itself (`services.rs`), never to the shared ones other suites use.

mod load;
mod postgres_restart;
mod rabbitmq_outage;
mod services;
mod sigkill;
mod slow_clients;
#[path = "../api/support.rs"]
mod support;

use std::time::Duration;

/// `KEEL_FAULTS_LONG=1`: the benchmark's long form.
pub fn long() -> bool {
    std::env::var("KEEL_FAULTS_LONG").is_ok_and(|v| v == "1" || v == "true")
}

/// `short` in the test suite, `long` under `cargo xtask bench --faults`.
pub fn pick(short: Duration, long: Duration) -> Duration {
    if self::long() { long } else { short }
}

/// Runs a blocking step (a server's stop or start: seconds of waiting on a
/// child process) off the runtime, so the load and the samplers go on meanwhile.
pub async fn blocking<T: Send + 'static, R: Send + 'static>(
    mut value: T,
    step: impl FnOnce(&mut T) -> R + Send + 'static,
) -> (T, R) {
    tokio::task::spawn_blocking(move || {
        let result = step(&mut value);
        (value, result)
    })
    .await
    .expect("the step ran")
}
