//! `UserDirectory` through the users context's own port: its public API, not
//! its tables.

use crate::notifications::domain::{Recipient, RecipientId};
use crate::notifications::ports::{StorageError, UserDirectory};
use crate::platform::db::Tx;
use crate::users::ports::UserRepository;

pub struct UsersDirectory<R> {
    users: R,
}

impl<R: UserRepository> UsersDirectory<R> {
    pub fn new(users: R) -> Self {
        UsersDirectory { users }
    }
}

impl<R: UserRepository> UserDirectory for UsersDirectory<R> {
    async fn exists(&self, id: RecipientId) -> Result<bool, StorageError> {
        Ok(self.users.get(id.as_uuid().into()).await?.is_some())
    }

    async fn find(&self, tx: &Tx, id: RecipientId) -> Result<Option<Recipient>, StorageError> {
        Ok(self
            .users
            .get_in(tx, id.as_uuid().into())
            .await?
            .map(|user| Recipient {
                id,
                email: user.email.as_str().to_owned(),
                name: user.display_name.as_str().to_owned(),
            }))
    }
}
