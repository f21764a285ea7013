//! The built-in test payment provider: deterministic by token, and durable,
//! so that it behaves like a real provider across Keel's restarts — in
//! particular, it honours idempotency keys after a crash, which is what keeps
//! a retried charge from charging twice.
//!
//! Tokens: `tok_approve` captures; `tok_decline` (and any unknown token) is
//! declined; `tok_timeout` never answers; `tok_fail_once` is unavailable the
//! first time a key is used and captures the second time. Refunds succeed.
//!
//! It keeps its record in its own table (`test_gateway_operations`, one row
//! per idempotency key), as a real provider keeps its own books: tests count
//! charges there.

use std::time::Duration;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use crate::kernel::Money;
use crate::payments::ports::{ChargeCall, GatewayError, PaymentGateway, RefundCall};

#[derive(Clone)]
pub struct TestGateway {
    db: DatabaseConnection,
    /// How long the provider takes to answer, after it has acted: a crash
    /// in this window leaves a charge Keel has not recorded yet.
    latency: Duration,
}

impl TestGateway {
    pub fn new(db: DatabaseConnection, latency: Duration) -> Self {
        TestGateway { db, latency }
    }

    fn table() -> Alias {
        Alias::new("test_gateway_operations")
    }

    /// The row for `key`: (outcome, reference, attempts).
    async fn find(&self, key: &str) -> Result<Option<(String, String, i32)>, GatewayError> {
        let select = Query::select()
            .columns(["outcome", "reference", "attempts"].map(Alias::new))
            .from(Self::table())
            .and_where(Expr::col(Alias::new("idempotency_key")).eq(key))
            .to_owned();
        let row = self.db.query_one(&select).await.map_err(unavailable)?;
        row.map(|row| {
            Ok((
                row.try_get("", "outcome").map_err(unavailable)?,
                row.try_get("", "reference").map_err(unavailable)?,
                row.try_get("", "attempts").map_err(unavailable)?,
            ))
        })
        .transpose()
    }

    /// Records the first outcome for `key`; a later call finds it.
    async fn record(
        &self,
        key: &str,
        kind: &str,
        outcome: &str,
        reference: &str,
        amount: Money,
    ) -> Result<(), GatewayError> {
        let insert = Query::insert()
            .into_table(Self::table())
            .columns(
                [
                    "idempotency_key",
                    "kind",
                    "outcome",
                    "reference",
                    "amount",
                    "currency",
                    "attempts",
                    "created_at_us",
                ]
                .map(Alias::new),
            )
            .values_panic([
                key.into(),
                kind.into(),
                outcome.into(),
                reference.into(),
                amount.minor().into(),
                amount.currency().as_str().into(),
                1i32.into(),
                chrono::Utc::now().timestamp_micros().into(),
            ])
            .on_conflict(
                OnConflict::column(Alias::new("idempotency_key"))
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        self.db.execute(&insert).await.map_err(unavailable)?;
        Ok(())
    }

    async fn answer(&self, outcome: &str, reference: String) -> Result<String, GatewayError> {
        tokio::time::sleep(self.latency).await;
        match outcome {
            "captured" | "refunded" => Ok(reference),
            "unavailable" => Err(GatewayError::Unavailable(
                "the test provider fails the first attempt of `tok_fail_once`".into(),
            )),
            _ => Err(GatewayError::Declined("the card was declined".into())),
        }
    }
}

fn unavailable(error: sea_orm::DbErr) -> GatewayError {
    GatewayError::Unavailable(error.to_string())
}

impl PaymentGateway for TestGateway {
    async fn charge(&self, call: &ChargeCall) -> Result<String, GatewayError> {
        let key = &call.idempotency_key;
        if let Some((outcome, reference, attempts)) = self.find(key).await? {
            if outcome == "unavailable" {
                // `tok_fail_once`, second attempt: capture now.
                let update = Query::update()
                    .table(Self::table())
                    .value(Alias::new("outcome"), "captured")
                    .value(Alias::new("attempts"), attempts + 1)
                    .and_where(Expr::col(Alias::new("idempotency_key")).eq(key.as_str()))
                    .and_where(Expr::col(Alias::new("outcome")).eq("unavailable"))
                    .to_owned();
                self.db.execute(&update).await.map_err(unavailable)?;
                return self.answer("captured", reference).await;
            }
            return self.answer(&outcome, reference).await;
        }
        let reference = format!("ch_{}", Uuid::now_v7().simple());
        let outcome = match call.token.as_str() {
            "tok_approve" => "captured",
            "tok_fail_once" => "unavailable",
            // Never answers: the caller's timeout decides. Nothing is recorded,
            // so nothing was charged.
            "tok_timeout" => std::future::pending().await,
            _ => "declined",
        };
        self.record(key, "charge", outcome, &reference, call.amount)
            .await?;
        // A concurrent call with the same key may have recorded first: its
        // outcome is the one that stands.
        let (outcome, reference, _) = self
            .find(key)
            .await?
            .ok_or_else(|| GatewayError::Unavailable("the charge record vanished".into()))?;
        self.answer(&outcome, reference).await
    }

    async fn refund(&self, call: &RefundCall) -> Result<String, GatewayError> {
        let key = &call.idempotency_key;
        let reference = format!("re_{}", Uuid::now_v7().simple());
        self.record(key, "refund", "refunded", &reference, call.amount)
            .await?;
        let (outcome, reference, _) = self
            .find(key)
            .await?
            .ok_or_else(|| GatewayError::Unavailable("the refund record vanished".into()))?;
        self.answer(&outcome, reference).await
    }
}
