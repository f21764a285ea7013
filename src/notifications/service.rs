//! The notifications use cases: reading a user's notifications (the generated
//! `NotificationsApi`) and sending a welcome when a user registers (a handler
//! of the contract event `user.registered`).

use keel_server::RequestContext;
use keel_server::notifications::*;
use keel_server::types::{self as dto, UserDeleted, UserRegistered};

use super::domain::{Kind, Notification, NotificationId, Recipient};
use super::ports::{NotificationEraser, NotificationReader, NotificationSender, UserDirectory};
use crate::platform::cursor;
use crate::platform::db::Tx;
use crate::platform::events::{EventHandler, EventMeta, HandlerError};
use crate::platform::problem::{self, FieldProblem};
use crate::users::service::may_access;

pub struct NotificationsService<R, D> {
    reader: R,
    users: D,
}

impl<R: NotificationReader, D: UserDirectory> NotificationsService<R, D> {
    pub fn new(reader: R, users: D) -> Self {
        NotificationsService { reader, users }
    }
}

fn to_dto(notification: &Notification) -> dto::Notification {
    dto::Notification {
        id: notification.id.as_uuid(),
        kind: match notification.kind {
            Kind::Welcome => dto::NotificationKind::Welcome,
        },
        subject: notification.subject.clone(),
        body: notification.body.clone(),
        created_at: chrono::DateTime::from_timestamp_micros(notification.created_at_us)
            .unwrap_or_default(),
    }
}

impl<R: NotificationReader, D: UserDirectory> NotificationsApi for NotificationsService<R, D> {
    async fn list_user_notifications(
        &self,
        ctx: RequestContext,
        req: ListUserNotificationsRequest,
    ) -> ListUserNotificationsResponse {
        let missing = |ctx: &RequestContext| {
            let detail = format!("there is no user {}", req.user_id);
            ListUserNotificationsResponse::NotFound(problem::problem(ctx, 404, "not-found", detail))
        };
        // The users context's rule: one's own, or any with `users:admin`; another
        // user's are reported missing, so ids cannot be probed.
        if !may_access(&ctx, req.user_id) {
            return missing(&ctx);
        }
        match self.users.exists(req.user_id.into()).await {
            Ok(true) => {}
            Ok(false) => return missing(&ctx),
            Err(e) => {
                return ListUserNotificationsResponse::InternalServerError(problem::internal(
                    &ctx, &e,
                ));
            }
        }
        let before = match req.cursor.as_deref().map(cursor::decode) {
            None => None,
            Some(Some(id)) => Some(NotificationId::from(id)),
            Some(None) => {
                let field = FieldProblem::parameter(
                    "cursor",
                    "cursor",
                    "is not a `nextCursor` this API returned".to_owned(),
                );
                return ListUserNotificationsResponse::BadRequest(problem::invalid_field(
                    &ctx, field,
                ));
            }
        };
        let limit = u64::try_from(req.limit).expect("the contract bounds limit to 1..=100");
        match self
            .reader
            .list(req.user_id.into(), before, limit + 1)
            .await
        {
            Ok(mut found) => {
                let more = found.len() as u64 > limit;
                found.truncate(limit as usize);
                let next_cursor = if more {
                    found.last().map(|n| cursor::encode(n.id.as_uuid()))
                } else {
                    None
                };
                ListUserNotificationsResponse::Ok(dto::NotificationPage {
                    items: found.iter().map(to_dto).collect(),
                    next_cursor,
                })
            }
            Err(e) => {
                ListUserNotificationsResponse::InternalServerError(problem::internal(&ctx, &e))
            }
        }
    }
}

/// Welcomes every new user: consumes `user.registered` v1.
pub struct WelcomeOnRegistration<S> {
    sender: S,
}

impl<S: NotificationSender> WelcomeOnRegistration<S> {
    pub fn new(sender: S) -> Self {
        WelcomeOnRegistration { sender }
    }
}

impl<S: NotificationSender> EventHandler<UserRegistered> for WelcomeOnRegistration<S> {
    async fn handle(
        &self,
        tx: &Tx,
        event: UserRegistered,
        meta: &EventMeta,
    ) -> Result<(), HandlerError> {
        let recipient = Recipient {
            id: event.user_id.into(),
            email: event.email,
            name: event.display_name,
        };
        let welcome = Notification::welcome(
            NotificationId::from(meta.id),
            &recipient,
            chrono::Utc::now().timestamp_micros(),
        );
        self.sender
            .send(tx, &recipient, &welcome)
            .await
            .map_err(|e| HandlerError(e.to_string()))
    }
}

/// Erases a deleted user's notifications: consumes `user.deleted` v1.
pub struct EraseOnDeletion<E> {
    store: E,
}

impl<E: NotificationEraser> EraseOnDeletion<E> {
    pub fn new(store: E) -> Self {
        EraseOnDeletion { store }
    }
}

impl<E: NotificationEraser> EventHandler<UserDeleted> for EraseOnDeletion<E> {
    async fn handle(
        &self,
        tx: &Tx,
        event: UserDeleted,
        _meta: &EventMeta,
    ) -> Result<(), HandlerError> {
        self.store
            .erase(tx, event.user_id.into())
            .await
            .map(|_| ())
            .map_err(|e| HandlerError(e.to_string()))
    }
}
