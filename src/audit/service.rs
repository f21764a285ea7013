//! Reading the audit log (administrators, scope `audit:read`).

use keel_server::RequestContext;
use keel_server::audit::*;
use keel_server::types as dto;

use super::ports::{AuditEvent, AuditSink};
use crate::platform::cursor;
use crate::platform::problem::{self, FieldProblem};

pub struct AuditService<A> {
    log: A,
}

impl<A: AuditSink> AuditService<A> {
    pub fn new(log: A) -> Self {
        AuditService { log }
    }
}

fn action_to_dto(event: &AuditEvent) -> dto::AuditEventAction {
    use super::ports::Action;
    match event.action {
        Action::LoginSucceeded => dto::AuditEventAction::LoginSucceeded,
        Action::LoginFailed => dto::AuditEventAction::LoginFailed,
        Action::UserCreated => dto::AuditEventAction::UserCreated,
        Action::UserDeleted => dto::AuditEventAction::UserDeleted,
    }
}

impl<A: AuditSink> AuditApi for AuditService<A> {
    async fn list_audit_events(
        &self,
        ctx: RequestContext,
        req: ListAuditEventsRequest,
    ) -> ListAuditEventsResponse {
        let before = match req.cursor.as_deref().map(cursor::decode) {
            None => None,
            Some(Some(id)) => Some(id),
            Some(None) => {
                let field = FieldProblem::parameter(
                    "cursor",
                    "cursor",
                    "is not a `nextCursor` this API returned".to_owned(),
                );
                return ListAuditEventsResponse::BadRequest(problem::invalid_field(&ctx, field));
            }
        };
        let limit = u64::try_from(req.limit).expect("the contract bounds limit to 1..=100");
        match self.log.list(before, limit + 1).await {
            Ok(mut events) => {
                let more = events.len() as u64 > limit;
                events.truncate(limit as usize);
                let next_cursor = if more {
                    events.last().map(|e| cursor::encode(e.id))
                } else {
                    None
                };
                let items = events
                    .iter()
                    .map(|e| dto::AuditEvent {
                        id: e.id,
                        action: action_to_dto(e),
                        actor_id: e.actor_id,
                        target_id: e.target_id,
                        request_id: e.request_id.clone(),
                        client_ip: e.client_ip.clone(),
                        occurred_at: e.occurred_at.as_datetime(),
                    })
                    .collect();
                ListAuditEventsResponse::Ok(dto::AuditEventPage { items, next_cursor })
            }
            Err(e) => ListAuditEventsResponse::InternalServerError(problem::internal(&ctx, &e)),
        }
    }
}
