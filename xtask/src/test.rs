//! `cargo xtask test`: every suite, on every database this machine offers.

use std::net::{TcpStream, ToSocketAddrs};
use std::process::Command;
use std::time::Duration;

use anyhow::{Result, bail};

/// The server that tests create their throwaway databases on.
pub(crate) const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The broker the event suite declares its own exchanges and queues on.
const DEFAULT_AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// The SMTP server the event suite starts (its script: `tests/broker/smtp_server.py`).
const AIOSMTPD: &str = "aiosmtpd==1.4.6";

pub fn run() -> Result<()> {
    let require = std::env::var("KEEL_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true");
    let mut ran = Vec::new();
    let mut skipped = Vec::new();

    cargo(
        &["test", "--workspace", "--all-targets"],
        &[("KEEL_TEST_DATABASE", "sqlite")],
    )?;
    ran.push("unit tests and black-box API tests on SQLite".to_owned());

    let postgres =
        std::env::var("KEEL_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
    match reachable(&postgres, 5432) {
        Ok(()) => {
            cargo(
                &["test", "--package", "keel", "--lib", "--test", "api"],
                &[("KEEL_TEST_DATABASE", &postgres)],
            )?;
            ran.push(format!(
                "unit tests and black-box API tests on PostgreSQL ({})",
                redact(&postgres)
            ));
        }
        Err(why) if require => bail!("PostgreSQL is required (KEEL_REQUIRE_SERVICES=1) but {why}"),
        Err(why) => skipped.push(format!(
            "unit tests and black-box API tests on PostgreSQL: {why}"
        )),
    }

    let amqp = std::env::var("KEEL_TEST_AMQP_URL").unwrap_or_else(|_| DEFAULT_AMQP.to_owned());
    let broker_suite = reachable(&postgres, 5432)
        .map_err(|why| format!("PostgreSQL: {why}"))
        .and_then(|()| reachable(&amqp, 5672).map_err(|why| format!("RabbitMQ: {why}")));
    match broker_suite {
        Ok(()) => {
            let venv = crate::venv::target_dir().join("aiosmtpd-venv");
            match crate::venv::ensure(&venv, AIOSMTPD) {
                Ok(bin) => {
                    let python = bin.join("python");
                    cargo(
                        &[
                            "test",
                            "--package",
                            "keel",
                            "--features",
                            "broker-tests",
                            "--test",
                            "broker",
                        ],
                        &[
                            ("KEEL_TEST_DATABASE", &postgres),
                            ("KEEL_TEST_AMQP_URL", &amqp),
                            ("KEEL_TEST_PYTHON", python.to_str().unwrap_or("python3")),
                        ],
                    )?;
                    ran.push(format!(
                        "event pipeline over RabbitMQ ({}) on PostgreSQL, with an SMTP server ({AIOSMTPD})",
                        redact(&amqp)
                    ));
                }
                Err(why) if why.is::<crate::venv::PythonMissing>() && !require => {
                    skipped.push(format!("event pipeline over RabbitMQ: {why}"));
                }
                Err(why) => return Err(why),
            }
        }
        Err(why) if require => {
            bail!(
                "the event suite needs PostgreSQL and RabbitMQ (KEEL_REQUIRE_SERVICES=1) but {why}"
            )
        }
        Err(why) => skipped.push(format!("event pipeline over RabbitMQ: {why}")),
    }

    match crate::typescript_suite::run() {
        Ok(()) => ran.push("TypeScript client: tsc 5.9 and 7.0 (ES2022, ES2022+DOM), compile-fail fixtures, node tests against the server and the mock".to_owned()),
        Err(why) if why.is::<crate::typescript_suite::NodeMissing>() => {
            if require {
                bail!("Node.js is required (KEEL_REQUIRE_SERVICES=1) but {why}");
            }
            skipped.push(format!("TypeScript client suites: {why}"));
        }
        Err(why) => return Err(why),
    }

    // After the TypeScript suite, which installs the compiler the specs use.
    for line in crate::public_specs::run()? {
        ran.push(format!("public spec {line}"));
    }

    match crate::schemathesis::run() {
        Ok(outcome) => ran.push(format!(
            "conformance fuzzing: schemathesis {} on SQLite, {} test cases over {} operations, every check, 0 failures ({} s)",
            crate::schemathesis::VERSION,
            outcome.cases,
            outcome.operations,
            outcome.seconds
        )),
        Err(why) if why.is::<crate::venv::PythonMissing>() => {
            if require {
                bail!("Python 3 is required (KEEL_REQUIRE_SERVICES=1) but {why}");
            }
            skipped.push(format!("conformance fuzzing (schemathesis): {why}"));
        }
        Err(why) => return Err(why),
    }

    // Last and alone: it stops servers (its own) and measures latencies, so
    // nothing else should compete for the machine meanwhile.
    match crate::bench_faults::suite(false, require)? {
        Ok(()) => ran.push(
            "faults under load (short form): SIGKILL on SQLite and PostgreSQL, a private PostgreSQL restarted, a private RabbitMQ stopped, slowloris and oversized bodies".to_owned(),
        ),
        Err(why) => skipped.push(format!("faults under load: {why}")),
    }

    println!("\n== cargo xtask test: summary ==");
    for suite in &ran {
        println!("  ran      {suite}");
    }
    for suite in &skipped {
        println!("  SKIPPED  {suite}");
    }
    if !skipped.is_empty() {
        println!("  (set KEEL_REQUIRE_SERVICES=1 to make a skip fail the run, as CI does)");
    }
    Ok(())
}

pub fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    println!("$ cargo {}", args.join(" "));
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    let status = command.status()?;
    if !status.success() {
        bail!("`cargo {}` failed", args.join(" "));
    }
    Ok(())
}

/// Waits up to 30 s for a server the suite started to accept connections.
pub fn wait_until_listening(addr: std::net::SocketAddr) -> Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        if std::time::Instant::now() > deadline {
            bail!("the server did not listen on {addr} within 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Whether a TCP connection to the URL's host and port (`default_port` when
/// it names none) opens within a second.
pub(crate) fn reachable(url: &str, default_port: u16) -> std::result::Result<(), String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_port = rest.split('/').next().unwrap_or(rest);
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, hp)| hp);
    let with_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    };
    let addrs = with_port
        .to_socket_addrs()
        .map_err(|e| format!("{with_port} does not resolve: {e}"))?;
    for addr in addrs {
        if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
            return Ok(());
        }
    }
    Err(format!("nothing answers at {with_port}"))
}

/// The URL without its password, for printing.
fn redact(url: &str) -> String {
    match url.split_once("://").and_then(|(scheme, rest)| {
        rest.split_once('@')
            .map(|(cred, host)| (scheme, cred, host))
    }) {
        Some((scheme, cred, host)) => {
            let user = cred.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_owned(),
    }
}
