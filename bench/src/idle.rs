//! Idle keep-alive connections: how much server memory each one holds.
//!
//! One process may open 20,000 files here, so the servers run as several
//! processes on one port (`SO_REUSEPORT`; the kernel spreads connections over
//! them) and the connections come from several holder processes, each from a
//! loopback address of its own (one source address has only ~28,000 ephemeral
//! ports toward one port). Each connection sends one request, reads the answer
//! and stays open: what a browser or a pooled client leaves behind. The figure
//! is the growth of the servers' resident memory divided by the connections;
//! kernel socket buffers are not in it (they are not the server's heap).

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;

use crate::process::{Guard, resident_kib};

/// Connections per holder process, below the per-process file limit.
const PER_HOLDER: usize = 12_500;

/// A loopback address no holder of this campaign used before: the ports of
/// a previous run's connections wait out TIME_WAIT for a minute, and reusing
/// its address would leave a holder short of ports.
fn source_address() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("127.100.{}.{}", n / 250, 2 + n % 250)
}

/// Opens `count` connections from `source` to `addr`, one request each, then
/// reports `held` on standard output and keeps them until killed.
pub async fn hold(addr: SocketAddr, source: IpAddr, count: usize, path: &str) -> Result<()> {
    // Few at a time: a burst beyond the listen backlog only waits for SYN retries.
    let gate = std::sync::Arc::new(Semaphore::new(256));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let gate = gate.clone();
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await?;
            let socket = TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(source, 0))?;
            let mut stream: TcpStream = socket.connect(addr).await?;
            stream.write_all(request.as_bytes()).await?;
            let mut buffer = [0u8; 1024];
            let read = stream.read(&mut buffer).await?;
            if !buffer[..read].starts_with(b"HTTP/1.1 200") {
                bail!("{}", String::from_utf8_lossy(&buffer[..read]));
            }
            anyhow::Ok(stream)
        }));
    }
    let mut streams = Vec::with_capacity(count);
    for task in tasks {
        streams.push(task.await??);
    }
    println!("held {}", streams.len());
    std::future::pending::<()>().await;
    Ok(())
}

/// Server memory per idle connection, in KiB: `connections` spread over the
/// servers `pids` (all listening on `addr`), asking for `path`.
pub async fn per_connection_kib(
    pids: &[u32],
    addr: SocketAddr,
    connections: usize,
    path: &str,
) -> Result<f64> {
    let resident = || -> Result<u64> { pids.iter().map(|&pid| resident_kib(pid)).sum() };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = resident()?;
    let exe = std::env::current_exe()?;
    let mut holders = Vec::new();
    let mut left = connections;
    for _ in 0..connections.div_ceil(PER_HOLDER) {
        let count = left.min(PER_HOLDER);
        left -= count;
        let mut child = Command::new(&exe)
            .arg("--hold")
            .arg(addr.to_string())
            .arg("--source")
            .arg(source_address())
            .arg("--count")
            .arg(count.to_string())
            .arg("--path")
            .arg(path)
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().context("the holder's output")?;
        holders.push((Guard(child), stdout));
    }
    let mut guards = Vec::new();
    for (guard, stdout) in holders {
        let mut line = String::new();
        let read = tokio::task::spawn_blocking(move || {
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await??;
        if !read.starts_with("held") {
            bail!("a connection holder failed (see its error above)");
        }
        guards.push(guard);
    }
    // Let the servers' tasks settle into their idle state.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = resident()?;
    drop(guards);
    Ok(after.saturating_sub(before) as f64 / connections as f64)
}
