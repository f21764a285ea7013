//! What the event tests need besides the API harness: a RabbitMQ connection of
//! their own (to watch and to inject messages), a TCP proxy that can cut the
//! server off the broker, and an SMTP server.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lapin::message::BasicGetMessage;
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub fn amqp_url() -> String {
    std::env::var("KEEL_TEST_AMQP_URL")
        .expect("KEEL_TEST_AMQP_URL names the RabbitMQ to test against (cargo xtask test sets it)")
}

/// A RabbitMQ connection for the test, and the unique prefix of its names.
pub struct Broker {
    pub prefix: String,
    pub channel: Channel,
    connection: Connection,
}

impl Broker {
    pub async fn connect() -> Broker {
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("RabbitMQ answers");
        let channel = connection.create_channel().await.expect("a channel");
        channel
            .confirm_select(Default::default())
            .await
            .expect("confirm mode");
        Broker {
            prefix: format!("keel-test-{}", uuid::Uuid::now_v7().simple()),
            channel,
            connection,
        }
    }

    /// The server settings that point it at this broker (through `url`).
    pub fn settings(&self, url: &str) -> Vec<String> {
        vec![
            "--amqp-url".into(),
            url.into(),
            "--events-prefix".into(),
            self.prefix.clone(),
        ]
    }

    pub fn queue(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.prefix)
    }

    /// Waits until a server has declared the topology (its consumer's queue).
    pub async fn wait_for_topology(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // A passive declare of a missing queue closes the channel: use a
            // throwaway one.
            let probe = self.connection.create_channel().await.expect("a channel");
            let found = probe
                .queue_declare(
                    self.queue("notifications").as_str().into(),
                    QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    FieldTable::default(),
                )
                .await
                .is_ok();
            if found {
                let _ = probe.close(200, "done".into()).await;
                return;
            }
            assert!(Instant::now() < deadline, "no topology after 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A queue of the test's own that gets a copy of every event `key`.
    pub async fn tap(&self, key: &str) -> String {
        let name = self.queue("tap");
        self.channel
            .queue_declare(
                name.as_str().into(),
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("declaring the tap");
        self.channel
            .queue_bind(
                name.as_str().into(),
                self.queue("events").as_str().into(),
                key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("binding the tap");
        name
    }

    /// Takes what `queue` holds now.
    pub async fn drain(&self, queue: &str) -> Vec<BasicGetMessage> {
        let mut taken = Vec::new();
        while let Some(message) = self
            .channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get")
        {
            taken.push(message);
        }
        taken
    }

    /// Publishes to the events exchange and waits for the confirm.
    pub async fn publish(&self, key: &str, payload: &[u8], properties: BasicProperties) {
        let confirm = self
            .channel
            .basic_publish(
                self.queue("events").as_str().into(),
                key.into(),
                BasicPublishOptions::default(),
                payload,
                properties,
            )
            .await
            .expect("publishing")
            .await
            .expect("a confirm");
        assert!(confirm.is_ack(), "{confirm:?}");
    }

    /// Deletes everything the test's server declared.
    pub async fn clean_up(&self) {
        // Every consumer's queues: a server declares them all, whichever
        // events the test sends.
        let mut queues = vec!["unrouted".to_owned(), "tap".to_owned()];
        for consumer in [
            keel::notifications::CONSUMER,
            keel::orders::saga::CONSUMER,
            keel::payments::service::CONSUMER,
        ] {
            for suffix in ["", ".retry", ".dead"] {
                queues.push(format!("{consumer}{suffix}"));
            }
        }
        for suffix in queues {
            let _ = self
                .channel
                .queue_delete(
                    self.queue(&suffix).as_str().into(),
                    QueueDeleteOptions::default(),
                )
                .await;
        }
        for suffix in ["events", "unrouted"] {
            let _ = self
                .channel
                .exchange_delete(
                    self.queue(suffix).as_str().into(),
                    ExchangeDeleteOptions::default(),
                )
                .await;
        }
    }
}

/// A TCP proxy in front of RabbitMQ that the test can cut: an outage the
/// server cannot tell from a stopped broker.
pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    pub async fn start() -> Proxy {
        let upstream = upstream_addr();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (up2, connections2) = (up.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                connections2.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy {
            addr,
            up,
            connections,
        }
    }

    /// The AMQP URL through the proxy.
    pub fn url(&self) -> String {
        let url = amqp_url();
        let (scheme, rest) = url.split_once("://").unwrap();
        let (credentials, rest) = rest.rsplit_once('@').map_or(("", rest), |(c, r)| (c, r));
        let path = rest.split_once('/').map_or("", |(_, p)| p);
        let at = if credentials.is_empty() { "" } else { "@" };
        format!("{scheme}://{credentials}{at}{}/{path}", self.addr)
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn upstream_addr() -> SocketAddr {
    let url = amqp_url();
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    let host_port = rest.split('/').next().unwrap();
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, hp)| hp);
    let with_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5672")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&with_port)
        .unwrap()
        .next()
        .unwrap()
}

/// aiosmtpd, started by the test (`smtp_server.py`), writing what it accepts
/// to a JSON-lines file.
pub struct SmtpServer {
    pub url: String,
    log: std::path::PathBuf,
    child: Child,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let python = std::env::var("KEEL_TEST_PYTHON")
            .expect("KEEL_TEST_PYTHON names a Python with aiosmtpd (cargo xtask test sets it)");
        let port = free_port();
        let log = std::env::temp_dir().join(format!("keel-smtp-{}.jsonl", uuid::Uuid::now_v7()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/broker/smtp_server.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the SMTP server");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready", "the SMTP server did not start");
        SmtpServer {
            url: format!("smtp://127.0.0.1:{port}"),
            log,
            child,
        }
    }

    /// The messages accepted so far, as `(recipients, raw message)`.
    pub fn messages(&self) -> Vec<(Vec<String>, String)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|line| {
                let record: serde_json::Value = serde_json::from_str(line).unwrap();
                let to = record["to"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect();
                (to, record["data"].as_str().unwrap().to_owned())
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
