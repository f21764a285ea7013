//! `cargo xtask bench`: requests/s and latency of `GET /v1/users/{id}` on a release
//! build of Keel, and of a minimal hyper "hello" server measured the same way in
//! the same run. The ratio between the two is the number to watch: it cancels out
//! the machine, which absolute numbers on a shared 2-core box do not.
//!
//! Each server runs in its own process; the load generator keeps `--connections`
//! HTTP/1.1 keep-alive connections busy for `--seconds` after a short warm-up.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

#[derive(Parser)]
struct Args {
    /// Seconds of measured load per target.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Serve the baseline instead of measuring (used by the benchmark itself).
    #[arg(long, hide = true)]
    hello: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(addr) = args.hello {
        return hello_server(addr).await;
    }
    let duration = Duration::from_secs(args.seconds);
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .context("the benchmark binary has a directory")?;

    let keel_addr: SocketAddr = "127.0.0.1:18931".parse()?;
    let hello_addr: SocketAddr = "127.0.0.1:18932".parse()?;
    let db = std::env::temp_dir().join(format!("keel-bench-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&db);

    let keel = Guard(
        Command::new(dir.join("keel"))
            .env("KEEL_LISTEN", keel_addr.to_string())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}?mode=rwc", db.display()),
            )
            .env("KEEL_LOG", "warn")
            // The limiter stays on, with a budget the load cannot exhaust.
            .env("KEEL_RATE_LIMIT_PER_MINUTE", "1000000000")
            .env("KEEL_JWT_KEYS_DIR", db.with_extension("jwt"))
            .env("KEEL_FIELD_KEYS_DIR", db.with_extension("fields"))
            .stdout(Stdio::null())
            .spawn()
            .context("starting target/release/keel (build it with `cargo build --release`)")?,
    );
    let hello = Guard(
        Command::new(&exe)
            .arg("--hello")
            .arg(hello_addr.to_string())
            .spawn()?,
    );
    wait_for(keel_addr).await?;
    wait_for(hello_addr).await?;

    let (id, token) = create_user(keel_addr).await?;
    let keel_path = format!("/v1/users/{id}");

    println!(
        "load: {} connections, {}s per target, after a 2s warm-up",
        args.connections, args.seconds
    );
    let baseline = measure(hello_addr, "/", None, args.connections, duration).await?;
    let keel_result = measure(
        keel_addr,
        &keel_path,
        Some(&token),
        args.connections,
        duration,
    )
    .await?;
    drop(keel);
    drop(hello);
    let _ = std::fs::remove_file(&db);
    let _ = std::fs::remove_dir_all(db.with_extension("jwt"));
    let _ = std::fs::remove_dir_all(db.with_extension("fields"));

    println!();
    println!(
        "{:<34} {:>10} {:>10} {:>10}",
        "target", "req/s", "p50 ms", "p99 ms"
    );
    for (name, r) in [
        ("hyper hello (baseline)", &baseline),
        ("keel GET /v1/users/{id} (JWT, SQLite)", &keel_result),
    ] {
        println!(
            "{name:<34} {:>10.0} {:>10.2} {:>10.2}",
            r.rps, r.p50_ms, r.p99_ms
        );
    }
    println!();
    println!(
        "keel / baseline throughput: {:.3}",
        keel_result.rps / baseline.rps
    );
    println!(
        "keel / baseline p99 latency: {:.2}x",
        keel_result.p99_ms / baseline.p99_ms
    );
    if keel_result.errors > 0 || baseline.errors > 0 {
        bail!(
            "{} keel and {} baseline requests failed",
            keel_result.errors,
            baseline.errors
        );
    }
    Ok(())
}

/// Kills the child process when dropped, so a failed run leaves no server behind.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Outcome {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

async fn measure(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    connections: usize,
    duration: Duration,
) -> Result<Outcome> {
    // Warm-up: fill caches and pools; not counted.
    run_load(addr, path, token, connections, Duration::from_secs(2)).await?;
    let started = Instant::now();
    let (histogram, errors) = run_load(addr, path, token, connections, duration).await?;
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Outcome {
        rps: histogram.len() as f64 / elapsed,
        p50_ms: histogram.value_at_quantile(0.50) as f64 / 1000.0,
        p99_ms: histogram.value_at_quantile(0.99) as f64 / 1000.0,
        errors,
    })
}

async fn run_load(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    connections: usize,
    duration: Duration,
) -> Result<(Histogram<u64>, u64)> {
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let path = path.to_owned();
        let authorization = token.map(|t| format!("Bearer {t}"));
        tasks.push(tokio::spawn(async move {
            let mut histogram =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
            let mut errors = 0u64;
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            while Instant::now() < deadline {
                let mut request = Request::get(&path).header("host", addr.to_string());
                if let Some(value) = &authorization {
                    request = request.header("authorization", value);
                }
                let request = request.body(Empty::<Bytes>::new())?;
                let sent = Instant::now();
                let response = sender.send_request(request).await?;
                let ok = response.status().is_success();
                response.into_body().collect().await?;
                if ok {
                    histogram.record(sent.elapsed().as_micros().max(1) as u64)?;
                } else {
                    errors += 1;
                }
            }
            anyhow::Ok((histogram, errors))
        }));
    }
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors = 0;
    for task in tasks {
        let (histogram, failed) = task.await??;
        total.add(histogram)?;
        errors += failed;
    }
    Ok((total, errors))
}

/// Registers and logs in a user; returns its id and an access token.
async fn create_user(addr: SocketAddr) -> Result<(String, String)> {
    let password = "benchmark password";
    let user = post(addr, "/v1/auth/register", serde_json::json!({ "email": "bench@example.com", "displayName": "Bench", "password": password }), 201).await?;
    let tokens = post(
        addr,
        "/v1/auth/token",
        serde_json::json!({ "email": "bench@example.com", "password": password }),
        200,
    )
    .await?;
    Ok((
        user["id"]
            .as_str()
            .context("the user has an id")?
            .to_owned(),
        tokens["accessToken"]
            .as_str()
            .context("an access token")?
            .to_owned(),
    ))
}

async fn post(
    addr: SocketAddr,
    path: &str,
    body: serde_json::Value,
    expected: u16,
) -> Result<serde_json::Value> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = Request::post(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    if status != expected {
        bail!("POST {path}: {status} {}", String::from_utf8_lossy(&bytes));
    }
    Ok(serde_json::from_slice(&bytes)?)
}

async fn wait_for(addr: SocketAddr) -> Result<()> {
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("nothing listens on {addr} after 10s")
}

/// The baseline: the least an HTTP/1.1 server on this runtime can do per request.
async fn hello_server(addr: SocketAddr) -> Result<()> {
    let listener = TcpListener::bind(addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|_request| async {
                Ok::<_, std::convert::Infallible>(
                    Response::builder()
                        .header("content-type", "text/plain")
                        .body(Full::new(Bytes::from_static(b"hello")))
                        .expect("a valid response"),
                )
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
