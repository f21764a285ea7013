//! The load generators: wrk for closed-loop throughput (as many requests as
//! `connections` keep-alive connections can carry) and oha for a constant
//! offered rate, whose latencies are corrected for coordinated omission (a
//! request that should have been sent while the server stalled counts its wait).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// What one load run saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome {
    /// Successful (2xx/3xx) responses per second.
    pub ok_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    pub failed: u64,
}

/// A closed-loop run of wrk with one thread (the other core is the server's).
pub struct Wrk<'a> {
    pub url: &'a str,
    pub connections: usize,
    pub duration: Duration,
    pub headers: &'a [(&'a str, String)],
    /// A Lua script that shapes each request (body, unique headers).
    pub script: Option<&'a Path>,
}

impl Wrk<'_> {
    pub fn run(&self) -> Result<Outcome> {
        let mut command = Command::new("wrk");
        command
            .arg("-t1")
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", self.duration.as_secs().max(1)))
            .arg("--latency")
            .arg("--timeout")
            .arg("10s");
        for (name, value) in self.headers {
            command.arg("-H").arg(format!("{name}: {value}"));
        }
        if let Some(script) = self.script {
            command.arg("-s").arg(script);
        }
        command.arg(self.url);
        let output = command
            .output()
            .context("running wrk (install it: apt-get install wrk)")?;
        let text = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!(
                "wrk failed: {}{}",
                text,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        parse_wrk(&text).with_context(|| format!("reading wrk's report:\n{text}"))
    }
}

fn parse_wrk(text: &str) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    let mut seconds = None;
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => outcome.p50_ms = duration_ms(value)?,
            ["99%", value] => outcome.p99_ms = duration_ms(value)?,
            [count, "requests", "in", time, ..] => {
                outcome.requests = count.parse()?;
                seconds = Some(duration_ms(time.trim_end_matches(','))? / 1000.0);
            }
            ["Non-2xx", "or", "3xx", "responses:", count] => {
                outcome.failed += count.parse::<u64>()?
            }
            ["Socket", "errors:", rest @ ..] => {
                // "connect 0, read 0, write 0, timeout 3"
                for pair in rest.chunks(2) {
                    if let [_, count] = pair {
                        outcome.failed += count.trim_end_matches(',').parse::<u64>()?;
                    }
                }
            }
            _ => {}
        }
    }
    let seconds = seconds.context("no request count")?;
    outcome.ok_per_second = outcome.requests.saturating_sub(outcome.failed) as f64 / seconds;
    Ok(outcome)
}

/// wrk writes durations as `512.00us`, `1.23ms`, `2.00s` or `1.00m`.
fn duration_ms(text: &str) -> Result<f64> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("a duration with a unit: {text}"))?;
    let (value, unit) = text.split_at(split);
    let value: f64 = value.parse()?;
    Ok(match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        "m" => value * 60_000.0,
        other => bail!("unknown unit {other} in {text}"),
    })
}

/// An open-loop run of oha at `rate` requests per second.
pub struct Oha<'a> {
    pub binary: &'a Path,
    pub url: &'a str,
    pub rate: u32,
    pub connections: usize,
    pub duration: Duration,
    pub headers: &'a [(&'a str, String)],
}

impl Oha<'_> {
    pub fn run(&self) -> Result<Outcome> {
        let mut command = Command::new(self.binary);
        command
            .arg("--no-tui")
            .arg("--output-format")
            .arg("json")
            .arg("--latency-correction")
            .arg("-q")
            .arg(self.rate.to_string())
            .arg("-c")
            .arg(self.connections.to_string())
            .arg("-z")
            .arg(format!("{}s", self.duration.as_secs().max(1)));
        for (name, value) in self.headers {
            command.arg("-H").arg(format!("{name}: {value}"));
        }
        command.arg(self.url);
        let output = command.output().context("running oha")?;
        if !output.status.success() {
            bail!("oha failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).context("oha's JSON report")?;
        parse_oha(&report)
    }
}

fn parse_oha(report: &serde_json::Value) -> Result<Outcome> {
    let seconds = |pointer: &str| {
        report
            .pointer(pointer)
            .and_then(serde_json::Value::as_f64)
            .with_context(|| format!("oha's report has {pointer}"))
    };
    let mut ok = 0u64;
    let mut failed = 0u64;
    if let Some(codes) = report
        .pointer("/statusCodeDistribution")
        .and_then(|v| v.as_object())
    {
        for (code, count) in codes {
            let count = count.as_u64().unwrap_or(0);
            if code.starts_with('2') || code.starts_with('3') {
                ok += count;
            } else {
                failed += count;
            }
        }
    }
    if let Some(errors) = report
        .pointer("/errorDistribution")
        .and_then(|v| v.as_object())
    {
        // Requests still in flight when the run's time is up are cut off by
        // oha itself, not failed by the server.
        failed += errors
            .iter()
            .filter(|(kind, _)| kind.as_str() != "aborted due to deadline")
            .filter_map(|(_, v)| v.as_u64())
            .sum::<u64>();
    }
    let total = seconds("/summary/total")?;
    Ok(Outcome {
        ok_per_second: ok as f64 / total,
        p50_ms: seconds("/latencyPercentiles/p50")? * 1000.0,
        p99_ms: seconds("/latencyPercentiles/p99")? * 1000.0,
        requests: ok + failed,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let report = "Running 10s test @ http://127.0.0.1:1/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   520.00us  100.00us   5.00ms   90.00%
  Latency Distribution
     50%  490.00us
     75%  600.00us
     90%  700.00us
     99%    1.50ms
  1000000 requests in 10.00s, 120.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec: 100000.00
Transfer/sec:     12.00MB
";
        let outcome = parse_wrk(report).unwrap();
        assert_eq!(outcome.requests, 1_000_000);
        assert_eq!(outcome.failed, 10);
        assert!((outcome.ok_per_second - 99_999.0).abs() < 1e-6);
        assert!((outcome.p50_ms - 0.49).abs() < 1e-9);
        assert!((outcome.p99_ms - 1.5).abs() < 1e-9);
    }

    #[test]
    fn reads_an_oha_report() {
        let report = serde_json::json!({
            "summary": {"total": 2.0},
            "latencyPercentiles": {"p50": 0.001, "p99": 0.004},
            "statusCodeDistribution": {"200": 19_990, "503": 5},
            "errorDistribution": {"connection closed": 5, "aborted due to deadline": 64}
        });
        let outcome = parse_oha(&report).unwrap();
        assert_eq!(outcome.failed, 10);
        assert_eq!(outcome.ok_per_second, 9_995.0);
        assert_eq!(outcome.p99_ms, 4.0);
    }
}
