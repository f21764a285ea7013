//! The orders use cases, behind the generated `OrdersApi`: placing an order
//! (idempotently), reading and listing orders, and cancelling one, which
//! undoes whatever the order process had done so far.

use std::collections::BTreeMap;
use std::time::Duration;

use keel_server::RequestContext;
use keel_server::orders::*;
use keel_server::types::{self as dto, OrderCancelled, Problem};
use uuid::Uuid;

use super::domain::{Order, OrderId, PaymentToken, PlaceError, Status, Step, StockHold};
use super::ports::{Inventory, ListQuery, OrderRepository, StorageError, WriteError};
use super::saga::{self, AGGREGATE};
use crate::catalog::domain::ProductId;
use crate::kernel::Timestamp;
use crate::platform::conditional::{etag, if_match_allows};
use crate::platform::cursor;
use crate::platform::db::{Inserts, Transactions};
use crate::platform::dto::money_to_dto;
use crate::platform::events::outbox;
use crate::platform::idempotency::{self, Claim, Scope, StoredResponse};
use crate::platform::problem::{self, FieldProblem};

pub struct OrdersService<R, I> {
    orders: R,
    inventory: I,
    transactions: Transactions,
    idempotency_ttl: Duration,
}

impl<R: OrderRepository, I: Inventory> OrdersService<R, I> {
    pub fn new(
        orders: R,
        inventory: I,
        transactions: Transactions,
        idempotency_ttl: Duration,
    ) -> Self {
        OrdersService {
            orders,
            inventory,
            transactions,
            idempotency_ttl,
        }
    }
}

pub fn to_dto(order: &Order) -> dto::Order {
    dto::Order {
        id: order.id.as_uuid(),
        user_id: order.customer,
        status: status_to_dto(order.status),
        items: order
            .items
            .iter()
            .map(|i| dto::OrderItem {
                product_id: i.product.as_uuid(),
                name: i.name.clone(),
                quantity: i32::try_from(i.quantity).expect("the contract bounds quantities"),
                unit_price: money_to_dto(i.unit_price),
                line_total: money_to_dto(i.line_total),
            })
            .collect(),
        total: money_to_dto(order.total),
        payment_id: order.payment,
        failure_reason: order.failure_reason.clone(),
        created_at: order.created_at.as_datetime(),
        updated_at: order.updated_at.as_datetime(),
    }
}

fn status_to_dto(status: Status) -> dto::OrderStatus {
    match status {
        Status::Pending => dto::OrderStatus::Pending,
        Status::StockReserved => dto::OrderStatus::StockReserved,
        Status::Paid => dto::OrderStatus::Paid,
        Status::Confirmed => dto::OrderStatus::Confirmed,
        Status::Rejected => dto::OrderStatus::Rejected,
        Status::PaymentFailed => dto::OrderStatus::PaymentFailed,
        Status::Cancelled => dto::OrderStatus::Cancelled,
    }
}

fn status_from_dto(status: dto::OrderStatus) -> Status {
    match status {
        dto::OrderStatus::Pending => Status::Pending,
        dto::OrderStatus::StockReserved => Status::StockReserved,
        dto::OrderStatus::Paid => Status::Paid,
        dto::OrderStatus::Confirmed => Status::Confirmed,
        dto::OrderStatus::Rejected => Status::Rejected,
        dto::OrderStatus::PaymentFailed => Status::PaymentFailed,
        dto::OrderStatus::Cancelled => Status::Cancelled,
    }
}

/// Administrators (`orders:admin`) see every order; others only their own.
fn sees_all(ctx: &RequestContext) -> bool {
    ctx.principal
        .as_ref()
        .is_some_and(|p| p.has_scope("orders:admin"))
}

fn caller(ctx: &RequestContext) -> Uuid {
    ctx.principal
        .as_ref()
        .expect("the contract requires a token for every orders operation")
        .user_id
}

fn may_access(ctx: &RequestContext, order: &Order) -> bool {
    sees_all(ctx) || order.customer == caller(ctx)
}

fn not_found(ctx: &RequestContext, id: Uuid) -> Problem {
    problem::problem(
        ctx,
        404,
        "order-not-found",
        format!("there is no order with id {id}"),
    )
}

fn internal(ctx: &RequestContext, error: StorageError) -> Problem {
    problem::internal(ctx, &error)
}

/// Why an order could not be placed; nothing was stored.
enum Refusal {
    Invalid(FieldProblem),
    Unprocessable(&'static str, String),
    Storage(StorageError),
}

impl From<StorageError> for Refusal {
    fn from(error: StorageError) -> Self {
        Refusal::Storage(error)
    }
}

/// The outcome of a placement, as stored for replays.
struct Placed {
    order: dto::Order,
    etag: String,
    location: String,
}

impl Placed {
    fn stored(&self) -> StoredResponse {
        StoredResponse {
            status: 201,
            headers: BTreeMap::from([
                ("etag".to_owned(), self.etag.clone()),
                ("location".to_owned(), self.location.clone()),
            ]),
            body: serde_json::to_string(&self.order).expect("orders serialize"),
        }
    }

    fn replayed(stored: StoredResponse) -> Result<Placed, StorageError> {
        let header = |name: &str| {
            stored
                .headers
                .get(name)
                .cloned()
                .ok_or_else(|| StorageError(format!("the stored response lacks `{name}`")))
        };
        Ok(Placed {
            order: serde_json::from_str(&stored.body)
                .map_err(|e| StorageError(format!("the stored response: {e}")))?,
            etag: header("etag")?,
            location: header("location")?,
        })
    }
}

enum Placement {
    New(Placed),
    Replay(Placed),
}

/// A key already used: its first response again, or a refusal.
fn claimed(claim: Claim) -> Result<Placement, Refusal> {
    match claim {
        Claim::Replay(stored) => Ok(Placement::Replay(Placed::replayed(stored)?)),
        Claim::Mismatch => Err(Refusal::Unprocessable(
            "idempotency-key-reused",
            "this Idempotency-Key was used for a different request; use a new key for a new order"
                .into(),
        )),
        Claim::Fresh => unreachable!("a fresh claim is not a key already used"),
    }
}

impl<R: OrderRepository, I: Inventory> OrdersService<R, I> {
    async fn place(
        &self,
        ctx: &RequestContext,
        scope: &Scope,
        body: &dto::NewOrder,
    ) -> Result<Placement, Refusal> {
        let token = PaymentToken::parse(&body.payment_token).ok_or_else(|| {
            Refusal::Invalid(FieldProblem::body(
                "/paymentToken",
                "domain",
                "must be `tok_` and 1 to 100 letters, digits or underscores".into(),
            ))
        })?;
        let fingerprint = idempotency::fingerprint("placeOrder", body);
        let order = match self.price(caller(ctx), body, token).await {
            Ok(order) => order,
            // A retry whose first attempt succeeded replays it, even if the
            // catalog has changed since (a price now in another currency).
            Err(refusal) => {
                let conn = self.transactions.connection();
                return match idempotency::existing(conn, scope, &fingerprint).await? {
                    Some(claim) => claimed(claim),
                    None => Err(refusal),
                };
            }
        };
        let placed = Placed {
            order: to_dto(&order),
            etag: etag(order.version.get()),
            location: format!("/v1/orders/{}", order.id),
        };
        // The order, its lines, its event and the key's response: inserts
        // only, so on PostgreSQL one statement (ADR 18).
        let mut inserts = Inserts::default();
        self.orders.stage(&order, &mut inserts);
        outbox::stage(
            &mut inserts,
            AGGREGATE,
            &order.id.to_string(),
            &saga::placed(&order),
        )?;
        let claim = idempotency::insert_once(
            &self.transactions,
            scope,
            &fingerprint,
            self.idempotency_ttl,
            &placed.stored(),
            inserts,
        )
        .await?;
        match claim {
            Claim::Fresh => Ok(Placement::New(placed)),
            other => claimed(other),
        }
    }

    /// The order at the catalog's current prices.
    async fn price(
        &self,
        customer: Uuid,
        body: &dto::NewOrder,
        token: PaymentToken,
    ) -> Result<Order, Refusal> {
        let wanted: Vec<ProductId> = body.items.iter().map(|l| l.product_id.into()).collect();
        let known = self.inventory.prices(&wanted).await?;
        let mut lines = Vec::with_capacity(body.items.len());
        for (n, line) in body.items.iter().enumerate() {
            let product = known
                .iter()
                .find(|p| p.id.as_uuid() == line.product_id)
                .ok_or_else(|| {
                    Refusal::Unprocessable(
                        "unknown-product",
                        format!(
                            "`/items/{n}/productId`: there is no product with id {}",
                            line.product_id
                        ),
                    )
                })?;
            let quantity =
                u32::try_from(line.quantity).expect("the contract bounds quantities to 1..=1000");
            lines.push((product.clone(), quantity));
        }
        Order::place(customer, &lines, token, Timestamp::now()).map_err(|e| match e {
            PlaceError::MixedCurrencies(..) => {
                Refusal::Unprocessable("mixed-currencies", e.to_string())
            }
            PlaceError::TooLarge => Refusal::Unprocessable("total-too-large", e.to_string()),
        })
    }

    /// Cancels in one transaction with what the order held: its stock goes
    /// back, and `order.cancelled` asks payments to refund what was taken.
    async fn cancel(&self, order: &mut Order) -> Result<(), WriteError> {
        let tx = self.transactions.begin().await?;
        // The order first: its conditional update fails on a saga step that
        // committed since the read (a decline that already released the
        // stock), before any stock is moved on the strength of a stale status.
        let hold = order.status.stock_hold();
        let expected = order.version;
        order
            .take(Step::Cancel, Timestamp::now())
            .expect("the caller checked the order can be cancelled");
        self.orders.update(&tx, order, expected).await?;
        let lines = order.quantities();
        match hold {
            StockHold::None => {}
            StockHold::Reserved => self.inventory.release(&tx, &lines).await?,
            StockHold::Taken => self.inventory.restock(&tx, &lines).await?,
        }
        let event = OrderCancelled {
            order_id: order.id.as_uuid(),
            user_id: order.customer,
        };
        outbox::record(&tx, AGGREGATE, &order.id.to_string(), &event).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl<R: OrderRepository, I: Inventory> OrdersApi for OrdersService<R, I> {
    async fn place_order(&self, ctx: RequestContext, req: PlaceOrderRequest) -> PlaceOrderResponse {
        let scope = Scope {
            principal: caller(&ctx),
            key: req.idempotency_key,
        };
        match self.place(&ctx, &scope, &req.body).await {
            Ok(Placement::New(placed)) => PlaceOrderResponse::Created {
                body: placed.order,
                etag: placed.etag,
                location: placed.location,
                idempotent_replayed: None,
            },
            Ok(Placement::Replay(placed)) => PlaceOrderResponse::Created {
                body: placed.order,
                etag: placed.etag,
                location: placed.location,
                idempotent_replayed: Some("true".to_owned()),
            },
            Err(Refusal::Invalid(field)) => {
                PlaceOrderResponse::BadRequest(problem::invalid_field(&ctx, field))
            }
            Err(Refusal::Unprocessable(slug, detail)) => {
                PlaceOrderResponse::UnprocessableContent(problem::problem(&ctx, 422, slug, detail))
            }
            Err(Refusal::Storage(e)) => PlaceOrderResponse::InternalServerError(internal(&ctx, e)),
        }
    }

    async fn get_order(&self, ctx: RequestContext, req: GetOrderRequest) -> GetOrderResponse {
        match self.orders.get(req.order_id.into()).await {
            Ok(Some(order)) if may_access(&ctx, &order) => GetOrderResponse::Ok {
                etag: etag(order.version.get()),
                body: to_dto(&order),
            },
            Ok(_) => GetOrderResponse::NotFound(not_found(&ctx, req.order_id)),
            Err(e) => GetOrderResponse::InternalServerError(internal(&ctx, e)),
        }
    }

    async fn list_orders(&self, ctx: RequestContext, req: ListOrdersRequest) -> ListOrdersResponse {
        let before = match req.cursor.as_deref().map(cursor::parameter).transpose() {
            Ok(before) => before.map(OrderId::from),
            Err(field) => {
                return ListOrdersResponse::BadRequest(problem::invalid_field(&ctx, field));
            }
        };
        let customer = if sees_all(&ctx) {
            req.user_id
        } else {
            Some(caller(&ctx))
        };
        let limit = u64::try_from(req.limit).expect("the contract bounds limit to 1..=100");
        let query = ListQuery {
            customer,
            status: req.status.map(status_from_dto),
            before,
            limit: limit + 1,
        };
        match self.orders.list(&query).await {
            Ok(mut orders) => {
                let more = orders.len() as u64 > limit;
                orders.truncate(limit as usize);
                let next_cursor = more
                    .then(|| orders.last().map(|o| cursor::encode(o.id.as_uuid())))
                    .flatten();
                ListOrdersResponse::Ok(dto::OrderPage {
                    items: orders.iter().map(to_dto).collect(),
                    next_cursor,
                })
            }
            Err(e) => ListOrdersResponse::InternalServerError(internal(&ctx, e)),
        }
    }

    async fn cancel_order(
        &self,
        ctx: RequestContext,
        req: CancelOrderRequest,
    ) -> CancelOrderResponse {
        // Without `If-Match` the caller wants the order cancelled whatever the
        // process has reached, so a race with a saga step is retried.
        for _ in 0..5 {
            let mut order = match self.orders.get(req.order_id.into()).await {
                Ok(Some(order)) if may_access(&ctx, &order) => order,
                Ok(_) => return CancelOrderResponse::NotFound(not_found(&ctx, req.order_id)),
                Err(e) => return CancelOrderResponse::InternalServerError(internal(&ctx, e)),
            };
            let current = etag(order.version.get());
            if let Some(if_match) = &req.if_match
                && !if_match_allows(if_match, &current)
            {
                return CancelOrderResponse::PreconditionFailed(problem::stale(
                    &ctx,
                    "order",
                    Some(&current),
                ));
            }
            match order.status {
                Status::Cancelled => {
                    return CancelOrderResponse::Ok {
                        etag: current,
                        body: to_dto(&order),
                    };
                }
                Status::Rejected | Status::PaymentFailed => {
                    return CancelOrderResponse::Conflict(problem::problem(
                        &ctx,
                        409,
                        "order-not-cancellable",
                        format!(
                            "the order is {}: it holds no stock and took no money, so there is nothing to cancel",
                            order.status.as_str()
                        ),
                    ));
                }
                _ => {}
            }
            match self.cancel(&mut order).await {
                Ok(()) => {
                    return CancelOrderResponse::Ok {
                        etag: etag(order.version.get()),
                        body: to_dto(&order),
                    };
                }
                Err(WriteError::Stale) if req.if_match.is_none() => continue,
                Err(WriteError::Stale) => {
                    return CancelOrderResponse::PreconditionFailed(problem::stale(
                        &ctx, "order", None,
                    ));
                }
                Err(WriteError::Storage(e)) => {
                    return CancelOrderResponse::InternalServerError(internal(&ctx, e));
                }
            }
        }
        CancelOrderResponse::InternalServerError(problem::internal(
            &ctx,
            &"the order kept changing while it was being cancelled",
        ))
    }
}
