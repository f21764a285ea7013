//! `UserRepository` on sea-orm, for PostgreSQL and SQLite alike.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, DatabaseConnection, QueryOrder, QuerySelect, SqlErr};

use std::sync::Arc;

use crate::platform::crypto::FieldCipher;
use crate::platform::db::{Tx, contains_pattern};
use crate::users::domain::{
    AvatarUrl, DisplayName, Email, Phone, Role, Timestamp, User, UserId, Version,
};
use crate::users::ports::{ListQuery, StorageError, UserRepository, WriteError};

mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub email: String,
        pub display_name: String,
        pub avatar_url: Option<String>,
        pub role: String,
        pub password_hash: Option<String>,
        /// `platform::crypto` ciphertext, bound to the row's id.
        pub phone_ciphertext: Option<String>,
        pub created_at_us: i64,
        pub updated_at_us: i64,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{ActiveModel, Column, Entity, Model};

#[derive(Clone)]
pub struct SeaOrmUserRepository {
    db: DatabaseConnection,
    cipher: Arc<FieldCipher>,
}

impl SeaOrmUserRepository {
    pub fn new(db: DatabaseConnection, cipher: Arc<FieldCipher>) -> Self {
        SeaOrmUserRepository { db, cipher }
    }

    fn encode(&self, user: &User) -> ActiveModel {
        let mut row = to_row(user);
        let aad = user.id.as_uuid();
        row.phone_ciphertext = Set(user
            .phone
            .as_ref()
            .map(|p| self.cipher.encrypt(p.as_str(), aad.as_bytes())));
        row
    }

    fn decode(&self, row: Model) -> Result<User, StorageError> {
        let phone = match &row.phone_ciphertext {
            Some(stored) => {
                let plain = self
                    .cipher
                    .decrypt(stored, row.id.as_bytes())
                    .map_err(|e| StorageError(format!("user {}: {e}", row.id)))?;
                Some(Phone::parse(&plain).map_err(|_| {
                    StorageError(format!("user {} has an invalid phone in storage", row.id))
                })?)
            }
            None => None,
        };
        let mut user = from_row(row)?;
        user.phone = phone;
        Ok(user)
    }
}

fn storage(error: DbErr) -> StorageError {
    StorageError::from(error)
}

fn write_error(error: DbErr) -> WriteError {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => WriteError::EmailTaken,
        _ => WriteError::Storage(storage(error)),
    }
}

fn to_row(user: &User) -> ActiveModel {
    ActiveModel {
        id: Set(user.id.as_uuid()),
        email: Set(user.email.as_str().to_owned()),
        display_name: Set(user.display_name.as_str().to_owned()),
        avatar_url: Set(user.avatar_url.as_ref().map(|a| a.as_str().to_owned())),
        role: Set(user.role.as_str().to_owned()),
        password_hash: Set(user.password_hash.clone()),
        phone_ciphertext: sea_orm::ActiveValue::NotSet,
        created_at_us: Set(user.created_at.micros()),
        updated_at_us: Set(user.updated_at.micros()),
        version: Set(user.version.get()),
    }
}

/// A row that does not make a valid `User` means the table was written by
/// something other than this code; it is reported, never passed on.
fn from_row(row: Model) -> Result<User, StorageError> {
    let corrupt =
        |what: &str| StorageError(format!("user {} has an invalid {what} in storage", row.id));
    Ok(User {
        id: UserId::from(row.id),
        email: Email::parse(&row.email).map_err(|_| corrupt("email"))?,
        display_name: DisplayName::parse(&row.display_name).map_err(|_| corrupt("display name"))?,
        avatar_url: row
            .avatar_url
            .as_deref()
            .map(AvatarUrl::parse)
            .transpose()
            .map_err(|_| corrupt("avatar URL"))?,
        role: Role::parse(&row.role).ok_or_else(|| corrupt("role"))?,
        phone: None,
        password_hash: row.password_hash.clone(),
        created_at: Timestamp::from_micros(row.created_at_us)
            .ok_or_else(|| corrupt("creation time"))?,
        updated_at: Timestamp::from_micros(row.updated_at_us)
            .ok_or_else(|| corrupt("update time"))?,
        version: Version::from_stored(row.version),
    })
}

impl SeaOrmUserRepository {
    async fn get_on(
        &self,
        db: &impl ConnectionTrait,
        id: UserId,
    ) -> Result<Option<User>, StorageError> {
        Entity::find_by_id(id.as_uuid())
            .one(db)
            .await
            .map_err(storage)?
            .map(|row| self.decode(row))
            .transpose()
    }
}

impl UserRepository for SeaOrmUserRepository {
    async fn insert(&self, tx: &Tx, user: &User) -> Result<(), WriteError> {
        Entity::insert(self.encode(user))
            .exec_without_returning(tx.connection())
            .await
            .map_err(write_error)?;
        Ok(())
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StorageError> {
        self.get_on(&self.db, id).await
    }

    async fn get_in(&self, tx: &Tx, id: UserId) -> Result<Option<User>, StorageError> {
        self.get_on(tx.connection(), id).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StorageError> {
        Entity::find()
            .filter(Column::Email.eq(email.as_str()))
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(|row| self.decode(row))
            .transpose()
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<User>, StorageError> {
        let mut select = Entity::find();
        if let Some(after) = query.after {
            select = if query.newest_first {
                select.filter(Column::Id.lt(after.as_uuid()))
            } else {
                select.filter(Column::Id.gt(after.as_uuid()))
            };
        }
        if let Some(text) = &query.email_contains {
            select = select.filter(Expr::col(Column::Email).like(contains_pattern(text)));
        }
        if let Some(at) = query.created_after {
            select = select.filter(Column::CreatedAtUs.gt(at.micros()));
        }
        if let Some(at) = query.created_before {
            select = select.filter(Column::CreatedAtUs.lt(at.micros()));
        }
        let ordered = if query.newest_first {
            select.order_by_desc(Column::Id)
        } else {
            select.order_by_asc(Column::Id)
        };
        let rows = ordered
            .limit(query.limit)
            .all(&self.db)
            .await
            .map_err(storage)?;
        rows.into_iter().map(|row| self.decode(row)).collect()
    }

    async fn update(&self, user: &User, expected: Version) -> Result<(), WriteError> {
        let mut row = self.encode(user);
        row.id = sea_orm::ActiveValue::NotSet;
        row.created_at_us = sea_orm::ActiveValue::NotSet;
        let result = Entity::update_many()
            .set(row)
            .filter(Column::Id.eq(user.id.as_uuid()))
            .filter(Column::Version.eq(expected.get()))
            .exec(&self.db)
            .await
            .map_err(write_error)?;
        if result.rows_affected == 1 {
            Ok(())
        } else {
            Err(WriteError::Stale)
        }
    }

    async fn delete(&self, tx: &Tx, id: UserId) -> Result<bool, StorageError> {
        let result = Entity::delete_by_id(id.as_uuid())
            .exec(tx.connection())
            .await
            .map_err(storage)?;
        Ok(result.rows_affected == 1)
    }
}
