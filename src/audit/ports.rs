use std::future::Future;

use keel_server::RequestContext;
use uuid::Uuid;

use crate::users::domain::Timestamp;
use crate::users::ports::StorageError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    LoginSucceeded,
    LoginFailed,
    UserCreated,
    UserDeleted,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::LoginSucceeded => "login.succeeded",
            Action::LoginFailed => "login.failed",
            Action::UserCreated => "user.created",
            Action::UserDeleted => "user.deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Action::LoginSucceeded,
            Action::LoginFailed,
            Action::UserCreated,
            Action::UserDeleted,
        ]
        .into_iter()
        .find(|a| a.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub action: Action,
    pub actor_id: Option<Uuid>,
    pub target_id: Option<Uuid>,
    pub request_id: String,
    pub client_ip: Option<String>,
    pub occurred_at: Timestamp,
}

impl AuditEvent {
    /// An event for the request in `ctx`, its actor the caller if there is one.
    pub fn of(ctx: &RequestContext, action: Action, target_id: Option<Uuid>) -> Self {
        AuditEvent {
            id: Uuid::now_v7(),
            action,
            actor_id: ctx.principal.as_ref().map(|p| p.user_id),
            target_id,
            request_id: ctx.request_id.to_string(),
            client_ip: ctx.client_ip.map(|ip| ip.to_string()),
            occurred_at: Timestamp::now(),
        }
    }

    pub fn by(mut self, actor_id: Uuid) -> Self {
        self.actor_id = Some(actor_id);
        self
    }
}

/// Where sensitive actions are recorded. Append-only: there is no way to change
/// or remove an event through this port (and the table refuses it too).
pub trait AuditSink: Clone + Send + Sync + 'static {
    fn record(&self, event: AuditEvent) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Newest first, after `before` (an event id, the cursor).
    fn list(
        &self,
        before: Option<Uuid>,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<AuditEvent>, StorageError>> + Send;
}

/// Records an event; a failure is logged, not passed on: the action it describes
/// has already happened, and the caller's answer should say so.
pub async fn record<A: AuditSink>(sink: &A, event: AuditEvent) {
    let action = event.action.as_str();
    if let Err(error) = sink.record(event).await {
        tracing::error!(%error, action, "writing an audit event failed");
    }
}
