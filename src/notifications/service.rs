//! The notifications use cases: reading a user's notifications (the generated
//! `NotificationsApi`) and sending a welcome when a user registers (a handler
//! of the contract event `user.registered`).

use keel_server::RequestContext;
use keel_server::notifications::*;
use keel_server::types::{
    self as dto, OrderConfirmed, OrderPaymentFailed, PaymentRefunded, UserDeleted, UserRegistered,
};

use super::domain::{Kind, Notification, NotificationId, Recipient};
use super::ports::{NotificationEraser, NotificationReader, NotificationSender, UserDirectory};
use crate::platform::cursor;
use crate::platform::db::Tx;
use crate::platform::events::{EventHandler, EventMeta, HandlerError};
use crate::platform::problem;
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
            Kind::OrderConfirmed => dto::NotificationKind::OrderConfirmed,
            Kind::PaymentFailed => dto::NotificationKind::PaymentFailed,
            Kind::RefundIssued => dto::NotificationKind::RefundIssued,
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
        let before = match req.cursor.as_deref().map(cursor::parameter).transpose() {
            Ok(before) => before.map(NotificationId::from),
            Err(field) => {
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

/// Tells customers what became of their orders and refunds: consumes
/// `order.confirmed`, `order.payment_failed` and `payment.refunded` (v1).
pub struct OrderNews<S, D> {
    sender: S,
    users: D,
}

impl<S: NotificationSender, D: UserDirectory> OrderNews<S, D> {
    pub fn new(sender: S, users: D) -> Self {
        OrderNews { sender, users }
    }

    async fn tell(
        &self,
        tx: &Tx,
        meta: &EventMeta,
        user: uuid::Uuid,
        kind: Kind,
        detail: String,
    ) -> Result<(), HandlerError> {
        let failed = |e: &dyn std::fmt::Display| HandlerError(e.to_string());
        // A customer who deleted their account is not written to.
        let Some(recipient) = self
            .users
            .find(tx, user.into())
            .await
            .map_err(|e| failed(&e))?
        else {
            return Ok(());
        };
        let news = Notification::about_order(
            NotificationId::from(meta.id),
            &recipient,
            kind,
            &detail,
            chrono::Utc::now().timestamp_micros(),
        );
        self.sender
            .send(tx, &recipient, &news)
            .await
            .map_err(|e| failed(&e))
    }
}

fn amount(money: &dto::Money) -> String {
    format!("{} {} (minor units)", money.amount, money.currency.as_str())
}

impl<S: NotificationSender, D: UserDirectory> EventHandler<OrderConfirmed> for OrderNews<S, D> {
    async fn handle(
        &self,
        tx: &Tx,
        event: OrderConfirmed,
        meta: &EventMeta,
    ) -> Result<(), HandlerError> {
        let detail = format!(
            "your order {} is confirmed; {} was charged.",
            event.order_id,
            amount(&event.total)
        );
        self.tell(tx, meta, event.user_id, Kind::OrderConfirmed, detail)
            .await
    }
}

impl<S: NotificationSender, D: UserDirectory> EventHandler<OrderPaymentFailed> for OrderNews<S, D> {
    async fn handle(
        &self,
        tx: &Tx,
        event: OrderPaymentFailed,
        meta: &EventMeta,
    ) -> Result<(), HandlerError> {
        let detail = format!(
            "the payment for your order {} did not go through ({}); nothing was charged.",
            event.order_id, event.reason
        );
        self.tell(tx, meta, event.user_id, Kind::PaymentFailed, detail)
            .await
    }
}

impl<S: NotificationSender, D: UserDirectory> EventHandler<PaymentRefunded> for OrderNews<S, D> {
    async fn handle(
        &self,
        tx: &Tx,
        event: PaymentRefunded,
        meta: &EventMeta,
    ) -> Result<(), HandlerError> {
        let detail = format!(
            "{} of your payment for order {} was refunded.",
            amount(&event.amount),
            event.order_id
        );
        self.tell(tx, meta, event.user_id, Kind::RefundIssued, detail)
            .await
    }
}
