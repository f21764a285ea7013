//! Notifications in the `notifications` table, on PostgreSQL and SQLite alike.

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, DatabaseConnection, QueryOrder, QuerySelect};

use crate::notifications::domain::{Kind, Notification, NotificationId, Recipient, RecipientId};
use crate::notifications::ports::{
    NotificationEraser, NotificationReader, NotificationSender, SendError, StorageError,
};
use crate::platform::db::Tx;

mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "notifications")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub kind: String,
        pub subject: String,
        pub body: String,
        pub created_at_us: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{ActiveModel, Column, Entity, Model};

#[derive(Clone)]
pub struct SeaOrmNotifications {
    db: DatabaseConnection,
}

impl SeaOrmNotifications {
    pub fn new(db: DatabaseConnection) -> Self {
        SeaOrmNotifications { db }
    }
}

fn from_row(row: Model) -> Result<Notification, StorageError> {
    Ok(Notification {
        id: row.id.into(),
        recipient: row.user_id.into(),
        kind: Kind::parse(&row.kind).ok_or_else(|| {
            StorageError(format!(
                "notification {} has an unknown kind in storage",
                row.id
            ))
        })?,
        subject: row.subject,
        body: row.body,
        created_at_us: row.created_at_us,
    })
}

impl NotificationSender for SeaOrmNotifications {
    async fn send(
        &self,
        tx: &Tx,
        _recipient: &Recipient,
        notification: &Notification,
    ) -> Result<(), SendError> {
        let row = ActiveModel {
            id: Set(notification.id.as_uuid()),
            user_id: Set(notification.recipient.as_uuid()),
            kind: Set(notification.kind.as_str().to_owned()),
            subject: Set(notification.subject.clone()),
            body: Set(notification.body.clone()),
            created_at_us: Set(notification.created_at_us),
        };
        Entity::insert(row)
            .exec_without_returning(tx.connection())
            .await
            .map_err(|e| SendError(e.to_string()))?;
        Ok(())
    }
}

impl NotificationReader for SeaOrmNotifications {
    async fn list(
        &self,
        recipient: RecipientId,
        before: Option<NotificationId>,
        limit: u64,
    ) -> Result<Vec<Notification>, StorageError> {
        let mut query = Entity::find().filter(Column::UserId.eq(recipient.as_uuid()));
        if let Some(before) = before {
            query = query.filter(Column::Id.lt(before.as_uuid()));
        }
        query
            .order_by_desc(Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(from_row)
            .collect()
    }
}

impl NotificationEraser for SeaOrmNotifications {
    async fn erase(&self, tx: &Tx, recipient: RecipientId) -> Result<u64, StorageError> {
        let result = Entity::delete_many()
            .filter(Column::UserId.eq(recipient.as_uuid()))
            .exec(tx.connection())
            .await?;
        Ok(result.rows_affected)
    }
}
