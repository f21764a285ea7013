//! Settings, from flags or environment variables, optionally loaded from a file.
//!
//! clap gives every setting a flag, an environment variable, a default and a line
//! in `keel --help`, and rejects an invalid value naming the setting. A file named
//! by `KEEL_CONFIG` (or `--config`) holds `NAME=value` lines (dotenv format); the
//! real environment wins over it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "keel",
    version,
    about = "Keel: a contract-first backend. Serves the API described by api/openapi.yaml."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the API (what `keel` does without a command).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Create an administrator; the password is read from standard input.
    CreateAdmin {
        /// The administrator's email address.
        #[arg(long)]
        email: String,
        /// The name shown for them (default: the part of the email before `@`).
        #[arg(long)]
        display_name: Option<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// A file of `NAME=value` settings to load first; the environment wins over it.
    #[arg(long, env = "KEEL_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// The address the HTTP server listens on.
    #[arg(
        long,
        env = "KEEL_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// The database: `sqlite://PATH?mode=rwc` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/keel.db?mode=rwc", value_parser = parse_database_url, global = true)]
    pub database_url: String,

    /// The most database connections to keep open.
    #[arg(long, env = "KEEL_DB_MAX_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub db_max_connections: u32,

    /// The longest a request waits for a pooled database connection, in
    /// milliseconds (then it fails: 503 when the database is unreachable).
    #[arg(long, env = "KEEL_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(100..=60_000), global = true)]
    pub db_acquire_timeout_ms: u64,

    /// Users kept in the read cache (ADR 20), on PostgreSQL, where a change
    /// feed tells every replica what any of them changed; 0 turns it off.
    /// SQLite has no such feed and no cache.
    #[arg(
        long,
        env = "KEEL_USER_CACHE_CAPACITY",
        default_value_t = 100_000,
        global = true
    )]
    pub user_cache_capacity: u64,

    /// Products whose name and price are kept in the read cache that
    /// `placeOrder` prices from (ADR 20); as for users, only on PostgreSQL,
    /// and 0 turns it off.
    #[arg(
        long,
        env = "KEEL_PRODUCT_CACHE_CAPACITY",
        default_value_t = 100_000,
        global = true
    )]
    pub product_cache_capacity: u64,

    /// How often the database is pinged to know whether it answers, in
    /// milliseconds; while it does not, requests that need it get 503 at once.
    #[arg(long, env = "KEEL_DB_PROBE_INTERVAL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(50..=60_000), global = true)]
    pub db_probe_interval_ms: u64,

    /// How long one such ping may take before the database counts as down, in
    /// milliseconds.
    #[arg(long, env = "KEEL_DB_PROBE_TIMEOUT_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(50..=60_000), global = true)]
    pub db_probe_timeout_ms: u64,

    /// Log format: `pretty` for people, `json` for log collectors.
    #[arg(long, env = "KEEL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,

    /// Which logs to keep, in tracing's filter syntax (`info`, `keel=debug,sqlx=warn`).
    #[arg(long, env = "KEEL_LOG", default_value = "info", global = true)]
    pub log: String,

    /// An OTLP/HTTP collector (`http://collector:4318`) to send traces to, as
    /// protobuf to `{endpoint}/v1/traces`; unset: no traces leave the process.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_parser = parse_otlp_endpoint, global = true)]
    pub otlp_endpoint: Option<String>,

    /// The `service.name` of exported traces.
    #[arg(long, env = "OTEL_SERVICE_NAME", default_value = "keel", global = true)]
    pub service_name: String,

    /// Directory of Ed25519 signing keys (`<kid>.pem`); one is generated if it is empty.
    /// The newest name signs, all verify: add a key to rotate, remove one to retire it.
    #[arg(
        long,
        env = "KEEL_JWT_KEYS_DIR",
        default_value = "data/jwt-keys",
        global = true
    )]
    pub jwt_keys_dir: std::path::PathBuf,

    /// Directory of AES-256 keys (`<kid>.key`, base64) for fields encrypted at rest;
    /// one is generated if it is empty. The newest name encrypts, all decrypt.
    #[arg(
        long,
        env = "KEEL_FIELD_KEYS_DIR",
        default_value = "data/field-keys",
        global = true
    )]
    pub field_keys_dir: std::path::PathBuf,

    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "KEEL_ACCESS_TOKEN_TTL_SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(30..=86_400), global = true)]
    pub access_token_ttl_secs: u64,

    /// Lifetime of refresh tokens, in seconds.
    #[arg(long, env = "KEEL_REFRESH_TOKEN_TTL_SECS", default_value_t = 2_592_000, value_parser = clap::value_parser!(i64).range(60..=31_536_000), global = true)]
    pub refresh_token_ttl_secs: i64,

    /// The scopes of each role: `role=scope scope;role=…`.
    #[arg(long, env = "KEEL_ROLE_SCOPES", default_value = "customer=users:read users:write orders:read orders:write payments:read;admin=users:read users:write users:admin audit:read catalog:admin orders:admin orders:read orders:write payments:read payments:admin", value_parser = parse_role_scopes, global = true)]
    pub role_scopes: crate::auth::RoleScopes,

    /// Requests per minute allowed from one client address (and per access token).
    #[arg(long, env = "KEEL_RATE_LIMIT_PER_MINUTE", default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub rate_limit_per_minute: u32,

    /// Requests per minute allowed from one client address to `/v1/auth/*` (logins).
    #[arg(long, env = "KEEL_AUTH_RATE_LIMIT_PER_MINUTE", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub auth_rate_limit_per_minute: u32,

    /// The largest request body accepted, in bytes (larger: 413).
    #[arg(
        long,
        env = "KEEL_MAX_BODY_BYTES",
        default_value_t = 65_536,
        global = true
    )]
    pub max_body_bytes: usize,

    /// The longest a request may take, in seconds (longer: 503).
    #[arg(long, env = "KEEL_REQUEST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600), global = true)]
    pub request_timeout_secs: u64,

    /// Close connections idle this many seconds (slow or stalled clients).
    #[arg(long, env = "KEEL_IDLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub idle_timeout_secs: u64,

    /// Bind the listener with `SO_REUSEPORT`, so several processes on one
    /// machine share the port and the kernel spreads connections over them
    /// (more processes than one's file limit allows, or a replacement process
    /// starting before the old one leaves).
    #[arg(long, env = "KEEL_REUSE_PORT", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub reuse_port: bool,

    /// Close an HTTP/1 connection whose request head (request line and
    /// headers) has not fully arrived this many seconds after the server
    /// began waiting for it (slowloris); this also closes keep-alive
    /// connections idle that long.
    #[arg(long, env = "KEEL_HEADER_READ_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600), global = true)]
    pub header_read_timeout_secs: u64,

    /// Origins allowed to call the API from a browser, comma-separated (empty: no CORS).
    #[arg(long, env = "KEEL_CORS_ORIGINS", default_value = "", global = true)]
    pub cors_origins: String,

    /// On SIGTERM/SIGINT, how long readiness fails before the listener closes,
    /// in seconds, so load balancers stop sending traffic first.
    #[arg(long, env = "KEEL_SHUTDOWN_DELAY_SECS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=300), global = true)]
    pub shutdown_delay_secs: u64,

    /// Then how long requests in flight may take to finish, in seconds.
    #[arg(long, env = "KEEL_SHUTDOWN_GRACE_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=600), global = true)]
    pub shutdown_grace_secs: u64,

    /// RabbitMQ (`amqp://user:password@host:5672/vhost`); unset: events go
    /// through the in-process bus, for a single process.
    #[arg(long, env = "AMQP_URL", value_parser = parse_amqp_url, global = true)]
    pub amqp_url: Option<String>,

    /// The first word of the exchange and queue names (`{prefix}.events`, …).
    #[arg(long, env = "KEEL_EVENTS_PREFIX", default_value = "keel", value_parser = parse_prefix, global = true)]
    pub events_prefix: String,

    /// Attempts a failing event handler gets, the first included, before the
    /// event is dead-lettered.
    #[arg(long, env = "KEEL_EVENT_MAX_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100), global = true)]
    pub event_max_attempts: u32,

    /// The wait before a failed event's second attempt, in milliseconds; each
    /// later wait is four times the last (at most ten minutes).
    #[arg(long, env = "KEEL_EVENT_RETRY_DELAY_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=600_000), global = true)]
    pub event_retry_delay_ms: u64,

    /// How often the outbox relay looks for events other replicas recorded,
    /// in milliseconds (this replica's own wake it at once).
    #[arg(long, env = "KEEL_OUTBOX_POLL_MS", default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=60_000), global = true)]
    pub outbox_poll_ms: u64,

    /// Events the relay publishes per round. A round waits for its confirms
    /// and then records them, so a backlog drains at about a batch per round
    /// trip: 200 drained 19 % of a raw publisher's rate, 1,000 42 %, 2,000
    /// over half (`cargo xtask bench --only relay`, ADR 18).
    #[arg(long, env = "KEEL_OUTBOX_BATCH", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=10_000), global = true)]
    pub outbox_batch: u64,

    /// Relay rounds run at once with RabbitMQ on PostgreSQL: one claims and
    /// marks its batch while another waits for the broker's confirms (ADR 18).
    /// 0 makes an API-only replica: it records events and leaves publishing
    /// them (and, with the in-process bus, the saga) to replicas that relay.
    #[arg(long, env = "KEEL_OUTBOX_WORKERS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=16), global = true)]
    pub outbox_workers: u64,

    /// Days published events stay in the outbox table before deletion.
    #[arg(long, env = "KEEL_OUTBOX_RETENTION_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u64).range(0..=365), global = true)]
    pub outbox_retention_days: u64,

    /// An SMTP relay for mailing notifications (`smtp://host:25`,
    /// `smtps://user:password@host`); unset: notifications are only stored.
    #[arg(long, env = "KEEL_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,

    /// The `From` address of notification mail.
    #[arg(
        long,
        env = "KEEL_SMTP_FROM",
        default_value = "Keel <noreply@keel.invalid>",
        global = true
    )]
    pub smtp_from: String,

    /// How long an `Idempotency-Key` holds (its stored response is replayed),
    /// in hours.
    #[arg(long, env = "KEEL_IDEMPOTENCY_TTL_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=24 * 30), global = true)]
    pub idempotency_ttl_hours: u64,

    /// How long a call to the payment provider may take before it is asked
    /// again (with the same idempotency key), in milliseconds.
    #[arg(long, env = "KEEL_PAYMENT_TIMEOUT_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(10..=120_000), global = true)]
    pub payment_timeout_ms: u64,

    /// Calls to the payment provider per charge or refund before giving up
    /// (a charge then fails the order's payment and releases its stock).
    #[arg(long, env = "KEEL_PAYMENT_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20), global = true)]
    pub payment_attempts: u32,

    /// The built-in test payment provider's answer time, in milliseconds, after
    /// it has acted (for tests of crashes in that window).
    #[arg(long, env = "KEEL_TEST_GATEWAY_LATENCY_MS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000), global = true)]
    pub test_gateway_latency_ms: u64,
}

fn parse_amqp_url(text: &str) -> Result<String, String> {
    if text.starts_with("amqp://") || text.starts_with("amqps://") {
        Ok(text.to_owned())
    } else {
        Err("must start with amqp:// or amqps://".to_owned())
    }
}

fn parse_otlp_endpoint(text: &str) -> Result<String, String> {
    if text.starts_with("http://") || text.starts_with("https://") {
        Ok(text.trim_end_matches('/').to_owned())
    } else {
        Err("must start with http:// or https:// (OTLP over HTTP; gRPC is not built in)".to_owned())
    }
}

fn parse_prefix(text: &str) -> Result<String, String> {
    let fine = !text.is_empty()
        && text.len() <= 100
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if fine {
        Ok(text.to_owned())
    } else {
        Err("letters, digits, `-`, `_` and `.` only, at most 100".to_owned())
    }
}

fn parse_role_scopes(text: &str) -> Result<crate::auth::RoleScopes, String> {
    crate::auth::RoleScopes::parse(text)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

fn parse_database_url(url: &str) -> Result<String, String> {
    if url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://")
    {
        Ok(url.to_owned())
    } else {
        Err("must start with `sqlite:` or `postgres://`".to_owned())
    }
}

impl Cli {
    /// Parses flags and environment, after loading the settings file if one is named.
    pub fn load() -> Result<Cli, String> {
        let file = file_from_args().or_else(|| std::env::var_os("KEEL_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            dotenvy::from_path(&path).map_err(|e| {
                format!(
                    "cannot read the settings file {} (KEEL_CONFIG): {e}",
                    path.display()
                )
            })?;
        }
        Ok(Cli::parse())
    }
}

/// `--config FILE` or `--config=FILE`, found before clap runs so that the file's
/// values can be defaults for clap.
fn file_from_args() -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy().into_owned();
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_setting_is_named() {
        let error = Cli::try_parse_from(["keel", "--listen", "nowhere"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--listen"), "{error}");
        let error = Cli::try_parse_from(["keel", "--database-url", "mysql://x"])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("--database-url") && error.contains("sqlite:"),
            "{error}"
        );
    }

    #[test]
    fn defaults_need_no_configuration() {
        let cli = Cli::try_parse_from(["keel"]).unwrap();
        assert_eq!(cli.config.listen.to_string(), "127.0.0.1:8080");
        assert!(cli.config.database_url.starts_with("sqlite:"));
    }
}
