//! The users read cache (ADR 20), seen from two replicas on one database:
//! what either replica, or anyone with SQL, changes is what both serve next.
//!
//! On PostgreSQL the cache is on; a write that bypasses the change trigger
//! (`session_replication_role = replica`) proves it: the replica keeps
//! serving what it cached. On SQLite there is no cache, and every read sees
//! every write.

use std::time::{Duration, Instant};

use keel_client::types::users::*;
use keel_client::types::{Tristate, UserPatch};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};
use uuid::Uuid;

use crate::support::TestApp;

async fn display_name(app: &TestApp, user_id: Uuid) -> Option<String> {
    match app
        .api
        .get_user(&GetUserRequest { user_id })
        .await
        .unwrap()
        .value
    {
        GetUserResponse::Ok { body, .. } => Some(body.display_name),
        GetUserResponse::NotFound(_) => None,
        other => panic!("reading {user_id}: {other:?}"),
    }
}

/// Waits up to 5 s for `app` to serve `expected` (the cache's TTL is
/// minutes: only an invalidation gets there in time).
async fn eventually(app: &TestApp, user_id: Uuid, expected: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let seen = display_name(app, user_id).await;
        if seen.as_deref() == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after 5 s the replica still serves {seen:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Renames the user in SQL; `notify: false` skips the triggers, as only a
/// superuser can, so no replica hears of it.
async fn rename_in_sql(db: &sea_orm::DatabaseConnection, user_id: Uuid, name: &str, notify: bool) {
    let tx = db.begin().await.unwrap();
    if !notify && db.get_database_backend() == DbBackend::Postgres {
        tx.execute_unprepared("SET LOCAL session_replication_role = replica")
            .await
            .unwrap();
    }
    // Bound, not spliced: SQLite stores the id as bytes.
    let rename = Query::update()
        .table("users")
        .value("display_name", name)
        .value("version", Expr::col("version").add(1))
        .and_where(Expr::col("id").eq(user_id))
        .to_owned();
    let renamed = tx.execute(&rename).await.unwrap();
    assert_eq!(renamed.rows_affected(), 1);
    tx.commit().await.unwrap();
}

/// Whether `replica` serves `user_id` from its cache: a silent rename is not
/// seen. Leaves the row renamed to `probe`.
async fn serves_from_cache(
    replica: &TestApp,
    db: &sea_orm::DatabaseConnection,
    user_id: Uuid,
    probe: &str,
) -> bool {
    let before = display_name(replica, user_id).await;
    let _filled = display_name(replica, user_id).await;
    rename_in_sql(db, user_id, probe, false).await;
    let after = display_name(replica, user_id).await;
    after != Some(probe.to_owned()) && before.is_some()
}

#[tokio::test]
async fn replicas_serve_what_any_of_them_or_sql_changed() {
    let a = TestApp::spawn().await;
    let b = a.replica().await;
    let db = a.database().await;
    let cached = db.get_database_backend() == DbBackend::Postgres;
    let (user, _) = a.create_user("cache@example.com", "Before").await;

    assert_eq!(display_name(&b, user.id).await.as_deref(), Some("Before"));
    assert_eq!(
        serves_from_cache(&b, &db, user.id, "Silent").await,
        cached,
        "the cache is on exactly when the database has a change feed"
    );

    // Renamed through replica A: B hears of it.
    let if_match = match a
        .api
        .get_user(&GetUserRequest { user_id: user.id })
        .await
        .unwrap()
        .value
    {
        GetUserResponse::Ok { etag, .. } => etag,
        other => panic!("{other:?}"),
    };
    let renamed = a
        .api
        .update_user(&UpdateUserRequest {
            user_id: user.id,
            if_match,
            body: UserPatch {
                email: None,
                display_name: Some("Through A".to_owned()),
                avatar_url: Tristate::Absent,
                phone: Tristate::Absent,
            },
        })
        .await
        .unwrap();
    assert_eq!(renamed.status.as_u16(), 200, "{:?}", renamed.value);
    eventually(&b, user.id, Some("Through A")).await;

    // Renamed in SQL, as an operator would: B hears of it.
    rename_in_sql(&db, user.id, "Through SQL", true).await;
    eventually(&b, user.id, Some("Through SQL")).await;

    // Deleted through A: B answers 404.
    let deleted = a
        .api
        .delete_user(&DeleteUserRequest { user_id: user.id })
        .await
        .unwrap();
    assert_eq!(deleted.status.as_u16(), 204, "{:?}", deleted.value);
    eventually(&b, user.id, None).await;
}

#[tokio::test]
async fn a_replica_that_loses_its_change_feed_stops_serving_from_its_cache() {
    let a = TestApp::spawn().await;
    let b = a.replica().await;
    let db = a.database().await;
    if db.get_database_backend() != DbBackend::Postgres {
        // No feed to lose: the test above shows SQLite serves no cached reads.
        return;
    }
    let (user, _) = a.create_user("feed@example.com", "Before").await;
    assert!(serves_from_cache(&b, &db, user.id, "Cached").await);

    // The feeds' connections die; what is renamed now notifies no one.
    let killed = db
        .query_one_raw(sea_orm::Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(killed, 2, "one feed per replica");
    rename_in_sql(&db, user.id, "Unheard", true).await;
    eventually(&b, user.id, Some("Unheard")).await;

    // It listens again, and caches again, and hears of changes again.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut probe = 0;
    while !serves_from_cache(&b, &db, user.id, &format!("Probe {probe}")).await {
        assert!(Instant::now() < deadline, "the cache did not come back");
        probe += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rename_in_sql(&db, user.id, "Heard", true).await;
    eventually(&b, user.id, Some("Heard")).await;
}

/// The unit price an order placed through `client` gets for `product`.
async fn priced_at(client: &keel_client::Client, product: Uuid) -> i64 {
    let order = crate::support::place(
        client,
        &Uuid::now_v7().to_string(),
        crate::support::new_order(product, 1, "tok_approve"),
    )
    .await;
    order.items[0].unit_price.amount
}

/// Sets the product's price in SQL; `notify: false` as for `rename_in_sql`.
async fn reprice_in_sql(
    db: &sea_orm::DatabaseConnection,
    product: Uuid,
    amount: i64,
    notify: bool,
) {
    let tx = db.begin().await.unwrap();
    if !notify && db.get_database_backend() == DbBackend::Postgres {
        tx.execute_unprepared("SET LOCAL session_replication_role = replica")
            .await
            .unwrap();
    }
    let reprice = Query::update()
        .table("products")
        .value("price_amount", amount)
        .value("version", Expr::col("version").add(1))
        .and_where(Expr::col("id").eq(product))
        .to_owned();
    assert_eq!(tx.execute(&reprice).await.unwrap().rows_affected(), 1);
    tx.commit().await.unwrap();
}

/// Orders price from the prices cache on PostgreSQL: a new price set on
/// another replica or in SQL is what the next orders get, while stock moving
/// with every order does not empty the cache.
#[tokio::test]
async fn orders_are_priced_at_what_any_replica_or_sql_set_last() {
    let a = TestApp::spawn().await;
    let b = a.replica().await;
    let db = a.database().await;
    let cached = db.get_database_backend() == DbBackend::Postgres;
    let teapot = crate::commerce::product(&a, 100, 1000).await.id;
    let (_, buyer) = crate::commerce::customer(&b, "buyer").await;

    let first = crate::support::place(
        &buyer,
        "first",
        crate::support::new_order(teapot, 1, "tok_approve"),
    )
    .await;
    assert_eq!(first.items[0].unit_price.amount, 100);
    // The saga moves the product's stock (its row) to confirm the order: that
    // notifies nobody, and the price stays cached.
    crate::support::settle(&buyer, first.id).await;
    reprice_in_sql(&db, teapot, 150, false).await;
    assert_eq!(
        priced_at(&buyer, teapot).await == 100,
        cached,
        "the cache is on exactly when the database has a change feed"
    );

    // Repriced through replica A: orders through B get the new price.
    let product = |id| {
        let api = a.api.clone();
        async move {
            match api
                .get_product(&keel_client::types::products::GetProductRequest { product_id: id })
                .await
                .unwrap()
                .value
            {
                keel_client::types::products::GetProductResponse::Ok { etag, .. } => etag,
                other => panic!("{other:?}"),
            }
        }
    };
    let repriced = a
        .api
        .update_product(&keel_client::types::products::UpdateProductRequest {
            product_id: teapot,
            if_match: product(teapot).await,
            body: keel_client::types::ProductPatch {
                name: None,
                description: Tristate::Absent,
                price: Some(crate::support::eur(200)),
            },
        })
        .await
        .unwrap();
    assert_eq!(repriced.status.as_u16(), 200, "{:?}", repriced.value);
    let deadline = Instant::now() + Duration::from_secs(5);
    while priced_at(&buyer, teapot).await != 200 {
        assert!(
            Instant::now() < deadline,
            "after 5 s B still prices at the old price"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Repriced in SQL, as an operator would: B hears of it.
    reprice_in_sql(&db, teapot, 250, true).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while priced_at(&buyer, teapot).await != 250 {
        assert!(
            Instant::now() < deadline,
            "after 5 s B still prices at the old price"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
