//! What the users context needs from the outside world.

use std::future::Future;

use super::domain::{Email, Timestamp, User, UserId, Version};

pub use crate::platform::db::StorageError;
use crate::platform::db::Tx;

#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    #[error("the email address belongs to another user")]
    EmailTaken,
    #[error("the user was changed or deleted since it was read")]
    Stale,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One page of a listing, in id order (= creation order) or its reverse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub newest_first: bool,
    /// Start after this id in the listing's order (the cursor).
    pub after: Option<UserId>,
    pub limit: u64,
    /// Lower-case text the email must contain.
    pub email_contains: Option<String>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
}

pub trait UserRepository: Send + Sync + 'static {
    /// Inserts in the caller's transaction, so the events of the registration
    /// commit with it.
    fn insert(&self, tx: &Tx, user: &User) -> impl Future<Output = Result<(), WriteError>> + Send;

    fn get(&self, id: UserId) -> impl Future<Output = Result<Option<User>, StorageError>> + Send;

    /// As [`UserRepository::get`], in the caller's transaction: code that
    /// holds one must not wait for a second connection from the pool (with
    /// the pool taken by others waiting for the first, that is a deadlock).
    fn get_in(
        &self,
        tx: &Tx,
        id: UserId,
    ) -> impl Future<Output = Result<Option<User>, StorageError>> + Send;

    fn find_by_email(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<User>, StorageError>> + Send;

    fn list(
        &self,
        query: &ListQuery,
    ) -> impl Future<Output = Result<Vec<User>, StorageError>> + Send;

    /// Stores `user` if the stored version is still `expected`; otherwise
    /// `WriteError::Stale`, so of two concurrent updates exactly one wins.
    fn update(
        &self,
        user: &User,
        expected: Version,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// `false` when there was no such user. In the caller's transaction, so
    /// the deletion's event commits with it.
    fn delete(
        &self,
        tx: &Tx,
        id: UserId,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
}
