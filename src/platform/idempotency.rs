//! `Idempotency-Key`: a retried request that creates something gets the first
//! response again instead of creating it twice.
//!
//! The key is claimed in the transaction that does the work ([`claim`]), and
//! the response stored in it before it commits ([`complete`]). A concurrent
//! request with the same key waits on the claimed row (PostgreSQL's unique
//! index, SQLite's write lock) until the first commits, then replays it; if
//! the first rolls back, the second does the work. Replicas share the table,
//! so keys hold across them. Keys are per principal: another user's key never
//! replays someone else's response.

use std::collections::BTreeMap;
use std::time::Duration;

use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, InsertStatement, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::db::{Inserts, StorageError, Transactions, Tx};

fn table() -> Alias {
    Alias::new("idempotency_keys")
}

/// Whose key, and which.
#[derive(Debug, Clone)]
pub struct Scope {
    pub principal: Uuid,
    pub key: String,
}

impl Scope {
    /// The row of this key.
    fn row(&self) -> Condition {
        Condition::all()
            .add(Expr::col(Alias::new("principal")).eq(self.principal))
            .add(Expr::col(Alias::new("key")).eq(self.key.clone()))
    }
}

/// A response as it was first sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's: do the work, then [`complete`].
    Fresh,
    /// The same request was made before: send this again, do nothing.
    Replay(StoredResponse),
    /// The key was used for a different request.
    Mismatch,
}

/// What identifies "the same request": the operation and its body, as JSON.
pub fn fingerprint(operation: &str, body: &impl serde::Serialize) -> String {
    let mut hash = Sha256::new();
    hash.update(operation.as_bytes());
    hash.update([0]);
    hash.update(serde_json::to_vec(body).expect("request bodies serialize"));
    hex(&hash.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a key's row keeps beside whose key it is (`principal`, `key`).
const KEPT: [&str; 6] = [
    "request_hash",
    "status",
    "headers",
    "body",
    "created_at_us",
    "expires_at_us",
];

/// The key's row: its response when known already, else a placeholder that
/// [`complete`] fills in.
fn row(
    scope: &Scope,
    fingerprint: &str,
    ttl: Duration,
    response: Option<&StoredResponse>,
) -> (InsertStatement, i64) {
    let now = chrono::Utc::now().timestamp_micros();
    let expires = now.saturating_add(i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX));
    let (status, headers, body) = match response {
        Some(r) => (
            i32::from(r.status),
            serde_json::to_string(&r.headers).expect("a map of strings serializes"),
            r.body.clone(),
        ),
        None => (0, "{}".to_owned(), String::new()),
    };
    let insert = Query::insert()
        .into_table(table())
        .columns(["principal", "key"].into_iter().chain(KEPT).map(Alias::new))
        .values_panic([
            scope.principal.into(),
            scope.key.clone().into(),
            fingerprint.into(),
            status.into(),
            headers.into(),
            body.into(),
            now.into(),
            expires.into(),
        ])
        .to_owned();
    (insert, now)
}

/// Claims `scope` for the request `fingerprint` in `tx`. An expired key is
/// taken over as if it were new.
pub async fn claim(
    tx: &Tx,
    scope: &Scope,
    fingerprint: &str,
    ttl: Duration,
) -> Result<Claim, StorageError> {
    let (mut insert, now) = row(scope, fingerprint, ttl, None);
    insert.on_conflict(
        OnConflict::columns([Alias::new("principal"), Alias::new("key")])
            .update_columns(KEPT.map(Alias::new))
            .action_and_where(Expr::col((table(), Alias::new("expires_at_us"))).lte(now))
            .to_owned(),
    );
    if tx.connection().execute(&insert).await?.rows_affected() == 1 {
        return Ok(Claim::Fresh);
    }
    existing(tx.connection(), scope, fingerprint)
        .await?
        .ok_or_else(|| StorageError("the idempotency key vanished while claimed".into()))
}

/// What an existing key says about the request `fingerprint`: replay or
/// mismatch; `None` without a row for `scope`. Outside a transaction, for a
/// request refused before it could claim, whose first attempt may have
/// succeeded and must replay.
pub async fn existing(
    db: &impl ConnectionTrait,
    scope: &Scope,
    fingerprint: &str,
) -> Result<Option<Claim>, StorageError> {
    let select = Query::select()
        .columns(["request_hash", "status", "headers", "body"].map(Alias::new))
        .from(table())
        .cond_where(scope.row())
        .to_owned();
    let Some(row) = db.query_one(&select).await? else {
        return Ok(None);
    };
    let hash: String = row.try_get("", "request_hash")?;
    if hash != fingerprint {
        return Ok(Some(Claim::Mismatch));
    }
    let headers: String = row.try_get("", "headers")?;
    let status: i32 = row.try_get("", "status")?;
    Ok(Some(Claim::Replay(StoredResponse {
        status: u16::try_from(status)
            .map_err(|_| StorageError(format!("stored status {status}")))?,
        headers: serde_json::from_str(&headers)
            .map_err(|e| StorageError(format!("stored headers: {e}")))?,
        body: row.try_get("", "body")?,
    })))
}

/// For a request whose response is known before it runs and whose work is
/// only `inserts`: claims `scope` with the response and writes `inserts`, all
/// at once ([`Transactions::insert_all`]: on PostgreSQL one statement). A key
/// already there refuses the lot; then [`claim`] decides in a transaction, as
/// for any request: replay, mismatch, or an expired key taken over.
pub async fn insert_once(
    transactions: &Transactions,
    scope: &Scope,
    fingerprint: &str,
    ttl: Duration,
    response: &StoredResponse,
    inserts: Inserts,
) -> Result<Claim, StorageError> {
    let mut claimed = Inserts::default();
    claimed.push(row(scope, fingerprint, ttl, Some(response)).0);
    if transactions
        .insert_all(claimed.then(inserts.clone()))
        .await?
        .is_ok()
    {
        return Ok(Claim::Fresh);
    }
    let tx = transactions.begin().await?;
    let claim = claim(&tx, scope, fingerprint, ttl).await?;
    if claim == Claim::Fresh {
        tx.insert_all(inserts).await?;
        complete(&tx, scope, response).await?;
        tx.commit().await?;
    }
    Ok(claim)
}

/// Stores the response of the request that claimed `scope`, in its `tx`.
pub async fn complete(
    tx: &Tx,
    scope: &Scope,
    response: &StoredResponse,
) -> Result<(), StorageError> {
    let update = Query::update()
        .table(table())
        .value(Alias::new("status"), i32::from(response.status))
        .value(
            Alias::new("headers"),
            serde_json::to_string(&response.headers).expect("a map of strings serializes"),
        )
        .value(Alias::new("body"), response.body.clone())
        .cond_where(scope.row())
        .to_owned();
    tx.connection().execute(&update).await?;
    Ok(())
}

/// Forgets expired keys; run now and then, it keeps the table small.
pub async fn prune(db: &DatabaseConnection) -> Result<u64, StorageError> {
    let delete = Query::delete()
        .from_table(table())
        .and_where(
            Expr::col(Alias::new("expires_at_us")).lte(chrono::Utc::now().timestamp_micros()),
        )
        .to_owned();
    Ok(db.execute(&delete).await?.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_operations_and_bodies_apart() {
        let a = fingerprint("placeOrder", &serde_json::json!({"x": 1}));
        assert_eq!(a, fingerprint("placeOrder", &serde_json::json!({"x": 1})));
        assert_ne!(a, fingerprint("placeOrder", &serde_json::json!({"x": 2})));
        assert_ne!(
            a,
            fingerprint("refundPayment", &serde_json::json!({"x": 1}))
        );
        assert_eq!(a.len(), 64);
    }
}
