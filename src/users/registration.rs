//! Creating and deleting accounts, and announcing it: the user row and its
//! `user.registered` or `user.deleted` event commit in one transaction (the
//! outbox), so the other contexts hear of every account and every erasure.

use keel_server::types::{UserDeleted, UserRegistered};

use super::domain::{User, UserId};
use super::ports::{StorageError, UserRepository, WriteError};
use super::service::role_to_dto;
use crate::platform::db::Transactions;
use crate::platform::events::outbox;

/// The aggregate type of users in the outbox.
pub const AGGREGATE: &str = "user";

pub async fn register<R: UserRepository>(
    repo: &R,
    transactions: &Transactions,
    user: &User,
) -> Result<(), WriteError> {
    let tx = transactions.begin().await?;
    repo.insert(&tx, user).await?;
    outbox::record(&tx, AGGREGATE, &user.id.to_string(), &registered(user)).await?;
    tx.commit().await?;
    Ok(())
}

fn registered(user: &User) -> UserRegistered {
    UserRegistered {
        user_id: user.id.as_uuid(),
        email: user.email.as_str().to_owned(),
        display_name: user.display_name.as_str().to_owned(),
        role: role_to_dto(user.role),
        registered_at: user.created_at.as_datetime(),
    }
}

/// Deletes the user and records `user.deleted`; `false` when there was none.
pub async fn delete<R: UserRepository>(
    repo: &R,
    transactions: &Transactions,
    id: UserId,
) -> Result<bool, StorageError> {
    let tx = transactions.begin().await?;
    if !repo.delete(&tx, id).await? {
        return Ok(false);
    }
    let deleted = UserDeleted {
        user_id: id.as_uuid(),
        deleted_at: chrono::Utc::now(),
    };
    outbox::record(&tx, AGGREGATE, &id.to_string(), &deleted).await?;
    tx.commit().await?;
    Ok(true)
}
