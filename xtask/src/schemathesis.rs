//! Conformance fuzzing, run by `cargo xtask test` and alone as `cargo xtask schemathesis`:
//! schemathesis (pinned, from PyPI, in a venv under the target directory) against the
//! debug server on a throwaway SQLite database, with an administrator's token, every
//! operation, every check and the four phases (examples, coverage, fuzzing, stateful).
//! Any failure or error fails the task. ADR 11 records the choices.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The schemathesis release the suite runs; changing it rebuilds the venv.
pub const VERSION: &str = "4.32.5";
/// The same seed every run: with a fresh database each time, a run sends the same
/// requests as the last one, so a failure comes back until it is fixed.
const SEED: &str = "20261125";
/// Test cases per operation and phase (and the bound on stateful scenarios): about
/// 1,700 cases in under a minute on a 2-core machine; the budget for the whole task,
/// venv and build included, is 5 minutes.
const MAX_EXAMPLES: &str = "100";
/// Per-operation tuning of checks (never an exclusion) and the stateful phase's
/// steps per scenario; each entry says why.
const CONFIG: &str = "tests/schemathesis.toml";
const CONTRACT: &str = "api/openapi.yaml";
const ADMIN_EMAIL: &str = "schemathesis-admin@example.com";

/// What a passing run covered, for the summary of `cargo xtask test`.
pub struct Outcome {
    pub cases: u64,
    pub operations: u64,
    pub seconds: u64,
}

pub fn run() -> Result<Outcome> {
    let started = Instant::now();
    let target = crate::venv::target_dir();
    let st = install(&target.join("schemathesis-venv"))?;

    step("cargo build --bin keel");
    crate::test::cargo(&["build", "--package", "keel", "--bin", "keel"], &[])?;
    // Kept after the run: schemathesis's JSON report and the server's log.
    let reports = target.join("schemathesis-report");
    std::fs::create_dir_all(&reports)?;
    let report = reports.join("report.json");
    let events = reports.join("events.ndjson");
    let _ = std::fs::remove_file(&report);
    let _ = std::fs::remove_file(&events);
    let server_log = reports.join("server.log");
    let scratch = Scratch::new()?;
    let server = Server::start(&target.join("debug").join("keel"), &scratch, &server_log)?;
    let token = server.admin_token(&server_log)?;
    check_scopes(&token)?;
    let url = format!("http://{}", server.addr);
    let authorization = format!("Authorization: Bearer {token}");
    let args = [
        "--config-file",
        CONFIG,
        "run",
        CONTRACT,
        "--url",
        &url,
        "--header",
        &authorization,
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        SEED,
        "--max-examples",
        MAX_EXAMPLES,
        // Hypothesis's example database would replay cases from earlier runs (and
        // write `.hypothesis/` into the checkout): each run is a function of the seed.
        "--generation-database",
        "none",
        "--report",
        "json,ndjson",
        "--report-json-path",
        report.to_str().context("a UTF-8 target directory")?,
        "--report-ndjson-path",
        events.to_str().context("a UTF-8 target directory")?,
    ];
    step(&format!(
        "st {}",
        args.join(" ").replace(&token, "<admin access token>")
    ));
    let fuzzing = Instant::now();
    let status = Command::new(&st)
        .args(args)
        .status()
        .with_context(|| format!("running {}", st.display()))?;
    let fuzzing = fuzzing.elapsed();
    drop(server);

    let summary = match read_report(&report) {
        Ok(summary) => summary,
        Err(why) if !status.success() => bail!("schemathesis failed ({status}): {why:#}"),
        Err(why) => return Err(why),
    };
    println!(
        "schemathesis {VERSION}: {} test cases over {}/{} operations, {} failure(s), {} error(s), in {:.0} s (the whole task: {:.0} s); report and server log in {}",
        summary.cases,
        summary.tested,
        summary.total,
        summary.failures,
        summary.errors,
        fuzzing.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        reports.display(),
    );
    if !status.success() || summary.failures > 0 || summary.errors > 0 {
        bail!(
            "schemathesis found {} failure(s) and {} error(s) ({status}); each failure above comes with a curl command that reproduces it",
            summary.failures,
            summary.errors,
        );
    }
    if summary.tested != summary.total || summary.total == 0 {
        bail!(
            "schemathesis tested {} of {} operations",
            summary.tested,
            summary.total
        );
    }
    if let Some(phase) = summary.phases_not_passed.first() {
        bail!("the schemathesis phase `{phase}` did not pass (skipped or not run)");
    }
    let lifecycles = lifecycles(&events)?;
    println!(
        "stateful phase: {lifecycles} user(s) created, read, updated and deleted by following the contract's links"
    );
    if lifecycles == 0 {
        bail!(
            "the stateful phase never chained create → read → update → delete through the contract's links (see `links` in {CONTRACT})"
        );
    }
    Ok(Outcome {
        cases: summary.cases,
        operations: summary.total,
        seconds: started.elapsed().as_secs(),
    })
}

fn step(what: &str) {
    println!("\n-- {what}");
}

/// The venv's `st`, with the pinned schemathesis.
fn install(venv: &Path) -> Result<PathBuf> {
    let st = crate::venv::ensure(venv, &format!("schemathesis=={VERSION}"))?.join("st");
    let output = Command::new(&st).arg("--version").output()?;
    let version = String::from_utf8_lossy(&output.stdout);
    if !version.contains(VERSION) {
        bail!("{} --version says {version:?}, not {VERSION}", st.display());
    }
    Ok(st)
}

/// A throwaway directory for the database and the keys.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("keel-schemathesis-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch { dir })
    }

    /// The `keel` command with this run's settings, and none inherited from the
    /// caller's environment (a `KEEL_CONFIG` or `KEEL_ROLE_SCOPES` of theirs).
    fn keel(&self, binary: &Path) -> Command {
        let mut command = Command::new(binary);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("KEEL_") || name == "DATABASE_URL" {
                command.env_remove(name);
            }
        }
        command
            .env(
                "DATABASE_URL",
                format!("sqlite://{}?mode=rwc", self.dir.join("keel.db").display()),
            )
            .env("KEEL_JWT_KEYS_DIR", self.dir.join("jwt-keys"))
            .env("KEEL_FIELD_KEYS_DIR", self.dir.join("field-keys"))
            .env("KEEL_LOG", "warn")
            // The limiter allows 600 requests a minute per address and per token, and
            // 20 to /v1/auth/*: a fuzzing run sends thousands from one address with one
            // token. Its 429s are declared, so they would pass every check while testing
            // nothing but the limiter (which tests/api covers); so the run raises both
            // budgets through their documented settings instead of excluding anything.
            .env("KEEL_RATE_LIMIT_PER_MINUTE", "1000000")
            .env("KEEL_AUTH_RATE_LIMIT_PER_MINUTE", "1000000")
            // Outlives a slow run on a busy machine (the default is 15 minutes).
            .env("KEEL_ACCESS_TOKEN_TTL_SECS", "3600");
        command
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The debug server on a free port over the scratch database, with an administrator.
struct Server {
    addr: SocketAddr,
    child: Child,
    password: String,
}

impl Server {
    fn start(binary: &Path, scratch: &Scratch, log: &Path) -> Result<Server> {
        step("keel migrate, keel create-admin, keel (serve)");
        crate::venv::run_ok(scratch.keel(binary).arg("migrate"))?;
        let password = random_password()?;
        let mut create = scratch
            .keel(binary)
            .args(["create-admin", "--email", ADMIN_EMAIL])
            .stdin(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        create
            .stdin
            .take()
            .context("create-admin's stdin")?
            .write_all(format!("{password}\n").as_bytes())?;
        if !create.wait()?.success() {
            bail!("`keel create-admin` failed");
        }

        let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let log = std::fs::File::create(log)?;
        let child = scratch
            .keel(binary)
            .env("KEEL_LISTEN", addr.to_string())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let server = Server {
            addr,
            child,
            password,
        };
        crate::test::wait_until_listening(addr)?;
        Ok(server)
    }

    /// Logs the administrator in through the API, as any client would.
    fn admin_token(&self, log: &Path) -> Result<String> {
        let body = serde_json::json!({ "email": ADMIN_EMAIL, "password": self.password });
        let (status, text) = post_json(self.addr, "/v1/auth/token", &body.to_string())
            .with_context(|| format!("POST /v1/auth/token (server log: {})", log.display()))?;
        if status != 200 {
            bail!("POST /v1/auth/token answered {status}: {text}");
        }
        let pair: serde_json::Value = serde_json::from_str(&text)?;
        pair["accessToken"]
            .as_str()
            .map(str::to_owned)
            .context("the token response has no accessToken")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 32 random bytes from the OS, hex: the administrator's password for this run only.
fn random_password() -> Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// One HTTP/1.1 POST of a JSON body; the status and the response body.
fn post_json(addr: SocketAddr, path: &str, body: &str) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8(response).context("a UTF-8 response")?;
    let (head, payload) = response
        .split_once("\r\n\r\n")
        .context("a response with headers")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("a status line")?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let payload = if chunked {
        dechunk(payload)?
    } else {
        payload.to_owned()
    };
    Ok((status, payload))
}

fn dechunk(mut rest: &str) -> Result<String> {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").context("a chunk size")?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)?;
        if size == 0 {
            return Ok(out);
        }
        out.push_str(after.get(..size).context("a whole chunk")?);
        rest = after
            .get(size..)
            .and_then(|r| r.strip_prefix("\r\n"))
            .context("a chunk's end")?;
    }
}

/// The token must carry every scope some operation of the contract requires, or
/// the run would test 403s instead of the operations behind them.
fn check_scopes(token: &str) -> Result<()> {
    let payload = token
        .split('.')
        .nth(1)
        .context("the access token is not a JWT")?;
    let claims: serde_json::Value = serde_json::from_slice(&base64url(payload)?)?;
    let granted: Vec<&str> = claims["scope"].as_str().unwrap_or("").split(' ').collect();
    let contract = crate::openapi::read(Path::new(CONTRACT))?;
    let mut missing = Vec::new();
    for op in &contract.api.operations {
        if let crate::openapi::model::Security::Bearer { scopes, .. } = &op.security {
            for scope in scopes {
                if !granted.contains(&scope.as_str()) {
                    missing.push(format!("{} ({scope})", op.id));
                }
            }
        }
    }
    if !missing.is_empty() {
        bail!(
            "the administrator's token lacks scopes these operations need: {} (see KEEL_ROLE_SCOPES)",
            missing.join(", ")
        );
    }
    Ok(())
}

fn base64url(text: &str) -> Result<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for c in text.bytes().filter(|&c| c != b'=') {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => bail!("not base64url: {c:?}"),
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Ok(out)
}

struct Summary {
    cases: u64,
    failures: u64,
    errors: u64,
    tested: u64,
    total: u64,
    phases_not_passed: Vec<String>,
}

/// schemathesis's JSON report: counts, and each phase's status.
fn read_report(path: &Path) -> Result<Summary> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading schemathesis's report {}", path.display()))?;
    let report: serde_json::Value = serde_json::from_str(&text)?;
    let number = |pointer: &str| {
        report
            .pointer(pointer)
            .and_then(serde_json::Value::as_u64)
            .with_context(|| format!("{pointer} in {}", path.display()))
    };
    let phases_not_passed = ["examples", "coverage", "fuzzing", "stateful"]
        .into_iter()
        .filter(|phase| report["phases"][phase]["status"] != "success")
        .map(str::to_owned)
        .collect();
    Ok(Summary {
        cases: number("/test_cases/generated")?,
        failures: number("/test_cases/unique_failures")?,
        errors: number("/test_cases/errored")?
            + report["errors"].as_array().map_or(0, |e| e.len() as u64),
        tested: number("/operations/tested")?,
        total: number("/operations/total")?,
        phases_not_passed,
    })
}

/// How many users the stateful phase took through their whole life by links alone:
/// created (`createUser` or `registerUser`, 201), then read (200), updated (200, so
/// the `If-Match` the link carried was the current `ETag`) and deleted (204), each
/// step reached through a declared link from an earlier step of the same scenario.
fn lifecycles(events: &Path) -> Result<usize> {
    let text = std::fs::read_to_string(events)
        .with_context(|| format!("reading schemathesis's events {}", events.display()))?;
    let mut complete = 0;
    for line in text.lines() {
        let event: serde_json::Value = serde_json::from_str(line)?;
        let scenario = &event["ScenarioFinished"];
        if scenario["phase"] != "stateful" {
            continue;
        }
        let recorder = &scenario["recorder"];
        let Some(cases) = recorder["cases"].as_object() else {
            continue;
        };
        let status = |id: &str| recorder["interactions"][id]["response"]["status_code"].as_u64();
        // The case this one was reached from, through a link the contract declares
        // (schemathesis also infers links of its own, which do not count here).
        let parent = |id: &str| {
            let transition = &cases.get(id)?["transition"];
            (transition["is_inferred"] == false)
                .then(|| transition["parent_id"].as_str())
                .flatten()
        };
        // Each user created in this scenario, by the id of the case that created it.
        let roots = cases.iter().filter(|(id, case)| {
            case["value"]["method"] == "POST"
                && ["/v1/users", "/v1/auth/register"]
                    .contains(&case["value"]["path"].as_str().unwrap_or(""))
                && status(id) == Some(201)
        });
        for (root, _) in roots {
            // Whether a linked case descending from this root did `method` with `wanted`.
            let reached = |method: &str, wanted: u64| {
                cases.iter().any(|(id, case)| {
                    if case["value"]["method"] != method
                        || !case["value"]["path"]
                            .as_str()
                            .is_some_and(|p| p.ends_with("/{userId}"))
                        || status(id) != Some(wanted)
                    {
                        return false;
                    }
                    let mut at = parent(id);
                    while let Some(step) = at {
                        if step == root {
                            return true;
                        }
                        at = parent(step);
                    }
                    false
                })
            };
            if reached("GET", 200) && reached("PATCH", 200) && reached("DELETE", 204) {
                complete += 1;
            }
        }
    }
    Ok(complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_decodes_jwt_segments() {
        assert_eq!(base64url("eyJhIjoxfQ").unwrap(), br#"{"a":1}"#);
        assert_eq!(base64url("_-8").unwrap(), [0xff, 0xef]);
        assert!(base64url("a+b").is_err());
    }

    #[test]
    fn a_lifecycle_counts_only_through_declared_links() {
        let scenario = |delete_inferred: bool| {
            let case = |method: &str, path: &str, parent: Option<&str>, inferred: bool| {
                serde_json::json!({
                    "value": { "method": method, "path": path },
                    "transition": parent.map(|p| serde_json::json!({ "parent_id": p, "is_inferred": inferred })),
                })
            };
            let user = "/v1/users/{userId}";
            serde_json::json!({ "ScenarioFinished": { "phase": "stateful", "recorder": {
                "cases": {
                    "a": case("POST", "/v1/users", None, false),
                    "b": case("GET", user, Some("a"), false),
                    "c": case("PATCH", user, Some("b"), false),
                    "d": case("DELETE", user, Some("a"), delete_inferred),
                },
                "interactions": {
                    "a": { "response": { "status_code": 201 } },
                    "b": { "response": { "status_code": 200 } },
                    "c": { "response": { "status_code": 200 } },
                    "d": { "response": { "status_code": 204 } },
                },
            }}})
        };
        let file =
            std::env::temp_dir().join(format!("keel-st-events-{}.ndjson", std::process::id()));
        let other_phase = serde_json::json!({ "ScenarioFinished": { "phase": "fuzzing" } });
        std::fs::write(
            &file,
            format!("{other_phase}\n{}\n{}\n", scenario(false), scenario(true)),
        )
        .unwrap();
        let counted = lifecycles(&file).unwrap();
        let _ = std::fs::remove_file(&file);
        assert_eq!(counted, 1);
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            dechunk("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(),
            "abcde"
        );
    }
}
