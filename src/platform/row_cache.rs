//! A read cache of rows by id that stays correct while other processes write
//! the same table (ADR 20).
//!
//! Only a live change feed makes a cache safe: every replica, every `psql`
//! session and every migration may write the table, and the feed
//! ([`super::change_feed`]) is what tells this process. So the cache serves
//! nothing until the feed says it is listening, and forgets everything when
//! the feed loses its connection (notifications sent meanwhile are lost).
//!
//! A read that misses races the invalidations: it may read a row, then an
//! invalidation for that row arrives, then the read stores what it read, now
//! stale. The epoch closes that gap. Every invalidation bumps it before it
//! removes the entry; a read notes it before going to the database, stores
//! what it read, and removes that again if the epoch moved meanwhile. Either
//! the read sees the bump (and removes its own entry), or the bump came after
//! the store, and then the removal that follows the bump does it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use uuid::Uuid;

pub struct RowCache<V> {
    /// Names the cache in metrics (`cache` label).
    name: &'static str,
    entries: moka::sync::Cache<Uuid, V>,
    epoch: AtomicU64,
    live: AtomicBool,
}

/// The epoch a read began in; see [`RowCache::fill`].
#[derive(Debug, Clone, Copy)]
pub struct ReadStart(u64);

impl<V: Clone + Send + Sync + 'static> RowCache<V> {
    /// An idle cache: it serves nothing until [`RowCache::resume`]. `ttl`
    /// bounds only memory use: correctness comes from invalidation.
    pub fn new(name: &'static str, capacity: u64, ttl: Duration) -> Self {
        RowCache {
            name,
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            epoch: AtomicU64::new(0),
            live: AtomicBool::new(false),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether the cache serves reads (its change feed is listening).
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }

    /// The cached row, if the cache is live and has it.
    pub fn get(&self, id: Uuid) -> Option<V> {
        if !self.is_live() {
            return None;
        }
        let found = self.entries.get(&id);
        let outcome = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!("keel_cache_reads_total", "cache" => self.name, "outcome" => outcome)
            .increment(1);
        found
    }

    /// Call before reading the row from the database.
    pub fn read_started(&self) -> ReadStart {
        ReadStart(self.epoch.load(Ordering::SeqCst))
    }

    /// Stores a row read since `start`, unless something may have changed it
    /// since: then the next read goes to the database again.
    pub fn fill(&self, id: Uuid, row: V, start: ReadStart) {
        if !self.is_live() || self.epoch.load(Ordering::SeqCst) != start.0 {
            return;
        }
        self.entries.insert(id, row);
        if !self.is_live() || self.epoch.load(Ordering::SeqCst) != start.0 {
            self.entries.invalidate(&id);
        }
    }

    /// The row changed or is gone.
    pub fn invalidate(&self, id: Uuid) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.entries.invalidate(&id);
    }

    /// The change feed is not listening: stop serving, forget everything.
    pub fn suspend(&self) {
        self.live.store(false, Ordering::SeqCst);
        self.forget_all();
    }

    /// The change feed listens (again): what was cached before may have
    /// missed a change, so it is dropped; reads begun before now are not
    /// stored.
    pub fn resume(&self) {
        self.forget_all();
        self.live.store(true, Ordering::SeqCst);
    }

    fn forget_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.entries.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live_cache() -> RowCache<&'static str> {
        let cache = RowCache::new("test", 100, Duration::from_secs(60));
        cache.resume();
        cache
    }

    #[test]
    fn an_idle_cache_serves_and_stores_nothing() {
        let cache = RowCache::new("test", 100, Duration::from_secs(60));
        let id = Uuid::now_v7();
        cache.fill(id, "row", cache.read_started());
        cache.resume();
        assert_eq!(cache.get(id), None);
    }

    #[test]
    fn a_read_is_served_until_its_row_changes() {
        let cache = live_cache();
        let id = Uuid::now_v7();
        cache.fill(id, "v1", cache.read_started());
        assert_eq!(cache.get(id), Some("v1"));
        cache.invalidate(id);
        assert_eq!(cache.get(id), None);
    }

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_stored() {
        let cache = live_cache();
        let id = Uuid::now_v7();
        let start = cache.read_started();
        // The row changes while the read is at the database.
        cache.invalidate(id);
        cache.fill(id, "stale", start);
        assert_eq!(cache.get(id), None);
    }

    #[test]
    fn losing_the_feed_forgets_everything_and_reads_begun_before_are_not_stored() {
        let cache = live_cache();
        let (cached, in_flight) = (Uuid::now_v7(), Uuid::now_v7());
        cache.fill(cached, "v1", cache.read_started());
        let start = cache.read_started();
        cache.suspend();
        assert_eq!(cache.get(cached), None);
        cache.resume();
        assert_eq!(cache.get(cached), None, "dropped while the feed was away");
        cache.fill(in_flight, "maybe stale", start);
        assert_eq!(cache.get(in_flight), None);
    }
}
