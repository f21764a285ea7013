//! The database connection pool, the migrations run at start, and the unit of
//! work ([`Tx`]) that lets a service write its state and its events together.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::sea_query::{
    Alias, CommonTableExpression, InsertStatement, PostgresQueryBuilder, WithClause,
};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqlErr, Statement, TransactionTrait,
};
use tokio::sync::Notify;

/// Storage failed in a way the caller cannot fix (connection lost, disk full).
/// Carries the cause as text for the log; no driver type crosses a port.
#[derive(Debug, Clone, thiserror::Error)]
#[error("storage failed: {0}")]
pub struct StorageError(pub String);

impl From<DbErr> for StorageError {
    /// Every adapter converts here, so a lost connection is noticed in one
    /// place (the edge answers 503 for it, not 500).
    fn from(error: DbErr) -> Self {
        super::db_health::note_error(&error);
        StorageError(error.to_string())
    }
}

/// Begins transactions, and tells the outbox relay when one that recorded
/// events commits, so events leave at once rather than at the next poll.
#[derive(Clone)]
pub struct Transactions {
    db: DatabaseConnection,
    committed_events: Arc<Notify>,
}

impl Transactions {
    pub fn new(db: DatabaseConnection, committed_events: Arc<Notify>) -> Self {
        Transactions {
            db,
            committed_events,
        }
    }

    /// The pool, for reads that need no transaction.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// On SQLite the transaction takes the write lock at once (`BEGIN
    /// IMMEDIATE`): one that reads first and writes later can otherwise find
    /// another writer ahead of it and fail with "database is locked" instead
    /// of waiting its turn.
    ///
    /// Times the wait as `keel_db_pool_wait_seconds`: sqlx does not expose
    /// its acquire time, and here it is most of what `begin` takes (one
    /// `BEGIN` round trip besides, and on SQLite the wait for the write
    /// lock), so a starved pool shows there first.
    pub async fn begin(&self) -> Result<Tx, StorageError> {
        let options = sea_orm::TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let inner = self.db.begin_with_options(options).await;
        metrics::histogram!("keel_db_pool_wait_seconds").record(started.elapsed().as_secs_f64());
        Ok(Tx {
            inner: inner?,
            events: AtomicUsize::new(0),
            committed_events: self.committed_events.clone(),
            after_commit: Default::default(),
        })
    }
}

/// Rows to write together, all or none, when no write needs an answer from
/// the database before the next: the unit of work of a request that only
/// creates things (`placeOrder`). Ports stage their inserts here, and
/// [`Transactions::insert_all`] applies them.
#[derive(Default, Clone)]
pub struct Inserts {
    statements: Vec<InsertStatement>,
    events: usize,
}

impl Inserts {
    /// For adapters: one more insert.
    pub fn push(&mut self, statement: InsertStatement) {
        self.statements.push(statement);
    }

    /// For the outbox: an insert that records an event to publish.
    pub(crate) fn push_event(&mut self, statement: InsertStatement) {
        self.events += 1;
        self.push(statement);
    }

    /// These inserts, then `more`.
    pub fn then(mut self, more: Inserts) -> Inserts {
        self.statements.extend(more.statements);
        self.events += more.events;
        self
    }
}

/// Why [`Transactions::insert_all`] wrote nothing, when it was not a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate;

impl Transactions {
    /// Applies `inserts`, all or none. On PostgreSQL they go as one statement
    /// (each but the last a data-modifying `WITH`), which commits by itself:
    /// one round trip where a transaction takes two more than there are
    /// inserts, and on loopback the kernel's work per round trip was most of
    /// `placeOrder`'s cost (perf, `cargo xtask bench`, ADR 18). SQLite, in
    /// process, runs them in a transaction. `Err(Duplicate)` inside: a
    /// unique key refused a row, and nothing was written.
    pub async fn insert_all(
        &self,
        inserts: Inserts,
    ) -> Result<Result<(), Duplicate>, StorageError> {
        if inserts.statements.is_empty() {
            return Ok(Ok(()));
        }
        let events = inserts.events;
        let written = match self.db.get_database_backend() {
            DbBackend::Postgres => {
                let (sql, values) = one_statement(inserts.statements);
                self.db
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        sql,
                        values,
                    ))
                    .await
                    .map(|_| ())
            }
            _ => {
                let tx = self.begin().await?;
                match execute_each(&tx.inner, &inserts.statements).await {
                    Ok(()) => tx.inner.commit().await,
                    Err(error) => Err(error),
                }
            }
        };
        match written {
            Ok(()) => {
                if events > 0 {
                    self.committed_events.notify_one();
                }
                Ok(Ok(()))
            }
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Ok(Err(Duplicate))
            }
            Err(error) => Err(error.into()),
        }
    }
}

/// Runs `statements` one after another, stopping at the first error, which
/// keeps its kind (a unique violation is not a failure to [`Inserts`]).
async fn execute_each(
    db: &impl ConnectionTrait,
    statements: &[InsertStatement],
) -> Result<(), DbErr> {
    for statement in statements {
        db.execute(statement).await?;
    }
    Ok(())
}

/// `WITH w0 AS (INSERT …), w1 AS (INSERT …) INSERT …`: PostgreSQL runs every
/// part, and checks constraints (foreign keys among the parts too) at the
/// end of the statement.
fn one_statement(mut statements: Vec<InsertStatement>) -> (String, sea_orm::sea_query::Values) {
    let last = statements.pop().expect("at least one insert");
    if statements.is_empty() {
        return last.build(PostgresQueryBuilder);
    }
    let mut with = WithClause::new();
    for (n, statement) in statements.into_iter().enumerate() {
        with.cte(
            CommonTableExpression::new()
                .query(statement)
                .table_name(Alias::new(format!("w{n}")))
                .to_owned(),
        );
    }
    with.query(last).build(PostgresQueryBuilder)
}

/// One database transaction, passed by services to the ports they call; only
/// adapters look inside. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: DatabaseTransaction,
    events: AtomicUsize,
    committed_events: Arc<Notify>,
    after_commit: std::sync::Mutex<Vec<Box<dyn FnOnce() + Send>>>,
}

impl Tx {
    /// For adapters: the transaction to run statements on.
    pub fn connection(&self) -> &DatabaseTransaction {
        &self.inner
    }

    /// For adapters: runs `f` once this transaction has committed (not if it
    /// rolls back), e.g. to drop what a cache holds of a row it changed.
    pub(crate) fn after_commit(&self, f: impl FnOnce() + Send + 'static) {
        self.after_commit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Box::new(f));
    }

    /// Runs `inserts` in this transaction.
    pub async fn insert_all(&self, inserts: Inserts) -> Result<(), StorageError> {
        execute_each(&self.inner, &inserts.statements).await?;
        self.events.fetch_add(inserts.events, Ordering::Relaxed);
        Ok(())
    }

    pub async fn commit(self) -> Result<(), StorageError> {
        let events = self.events.load(Ordering::Relaxed);
        self.inner.commit().await?;
        if events > 0 {
            self.committed_events.notify_one();
        }
        let after_commit = self
            .after_commit
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for f in after_commit {
            f();
        }
        Ok(())
    }
}

/// A LIKE pattern for "contains `text`": `%` and `_` in the text match
/// themselves, not any character.
pub fn contains_pattern(text: &str) -> sea_orm::sea_query::LikeExpr {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

/// Connects and applies pending migrations. For a SQLite file, its directory is
/// created first, so a fresh checkout needs no set-up.
pub async fn connect(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = sqlite_file(url)
        && let Some(dir) = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating {} for the SQLite database", dir.display()))?;
    }
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(if url.contains(":memory:") {
            1
        } else {
            max_connections
        })
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(acquire_timeout)
        .sqlx_logging(false);
    if url.starts_with("postgres") {
        // sqlx pings a connection on its way back to the pool, always, and
        // drops it if the ping fails; pinging it again on the way out, as it
        // does by default, added a round trip to every statement outside a
        // transaction, moments after the last proved the connection alive
        // (perf on `placeOrder`: pool acquire was 12 % of Keel's CPU, ADR 18).
        // A connection that dies while idle fails its next request (a 503:
        // ADR 19), and is dropped by the ping after it.
        options.test_before_acquire(false);
    }
    if sqlite_file(url).is_some() {
        // Write-ahead logging: readers (every GET) no longer hold up the
        // writer's commit, nor the writer the readers; in the default rollback
        // journal each commit waits for all readers to let go. The mode is
        // stored in the file, so later connections (the health probe's) use
        // it too. Durability is unchanged: `synchronous` stays FULL.
        options.map_sqlx_sqlite_opts(|sqlite| {
            sqlite.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
        });
    }
    // Servers starting together on a new SQLite file each switch it to WAL
    // as they connect, which takes the file's lock without waiting on the
    // busy timeout ("database is locked"); the next attempt finds it done.
    let mut attempts = 0;
    let db = loop {
        match Database::connect(options.clone()).await {
            Err(error)
                if sqlite_file(url).is_some()
                    && attempts < 20
                    && error.to_string().contains("database is locked") =>
            {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            connected => break connected,
        }
    }
    .with_context(|| format!("connecting to {}", redact(url)))?;
    migrate(&db).await.context("applying database migrations")?;
    Ok(db)
}

/// Any key will do, as long as nothing else in the database uses it.
const MIGRATION_LOCK: i64 = 0x6b65_656c; // "keel"

/// In one transaction that first takes a lock: servers starting together on
/// one database take turns, and the later ones find nothing to do (DDL is
/// transactional on both databases). PostgreSQL has advisory locks; on SQLite
/// a write takes the database's one write lock.
async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    // On SQLite the write lock is taken at `BEGIN` (IMMEDIATE), so a server
    // starting beside another waits its turn (busy timeout): in a deferred
    // transaction the first write finds the schema changed since its read
    // and fails at once (SQLITE_BUSY_SNAPSHOT under WAL), as
    // `replicas_starting_together_migrate_once` did now and then.
    let txn = db
        .begin_with_options(sea_orm::TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                .await?;
        }
        _ => {
            txn.execute_unprepared("CREATE TABLE IF NOT EXISTS keel_migration_lock (held INTEGER)")
                .await?;
            txn.execute_unprepared("DELETE FROM keel_migration_lock")
                .await?;
        }
    }
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && !path.contains(":memory:")).then_some(path)
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((credentials, host)) => {
                let user = credentials.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:***@{host}")
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://keel:secret@db/keel"),
            "postgres://keel:***@db/keel"
        );
        assert_eq!(
            redact("sqlite://data/keel.db?mode=rwc"),
            "sqlite://data/keel.db?mode=rwc"
        );
    }

    #[test]
    fn sqlite_paths_are_found() {
        assert_eq!(
            sqlite_file("sqlite://data/keel.db?mode=rwc"),
            Some("data/keel.db")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://x/y"), None);
    }
}
