//! The transactional outbox: a service records its events in the transaction
//! that changes its state ([`record`]), so an acknowledged write never loses
//! them; the [`Relay`] publishes them afterwards, with publisher confirms, and
//! marks them published.
//!
//! Order: per aggregate, events leave in the order they were recorded. A relay
//! takes only the oldest unpublished event of each aggregate per round, so
//! several relays (one or more workers per replica, `FOR UPDATE SKIP LOCKED`
//! on PostgreSQL) never publish an aggregate's events out of order or twice. Within an
//! aggregate, `seq` is commit order because writers of one aggregate serialize
//! on its row before they record its events. SQLite runs one relay: it is the
//! single-node default.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keel_runtime::{ContractEvent, EventKey};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::backoff;
use super::ports::{Envelope, Transport};
use crate::platform::db::{Inserts, StorageError, Tx};
use crate::platform::trace;

fn table() -> Alias {
    Alias::new("outbox_events")
}

/// Records `event` of the aggregate `aggregate_type`/`aggregate_id` in `tx`; it
/// is published once `tx` commits. The current span's trace context goes with it.
pub async fn record<E: ContractEvent>(
    tx: &Tx,
    aggregate_type: &'static str,
    aggregate_id: &str,
    event: &E,
) -> Result<Uuid, StorageError> {
    let mut inserts = Inserts::default();
    let id = stage(&mut inserts, aggregate_type, aggregate_id, event)?;
    tx.insert_all(inserts).await?;
    Ok(id)
}

/// [`record`] for a unit of work of inserts only ([`Inserts`]): the event is
/// published once they are written.
pub fn stage<E: ContractEvent>(
    inserts: &mut Inserts,
    aggregate_type: &'static str,
    aggregate_id: &str,
    event: &E,
) -> Result<Uuid, StorageError> {
    let id = Uuid::now_v7();
    let payload = serde_json::to_string(event)
        .map_err(|e| StorageError(format!("serializing `{}`: {e}", E::key())))?;
    let insert = Query::insert()
        .into_table(table())
        .columns(
            [
                "id",
                "aggregate_type",
                "aggregate_id",
                "event_name",
                "event_version",
                "payload",
                "traceparent",
                "created_at_us",
            ]
            .map(Alias::new),
        )
        .values_panic([
            id.into(),
            aggregate_type.into(),
            aggregate_id.into(),
            E::NAME.into(),
            i64::from(E::VERSION).into(),
            payload.into(),
            trace::current_traceparent().into(),
            chrono::Utc::now().timestamp_micros().into(),
        ])
        .to_owned();
    inserts.push_event(insert);
    Ok(id)
}

#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Events per round.
    pub batch: u64,
    /// How often to look for events recorded by other replicas (this replica's
    /// own commits wake the relay at once).
    pub poll: Duration,
    /// How long published events are kept (for inspection) before deletion.
    pub retention: Duration,
    /// Rounds run at once, with RabbitMQ on PostgreSQL: one claims and marks
    /// while another waits for its confirms. `SKIP LOCKED` keeps them apart,
    /// and a claim skips an aggregate whose older event another round holds,
    /// so each aggregate's events still leave in order. The in-process bus
    /// delivers inside the round, on the pool, so it keeps one. None (0)
    /// makes an API-only replica.
    pub workers: usize,
}

/// Publishes recorded events until stopped.
#[derive(Clone)]
pub struct Relay {
    db: DatabaseConnection,
    transport: Arc<dyn Transport>,
    wake: Arc<Notify>,
    settings: RelaySettings,
    /// Whether this worker also measures the backlog and prunes (one does).
    housekeeping: bool,
}

struct Claimed {
    seq: i64,
    envelope: Envelope,
}

impl Relay {
    pub fn new(
        db: DatabaseConnection,
        transport: Arc<dyn Transport>,
        wake: Arc<Notify>,
        settings: RelaySettings,
    ) -> Self {
        Relay {
            db,
            transport,
            wake,
            settings,
            housekeeping: true,
        }
    }

    /// The workers to run, as the settings and the transport allow: none on
    /// an API-only replica (`workers: 0`).
    pub fn workers(self, in_process: bool) -> Vec<Relay> {
        let count = if self.settings.workers == 0 {
            tracing::info!(
                "KEEL_OUTBOX_WORKERS=0: this replica records events, others publish them"
            );
            0
        } else if in_process || self.db.get_database_backend() != DbBackend::Postgres {
            1
        } else {
            self.settings.workers.max(1)
        };
        (0..count)
            .map(|n| Relay {
                housekeeping: n == 0,
                ..self.clone()
            })
            .collect()
    }

    /// Runs rounds until `stop`; a round in progress finishes first, so its
    /// confirmed events are marked and not published again.
    pub async fn run(self, stop: CancellationToken) {
        let mut failures = 0u32;
        let mut measured = Instant::now() - Duration::from_secs(60);
        let mut pruned = Instant::now();
        loop {
            if stop.is_cancelled() {
                break;
            }
            if self.housekeeping && measured.elapsed() >= Duration::from_secs(1) {
                measured = Instant::now();
                self.measure_backlog().await;
            }
            if self.housekeeping && pruned.elapsed() >= Duration::from_secs(60) {
                pruned = Instant::now();
                self.prune().await;
            }
            let pause = match self.round().await {
                Ok(round) if round.failed == 0 => {
                    failures = 0;
                    if round.claimed as u64 >= self.settings.batch {
                        continue; // more are waiting
                    }
                    None
                }
                Ok(round) => {
                    tracing::warn!(
                        failed = round.failed,
                        "the broker did not take every event; retrying"
                    );
                    failures += 1;
                    Some(backoff(failures))
                }
                Err(error) => {
                    tracing::warn!(%error, "outbox relay round failed; retrying");
                    failures += 1;
                    Some(backoff(failures))
                }
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.wake.notified(), if pause.is_none() => {}
                _ = tokio::time::sleep(pause.unwrap_or(self.settings.poll)) => {}
            }
        }
        tracing::info!("outbox relay stopped");
    }

    async fn round(&self) -> Result<Round, DbErr> {
        match self.db.get_database_backend() {
            DbBackend::Postgres => {
                let txn = self.db.begin().await?;
                let claimed = claim(&txn, self.settings.batch, true).await?;
                let round = self.publish(&txn, &claimed).await?;
                txn.commit().await?;
                Ok(round)
            }
            _ => {
                let claimed = claim(&self.db, self.settings.batch, false).await?;
                self.publish(&self.db, &claimed).await
            }
        }
    }

    async fn publish(
        &self,
        db: &impl ConnectionTrait,
        claimed: &[Claimed],
    ) -> Result<Round, DbErr> {
        if claimed.is_empty() {
            return Ok(Round::default());
        }
        // A span per event, continuing the trace recorded with it, and lasting
        // until the broker confirmed the event; the message carries the
        // span's own context, so the consumer's span is its child and one
        // trace reads request → publish → consume.
        let spans: Vec<tracing::Span> = claimed.iter().map(publish_span).collect();
        let envelopes: Vec<Envelope> = claimed
            .iter()
            .zip(&spans)
            .map(|(row, span)| {
                let mut envelope = row.envelope.clone();
                if let Some(own) = trace::adopt(span, row.envelope.traceparent.as_deref()) {
                    envelope.traceparent = Some(own);
                }
                envelope
            })
            .collect();
        let started = Instant::now();
        let outcomes = self.transport.publish(&envelopes).await;
        metrics::histogram!("keel_outbox_publish_seconds").record(started.elapsed().as_secs_f64());
        let mut published = Vec::new();
        let mut failed = 0;
        for ((row, outcome), span) in claimed.iter().zip(outcomes).zip(&spans) {
            match outcome {
                Ok(()) => published.push(row.seq),
                Err(error) => {
                    span.record("otel.status_code", "ERROR");
                    span.record("error", error.as_str());
                    failed += 1;
                    span.in_scope(|| tracing::warn!(%error, "publishing failed"));
                    let update = Query::update()
                        .table(table())
                        .value(
                            Alias::new("attempts"),
                            Expr::col(Alias::new("attempts")).add(1),
                        )
                        .value(Alias::new("last_error"), error)
                        .and_where(Expr::col(Alias::new("seq")).eq(row.seq))
                        .to_owned();
                    db.execute(&update).await?;
                }
            }
        }
        if !published.is_empty() {
            let update = Query::update()
                .table(table())
                .value(
                    Alias::new("published_at_us"),
                    chrono::Utc::now().timestamp_micros(),
                )
                .and_where(Expr::col(Alias::new("seq")).is_in(published.clone()))
                .to_owned();
            db.execute(&update).await?;
        }
        metrics::counter!("keel_outbox_published_total").increment(published.len() as u64);
        metrics::counter!("keel_outbox_publish_failures_total").increment(failed as u64);
        Ok(Round {
            claimed: claimed.len(),
            failed,
        })
    }

    /// The backlog and the age of its oldest event, as gauges.
    async fn measure_backlog(&self) {
        let backend = self.db.get_database_backend();
        let sql = "SELECT COUNT(*) AS backlog, MIN(created_at_us) AS oldest \
                   FROM outbox_events WHERE published_at_us IS NULL";
        match self
            .db
            .query_one_raw(Statement::from_string(backend, sql))
            .await
        {
            Ok(Some(row)) => {
                let backlog: i64 = row.try_get("", "backlog").unwrap_or(0);
                let oldest: Option<i64> = row.try_get("", "oldest").unwrap_or(None);
                let age = oldest.map_or(0.0, |us| {
                    Ord::max(chrono::Utc::now().timestamp_micros() - us, 0) as f64 / 1e6
                });
                metrics::gauge!("keel_outbox_backlog").set(backlog as f64);
                metrics::gauge!("keel_outbox_oldest_age_seconds").set(age);
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "measuring the outbox backlog failed"),
        }
    }

    async fn prune(&self) {
        let cutoff = chrono::Utc::now().timestamp_micros()
            - i64::try_from(self.settings.retention.as_micros()).unwrap_or(i64::MAX);
        let delete = Query::delete()
            .from_table(table())
            .and_where(Expr::col(Alias::new("published_at_us")).lt(cutoff))
            .to_owned();
        if let Err(error) = self.db.execute(&delete).await {
            tracing::warn!(%error, "pruning published events failed");
        }
    }
}

fn publish_span(row: &Claimed) -> tracing::Span {
    tracing::info_span!(
        "publish",
        otel.kind = "producer",
        event = %row.envelope.key,
        event_id = %row.envelope.id,
        trace_id = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        error = tracing::field::Empty,
    )
}

#[derive(Debug, Default)]
struct Round {
    claimed: usize,
    failed: usize,
}

/// The oldest unpublished event of each aggregate, oldest first; on PostgreSQL
/// locked for this relay and skipped by the others.
///
/// "Oldest of its aggregate" is a scalar subquery on `outbox_events_pending`,
/// not `NOT EXISTS`: PostgreSQL turns `NOT EXISTS` into an anti-join, and the
/// generic plan a pooled connection caches while the outbox is near empty
/// made that a nested loop over the whole backlog: 4 to 13 s per claim with
/// 15,000 events waiting (`cargo xtask bench`, orders section), against a
/// few milliseconds for one index probe per candidate, whatever the plan.
async fn claim(db: &impl ConnectionTrait, batch: u64, lock: bool) -> Result<Vec<Claimed>, DbErr> {
    let sql = format!(
        "SELECT o.seq, o.id, o.aggregate_type, o.aggregate_id, o.event_name, o.event_version, \
                o.payload, o.traceparent, o.created_at_us \
         FROM outbox_events o \
         WHERE o.published_at_us IS NULL \
           AND o.seq = (SELECT min(p.seq) FROM outbox_events p \
                        WHERE p.published_at_us IS NULL \
                          AND p.aggregate_type = o.aggregate_type \
                          AND p.aggregate_id = o.aggregate_id) \
         ORDER BY o.seq LIMIT {batch}{}",
        if lock { " FOR UPDATE SKIP LOCKED" } else { "" }
    );
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    rows.into_iter()
        .map(|row| {
            let version: i32 = row.try_get("", "event_version")?;
            let name: String = row.try_get("", "event_name")?;
            Ok(Claimed {
                seq: row.try_get("", "seq")?,
                envelope: Envelope {
                    id: row.try_get("", "id")?,
                    key: EventKey::new(&name, u32::try_from(version).unwrap_or(0)),
                    aggregate_type: row.try_get("", "aggregate_type")?,
                    aggregate_id: row.try_get("", "aggregate_id")?,
                    occurred_at_us: row.try_get("", "created_at_us")?,
                    traceparent: row.try_get("", "traceparent")?,
                    payload: row.try_get("", "payload")?,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::db::Transactions;
    use keel_server::types::{Role, UserRegistered};

    fn registered(name: &str) -> UserRegistered {
        UserRegistered {
            user_id: Uuid::now_v7(),
            email: format!("{name}@example.com"),
            display_name: name.to_owned(),
            role: Role::Customer,
            registered_at: chrono::Utc::now(),
        }
    }

    async fn heads(db: &DatabaseConnection) -> Vec<String> {
        claim(db, 10, false)
            .await
            .unwrap()
            .into_iter()
            .map(|c| {
                let payload: UserRegistered = serde_json::from_str(&c.envelope.payload).unwrap();
                payload.display_name
            })
            .collect()
    }

    #[tokio::test]
    async fn a_round_takes_only_the_oldest_unpublished_event_of_each_aggregate() {
        let db =
            crate::platform::db::connect("sqlite::memory:", 1, std::time::Duration::from_secs(5))
                .await
                .unwrap();
        let transactions = Transactions::new(db.clone(), Default::default());
        let tx = transactions.begin().await.unwrap();
        for (aggregate, name) in [("a", "a1"), ("a", "a2"), ("b", "b1"), ("a", "a3")] {
            record(&tx, "user", aggregate, &registered(name))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();

        assert_eq!(heads(&db).await, ["a1", "b1"]);
        let mark = |seq: i64| {
            Query::update()
                .table(table())
                .value(Alias::new("published_at_us"), 1i64)
                .and_where(Expr::col(Alias::new("seq")).eq(seq))
                .to_owned()
        };
        db.execute(&mark(1)).await.unwrap();
        assert_eq!(heads(&db).await, ["a2", "b1"], "a2 only once a1 is out");
        db.execute(&mark(2)).await.unwrap();
        db.execute(&mark(3)).await.unwrap();
        assert_eq!(heads(&db).await, ["a3"]);
    }

    /// Two workers' rounds at once (`RelaySettings::workers`): the second
    /// claim skips what the first holds, and every later event of an aggregate
    /// the first holds, so no aggregate's events can overtake each other.
    /// Needs PostgreSQL (`SKIP LOCKED`); `cargo xtask test` runs the unit
    /// tests on it too.
    #[tokio::test]
    async fn concurrent_rounds_share_no_aggregate() {
        let Some(admin) = std::env::var("KEEL_TEST_DATABASE")
            .ok()
            .filter(|url| url.starts_with("postgres"))
        else {
            eprintln!("skipped: KEEL_TEST_DATABASE names no PostgreSQL server");
            return;
        };
        let name = format!("keel_unit_{}", Uuid::now_v7().simple());
        let server = sea_orm::Database::connect(&admin).await.unwrap();
        server
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        let db = crate::platform::db::connect(&url, 4, std::time::Duration::from_secs(5))
            .await
            .unwrap();
        let transactions = Transactions::new(db.clone(), Default::default());
        let tx = transactions.begin().await.unwrap();
        for (aggregate, event) in [("a", "a1"), ("b", "b1"), ("a", "a2"), ("c", "c1")] {
            record(&tx, "user", aggregate, &registered(event))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();

        let names = |claimed: Vec<Claimed>| -> Vec<String> {
            claimed
                .into_iter()
                .map(|c| {
                    serde_json::from_str::<UserRegistered>(&c.envelope.payload)
                        .unwrap()
                        .display_name
                })
                .collect()
        };
        let first = db.begin().await.unwrap();
        assert_eq!(names(claim(&first, 2, true).await.unwrap()), ["a1", "b1"]);
        let second = db.begin().await.unwrap();
        assert_eq!(
            names(claim(&second, 10, true).await.unwrap()),
            ["c1"],
            "a2 waits for a1, which the first round holds"
        );
        drop((first, second));
        db.close().await.unwrap();
        server
            .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await
            .unwrap();
    }
}
