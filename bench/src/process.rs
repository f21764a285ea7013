//! The processes a benchmark starts (servers, the NestJS peer, connection
//! holders) and the throwaway PostgreSQL databases and RabbitMQ vhosts it
//! measures on; each is removed when its guard drops, so a failed run leaves
//! nothing behind.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::net::TcpStream;

pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";
pub const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672";

/// Kills the child process when dropped.
pub struct Guard(pub Child);

impl Guard {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// SIGTERM, then waits: Keel finishes its relay round and exits.
    pub fn terminate(mut self) -> Result<()> {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        self.0.wait()?;
        Ok(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn wait_for(addr: SocketAddr) -> Result<()> {
    for _ in 0..300 {
        if TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("nothing listens on {addr} after 30 s")
}

/// A free port on loopback (bound, then released, for a server to take).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// One Keel release binary configured for a benchmark.
pub struct Keel {
    pub binary: PathBuf,
    pub addr: SocketAddr,
    pub database_url: String,
    pub keys: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Keel {
    pub fn new(binary: &Path, addr: SocketAddr, database_url: &str, keys: &Path) -> Self {
        Keel {
            binary: binary.to_owned(),
            addr,
            database_url: database_url.to_owned(),
            keys: keys.to_owned(),
            env: Vec::new(),
        }
    }

    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub async fn start(&self) -> Result<Guard> {
        let child = Command::new(&self.binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // The benchmark's own KEEL_* settings reach the server (to try one:
            // `KEEL_OUTBOX_BATCH=1000 cargo xtask bench --only relay`); the
            // campaign's settings below are set after, and win.
            .envs(
                std::env::vars()
                    .filter(|(k, _)| k.starts_with("KEEL_") && !k.starts_with("KEEL_BENCH")),
            )
            .env("KEEL_LISTEN", self.addr.to_string())
            .env("DATABASE_URL", &self.database_url)
            .env("KEEL_LOG", "error")
            // The limiter stays on, with a budget the load cannot exhaust.
            .env("KEEL_RATE_LIMIT_PER_MINUTE", "1000000000")
            .env("KEEL_AUTH_RATE_LIMIT_PER_MINUTE", "1000000")
            .env("KEEL_ACCESS_TOKEN_TTL_SECS", "7200")
            .env("KEEL_JWT_KEYS_DIR", self.keys.join("jwt"))
            .env("KEEL_FIELD_KEYS_DIR", self.keys.join("fields"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        let guard = Guard(child);
        wait_for(self.addr).await?;
        Ok(guard)
    }
}

/// A PostgreSQL database of its own, dropped at the end.
pub struct Database {
    pub name: String,
}

impl Database {
    pub fn create(name: &str) -> Result<Self> {
        psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )?;
        psql("postgres", &format!("CREATE DATABASE {name}"))?;
        Ok(Database { name: name.into() })
    }

    /// Without TLS: on loopback it only adds encryption to every query (a
    /// quarter of Keel's CPU on `getUser` with the default `sslmode=prefer`),
    /// and the NestJS peer's driver does not use it either.
    pub fn url(&self) -> String {
        format!("{POSTGRES}/{}?sslmode=disable", self.name)
    }

    pub fn execute(&self, sql: &str) -> Result<String> {
        psql(&self.name, sql)
    }

    /// The first column of the first row, as a number.
    pub fn scalar(&self, sql: &str) -> Result<f64> {
        let text = self.execute(sql)?;
        text.trim()
            .parse()
            .with_context(|| format!("{sql} returned {text:?}"))
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn psql(database: &str, sql: &str) -> Result<String> {
    let output = Command::new("psql")
        .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
        .arg(format!("{POSTGRES}/{database}"))
        .arg("-c")
        .arg(sql)
        .output()
        .context("running psql")?;
    if !output.status.success() {
        bail!(
            "psql {sql}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A RabbitMQ vhost of its own: deleting it deletes every queue in it.
pub struct Vhost {
    pub name: String,
}

impl Vhost {
    pub fn create(name: &str) -> Result<Self> {
        rabbitmqctl(&["add_vhost", name])?;
        rabbitmqctl(&["set_permissions", "-p", name, "guest", ".*", ".*", ".*"])?;
        Ok(Vhost { name: name.into() })
    }

    pub fn url(&self) -> String {
        format!("{AMQP}/{}", self.name)
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = rabbitmqctl(&["delete_vhost", &self.name]);
    }
}

fn rabbitmqctl(args: &[&str]) -> Result<()> {
    let output = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .context("running rabbitmqctl")?;
    if !output.status.success() {
        bail!(
            "rabbitmqctl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Resident memory of a process, in KiB (`VmRSS` of /proc/PID/status).
pub fn resident_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .with_context(|| format!("VmRSS of process {pid}"))
}
