//! Several replicas starting at once on a fresh database.

use crate::support::{TestDatabase, count};

#[tokio::test]
async fn replicas_starting_together_migrate_once() {
    let database = TestDatabase::create().await;
    let connect =
        || keel::platform::db::connect(&database.url, 5, std::time::Duration::from_secs(5));
    let (a, b, c) = tokio::join!(connect(), connect(), connect());
    let db = a.expect("the first start");
    b.expect("the second start");
    c.expect("the third start");
    let applied = count(&db, "SELECT COUNT(*) FROM seaql_migrations").await;
    assert_eq!(
        applied as usize,
        <migration::Migrator as migration::MigratorTrait>::migrations().len(),
        "each migration recorded once"
    );
}
