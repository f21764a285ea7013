//! Writes: `placeOrder` (the order, its lines, its outbox event and its
//! idempotency record in one transaction) against pgbench inserting single
//! rows into the same PostgreSQL server.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::api::{Account, Api};
use crate::figures::Measure;
use crate::load::Wrk;
use crate::process::Database;

pub const PGBENCH_CLIENTS: usize = 16;

/// pgbench's rate of single-row inserts (uuid key, text, timestamp), with
/// prepared statements, `runs` times.
pub fn pgbench(db: &Database, work: &Path, seconds: u64, runs: usize) -> Result<Measure> {
    db.execute(
        "CREATE TABLE bench_rows (id uuid PRIMARY KEY, payload text NOT NULL, \
         created_at timestamptz NOT NULL)",
    )?;
    let script = work.join("insert.sql");
    std::fs::write(
        &script,
        "INSERT INTO bench_rows (id, payload, created_at) \
         VALUES (gen_random_uuid(), 'a benchmark row', now());\n",
    )?;
    let mut measure = Measure::new(
        "pgbench: single-row INSERT",
        "rows/s",
        format!("pgbench -M prepared, {PGBENCH_CLIENTS} clients, 2 threads"),
    );
    for _ in 0..runs {
        let output = Command::new("pgbench")
            .args(["-n", "-M", "prepared", "-j", "2"])
            .arg(format!("-c{PGBENCH_CLIENTS}"))
            .arg(format!("-T{seconds}"))
            .arg("-f")
            .arg(&script)
            .arg(db.url())
            .output()
            .context("running pgbench")?;
        let text = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!("pgbench: {text}{}", String::from_utf8_lossy(&output.stderr));
        }
        measure
            .runs
            .push(tps(&text).with_context(|| format!("pgbench said:\n{text}"))?);
    }
    Ok(measure)
}

fn tps(report: &str) -> Option<f64> {
    report
        .lines()
        .find(|line| line.starts_with("tps = "))
        .and_then(|line| line.split_whitespace().nth(2))
        .and_then(|value| value.parse().ok())
}

/// A shop to order from: a customer's token and the products on sale.
pub struct Shop {
    pub url: String,
    pub token: String,
    pub products: Vec<String>,
}

impl Shop {
    /// 64 products with stock that lasts, and a customer, through the API.
    pub async fn open(api: &Api, url: &str, admin: &Account, customer: &Account) -> Result<Shop> {
        let mut products = Vec::new();
        for i in 0..64 {
            products.push(
                api.product(admin, &format!("Benchmark product {i}"), 1_000_000_000)
                    .await?,
            );
        }
        Ok(Shop {
            url: url.to_owned(),
            token: customer.token.clone(),
            products,
        })
    }

    /// wrk placing orders for `duration`; the accepted orders per second.
    fn place(&self, work: &Path, run: &str, connections: usize, duration: Duration) -> Result<f64> {
        let script = work.join(format!("place-order-{run}.lua"));
        std::fs::write(
            &script,
            lua(
                &self.products,
                &self.token,
                &format!("{}-{run}", std::process::id()),
            ),
        )?;
        let outcome = Wrk {
            url: &self.url,
            connections,
            duration,
            headers: &[],
            script: Some(&script),
        }
        .run()?;
        if outcome.failed > 0 {
            bail!("{} of the placeOrder requests failed", outcome.failed);
        }
        Ok(outcome.ok_per_second)
    }
}

/// `placeOrder`'s own rate: the transaction that records the order, its
/// lines, its event and its idempotency record, on an API-only replica
/// (`KEEL_OUTBOX_WORKERS=0`) so the saga's work does not share the two cores
/// with it. Every accepted order must be stored with its event.
#[allow(clippy::too_many_arguments)]
pub fn place_order(
    shop: &Shop,
    db: &Database,
    work: &Path,
    connections: usize,
    seconds: u64,
    runs: usize,
) -> Result<Measure> {
    let mut measure = Measure::new(
        "placeOrder (PostgreSQL)",
        "orders/s",
        format!(
            "wrk, 1 thread, {connections} connections, a new Idempotency-Key each; \
             an API-only replica (KEEL_OUTBOX_WORKERS=0)"
        ),
    );
    // A short run first, so connection pools and caches are warm.
    shop.place(work, "warm", connections, Duration::from_secs(2))?;
    for run in 0..runs {
        let rate = shop.place(
            work,
            &run.to_string(),
            connections,
            Duration::from_secs(seconds),
        )?;
        measure.runs.push(rate);
    }
    let orders = db.scalar("SELECT count(*) FROM orders")?;
    let events =
        db.scalar("SELECT count(*) FROM outbox_events WHERE event_name = 'order.placed'")?;
    if orders != events {
        bail!("{orders} orders stored but {events} order.placed events recorded");
    }
    Ok(measure)
}

/// The saga's rate: orders placed for `seconds` against a replica that also
/// relays (the in-process bus), then taken through reserve, charge and
/// confirm; orders settled ÷ time from the first request to the last settled.
pub async fn saga(
    shop: &Shop,
    db: &Database,
    work: &Path,
    connections: usize,
    seconds: u64,
    runs: usize,
) -> Result<Measure> {
    let mut measure = Measure::new(
        "placeOrder → confirmed, through the saga",
        "orders/s",
        format!("{seconds} s of placeOrder on a replica that relays, then until all are confirmed"),
    );
    for run in 0..runs {
        let before = db.scalar("SELECT count(*) FROM orders")?;
        let started = Instant::now();
        shop.place(
            work,
            &format!("saga-{run}"),
            connections,
            Duration::from_secs(seconds),
        )?;
        settle(db).await?;
        let settled = db.scalar("SELECT count(*) FROM orders")? - before;
        measure.runs.push(settled / started.elapsed().as_secs_f64());
    }
    let stuck = db.scalar("SELECT count(*) FROM orders WHERE status <> 'confirmed'")?;
    if stuck > 0.0 {
        let why = db.execute(
            "SELECT string_agg(status || ': ' || coalesce(failure_reason, '-'), '; ') \
             FROM (SELECT status, failure_reason FROM orders \
                   WHERE status <> 'confirmed' LIMIT 5) AS s",
        )?;
        bail!("{stuck} orders did not end confirmed ({})", why.trim());
    }
    Ok(measure)
}

/// Waits until every order has been through the saga. A burst of placements
/// can leave a backlog that takes minutes to settle on two cores, so the
/// limit is on progress, not on the total: it gives up only when no order has
/// settled for a minute.
async fn settle(db: &Database) -> Result<()> {
    const STALLED: Duration = Duration::from_secs(60);
    let mut fewest = f64::INFINITY;
    let mut progressed = Instant::now();
    let mut reported = Instant::now();
    loop {
        let open = db.scalar(
            "SELECT count(*) FROM orders WHERE status IN ('pending', 'stock_reserved', 'paid')",
        )?;
        if open == 0.0 {
            return Ok(());
        }
        if open < fewest {
            fewest = open;
            progressed = Instant::now();
        } else if progressed.elapsed() > STALLED {
            bail!("{open} orders still open, none settled for a minute");
        }
        if reported.elapsed() > Duration::from_secs(15) {
            reported = Instant::now();
            println!("  {open} orders still settling");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A wrk script: one order of one unit per request, round-robin over the
/// products, each with an Idempotency-Key of its own.
fn lua(products: &[String], token: &str, run: &str) -> String {
    let list = products
        .iter()
        .map(|id| format!("\"{id}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"local products = {{{list}}}
local n = 0
request = function()
  n = n + 1
  local body = '{{"items":[{{"productId":"' .. products[(n % #products) + 1] .. '","quantity":1}}],"paymentToken":"tok_approve"}}'
  return wrk.format("POST", "/v1/orders", {{
    ["Authorization"] = "Bearer {token}",
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "bench-{run}-" .. n,
  }}, body)
end
"#
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_pgbench_tps() {
        let report = "latency average = 0.650 ms\n\
                      initial connection time = 10.2 ms\n\
                      tps = 24512.345678 (without initial connection time)\n";
        assert_eq!(super::tps(report), Some(24512.345678));
    }
}
