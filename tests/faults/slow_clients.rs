//! Slow clients (slowloris: a request head sent a header at a time, never
//! finished) and oversized bodies while other clients read the catalog:
//! the slow connections are cut by the header-read timeout, the oversized
//! bodies are refused with 413 problem+json before they are sent whole, and
//! the other clients all succeed, their P99 latency not more than doubled.
//!
//! The short form (`cargo xtask test`, a loaded 2-core box) guards the P99
//! ratio with an absolute allowance for scheduling noise; the long form
//! (`cargo xtask bench --faults`) asserts the 2× bound as the issue states it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::load::percentile;
use crate::support::KeelProcess;

const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(2);
const DECLARED: usize = 10 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_and_oversized_requests_do_not_hurt_other_clients() {
    let header_timeout = HEADER_READ_TIMEOUT.as_secs().to_string();
    let database = crate::support::TestDatabase::sqlite();
    let keel = KeelProcess::start(
        &database.url,
        &[
            ("KEEL_HEADER_READ_TIMEOUT_SECS", header_timeout.as_str()),
            ("KEEL_RATE_LIMIT_PER_MINUTE", "10000000"),
            ("KEEL_LOG", "warn"),
        ],
    );
    let target = crate::load::shop(&keel.base, &keel.tokens()).await;
    let addr = keel.base.trim_start_matches("http://").to_owned();
    let phase = crate::pick(Duration::from_secs(4), Duration::from_secs(30));
    let slowloris = if crate::long() { 200 } else { 40 };

    let baseline = readers(&keel.base, target.product, phase).await;

    let stop = Arc::new(AtomicBool::new(false));
    let slow: Vec<_> = (0..slowloris)
        .map(|_| tokio::spawn(slow_head(addr.clone())))
        .collect();
    let oversized: Vec<_> = (0..2)
        .map(|n| {
            let (addr, token, stop) = (addr.clone(), target.token.clone(), stop.clone());
            tokio::spawn(async move {
                let mut refused = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    refused.push(oversized_body(&addr, &token, n % 2 == 0).await);
                }
                refused
            })
        })
        .collect();
    let attacked = readers(&keel.base, target.product, phase).await;
    stop.store(true, Ordering::SeqCst);

    let mut cut_after = Vec::new();
    for task in slow {
        cut_after.push(task.await.unwrap());
    }
    let mut refusals = 0;
    for task in oversized {
        for (chunked, outcome) in task.await.unwrap() {
            let (status, content_type, sent) =
                outcome.unwrap_or_else(|e| panic!("an oversized body (chunked: {chunked}): {e}"));
            assert_eq!(status, 413, "an oversized body (chunked: {chunked})");
            assert_eq!(content_type, "application/problem+json");
            assert!(
                sent < DECLARED / 4,
                "the server read {sent} bytes of an oversized body before refusing it"
            );
            refusals += 1;
        }
    }

    let (mut base_latencies, base_failures) = baseline;
    let (mut attack_latencies, attack_failures) = attacked;
    assert!(base_failures.is_empty(), "{base_failures:?}");
    assert!(
        attack_failures.is_empty(),
        "other clients failed during the attack: {attack_failures:?}"
    );
    let p99_base = percentile(&mut base_latencies, 99.0);
    let p99_attack = percentile(&mut attack_latencies, 99.0);
    let slowest_cut = cut_after.iter().max().unwrap();
    println!(
        "other clients: P99 {p99_base:?} over {} requests alone, {p99_attack:?} over {} with \
         {slowloris} slowloris connections and {refusals} oversized bodies (ratio {:.2}); \
         slow connections cut after {:?}..{slowest_cut:?}",
        base_latencies.len(),
        attack_latencies.len(),
        p99_attack.as_secs_f64() / p99_base.as_secs_f64(),
        cut_after.iter().min().unwrap(),
    );
    assert!(refusals > 0, "oversized bodies were sent");
    // Cut by the header-read timeout (the idle timeout, 60 s, never fires
    // while bytes trickle).
    assert!(
        *slowest_cut < HEADER_READ_TIMEOUT + Duration::from_secs(3),
        "a slowloris connection lived {slowest_cut:?}"
    );
    let bound = if crate::long() {
        // At least a millisecond: below that the ratio measures the timer.
        2 * p99_base.max(Duration::from_millis(1))
    } else {
        // A shared 2-core box stalls any process for tens of milliseconds now
        // and then; the ratio alone would measure that.
        2 * p99_base + Duration::from_millis(100)
    };
    assert!(
        p99_attack <= bound,
        "other clients' P99 went from {p99_base:?} to {p99_attack:?} (bound {bound:?})"
    );
}

/// Four clients reading a product back to back for `phase`: their
/// latencies, and any failure.
async fn readers(base: &str, product: uuid::Uuid, phase: Duration) -> (Vec<Duration>, Vec<String>) {
    let until = Instant::now() + phase;
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let url = format!("{base}/v1/products/{product}");
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let (mut latencies, mut failures) = (Vec::new(), Vec::new());
                while Instant::now() < until {
                    let sent = Instant::now();
                    match client.get(&url).send().await {
                        Ok(response) if response.status() == 200 => {
                            let _ = response.bytes().await;
                            latencies.push(sent.elapsed());
                        }
                        Ok(response) => failures.push(format!("status {}", response.status())),
                        Err(error) => failures.push(format!("{error:?}")),
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let (mut latencies, mut failures) = (Vec::new(), Vec::new());
    for task in tasks {
        let (l, f) = task.await.unwrap();
        latencies.extend(l);
        failures.extend(f);
    }
    (latencies, failures)
}

/// Opens a connection and sends a request head a header at a time, every
/// 300 ms, never ending it; returns how long the server kept it open.
async fn slow_head(addr: String) -> Duration {
    let opened = Instant::now();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let _ = stream
        .write_all(b"GET /v1/products HTTP/1.1\r\nHost: keel\r\n")
        .await;
    let give_up = HEADER_READ_TIMEOUT + Duration::from_secs(10);
    let mut buffer = [0u8; 1024];
    let mut n = 0;
    while opened.elapsed() < give_up {
        n += 1;
        let header = format!("X-Slow-{n}: a\r\n");
        if stream.write_all(header.as_bytes()).await.is_err() {
            return opened.elapsed();
        }
        // Closed by the server: a read ends (EOF, or a reset).
        match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return opened.elapsed(),
            Ok(Ok(_)) => {
                // An answer (hyper may send 408 before closing): wait for the close.
            }
            Err(_) => {}
        }
    }
    opened.elapsed()
}

/// `placeOrder` with a body that declares (or, chunked, streams) 10 MiB:
/// `(status, content type, body bytes sent before the answer came)`.
async fn oversized_body(
    addr: &str,
    token: &str,
    chunked: bool,
) -> (bool, Result<(u16, String, usize), String>) {
    let outcome = async {
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let (mut reader, mut writer) = stream.into_split();
        let framing = if chunked {
            "Transfer-Encoding: chunked".to_owned()
        } else {
            format!("Content-Length: {DECLARED}")
        };
        let head = format!(
            "POST /v1/orders HTTP/1.1\r\nHost: keel\r\nAuthorization: Bearer {token}\r\n\
             Idempotency-Key: {}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n",
            uuid::Uuid::now_v7()
        );
        writer
            .write_all(head.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let answered = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let sending = {
            let (answered, sent) = (answered.clone(), sent.clone());
            tokio::spawn(async move {
                let chunk = vec![b' '; 8192];
                while !answered.load(Ordering::SeqCst) && sent.load(Ordering::SeqCst) < DECLARED {
                    let written = if chunked {
                        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                        framed.extend_from_slice(&chunk);
                        framed.extend_from_slice(b"\r\n");
                        writer.write_all(&framed).await
                    } else {
                        writer.write_all(&chunk).await
                    };
                    if written.is_err() {
                        break;
                    }
                    sent.fetch_add(chunk.len(), Ordering::SeqCst);
                    // A modest client: the whole body would take seconds.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        };
        let mut response = Vec::new();
        let mut buffer = [0u8; 4096];
        while !response.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tokio::time::timeout(Duration::from_secs(10), reader.read(&mut buffer))
                .await
                .map_err(|_| "no answer within 10 s".to_owned())?
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("closed without an answer".to_owned());
            }
            response.extend_from_slice(&buffer[..n]);
        }
        answered.store(true, Ordering::SeqCst);
        let sent_before_answer = sent.load(Ordering::SeqCst);
        sending.abort();
        let text = String::from_utf8_lossy(&response).to_string();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no status line: {text}"))?;
        let content_type = text
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-type")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default();
        Ok((status, content_type, sent_before_answer))
    }
    .await;
    (chunked, outcome)
}
