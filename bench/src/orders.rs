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

/// What `placeOrder` under wrk measured.
pub struct PlaceOrder {
    pub accepted: Measure,
    /// Orders taken through the whole saga (reserve, charge, confirm) per
    /// second, from the first request to the last order settled.
    pub settled: Measure,
}

#[allow(clippy::too_many_arguments)]
pub async fn place_order(
    api: &Api,
    db: &Database,
    admin: &Account,
    customer: &Account,
    url: &str,
    work: &Path,
    connections: usize,
    seconds: u64,
    runs: usize,
) -> Result<PlaceOrder> {
    let mut products = Vec::new();
    for i in 0..64 {
        products.push(
            api.product(admin, &format!("Benchmark product {i}"), 1_000_000_000)
                .await?,
        );
    }
    let how = format!("wrk, 1 thread, {connections} connections, a new Idempotency-Key each");
    let mut result = PlaceOrder {
        accepted: Measure::new("placeOrder (PostgreSQL)", "orders/s", how),
        settled: Measure::new(
            "placeOrder → confirmed, through the saga",
            "orders/s",
            "the same runs: orders settled ÷ time to settle them all",
        ),
    };
    // A short run first, so connection pools and caches are warm.
    for run in 0..=runs {
        let warm_up = run == 0;
        let script = work.join(format!("place-order-{run}.lua"));
        std::fs::write(
            &script,
            lua(
                &products,
                &customer.token,
                &format!("{}-{run}", std::process::id()),
            ),
        )?;
        let before = db.scalar("SELECT count(*) FROM orders")?;
        let started = Instant::now();
        let outcome = Wrk {
            url,
            connections,
            duration: Duration::from_secs(if warm_up { 2 } else { seconds }),
            headers: &[],
            script: Some(&script),
        }
        .run()?;
        if outcome.failed > 0 {
            bail!("{} of the placeOrder requests failed", outcome.failed);
        }
        settle(db).await?;
        let settled = db.scalar("SELECT count(*) FROM orders")? - before;
        if !warm_up {
            result.accepted.runs.push(outcome.ok_per_second);
            result
                .settled
                .runs
                .push(settled / started.elapsed().as_secs_f64());
        }
    }
    let stuck = db.scalar("SELECT count(*) FROM orders WHERE status <> 'confirmed'")?;
    if stuck > 0.0 {
        bail!("{stuck} orders did not end confirmed");
    }
    Ok(result)
}

/// Waits until every order has been through the saga.
async fn settle(db: &Database) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let open = db.scalar(
            "SELECT count(*) FROM orders WHERE status IN ('pending', 'stock_reserved', 'paid')",
        )?;
        if open == 0.0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{open} orders still open after 5 minutes");
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
