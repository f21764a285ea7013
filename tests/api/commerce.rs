//! The commerce domain through the generated client: products and stock,
//! orders and their saga, payments and refunds. On SQLite and PostgreSQL (the
//! harness picks), with the in-process bus; `tests/broker` runs the saga
//! through RabbitMQ.

use std::time::Duration;

use keel_client::types::orders::{
    CancelOrderRequest, CancelOrderResponse, GetOrderRequest, GetOrderResponse, PlaceOrderRequest,
    PlaceOrderResponse,
};
use keel_client::types::payments::{
    GetPaymentRequest, GetPaymentResponse, RefundPaymentRequest, RefundPaymentResponse,
};
use keel_client::types::products::{
    AdjustStockRequest, AdjustStockResponse, GetProductRequest, GetProductResponse,
    UpdateProductRequest, UpdateProductResponse,
};
use keel_client::types::{
    NotificationKind, OrderLine, OrderStatus, Payment, PaymentStatus, Product, ProductPatch,
    RefundRequest, RefundStatus, StockAdjustment, Tristate,
};
use uuid::Uuid;

use crate::support::{
    CHARGES, TestApp, count, eur, new_order, place, product_via, settle, stock_via,
};

pub async fn product(app: &TestApp, price: i64, stock: i64) -> Product {
    let id = product_via(&app.api, price, stock).await;
    match app
        .api
        .get_product(&GetProductRequest { product_id: id })
        .await
        .unwrap()
        .value
    {
        GetProductResponse::Ok { body, .. } => body,
        other => panic!("reading product {id}: {other:?}"),
    }
}

/// A registered customer and a client acting as them.
pub async fn customer(app: &TestApp, name: &str) -> (Uuid, keel_client::Client) {
    let (user, _) = app
        .create_user(&format!("{name}-{}@example.com", Uuid::now_v7()), name)
        .await;
    let client = app.client_as(Some(app.tokens.issue(user.id, "customer")));
    (user.id, client)
}

pub async fn stock_of(app: &TestApp, id: Uuid) -> (i64, i64) {
    stock_via(&app.api, id).await
}

async fn payment(client: &keel_client::Client, id: Uuid) -> Payment {
    match client
        .get_payment(&GetPaymentRequest { payment_id: id })
        .await
        .unwrap()
        .value
    {
        GetPaymentResponse::Ok(payment) => payment,
        other => panic!("reading payment {id}: {other:?}"),
    }
}

#[tokio::test]
async fn an_order_is_confirmed_its_stock_taken_its_payment_captured_and_its_customer_told() {
    let app = TestApp::spawn().await;
    let teapot = product(&app, 1250, 5).await;
    let (user, client) = customer(&app, "ada").await;

    let placed = place(&client, "k1", new_order(teapot.id, 2, "tok_approve")).await;
    assert_eq!(placed.status, OrderStatus::Pending);
    assert_eq!(placed.total, eur(2500), "the server prices the order");
    assert_eq!(placed.items[0].unit_price, eur(1250));

    let order = settle(&client, placed.id).await;
    assert_eq!(order.status, OrderStatus::Confirmed, "{order:?}");
    assert_eq!(stock_of(&app, teapot.id).await, (3, 0));
    let paid = payment(
        &client,
        order.payment_id.expect("a confirmed order is paid"),
    )
    .await;
    assert_eq!(paid.amount, eur(2500));
    assert_eq!(paid.status, PaymentStatus::Captured);
    assert_eq!(paid.order_id, order.id);
    assert_eq!(count(&app.database().await, CHARGES).await, 1);

    let news = app.notifications(user, 2).await;
    assert_eq!(news[0].kind, NotificationKind::OrderConfirmed, "{news:?}");
    assert!(news[0].body.contains(&order.id.to_string()));
}

#[tokio::test]
async fn an_order_beyond_the_stock_is_rejected_and_nothing_is_charged() {
    let app = TestApp::spawn().await;
    let teapot = product(&app, 1000, 1).await;
    let (_, client) = customer(&app, "bob").await;

    let placed = place(&client, "k1", new_order(teapot.id, 2, "tok_approve")).await;
    let order = settle(&client, placed.id).await;
    assert_eq!(order.status, OrderStatus::Rejected);
    assert!(
        order
            .failure_reason
            .as_deref()
            .unwrap()
            .contains("not enough stock"),
        "{order:?}"
    );
    assert_eq!(order.payment_id, None);
    assert_eq!(stock_of(&app, teapot.id).await, (1, 0));
    assert_eq!(count(&app.database().await, CHARGES).await, 0);
}

#[tokio::test]
async fn a_declined_card_fails_the_payment_and_releases_the_stock() {
    let app = TestApp::spawn().await;
    let teapot = product(&app, 1000, 5).await;
    let (user, client) = customer(&app, "cy").await;

    let placed = place(&client, "k1", new_order(teapot.id, 3, "tok_decline")).await;
    let order = settle(&client, placed.id).await;
    assert_eq!(order.status, OrderStatus::PaymentFailed);
    assert!(
        order
            .failure_reason
            .as_deref()
            .unwrap()
            .contains("declined")
    );
    assert_eq!(
        stock_of(&app, teapot.id).await,
        (5, 0),
        "the reservation was released"
    );
    assert_eq!(count(&app.database().await, CHARGES).await, 0);
    let news = app.notifications(user, 2).await;
    assert_eq!(news[0].kind, NotificationKind::PaymentFailed);
}

#[tokio::test]
async fn a_provider_that_fails_once_charges_once_and_one_that_never_answers_charges_nothing() {
    let app =
        TestApp::spawn_with(&["--payment-timeout-ms", "200", "--payment-attempts", "2"]).await;
    let teapot = product(&app, 500, 10).await;
    let (_, client) = customer(&app, "di").await;

    let flaky = place(&client, "k1", new_order(teapot.id, 1, "tok_fail_once")).await;
    assert_eq!(
        settle(&client, flaky.id).await.status,
        OrderStatus::Confirmed
    );
    let db = app.database().await;
    assert_eq!(count(&db, CHARGES).await, 1);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM test_gateway_operations WHERE attempts = 2"
        )
        .await,
        1,
        "the provider was asked twice, with one key"
    );

    let silent = place(&client, "k2", new_order(teapot.id, 1, "tok_timeout")).await;
    let order = settle(&client, silent.id).await;
    assert_eq!(order.status, OrderStatus::PaymentFailed);
    assert!(order.failure_reason.unwrap().contains("did not answer"));
    assert_eq!(count(&db, CHARGES).await, 1);
    assert_eq!(stock_of(&app, teapot.id).await, (9, 0));
}

#[tokio::test]
async fn fifty_concurrent_orders_for_ten_units_confirm_exactly_ten() {
    let app = TestApp::spawn_with(&["--rate-limit-per-minute", "100000"]).await;
    let teapot = product(&app, 700, 10).await;
    let mut customers = Vec::new();
    for n in 0..5 {
        customers.push(customer(&app, &format!("c{n}")).await.1);
    }
    let placing: Vec<_> = (0..50)
        .map(|n| {
            let client = customers[n % 5].clone();
            tokio::spawn(async move {
                place(
                    &client,
                    &format!("order-{n}"),
                    new_order(teapot.id, 1, "tok_approve"),
                )
                .await
            })
        })
        .collect();
    let mut orders = Vec::new();
    for (n, placed) in placing.into_iter().enumerate() {
        let order = placed.await.unwrap();
        orders.push(settle(&customers[n % 5], order.id).await);
    }
    let confirmed = orders
        .iter()
        .filter(|o| o.status == OrderStatus::Confirmed)
        .count();
    let rejected = orders
        .iter()
        .filter(|o| o.status == OrderStatus::Rejected)
        .count();
    assert_eq!((confirmed, rejected), (10, 40));
    assert_eq!(stock_of(&app, teapot.id).await, (0, 0));
    let db = app.database().await;
    assert_eq!(
        count(&db, CHARGES).await,
        10,
        "no charge without a confirmed order"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM payments").await, 10);
}

#[tokio::test]
async fn one_idempotency_key_sent_twenty_times_at_once_places_one_order_and_charges_once() {
    let app = TestApp::spawn_with(&["--rate-limit-per-minute", "100000"]).await;
    let teapot = product(&app, 900, 100).await;
    let (_, client) = customer(&app, "eve").await;
    let sending: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let request = PlaceOrderRequest {
                    idempotency_key: "the-same-key".into(),
                    body: new_order(teapot.id, 2, "tok_approve"),
                };
                client.place_order(&request).await.unwrap().value
            })
        })
        .collect();
    let (mut ids, mut replays) = (Vec::new(), 0);
    for sent in sending {
        match sent.await.unwrap() {
            PlaceOrderResponse::Created {
                body,
                idempotent_replayed,
                ..
            } => {
                ids.push(body.id);
                replays += usize::from(idempotent_replayed.as_deref() == Some("true"));
            }
            other => panic!("a request with the key: {other:?}"),
        }
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every response names the one order");
    assert_eq!(replays, 19, "one placed it, nineteen were replays");
    assert_eq!(settle(&client, ids[0]).await.status, OrderStatus::Confirmed);
    let db = app.database().await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(count(&db, CHARGES).await, 1);
    assert_eq!(stock_of(&app, teapot.id).await, (98, 0));

    // The same key with another body is refused, and places nothing.
    let other = PlaceOrderRequest {
        idempotency_key: "the-same-key".into(),
        body: new_order(teapot.id, 3, "tok_approve"),
    };
    let refused = client.place_order(&other).await.unwrap();
    let PlaceOrderResponse::UnprocessableContent(problem) = refused.value else {
        panic!("{:?}", refused.value);
    };
    assert_eq!(problem.type_, "urn:keel:problem:idempotency-key-reused");
    // Keys are per user: another customer's same key is their own order.
    let (_, someone) = customer(&app, "fay").await;
    let theirs = place(
        &someone,
        "the-same-key",
        new_order(teapot.id, 2, "tok_approve"),
    )
    .await;
    assert_ne!(theirs.id, ids[0]);
}

#[tokio::test]
async fn refunds_never_exceed_the_captured_amount() {
    let app = TestApp::spawn().await;
    let teapot = product(&app, 1250, 5).await;
    let (user, client) = customer(&app, "gus").await;
    let order = place(&client, "k1", new_order(teapot.id, 2, "tok_approve")).await;
    let order = settle(&client, order.id).await;
    let payment_id = order.payment_id.unwrap();

    let refund = |amount: i64, key: Option<&str>| {
        let request = RefundPaymentRequest {
            payment_id,
            idempotency_key: key.map(str::to_owned),
            body: RefundRequest {
                amount: eur(amount),
                reason: "damaged in transit".into(),
            },
        };
        let api = app.api.clone();
        async move { api.refund_payment(&request).await.unwrap().value }
    };
    let RefundPaymentResponse::UnprocessableContent(problem) = refund(2501, None).await else {
        panic!("a refund above the payment must be refused");
    };
    assert_eq!(problem.type_, "urn:keel:problem:refund-exceeds-payment");
    assert!(problem.detail.unwrap().contains("2500"));

    let RefundPaymentResponse::Created { body: first, .. } = refund(1000, Some("r1")).await else {
        panic!("a partial refund");
    };
    assert_eq!(first.status, RefundStatus::Pending);
    // A retry of the same request is the same refund.
    let RefundPaymentResponse::Created {
        body: again,
        idempotent_replayed,
    } = refund(1000, Some("r1")).await
    else {
        panic!("a replayed refund");
    };
    assert_eq!(
        (again.id, idempotent_replayed.as_deref()),
        (first.id, Some("true"))
    );
    let rest = refund(1500, None).await;
    let RefundPaymentResponse::Created { .. } = rest else {
        panic!("the rest, up to the total: {rest:?}");
    };
    let RefundPaymentResponse::UnprocessableContent(_) = refund(1, None).await else {
        panic!("nothing is left to refund");
    };

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let paid = loop {
        let paid = payment(&client, payment_id).await;
        if paid
            .refunds
            .iter()
            .all(|r| r.status == RefundStatus::Succeeded)
        {
            break paid;
        }
        assert!(std::time::Instant::now() < deadline, "{paid:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(paid.refunds.len(), 2);
    assert_eq!(paid.refunded, eur(2500));
    assert_eq!(paid.status, PaymentStatus::Refunded);
    let news = app.notifications(user, 4).await;
    assert_eq!(
        news.iter()
            .filter(|n| n.kind == NotificationKind::RefundIssued)
            .count(),
        2
    );
}

#[tokio::test]
async fn cancelling_a_confirmed_order_restocks_and_refunds_it_in_full() {
    let app = TestApp::spawn().await;
    let teapot = product(&app, 400, 5).await;
    let (_, client) = customer(&app, "hal").await;
    let order = place(&client, "k1", new_order(teapot.id, 2, "tok_approve")).await;
    let order = settle(&client, order.id).await;
    assert_eq!(stock_of(&app, teapot.id).await, (3, 0));

    let stale = client
        .cancel_order(&CancelOrderRequest {
            order_id: order.id,
            if_match: Some("\"1\"".into()),
        })
        .await
        .unwrap();
    assert!(
        matches!(stale.value, CancelOrderResponse::PreconditionFailed(_)),
        "{:?}",
        stale.value
    );
    let cancelled = client
        .cancel_order(&CancelOrderRequest {
            order_id: order.id,
            if_match: None,
        })
        .await
        .unwrap();
    let CancelOrderResponse::Ok { body, .. } = cancelled.value else {
        panic!("{:?}", cancelled.value);
    };
    assert_eq!(body.status, OrderStatus::Cancelled);
    assert_eq!(stock_of(&app, teapot.id).await, (5, 0));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let paid = payment(&client, order.payment_id.unwrap()).await;
        if paid.status == PaymentStatus::Refunded
            && paid
                .refunds
                .iter()
                .all(|r| r.status == RefundStatus::Succeeded)
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{paid:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Cancelling again changes nothing.
    let again = client
        .cancel_order(&CancelOrderRequest {
            order_id: order.id,
            if_match: None,
        })
        .await
        .unwrap();
    assert!(matches!(again.value, CancelOrderResponse::Ok { .. }));
    assert_eq!(stock_of(&app, teapot.id).await, (5, 0));
}

#[tokio::test]
async fn customers_see_only_their_own_orders_and_payments() {
    let app = TestApp::spawn().await;
    let teapot = product(&app, 100, 5).await;
    let (_, owner) = customer(&app, "ida").await;
    let (_, other) = customer(&app, "jon").await;
    let order = place(&owner, "k1", new_order(teapot.id, 1, "tok_approve")).await;
    let order = settle(&owner, order.id).await;
    let theirs = other
        .get_order(&GetOrderRequest { order_id: order.id })
        .await
        .unwrap();
    assert!(matches!(theirs.value, GetOrderResponse::NotFound(_)));
    let payment = other
        .get_payment(&GetPaymentRequest {
            payment_id: order.payment_id.unwrap(),
        })
        .await
        .unwrap();
    assert!(matches!(payment.value, GetPaymentResponse::NotFound(_)));
}

#[tokio::test]
async fn orders_refuse_unknown_products_and_merge_repeated_lines() {
    let app = TestApp::spawn().await;
    let teapot = product(&app, 100, 5).await;
    let (_, client) = customer(&app, "kim").await;
    let unknown = client
        .place_order(&PlaceOrderRequest {
            idempotency_key: "k1".into(),
            body: new_order(Uuid::now_v7(), 1, "tok_approve"),
        })
        .await
        .unwrap();
    let PlaceOrderResponse::UnprocessableContent(problem) = unknown.value else {
        panic!("{:?}", unknown.value);
    };
    assert_eq!(problem.type_, "urn:keel:problem:unknown-product");
    assert!(problem.detail.unwrap().contains("/items/0/productId"));

    assert_eq!(
        count(&app.database().await, "SELECT COUNT(*) FROM orders").await,
        0
    );

    let mut twice = new_order(teapot.id, 1, "tok_approve");
    twice.items.push(OrderLine {
        product_id: teapot.id,
        quantity: 2,
    });
    let merged = place(&client, "k2", twice).await;
    assert_eq!(merged.items.len(), 1);
    assert_eq!((merged.items[0].quantity, merged.total.amount), (3, 300));
}

#[tokio::test]
async fn stock_adjustments_never_take_stock_below_zero_and_updates_need_the_current_etag() {
    let app = TestApp::spawn().await;
    let teapot = product(&app, 100, 3).await;
    let adjust = |delta: i64| {
        let request = AdjustStockRequest {
            product_id: teapot.id,
            body: StockAdjustment {
                delta,
                reason: "stock count".into(),
            },
        };
        let api = app.api.clone();
        async move { api.adjust_stock(&request).await.unwrap().value }
    };
    let AdjustStockResponse::Created(record) = adjust(7).await else {
        panic!("adding stock");
    };
    assert_eq!((record.stock.available, record.stock.reserved), (10, 0));
    let AdjustStockResponse::Conflict(problem) = adjust(-11).await else {
        panic!("removing more than there is must be refused");
    };
    assert_eq!(problem.type_, "urn:keel:problem:insufficient-stock");
    assert_eq!(stock_of(&app, teapot.id).await, (10, 0));
    let AdjustStockResponse::Created(counted) = adjust(0).await else {
        panic!("a count that found no difference is recorded");
    };
    assert_eq!(counted.stock.available, 10);

    let update = |if_match: &str, amount: i64| {
        let request = UpdateProductRequest {
            product_id: teapot.id,
            if_match: if_match.into(),
            body: ProductPatch {
                name: None,
                description: Tristate::Absent,
                price: Some(eur(amount)),
            },
        };
        let api = app.api.clone();
        async move { api.update_product(&request).await.unwrap().value }
    };
    let UpdateProductResponse::Ok { body, etag } = update("\"1\"", 150).await else {
        panic!("an update with the current ETag");
    };
    assert_eq!((body.price, etag.as_str()), (eur(150), "\"2\""));
    assert!(matches!(
        update("\"1\"", 175).await,
        UpdateProductResponse::PreconditionFailed(_)
    ));
    // Stock moving does not make the ETag stale.
    adjust(1).await;
    assert!(matches!(
        update("\"2\"", 175).await,
        UpdateProductResponse::Ok { .. }
    ));
}

#[tokio::test]
async fn listings_page_and_filter_and_customers_list_only_their_own_orders() {
    use keel_client::types::NewProduct;
    use keel_client::types::orders::{ListOrdersRequest, ListOrdersResponse};
    use keel_client::types::products::{
        CreateProductRequest, CreateProductResponse, ListProductsRequest, ListProductsResponse,
    };
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for (n, stock) in [3, 0, 5].into_iter().enumerate() {
        let request = CreateProductRequest {
            body: NewProduct {
                name: format!("Cup {n}"),
                description: Tristate::Absent,
                price: eur(100),
                initial_stock: Some(stock),
            },
        };
        let CreateProductResponse::Created { body, .. } =
            app.api.create_product(&request).await.unwrap().value
        else {
            panic!("creating a product");
        };
        ids.push(body.id);
    }
    let public = app.client_as(None);
    let list = |cursor: Option<String>, in_stock: Option<bool>| {
        let request = ListProductsRequest {
            limit: 2,
            cursor,
            name_contains: Some("cup".into()),
            currency: Some("EUR".into()),
            in_stock,
        };
        let public = public.clone();
        async move {
            match public.list_products(&request).await.unwrap().value {
                ListProductsResponse::Ok(page) => page,
                other => panic!("{other:?}"),
            }
        }
    };
    let first = list(None, None).await;
    assert_eq!(
        first.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        ids[..2]
    );
    let second = list(first.next_cursor.clone(), None).await;
    assert_eq!(
        second.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        ids[2..]
    );
    assert_eq!(second.next_cursor, None);
    let stocked = list(None, Some(true)).await;
    assert_eq!(
        stocked.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        [ids[0], ids[2]]
    );

    let (ann, ann_client) = customer(&app, "ann").await;
    let (_, ben_client) = customer(&app, "ben").await;
    place(&ann_client, "a1", new_order(ids[0], 1, "tok_approve")).await;
    place(&ann_client, "a2", new_order(ids[0], 1, "tok_decline")).await;
    place(&ben_client, "b1", new_order(ids[2], 1, "tok_approve")).await;
    let orders = |client: keel_client::Client, user_id: Option<Uuid>| async move {
        let request = ListOrdersRequest {
            limit: 10,
            cursor: None,
            status: None,
            user_id,
        };
        match client.list_orders(&request).await.unwrap().value {
            ListOrdersResponse::Ok(page) => page.items,
            other => panic!("{other:?}"),
        }
    };
    let own = orders(ben_client.clone(), Some(ann)).await;
    assert_eq!(
        own.len(),
        1,
        "a customer sees only their own, whatever userId says"
    );
    assert!(own.iter().all(|o| o.user_id != ann));
    assert_eq!(
        orders(app.api.clone(), None).await.len(),
        3,
        "administrators see all"
    );
    let anns = orders(app.api.clone(), Some(ann)).await;
    assert_eq!(anns.len(), 2);
    assert!(anns[0].created_at >= anns[1].created_at, "newest first");
}

/// The catalog is read before the key is claimed, so a retry can find prices
/// that no longer make a valid order. Its first attempt succeeded: it replays
/// that, and is not refused for what changed since.
#[tokio::test]
async fn a_retry_replays_its_order_even_when_the_catalog_changed_since() {
    let app = TestApp::spawn().await;
    let teapot = product(&app, 100, 10).await;
    let cup = product(&app, 50, 10).await;
    let (_, client) = customer(&app, "ona").await;
    let mut body = new_order(teapot.id, 1, "tok_approve");
    body.items.push(OrderLine {
        product_id: cup.id,
        quantity: 2,
    });
    let first = place(&client, "k1", body.clone()).await;
    let repriced = UpdateProductRequest {
        product_id: cup.id,
        if_match: "\"1\"".into(),
        body: ProductPatch {
            name: None,
            description: Tristate::Absent,
            price: Some(keel_client::types::Money {
                amount: 50,
                currency: keel_client::types::Currency("USD".into()),
            }),
        },
    };
    assert!(matches!(
        app.api.update_product(&repriced).await.unwrap().value,
        UpdateProductResponse::Ok { .. }
    ));
    let retry = PlaceOrderRequest {
        idempotency_key: "k1".into(),
        body: body.clone(),
    };
    let PlaceOrderResponse::Created {
        body: replayed,
        idempotent_replayed,
        ..
    } = client.place_order(&retry).await.unwrap().value
    else {
        panic!("the retry replays the order it placed");
    };
    assert_eq!(replayed.id, first.id);
    assert_eq!(idempotent_replayed.as_deref(), Some("true"));
    // A new key is a new order, and now one in two currencies.
    let fresh = PlaceOrderRequest {
        idempotency_key: "k2".into(),
        body,
    };
    let PlaceOrderResponse::UnprocessableContent(problem) =
        client.place_order(&fresh).await.unwrap().value
    else {
        panic!("an order in two currencies is refused");
    };
    assert_eq!(problem.type_, "urn:keel:problem:mixed-currencies");
}

/// `KEEL_OUTBOX_WORKERS=0`: an API-only replica records its orders' events
/// and leaves them to a replica that relays, which takes them through the saga.
#[tokio::test]
async fn an_api_only_replica_leaves_the_saga_to_a_replica_that_relays() {
    let api_only = TestApp::spawn_with(&["--outbox-workers", "0"]).await;
    let teapot = product(&api_only, 100, 10).await;
    let (_, client) = customer(&api_only, "pia").await;
    let order = place(&client, "k1", new_order(teapot.id, 1, "tok_approve")).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let db = api_only.database().await;
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM outbox_events \
             WHERE event_name = 'order.placed' AND published_at_us IS NULL"
        )
        .await,
        1,
        "the event waits for a relay"
    );
    let reply = client
        .get_order(&GetOrderRequest { order_id: order.id })
        .await
        .unwrap();
    let GetOrderResponse::Ok { body, .. } = reply.value else {
        panic!("{:?}", reply.value);
    };
    assert_eq!(body.status, OrderStatus::Pending);

    let _relaying = api_only.replica().await;
    assert_eq!(
        settle(&client, order.id).await.status,
        OrderStatus::Confirmed
    );
}

#[tokio::test]
async fn an_expired_idempotency_key_is_a_new_key() {
    let app = TestApp::spawn().await;
    let teapot = product(&app, 100, 10).await;
    let (_, client) = customer(&app, "liv").await;
    let first = place(&client, "k1", new_order(teapot.id, 1, "tok_approve")).await;
    // The key's lifetime passes (KEEL_IDEMPOTENCY_TTL_HOURS; here, by fiat).
    let db = app.database().await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        "UPDATE idempotency_keys SET expires_at_us = 0",
    )
    .await
    .unwrap();
    let second = place(&client, "k1", new_order(teapot.id, 2, "tok_approve")).await;
    assert_ne!(
        first.id, second.id,
        "another body under the expired key is a new order"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM orders").await, 2);
}

/// Code that holds a transaction and asks the pool for a second connection
/// deadlocks once the pool is taken by others waiting for the first (it did:
/// the order news looked its recipient up outside the consumer's transaction,
/// and under fifty concurrent orders SQLite's writers timed out as "database
/// is locked"). With the smallest pool that can work, that mistake is no
/// longer a matter of luck: every step below waits for itself and fails.
/// PostgreSQL gets a second connection because its relay holds the claim's
/// transaction (the rows it locks) while it delivers the batch.
#[tokio::test]
async fn with_the_smallest_pool_every_step_of_an_order_and_its_news_completes() {
    let postgres = std::env::var("KEEL_TEST_DATABASE").is_ok_and(|v| v.starts_with("postgres"));
    let pool = if postgres { "2" } else { "1" };
    let app = TestApp::spawn_with(&[
        "--db-max-connections",
        pool,
        "--db-acquire-timeout-ms",
        "3000",
    ])
    .await;
    let teapot = product(&app, 300, 5).await;
    let (user, client) = customer(&app, "una").await;
    app.notifications(user, 1).await;

    let kept = place(&client, "k1", new_order(teapot.id, 1, "tok_approve")).await;
    assert_eq!(
        settle(&client, kept.id).await.status,
        OrderStatus::Confirmed
    );
    let declined = place(&client, "k2", new_order(teapot.id, 1, "tok_decline")).await;
    assert_eq!(
        settle(&client, declined.id).await.status,
        OrderStatus::PaymentFailed
    );
    let cancelled = client
        .cancel_order(&CancelOrderRequest {
            order_id: kept.id,
            if_match: None,
        })
        .await
        .unwrap();
    assert!(matches!(cancelled.value, CancelOrderResponse::Ok { .. }));

    let news = app.notifications(user, 4).await;
    let mut kinds: Vec<_> = news.iter().map(|n| format!("{:?}", n.kind)).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["OrderConfirmed", "PaymentFailed", "RefundIssued", "Welcome"],
        "{news:?}"
    );
    assert_eq!(stock_of(&app, teapot.id).await, (5, 0));
}
