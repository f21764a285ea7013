//! Servers the fault tests own: a PostgreSQL cluster and a RabbitMQ node in a
//! temporary directory each, on ports of their own, so stopping them hurts no
//! other suite. Both are stopped and removed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A PostgreSQL cluster of the test's own (initdb in a temporary directory,
/// trust authentication, `fsync=off`: it is thrown away). The tests run as
/// root, and PostgreSQL refuses to: its commands run as `postgres`.
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
    running: bool,
}

impl PgCluster {
    /// `KEEL_TEST_PG_BIN`, or the newest `/usr/lib/postgresql/*/bin`.
    fn bin() -> PathBuf {
        if let Ok(bin) = std::env::var("KEEL_TEST_PG_BIN") {
            return bin.into();
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries (/usr/lib/postgresql, or KEEL_TEST_PG_BIN)")
            .filter_map(|e| Some(e.ok()?.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .collect();
        found.sort();
        found.pop().expect("an initdb under /usr/lib/postgresql")
    }

    pub fn start() -> PgCluster {
        let dir = std::env::temp_dir().join(format!("keel-fault-pg-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        run(Command::new("chown").arg("postgres:postgres").arg(&dir));
        let mut cluster = PgCluster {
            bin: Self::bin(),
            port: free_port(),
            dir,
            running: false,
        };
        run(cluster.as_postgres("initdb").args([
            "-D",
            cluster.data().to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]));
        cluster.start_again();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn as_postgres(&self, tool: &str) -> Command {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool));
        command
    }

    fn pg_ctl(&self, args: &[&str]) {
        run(self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(args));
    }

    /// The admin URL (the `postgres` database).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Stops it the way an operator's restart does (`-m fast`: sessions are
    /// terminated, in-flight transactions rolled back).
    pub fn stop(&mut self) {
        self.pg_ctl(&["-m", "fast", "-w", "stop"]);
        self.running = false;
    }

    pub fn start_again(&mut self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("postgres.log");
        self.pg_ctl(&["-o", &options, "-l", log.to_str().unwrap(), "-w", "start"]);
        self.running = true;
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            let _ = self
                .as_postgres("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A RabbitMQ node of the test's own: its own node name, AMQP and
/// distribution ports, database directory and cookie (`HOME`), no plugins.
/// Stopped and started again on the same directory, it keeps its durable
/// queues and their persistent messages, as a restarted broker does.
pub struct RabbitNode {
    dir: PathBuf,
    pub node: String,
    pub port: u16,
    dist_port: u16,
    running: bool,
}

/// The scripts themselves, not Debian's `/usr/sbin` wrappers, which switch to
/// the `rabbitmq` user and its shared home.
fn rabbit_tool(name: &str) -> PathBuf {
    let dir = std::env::var("KEEL_TEST_RABBITMQ_BIN")
        .unwrap_or_else(|_| "/usr/lib/rabbitmq/bin".to_owned());
    Path::new(&dir).join(name)
}

impl RabbitNode {
    /// Starts it and waits until it serves (the boot takes seconds).
    pub fn start() -> RabbitNode {
        let dir = std::env::temp_dir().join(format!("keel-fault-mq-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("enabled_plugins"), "[].\n").unwrap();
        let mut node = RabbitNode {
            node: format!("keel-fault-{}@localhost", std::process::id()),
            port: free_port(),
            dist_port: free_port(),
            dir,
            running: false,
        };
        node.start_again();
        node
    }

    fn command(&self, tool: &str) -> Command {
        let mut command = Command::new(rabbit_tool(tool));
        command
            .env("HOME", &self.dir)
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", self.dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", self.dir.join("log"))
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                self.dir.join("enabled_plugins"),
            )
            .env("RABBITMQ_PID_FILE", self.dir.join("pid"))
            .env("RABBITMQ_CONFIG_FILE", self.dir.join("rabbitmq"));
        command
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Boots the node on its directory and returns how long the boot took:
    /// until its AMQP port accepts connections, which it opens last.
    pub fn start_again(&mut self) -> Duration {
        let started = Instant::now();
        run(self.command("rabbitmq-server").arg("-detached"));
        self.running = true;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "RabbitMQ did not boot in 120 s (logs in {})",
                self.dir.join("log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        started.elapsed()
    }

    /// Stops the node as an init system would (SIGTERM: an orderly shutdown
    /// that closes its connections) and waits for the process to exit;
    /// `rabbitmqctl stop` does the same but boots a VM of its own first.
    pub fn stop(&mut self) {
        let pid = std::fs::read_to_string(self.dir.join("pid"))
            .expect("the node's pid file")
            .trim()
            .to_owned();
        run(Command::new("kill").args(["-TERM", &pid]));
        let started = Instant::now();
        // Gone, or a zombie its parent (not us: `-detached`) has not reaped.
        let alive = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit(") ")
                    .next()
                    .is_some_and(|s| !s.starts_with('Z'))
            })
        };
        while alive() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "RabbitMQ did not stop"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.running = false;
    }

    /// `(name, ready, unacknowledged, consumers)` of every queue.
    pub fn queues(&self) -> Vec<(String, u64, u64, u64)> {
        let output = run(self.command("rabbitmqctl").args([
            "-n",
            &self.node,
            "list_queues",
            "-q",
            "--no-table-headers",
            "name",
            "messages_ready",
            "messages_unacknowledged",
            "consumers",
        ]));
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let [name, ready, unacked, consumers] = fields[..] else {
                    return None;
                };
                Some((
                    name.to_owned(),
                    ready.parse().ok()?,
                    unacked.parse().ok()?,
                    consumers.parse().ok()?,
                ))
            })
            .collect()
    }
}

impl Drop for RabbitNode {
    fn drop(&mut self) {
        if self.running {
            let _ = self
                .command("rabbitmqctl")
                .args([
                    "-n",
                    &self.node,
                    "stop",
                    self.dir.join("pid").to_str().unwrap(),
                ])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
