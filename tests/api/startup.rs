//! Several replicas starting at once on a fresh database.

use sea_orm::{ConnectionTrait, Statement};

use crate::support::TestDatabase;

#[tokio::test]
async fn replicas_starting_together_migrate_once() {
    let database = TestDatabase::create().await;
    let connect = || keel::platform::db::connect(&database.url, 5);
    let (a, b, c) = tokio::join!(connect(), connect(), connect());
    let db = a.expect("the first start");
    b.expect("the second start");
    c.expect("the third start");
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap();
    let applied: i64 = row.try_get("", "n").unwrap();
    assert_eq!(
        applied as usize,
        <migration::Migrator as migration::MigratorTrait>::migrations().len(),
        "each migration recorded once"
    );
}
