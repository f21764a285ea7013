//! `AuditSink` on sea-orm.

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, DatabaseConnection, QueryOrder, QuerySelect};

use super::ports::{Action, AuditEvent, AuditSink};
use crate::users::domain::Timestamp;
use crate::users::ports::StorageError;

mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub action: String,
        pub actor_id: Option<Uuid>,
        pub target_id: Option<Uuid>,
        pub request_id: String,
        pub client_ip: Option<String>,
        pub occurred_at_us: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{ActiveModel, Column, Entity, Model};

#[derive(Clone)]
pub struct SeaOrmAuditLog {
    db: DatabaseConnection,
}

impl SeaOrmAuditLog {
    pub fn new(db: DatabaseConnection) -> Self {
        SeaOrmAuditLog { db }
    }
}

fn storage(error: DbErr) -> StorageError {
    StorageError::from(error)
}

fn from_row(row: Model) -> Result<AuditEvent, StorageError> {
    Ok(AuditEvent {
        id: row.id,
        action: Action::parse(&row.action)
            .ok_or_else(|| StorageError(format!("audit event {} has an unknown action", row.id)))?,
        actor_id: row.actor_id,
        target_id: row.target_id,
        request_id: row.request_id,
        client_ip: row.client_ip,
        occurred_at: Timestamp::from_micros(row.occurred_at_us)
            .ok_or_else(|| StorageError("an audit event has an invalid time".into()))?,
    })
}

impl AuditSink for SeaOrmAuditLog {
    async fn record(&self, event: AuditEvent) -> Result<(), StorageError> {
        let row = ActiveModel {
            id: Set(event.id),
            action: Set(event.action.as_str().to_owned()),
            actor_id: Set(event.actor_id),
            target_id: Set(event.target_id),
            request_id: Set(event.request_id),
            client_ip: Set(event.client_ip),
            occurred_at_us: Set(event.occurred_at.micros()),
        };
        Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn list(
        &self,
        before: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<AuditEvent>, StorageError> {
        let mut select = Entity::find();
        if let Some(before) = before {
            select = select.filter(Column::Id.lt(before));
        }
        let rows = select
            .order_by_desc(Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(storage)?;
        rows.into_iter().map(from_row).collect()
    }
}
