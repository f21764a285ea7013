//! `UserRepository` with a read cache in front of `get` (ADR 20): an
//! authenticated read of a user is the hottest request there is, and the row
//! rarely changes. The cache is correct across replicas only while the
//! database's change feed is live (PostgreSQL); otherwise every read goes
//! through.

use std::sync::Arc;

use crate::platform::db::Tx;
use crate::platform::row_cache::RowCache;
use crate::users::domain::{Email, User, UserId, Version};
use crate::users::ports::{ListQuery, StorageError, UserRepository, WriteError};

pub struct CachedUsers<R> {
    inner: R,
    cache: Arc<RowCache<User>>,
}

impl<R: UserRepository> CachedUsers<R> {
    pub fn new(inner: R, cache: Arc<RowCache<User>>) -> Self {
        CachedUsers { inner, cache }
    }
}

impl<R: UserRepository> UserRepository for CachedUsers<R> {
    async fn insert(&self, tx: &Tx, user: &User) -> Result<(), WriteError> {
        // A new id: nothing cached to drop (misses are never cached).
        self.inner.insert(tx, user).await
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StorageError> {
        if let Some(user) = self.cache.get(id.as_uuid()) {
            return Ok(Some(user));
        }
        let start = self.cache.read_started();
        let found = self.inner.get(id).await?;
        if let Some(user) = &found {
            self.cache.fill(id.as_uuid(), user.clone(), start);
        }
        Ok(found)
    }

    /// Never cached: a transaction reads its own view of the row.
    async fn get_in(&self, tx: &Tx, id: UserId) -> Result<Option<User>, StorageError> {
        self.inner.get_in(tx, id).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StorageError> {
        self.inner.find_by_email(email).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<User>, StorageError> {
        self.inner.list(query).await
    }

    async fn update(&self, user: &User, expected: Version) -> Result<(), WriteError> {
        let outcome = self.inner.update(user, expected).await;
        // Changed, or found changed by someone else (`Stale`): either way what
        // is cached is old. The change feed says so too, a moment later; this
        // makes the writer's own next read see its write.
        self.cache.invalidate(user.id.as_uuid());
        outcome
    }

    async fn delete(&self, tx: &Tx, id: UserId) -> Result<bool, StorageError> {
        let deleted = self.inner.delete(tx, id).await?;
        let cache = self.cache.clone();
        tx.after_commit(move || cache.invalidate(id.as_uuid()));
        Ok(deleted)
    }
}
