//! Keel's server: the bounded contexts (one module each, hexagonal inside) and
//! the platform they share. `main.rs` is only the command line around [`serve`].

pub mod audit;
pub mod auth;
pub mod catalog;
pub mod kernel;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod platform;
pub mod users;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

use platform::config::Config;

/// A server bound to its port, not yet serving.
pub struct Bound {
    pub addr: SocketAddr,
    listener: tokio::net::TcpListener,
    app: platform::http::App,
    events: platform::events::Pipeline,
    /// Stops the tasks that only observe (pool gauges).
    background: tokio_util::sync::CancellationToken,
}

/// Connects the database (applying migrations) and binds the listener, so the
/// caller knows the address (port 0 picks a free one) before serving starts.
pub async fn bind(config: &Config) -> anyhow::Result<Bound> {
    let db = platform::db::connect(
        &config.database_url,
        config.db_max_connections,
        Duration::from_millis(config.db_acquire_timeout_ms),
    )
    .await?;
    let keys = auth::SigningKeys::load_or_create(&config.jwt_keys_dir)?;
    let tokens = std::sync::Arc::new(auth::AccessTokens::new(
        keys,
        config.role_scopes.clone(),
        config.access_token_ttl_secs,
    ));
    let cipher = std::sync::Arc::new(platform::crypto::FieldCipher::load_or_create(
        &config.field_keys_dir,
    )?);
    platform::metrics::exporter();
    let background = tokio_util::sync::CancellationToken::new();
    tokio::spawn(platform::metrics::watch_pool(
        db.clone(),
        config.db_max_connections,
        background.clone(),
    ));
    tokio::spawn(prune_idempotency_keys(db.clone(), background.clone()));
    let db_health = platform::db_health::DatabaseHealth::connect(
        &config.database_url,
        platform::db_health::ProbeSettings {
            interval: Duration::from_millis(config.db_probe_interval_ms),
            timeout: Duration::from_millis(config.db_probe_timeout_ms),
        },
    )
    .await
    .context("opening the database probe's connection")?;
    tokio::spawn(db_health.clone().watch(background.clone()));
    let caches = read_caches(config, &db, &background);
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let transactions = platform::db::Transactions::new(db.clone(), wake.clone());
    let subscriptions = subscriptions(config, &db, &transactions, &cipher)?;
    let events = platform::events::Pipeline::start(
        db.clone(),
        wake,
        &subscriptions,
        broker(config),
        platform::events::outbox::RelaySettings {
            batch: config.outbox_batch,
            workers: usize::try_from(config.outbox_workers).unwrap_or(1),
            poll: Duration::from_millis(config.outbox_poll_ms),
            retention: Duration::from_secs(config.outbox_retention_days * 86_400),
        },
    );
    let app = platform::http::App {
        db,
        db_health,
        transactions,
        broker: events.broker_health(),
        draining: Default::default(),
        tokens,
        cipher,
        caches,
        config: config.clone(),
    };
    let listener = listen(config.listen, config.reuse_port)
        .with_context(|| format!("listening on {} (KEEL_LISTEN)", config.listen))?;
    let addr = listener
        .local_addr()
        .context("the listener has no socket address")?;
    Ok(Bound {
        addr,
        listener,
        app,
        events,
        background,
    })
}

/// The read caches (users; products' prices), with the change feed that
/// keeps them correct across replicas when there is one (PostgreSQL); idle,
/// so every read goes through, otherwise or with a capacity of 0.
fn read_caches(
    config: &Config,
    db: &sea_orm::DatabaseConnection,
    stop: &tokio_util::sync::CancellationToken,
) -> platform::http::ReadCaches {
    use platform::row_cache::RowCache;
    use std::sync::Arc;
    let ttl = Duration::from_secs(300);
    let users = Arc::new(RowCache::new("users", config.user_cache_capacity, ttl));
    let prices = Arc::new(RowCache::new("prices", config.product_cache_capacity, ttl));
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        let mut feed = platform::change_feed::ChangeFeed::new(&config.database_url);
        if config.user_cache_capacity > 0 {
            feed = feed.watch("users", users.clone());
        }
        if config.product_cache_capacity > 0 {
            feed = feed.watch("products", prices.clone());
        }
        if config.user_cache_capacity > 0 || config.product_cache_capacity > 0 {
            tokio::spawn(feed.run(stop.clone()));
        }
    }
    platform::http::ReadCaches { users, prices }
}

/// The listening socket; with `reuse_port`, shared with other processes.
fn listen(
    addr: std::net::SocketAddr,
    reuse_port: bool,
) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As std's and tokio's `bind` do: a restart may take the port at once.
    socket.set_reuseaddr(true)?;
    if reuse_port {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Expired `Idempotency-Key`s are ignored when met; this drops them, hourly.
async fn prune_idempotency_keys(
    db: sea_orm::DatabaseConnection,
    stop: tokio_util::sync::CancellationToken,
) {
    loop {
        match platform::idempotency::prune(&db).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "expired idempotency keys pruned"),
            Err(error) => tracing::warn!(%error, "pruning idempotency keys failed"),
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

/// The event consumers of this process.
fn subscriptions(
    config: &Config,
    db: &sea_orm::DatabaseConnection,
    transactions: &platform::db::Transactions,
    cipher: &std::sync::Arc<platform::crypto::FieldCipher>,
) -> anyhow::Result<platform::events::Subscriptions> {
    use notifications::adapters::{SeaOrmNotifications, SmtpSender, SmtpSettings};
    use notifications::ports::Channels;
    let email = config
        .smtp_url
        .as_ref()
        .map(|url| {
            SmtpSender::new(&SmtpSettings {
                url: url.clone(),
                from: config.smtp_from.clone(),
            })
        })
        .transpose()?;
    let channels = || Channels {
        store: SeaOrmNotifications::new(db.clone()),
        email: email.clone(),
    };
    let users = || {
        notifications::adapters::UsersDirectory::new(users::adapters::SeaOrmUserRepository::new(
            db.clone(),
            cipher.clone(),
        ))
    };
    let news = || notifications::OrderNews::new(channels(), users());
    let products = || catalog::adapters::SeaOrmProducts::new(db.clone());
    let orders = || orders::adapters::SeaOrmOrders::new(db.clone());
    let payments = payments_service(config, db, transactions);
    use keel_server::types as events;
    Ok(platform::events::Subscriptions {
        consumers: vec![
            platform::events::Consumer::new(notifications::CONSUMER)
                .on::<events::UserRegistered, _>(
                    transactions,
                    notifications::WelcomeOnRegistration::new(channels()),
                )
                .on::<events::UserDeleted, _>(
                    transactions,
                    notifications::EraseOnDeletion::new(SeaOrmNotifications::new(db.clone())),
                )
                .on::<events::OrderConfirmed, _>(transactions, news())
                .on::<events::OrderPaymentFailed, _>(transactions, news())
                .on::<events::PaymentRefunded, _>(transactions, news()),
            platform::events::Consumer::new(orders::saga::CONSUMER)
                .on::<events::OrderPlaced, _>(
                    transactions,
                    orders::saga::ReserveStock {
                        orders: orders(),
                        inventory: products(),
                    },
                )
                .on_external::<events::OrderStockReserved, _>(
                    transactions,
                    orders::saga::ChargePayment {
                        orders: orders(),
                        inventory: products(),
                        payments: payments.clone(),
                    },
                )
                .on::<events::OrderPaid, _>(
                    transactions,
                    orders::saga::Confirm {
                        orders: orders(),
                        inventory: products(),
                    },
                ),
            platform::events::Consumer::new(payments::service::CONSUMER)
                .on::<events::OrderCancelled, _>(
                    transactions,
                    payments::service::RefundOnCancel(payments.clone()),
                )
                .on_external::<events::RefundRequested, _>(
                    transactions,
                    payments::service::ExecuteRefund(payments),
                ),
        ],
    })
}

/// The payments context as wired from configuration: the built-in test
/// provider is the only one so far (ADR 16 says how a real one slots in).
pub fn payments_service(
    config: &Config,
    db: &sea_orm::DatabaseConnection,
    transactions: &platform::db::Transactions,
) -> payments::PaymentsService<payments::adapters::SeaOrmPayments, payments::adapters::TestGateway>
{
    payments::PaymentsService::new(
        payments::adapters::SeaOrmPayments::new(db.clone()),
        std::sync::Arc::new(payments::adapters::TestGateway::new(
            db.clone(),
            Duration::from_millis(config.test_gateway_latency_ms),
        )),
        payments::service::GatewayPolicy {
            timeout: Duration::from_millis(config.payment_timeout_ms),
            attempts: config.payment_attempts,
        },
        transactions.clone(),
        Duration::from_secs(config.idempotency_ttl_hours * 3600),
    )
}

fn broker(config: &Config) -> platform::events::Broker {
    let retry = platform::events::RetryPolicy {
        max_attempts: config.event_max_attempts,
        first_delay: Duration::from_millis(config.event_retry_delay_ms),
    };
    match &config.amqp_url {
        Some(url) => {
            platform::events::Broker::RabbitMq(platform::events::rabbitmq::RabbitMqSettings {
                url: url.clone(),
                prefix: config.events_prefix.clone(),
                retry,
                prefetch: 32,
            })
        }
        None => platform::events::Broker::InProcess(retry),
    }
}

impl Bound {
    /// Serves until `shutdown` completes, then lets requests in flight finish
    /// (up to 10 s).
    /// When `shutdown` completes, readiness fails at once; after
    /// `KEEL_SHUTDOWN_DELAY_SECS` the listener closes and requests in flight get
    /// `KEEL_SHUTDOWN_GRACE_SECS` to finish. Then the event pipeline stops: the
    /// relay after its round, consumers after the message in hand.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let draining = self.app.draining.clone();
        let delay = Duration::from_secs(self.app.config.shutdown_delay_secs);
        let grace = Duration::from_secs(self.app.config.shutdown_grace_secs);
        let drain = async move {
            shutdown.await;
            draining.store(true, std::sync::atomic::Ordering::Relaxed);
            tracing::info!(
                delay_secs = delay.as_secs(),
                "shutting down: readiness fails from now"
            );
            tokio::time::sleep(delay).await;
        };
        let limits = platform::serve::ConnectionLimits {
            header_read_timeout: Duration::from_secs(self.app.config.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(self.app.config.idle_timeout_secs),
        };
        let served = platform::serve::serve(
            self.listener,
            platform::http::app(self.app),
            limits,
            drain,
            grace,
        )
        .await;
        self.events.stop().await;
        self.background.cancel();
        served
    }
}

/// Creates an administrator account (the `create-admin` command).
pub async fn create_admin(
    config: &Config,
    email: &str,
    display_name: Option<&str>,
    password: &str,
) -> anyhow::Result<uuid::Uuid> {
    use users::domain::{DisplayName, Email, Role, Timestamp, User};
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let name = display_name.map(str::to_owned).unwrap_or_else(|| {
        email
            .as_str()
            .split('@')
            .next()
            .unwrap_or("admin")
            .to_owned()
    });
    let display_name =
        DisplayName::parse(&name).map_err(|e| anyhow::anyhow!("--display-name {e}"))?;
    let password = auth::password::Password::parse(password)
        .map_err(|e| anyhow::anyhow!("the password {e}"))?;
    let hash = auth::Passwords::new().hash(&password);
    let db = platform::db::connect(
        &config.database_url,
        config.db_max_connections,
        Duration::from_millis(config.db_acquire_timeout_ms),
    )
    .await?;
    // No relay runs in this command: the event waits in the outbox for the
    // server's.
    let transactions = platform::db::Transactions::new(db.clone(), Default::default());
    let user = User::register(
        email,
        display_name,
        None,
        Role::Admin,
        Some(hash),
        Timestamp::now(),
    );
    let cipher = std::sync::Arc::new(platform::crypto::FieldCipher::load_or_create(
        &config.field_keys_dir,
    )?);
    let repo = users::adapters::SeaOrmUserRepository::new(db, cipher);
    users::registration::register(&repo, &transactions, &user)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(user.id.as_uuid())
}

/// Applies pending migrations and returns.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    platform::db::connect(
        &config.database_url,
        config.db_max_connections,
        Duration::from_millis(config.db_acquire_timeout_ms),
    )
    .await?;
    Ok(())
}
