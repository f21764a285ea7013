//! The test harness: a real server on a random port over a fresh database.
//!
//! `KEEL_TEST_DATABASE` picks the database: `sqlite` (the default) gives each test
//! its own SQLite file; a `postgres://` URL names a server on which each test
//! creates its own database, dropped when the test ends.
//!
//! Shared by the `api` and `broker` test binaries; each uses part of it.
#![allow(dead_code)]

use std::time::Duration;

use clap::Parser;
use keel::auth::{AccessTokens, SigningKeys};
use keel::platform::config::Cli;
use keel_client::Reply;
use keel_client::types::notifications::{
    ListUserNotificationsRequest, ListUserNotificationsResponse,
};
use keel_client::types::orders::{
    GetOrderRequest, GetOrderResponse, PlaceOrderRequest, PlaceOrderResponse,
};
use keel_client::types::products::{
    CreateProductRequest, CreateProductResponse, GetProductRequest, GetProductResponse,
};
use keel_client::types::users::{CreateUserRequest, CreateUserResponse};
use keel_client::types::{
    Currency, Money, NewOrder, NewProduct, NewUser, Notification, Order, OrderLine, OrderStatus,
    Problem, Tristate, User,
};
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use tokio::sync::oneshot;
use uuid::Uuid;

pub struct TestApp {
    pub base: String,
    /// Mints access tokens with the server's own signing key (a test may forge
    /// any token it needs: expired, other scopes, other users).
    pub tokens: AccessTokens,
    admin_token: String,
    keys_dir: std::path::PathBuf,
    /// The generated client: every well-formed request goes through it.
    pub api: keel_client::Client,
    /// Raw HTTP, for requests the generated client cannot express (malformed ones).
    pub client: Client,
    shutdown: Option<oneshot::Sender<()>>,
    _database: TestDatabase,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// A server with these settings (`--flag value` pairs) added.
    pub async fn spawn_with(settings: &[&str]) -> TestApp {
        Self::spawn_on(TestDatabase::create().await, settings).await
    }

    pub async fn spawn_on(database: TestDatabase, settings: &[&str]) -> TestApp {
        let keys_dir =
            std::env::temp_dir().join(format!("keel-test-keys-{}", uuid::Uuid::now_v7()));
        Self::spawn_with_keys(database, keys_dir, settings).await
    }

    /// A second server on this one's database and keys, as another replica
    /// behind the same load balancer would be.
    pub async fn replica(&self) -> TestApp {
        let database = TestDatabase {
            url: self._database.url.clone(),
            cleanup: None,
            owned: false,
        };
        Self::spawn_with_keys(database, self.keys_dir.clone(), &[]).await
    }

    async fn spawn_with_keys(
        database: TestDatabase,
        keys_dir: std::path::PathBuf,
        settings: &[&str],
    ) -> TestApp {
        // Spans get W3C trace ids, as in the binary, so trace context propagates.
        keel::platform::telemetry::init_quiet();
        let mut args = vec![
            "keel".to_owned(),
            "--listen".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--database-url".to_owned(),
            database.url.clone(),
            "--jwt-keys-dir".to_owned(),
            keys_dir
                .join("jwt")
                .to_str()
                .expect("a UTF-8 temp dir")
                .to_owned(),
            "--field-keys-dir".to_owned(),
            keys_dir
                .join("fields")
                .to_str()
                .expect("a UTF-8 temp dir")
                .to_owned(),
        ];
        args.extend(settings.iter().map(|s| (*s).to_owned()));
        let cli = Cli::try_parse_from(args).expect("test configuration parses");
        let bound = keel::bind(&cli.config).await.expect("the server starts");
        let base = format!("http://{}", bound.addr);
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(bound.serve(async move {
            let _ = stopped.await;
        }));
        // The generated client first: building it installs the process's TLS
        // crypto provider, which the raw client (same reqwest) needs too.
        let tokens = AccessTokens::new(
            SigningKeys::load_or_create(&keys_dir.join("jwt")).expect("the server's key"),
            cli.config.role_scopes.clone(),
            900,
        );
        // Most tests act as an administrator; `client_as` gives any other caller.
        let admin = tokens.issue(uuid::Uuid::now_v7(), "admin");
        let api = keel_client::Client::builder(&base)
            .bearer(admin.clone())
            .build()
            .expect("a generated client");
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a client");
        TestApp {
            base,
            admin_token: admin,
            tokens,
            keys_dir,
            api,
            client,
            shutdown: Some(shutdown),
            _database: database,
        }
    }

    /// Begins the server's shutdown, as SIGTERM would.
    pub fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// A raw request as an administrator.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_as(method, path, Some(&self.admin_token))
    }

    /// A raw request with this bearer token, or none.
    pub fn request_as(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// The generated client, calling with this bearer token (or none).
    pub fn client_as(&self, token: Option<String>) -> keel_client::Client {
        let builder = keel_client::Client::builder(&self.base);
        match token {
            Some(token) => builder.bearer(token),
            None => builder,
        }
        .build()
        .expect("a generated client")
    }

    /// The database this server runs on, for tests that must look beneath the API.
    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    /// A connection to the server's database, for looking beneath the API.
    pub async fn database(&self) -> sea_orm::DatabaseConnection {
        sea_orm::Database::connect(self.database_url())
            .await
            .expect("the test database answers")
    }

    /// Waits up to 30 s for `user_id` to have `count` notifications, and
    /// returns them (newest first); fails the test if more or fewer arrive.
    pub async fn notifications(&self, user_id: uuid::Uuid, count: usize) -> Vec<Notification> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let request = ListUserNotificationsRequest {
                user_id,
                limit: 100,
                cursor: None,
            };
            let found = match self
                .api
                .list_user_notifications(&request)
                .await
                .expect("GET is answered")
                .value
            {
                ListUserNotificationsResponse::Ok(page) => page.items,
                other => panic!("listing notifications of {user_id}: {other:?}"),
            };
            assert!(
                found.len() <= count,
                "{user_id} has {} notifications, expected {count}: {found:?}",
                found.len()
            );
            if found.len() == count {
                return found;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{user_id} has {} notifications after 30 s, expected {count}",
                found.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A raw GET, for paths the generated client cannot produce.
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("GET is answered")
    }

    /// Creates a user and returns it with its ETag.
    pub async fn create_user(&self, email: &str, name: &str) -> (User, String) {
        let request = CreateUserRequest {
            body: new_user(email, name),
        };
        match self
            .api
            .create_user(&request)
            .await
            .expect("POST is answered")
            .value
        {
            CreateUserResponse::Created { body, etag, .. } => (body, etag),
            other => panic!("creating {email}: {other:?}"),
        }
    }
}

/// The number `sql` (a `SELECT COUNT(*) …`) counts.
pub async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

/// Waits up to `limit` for `sql` to count `expected`; fails the test after.
pub async fn wait_for_count(
    db: &sea_orm::DatabaseConnection,
    sql: &str,
    expected: i64,
    limit: Duration,
) {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let found = count(db, sql).await;
        if found == expected {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "`{sql}` counts {found}, expected {expected}, after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn new_user(email: &str, name: &str) -> NewUser {
    NewUser {
        email: email.to_owned(),
        display_name: name.to_owned(),
        avatar_url: Tristate::Absent,
        role: None,
        phone: Tristate::Absent,
        password: None,
    }
}

/// Asserts that a declared problem reply came as problem+json with a consistent body.
pub fn assert_problem<T>(reply: &Reply<T>, problem: &Problem, status: u16) {
    assert_eq!(reply.status.as_u16(), status);
    assert_eq!(
        reply.headers.get("content-type").unwrap(),
        "application/problem+json"
    );
    assert_eq!(problem.status, i32::from(status));
    assert!(
        problem.type_.starts_with("urn:keel:problem:"),
        "{problem:?}"
    );
    assert!(problem.detail.is_some(), "{problem:?}");
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.keys_dir);
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("the response has a `{name}` header"))
        .to_str()
        .expect("an ASCII header")
        .to_owned()
}

/// Asserts a problem+json response and returns its body.
pub async fn problem(response: Response, status: u16) -> Value {
    assert_eq!(response.status(), status, "status of {}", response.url());
    assert_eq!(
        header(&response, "content-type"),
        "application/problem+json"
    );
    let body: Value = response.json().await.expect("a JSON problem");
    assert_eq!(body["status"], status);
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:keel:problem:")),
        "{body}"
    );
    assert!(body["title"].is_string(), "{body}");
    assert!(body["detail"].is_string(), "{body}");
    body
}

pub struct TestDatabase {
    pub url: String,
    cleanup: Option<(String, String)>,
    /// Whether dropping it removes the database (not for a replica's).
    owned: bool,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        match std::env::var("KEEL_TEST_DATABASE")
            .ok()
            .filter(|v| v.starts_with("postgres"))
        {
            Some(admin_url) => Self::postgres(&admin_url).await,
            None => Self::sqlite(),
        }
    }

    /// A SQLite file of its own, whatever `KEEL_TEST_DATABASE` says.
    pub fn sqlite() -> TestDatabase {
        let name = format!("keel_test_{}", uuid::Uuid::now_v7().simple());
        let path = std::env::temp_dir().join(format!("{name}.db"));
        TestDatabase {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            cleanup: None,
            owned: true,
        }
    }

    /// A database of its own on the PostgreSQL server `admin_url` names.
    pub async fn postgres(admin_url: &str) -> TestDatabase {
        let name = format!("keel_test_{}", uuid::Uuid::now_v7().simple());
        let admin = sea_orm::Database::connect(admin_url)
            .await
            .expect("the PostgreSQL test server answers");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE");
        admin.close().await.expect("closing the admin connection");
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url, |(base, _)| base);
        TestDatabase {
            url: format!("{base}/{name}"),
            cleanup: Some((admin_url.to_owned(), name)),
            owned: true,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        match self.cleanup.take() {
            // Drop runs outside any async context; a thread with its own runtime
            // can still wait for the DROP.
            Some((admin_url, name)) => {
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime");
                    runtime.block_on(async {
                        if let Ok(admin) = sea_orm::Database::connect(&admin_url).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await;
                        }
                    });
                })
                .join();
            }
            None => {
                if let Some(path) = self
                    .url
                    .strip_prefix("sqlite://")
                    .and_then(|u| u.split('?').next())
                {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{path}{suffix}"));
                    }
                }
            }
        }
    }
}

/// The real `keel` binary on a port of its own, for what only the process
/// shows (its log output, its exporter, its signals). Its standard output is
/// kept line by line; it is killed if the test ends without stopping it.
pub struct KeelProcess {
    pub base: String,
    keys: std::path::PathBuf,
    /// Whether the keys directory is this process's alone (removed on drop).
    own_keys: bool,
    child: Option<std::process::Child>,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl KeelProcess {
    /// Starts it on `database_url` with these environment variables added, and
    /// waits until it accepts connections.
    pub fn start(database_url: &str, env: &[(&str, &str)]) -> KeelProcess {
        let keys = std::env::temp_dir().join(format!("keel-process-{}", uuid::Uuid::now_v7()));
        let mut process = Self::start_with_keys(database_url, &keys, env);
        process.own_keys = true;
        process
    }

    /// As [`KeelProcess::start`], with the signing keys in `keys`: a restarted
    /// process keeps accepting the tokens the first one's key signed.
    pub fn start_with_keys(
        database_url: &str,
        keys: &std::path::Path,
        env: &[(&str, &str)],
    ) -> KeelProcess {
        use std::io::BufRead;
        let keys = keys.to_path_buf();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keel"))
            .env("KEEL_LISTEN", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("KEEL_JWT_KEYS_DIR", keys.join("jwt"))
            .env("KEEL_FIELD_KEYS_DIR", keys.join("fields"))
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("starting keel");
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (pipe, lines) = (child.stdout.take().expect("piped"), stdout.clone());
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let mut process = KeelProcess {
            base: format!("http://127.0.0.1:{port}"),
            keys,
            own_keys: false,
            child: Some(child),
            stdout,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = process.child.as_mut().and_then(|c| c.try_wait().ok()?) {
                panic!("keel exited with {status}: {:?}", process.stdout_lines());
            }
            assert!(std::time::Instant::now() < deadline, "keel did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        process
    }

    /// A raw HTTP client. Building the generated client first installs the
    /// process's TLS crypto provider, which a reqwest of the same build needs.
    pub fn client(&self) -> Client {
        let _ = keel_client::Client::builder(&self.base).build();
        Client::new()
    }

    /// Mints tokens with the process's key and the default role scopes.
    pub fn tokens(&self) -> AccessTokens {
        let config = Cli::try_parse_from(["keel"])
            .expect("defaults parse")
            .config;
        AccessTokens::new(
            SigningKeys::load_or_create(&self.keys.join("jwt")).expect("the server's key"),
            config.role_scopes,
            900,
        )
    }

    /// An access token of an administrator, signed with the process's key.
    pub fn admin_token(&self) -> String {
        self.tokens().issue(uuid::Uuid::now_v7(), "admin")
    }

    /// Whether the process is still the one started (not exited, not killed).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("still running").id()
    }

    /// Waits for the process to exit (after a signal the test sent).
    pub async fn wait(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("still running");
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .expect("keel exits")
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What it wrote to standard output so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("still running");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .expect("keel exits")
    }
}

impl Drop for KeelProcess {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if self.own_keys {
            let _ = std::fs::remove_dir_all(&self.keys);
        }
    }
}

// Commerce helpers, for the `commerce` and `crash` tests and the broker
// binary's replicas test.

/// Charges the test provider captured, by its own books.
pub const CHARGES: &str =
    "SELECT COUNT(*) FROM test_gateway_operations WHERE kind = 'charge' AND outcome = 'captured'";

pub fn eur(amount: i64) -> Money {
    Money {
        amount,
        currency: Currency("EUR".into()),
    }
}

/// Creates a product as `admin`; its id.
pub async fn product_via(admin: &keel_client::Client, price: i64, stock: i64) -> Uuid {
    let request = CreateProductRequest {
        body: NewProduct {
            name: "Teapot".into(),
            description: Tristate::Absent,
            price: eur(price),
            initial_stock: Some(stock),
        },
    };
    match admin.create_product(&request).await.unwrap().value {
        CreateProductResponse::Created { body, .. } => body.id,
        other => panic!("creating a product: {other:?}"),
    }
}

pub fn new_order(product: Uuid, quantity: i32, token: &str) -> NewOrder {
    NewOrder {
        items: vec![OrderLine {
            product_id: product,
            quantity,
        }],
        payment_token: token.into(),
    }
}

pub async fn place(client: &keel_client::Client, key: &str, order: NewOrder) -> Order {
    let request = PlaceOrderRequest {
        idempotency_key: key.into(),
        body: order,
    };
    match client.place_order(&request).await.unwrap().value {
        PlaceOrderResponse::Created { body, .. } => body,
        other => panic!("placing an order: {other:?}"),
    }
}

pub fn settled(status: &OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Confirmed
            | OrderStatus::Rejected
            | OrderStatus::PaymentFailed
            | OrderStatus::Cancelled
    )
}

/// Polls the order until its process has ended (60 s at most).
pub async fn settle(client: &keel_client::Client, id: Uuid) -> Order {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let reply = client
            .get_order(&GetOrderRequest { order_id: id })
            .await
            .unwrap();
        let GetOrderResponse::Ok { body, .. } = reply.value else {
            panic!("reading order {id}: {:?}", reply.value);
        };
        if settled(&body.status) {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "order {id} is still {:?}",
            body.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The product's stock as (available, reserved), read through `client`.
pub async fn stock_via(client: &keel_client::Client, id: Uuid) -> (i64, i64) {
    match client
        .get_product(&GetProductRequest { product_id: id })
        .await
        .unwrap()
        .value
    {
        GetProductResponse::Ok { body, .. } => (body.stock.available, body.stock.reserved),
        other => panic!("reading product {id}: {other:?}"),
    }
}

use sea_orm::ConnectionTrait;
