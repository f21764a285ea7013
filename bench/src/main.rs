//! `cargo xtask bench`: the performance campaign. Every figure is measured
//! against a baseline measured in the same run on the same machine — a bare
//! hyper server for HTTP, pgbench for database writes, a raw lapin publisher
//! for the relay, the seed's NestJS stack for the same endpoint — because
//! absolute numbers on a shared 2-core box say little, and ratios cancel the
//! machine out. Load comes from standard generators (wrk, oha).
//!
//! Sections, each selectable with `--only`: `http` (getUser against hyper and
//! the NestJS peer, and P99 at a constant offered rate), `orders` (placeOrder
//! against pgbench), `relay` (the outbox relay against lapin), `idle` (memory
//! per idle keep-alive connection), `codegen` (read from the generator's own
//! benchmark, `cargo xtask bench --codegen`, which xtask runs first).

mod api;
mod figures;
mod hello;
mod idle;
mod load;
mod orders;
mod peer;
mod process;
mod relay;
mod report;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;

use figures::{Figure, Measure, Target};
use load::{Oha, Wrk};
use process::{Database, Guard, Keel, Vhost, free_port, wait_for};

#[derive(Parser)]
struct Args {
    /// Seconds of measured load per run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Runs per figure (the report shows their median, min and max).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Concurrent keep-alive connections of the closed-loop runs.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Requests per second offered in the constant-rate run.
    #[arg(long, default_value_t = 10_000)]
    rate: u32,
    /// Idle keep-alive connections held open.
    #[arg(long, default_value_t = 50_000)]
    idle_connections: usize,
    /// Events the relay and the raw publisher send per run.
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Sections to run (http, orders, relay, idle, codegen); all by default.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Where the report goes.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    out: PathBuf,
    /// The release binary of Keel.
    #[arg(long)]
    keel: Option<PathBuf>,

    /// Serve the HTTP baseline on this address instead (the campaign starts
    /// itself this way).
    #[arg(long, hide = true)]
    hello: Option<SocketAddr>,
    #[arg(long, hide = true)]
    reuse_port: bool,
    /// Hold idle connections to this address instead.
    #[arg(long, hide = true)]
    hold: Option<SocketAddr>,
    #[arg(long, hide = true, default_value = "127.0.0.1")]
    source: IpAddr,
    #[arg(long, hide = true, default_value_t = 0)]
    count: usize,
    #[arg(long, hide = true, default_value = "/")]
    path: String,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(addr) = args.hello {
        return hello::serve(addr, args.reuse_port).await;
    }
    if let Some(addr) = args.hold {
        return idle::hold(addr, args.source, args.count, &args.path).await;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let campaign = Campaign::new(&args)?;
    let mut figures = Vec::new();
    for section in ["http", "orders", "relay", "idle", "codegen"] {
        if !args.only.is_empty() && !args.only.iter().any(|s| s == section) {
            continue;
        }
        println!("== {section}");
        let result = match section {
            "http" => campaign.http().await,
            "orders" => campaign.orders().await,
            "relay" => campaign.relay().await,
            "idle" => campaign.idle().await,
            _ => campaign.codegen(),
        };
        match result {
            Ok(mut more) => figures.append(&mut more),
            Err(error) => {
                eprintln!("the {section} section failed: {error:#}");
                let mut failed = Figure {
                    measure: Measure::new(&format!("{section} section"), "", "—"),
                    baseline: None,
                    target: Target::None,
                    note: Some(format!("failed: {error:#}")),
                };
                failed.measure.how = "not measured".into();
                figures.push((section.to_owned(), failed));
            }
        }
    }
    let report = report::Report {
        title: "Performance campaign".into(),
        machine: machine(),
        command: "cargo xtask bench".into(),
        figures,
    };
    std::fs::create_dir_all(&args.out)?;
    let chart = match report.chart(&args.out.join("campaign.png")) {
        Ok(()) => Some("campaign.png"),
        Err(error) => {
            eprintln!("no chart: {error:#}");
            None
        }
    };
    let markdown = report.markdown(chart);
    std::fs::write(args.out.join("campaign.md"), &markdown)?;
    std::fs::write(
        args.out.join("campaign.json"),
        serde_json::to_string_pretty(&report.figures)?,
    )?;
    println!("\n{markdown}");
    println!("written to {}", args.out.join("campaign.md").display());
    Ok(())
}

struct Campaign<'a> {
    args: &'a Args,
    keel: PathBuf,
    exe: PathBuf,
    work: PathBuf,
    id: u32,
}

impl<'a> Campaign<'a> {
    fn new(args: &'a Args) -> Result<Self> {
        let exe = std::env::current_exe()?;
        let keel = match &args.keel {
            Some(path) => path.clone(),
            None => exe.parent().context("a directory")?.join("keel"),
        };
        let id = std::process::id();
        let work = std::env::temp_dir().join(format!("keel-bench-{id}"));
        std::fs::create_dir_all(&work)?;
        Ok(Campaign {
            args,
            keel,
            exe,
            work,
            id,
        })
    }

    fn duration(&self) -> Duration {
        Duration::from_secs(self.args.seconds)
    }

    fn addr(&self) -> Result<SocketAddr> {
        Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?)))
    }

    async fn start_hello(&self, addr: SocketAddr, reuse_port: bool) -> Result<Guard> {
        let mut command = std::process::Command::new(&self.exe);
        command.arg("--hello").arg(addr.to_string());
        if reuse_port {
            command.arg("--reuse-port");
        }
        let guard = Guard(command.spawn()?);
        wait_for(addr).await?;
        Ok(guard)
    }

    fn wrk<'w>(&self, url: &'w str, headers: &'w [(&'w str, String)], seconds: u64) -> Wrk<'w> {
        Wrk {
            url,
            connections: self.args.connections,
            duration: Duration::from_secs(seconds),
            headers,
            script: None,
        }
    }

    /// getUser on PostgreSQL against bare hyper and the NestJS peer, then P99
    /// at a constant offered rate.
    async fn http(&self) -> Result<Vec<(String, Figure)>> {
        let hello_addr = self.addr()?;
        let _hello = self.start_hello(hello_addr, false).await?;
        let db = Database::create(&format!("keel_bench_{}_users", self.id))?;
        let keel_addr = self.addr()?;
        let keel = Keel::new(&self.keel, keel_addr, &db.url(), &self.work.join("keys"));
        let _keel = keel.start().await?;
        let api = api::Api::new(keel_addr);
        let user = api.customer("bench@example.com").await?;
        let auth = [("authorization", format!("Bearer {}", user.token))];
        let hello_url = format!("http://{hello_addr}/");
        let keel_url = format!("http://{keel_addr}/v1/users/{}", user.id);

        let peer_db = Database::create(&format!("keel_bench_{}_peer", self.id))?;
        let peer_addr = self.addr()?;
        let peer = match peer::build(&self.work) {
            Ok(dir) => Some(peer::start(&dir, peer_addr, &peer_db, keel_addr, &user.id).await?),
            Err(why) => {
                eprintln!("the NestJS peer is not measured: {why:#}");
                None
            }
        };
        let peer_url = format!("http://{peer_addr}/v1/users/{}", user.id);

        let how = format!(
            "wrk, 1 thread, {} keep-alive connections, {} s per run",
            self.args.connections, self.args.seconds
        );
        let mut hello = Measure::new("bare hyper: GET / (hello)", "req/s", how.clone());
        let mut get_user = Measure::new(
            "getUser: JWT + one row from PostgreSQL",
            "req/s",
            how.clone(),
        );
        let mut nest = Measure::new("NestJS peer: the same getUser", "req/s", how);
        // Warm up, then interleave the targets run by run, so a drift of the
        // machine's speed touches all of them alike.
        self.wrk(&hello_url, &[], 2).run()?;
        self.wrk(&keel_url, &auth, 2).run()?;
        if peer.is_some() {
            self.wrk(&peer_url, &auth, 2).run()?;
        }
        for run in 0..self.args.runs {
            println!("run {}", run + 1);
            hello.runs.push(checked(
                self.wrk(&hello_url, &[], self.args.seconds).run()?,
            )?);
            get_user.runs.push(checked(
                self.wrk(&keel_url, &auth, self.args.seconds).run()?,
            )?);
            if peer.is_some() {
                nest.runs.push(checked(
                    self.wrk(&peer_url, &auth, self.args.seconds).run()?,
                )?);
            }
        }
        drop(peer);

        let mut figures = vec![
            (
                "getUser ÷ hyper".to_owned(),
                Figure {
                    measure: get_user.clone(),
                    baseline: Some(hello),
                    target: Target::RatioAtLeast(0.25),
                    note: None,
                },
            ),
            (
                "getUser ÷ NestJS".to_owned(),
                Figure {
                    measure: get_user,
                    baseline: Some(nest),
                    target: Target::RatioAtLeast(5.0),
                    note: None,
                },
            ),
        ];

        match oha() {
            Some(binary) => {
                let rate = self.args.rate;
                let how = format!(
                    "oha, {rate} req/s offered for {} s, {} connections, latency corrected for coordinated omission",
                    self.args.seconds, self.args.connections
                );
                let mut keel_p99 = Measure::new(
                    &format!("getUser P99 at {rate} req/s offered"),
                    "ms",
                    how.clone(),
                );
                let mut hello_p99 =
                    Measure::new(&format!("bare hyper P99 at {rate} req/s"), "ms", how);
                let mut shortfall = Vec::new();
                for run in 0..self.args.runs {
                    println!("constant rate, run {}", run + 1);
                    for (url, headers, measure) in [
                        (&hello_url, &[][..], &mut hello_p99),
                        (&keel_url, &auth[..], &mut keel_p99),
                    ] {
                        let outcome = Oha {
                            binary: &binary,
                            url,
                            rate,
                            connections: self.args.connections,
                            duration: self.duration(),
                            headers,
                        }
                        .run()?;
                        checked(outcome)?;
                        if outcome.ok_per_second < 0.95 * f64::from(rate) {
                            shortfall.push(format!(
                                "{url} carried {:.0} of {rate} req/s",
                                outcome.ok_per_second
                            ));
                        }
                        measure.runs.push(outcome.p99_ms);
                    }
                }
                figures.push((
                    format!("P99 @{}k/s", rate / 1000),
                    Figure {
                        measure: keel_p99,
                        baseline: Some(hello_p99),
                        target: Target::AtMost(10.0),
                        note: (!shortfall.is_empty()).then(|| shortfall.join("; ")),
                    },
                ));
            }
            None => eprintln!("oha is not installed: no constant-rate figure (cargo install oha)"),
        }
        Ok(figures)
    }

    /// A database of its own, Keel on it (relaying events or, with `relays`
    /// false, an API-only replica) and a shop set up through the API.
    async fn shop(&self, name: &str, relays: bool) -> Result<(Database, Guard, orders::Shop)> {
        let db = Database::create(&format!("keel_bench_{}_{name}", self.id))?;
        let addr = self.addr()?;
        let mut keel = Keel::new(&self.keel, addr, &db.url(), &self.work.join("keys"));
        if !relays {
            keel = keel.env("KEEL_OUTBOX_WORKERS", "0");
        }
        let server = keel.start().await?;
        let api = api::Api::new(addr);
        let shop = orders::Shop::open(
            &api,
            &format!("http://{addr}/v1/orders"),
            &api.admin(&db).await?,
            &api.customer("buyer@example.com").await?,
        )
        .await?;
        Ok((db, server, shop))
    }

    /// placeOrder against pgbench's single-row inserts.
    async fn orders(&self) -> Result<Vec<(String, Figure)>> {
        let pg = Database::create(&format!("keel_bench_{}_pgbench", self.id))?;
        let pgbench = orders::pgbench(&pg, &self.work, self.args.seconds, self.args.runs)?;
        drop(pg);
        // placeOrder alone, on a replica that leaves the saga to others.
        let accepted = {
            let (db, _server, shop) = self.shop("orders", false).await?;
            orders::place_order(
                &shop,
                &db,
                &self.work,
                self.args.connections,
                self.args.seconds,
                self.args.runs,
            )?
        };
        // The whole saga, on a replica that relays: short bursts, each settled.
        let settled = {
            let (db, _server, shop) = self.shop("saga", true).await?;
            orders::saga(
                &shop,
                &db,
                &self.work,
                self.args.connections,
                2,
                self.args.runs,
            )
            .await?
        };
        Ok(vec![
            (
                "placeOrder ÷ pgbench".into(),
                Figure {
                    measure: accepted,
                    baseline: Some(pgbench.clone()),
                    target: Target::RatioAtLeast(0.30),
                    note: None,
                },
            ),
            (
                "saga ÷ pgbench".into(),
                Figure {
                    measure: settled,
                    baseline: Some(pgbench),
                    target: Target::None,
                    note: Some(
                        "context: the whole saga, four transactions and a charge per order".into(),
                    ),
                },
            ),
        ])
    }

    /// The outbox relay against a raw lapin publisher.
    async fn relay(&self) -> Result<Vec<(String, Figure)>> {
        let vhost = Vhost::create(&format!("keel-bench-{}", self.id))?;
        let raw = relay::raw_lapin(&vhost, self.args.events, self.args.runs).await?;
        let db = Database::create(&format!("keel_bench_{}_relay", self.id))?;
        let keel = Keel::new(&self.keel, self.addr()?, &db.url(), &self.work.join("keys"))
            .env("AMQP_URL", vhost.url())
            .env("KEEL_EVENTS_PREFIX", "bench");
        let relayed = relay::keel_relay(&keel, &db, self.args.events, self.args.runs).await?;
        Ok(vec![(
            "relay ÷ lapin".into(),
            Figure {
                measure: relayed,
                baseline: Some(raw),
                target: Target::RatioAtLeast(0.5),
                note: None,
            },
        )])
    }

    /// Server memory per idle keep-alive connection, Keel and bare hyper.
    async fn idle(&self) -> Result<Vec<(String, Figure)>> {
        const PROCESSES: usize = 4;
        let connections = self.args.idle_connections;
        let how = format!(
            "{connections} connections over {PROCESSES} processes on one port (SO_REUSEPORT), \
             one request each, then idle; growth of resident memory ÷ connections"
        );
        let mut keel_kib = Measure::new("Keel: memory per idle connection", "KiB", how.clone());
        let mut hello_kib = Measure::new("bare hyper: memory per idle connection", "KiB", how);
        for run in 0..self.args.runs {
            println!("idle connections, run {}", run + 1);
            let addr = self.addr()?;
            let mut servers = Vec::new();
            for _ in 0..PROCESSES {
                servers.push(self.start_hello(addr, true).await?);
            }
            let pids: Vec<u32> = servers.iter().map(Guard::pid).collect();
            hello_kib
                .runs
                .push(idle::per_connection_kib(&pids, addr, connections, "/").await?);
            drop(servers);

            let addr = self.addr()?;
            let mut servers = Vec::new();
            for i in 0..PROCESSES {
                let file = self.work.join(format!("idle-{run}-{i}.db"));
                let keel = Keel::new(
                    &self.keel,
                    addr,
                    &format!("sqlite://{}?mode=rwc", file.display()),
                    &self.work.join("keys"),
                )
                .env("KEEL_REUSE_PORT", "true")
                // Held, not closed: a keep-alive connection waiting for its
                // next request is under the header-read timeout too.
                .env("KEEL_IDLE_TIMEOUT_SECS", "600")
                .env("KEEL_HEADER_READ_TIMEOUT_SECS", "600");
                servers.push(keel.start().await?);
            }
            let pids: Vec<u32> = servers.iter().map(Guard::pid).collect();
            keel_kib
                .runs
                .push(idle::per_connection_kib(&pids, addr, connections, "/health").await?);
        }
        Ok(vec![(
            "idle KiB/conn".into(),
            Figure {
                measure: keel_kib,
                baseline: Some(hello_kib),
                target: Target::AtMost(12.0),
                note: None,
            },
        )])
    }

    /// The generator's figure, from its own benchmark's JSON.
    fn codegen(&self) -> Result<Vec<(String, Figure)>> {
        let path = self.args.out.join("codegen.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (written by `cargo xtask bench --codegen`)",
                path.display()
            )
        })?;
        let json: serde_json::Value = serde_json::from_str(&text)?;
        let number = |key: &str| {
            json[key]
                .as_f64()
                .with_context(|| format!("{} has {key}", path.display()))
        };
        let how = format!(
            "`cargo xtask codegen --contract … --out …` on a synthetic {}-operation, {:.1} MB contract, all four outputs",
            number("operations")?,
            number("contract_bytes")? / 1e6
        );
        let mut command = Measure::new("codegen: 1,000 operations", "s", how);
        // The generator's benchmark keeps median, min and max of its (at
        // least 3) runs: enough for the table, and the same median.
        command.runs = vec![
            number("command_min_s")?,
            number("command_median_s")?,
            number("command_max_s")?,
        ];
        let mut parse = Measure::new(
            "parsing the contract's YAML",
            "s",
            "serde_norway to a Value",
        );
        parse.runs = vec![number("yaml_parse_median_s")?];
        Ok(vec![(
            "codegen s".into(),
            Figure {
                measure: command,
                baseline: Some(parse),
                target: Target::AtMost(number("target_s").unwrap_or(3.0)),
                note: None,
            },
        )])
    }
}

/// A run's throughput, or an error if any request failed.
fn checked(outcome: load::Outcome) -> Result<f64> {
    if outcome.failed > 0 {
        anyhow::bail!("{} of {} requests failed", outcome.failed, outcome.requests);
    }
    Ok(outcome.ok_per_second)
}

/// oha from `KEEL_BENCH_OHA`, the PATH, or where `cargo xtask bench` installs it.
fn oha() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KEEL_BENCH_OHA") {
        return Some(path.into());
    }
    if std::process::Command::new("oha")
        .arg("--version")
        .output()
        .is_ok()
    {
        return Some("oha".into());
    }
    let cached = Path::new(&std::env::var("HOME").ok()?).join(".cache/tools/bin/oha");
    cached.is_file().then_some(cached)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("Measured {date} on {cores} cores ({cpu}), Linux, load generators on the same machine")
}
