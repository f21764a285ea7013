//! Storing a new account and announcing it: the user row and its
//! `user.registered` event commit in one transaction (the outbox), so no
//! account exists that the other contexts never hear of.

use keel_server::types::UserRegistered;

use super::domain::User;
use super::ports::{UserRepository, WriteError};
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
