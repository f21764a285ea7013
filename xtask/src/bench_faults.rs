//! The fault suite (`tests/faults`, issue 9): the server killed, its
//! PostgreSQL restarted and its RabbitMQ stopped under a write load, slow and
//! oversized requests beside other clients. `cargo xtask test` runs the short
//! form after the other suites; `cargo xtask bench --faults` runs [`run`], the
//! long form (`KEEL_FAULTS_LONG=1`: longer loads, a 30 s broker outage, the
//! 2× P99 bound asserted strictly), which requires every service.

use std::path::Path;

use anyhow::{Result, bail};

/// What the suite needs besides the shared PostgreSQL: the server binaries
/// to start private PostgreSQL clusters and RabbitMQ nodes, and root (the
/// tests run PostgreSQL's tools as `postgres`).
fn missing_prerequisite() -> Option<String> {
    let postgres = std::env::var("KEEL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| crate::test::DEFAULT_POSTGRES.to_owned());
    if let Err(why) = crate::test::reachable(&postgres, 5432) {
        return Some(format!("PostgreSQL: {why}"));
    }
    let initdb = std::env::var("KEEL_TEST_PG_BIN").map_or_else(
        |_| {
            std::fs::read_dir("/usr/lib/postgresql")
                .into_iter()
                .flatten()
                .filter_map(|e| Some(e.ok()?.path().join("bin")))
                .any(|bin| bin.join("initdb").exists())
        },
        |bin| Path::new(&bin).join("initdb").exists(),
    );
    if !initdb {
        return Some(
            "PostgreSQL's server binaries (initdb; /usr/lib/postgresql/*/bin or KEEL_TEST_PG_BIN) are not installed"
                .into(),
        );
    }
    let rabbit = std::env::var("KEEL_TEST_RABBITMQ_BIN")
        .unwrap_or_else(|_| "/usr/lib/rabbitmq/bin".to_owned());
    if !Path::new(&rabbit).join("rabbitmq-server").exists() {
        return Some(format!(
            "RabbitMQ's server scripts are not in {rabbit} (KEEL_TEST_RABBITMQ_BIN)"
        ));
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return Some("the suite starts PostgreSQL as the `postgres` user, which needs root".into());
    }
    None
}

/// Runs the suite, one test at a time (their timings must not compete).
/// `Ok(Err(why))`: skipped, because something it needs is missing and
/// `require` is off.
pub fn suite(long: bool, require: bool) -> Result<std::result::Result<(), String>> {
    if let Some(why) = missing_prerequisite() {
        if require {
            bail!("the fault suite is required (KEEL_REQUIRE_SERVICES=1) but {why}");
        }
        return Ok(Err(why));
    }
    let postgres = std::env::var("KEEL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| crate::test::DEFAULT_POSTGRES.to_owned());
    crate::test::cargo(
        &[
            "test",
            "--package",
            "keel",
            "--features",
            "fault-tests",
            "--test",
            "faults",
            "--",
            "--test-threads=1",
            "--nocapture",
        ],
        &[
            ("KEEL_TEST_DATABASE", &postgres),
            ("KEEL_FAULTS_LONG", if long { "1" } else { "0" }),
        ],
    )?;
    Ok(Ok(()))
}

/// `cargo xtask bench --faults`: the long form; every service is required.
pub fn run() -> Result<()> {
    suite(true, true)?.map_err(anyhow::Error::msg)?;
    println!("\n== cargo xtask bench --faults: every fault test passed in its long form ==");
    Ok(())
}
