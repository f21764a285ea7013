//! Whether the database answers, known without asking it on every request
//! (ADR 19).
//!
//! A probe of its own (a pool of one connection, so a busy application pool
//! is never mistaken for an outage) pings the database every interval, each
//! ping bounded by a timeout. The HTTP edge reads the result: while the
//! database is down, requests that need it are refused at once with 503 and
//! `Retry-After` instead of each waiting out the pool's acquire timeout, and
//! readiness fails. Nothing here restarts anything: sqlx reconnects by itself
//! and the next successful ping opens the gate again.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, RuntimeErr};
use tokio_util::sync::CancellationToken;

/// How often the database is pinged, and how long one ping may take.
#[derive(Debug, Clone, Copy)]
pub struct ProbeSettings {
    pub interval: Duration,
    pub timeout: Duration,
}

#[derive(Clone)]
pub struct DatabaseHealth {
    inner: Arc<Inner>,
}

struct Inner {
    probe: DatabaseConnection,
    up: AtomicBool,
    /// The same, for those who wait for it to change.
    changes: tokio::sync::watch::Sender<bool>,
    settings: ProbeSettings,
    /// Serialises probes, and remembers when the last one ended so a burst
    /// of callers shares one ping.
    last: tokio::sync::Mutex<Option<Instant>>,
}

impl DatabaseHealth {
    /// Opens the probe's own connection. The database answered a moment ago
    /// (migrations ran), so it starts up.
    pub async fn connect(url: &str, settings: ProbeSettings) -> anyhow::Result<Self> {
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(1)
            .min_connections(0)
            .connect_timeout(settings.timeout)
            .acquire_timeout(settings.timeout)
            .sqlx_logging(false);
        let probe = Database::connect(options).await?;
        metrics::gauge!("keel_db_up").set(1.0);
        Ok(DatabaseHealth {
            inner: Arc::new(Inner {
                probe,
                up: AtomicBool::new(true),
                changes: tokio::sync::watch::Sender::new(true),
                settings,
                last: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// What the last probe found.
    pub fn is_up(&self) -> bool {
        self.inner.up.load(Ordering::Relaxed)
    }

    /// Probes now (or shares a probe that ended a moment ago) and returns
    /// what it found; never takes longer than the probe timeout, plus the
    /// wait for a probe already running.
    pub async fn check(&self) -> bool {
        let inner = &self.inner;
        let mut last = inner.last.lock().await;
        let fresh = inner.settings.interval / 4;
        if last.is_some_and(|at| at.elapsed() < fresh) {
            return self.is_up();
        }
        let answered = matches!(
            tokio::time::timeout(inner.settings.timeout, inner.probe.ping()).await,
            Ok(Ok(()))
        );
        *last = Some(Instant::now());
        let was = inner.up.swap(answered, Ordering::Relaxed);
        if was != answered {
            inner.changes.send_replace(answered);
            metrics::gauge!("keel_db_up").set(if answered { 1.0 } else { 0.0 });
            if answered {
                tracing::info!("the database answers again");
            } else {
                tracing::warn!(
                    timeout_ms = inner.settings.timeout.as_millis() as u64,
                    "the database does not answer: requests that need it get 503 until it does"
                );
            }
        }
        answered
    }

    /// Completes when a probe finds the database down (at once if the last
    /// one did).
    pub async fn lost(&self) {
        let mut changes = self.inner.changes.subscribe();
        // The sender lives as long as `self`: this cannot fail.
        let _ = changes.wait_for(|up| !up).await;
    }

    /// Seconds a refused client should wait: the next probe will know more.
    pub fn retry_after_secs(&self) -> u64 {
        self.inner.settings.interval.as_secs().max(1)
    }

    /// Probes every interval until `stop`.
    pub async fn watch(self, stop: CancellationToken) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(self.inner.settings.interval) => {}
            }
            self.check().await;
        }
    }
}

tokio::task_local! {
    /// Set when a storage error of the current request was a lost or refused
    /// connection (see [`note_error`]); read by the edge.
    static CONNECTION_LOST: Cell<bool>;
}

/// Runs `request` and says whether a database error met while running it
/// was one of connectivity (rather than, say, a constraint violation).
pub async fn watch_connection<F: Future>(request: F) -> (F::Output, bool) {
    CONNECTION_LOST
        .scope(Cell::new(false), async move {
            let output = request.await;
            (output, CONNECTION_LOST.with(Cell::get))
        })
        .await
}

/// Called where a `DbErr` becomes a `StorageError`: marks the request when the
/// error says the database could not be reached, so its 500 becomes a 503.
pub(crate) fn note_error(error: &DbErr) {
    if is_connectivity(error) {
        let _ = CONNECTION_LOST.try_with(|lost| lost.set(true));
    }
}

/// A connection that could not be had or was lost, or a server going away;
/// not an error in the statement or the data.
fn is_connectivity(error: &DbErr) -> bool {
    use sea_orm::sqlx::Error;
    match error {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => match &**e {
            Error::Io(_)
            | Error::Tls(_)
            | Error::Protocol(_)
            | Error::PoolTimedOut
            | Error::PoolClosed
            | Error::WorkerCrashed => true,
            // SQLSTATE class 08 (connection exception) and 57P01-57P03
            // (the server is shutting down, crashed, or not yet accepting).
            Error::Database(db) => db
                .code()
                .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
            _ => false,
        },
        DbErr::Conn(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acquire_failures_are_connectivity_and_statement_errors_are_not() {
        assert!(is_connectivity(&DbErr::ConnectionAcquire(
            sea_orm::error::ConnAcquireErr::Timeout
        )));
        assert!(!is_connectivity(&DbErr::RecordNotFound("x".into())));
        assert!(!is_connectivity(&DbErr::Custom("x".into())));
    }

    #[tokio::test]
    async fn a_request_is_marked_only_by_its_own_connectivity_errors() {
        let (_, lost) = watch_connection(async {
            note_error(&DbErr::Custom("constraint".into()));
        })
        .await;
        assert!(!lost);
        let (_, lost) = watch_connection(async {
            note_error(&DbErr::ConnectionAcquire(
                sea_orm::error::ConnAcquireErr::ConnectionClosed,
            ));
        })
        .await;
        assert!(lost);
        // Outside a request: nothing to mark, and no panic.
        note_error(&DbErr::ConnectionAcquire(
            sea_orm::error::ConnAcquireErr::Timeout,
        ));
    }
}
