//! Keel's server: the bounded contexts (one module each, hexagonal inside) and
//! the platform they share. `main.rs` is only the command line around [`serve`].

pub mod platform;
pub mod users;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};

use platform::config::Config;

/// A server bound to its port, not yet serving.
pub struct Bound {
    pub addr: SocketAddr,
    server: poem::Server<std::convert::Infallible, TcpAcceptor>,
    db: sea_orm::DatabaseConnection,
}

/// Connects the database (applying migrations) and binds the listener, so the
/// caller knows the address (port 0 picks a free one) before serving starts.
pub async fn bind(config: &Config) -> anyhow::Result<Bound> {
    let db = platform::db::connect(&config.database_url, config.db_max_connections).await?;
    let acceptor = TcpListener::bind(config.listen)
        .into_acceptor()
        .await
        .with_context(|| format!("listening on {} (KEEL_LISTEN)", config.listen))?;
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .context("the listener has no socket address")?;
    Ok(Bound {
        addr,
        server: poem::Server::new_with_acceptor(acceptor),
        db,
    })
}

impl Bound {
    /// Serves until `shutdown` completes, then lets requests in flight finish
    /// (up to 10 s).
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        self.server
            .run_with_graceful_shutdown(
                platform::http::app(self.db),
                shutdown,
                Some(Duration::from_secs(10)),
            )
            .await
    }
}

/// Applies pending migrations and returns.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    platform::db::connect(&config.database_url, config.db_max_connections).await?;
    Ok(())
}
