//! SIGKILL between two steps of an order's saga, against the real binary: the
//! payment provider has charged, Keel has not yet recorded it. After a
//! restart, the saga completes where it stopped, and the provider's books
//! show one charge: the retried call carried the same idempotency key.

use std::time::{Duration, Instant};

use keel_client::types::OrderStatus;
use keel_client::types::orders::{GetOrderRequest, GetOrderResponse};
use uuid::Uuid;

use crate::support::{
    CHARGES, KeelProcess, TestDatabase, count, eur, new_order, place, product_via,
};

#[tokio::test]
async fn a_saga_killed_between_charge_and_record_completes_after_restart_with_one_charge() {
    let database = TestDatabase::create().await;
    let keys = std::env::temp_dir().join(format!("keel-crash-{}", Uuid::now_v7()));
    // The provider acts, then takes this long to answer: the window in which
    // the kill lands.
    let mut keel = KeelProcess::start_with_keys(
        &database.url,
        &keys,
        &[("KEEL_TEST_GATEWAY_LATENCY_MS", "30000")],
    );
    let tokens = keel.tokens();
    let admin = keel_client::Client::builder(&keel.base)
        .bearer(tokens.issue(Uuid::now_v7(), "admin"))
        .build()
        .unwrap();
    let teapot = product_via(&admin, 800, 5).await;
    let customer = Uuid::now_v7();
    let client = keel_client::Client::builder(&keel.base)
        .bearer(tokens.issue(customer, "customer"))
        .build()
        .unwrap();
    let order = place(&client, "k1", new_order(teapot, 2, "tok_approve")).await;

    let db = sea_orm::Database::connect(&database.url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&db, CHARGES).await == 0 {
        assert!(Instant::now() < deadline, "the provider was never asked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    keel.kill();
    let status = format!(
        "SELECT COUNT(*) FROM orders WHERE id = '{}' AND status = 'stock_reserved'",
        order.id
    );
    let status = if database.url.starts_with("sqlite") {
        // SQLite stores uuids as 16-byte blobs.
        format!(
            "SELECT COUNT(*) FROM orders WHERE hex(id) = '{}' AND status = 'stock_reserved'",
            order.id.simple().to_string().to_uppercase()
        )
    } else {
        status
    };
    assert_eq!(
        count(&db, &status).await,
        1,
        "killed after the charge, before it was recorded"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM payments").await, 0);

    let keel = KeelProcess::start_with_keys(&database.url, &keys, &[]);
    let client = keel_client::Client::builder(&keel.base)
        .bearer(tokens.issue(customer, "customer"))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let order = loop {
        let reply = client
            .get_order(&GetOrderRequest { order_id: order.id })
            .await
            .unwrap();
        let GetOrderResponse::Ok { body, .. } = reply.value else {
            panic!("{:?}", reply.value);
        };
        if body.status == OrderStatus::Confirmed {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "the saga did not resume: {body:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(order.total, eur(1600));
    assert_eq!(count(&db, CHARGES).await, 1, "one charge, not two");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM payments").await, 1);
    let _ = std::fs::remove_dir_all(&keys);
}
