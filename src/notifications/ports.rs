//! What the notifications context needs from the outside world.

use std::future::Future;

use super::domain::{Notification, NotificationId, Recipient, RecipientId};
pub use crate::platform::db::StorageError;
use crate::platform::db::Tx;

/// Sending failed; the event that asked for it is retried later.
#[derive(Debug, Clone, thiserror::Error)]
#[error("sending the notification failed: {0}")]
pub struct SendError(pub String);

impl From<StorageError> for SendError {
    fn from(error: StorageError) -> Self {
        SendError(error.0)
    }
}

/// Delivers a notification: the database adapter stores it for the API, the
/// SMTP adapter mails it. Called inside the consumer's transaction, so a
/// failure rolls the stored copy back and the whole delivery is retried.
pub trait NotificationSender: Send + Sync + 'static {
    fn send(
        &self,
        tx: &Tx,
        recipient: &Recipient,
        notification: &Notification,
    ) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// Erases a user's notifications (their account was deleted).
pub trait NotificationEraser: Send + Sync + 'static {
    fn erase(
        &self,
        tx: &Tx,
        recipient: RecipientId,
    ) -> impl Future<Output = Result<u64, StorageError>> + Send;
}

/// Whether a user exists now, asked of the users context: a listing for a
/// deleted user is a 404 at once, before `user.deleted` has been consumed.
pub trait UserDirectory: Send + Sync + 'static {
    fn exists(&self, id: RecipientId) -> impl Future<Output = Result<bool, StorageError>> + Send;

    /// Whom to write to about their orders; `None` once the account is gone.
    /// Read in the consumer's transaction (`tx`), never on a second
    /// connection while that one is held.
    fn find(
        &self,
        tx: &Tx,
        id: RecipientId,
    ) -> impl Future<Output = Result<Option<Recipient>, StorageError>> + Send;
}

pub trait NotificationReader: Send + Sync + 'static {
    /// Newest first, starting after `before` (the cursor).
    fn list(
        &self,
        recipient: RecipientId,
        before: Option<NotificationId>,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<Notification>, StorageError>> + Send;
}

/// Stores every notification, and mails it too when `email` is configured.
pub struct Channels<S, E> {
    pub store: S,
    pub email: Option<E>,
}

impl<S: NotificationSender, E: NotificationSender> NotificationSender for Channels<S, E> {
    async fn send(
        &self,
        tx: &Tx,
        recipient: &Recipient,
        notification: &Notification,
    ) -> Result<(), SendError> {
        self.store.send(tx, recipient, notification).await?;
        if let Some(email) = &self.email {
            email.send(tx, recipient, notification).await?;
        }
        Ok(())
    }
}
