//! `RefreshTokenStore` on sea-orm.

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, DatabaseConnection, sea_query::Expr};

use super::ports::{RefreshTokenStore, StoredRefreshToken};
use crate::users::ports::StorageError;

mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub family_id: Uuid,
        pub user_id: Uuid,
        #[sea_orm(unique)]
        pub token_hash: String,
        pub created_at_us: i64,
        pub expires_at_us: i64,
        pub used_at_us: Option<i64>,
        pub revoked_at_us: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{ActiveModel, Column, Entity};

#[derive(Clone)]
pub struct SeaOrmRefreshTokens {
    db: DatabaseConnection,
}

impl SeaOrmRefreshTokens {
    pub fn new(db: DatabaseConnection) -> Self {
        SeaOrmRefreshTokens { db }
    }
}

fn storage(error: DbErr) -> StorageError {
    StorageError::from(error)
}

impl RefreshTokenStore for SeaOrmRefreshTokens {
    async fn insert(
        &self,
        token: &StoredRefreshToken,
        token_hash: &str,
    ) -> Result<(), StorageError> {
        let row = ActiveModel {
            id: Set(token.id),
            family_id: Set(token.family_id),
            user_id: Set(token.user_id),
            token_hash: Set(token_hash.to_owned()),
            created_at_us: Set(chrono::Utc::now().timestamp_micros()),
            expires_at_us: Set(token.expires_at_us),
            used_at_us: Set(None),
            revoked_at_us: Set(None),
        };
        Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn find(&self, token_hash: &str) -> Result<Option<StoredRefreshToken>, StorageError> {
        let row = Entity::find()
            .filter(Column::TokenHash.eq(token_hash))
            .one(&self.db)
            .await
            .map_err(storage)?;
        Ok(row.map(|r| StoredRefreshToken {
            id: r.id,
            family_id: r.family_id,
            user_id: r.user_id,
            expires_at_us: r.expires_at_us,
            used: r.used_at_us.is_some(),
            revoked: r.revoked_at_us.is_some(),
        }))
    }

    async fn mark_used(&self, id: Uuid, at_us: i64) -> Result<bool, StorageError> {
        let result = Entity::update_many()
            .col_expr(Column::UsedAtUs, Expr::value(at_us))
            .filter(Column::Id.eq(id))
            .filter(Column::UsedAtUs.is_null())
            .filter(Column::RevokedAtUs.is_null())
            .exec(&self.db)
            .await
            .map_err(storage)?;
        Ok(result.rows_affected == 1)
    }

    async fn revoke_family(&self, family_id: Uuid, at_us: i64) -> Result<(), StorageError> {
        Entity::update_many()
            .col_expr(Column::RevokedAtUs, Expr::value(at_us))
            .filter(Column::FamilyId.eq(family_id))
            .filter(Column::RevokedAtUs.is_null())
            .exec(&self.db)
            .await
            .map_err(storage)?;
        Ok(())
    }
}
