//! Tells this process's row caches what any process changed (ADR 20).
//!
//! On PostgreSQL a trigger (migration `m20261206_000008_change_notifications`)
//! sends `NOTIFY keel_row_changed, '<table>:<id>'` for every row updated or
//! deleted, whoever wrote it; PostgreSQL delivers it after the commit. The
//! feed listens on a connection of its own and invalidates the row in the
//! cache that watches the table. While it is not listening, the caches serve
//! nothing: notifications sent then are lost, so what they held may be stale.
//!
//! SQLite has no such channel, and no feed: its caches stay idle.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::row_cache::RowCache;

/// The channel the trigger notifies on.
pub const CHANNEL: &str = "keel_row_changed";

/// What the feed does to a cache.
pub trait Watcher: Send + Sync {
    fn invalidate(&self, id: Uuid);
    fn suspend(&self);
    fn resume(&self);
}

impl<V: Clone + Send + Sync + 'static> Watcher for RowCache<V> {
    fn invalidate(&self, id: Uuid) {
        RowCache::invalidate(self, id);
    }
    fn suspend(&self) {
        RowCache::suspend(self);
    }
    fn resume(&self) {
        RowCache::resume(self);
    }
}

pub struct ChangeFeed {
    database_url: String,
    tables: HashMap<&'static str, Arc<dyn Watcher>>,
}

impl ChangeFeed {
    pub fn new(database_url: &str) -> Self {
        ChangeFeed {
            database_url: database_url.to_owned(),
            tables: HashMap::new(),
        }
    }

    /// Invalidates `cache` on changes to `table`'s rows.
    pub fn watch(mut self, table: &'static str, cache: Arc<dyn Watcher>) -> Self {
        self.tables.insert(table, cache);
        self
    }

    /// Listens until `stop`, reconnecting after any loss (with backoff).
    pub async fn run(self, stop: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let connected = tokio::select! {
                _ = stop.cancelled() => break,
                connected = self.listen() => connected,
            };
            match connected {
                Ok(mut listener) => {
                    backoff = Duration::from_millis(100);
                    self.each(|cache| cache.resume());
                    metrics::gauge!("keel_change_feed_listening").set(1.0);
                    metrics::counter!("keel_change_feed_connections_total").increment(1);
                    tracing::debug!("change feed listening");
                    let lost = loop {
                        tokio::select! {
                            _ = stop.cancelled() => break None,
                            received = listener.try_recv() => match received {
                                Ok(Some(notification)) => self.dispatch(notification.payload()),
                                Ok(None) => break Some("connection lost".to_owned()),
                                Err(error) => break Some(error.to_string()),
                            },
                        }
                    };
                    self.each(|cache| cache.suspend());
                    metrics::gauge!("keel_change_feed_listening").set(0.0);
                    match lost {
                        None => break,
                        Some(error) => {
                            tracing::warn!(%error, "change feed lost; caches idle until it is back");
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "change feed cannot listen; caches stay idle");
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn listen(&self) -> Result<PgListener, sea_orm::sqlx::Error> {
        let mut listener = PgListener::connect(&self.database_url).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }

    fn each(&self, f: impl Fn(&dyn Watcher)) {
        for cache in self.tables.values() {
            f(cache.as_ref());
        }
    }

    fn dispatch(&self, payload: &str) {
        let Some((table, id)) = payload.split_once(':') else {
            tracing::warn!(payload, "change notification not understood");
            return;
        };
        let Some(cache) = self.tables.get(table) else {
            return;
        };
        match Uuid::parse_str(id) {
            Ok(id) => cache.invalidate(id),
            // Some row of the table changed, and which is not known.
            Err(_) => {
                tracing::warn!(payload, "change notification names no id");
                cache.suspend();
                cache.resume();
            }
        }
    }
}
